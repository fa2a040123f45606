"""Start and graceful stop (Traefik §1.2 transport.lifeCycle, §9.2; reliability R04).

SIGTERM: keep accepting for requestAcceptGraceTimeout while /ping answers the terminating
status, then stop accepting, let in-flight requests finish within graceTimeOut, close idle
keep-alive connections, exit 0. A port that cannot be bound fails the start.
"""
import http.client
import os
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

from harness import BIN, Causeway, Process, free_port, wait_until


def route(url, host="app.test"):
    return f"""http:
  routers:
    app:
      rule: "Host(`{host}`)"
      service: app
  services:
    app:
      loadBalancer:
        servers:
          - url: "{url}"
"""


def lifecycle(accept_grace=None, grace=None):
    lines = ["transport:", "  lifeCycle:"]
    if accept_grace is not None:
        lines.append(f"    requestAcceptGraceTimeout: {accept_grace}")
    if grace is not None:
        lines.append(f"    graceTimeOut: {grace}")
    return "\n".join(lines)


def get(port, path="/", host="app.test", timeout=10):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": host})
        response = conn.getresponse()
        return response.status, dict((k.lower(), v) for k, v in response.getheaders()), response.read()
    finally:
        conn.close()


def wait_routed(cw):
    wait_until(lambda: get(cw.port())[0] == 200, message="the route")


def wait_exit(proc, timeout):
    """Polls until the process exits: (return code, monotonic time of exit) or (None, None)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rc = proc.poll()
        if rc is not None:
            return rc, time.monotonic()
        time.sleep(0.01)
    return None, None


def refused(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except ConnectionRefusedError:
        return True


class InFlight(threading.Thread):
    """One request in a thread: .status, .headers, .body, .error, .done_at after join()."""

    def __init__(self, port, path, host="app.test"):
        super().__init__(daemon=True)
        self.port, self.path, self.host = port, path, host
        self.status = self.headers = self.body = self.error = self.done_at = None
        self.sent = threading.Event()

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("GET", self.path, headers={"Host": self.host})
            self.sent.set()
            response = conn.getresponse()
            self.status = response.status
            self.headers = dict((k.lower(), v) for k, v in response.getheaders())
            self.body = response.read()
        except Exception as e:  # noqa: BLE001 - inspected by the test
            self.error = e
        finally:
            self.done_at = time.monotonic()
            self.sent.set()
            conn.close()


def test_sigterm_lets_the_in_flight_request_finish_then_exits_zero(start_whoami, start_causeway):
    whoami = start_whoami("app")
    cw = start_causeway(dynamic={"a.yml": route(whoami.url)}, entrypoint_extra={"web": lifecycle(grace="5s")})
    wait_routed(cw)
    request = InFlight(cw.port(), "/?wait=2s")
    request.start()
    request.sent.wait(5)
    time.sleep(0.5)

    signalled = time.monotonic()
    cw.signal(signal.SIGTERM)
    # New connections are refused soon after (requestAcceptGraceTimeout is 0).
    wait_until(lambda: refused(cw.port()), timeout=3, interval=0.02, message="new connections refused")
    refused_after = time.monotonic() - signalled
    assert refused_after < 1.0, f"still accepting {refused_after:.2f}s after SIGTERM"
    assert request.is_alive(), "the in-flight request ended early"

    rc, exited = wait_exit(cw.proc, 8)
    request.join(5)
    assert request.error is None, request.error
    assert request.status == 200
    assert b"Name: app" in request.body and b"GET /?wait=2s HTTP/1.1" in request.body
    assert request.headers.get("connection", "").lower() == "close"
    assert rc == 0, cw.output()
    assert exited - signalled <= 5 + 1, "exceeded graceTimeOut + 1 s"
    assert exited - request.done_at < 1.0, "did not exit promptly once drained"


def test_request_accept_grace_keeps_accepting_while_ping_says_terminating(start_whoami, start_causeway):
    whoami = start_whoami("app")
    cw = start_causeway(dynamic={"a.yml": route(whoami.url)},
                        entrypoint_extra={"web": lifecycle(accept_grace="1s", grace="3s")},
                        static_extra="ping:\n  entryPoint: web\n")
    wait_routed(cw)
    status, _, body = get(cw.port(), "/ping", host="anything")
    assert (status, body) == (200, b"OK")

    signalled = time.monotonic()
    cw.signal(signal.SIGTERM)
    ping_503_at = served_at = None
    while time.monotonic() - signalled < 0.8:
        status, _, _ = get(cw.port(), "/ping", host="anything")
        if status == 503 and ping_503_at is None:
            ping_503_at = time.monotonic() - signalled
        status, _, body = get(cw.port(), "/")
        assert status == 200 and b"Name: app" in body, "a request during requestAcceptGraceTimeout failed"
        served_at = time.monotonic() - signalled
        time.sleep(0.05)
    assert ping_503_at is not None and ping_503_at < 0.3, "ping did not answer the terminating status"
    assert served_at >= 0.7
    # Every ping in the grace period answers 503.
    status, _, _ = get(cw.port(), "/ping", host="anything")
    assert status == 503

    wait_until(lambda: refused(cw.port()), timeout=3, interval=0.02, message="accepting stops")
    refused_at = time.monotonic() - signalled
    assert 0.85 <= refused_at < 1.6, f"stopped accepting {refused_at:.2f}s after SIGTERM, expected ~1s"
    rc, exited = wait_exit(cw.proc, 5)
    assert rc == 0
    assert exited - signalled < 2.0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_idle_keep_alive_connection_is_closed_on_sigterm(start_whoami, start_causeway, sig):
    whoami = start_whoami("app")
    cw = start_causeway(dynamic={"a.yml": route(whoami.url)})  # graceTimeOut: default 10s
    wait_routed(cw)
    s = socket.create_connection(("127.0.0.1", cw.port()), timeout=5)
    with s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: app.test\r\n\r\n")
        data = b""
        while b"Name: app" not in data or not data.endswith(b"\n\n"):
            chunk = s.recv(65536)
            assert chunk, "closed before the first answer"
            data += chunk
        assert data.startswith(b"HTTP/1.1 200")
        assert b"connection: close" not in data.lower()

        signalled = time.monotonic()
        cw.signal(sig)
        s.settimeout(5)
        try:
            rest = s.recv(65536)
        except ConnectionResetError:
            rest = b""
        closed_after = time.monotonic() - signalled
    assert rest == b"", f"expected EOF, got {rest[:100]!r}"
    assert closed_after < 1.0, f"idle connection closed {closed_after:.2f}s after SIGTERM"
    rc, exited = wait_exit(cw.proc, 5)
    assert rc == 0
    assert exited - signalled < 1.5, "an idle connection held the shutdown"


def test_grace_timeout_bounds_the_shutdown(start_whoami, start_causeway):
    whoami = start_whoami("app")
    cw = start_causeway(dynamic={"a.yml": route(whoami.url)}, entrypoint_extra={"web": lifecycle(grace="1s")})
    wait_routed(cw)
    request = InFlight(cw.port(), "/?wait=10s")
    request.start()
    request.sent.wait(5)
    time.sleep(0.3)
    signalled = time.monotonic()
    cw.signal(signal.SIGTERM)
    rc, exited = wait_exit(cw.proc, 6)
    assert rc == 0, cw.output()
    took = exited - signalled
    assert 0.9 <= took <= 2.0, f"exited {took:.2f}s after SIGTERM with graceTimeOut 1s"
    request.join(5)
    assert request.status != 200, "the 10 s request cannot have completed"


def test_second_sigterm_stops_immediately(start_whoami, start_causeway):
    whoami = start_whoami("app")
    cw = start_causeway(dynamic={"a.yml": route(whoami.url)}, entrypoint_extra={"web": lifecycle(grace="10s")})
    wait_routed(cw)
    request = InFlight(cw.port(), "/?wait=10s")
    request.start()
    request.sent.wait(5)
    time.sleep(0.3)
    cw.signal(signal.SIGTERM)
    time.sleep(0.5)
    assert cw.proc.poll() is None, "the first SIGTERM must drain, not stop"
    second = time.monotonic()
    cw.signal(signal.SIGTERM)
    rc, exited = wait_exit(cw.proc, 5)
    assert rc is not None, "a second SIGTERM did not stop the process"
    assert exited - second < 1.0


def test_port_in_use_fails_the_start_naming_the_entry_point(start_causeway):
    blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(8)
    port = blocker.getsockname()[1]
    try:
        cw = start_causeway(entrypoints=("edge",), ports={"edge": port}, wait=False)
        rc, _ = wait_exit(cw.proc, 10)
        output = cw.output()
        assert rc == 1, output
        assert "edge" in output, output
        assert str(port) in output, output
        # The port still belongs to its owner.
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            conn, _ = blocker.accept()
            conn.close()
    finally:
        blocker.close()


def test_two_processes_cannot_share_a_port(start_whoami, start_causeway):
    whoami = start_whoami("first")
    first = start_causeway(dynamic={"a.yml": route(whoami.url)})
    wait_routed(first)
    second = start_causeway(dynamic={"a.yml": route(whoami.url)}, ports={"web": first.port()}, wait=False)
    rc, _ = wait_exit(second.proc, 10)
    assert rc == 1, second.output()
    assert "web" in second.output()
    assert first.proc.poll() is None
    for _ in range(20):
        status, _, body = get(first.port())
        assert status == 200 and b"Name: first" in body


def test_second_process_fails_while_the_first_is_draining(start_whoami):
    """During requestAcceptGraceTimeout the first process still owns the port."""
    whoami = start_whoami("first")
    first = Causeway(dynamic={"a.yml": route(whoami.url)},
                     entrypoint_extra={"web": lifecycle(accept_grace="2s", grace="2s")})
    second = None
    try:
        wait_routed(first)
        first.signal(signal.SIGTERM)
        time.sleep(0.2)
        second = Causeway(dynamic={"a.yml": route(whoami.url)}, ports={"web": first.port()}, wait=False)
        rc, _ = wait_exit(second.proc, 10)
        assert rc == 1, second.output()
    finally:
        if second:
            second.stop()
        first.stop()


def listening_pids(port, pids):
    """Which of `pids` hold a listening TCP socket on 127.0.0.1:port (from /proc)."""
    inodes = set()
    want = f"0100007F:{port:04X}"
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1] == want and fields[3] == "0A":
                inodes.add(fields[9])
    holders = set()
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    link = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    holders.add(pid)
                    break
        except OSError:
            continue
    return holders


LISTEN_SYSCALL = {"x86_64": 50, "aarch64": 201}.get(os.uname().machine)


def strace_can_delay():
    if not shutil.which("strace") or LISTEN_SYSCALL is None:
        return False
    probe = subprocess.run(["strace", "-qq", "-o", "/dev/null", "-e", "trace=listen",
                            "-e", "inject=listen:delay_enter=1000", "true"], capture_output=True)
    return probe.returncode == 0


def stop_pid(pid):
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass


def test_two_processes_starting_together_cannot_share_a_port(tmp_path):
    """The first process is held inside listen() (strace delays the syscall) while the second
    starts: whichever wins, exactly one may listen and the other must exit 1."""
    if not strace_can_delay():
        pytest.skip("needs strace with syscall delay injection (and ptrace)")
    (tmp_path / "dynamic").mkdir()
    port = free_port()
    config = tmp_path / "causeway.yml"
    config.write_text(f"""entryPoints:
  web:
    address: "127.0.0.1:{port}"
providers:
  file:
    directory: "{tmp_path / 'dynamic'}"
log:
  level: ERROR
workers: 1
""")
    tracer = subprocess.Popen(["strace", "-qq", "-o", "/dev/null", "-e", "trace=listen",
                               "-e", "inject=listen:delay_enter=1500000", BIN, f"--configFile={config}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first_pid, second = None, None
    try:
        def first_in_listen():
            children = open(f"/proc/{tracer.pid}/task/{tracer.pid}/children").read().split()
            if not children:
                return None
            pid = int(children[0])
            with open(f"/proc/{pid}/syscall") as f:
                return pid if f.read().split(" ", 1)[0] == str(LISTEN_SYSCALL) else None
        first_pid = wait_until(first_in_listen, timeout=10, interval=0.005, message="the first process in listen()")
        second = subprocess.Popen([BIN, f"--configFile={config}"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)

        def settled():
            running = {pid for pid, alive in ((first_pid, os.path.exists(f"/proc/{first_pid}") and
                                               tracer.poll() is None), (second.pid, second.poll() is None))
                       if alive}
            holders = listening_pids(port, running)
            if len(holders) == 2:
                return "both listen"
            if len(running) == 1 and holders == running:
                return "one listens"
            if not running:
                return "none listens"
            return None
        outcome = wait_until(settled, timeout=15, interval=0.01, message="both processes settled")
        assert outcome == "one listens"
        if second.poll() is not None:
            assert second.returncode == 1
    finally:
        if second is not None:
            stop_pid(second.pid)
            second.wait(timeout=15)
        if first_pid is not None:
            stop_pid(first_pid)
        try:
            tracer.wait(timeout=15)
        except subprocess.TimeoutExpired:
            tracer.kill()
            tracer.wait()


def loopback_alias_available():
    try:
        with socket.socket() as s:
            s.bind(("127.0.0.2", 0))
        return True
    except OSError:
        return False


def start_with_addresses(tmp_path, name, addresses, whoami_url):
    """A causeway whose entryPoints listen on the given addresses ({entryPoint: "ip:port"})."""
    base = tmp_path / name
    (base / "dynamic").mkdir(parents=True)
    (base / "dynamic" / "a.yml").write_text(route(whoami_url, host="app.test"))
    lines = ["entryPoints:"]
    for ep, address in addresses.items():
        lines += [f"  {ep}:", f"    address: \"{address}\""]
    lines += ["providers:", "  file:", f"    directory: \"{base / 'dynamic'}\"", "log:", "  level: DEBUG", "workers: 2"]
    (base / "causeway.yml").write_text("\n".join(lines) + "\n")
    return Process([BIN, f"--configFile={base / 'causeway.yml'}"], name=name)


def answers(address, port):
    conn = http.client.HTTPConnection(address, port, timeout=5)
    try:
        conn.request("GET", "/", headers={"Host": "app.test"})
        response = conn.getresponse()
        return response.status == 200 and b"Name: app" in response.read()
    finally:
        conn.close()


def test_same_port_on_two_addresses_in_one_process(tmp_path, start_whoami):
    if not loopback_alias_available():
        pytest.skip("127.0.0.2 is not usable here")
    whoami = start_whoami("app")
    port = free_port()
    proxy = start_with_addresses(tmp_path, "one", {"a": f"127.0.0.1:{port}", "b": f"127.0.0.2:{port}"},
                                 whoami.url)
    try:
        wait_until(lambda: proxy.proc.poll() is not None or (answers("127.0.0.1", port) and
                                                            answers("127.0.0.2", port)),
                   timeout=10, message="both entryPoints")
        assert proxy.proc.poll() is None, proxy.output()
    finally:
        proxy.stop()


def test_same_port_on_two_addresses_in_two_processes(tmp_path, start_whoami):
    if not loopback_alias_available():
        pytest.skip("127.0.0.2 is not usable here")
    whoami = start_whoami("app")
    port = free_port()
    first = start_with_addresses(tmp_path, "first", {"a": f"127.0.0.1:{port}"}, whoami.url)
    second = None
    try:
        wait_until(lambda: answers("127.0.0.1", port), message="the first process")
        second = start_with_addresses(tmp_path, "second", {"b": f"127.0.0.2:{port}"}, whoami.url)
        wait_until(lambda: second.proc.poll() is not None or answers("127.0.0.2", port),
                   timeout=10, message="the second process")
        assert second.proc.poll() is None, second.output()
        assert answers("127.0.0.1", port)
    finally:
        if second:
            second.stop()
        first.stop()
