"""gRPC end to end: @grpc/grpc-js client → causeway → @grpc/grpc-js server (h2c upstream).

All four call kinds (unary, server streaming, client streaming, bidirectional) and status
trailers (grpc-status, grpc-message, custom metadata) must come through, over h2c and over
TLS (ALPN h2); an HTTP/1.1 client can reach the h2c upstream too.
"""
import os
import pathlib
import shutil
import subprocess

import pytest

from harness import Process, curl, free_port, wait_until

NODE_DIR = pathlib.Path(__file__).resolve().parent / "node"
pytestmark = pytest.mark.skipif(not (NODE_DIR / "node_modules" / "@grpc" / "grpc-js").exists(),
                                reason="npm packages not installed (make test runs npm ci in tests/e2e/node)")


@pytest.fixture
def grpc_server():
    port = free_port()
    proc = Process(["node", str(NODE_DIR / "grpc_peer.js"), "server", str(port)], name="grpc-server")
    wait_until(lambda: "listening" in proc.output(), message="grpc server listening")
    yield port
    proc.stop()


def tls_files(directory):
    key, cert = directory / "grpc.key", directory / "grpc.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=grpc.test",
                    "-addext", "subjectAltName=DNS:grpc.test"], check=True, capture_output=True)
    return cert, key


def run_client(target, *extra):
    out = subprocess.run(["node", str(NODE_DIR / "grpc_peer.js"), "client", target, *extra],
                         capture_output=True, text=True, timeout=60)
    return out.returncode, out.stdout.strip() + out.stderr.strip()


def dynamic(upstream, cert=None, key=None):
    text = f"""
http:
  routers:
    grpc:
      rule: PathPrefix(`/causeway.test.Echo`)
      service: grpc
    grpc-tls:
      rule: Host(`grpc.test`)
      service: grpc
      tls: {{}}
    web:
      rule: PathPrefix(`/`)
      service: grpc
  services:
    grpc:
      loadBalancer:
        servers: [{{url: "h2c://127.0.0.1:{upstream}"}}]
"""
    if cert:
        text += f"""
tls:
  certificates:
    - certFile: {cert}
      keyFile: {key}
"""
    return text


def test_all_call_kinds_over_h2c(start_causeway, grpc_server):
    cw = start_causeway(dynamic={"grpc.yml": dynamic(grpc_server)})
    code, output = run_client(f"127.0.0.1:{cw.port()}")
    assert code == 0, output
    assert '"bidi":true' in output and '"status":true' in output


def test_all_call_kinds_over_tls(start_causeway, grpc_server, tmp_path):
    cert, key = tls_files(tmp_path)
    cw = start_causeway(dynamic={"grpc.yml": dynamic(grpc_server, cert, key)})
    code, output = run_client(f"127.0.0.1:{cw.port()}", str(cert), "grpc.test")
    assert code == 0, output


def test_http11_client_reaches_h2c_upstream(start_causeway, grpc_server):
    # A plain HTTP/1.1 request to the gRPC server: it answers with HTTP/2 semantics (415 or a
    # grpc-status), proving the HTTP/1.1 → HTTP/2 translation works.
    cw = start_causeway(dynamic={"grpc.yml": dynamic(grpc_server)})
    status, headers, _ = curl(cw.url("web", "/causeway.test.Echo/Unary"), method="POST",
                              headers=["Content-Type: text/plain"], data=b"x")
    assert status in (200, 415), (status, headers)
    assert "grpc-status" in headers or status == 415
