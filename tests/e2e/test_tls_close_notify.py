"""TLS connections end with close_notify (RFC 8446 §6.1), downstream and upstream, as nginx
does: OpenSSL 3 clients otherwise report "unexpected eof while reading" and tools such as
ApacheBench count every response as failed.

Downstream: `openssl s_client` sends a request with `Connection: close` over TLS 1.3 and 1.2 and
must read the whole answer, then a close_notify alert, and no unexpected EOF. Upstream: a TLS
server written here (Python's ssl module) sees causeway's close_notify when causeway drops the
pooled connection (idle timeout of the serversTransport).
"""
import socket
import ssl
import subprocess
import threading
import time

import pytest

from harness import to_yaml, wait_until
from tls_certs import Pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    p = Pki(tmp_path_factory.mktemp("pki"))
    p.ca_cert = p.ca("causeway test CA")
    p.site = p.issue(p.ca_cert, "a.example.test", dns=["a.example.test"], ips=["127.0.0.1"])
    return p


def tls_config(pki, upstream_url, transport=None):
    out = {"http": {"routers": {"app": {"rule": "PathPrefix(`/`)", "service": "app", "tls": {}}},
                    "services": {"app": {"loadBalancer": {"servers": [{"url": upstream_url}]}}}},
           "tls": {"certificates": [{"certFile": str(pki.site.cert), "keyFile": str(pki.site.key)}]}}
    if transport:
        out["http"]["serversTransports"] = {"t": transport}
        out["http"]["services"]["app"]["loadBalancer"]["serversTransport"] = "t"
    return {"tls.yml": to_yaml(out) + "\n"}


@pytest.mark.parametrize("version", ["-tls1_3", "-tls1_2"])
def test_downstream_close_notify(start_causeway, start_whoami, pki, version):
    who = start_whoami()
    cw = start_causeway(dynamic=tls_config(pki, f"http://127.0.0.1:{who.port}"))
    request = b"GET / HTTP/1.1\r\nHost: a.example.test\r\nConnection: close\r\n\r\n"

    def attempt():
        out = subprocess.run(["openssl", "s_client", version, "-connect", f"127.0.0.1:{cw.port()}",
                              "-servername", "a.example.test", "-CAfile", str(pki.ca_cert.cert), "-ign_eof",
                              "-msg"], input=request, capture_output=True, timeout=20)
        return out
    out = wait_until(lambda: (lambda o: o if b"HTTP/1.1 200" in o.stdout else None)(attempt()), 10)
    text = (out.stdout + out.stderr).decode("latin-1")
    assert "unexpected eof" not in text.lower(), text[-2000:]
    assert "close_notify" in text or "close notify" in text, text[-2000:]


def test_upstream_close_notify(start_causeway, pki):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(pki.site.cert), str(pki.site.key))
    context.options &= ~getattr(ssl, "OP_IGNORE_UNEXPECTED_EOF", 0)  # a bare EOF must show
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    port = server.getsockname()[1]
    outcomes = []

    def serve():
        conn, _ = server.accept()
        tls = context.wrap_socket(conn, server_side=True, suppress_ragged_eofs=False)
        data = b""
        while b"\r\n\r\n" not in data:
            data += tls.recv(4096)
        tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        try:
            extra = tls.recv(4096)  # b"" after the peer's close_notify (ssl raises on a bare EOF)
            outcomes.append("close_notify" if extra == b"" else "data")
        except ssl.SSLEOFError:
            outcomes.append("eof without close_notify")
        except OSError as e:
            outcomes.append(f"error {e}")
        tls.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    transport = {"rootCAs": [str(pki.ca_cert.cert)], "forwardingTimeouts": {"idleConnTimeout": "500ms"}}
    cw = start_causeway(dynamic=tls_config(pki, f"https://127.0.0.1:{port}", transport))
    out = wait_until(lambda: (lambda o: o if b"ok" in o.stdout else None)(subprocess.run(
        ["curl", "-sk", "--resolve", f"a.example.test:{cw.port()}:127.0.0.1", f"https://a.example.test:{cw.port()}/"],
        capture_output=True, timeout=10)), 10)
    assert out
    thread.join(10)  # the pooled connection is closed after idleConnTimeout
    server.close()
    assert outcomes == ["close_notify"], outcomes
