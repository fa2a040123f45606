"""What a new client connection costs in system calls (issue 20, "new connection per request"):
accept4 with SOCK_NONBLOCK instead of accept + ioctl(FIONBIO), and TCP_NODELAY only where
Nagle's algorithm could hold a write back (as nginx: not for a plain HTTP/1.1 response written
whole, set before a keep-alive connection's second response; at once for TLS and HTTP/2).
strace -f records causeway's ioctl and setsockopt calls while real clients connect. Upstream
connections are opened non-blocking (socket with SOCK_NONBLOCK: no ioctl) and their connect is
completed without Asio's extra poll, and no socket is removed from epoll by hand before it is
closed (io/tcp_connect.h)."""
import http.client
import shutil
import socket
import subprocess
import time

import pytest

from harness import BIN, free_port, wait_for_port

pytestmark = pytest.mark.skipif(not shutil.which("strace"), reason="needs strace")


def traced(tmp_path, extra="", service="noop@internal", calls="ioctl,setsockopt,accept4,accept"):
    port = free_port()
    dynamic = tmp_path / "d.yml"
    services = ""
    if service.startswith("http://"):
        services = f"  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: {service}\n"
        service = "app"
    dynamic.write_text(f"http:\n  routers:\n    r:\n      rule: PathPrefix(`/`)\n      service: {service}\n{services}")
    config = tmp_path / "causeway.yml"
    config.write_text(f"""entryPoints:
  web:
    address: "127.0.0.1:{port}"
{extra}providers:
  file:
    filename: "{dynamic}"
workers: 1
""")
    log = tmp_path / "strace.log"
    tracer = subprocess.Popen(["strace", "-f", "-qq", "-o", str(log), "-e", f"trace={calls}",
                               BIN, f"--configFile={config}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port, proc=tracer)
    time.sleep(0.3)
    return tracer, port, log


def stop(tracer, log):
    children = open(f"/proc/{tracer.pid}/task/{tracer.pid}/children").read().split()
    for child in children:
        subprocess.run(["kill", "-TERM", child])
    tracer.wait(timeout=20)
    return log.read_text()


def counts(text):
    lines = [line for line in text.splitlines() if "resumed" not in line or "= " in line]
    nodelay = sum(1 for line in lines if "TCP_NODELAY" in line)
    fionbio = sum(1 for line in lines if "FIONBIO" in line)
    accepted = sum(1 for line in lines if "accept" in line and "EAGAIN" not in line and "= -1" not in line)
    return nodelay, fionbio, accepted


def test_a_connection_per_request_makes_no_ioctl_and_no_nodelay(tmp_path):
    tracer, port, log = traced(tmp_path)
    try:
        before = counts(log.read_text())
        for _ in range(20):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/", headers={"Connection": "close"})
            r = c.getresponse()
            assert r.status == 418
            r.read()
            c.close()
        time.sleep(0.2)
        after = counts(log.read_text())
        assert after[2] - before[2] == 20, after  # every connection was accepted with accept4
        assert after[1] - before[1] == 0, "ioctl(FIONBIO) on accepted connections"
        assert after[0] - before[0] == 0, "TCP_NODELAY on connections that wrote once"

        # A keep-alive connection: TCP_NODELAY once, before its second response.
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("GET", "/")
        c.getresponse().read()
        time.sleep(0.1)
        assert counts(log.read_text())[0] - before[0] == 0
        for _ in range(3):
            c.request("GET", "/")
            assert c.getresponse().read() is not None
        time.sleep(0.1)
        assert counts(log.read_text())[0] - before[0] == 1
        c.close()

        # HTTP/2 (h2c prior knowledge): at once.
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]))
        s.settimeout(5)
        assert s.recv(100)[3] == 4  # the server's SETTINGS
        s.close()
        time.sleep(0.1)
        assert counts(log.read_text())[0] - before[0] == 2
    finally:
        stop(tracer, log)


def test_an_upstream_connection_is_opened_non_blocking_and_connected_without_poll(tmp_path):
    from mw_upstream import Reply, Upstream
    # The upstream closes every connection: each request dials anew.
    up = Upstream(lambda req: Reply(200, b"hi", {"Connection": "close"}))
    tracer, port, log = traced(tmp_path, service=up.url, calls="socket,connect,ioctl,poll,getsockopt,epoll_ctl")
    try:
        before = log.read_text()
        for _ in range(10):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/")
            r = c.getresponse()
            assert (r.status, r.read()) == (200, b"hi")
            c.close()
        time.sleep(0.2)
        after = log.read_text()[len(before):]
        # Neither the accepted nor the upstream sockets are taken out of epoll by hand: close() does it.
        assert "EPOLL_CTL_DEL" not in after
        lines = [line for line in after.splitlines()
                 if f"htons({up.port})" in line or "SOCK_STREAM" in line or "FIONBIO" in line or "poll(" in line]
        sockets = [line for line in lines if "socket(AF_INET, SOCK_STREAM" in line]
        assert len(sockets) == 10 and all("SOCK_NONBLOCK" in line for line in sockets), lines
        assert sum(1 for line in lines if f"htons({up.port})" in line and "connect(" in line) == 10, lines
        assert not [line for line in lines if "FIONBIO" in line or "poll(" in line], lines
    finally:
        stop(tracer, log)
        up.stop()


def test_an_idle_keep_alive_connection_waits_without_its_buffers(tmp_path):
    # After a second without a request, a plain keep-alive connection ends its pending read,
    # frees its buffers and waits for readability instead (one epoll_ctl), as nginx does.
    tracer, port, log = traced(tmp_path, calls="epoll_ctl")
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("GET", "/")
        assert c.getresponse().read() is not None
        time.sleep(0.3)
        before = log.read_text().count("EPOLL_CTL_MOD")
        time.sleep(1.5)
        assert log.read_text().count("EPOLL_CTL_MOD") == before + 1
        c.request("GET", "/")  # and it serves on
        r = c.getresponse()
        assert r.status == 418
        r.read()
        c.close()
    finally:
        stop(tracer, log)
