"""grpcWeb: a gRPC-Web request (binary and text) reaches a real gRPC server through causeway,
and the answer comes back as gRPC-Web with the trailers in a trailer frame; CORS preflights
from allowed origins are answered."""
import base64
import pathlib
import socket
import struct

import pytest

from harness import Process, curl, free_port, wait_until

NODE_DIR = pathlib.Path(__file__).resolve().parent / "node"
pytestmark = pytest.mark.skipif(not (NODE_DIR / "node_modules" / "@grpc" / "grpc-js").exists(),
                                reason="npm packages not installed (make test runs npm ci in tests/e2e/node)")

# causeway.test.Msg{text: "hi", n: 41} in protobuf.
MESSAGE = bytes([0x0A, 0x02]) + b"hi" + bytes([0x10, 41])


@pytest.fixture
def proxy(start_causeway):
    port = free_port()
    server = Process(["node", str(NODE_DIR / "grpc_peer.js"), "server", str(port)], name="grpc-server")
    wait_until(lambda: "listening" in server.output(), message="grpc server")
    cw = start_causeway(dynamic={"d.yml": f"""
http:
  routers:
    r:
      rule: PathPrefix(`/`)
      service: grpc
      middlewares: [web]
  middlewares:
    web:
      grpcWeb:
        allowOrigins: ["https://app.example"]
  services:
    grpc:
      loadBalancer:
        servers: [{{url: "h2c://127.0.0.1:{port}"}}]
"""})
    yield cw
    server.stop()


def frames(payload):
    out = []
    while payload:
        flag, length = payload[0], struct.unpack(">I", payload[1:5])[0]
        out.append((flag, payload[5:5 + length]))
        payload = payload[5 + length:]
    return out


def post(cw, body, content_type):
    return curl(cw.url("web", "/causeway.test.Echo/Unary"), method="POST", data=body,
                headers=[f"Content-Type: {content_type}", "X-Grpc-Web: 1"])


def test_binary_grpc_web_unary_call(proxy):
    status, headers, body = post(proxy, b"\x00" + struct.pack(">I", len(MESSAGE)) + MESSAGE,
                                 "application/grpc-web+proto")
    assert status == 200
    assert headers["content-type"] == "application/grpc-web+proto"
    got = frames(body)
    assert got[0][0] == 0 and b"unary:hi" in got[0][1]
    assert got[-1][0] == 0x80
    assert b"grpc-status: 0" in got[-1][1]


def test_text_grpc_web_is_base64_both_ways(proxy):
    framed = b"\x00" + struct.pack(">I", len(MESSAGE)) + MESSAGE
    status, headers, body = post(proxy, base64.b64encode(framed), "application/grpc-web-text")
    assert status == 200
    assert headers["content-type"].startswith("application/grpc-web-text")
    got = frames(base64.b64decode(body))
    assert b"unary:hi" in got[0][1] and got[-1][0] == 0x80 and b"grpc-status: 0" in got[-1][1]


def test_error_status_is_carried_in_the_trailer_frame(proxy):
    status, _, body = curl(proxy.url("web", "/causeway.test.Echo/Fail"), method="POST",
                           data=b"\x00" + struct.pack(">I", len(MESSAGE)) + MESSAGE,
                           headers=["Content-Type: application/grpc-web+proto"])
    assert status == 200
    trailer = frames(body)[-1]
    assert trailer[0] == 0x80
    assert b"grpc-status: 7" in trailer[1] and b"grpc-message: denied" in trailer[1]


def test_cors_preflight_for_allowed_and_other_origins(proxy):
    status, headers, _ = curl(proxy.url("web", "/causeway.test.Echo/Unary"), method="OPTIONS",
                              headers=["Origin: https://app.example", "Access-Control-Request-Method: POST",
                                       "Access-Control-Request-Headers: x-grpc-web, content-type"])
    assert status == 204
    assert headers["access-control-allow-origin"] == "https://app.example"
    assert headers["access-control-allow-headers"] == "x-grpc-web, content-type"
    status, headers, _ = curl(proxy.url("web", "/causeway.test.Echo/Unary"), method="OPTIONS",
                              headers=["Origin: https://evil.example", "Access-Control-Request-Method: POST"])
    assert status == 204
    assert "access-control-allow-origin" not in headers
