"""buffering: request and response size limits (413 / 500), requests spilled to disk past
memRequestBodyBytes with bounded memory, chunked requests forwarded with Content-Length, and
retryExpression replaying the buffered request.

Reference: docs/compatibility.md (middleware Buffering); Traefik pkg/middlewares/buffering on vulcand/oxy
buffer and mailgun/multibuf."""
import hashlib
import http.client
import threading

import pytest

from harness import free_port, rss_kib
from mw_upstream import Reply, start_upstream  # noqa: F401 (fixture)
from mwkit import request, start, values

MIB = 1 << 20


def echo(req):
    """Answers with the size and SHA-256 of the body it got, and how it was framed."""
    if req.path == "/big":
        n = int(req.query or "0")
        return Reply(200, b"x" * n, {"Content-Type": "text/plain"})
    framing = "chunked" if req.header("Transfer-Encoding") else f"length={req.header('Content-Length')}"
    digest = hashlib.sha256(req.body).hexdigest()
    return Reply(200, f"{len(req.body)} {digest} {framing}".encode(), {"Content-Type": "text/plain"})


@pytest.fixture
def proxy(start_upstream, start_causeway):
    up = start_upstream(echo)
    cw = start(start_causeway, up.url, middlewares={
        "limits": {"buffering": {"maxRequestBodyBytes": 1000, "maxResponseBodyBytes": 2000}},
        "plain": {"buffering": {}},
        "negative": {"buffering": {"maxRequestBodyBytes": -1}},
        "bad-retry": {"buffering": {"retryExpression": "Attempts() > 1.5"}},
    }, routers={"limits": ("Host(`limits.test`)", ["limits"]), "plain": ("Host(`plain.test`)", ["plain"]),
                "negative": ("Host(`negative.test`)", ["negative"]), "bad": ("Host(`bad.test`)", ["bad-retry"])})
    cw.upstream = up
    return cw


def chunked_post(cw, host, pieces, path="/"):
    conn = http.client.HTTPConnection("127.0.0.1", cw.port("web"), timeout=60)
    try:
        conn.putrequest("POST", path, skip_host=True)
        conn.putheader("Host", host)
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        for piece in pieces:
            conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
        conn.send(b"0\r\n\r\n")
        resp = conn.getresponse()
        return resp.status, resp.getheaders(), resp.read()
    finally:
        conn.close()


def test_request_size_limit(proxy):
    status, headers, body = request(proxy, "limits.test", method="POST", body=b"a" * 1001)
    assert (status, body) == (413, b"Request Entity Too Large")
    assert values(headers, "Content-Type") == []
    status, _, body = request(proxy, "limits.test", method="POST", body=b"a" * 1000)
    assert status == 200
    assert body.startswith(b"1000 ")
    # Without Content-Length the limit is counted while reading.
    status, _, body = chunked_post(proxy, "limits.test", [b"b" * 600, b"b" * 600])
    assert (status, body) == (413, b"Request Entity Too Large")
    assert all(len(r.body) <= 1000 for r in proxy.upstream.requests)


def test_chunked_request_is_forwarded_with_content_length(proxy):
    pieces = [b"%05d" % i for i in range(300)]
    data = b"".join(pieces)
    status, _, body = chunked_post(proxy, "plain.test", pieces)
    assert status == 200
    assert body == f"{len(data)} {hashlib.sha256(data).hexdigest()} length={len(data)}".encode()
    status, _, body = chunked_post(proxy, "plain.test", [])
    assert status == 200 and body.startswith(b"0 ")


def test_response_size_limit(proxy):
    status, headers, body = request(proxy, "limits.test", "/big?2001")
    assert (status, body) == (500, b"Internal Server Error")
    assert values(headers, "Content-Type") == []
    status, headers, body = request(proxy, "limits.test", "/big?2000")
    assert (status, body) == (200, b"x" * 2000)
    assert values(headers, "Content-Length") == ["2000"]


def test_invalid_options_disable_the_router(proxy):
    assert request(proxy, "negative.test")[0] == 404
    assert request(proxy, "bad.test")[0] == 404
    assert request(proxy, "plain.test")[0] == 200


class RssSampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            self.stop.wait(0.02)


def test_large_upload_spills_to_disk_with_bounded_memory(proxy):
    block = hashlib.sha256(b"seed").digest() * 2048  # 64 KiB
    count = 128 * 16  # 128 MiB
    expected = hashlib.sha256()
    for _ in range(count):
        expected.update(block)
    base = rss_kib(proxy.pid)
    sampler = RssSampler(proxy.pid)
    sampler.start()
    try:
        status, _, body = chunked_post(proxy, "plain.test", (block for _ in range(count)))
    finally:
        sampler.stop.set()
        sampler.join()
    assert status == 200
    assert body == f"{count * len(block)} {expected.hexdigest()} length={count * len(block)}".encode()
    growth = sampler.peak - base
    assert growth < 24 * 1024, f"RSS grew by {growth} KiB while buffering {count * len(block) >> 20} MiB"


def test_retry_expression_replays_the_buffered_request(start_upstream, start_causeway):
    seen = []

    def flaky(req):
        if req.path == "/":
            return Reply(200, b"ok")
        seen.append(req.body)
        return Reply(500 if len(seen) < 3 else 200, f"attempt {len(seen)}".encode())

    up = start_upstream(flaky)
    cw = start(start_causeway, up.url, middlewares={
        "retry": {"buffering": {"retryExpression": "ResponseCode() == 500 && Attempts() < 5"}},
        "short": {"buffering": {"retryExpression": "ResponseCode() == 500 && Attempts() <= 1"}},
    }, routers={"r": ("Host(`r.test`)", ["retry"]), "s": ("Host(`s.test`)", ["short"])})
    status, _, body = request(cw, "r.test", "/x", method="POST", body=b"payload-123")
    assert (status, body) == (200, b"attempt 3")
    assert seen == [b"payload-123"] * 3
    seen.clear()
    # Attempts() counts from 1: one retry, then the second 500 is the answer.
    status, _, body = request(cw, "s.test", "/x", method="POST", body=b"p")
    assert (status, body) == (500, b"attempt 2")
    assert len(seen) == 2


def test_network_error_retry_across_servers(start_upstream, start_causeway):
    up = start_upstream(lambda req: Reply(200, b"alive"))
    dead = f"http://127.0.0.1:{free_port()}"
    cw = start(start_causeway, up.url, middlewares={
        "retry": {"buffering": {"retryExpression": "IsNetworkError() && Attempts() <= 2"}},
    }, routers={"r": {"rule": "Host(`r.test`)", "service": "pair", "middlewares": ["retry"]},
                "n": {"rule": "Host(`n.test`)", "service": "pair"}},
        services={"pair": {"loadBalancer": {"servers": [{"url": dead}, {"url": up.url}]}}})
    statuses = [request(cw, "r.test", method="POST", body=b"abc")[0] for _ in range(10)]
    assert statuses == [200] * 10
    assert [r.body for r in up.requests if r.method == "POST"] == [b"abc"] * 10
    # Without the middleware, the dead server answers 502 half of the time.
    assert 502 in [request(cw, "n.test")[0] for _ in range(6)]
