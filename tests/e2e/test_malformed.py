"""Malformed and ambiguous HTTP/1.1 requests (docs/security.md §2, rows S01–S52).

Oracle (docs/security.md §2): each payload goes on a fresh client connection followed by a
pipelined canary `GET /canary`. For a `400c` row the client gets exactly one error response
with the expected status, the connection is then closed, and the raw recording upstream
receives nothing at all (not even the canary). For a `pass`/`norm` row the upstream sees
the expected requests then the canary, each canonical (CRLF only, one framing header, no
leftover bytes), and the client gets one response per request, in order.
"""
import socket
import time

import pytest

from harness import curl, responses, to_yaml, wait_until
from recorder import Recorder, exchange, parse_stream

CANARY = b"GET /canary HTTP/1.1\r\nHost: x.test\r\n\r\n"


@pytest.fixture
def recorder():
    r = Recorder()
    yield r
    r.stop()


@pytest.fixture
def proxy(recorder, start_causeway):
    """causeway routing everything to the recorder; returns (causeway, bytes mark)."""
    dyn = to_yaml({"http": {
        "routers": {"all": {"rule": "PathPrefix(`/`)", "service": "rec"}},
        "services": {"rec": {"loadBalancer": {"servers": [{"url": recorder.url}]}}},
    }}) + "\n"
    cw = start_causeway(dynamic={"rec.yml": dyn})
    wait_until(lambda: curl(cw.url("web", "/__ready"), host="x.test")[0] == 200, message="route to recorder")
    return cw, recorder.total_bytes()


def H(*lines, method="POST", target="/", version="HTTP/1.1", host=True, body=b""):
    """A request head from field lines (str or bytes), then `body`."""
    out = f"{method} {target} {version}\r\n".encode()
    if host:
        out += b"Host: x.test\r\n"
    for line in lines:
        out += (line.encode("latin-1") if isinstance(line, str) else line) + b"\r\n"
    return out + b"\r\n" + body


CHUNKED = "Transfer-Encoding: chunked"
SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: x.test\r\n\r\n"

# (id, payload, expected status)
REJECTED = [
    # 2a. Framing
    ("S01-CL-then-TE", H("Content-Length: 6", CHUNKED, body=b"0\r\n\r\nX"), 400),
    ("S01-CL0-and-TE", H("Content-Length: 0", CHUNKED, body=b"0\r\n\r\n"), 400),
    ("S01-lower-case-names", H("content-length: 5", "transfer-encoding: chunked", body=b"0\r\n\r\n"), 400),
    ("S01-http10", H("Content-Length: 5", CHUNKED, version="HTTP/1.0", body=b"0\r\n\r\n"), 400),
    ("S02-TE-then-CL-smuggle", H(CHUNKED, "Content-Length: 4",
                                 body=b"%x\r\n" % len(SMUGGLED) + SMUGGLED + b"\r\n0\r\n\r\n"), 400),
    ("S03-two-CL-differ", H("Content-Length: 3", "Content-Length: 4", body=b"abcd"), 400),
    ("S03-CL-list-differ", H("Content-Length: 3, 4", body=b"abcd"), 400),
    ("S04-two-CL-equal", H("Content-Length: 5", "Content-Length: 5", body=b"hello"), 400),
    ("S04-CL-list-equal", H("Content-Length: 5, 5", body=b"hello"), 400),
    ("S05-CL-plus", H("Content-Length: +5", body=b"hello"), 400),
    ("S05-CL-hex", H("Content-Length: 0x5", body=b"hello"), 400),
    ("S05-CL-negative", H("Content-Length: -1", body=b"hello"), 400),
    ("S05-CL-two-numbers", H("Content-Length: 5 5", body=b"hello"), 400),
    ("S05-CL-empty", H("Content-Length: ", body=b"hello"), 400),
    ("S05-CL-letters", H("Content-Length: abc", body=b"hello"), 400),
    ("S05-CL-underscore", H("Content-Length: 1_0", body=b"hello"), 400),
    ("S06-CL-overflow", H("Content-Length: 99999999999999999999999", body=b"hello"), 400),
    ("S06-CL-2^64", H("Content-Length: 18446744073709551616", body=b"hello"), 400),
    ("S07-space-before-colon", H("Transfer-Encoding : chunked", body=b"0\r\n\r\n"), 400),
    ("S07-space-before-colon-CL", H("Content-Length : 5", body=b"hello"), 400),
    ("S08-xchunked", H("Transfer-Encoding: xchunked", body=b"0\r\n\r\n"), 501),
    ("S08-chunk", H("Transfer-Encoding: chunk", body=b"0\r\n\r\n"), 501),
    ("S08-quoted-chunked", H('Transfer-Encoding: "chunked"', body=b"0\r\n\r\n"), (400, 501)),
    ("S08-gzip-alone", H("Transfer-Encoding: gzip", body=b"0\r\n\r\n"), (400, 501)),
    ("S09-leading-comma", H("Transfer-Encoding: ,chunked", body=b"0\r\n\r\n"), 400),
    ("S09-chunked-not-last", H("Transfer-Encoding: chunked, gzip", body=b"0\r\n\r\n"), 400),
    ("S09-chunked-parameter", H("Transfer-Encoding: chunked;a=b", body=b"0\r\n\r\n"), 400),
    ("S10-chunked-twice-list", H("Transfer-Encoding: chunked, chunked", body=b"0\r\n\r\n"), 400),
    ("S10-chunked-two-lines", H(CHUNKED, CHUNKED, body=b"0\r\n\r\n"), 400),
    ("S13-VT-in-TE", H(b"Transfer-Encoding: \x0bchunked", body=b"0\r\n\r\n"), 400),
    ("S13-FF-in-TE", H(b"Transfer-Encoding: chunked\x0c", body=b"0\r\n\r\n"), 400),
    ("S13-0xFF-in-TE", H(b"Transfer-Encoding: chunked\xff", body=b"0\r\n\r\n"), 400),
    ("S13-trailing-CR-in-TE", H(b"Transfer-Encoding: chunked\r", body=b"0\r\n\r\n"), 400),
    ("S14-obs-fold-TE", H("Transfer-Encoding:", " chunked", body=b"0\r\n\r\n"), 400),
    ("S14-obs-fold-other", H("X-A: a", " b"), 400),
    ("S15-TE-on-http10", H(CHUNKED, version="HTTP/1.0", body=b"0\r\n\r\n"), 400),
    ("S16-size-not-hex", H(CHUNKED, body=b"Z\r\nabc\r\n0\r\n\r\n"), 400),
    ("S16-size-0x", H(CHUNKED, body=b"0x2\r\nab\r\n0\r\n\r\n"), 400),
    ("S16-size-leading-space", H(CHUNKED, body=b" 2\r\nab\r\n0\r\n\r\n"), 400),
    ("S16-size-plus", H(CHUNKED, body=b"+2\r\nab\r\n0\r\n\r\n"), 400),
    ("S16-size-minus", H(CHUNKED, body=b"-2\r\nab\r\n0\r\n\r\n"), 400),
    ("S16-size-underscore", H(CHUNKED, body=b"1_0\r\n" + b"a" * 16 + b"\r\n0\r\n\r\n"), 400),
    ("S16-size-empty", H(CHUNKED, body=b"\r\nab\r\n0\r\n\r\n"), 400),
    ("S17-size-overflow", H(CHUNKED, body=b"10000000000000002\r\nab\r\n0\r\n\r\n"), 400),
    ("S18-bare-LF-size-line", H(CHUNKED, body=b"2\nab\r\n0\r\n\r\n"), 400),
    ("S18-bare-LF-after-data", H(CHUNKED, body=b"2\r\nab\n0\r\n\r\n"), 400),
    ("S18-bare-LF-last-chunk", H(CHUNKED, body=b"2\r\nab\r\n0\n\r\n"), 400),
    ("S18-bare-LF-final-line", H(CHUNKED, body=b"2\r\nab\r\n0\r\n\n"), 400),
    ("S19-bare-CR-in-extension", H(CHUNKED, body=b"2;a\rb\r\nab\r\n0\r\n\r\n"), 400),
    ("S19-bare-CR-size-line", H(CHUNKED, body=b"2\r\r\nab\r\n0\r\n\r\n"), 400),
    ("S20-data-longer-than-size", H(CHUNKED, body=b"2\r\nabc\r\n0\r\n\r\n"), 400),
    ("S22-huge-chunk-extension", H(CHUNKED, body=b"2;" + b"a=b;" * 4096 + b"a=b\r\nab\r\n0\r\n\r\n"), (400, 413)),
    # 2b. Start line and fields
    ("S31-bare-CR-in-value", H(b"X-A: a\rb", method="GET"), 400),
    ("S32-NUL-in-value", H(b"X-A: a\x00b", method="GET"), 400),
    ("S33-CTL-0x01", H(b"X-A: a\x01b", method="GET"), 400),
    ("S33-CTL-0x08", H(b"X-A: a\x08b", method="GET"), 400),
    ("S33-CTL-VT", H(b"X-A: a\x0bb", method="GET"), 400),
    ("S33-CTL-FF", H(b"X-A: a\x0cb", method="GET"), 400),
    ("S33-CTL-DEL", H(b"X-A: a\x7fb", method="GET"), 400),
    ("S34-space-in-name", H(b"X A: b", method="GET"), 400),
    ("S34-NUL-in-name", H(b"X\x00A: b", method="GET"), 400),
    ("S34-high-byte-in-name", H(b"X\x80A: b", method="GET"), 400),
    ("S34-quote-in-name", H(b'X"A: b', method="GET"), 400),
    ("S34-paren-in-name", H(b"X(A: b", method="GET"), 400),
    ("S34-empty-name", H(b": b", method="GET"), 400),
    ("S35-line-without-colon", H(b"XA", method="GET"), 400),
    ("S36-first-line-starts-with-SP", b"GET / HTTP/1.1\r\n X-A: b\r\nHost: x.test\r\n\r\n", 400),
    ("S36-first-line-starts-with-HTAB", b"GET / HTTP/1.1\r\n\tX-A: b\r\nHost: x.test\r\n\r\n", 400),
    ("S38-no-host-http11", H(method="GET", host=False), 400),
    ("S39-two-hosts", H("Host: y.test", method="GET"), 400),
    ("S39-two-equal-hosts", H("Host: x.test", method="GET"), 400),
    ("S40-host-empty", H("Host: ", method="GET", host=False), 400),
    ("S40-host-userinfo", H("Host: u@a", method="GET", host=False), 400),
    ("S40-host-slash", H("Host: a/b", method="GET", host=False), 400),
    ("S40-host-port-too-big", H("Host: a:99999", method="GET", host=False), 400),
    ("S40-host-two-ports", H("Host: a:1:2", method="GET", host=False), 400),
    ("S40-host-leading-dots", H("Host: ..a", method="GET", host=False), 400),
    ("S40-host-unclosed-ipv6", H("Host: [::1", method="GET", host=False), 400),
    ("S40-host-space", H("Host: a b", method="GET", host=False), 400),
    ("S43-fragment-in-target", H(method="GET", target="/a#frag"), 400),
    ("S44-relative-target", H(method="GET", target="a"), 400),
    ("S44-asterisk-on-GET", H(method="GET", target="*"), 400),
    ("S44-OPTIONS-asterisk-path", H(method="OPTIONS", target="*/x"), 400),
    ("S44-authority-form-on-GET", H(method="GET", target="x.test:80"), 400),
    ("S44-CONNECT-with-path", H(method="CONNECT", target="x.test:80/path"), 400),
    ("S45-CTL-in-target", H(method="GET", target="/a\x01b"), 400),
    ("S45-DEL-in-target", H(method="GET", target="/a\x7fb"), 400),
    ("S45-space-in-target", H(method="GET", target="/a b"), 400),
    ("S45-lone-percent", H(method="GET", target="/a%"), 400),
    ("S45-short-percent", H(method="GET", target="/a%1"), 400),
    ("S45-bad-percent", H(method="GET", target="/a%zz"), 400),
    ("S46-two-spaces", b"GET  / HTTP/1.1\r\nHost: x.test\r\n\r\n", 400),
    ("S46-HTAB-separator", b"GET\t/ HTTP/1.1\r\nHost: x.test\r\n\r\n", 400),
    ("S46-trailing-space", b"GET / HTTP/1.1 \r\nHost: x.test\r\n\r\n", 400),
    ("S47-version-1.10", H(method="GET", version="HTTP/1.10"), 400),
    ("S47-version-1.1x", H(method="GET", version="HTTP/1.1x"), 400),
    ("S47-version-lower-case", H(method="GET", version="http/1.1"), 400),
    ("S47-http09", b"GET /\r\nHost: x.test\r\n\r\n", 400),
    ("S47-version-2.0", H(method="GET", version="HTTP/2.0"), 505),
    ("S47-version-3.0", H(method="GET", version="HTTP/3.0"), 505),
    ("S49-16KiB-target", H(method="GET", target="/" + "a" * 16384), 414),
    ("S50-head-over-1MiB", H(*[f"X-Big-{i}: " + "b" * 60000 for i in range(20)], method="GET"), 431),
    ("S50-one-field-over-1MiB", H("X-Big: " + "b" * (1100 * 1024), method="GET"), 431),
    ("S51-200-fields", H(*[f"X-F{i}: v" for i in range(200)], method="GET"), 431),
    # 2c. Tunnels: CONNECT is not proxied (Traefik ≥ 3.7.9: 501; reliability S65: 405).
    ("S65-CONNECT", H("Host: x.test:443", method="CONNECT", target="x.test:443", host=False), (405, 501)),
]


def ids(cases):
    return [c[0] for c in cases]


@pytest.mark.parametrize("payload,expected", [c[1:] for c in REJECTED], ids=ids(REJECTED))
def test_rejected(proxy, recorder, payload, expected):
    cw, mark = proxy
    raw, ended = exchange(cw.port(), payload + CANARY)
    answers = responses(raw)
    assert answers, f"no response (connection {ended})"
    status = answers[0][0]
    allowed = expected if isinstance(expected, tuple) else (expected,)
    assert status in allowed, raw[:300]
    assert len(answers) == 1, f"{len(answers)} responses: {[a[0] for a in answers]}"
    assert ended in ("eof", "reset"), "connection left open after the error"
    time.sleep(0.05)
    assert recorder.data_since(mark) == b""


# ---------------------------------------------------------------------------------------
# Rows that must pass, normalised.

def passes(proxy, recorder, payload, expected_targets):
    """Sends payload + canary; checks the client answers and the upstream's view.

    Returns the requests the upstream received after the readiness check."""
    cw, mark = proxy
    raw, ended = exchange(cw.port(), payload + CANARY, timeout=3.0, until=b"target=/canary")
    answers = responses(raw)
    targets = expected_targets + ["/canary"]
    assert [a[0] for a in answers] == [200] * len(targets), raw[:500]
    # The recorder answers "target=<what it received>": responses come back in order.
    assert [a[2] for a in answers] == [f"target={t}".encode() for t in targets]
    assert ended == "open", "keep-alive connection closed"
    received = recorder.data_since(mark)
    assert recorder.errors() == []
    requests = parse_stream(bytearray(received))  # canonical: CRLF, one framing, no leftovers
    assert [r.target for r in requests] == targets
    for r in requests:
        framing = [k for k, _ in r.headers if k.lower() in ("content-length", "transfer-encoding")]
        assert len(framing) <= 1, r.headers
        assert r.version == "HTTP/1.1"
    return requests


def body_framing_ok(request, body):
    assert request.body == body
    if request.framing == "chunked":
        # Chunk extensions are dropped when re-chunking.
        assert all(b";" not in line for line in request.chunk_lines), request.chunk_lines
    else:
        assert request.framing == "content-length"
        assert request.values("Content-Length") == [str(len(body))]


@pytest.mark.parametrize("coding", ["CHUNKED", "cHuNkEd"], ids=["S11-upper", "S11-mixed"])
def test_S11_chunked_case_insensitive(proxy, recorder, coding):
    payload = H(f"Transfer-Encoding: {coding}", target="/s11", body=b"3\r\nabc\r\n0\r\n\r\n")
    requests = passes(proxy, recorder, payload, ["/s11"])
    body_framing_ok(requests[0], b"abc")


def test_S12_htab_before_chunked(proxy, recorder):
    payload = H("Transfer-Encoding:\tchunked", target="/s12", body=b"3\r\nabc\r\n0\r\n\r\n")
    requests = passes(proxy, recorder, payload, ["/s12"])
    body_framing_ok(requests[0], b"abc")


def test_S21_chunk_extensions_dropped(proxy, recorder):
    payload = H(CHUNKED, target="/s21", body=b'3;name=val\r\nabc\r\n2;a="q s";b\r\nde\r\n0;last=1\r\n\r\n')
    requests = passes(proxy, recorder, payload, ["/s21"])
    body_framing_ok(requests[0], b"abcde")


def test_S24_get_with_body(proxy, recorder):
    payload = H("Content-Length: 5", method="GET", target="/s24", body=b"hello")
    requests = passes(proxy, recorder, payload, ["/s24"])
    assert requests[0].method == "GET"
    body_framing_ok(requests[0], b"hello")


def test_S24_head_with_body(proxy, recorder):
    cw, mark = proxy
    payload = H("Content-Length: 5", method="HEAD", target="/s24h", body=b"hello")
    raw, ended = exchange(cw.port(), payload + CANARY, timeout=3.0, until=b"target=/canary")
    # A HEAD response has no body: split by hand.
    head, sep, rest = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), raw[:300]
    canary = responses(rest)
    assert [a[2] for a in canary] == [b"target=/canary"], raw
    requests = parse_stream(bytearray(recorder.data_since(mark)))
    assert [r.method for r in requests] == ["HEAD", "GET"]
    body_framing_ok(requests[0], b"hello")


def test_S26_two_pipelined_gets(proxy, recorder):
    payload = H(method="GET", target="/first") + H(method="GET", target="/second")
    requests = passes(proxy, recorder, payload, ["/first", "/second"])
    assert all(r.framing == "none" and r.body == b"" for r in requests)


def test_S30_bare_lf_header_lines(proxy, recorder):
    payload = b"GET /s30 HTTP/1.1\nHost: x.test\nX-A: 1\n\n"
    requests = passes(proxy, recorder, payload, ["/s30"])
    assert requests[0].values("X-A") == ["1"]


def test_S41_host_with_empty_port(proxy, recorder):
    payload = b"GET /s41 HTTP/1.1\r\nHost: x.test:\r\n\r\n"
    requests = passes(proxy, recorder, payload, ["/s41"])
    assert len(requests[0].values("Host")) == 1


def test_S52_leading_empty_line(proxy, recorder):
    payload = b"\r\n" + H(method="GET", target="/s52")
    passes(proxy, recorder, payload, ["/s52"])


def test_S52_leading_bare_lf(proxy, recorder):
    payload = b"\n" + H(method="GET", target="/s52lf")
    passes(proxy, recorder, payload, ["/s52lf"])


def test_S23_forbidden_trailers_dropped(proxy, recorder):
    payload = H(CHUNKED, "Trailer: X-Checksum", target="/s23",
                body=b"3\r\nabc\r\n0\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\nHost: evil.test\r\n"
                     b"X-Checksum: 42\r\n\r\n")
    requests = passes(proxy, recorder, payload, ["/s23"])
    r = requests[0]
    assert r.body == b"abc"
    for k, _ in r.trailers:
        assert k.lower() not in ("content-length", "transfer-encoding", "host"), r.trailers
    assert r.values("Host") == ["x.test"]


def test_S42_absolute_form_forwarded_in_origin_form(proxy, recorder):
    payload = b"GET http://b.test/s42?q=1 HTTP/1.1\r\nHost: a.test\r\n\r\n"
    requests = passes(proxy, recorder, payload, ["/s42?q=1"])
    assert requests[0].values("Host") == ["b.test"]


def test_S48_lower_case_method_kept(proxy, recorder):
    payload = b"get /s48 HTTP/1.1\r\nHost: x.test\r\n\r\n"
    requests = passes(proxy, recorder, payload, ["/s48"])
    assert requests[0].method == "get"


def test_S47_http10_forwarded_as_http11(proxy, recorder):
    cw, mark = proxy
    raw, ended = exchange(cw.port(), b"GET /s47 HTTP/1.0\r\nHost: x.test\r\n\r\n")
    assert [a[0] for a in responses(raw)] == [200]
    assert ended == "eof"
    requests = parse_stream(bytearray(recorder.data_since(mark)))
    assert [(r.method, r.target, r.version) for r in requests] == [("GET", "/s47", "HTTP/1.1")]


def test_bad_chunk_after_head_was_forwarded_closes_upstream(proxy, recorder):
    """The head and a first good chunk go upstream before a bad chunk arrives: the client gets
    400 and a closed connection, the canary never reaches the upstream, and the upstream
    connection carrying the half request is closed, never reused."""
    cw, mark = proxy
    with socket.create_connection(("127.0.0.1", cw.port())) as s:
        s.sendall(H(CHUNKED, target="/half", body=b"3\r\nabc\r\n"))
        time.sleep(0.3)
        s.sendall(b"Z\r\nxx\r\n0\r\n\r\n" + CANARY)
        s.settimeout(3)
        raw = b""
        while True:
            try:
                data = s.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not data:
                break
            raw += data
    answers = responses(raw)
    assert [a[0] for a in answers] == [400], raw
    time.sleep(0.1)
    seen = recorder.data_since(mark)
    assert b"/canary" not in seen
    with recorder.lock:
        carriers = [c for c in recorder.connections if b"/half" in c.data]
    assert len(carriers) == 1
    wait_until(lambda: carriers[0].closed, timeout=3, message="upstream connection closed")
    # The proxy still works, on another upstream connection.
    assert curl(cw.url("web", "/after"), host="x.test")[0] == 200
    with recorder.lock:
        assert b"/after" not in carriers[0].data
