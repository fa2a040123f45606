"""A real etcd (Debian's etcd-server) for the etcd provider's tests: one member on free loopback
ports with a data directory of its own, which survives a restart (`restart()` keeps the keys
and the revision); `put`, `delete` and `compact` go through Debian's etcdctl. `Gate` is a TCP
relay in front of it that the tests can shut and open, to cut causeway off while etcd goes on."""
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import pytest

from harness import Process, free_port, wait_for_port

needs_etcd = pytest.mark.skipif(shutil.which("etcd") is None or shutil.which("etcdctl") is None,
                                reason="etcd is not installed: scripts/install-deps test")


class Etcd(Process):
    def __init__(self, data_dir=None, port=None, peer_port=None, user=None):
        self.user = user  # "name:password" for etcdctl once auth is on
        self.port = port or free_port()
        self.peer_port = peer_port or free_port()
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="cw-etcd-")
        client = f"http://127.0.0.1:{self.port}"
        peer = f"http://127.0.0.1:{self.peer_port}"
        super().__init__(["etcd", "--name", "cw", "--data-dir", self.data_dir,
                          "--listen-client-urls", client, "--advertise-client-urls", client,
                          "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                          "--initial-cluster", f"cw={peer}", "--log-level", "warn"], name="etcd")
        wait_for_port(self.port, proc=self.proc)

    # What etcdctl says while etcd listens but does not serve yet (just started or restarted, on a
    # loaded machine, before its single member has elected itself): the command is run again.
    # A timeout ("context deadline exceeded") does not tell whether the command was applied, so
    # only commands that can be repeated (put, del, get) are run again after one.
    NOT_SERVING = ("connection refused", "no leader", "leader changed", "Unavailable", "not capable")
    REPEATABLE = ("put", "del", "get")

    def ctl(self, *args):
        env = dict(os.environ, ETCDCTL_API="3")
        auth = ["--user", self.user] if self.user else []
        end = time.time() + 30
        while True:
            out = subprocess.run(["etcdctl", "--endpoints", f"127.0.0.1:{self.port}", *auth, *args], env=env,
                                 capture_output=True, text=True, timeout=15)
            markers = self.NOT_SERVING + (("context deadline exceeded",) if args[0] in self.REPEATABLE else ())
            if out.returncode == 0 or time.time() > end or not any(m in out.stderr for m in markers):
                break
            time.sleep(0.3)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    def put(self, key, value):
        self.ctl("put", key, value)

    def delete(self, key):
        self.ctl("del", key)

    def revision(self):
        import json
        return int(json.loads(self.ctl("get", "x", "-w", "json"))["header"]["revision"])

    def compact(self):
        self.ctl("compact", str(self.revision()))

    def restart(self):
        """Stopped and started again on the same ports and data."""
        self.stop(keep=True)
        Etcd.__init__(self, self.data_dir, self.port, self.peer_port, self.user)

    def stop(self, timeout=15, keep=False):
        super().stop(timeout)
        if not keep:
            shutil.rmtree(self.data_dir, ignore_errors=True)


class Gate:
    """A TCP relay on a free loopback port to `target_port`. shut() drops every relayed
    connection and refuses new ones (accepted and closed at once) until open()."""

    def __init__(self, target_port):
        self.target = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open_ = True
        self.live = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.open_:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.live += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def shut(self):
        self.open_ = False
        with self.lock:
            for s in self.live:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
            self.live = []

    def open(self):
        self.open_ = True

    def close(self):
        self.shut()
        self.listener.close()


@pytest.fixture
def start_etcd():
    started = []

    def start_one(**kwargs):
        e = Etcd(**kwargs)
        started.append(e)
        return e

    yield start_one
    for e in started:
        e.stop()
