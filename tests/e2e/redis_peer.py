"""A real redis-server for the tests that keep state in Redis (rateLimit, ai-rate-limit,
ai-quota): started on a free loopback port with persistence off, stopped by its PID; `command`
speaks RESP2 to it directly."""
import os
import shutil
import socket
import ssl
import tempfile

import pytest

from harness import Process, free_port, wait_for_port

needs_redis = pytest.mark.skipif(shutil.which("redis-server") is None,
                                 reason="redis-server is not installed: scripts/install-deps test")


class Redis(Process):
    def __init__(self, password=None, tls=None, port=None, replicaof=None, extra=()):
        """tls: (certificate path, key path) to serve TLS only; replicaof: the master's port;
        extra: more redis-server arguments."""
        self.port = port or free_port()
        # Its own working directory: a replica's full sync writes an RDB file there.
        self.dir = tempfile.mkdtemp(prefix="cw-redis-")
        args = ["redis-server", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", self.dir]
        if replicaof:
            args += ["--replicaof", "127.0.0.1", str(replicaof)]
        if tls:
            args += ["--port", "0", "--tls-port", str(self.port), "--tls-cert-file", str(tls[0]),
                     "--tls-key-file", str(tls[1]), "--tls-auth-clients", "no"]
        else:
            args += ["--port", str(self.port)]
        if password:
            args += ["--requirepass", password]
        args += list(extra)
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

    def stop(self, timeout=15):
        super().stop(timeout)
        shutil.rmtree(self.dir, ignore_errors=True)


needs_sentinel = pytest.mark.skipif(shutil.which("redis-sentinel") is None,
                                    reason="redis-sentinel is not installed: scripts/install-deps test")


class Sentinel(Process):
    """Debian's redis-sentinel watching `master_port` as set `name`, failing over after 1 s."""

    def __init__(self, master_port, name="mymaster"):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="cw-sentinel-")
        conf = os.path.join(self.dir, "sentinel.conf")  # sentinel rewrites it: its own copy
        with open(conf, "w") as f:
            f.write(f"port {self.port}\nbind 127.0.0.1\ndir {self.dir}\n"
                    f"sentinel monitor {name} 127.0.0.1 {master_port} 1\n"
                    f"sentinel down-after-milliseconds {name} 1000\n"
                    f"sentinel failover-timeout {name} 3000\n"
                    f"sentinel parallel-syncs {name} 1\n")
        self.name = name
        super().__init__(["redis-sentinel", conf], name="sentinel")
        wait_for_port(self.port, proc=self.proc)

    def master(self):
        """The port of the master the sentinel names now."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            cmd = ["SENTINEL", "get-master-addr-by-name", self.name]
            s.sendall(b"*%d\r\n" % len(cmd) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a.encode()) for a in cmd))
            reply = Redis.__new__(Redis)._read(s.makefile("rb"))
            return int(reply[1])

    def stop(self, timeout=15):
        super().stop(timeout)
        shutil.rmtree(self.dir, ignore_errors=True)


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
