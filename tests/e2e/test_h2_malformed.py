"""Malformed HTTP/2 requests (docs/security.md §3, rows D01–D15; RFC 9113 §8).

Each malformed request is sent as raw frames (h2probe.py) on a fresh connection, all its
frames in one write. The stream must be reset with PROTOCOL_ERROR (a 400 may precede the
reset) or the connection must end with a GOAWAY carrying an error; when the connection
survives, a valid request on it must still be answered. A recording HTTP/1.1 upstream
(recorder.py) must receive nothing but the valid requests. The `norm` rows (D12 host vs
:authority, D14 several cookie fields, D15 body without content-length) check what the
upstream receives instead.

Every case runs over h2c (prior knowledge) and over TLS (ALPN h2): both go through the same
codec, but through different streams underneath.
"""
import time

import pytest
from hyperframe.frame import DataFrame

from h2probe import NO_ERROR, PROTOCOL_ERROR, H2Client, block, request_headers
from harness import Causeway, to_yaml, wait_until
from recorder import Recorder
from tls_certs import Pki

SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: a.test\r\n\r\n"


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    """One causeway for the module: Host a.test → the recorder, Host evil.test → another
    recorder, over h2c and TLS on the same entryPoint."""
    directory = tmp_path_factory.mktemp("pki")
    pki = Pki(directory)
    ca = pki.ca()
    cert = pki.issue(ca, "a.test", dns=["a.test", "evil.test"])
    rec, evil = Recorder(), Recorder()
    dynamic = {"http": {
        "routers": {
            "a": {"rule": "Host(`a.test`)", "service": "rec"},
            "a-tls": {"rule": "Host(`a.test`)", "service": "rec", "tls": {}},
            "evil": {"rule": "Host(`evil.test`)", "service": "evil"},
            "evil-tls": {"rule": "Host(`evil.test`)", "service": "evil", "tls": {}},
        },
        "services": {
            "rec": {"loadBalancer": {"servers": [{"url": rec.url}]}},
            "evil": {"loadBalancer": {"servers": [{"url": evil.url}]}},
        }},
        "tls": {"certificates": [{"certFile": cert.cert, "keyFile": cert.key}]}}
    cw = Causeway(dynamic={"d.yml": to_yaml(dynamic) + "\n"})
    try:
        def ready():
            with H2Client(cw.port()) as c:
                return c.wait_stream(c.request(authority="a.test", path="/ready")).status == 200
        wait_until(ready, message="h2c route ready")
        yield cw, rec, evil
    finally:
        cw.stop()
        rec.stop()
        evil.stop()


def client(cw, transport):
    if transport == "tls":
        c = H2Client(cw.port(), tls=True, sni="a.test")
        assert c.alpn == "h2"
        return c
    return H2Client(cw.port())


def scheme(transport):
    return "https" if transport == "tls" else "http"


def hdrs(transport, path, method="GET", extra=(), authority="a.test"):
    return request_headers(method, path, authority, scheme(transport), extra)


def data(sid, payload, end=True):
    return DataFrame(sid, data=payload, flags=["END_STREAM"] if end else []).serialize()


def plain(extra, method="GET"):
    """A case: the valid request head plus `extra` fields, no body."""
    def send(c, t, path):
        return c.send_headers(hdrs(t, path, method, extra))
    return send


def with_body(extra, payload, method="POST", end_headers_stream=False):
    """A case: HEADERS with `extra` fields, then one DATA frame with `payload`, one write."""
    def send(c, t, path):
        sid = c.new_stream_id()
        return c.send_headers(hdrs(t, path, method, extra), sid=sid, end_stream=end_headers_stream,
                              extra=data(sid, payload))
    return send


def pseudo(fields):
    """A case: an arbitrary header list (`fields(t, path)` builds it)."""
    def send(c, t, path):
        return c.send_headers(fields(t, path))
    return send


def pseudo_in_trailers(c, t, path):
    sid = c.new_stream_id()
    trailer = block([(":path", "/trailer-path"), ("x-t", "1")])
    frames = data(sid, b"hello", end=False) + b"".join(
        f.serialize() for f in c.headers_frames(trailer, sid, end_stream=True))
    return c.send_headers(hdrs(t, path, "POST"), sid=sid, end_stream=False, extra=frames)


def S(t):  # noqa: N802 - scheme shortcut for the pseudo-header cases
    return scheme(t)


MALFORMED = [
    # D01: content-length disagreeing with the DATA frames (H2.CL).
    ("D01-cl0-with-data", with_body([("content-length", "0")], SMUGGLED)),
    ("D01-cl-smaller-than-data", with_body([("content-length", "5")], b"0123456789" * 2)),
    ("D01-cl-larger-than-data", with_body([("content-length", "100")], b"0123456789")),
    ("D01-cl-without-data", plain([("content-length", "10")], method="POST")),
    # D02: transfer-encoding (H2.TE).
    ("D02-transfer-encoding-chunked", with_body([("transfer-encoding", "chunked")], b"0\r\n\r\n" + SMUGGLED)),
    # D03: connection-specific fields.
    ("D03-connection", plain([("connection", "keep-alive")])),
    ("D03-keep-alive", plain([("keep-alive", "timeout=5")])),
    ("D03-proxy-connection", plain([("proxy-connection", "keep-alive")])),
    ("D03-upgrade", plain([("upgrade", "websocket")])),
    # D04: te other than "trailers".
    ("D04-te-gzip", plain([("te", "gzip")])),
    ("D04-te-trailers-gzip", plain([("te", "trailers, gzip")])),
    # D05: CR, LF, NUL in a value.
    ("D05-crlf-in-value", plain([("x", "b\r\nTransfer-Encoding: chunked")])),
    ("D05-lf-in-value", plain([("x", "b\nx-injected: 1")])),
    ("D05-cr-in-value", plain([("x", "b\rc")])),
    ("D05-nul-in-value", plain([("x", "b\x00c")])),
    # D06: leading or trailing whitespace in a value.
    ("D06-leading-space", plain([("x", " b")])),
    ("D06-trailing-space", plain([("x", "b ")])),
    ("D06-leading-tab", plain([("x", "\tb")])),
    ("D06-trailing-tab", plain([("x", "b\t")])),
    # D07: field names.
    ("D07-uppercase-name", plain([("X-Upper", "b")])),
    ("D07-space-in-name", plain([("x y", "b")])),
    ("D07-colon-in-name", plain([("x:y", "b")])),
    ("D07-ctl-in-name", plain([("x\x01y", "b")])),
    ("D07-del-in-name", plain([("x\x7fy", "b")])),
    ("D07-high-byte-in-name", plain([(b"x\xffy", "b")])),
    # D08: empty name.
    ("D08-empty-name", plain([("", "b")])),
    # D09: request-line injection through pseudo-headers.
    ("D09-space-in-path", pseudo(lambda t, p: [(":method", "GET"), (":scheme", S(t)), (":authority", "a.test"),
                                                (":path", p + " HTTP/1.1")])),
    ("D09-crlf-in-path", pseudo(lambda t, p: [(":method", "GET"), (":scheme", S(t)), (":authority", "a.test"),
                                               (":path", p + "\r\nx-injected: 1")])),
    ("D09-space-in-method", pseudo(lambda t, p: [(":method", "GET /x"), (":scheme", S(t)),
                                                  (":authority", "a.test"), (":path", p)])),
    ("D09-crlf-in-method", pseudo(lambda t, p: [(":method", "GET\r\n"), (":scheme", S(t)),
                                                 (":authority", "a.test"), (":path", p)])),
    ("D09-crlf-in-authority", pseudo(lambda t, p: [(":method", "GET"), (":scheme", S(t)),
                                                    (":authority", "a.test\r\nx-injected: 1"), (":path", p)])),
    # D10: :path not starting with '/'.
    ("D10-relative-path", pseudo(lambda t, p: [(":method", "GET"), (":scheme", S(t)), (":authority", "a.test"),
                                                (":path", p.lstrip("/"))])),
    ("D10-empty-path", pseudo(lambda t, p: [(":method", "GET"), (":scheme", S(t)), (":authority", "a.test"),
                                             (":path", "")])),
    ("D10-asterisk-with-get", pseudo(lambda t, p: [(":method", "GET"), (":scheme", S(t)),
                                                    (":authority", "a.test"), (":path", "*")])),
    ("D10-absolute-url-path", pseudo(lambda t, p: [(":method", "GET"), (":scheme", S(t)),
                                                    (":authority", "a.test"), (":path", "http://a.test" + p)])),
    # D11: pseudo-header rules.
    ("D11-duplicate-method", pseudo(lambda t, p: [(":method", "GET"), (":method", "POST"), (":scheme", S(t)),
                                                   (":authority", "a.test"), (":path", p)])),
    ("D11-duplicate-path", pseudo(lambda t, p: [(":method", "GET"), (":scheme", S(t)), (":authority", "a.test"),
                                                 (":path", p), (":path", "/other")])),
    ("D11-duplicate-scheme", pseudo(lambda t, p: [(":method", "GET"), (":scheme", S(t)), (":scheme", S(t)),
                                                   (":authority", "a.test"), (":path", p)])),
    ("D11-duplicate-authority", pseudo(lambda t, p: [(":method", "GET"), (":scheme", S(t)),
                                                      (":authority", "a.test"), (":authority", "evil.test"),
                                                      (":path", p)])),
    ("D11-missing-method", pseudo(lambda t, p: [(":scheme", S(t)), (":authority", "a.test"), (":path", p)])),
    ("D11-missing-scheme", pseudo(lambda t, p: [(":method", "GET"), (":authority", "a.test"), (":path", p)])),
    ("D11-missing-path", pseudo(lambda t, p: [(":method", "GET"), (":scheme", S(t)), (":authority", "a.test")])),
    ("D11-unknown-pseudo", pseudo(lambda t, p: [(":method", "GET"), (":scheme", S(t)), (":authority", "a.test"),
                                                 (":path", p), (":foo", "bar")])),
    ("D11-status-in-request", pseudo(lambda t, p: [(":method", "GET"), (":scheme", S(t)),
                                                    (":authority", "a.test"), (":path", p), (":status", "200")])),
    ("D11-pseudo-after-regular", pseudo(lambda t, p: [(":method", "GET"), (":scheme", S(t)),
                                                       (":authority", "a.test"), ("x", "1"), (":path", p)])),
    ("D11-pseudo-in-trailers", pseudo_in_trailers),
    # D13: userinfo in :authority.
    ("D13-userinfo", pseudo(lambda t, p: [(":method", "GET"), (":scheme", S(t)), (":authority", "user@a.test"),
                                           (":path", p)])),
    ("D13-userinfo-password", pseudo(lambda t, p: [(":method", "GET"), (":scheme", S(t)),
                                                    (":authority", "user:pw@a.test"), (":path", p)])),
]


def mark(rec):
    """What the recorder has received so far (see `settle`)."""
    return {id(r) for r in rec.requests()}


def settle(rec, before, timeout=0.1):
    """The requests the recorder received since `before = mark(rec)`, after a short quiet time.
    (The recorder lists requests per upstream connection, so an index would not do.)"""
    time.sleep(timeout)
    return [r for r in rec.requests() if id(r) not in before]


CASES = [pytest.param(case_id, send, id=case_id) for case_id, send in MALFORMED]


@pytest.mark.parametrize("transport", ["h2c", "tls"])
@pytest.mark.parametrize("case_id,send", CASES)
def test_malformed_request_is_reset_and_never_forwarded(proxy, transport, case_id, send):
    cw, rec, evil = proxy
    before, evil_before = mark(rec), mark(evil)
    with client(cw, transport) as c:
        c.wait_settings()
        sid = send(c, transport, f"/bad-{case_id}")
        s = c.wait_stream(sid, timeout=3)
        goaway = c.goaway is not None and c.goaway.error_code != NO_ERROR and c.goaway.last_stream_id < sid
        assert s.reset == PROTOCOL_ERROR or goaway, (
            f"{case_id}: expected RST_STREAM(PROTOCOL_ERROR) or GOAWAY, got {s} headers={s.headers} "
            f"body={bytes(s.body)[:200]!r} goaway={c.goaway} frames={c.received}")
        assert s.status in (None, 400), (case_id, s.status, s.headers)
        survived = not goaway and not c.closed and c.goaway is None
        if survived:
            ok = c.wait_stream(c.request(authority="a.test", path="/ok", scheme=scheme(transport)))
            assert ok.status == 200 and bytes(ok.body) == b"target=/ok", (case_id, ok, c.received)
    forwarded = [r.target for r in settle(rec, before)]
    assert forwarded == (["/ok"] if survived else []), (case_id, forwarded)
    assert settle(evil, evil_before, 0) == []
    assert rec.errors() == []


def test_valid_control_requests_are_forwarded(proxy):
    """The same method sees a valid request: te: trailers, a body with a matching
    content-length, and trailers without pseudo-headers all reach the upstream."""
    cw, rec, _ = proxy
    before = mark(rec)
    with H2Client(cw.port()) as c:
        s = c.wait_stream(c.send_headers(hdrs("h2c", "/control-te", extra=[("te", "trailers")])))
        assert s.status == 200 and s.reset is None, (s, c.received)
        sid = c.new_stream_id()
        c.send_headers(hdrs("h2c", "/control-cl", "POST", [("content-length", "10")]), sid=sid, end_stream=False,
                       extra=data(sid, b"0123456789"))
        s = c.wait_stream(sid)
        assert s.status == 200 and s.reset is None, (s, c.received)
        s = c.wait_stream(c.request("POST", "/control-trailers", "a.test", body=b"abc", trailers=[("x-t", "1")]))
        assert s.status == 200, (s, c.received)
    got = {r.target: r for r in settle(rec, before)}
    assert set(got) == {"/control-te", "/control-cl", "/control-trailers"}, got
    assert got["/control-cl"].body == b"0123456789"
    assert got["/control-trailers"].body == b"abc"


# ---------------------------------------------------------------------------------------
# norm rows: forwarded, normalised.

@pytest.mark.parametrize("transport", ["h2c", "tls"])
def test_d12_host_field_differing_from_authority(proxy, transport):
    """`host: evil.test` with `:authority: a.test`: routed and forwarded by :authority only
    (RFC 9113 §8.3.1; reliability D12 allows RST/400 or ignoring host)."""
    cw, rec, evil = proxy
    before, evil_before = mark(rec), mark(evil)
    with client(cw, transport) as c:
        s = c.wait_stream(c.send_headers(hdrs(transport, "/d12", extra=[("host", "evil.test")])))
    if s.reset == PROTOCOL_ERROR or s.status == 400:
        forwarded = settle(rec, before)
        assert forwarded == []
    else:
        assert s.status == 200, (s, s.headers)
        forwarded = settle(rec, before)
        assert [r.target for r in forwarded] == ["/d12"]
        assert forwarded[0].values("Host") == ["a.test"], forwarded[0].headers
        assert all("evil" not in v for _, v in forwarded[0].headers), forwarded[0].headers
    assert settle(evil, evil_before, 0) == []


@pytest.mark.parametrize("transport", ["h2c", "tls"])
def test_d14_cookie_fields_are_joined(proxy, transport):
    cw, rec, _ = proxy
    before = mark(rec)
    with client(cw, transport) as c:
        s = c.wait_stream(c.send_headers(hdrs(transport, "/d14", extra=[
            ("cookie", "a=1"), ("x-between", "y"), ("cookie", "b=2"), ("cookie", "c=3")])))
    assert s.status == 200, (s, s.headers)
    forwarded = settle(rec, before)
    assert [r.target for r in forwarded] == ["/d14"]
    assert forwarded[0].values("Cookie") == ["a=1; b=2; c=3"], forwarded[0].headers


@pytest.mark.parametrize("transport", ["h2c", "tls"])
def test_d15_body_without_content_length(proxy, transport):
    """Framing comes from DATA: the upstream gets the whole body with the proxy's own framing."""
    cw, rec, _ = proxy
    before = mark(rec)
    payload = bytes(range(256)) * 100  # 25600 bytes in two DATA frames
    with client(cw, transport) as c:
        s = c.wait_stream(c.request("POST", "/d15", "a.test", scheme=scheme(transport), body=payload))
    assert s.status == 200, (s, s.headers)
    forwarded = settle(rec, before)
    assert [r.target for r in forwarded] == ["/d15"]
    r = forwarded[0]
    assert r.body == payload
    assert r.framing in ("chunked", "content-length")
    if r.framing == "content-length":
        assert r.values("Content-Length") == [str(len(payload))]
