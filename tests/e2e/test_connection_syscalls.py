"""What a new client connection costs in system calls (issue 20, "new connection per request"):
accept4 with SOCK_NONBLOCK instead of accept + ioctl(FIONBIO), and TCP_NODELAY only where
Nagle's algorithm could hold a write back (as nginx: not for a plain HTTP/1.1 response written
whole, set before a keep-alive connection's second response; at once for TLS and HTTP/2).
strace -f records causeway's ioctl and setsockopt calls while real clients connect."""
import http.client
import shutil
import socket
import subprocess
import time

import pytest

from harness import BIN, free_port, wait_for_port

pytestmark = pytest.mark.skipif(not shutil.which("strace"), reason="needs strace")


def traced(tmp_path, extra=""):
    port = free_port()
    dynamic = tmp_path / "d.yml"
    dynamic.write_text("http:\n  routers:\n    r:\n      rule: PathPrefix(`/`)\n      service: noop@internal\n")
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
    tracer = subprocess.Popen(["strace", "-f", "-qq", "-o", str(log), "-e", "trace=ioctl,setsockopt,accept4,accept",
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
