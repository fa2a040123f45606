"""Bodies stream through the proxy with bounded memory (reliability R09, design "a body is a
stream of chunks with back-pressure; trailers are carried").

1 GiB each way, a slow reader, and a chunked response with trailers from a scripted upstream.
causeway's RSS is sampled throughout; growth over the baseline must stay under 16 MiB.
"""
import socket
import ssl
import threading
import time

import pytest

from harness import ScriptedUpstream, parse_head, rss_kib, to_yaml, wait_until
from tls_certs import Pki

GIB = 1 << 30
MIB = 1 << 20
RSS_BUDGET_KIB = 16 * 1024
PATTERN = b"abcdefghijklmnopqrstuvwxyz0123456789"


def route(url, host="stream.test"):
    return f"""http:
  routers:
    stream:
      rule: "Host(`{host}`)"
      service: upstream
  services:
    upstream:
      loadBalancer:
        servers:
          - url: "{url}"
"""


class RssSampler:
    """Samples a process's RSS every 20 ms in a thread; `peak` and `samples` in KiB."""

    def __init__(self, pid):
        self.pid = pid
        self.samples = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                self.samples.append(rss_kib(self.pid))
            except OSError:
                return
            self._stop.wait(0.02)

    @property
    def peak(self):
        return max(self.samples) if self.samples else 0

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def expected(offset, n):
    """The n bytes whoami's /data sends at absolute offset `offset`."""
    start = offset % len(PATTERN)
    reps = (start + n) // len(PATTERN) + 1
    return (PATTERN * reps)[start:start + n]


def read_head(sock):
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            raise EOFError(f"closed before the response head: {buf!r}")
        buf += data
    head, _, rest = buf.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n", rest


def warm_up(cw, host="stream.test"):
    """A first small request through the route (pools, buffers, snapshot) before the baseline."""
    def ok():
        with socket.create_connection(("127.0.0.1", cw.port()), timeout=5) as s:
            s.sendall(f"GET /data?size=100000 HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            return data.startswith(b"HTTP/1.1 200") and len(data.partition(b"\r\n\r\n")[2]) == 100000
    wait_until(ok, message="the route to whoami")
    time.sleep(0.2)
    return rss_kib(cw.pid)


def download(port, size, host="stream.test", check_every=1):
    """GET /data?size=N through the proxy; verifies every chunk's content against the pattern
    at its absolute offset (every `check_every`-th chunk fully, the others at their start).
    Returns the number of body bytes."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(f"GET /data?size={size} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        head, rest = read_head(s)
        status, fields = parse_head(head)
        assert status.startswith("HTTP/1.1 200"), head
        assert fields.get("content-length") == [str(size)], head
        received = 0
        buf = bytearray(4 * MIB)
        view = memoryview(buf)
        chunks = 0
        pending = rest
        while received < size:
            if pending:
                n = len(pending)
                view[:n] = pending
                pending = b""
            else:
                n = s.recv_into(view, min(len(buf), size - received))
                if n == 0:
                    break
            if chunks % check_every == 0:
                assert view[:n] == expected(received, n), f"content differs in the chunk at offset {received}"
            else:
                k = min(n, 64)
                assert view[:k] == expected(received, k), f"content differs at offset {received}"
            chunks += 1
            received += n
        return received


def test_one_gib_download_streams_with_bounded_memory(start_whoami, start_causeway):
    whoami = start_whoami("data")
    cw = start_causeway(dynamic={"a.yml": route(whoami.url)})
    baseline = warm_up(cw)
    with RssSampler(cw.pid) as rss:
        received = download(cw.port(), GIB, check_every=64)
    assert received == GIB
    growth = rss.peak - baseline
    print(f"RSS baseline {baseline} KiB, peak {rss.peak} KiB, growth {growth} KiB")
    assert growth <= RSS_BUDGET_KIB, f"RSS grew by {growth} KiB (baseline {baseline} KiB)"
    assert len(rss.samples) > 5


def upload(port, size, chunked, host="stream.test"):
    """POSTs `size` bytes to / (Content-Length or chunked); returns (head, body) of the answer."""
    block = bytes(range(256)) * (MIB // 256)
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        if chunked:
            s.sendall(f"POST / HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
            frame = b"%x\r\n" % len(block) + block + b"\r\n"
            for _ in range(size // len(block)):
                s.sendall(frame)
            s.sendall(b"0\r\n\r\n")
        else:
            s.sendall(f"POST / HTTP/1.1\r\nHost: {host}\r\nContent-Length: {size}\r\n"
                      f"Content-Type: application/octet-stream\r\n\r\n".encode())
            for _ in range(size // len(block)):
                s.sendall(block)
        return read_answer(s)


def read_answer(sock):
    """(head, body) of an answer with a Content-Length."""
    head, rest = read_head(sock)
    status, fields = parse_head(head)
    length = int(fields["content-length"][0])
    while len(rest) < length:
        data = sock.recv(65536)
        if not data:
            break
        rest += data
    return head, rest


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_one_gib_upload_streams_with_bounded_memory(start_whoami, start_causeway, framing):
    whoami = start_whoami("sink")
    cw = start_causeway(dynamic={"a.yml": route(whoami.url)})
    baseline = warm_up(cw)
    with RssSampler(cw.pid) as rss:
        head, body = upload(cw.port(), GIB, chunked=framing == "chunked")
    assert head.startswith(b"HTTP/1.1 200"), head
    assert b"Name: sink" in body
    assert b"\nBody-Length: 1073741824\n" in body, body
    if framing == "chunked":
        assert b"Transfer-Encoding: chunked" in body
    else:
        assert b"Content-Length: 1073741824" in body
    growth = rss.peak - baseline
    print(f"RSS baseline {baseline} KiB, peak {rss.peak} KiB, growth {growth} KiB")
    assert growth <= RSS_BUDGET_KIB, f"RSS grew by {growth} KiB (baseline {baseline} KiB)"


def test_tls_streams_arrive_whole_both_ways(start_whoami, start_causeway, tmp_path):
    """Bodies read from TLS, where a stream takes up to 256 KiB of records per read
    (tls/tls_stream.cpp): 128 MiB downloaded from an https upstream (a second causeway that
    terminates TLS in front of whoami), checked byte for byte, and 128 MiB uploaded over TLS."""
    size = 128 * MIB
    pki = Pki(tmp_path)
    ca = pki.ca("stream CA")
    site = pki.issue(ca, "origin.test", dns=["origin.test"], ips=["127.0.0.1"])
    data = start_whoami("data")
    origin = start_causeway(dynamic={"tls.yml": to_yaml({
        "http": {"routers": {"all": {"rule": "PathPrefix(`/`)", "service": "data", "tls": {}}},
                 "services": {"data": {"loadBalancer": {"servers": [{"url": data.url}]}}}},
        "tls": {"certificates": [{"certFile": str(site.cert), "keyFile": str(site.key)}]}}) + "\n"})
    cw = start_causeway(dynamic={"a.yml": to_yaml({
        "http": {"routers": {"stream": {"rule": "Host(`stream.test`)", "service": "origin"}},
                 "services": {"origin": {"loadBalancer": {
                     "servers": [{"url": f"https://127.0.0.1:{origin.port()}"}], "serversTransport": "ca"}}},
                 "serversTransports": {"ca": {"rootCAs": [str(ca.cert)], "serverName": "origin.test"}}}}) + "\n"})
    baseline = warm_up(cw)
    with RssSampler(cw.pid) as rss:
        assert download(cw.port(), size, check_every=4) == size
    growth = rss.peak - baseline
    assert growth <= RSS_BUDGET_KIB, f"RSS grew by {growth} KiB (baseline {baseline} KiB)"

    context = ssl.create_default_context(cafile=str(ca.cert))
    block = bytes(range(256)) * (MIB // 256)
    with socket.create_connection(("127.0.0.1", origin.port()), timeout=60) as raw:
        with context.wrap_socket(raw, server_hostname="origin.test") as s:
            s.sendall(f"POST / HTTP/1.1\r\nHost: origin.test\r\nContent-Length: {size}\r\n\r\n".encode())
            for _ in range(size // MIB):
                s.sendall(block)
            head, rest = read_answer(s)
    assert head.startswith(b"HTTP/1.1 200"), head
    assert f"\nBody-Length: {size}\n".encode() in rest, rest


def test_expect_100_continue_upload(start_whoami, start_causeway):
    whoami = start_whoami("sink")
    cw = start_causeway(dynamic={"a.yml": route(whoami.url)})
    warm_up(cw)
    size = 16 * MIB
    with socket.create_connection(("127.0.0.1", cw.port()), timeout=10) as s:
        s.sendall(f"POST /upload HTTP/1.1\r\nHost: stream.test\r\nContent-Length: {size}\r\n"
                  "Expect: 100-continue\r\n\r\n".encode())
        # The body is sent only once the interim answer arrives.
        head, rest = read_head(s)
        assert head.startswith(b"HTTP/1.1 100"), head
        assert rest == b""
        block = b"x" * MIB
        for _ in range(size // MIB):
            s.sendall(block)
        head, rest = read_head(s)
        status, fields = parse_head(head)
        assert status.startswith("HTTP/1.1 200"), head
        length = int(fields["content-length"][0])
        while len(rest) < length:
            rest += s.recv(65536)
    assert b"POST /upload HTTP/1.1" in rest
    assert f"\nBody-Length: {size}\n".encode() in rest


def test_slow_reader_applies_back_pressure(start_whoami, start_causeway):
    whoami = start_whoami("data")
    cw = start_causeway(dynamic={"a.yml": route(whoami.url)})
    baseline = warm_up(cw)
    size = 256 * MIB
    with RssSampler(cw.pid) as rss:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        s.settimeout(10)
        s.connect(("127.0.0.1", cw.port()))
        try:
            s.sendall(f"GET /data?size={size} HTTP/1.1\r\nHost: stream.test\r\n\r\n".encode())
            head, rest = read_head(s)
            assert head.startswith(b"HTTP/1.1 200"), head
            received = len(rest)
            assert rest == expected(0, len(rest))
            # 64 KiB/s for 4 s: 16 KiB every 250 ms.
            start = time.monotonic()
            while time.monotonic() - start < 4.0:
                data = s.recv(16 * 1024)
                assert data, "the proxy closed the connection of a slow reader"
                assert data == expected(received, len(data)), f"content differs at offset {received}"
                received += len(data)
                time.sleep(0.25)
            mid_rss = rss_kib(cw.pid)
        finally:
            s.close()
    assert received < 8 * MIB  # the client really read slowly
    growth = rss.peak - baseline
    print(f"RSS baseline {baseline} KiB, peak {rss.peak} KiB, growth {growth} KiB")
    assert growth <= RSS_BUDGET_KIB, f"RSS grew by {growth} KiB while a slow client read (baseline {baseline} KiB)"
    assert mid_rss - baseline <= RSS_BUDGET_KIB
    # The proxy still serves, and gives the memory back to normal work.
    assert download(cw.port(), 10 * MIB) == 10 * MIB


def test_chunked_response_streams_through_with_trailers(start_causeway):
    first_seen = threading.Event()

    def handler(conn, head, rest, upstream, index):
        if head.startswith(b"GET /probe "):
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            return
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n"
                     b"Trailer: X-Checksum, X-Count\r\n\r\n"
                     b"6\r\nhello \r\n")
        # The second chunk waits until the client has the first: a buffering proxy fails here.
        first_seen.wait(5)
        conn.sendall(b"6\r\nworld!\r\n" + b"3e8\r\n" + b"z" * 1000 + b"\r\n"
                     b"0\r\nX-Checksum: abc123\r\nX-Count: 3\r\n\r\n")
        time.sleep(0.5)

    upstream = ScriptedUpstream(handler)
    try:
        cw = start_causeway(dynamic={"a.yml": route(upstream.url, host="chunked.test")})
        wait_until(lambda: _probe(cw) == b"ok", message="the route")
        with socket.create_connection(("127.0.0.1", cw.port()), timeout=10) as s:
            s.sendall(b"GET /stream HTTP/1.1\r\nHost: chunked.test\r\nTE: trailers\r\n\r\n")
            head, rest = read_head(s)
            status, fields = parse_head(head)
            assert status.startswith("HTTP/1.1 200"), head
            assert fields.get("transfer-encoding") == ["chunked"], head
            assert "content-length" not in fields
            announced = {t.strip().lower() for v in fields.get("trailer", []) for t in v.split(",")}
            assert announced == {"x-checksum", "x-count"}, head

            reader = ChunkReader(s, rest)
            first = reader.chunk()
            assert first == b"hello ", "the first chunk did not arrive before the upstream sent more"
            first_seen.set()
            body = first
            while True:
                data = reader.chunk()
                if not data:
                    break
                body += data
            trailers = reader.trailers()
            assert body == b"hello world!" + b"z" * 1000
            assert trailers.get("x-checksum") == "abc123", trailers
            assert trailers.get("x-count") == "3", trailers
    finally:
        first_seen.set()
        upstream.stop()


def _probe(cw):
    with socket.create_connection(("127.0.0.1", cw.port()), timeout=5) as s:
        s.sendall(b"GET /probe HTTP/1.1\r\nHost: chunked.test\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return data.partition(b"\r\n\r\n")[2] if data.startswith(b"HTTP/1.1 200") else None


class ChunkReader:
    """Reads an HTTP/1.1 chunked body from a socket one chunk at a time."""

    def __init__(self, sock, buf=b""):
        self.sock = sock
        self.buf = bytearray(buf)

    def _line(self):
        while b"\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError(f"closed inside a chunked body ({bytes(self.buf)!r})")
            self.buf += data
        line, _, rest = bytes(self.buf).partition(b"\r\n")
        self.buf = bytearray(rest)
        return line

    def _exact(self, n):
        while len(self.buf) < n:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("closed inside a chunk")
            self.buf += data
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def chunk(self):
        """The next chunk's data; b"" at the last chunk."""
        size = int(self._line().split(b";")[0], 16)
        if size == 0:
            return b""
        data = self._exact(size)
        assert self._exact(2) == b"\r\n", "chunk not followed by CRLF"
        return data

    def trailers(self):
        fields = {}
        while True:
            line = self._line()
            if not line:
                return fields
            k, _, v = line.decode("latin-1").partition(":")
            fields[k.strip().lower()] = v.strip()
