"""causeway's router extensions (docs/compatibility.md, "causeway extensions"; Traefik users
asked for them in traefik/traefik#2355 and #10962): `maxRequestBodyBytes` answers 413 before
the upstream sees anything, and `timeouts` (requestBody, responseHeader, exchange, idle) apply
to one router instead of the whole entryPoint or transport. Traefik itself reports these keys
as unknown.
"""
import socket
import textwrap
import time

import pytest

from harness import curl, raw_request, responses, wait_until
from service_upstreams import PyUpstream


@pytest.fixture
def slow():
    up = PyUpstream("slow", delay=2.0)
    yield up
    up.stop()


@pytest.fixture
def fast():
    up = PyUpstream("fast")
    yield up
    up.stop()


def config(upstream, router_extra):
    return {"d.yml": textwrap.dedent(f"""\
        http:
          routers:
            limited:
              rule: "PathPrefix(`/limited`)"
              service: app
        {textwrap.indent(router_extra, '      ')}
            open: {{rule: "PathPrefix(`/open`)", service: app}}
          services:
            app:
              loadBalancer:
                servers: [{{url: "http://127.0.0.1:{upstream.port}"}}]
        """)}


def test_max_request_body_bytes(start_causeway, fast):
    cw = start_causeway(dynamic=config(fast, "maxRequestBodyBytes: 100"))
    assert wait_until(lambda: curl(cw.url("web", "/open"))[0] == 200, 5)
    fast.requests.clear()
    status, _, _ = curl(cw.url("web", "/limited"), data=b"x" * 200)
    assert status == 413
    chunked = (b"POST /limited HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"64\r\n" + b"y" * 100 + b"\r\n64\r\n" + b"y" * 100 + b"\r\n0\r\n\r\n")
    out = responses(raw_request(cw.port(), chunked))
    assert out and out[0][0] == 413
    assert fast.requests == []  # the upstream saw nothing of either
    small = b"POST /limited HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n32\r\n" + \
        b"z" * 50 + b"\r\n0\r\n\r\n"
    out = responses(raw_request(cw.port(), small))
    assert out and out[0][0] == 200
    assert fast.requests[-1][3] == b"z" * 50
    status, _, _ = curl(cw.url("web", "/open"), data=b"x" * 200)  # other routers: no limit
    assert status == 200


def test_request_body_timeout(start_causeway, fast):
    cw = start_causeway(dynamic=config(fast, "timeouts: {requestBody: 1s}"))
    assert wait_until(lambda: curl(cw.url("web", "/open"))[0] == 200, 5)
    fast.requests.clear()
    with socket.create_connection(("127.0.0.1", cw.port()), timeout=10) as s:
        s.sendall(b"POST /limited HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
        started = time.monotonic()
        data = s.recv(4096)
        elapsed = time.monotonic() - started
    assert data.startswith(b"HTTP/1.1 408"), data
    assert 0.8 < elapsed < 5, elapsed
    assert fast.requests == []


def test_response_header_and_exchange_timeouts(start_causeway, slow):
    cw = start_causeway(dynamic={"d.yml": textwrap.dedent(f"""\
        http:
          routers:
            head: {{rule: "PathPrefix(`/head`)", service: app, timeouts: {{responseHeader: 500ms}}}}
            whole: {{rule: "PathPrefix(`/whole`)", service: app, timeouts: {{exchange: 700ms}}}}
            open: {{rule: "PathPrefix(`/open`)", service: app}}
          services:
            app:
              loadBalancer:
                servers: [{{url: "http://127.0.0.1:{slow.port}"}}]
        """)})
    assert wait_until(lambda: curl(cw.url("web", "/open"))[0] == 200, 10)
    for path in ("/head", "/whole"):
        started = time.monotonic()
        status, _, _ = curl(cw.url("web", path))
        elapsed = time.monotonic() - started
        assert status == 504, path
        assert elapsed < 1.8, (path, elapsed)
    assert curl(cw.url("web", "/open"))[0] == 200  # the transport's own (no) timeout


def test_idle_timeout_after_the_routers_response(start_causeway, fast):
    cw = start_causeway(dynamic=config(fast, "timeouts: {idle: 1s}"))
    assert wait_until(lambda: curl(cw.url("web", "/open"))[0] == 200, 5)
    def idle_close(path):
        with socket.create_connection(("127.0.0.1", cw.port()), timeout=6) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: a\r\n\r\n".encode())
            buf = b""
            while b"Name: fast" not in buf:
                buf += s.recv(4096)
            started = time.monotonic()
            try:
                closed = s.recv(4096) == b""
            except socket.timeout:
                closed = False
            return closed, time.monotonic() - started
    closed, elapsed = idle_close("/limited")
    assert closed and 0.8 < elapsed < 3, elapsed
    closed, elapsed = idle_close("/open")  # the entryPoint's idleTimeout (180 s): still open
    assert not closed
