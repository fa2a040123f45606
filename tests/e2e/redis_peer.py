"""A real redis-server for the tests that keep state in Redis (rateLimit, ai-rate-limit,
ai-quota): started on a free loopback port with persistence off, stopped by its PID; `command`
speaks RESP2 to it directly."""
import shutil
import socket
import ssl

import pytest

from harness import Process, free_port, wait_for_port

needs_redis = pytest.mark.skipif(shutil.which("redis-server") is None,
                                 reason="redis-server is not installed: scripts/install-deps test")


class Redis(Process):
    def __init__(self, password=None, tls=None):
        """tls: (certificate path, key path) to serve TLS only."""
        self.port = free_port()
        args = ["redis-server", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        if tls:
            args += ["--port", "0", "--tls-port", str(self.port), "--tls-cert-file", str(tls[0]),
                     "--tls-key-file", str(tls[1]), "--tls-auth-clients", "no"]
        else:
            args += ["--port", str(self.port)]
        if password:
            args += ["--requirepass", password]
        self.password = password
        self.tls = tls
        super().__init__(args, name="redis")
        wait_for_port(self.port, proc=self.proc)

    def command(self, *args, db=0):
        """One command over RESP2; returns the decoded reply."""
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        if self.tls:
            context = ssl.create_default_context(cafile=str(self.tls[0]))
            raw = context.wrap_socket(raw, server_hostname="127.0.0.1")
        with raw as s:
            f = s.makefile("rb")
            commands = []
            if self.password:
                commands.append(("AUTH", self.password))
            if db:
                commands.append(("SELECT", str(db)))
            commands.append(args)
            for cmd in commands:
                s.sendall(b"*%d\r\n" % len(cmd) + b"".join(b"$%d\r\n%s\r\n" % (len(a.encode()), a.encode()) for a in cmd))
            replies = [self._read(f) for _ in commands]
            return replies[-1]

    def _read(self, f):
        line = f.readline().rstrip(b"\r\n")
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b"-"):
            return rest.decode()
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = f.read(n + 2)[:-2]
            return data.decode()
        if kind == b"*":
            return [self._read(f) for _ in range(int(rest))]
        raise ValueError(line)


@pytest.fixture
def start_redis():
    started = []

    def start_one(**kwargs):
        r = Redis(**kwargs)
        started.append(r)
        return r

    yield start_one
    for r in started:
        r.stop()
