"""contentType: a missing Content-Type is set by sniffing the body (Go's
http.DetectContentType); Traefik v3 does not sniff without this middleware.

Reference: docs/compatibility.md (middleware ContentType)."""
import gzip

import pytest

from harness import ScriptedUpstream, parse_head
from mwkit import request, start, values, wait_log

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
BODIES = {
    "/html": (b"", b"  <!DOCTYPE html><html><body>hi</body></html>"),
    "/png": (b"", PNG),
    "/text": (b"", "plain text with \u2603".encode()),
    "/binary": (b"", b"\x00\x01\x02\x03binary"),
    "/json": (b"Content-Type: application/json\r\n", b"<html>not sniffed</html>"),
    "/gzip": (b"Content-Encoding: gzip\r\n", gzip.compress(b"<html>x</html>")),
    "/empty": (b"", b""),
    "/pdf": (b"", b"%PDF-1.7 ..."),
    "/": (b"Content-Type: text/plain\r\n", b"ready"),
}


def backend(conn, head, rest, upstream, index):
    line, _ = parse_head(head)
    path = line.split(" ")[1]
    if path == "/chunked":
        # Go sniffs what the first write holds: the first piece read from the upstream.
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"c\r\n<html><body>\r\n")
        conn.sendall(b"6\r\nx</bod\r\n4\r\ny>..\r\n0\r\n\r\n")
        return
    if path == "/nocontent":
        conn.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")
        return
    extra, body = BODIES[path]
    conn.sendall(b"HTTP/1.1 200 OK\r\n" + extra + b"Content-Length: %d\r\n\r\n" % len(body) + body)


@pytest.fixture
def upstream():
    up = ScriptedUpstream(backend)
    yield up
    up.stop()


def test_sniffs_missing_content_type(start_causeway, upstream):
    cw = start(start_causeway, upstream.url, middlewares={
        "sniff": {"contentType": {}},
        "legacy": {"contentType": {"autoDetect": True}},
        "off": {"contentType": {"autoDetect": False}},
    }, routers={"s": ("Host(`s.test`)", ["sniff"]), "l": ("Host(`l.test`)", ["legacy"]),
                "o": ("Host(`o.test`)", ["off"]), "n": ("Host(`n.test`)", [])})
    expected = {
        "/html": "text/html; charset=utf-8",
        "/png": "image/png",
        "/text": "text/plain; charset=utf-8",
        "/binary": "application/octet-stream",
        "/json": "application/json",
        "/pdf": "application/pdf",
    }
    for path, content_type in expected.items():
        status, headers, body = request(cw, "s.test", path=path)
        assert status == 200
        assert values(headers, "Content-Type") == [content_type], path
        assert body == BODIES[path][1]
    for path in ["/gzip", "/empty"]:
        status, headers, body = request(cw, "s.test", path=path)
        assert status == 200
        assert values(headers, "Content-Type") == [], path
        assert body == BODIES[path][1]
    status, headers, body = request(cw, "s.test", path="/chunked")
    assert values(headers, "Content-Type") == ["text/html; charset=utf-8"]
    assert body == b"<html><body>x</body>.."
    status, headers, _ = request(cw, "s.test", path="/nocontent")
    assert status == 204 and values(headers, "Content-Type") == []
    assert values(request(cw, "l.test", path="/png")[1], "Content-Type") == ["image/png"]
    # Without the middleware, or with autoDetect: false, nothing is sniffed (Traefik v3).
    assert values(request(cw, "n.test", path="/html")[1], "Content-Type") == []
    assert values(request(cw, "o.test", path="/html")[1], "Content-Type") == []
    wait_log(cw, "AutoDetect option is deprecated")


def test_head_request_is_not_sniffed(start_causeway, upstream):
    cw = start(start_causeway, upstream.url, middlewares={"sniff": {"contentType": {}}},
               routers={"s": ("Host(`s.test`)", ["sniff"])})
    status, headers, body = request(cw, "s.test", path="/html", method="HEAD")
    assert status == 200 and body == b""
    assert values(headers, "Content-Type") == []
