"""compress: gzip, br and zstd bodies (checked with the gzip, brotli and zstd command-line
tools), Accept-Encoding negotiation, minResponseBodyBytes, content-type filters, streaming
(SSE events arrive one by one; a large body streams with bounded memory).

Reference: docs/compatibility.md (middleware Compress); Traefik pkg/middlewares/compress (compress.go,
acceptencoding.go, compression_handler.go) and klauspost gzhttp for gzip."""
import hashlib
import socket
import subprocess
import threading
import time
import zlib

import pytest

from harness import rss_kib
from mw_upstream import Reply, start_upstream, text  # noqa: F401 (fixture)
from mwkit import get, request, start, values

TOOLS = {"gzip": ["gzip", "-dc"], "br": ["brotli", "-dc"], "zstd": ["zstd", "-dc"]}
BODY = text(20000)


def decompress(encoding, data):
    out = subprocess.run(TOOLS[encoding], input=data, capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout


def app(req):
    """/text?n → text/plain with Content-Length; /chunked?n → the same, chunked; others below."""
    n = int(req.query) if req.query.isdigit() else len(BODY)
    if req.path == "/text":
        return Reply(200, BODY[:n], {"Content-Type": "text/plain; charset=utf-8", "Accept-Ranges": "bytes"})
    if req.path == "/chunked":
        data = BODY[:n]
        return Reply(200, headers={"Content-Type": "text/plain"}, chunks=[data[i:i + 700] for i in range(0, n, 700)])
    if req.path == "/json":
        return Reply(200, BODY, {"Content-Type": "application/json"})
    if req.path == "/grpc":
        return Reply(200, BODY, {"Content-Type": "application/grpc"})
    if req.path == "/encoded":
        return Reply(200, b"already-encoded" * 200, {"Content-Type": "text/plain", "Content-Encoding": "gzip"})
    if req.path == "/notype":
        return Reply(200, BODY)
    if req.path == "/binary":
        return Reply(200, bytes(range(256)) * 20)  # sniffed as application/octet-stream
    if req.path == "/vary":
        return Reply(200, BODY, {"Content-Type": "text/plain", "Vary": "Origin"})
    if req.path == "/empty":
        return Reply(204)
    return Reply(200, b"ok", {"Content-Type": "text/plain"})


MIDDLEWARES = {
    "c": {"compress": {}},
    "c-br-first": {"compress": {"encodings": ["br", "zstd", "gzip"]}},
    "c-default-br": {"compress": {"defaultEncoding": "br"}},
    "c-min": {"compress": {"minResponseBodyBytes": 2048}},
    "c-excluded": {"compress": {"excludedContentTypes": ["text/plain"]}},
    "c-included": {"compress": {"includedContentTypes": ["application/json"]}},
    "c-both": {"compress": {"excludedContentTypes": ["text/plain"], "includedContentTypes": ["application/json"]}},
    "c-bad-encoding": {"compress": {"encodings": ["deflate"]}},
}


@pytest.fixture
def proxy(start_upstream, start_causeway):
    up = start_upstream(app)
    routers = {name: (f"Host(`{name}.test`)", [name]) for name in MIDDLEWARES}
    return start(start_causeway, up.url, middlewares=MIDDLEWARES, routers=routers)


def fetch(cw, host, path, accept=None, method="GET", headers=None):
    h = dict(headers or {})
    if accept is not None:
        h["Accept-Encoding"] = accept
    return request(cw, host, path, method=method, headers=h)


@pytest.mark.parametrize("encoding", ["gzip", "br", "zstd"])
def test_each_encoding_round_trips(proxy, encoding):
    status, headers, body = fetch(proxy, "c.test", "/text", accept=encoding)
    assert status == 200
    assert values(headers, "Content-Encoding") == [encoding]
    assert values(headers, "Vary") == ["Accept-Encoding"]
    assert values(headers, "Content-Length") == []
    assert values(headers, "Transfer-Encoding") == ["chunked"]
    assert len(body) < len(BODY) // 4
    assert decompress(encoding, body) == BODY
    # gzhttp drops Accept-Ranges when it compresses; Traefik's br/zstd handler keeps it.
    assert values(headers, "Accept-Ranges") == ([] if encoding == "gzip" else ["bytes"])


def test_chunked_upstream_body_is_compressed(proxy):
    status, headers, body = fetch(proxy, "c.test", "/chunked?5000", accept="zstd")
    assert status == 200
    assert values(headers, "Content-Encoding") == ["zstd"]
    assert decompress("zstd", body) == BODY[:5000]


def test_min_response_body_bytes(proxy):
    status, headers, body = fetch(proxy, "c.test", "/text?1023", accept="gzip")
    assert (status, body) == (200, BODY[:1023])
    assert values(headers, "Content-Encoding") == []
    assert values(headers, "Content-Length") == ["1023"]
    assert values(headers, "Vary") == ["Accept-Encoding"]
    status, headers, body = fetch(proxy, "c.test", "/text?1024", accept="gzip")
    assert values(headers, "Content-Encoding") == ["gzip"]
    assert decompress("gzip", body) == BODY[:1024]
    # A body of unknown length is held up to the threshold: short ones pass as they are.
    status, headers, body = fetch(proxy, "c.test", "/chunked?1000", accept="br")
    assert (status, body) == (200, BODY[:1000])
    assert values(headers, "Content-Encoding") == []
    status, headers, body = fetch(proxy, "c.test", "/chunked?1500", accept="br")
    assert values(headers, "Content-Encoding") == ["br"]
    assert decompress("br", body) == BODY[:1500]
    # A configured threshold.
    status, headers, body = fetch(proxy, "c-min.test", "/text?2000", accept="br")
    assert values(headers, "Content-Encoding") == [] and body == BODY[:2000]
    status, headers, body = fetch(proxy, "c-min.test", "/text?2048", accept="br")
    assert values(headers, "Content-Encoding") == ["br"]
    assert decompress("br", body) == BODY[:2048]


def test_negotiation(proxy):
    enc = lambda host, accept, path="/text": values(fetch(proxy, host, path, accept=accept)[1], "Content-Encoding")  # noqa: E731
    assert enc("c.test", "br;q=0.8, gzip;q=0.6") == ["br"]
    assert enc("c.test", "gzip;q=1.0, br;q=0.8") == ["gzip"]
    assert enc("c.test", "zstd, br, gzip") == ["gzip"]  # equal weights: configured order
    assert enc("c-br-first.test", "zstd, br, gzip") == ["br"]
    assert enc("c.test", "gzip;q=0, zstd") == ["zstd"]
    assert enc("c.test", "identity") == []
    assert enc("c.test", "deflate") == []
    # "*" picks the first encoding, gzip, which gzhttp only applies when "gzip" is listed.
    assert enc("c.test", "*") == []
    assert enc("c-br-first.test", "*") == ["br"]
    # No Accept-Encoding (curl sends none; http.client would send "identity"): nothing, not
    # even Vary; defaultEncoding applies then.
    status, headers, body = get(proxy, "c.test", "/text")
    assert body == BODY and "vary" not in headers and "content-encoding" not in headers
    status, headers, body = get(proxy, "c-default-br.test", "/text")
    assert headers.get("content-encoding") == "br"
    assert decompress("br", body) == BODY
    # An explicit "identity" is not replaced by the default.
    status, headers, body = fetch(proxy, "c-default-br.test", "/text", accept="identity")
    assert body == BODY and values(headers, "Content-Encoding") == []


def test_what_is_never_compressed(proxy):
    # Already encoded by the upstream: passed through untouched.
    status, headers, body = fetch(proxy, "c.test", "/encoded", accept="gzip")
    assert body == b"already-encoded" * 200
    assert values(headers, "Content-Encoding") == ["gzip"]
    # gRPC responses, and requests that are themselves gRPC.
    status, headers, body = fetch(proxy, "c.test", "/grpc", accept="gzip")
    assert body == BODY and values(headers, "Content-Encoding") == []
    status, headers, body = fetch(proxy, "c.test", "/text", accept="gzip",
                                  headers={"Content-Type": "application/grpc"})
    assert body == BODY and values(headers, "Content-Encoding") == [] and values(headers, "Vary") == []
    # HEAD passes through.
    status, headers, body = fetch(proxy, "c.test", "/text", accept="gzip", method="HEAD")
    assert status == 200 and body == b""
    assert values(headers, "Content-Encoding") == [] and values(headers, "Vary") == []
    assert values(headers, "Content-Length") == [str(len(BODY))]
    # No body.
    status, headers, body = fetch(proxy, "c.test", "/empty", accept="gzip")
    assert status == 204 and values(headers, "Content-Encoding") == []
    # gzip sniffs a missing Content-Type (octet-stream is not excluded; text is compressed).
    status, headers, body = fetch(proxy, "c.test", "/notype", accept="gzip")
    assert values(headers, "Content-Encoding") == ["gzip"] and decompress("gzip", body) == BODY
    assert values(headers, "Content-Type") == []  # sniffed for the filter, not added


def test_content_type_filters(proxy):
    status, headers, body = fetch(proxy, "c-excluded.test", "/text", accept="zstd")
    assert body == BODY and values(headers, "Content-Encoding") == []
    status, headers, body = fetch(proxy, "c-excluded.test", "/json", accept="zstd")
    assert values(headers, "Content-Encoding") == ["zstd"]
    status, headers, body = fetch(proxy, "c-included.test", "/text", accept="gzip")
    assert body == BODY and values(headers, "Content-Encoding") == []
    status, headers, body = fetch(proxy, "c-included.test", "/json", accept="gzip")
    assert values(headers, "Content-Encoding") == ["gzip"] and decompress("gzip", body) == BODY
    # The upstream's own Vary is kept next to ours.
    status, headers, body = fetch(proxy, "c.test", "/vary", accept="br")
    assert values(headers, "Vary") == ["Accept-Encoding", "Origin"]


def test_invalid_configurations_disable_the_router(proxy):
    assert fetch(proxy, "c-both.test", "/text", accept="gzip")[0] == 404
    assert fetch(proxy, "c-bad-encoding.test", "/text", accept="gzip")[0] == 404
    assert fetch(proxy, "c.test", "/text", accept="gzip")[0] == 200


class ChunkedReader:
    """Reads a chunked HTTP/1.1 response from a socket, one chunk at a time."""

    def __init__(self, sock, timeout=5.0):
        self.sock = sock
        self.buf = b""
        sock.settimeout(timeout)

    def _need(self, n):
        while len(self.buf) < n:
            data = self.sock.recv(65536)
            assert data, "connection closed"
            self.buf += data

    def head(self):
        while b"\r\n\r\n" not in self.buf:
            self._need(len(self.buf) + 1)
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        return head

    def chunk(self):
        """The next chunk's data, or None after the last chunk."""
        while b"\r\n" not in self.buf:
            self._need(len(self.buf) + 1)
        line, _, self.buf = self.buf.partition(b"\r\n")
        size = int(line.split(b";")[0], 16)
        self._need(size + 2)
        data, self.buf = self.buf[:size], self.buf[size + 2:]
        return data if size else None


def test_server_sent_events_stream_one_by_one(start_upstream, start_causeway):
    second = threading.Event()

    def events(req):
        if req.path != "/events":
            return Reply(200, b"ok")

        def gen():
            yield b"data: first\n\n"
            assert second.wait(10)
            yield b"data: second\n\n"
        return Reply(200, headers={"Content-Type": "text/event-stream"}, chunks=gen())

    up = start_upstream(events)
    cw = start(start_causeway, up.url, middlewares={"c": {"compress": {}}}, routers={"sse": ("Host(`sse.test`)", ["c"])})
    with socket.create_connection(("127.0.0.1", cw.port("web"))) as s:
        s.sendall(b"GET /events HTTP/1.1\r\nHost: sse.test\r\nAccept-Encoding: gzip\r\n\r\n")
        reader = ChunkedReader(s)
        head = reader.head()
        assert b"Content-Encoding: gzip" in head
        dec = zlib.decompressobj(wbits=31)
        decoded = b""
        # The first event is readable while the upstream still holds the second one back.
        while b"data: first\n\n" not in decoded:
            data = reader.chunk()
            assert data is not None, decoded
            decoded += dec.decompress(data)
        assert decoded == b"data: first\n\n"
        assert up.count("/events") == 1
        second.set()
        while (data := reader.chunk()) is not None:
            decoded += dec.decompress(data)
        assert decoded == b"data: first\n\ndata: second\n\n"
        assert dec.eof


@pytest.mark.parametrize("encoding,mib", [("zstd", 96), ("br", 24), ("gzip", 24)])
def test_large_streamed_body_bounded_memory(start_upstream, start_causeway, encoding, mib):
    block = text(65536, seed=7)

    def big(req):
        return Reply(200, headers={"Content-Type": "text/plain"}, chunks=(block for _ in range(mib * 16)))

    up = start_upstream(big)
    cw = start(start_causeway, up.url, middlewares={"c": {"compress": {}}}, routers={"big": ("Host(`big.test`)", ["c"])})
    expected = hashlib.sha256()
    for _ in range(mib * 16):
        expected.update(block)
    base = rss_kib(cw.pid)
    peak = base
    curl = subprocess.Popen(["curl", "-sS", "--max-time", "60", "-H", "Host: big.test", "-H", f"Accept-Encoding: {encoding}",
                             cw.url("web", "/big")], stdout=subprocess.PIPE)
    dec = subprocess.Popen(TOOLS[encoding], stdin=curl.stdout, stdout=subprocess.PIPE)
    curl.stdout.close()
    got = hashlib.sha256()
    total = 0
    while True:
        data = dec.stdout.read(1 << 20)
        if not data:
            break
        got.update(data)
        total += len(data)
        peak = max(peak, rss_kib(cw.pid))
    assert dec.wait(30) == 0 and curl.wait(30) == 0
    assert total == mib << 20
    assert got.hexdigest() == expected.hexdigest()
    assert peak - base < 32 * 1024, f"RSS grew by {peak - base} KiB"
