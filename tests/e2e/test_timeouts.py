"""entryPoints.<name>.transport: respondingTimeouts (idleTimeout, readTimeout) and
keepAliveMaxRequests (Traefik §1.2; reliability §5 L01, L08).
"""
import http.client
import socket
import threading
import time

from harness import parse_head, wait_until


def route(url, host="app.test"):
    return f"""http:
  routers:
    app:
      rule: "Host(`{host}`)"
      service: app
  services:
    app:
      loadBalancer:
        servers:
          - url: "{url}"
"""


def transport(**timeouts):
    """transport YAML: respondingTimeouts from keyword args, keepAliveMaxRequests apart."""
    lines = ["transport:"]
    max_requests = timeouts.pop("keepAliveMaxRequests", None)
    if timeouts:
        lines.append("  respondingTimeouts:")
        lines += [f"    {k}: {v}" for k, v in timeouts.items()]
    if max_requests is not None:
        lines.append(f"  keepAliveMaxRequests: {max_requests}")
    return "\n".join(lines)


def start(start_whoami, start_causeway, **options):
    whoami = start_whoami("app")
    cw = start_causeway(dynamic={"a.yml": route(whoami.url)}, entrypoint_extra={"web": transport(**options)})

    def ok():
        conn = http.client.HTTPConnection("127.0.0.1", cw.port(), timeout=5)
        try:
            conn.request("GET", "/", headers={"Host": "app.test"})
            return conn.getresponse().status == 200
        finally:
            conn.close()
    wait_until(ok, message="the route")
    return cw


def read_response(sock, buf=b""):
    """Reads one Content-Length response: (status line, fields, body, leftover)."""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            raise EOFError(f"closed before a response head ({buf!r})")
        buf += data
    head, _, rest = buf.partition(b"\r\n\r\n")
    status, fields = parse_head(head + b"\r\n\r\n")
    length = int(fields.get("content-length", ["0"])[0])
    while len(rest) < length:
        data = sock.recv(65536)
        if not data:
            raise EOFError("closed inside a response body")
        rest += data
    return status, fields, rest[:length], rest[length:]


def wait_closed(sock, timeout):
    """Seconds until the peer closes (EOF or reset), or None if it stays open for `timeout`.
    Returns (seconds, bytes received before the close)."""
    start = time.monotonic()
    sock.settimeout(timeout)
    got = b""
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return time.monotonic() - start, got
            got += data
    except socket.timeout:
        return None, got
    except (ConnectionResetError, BrokenPipeError):
        return time.monotonic() - start, got


def test_idle_keep_alive_connection_is_closed_after_idle_timeout(start_whoami, start_causeway):
    cw = start(start_whoami, start_causeway, idleTimeout="1s")
    with socket.create_connection(("127.0.0.1", cw.port()), timeout=5) as s:
        # Two requests within the idle timeout keep the connection.
        for _ in range(2):
            s.sendall(b"GET / HTTP/1.1\r\nHost: app.test\r\n\r\n")
            status, fields, body, rest = read_response(s)
            assert status.startswith("HTTP/1.1 200") and b"Name: app" in body
            assert "close" not in fields.get("connection", [""])[0].lower()
            time.sleep(0.5)
        # Still open at 0.5 s of idleness (checked above); closed soon after 1 s.
        closed_after, got = wait_closed(s, 5)
    assert closed_after is not None, "the idle connection was never closed"
    assert got == b"", got[:200]
    assert 0.3 <= closed_after <= 1.5, f"closed after {closed_after + 0.5:.2f}s of idleness, expected ~1s"


def test_a_connection_idle_past_the_buffer_release_serves_and_still_times_out(start_whoami, start_causeway):
    # After 1 s of idleness a plain keep-alive connection gives its buffers back and waits
    # without one (h1_connection.h, kIdleRelease): the next request, even one sent in pieces, is
    # served, and the idle timeout still closes the connection when it was due.
    cw = start(start_whoami, start_causeway, idleTimeout="3s")
    with socket.create_connection(("127.0.0.1", cw.port()), timeout=10) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: app.test\r\n\r\n")
        assert read_response(s)[0].startswith("HTTP/1.1 200")
        time.sleep(1.6)  # past the release
        for piece in (b"GET / HTTP/1.1\r\n", b"Host: app.test\r\n", b"\r\n"):
            s.sendall(piece)
            time.sleep(0.05)
        status, fields, body, rest = read_response(s)
        assert status.startswith("HTTP/1.1 200") and b"Name: app" in body
        time.sleep(1.6)  # released again; pipelined requests after it
        s.sendall(b"GET / HTTP/1.1\r\nHost: app.test\r\n\r\n" * 2)
        first = read_response(s)
        assert first[0].startswith("HTTP/1.1 200")
        second = read_response(s, first[3])
        assert second[0].startswith("HTTP/1.1 200") and second[3] == b""
        closed_after, got = wait_closed(s, 6)
    assert closed_after is not None, "the idle connection was never closed"
    assert got == b"", got[:200]
    assert 2.5 <= closed_after <= 4.0, f"closed after {closed_after:.2f}s of idleness, expected ~3s"


def test_half_sent_request_head_is_dropped_after_read_timeout(start_whoami, start_causeway):
    cw = start(start_whoami, start_causeway, readTimeout="1s")
    with socket.create_connection(("127.0.0.1", cw.port()), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: app.test\r\nX-Slow: ")
        closed_after, got = wait_closed(s, 5)
    assert closed_after is not None, "a stalled request head kept its connection past readTimeout"
    assert 0.8 <= closed_after <= 2.0, f"closed after {closed_after:.2f}s, expected ~1s"
    # Closed silently (as Go does on a read timeout) or with a 408, never with a routed answer.
    assert got == b"" or got.startswith(b"HTTP/1.1 408"), got[:200]


def test_slowloris_does_not_block_normal_requests(start_whoami, start_causeway):
    cw = start(start_whoami, start_causeway, readTimeout="2s")
    stop = threading.Event()
    opened = []
    closed_at = {}
    lock = threading.Lock()

    def trickle(i):
        s = socket.create_connection(("127.0.0.1", cw.port()), timeout=5)
        started = time.monotonic()
        with lock:
            opened.append(s)
        try:
            s.sendall(b"GET / HTTP/1.1\r\nHost: app.test\r\n")
            n = 0
            while not stop.is_set():
                # One header byte every 100 ms: the head never completes.
                s.sendall(b"X-%d: " % n if n % 8 == 0 else b"a")
                n += 1
                stop.wait(0.1)
        except OSError:
            with lock:
                closed_at[i] = time.monotonic() - started
        finally:
            s.close()

    threads = [threading.Thread(target=trickle, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: len(opened) == 20, timeout=5, message="20 slow connections")
        time.sleep(0.3)
        # Normal requests succeed promptly during the attack.
        for _ in range(5):
            t0 = time.monotonic()
            conn = http.client.HTTPConnection("127.0.0.1", cw.port(), timeout=5)
            try:
                conn.request("GET", "/", headers={"Host": "app.test"})
                response = conn.getresponse()
                body = response.read()
            finally:
                conn.close()
            assert response.status == 200 and b"Name: app" in body
            assert time.monotonic() - t0 < 1.0
        # readTimeout covers the whole head: trickling bytes do not extend it.
        wait_until(lambda: len(closed_at) == 20, timeout=6, message="the slow connections dropped")
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)
    assert len(closed_at) == 20
    assert all(1.5 <= v <= 3.5 for v in closed_at.values()), closed_at


def test_keep_alive_max_requests_closes_after_the_third(start_whoami, start_causeway):
    cw = start(start_whoami, start_causeway, keepAliveMaxRequests=3)
    with socket.create_connection(("127.0.0.1", cw.port()), timeout=5) as s:
        rest = b""
        for i in range(1, 4):
            s.sendall(b"GET /?n=%d HTTP/1.1\r\nHost: app.test\r\n\r\n" % i)
            status, fields, body, rest = read_response(s, rest)
            assert status.startswith("HTTP/1.1 200")
            assert b"GET /?n=%d HTTP/1.1" % i in body
            connection = fields.get("connection", [""])[0].lower()
            if i < 3:
                assert "close" not in connection, f"response {i} closes early"
            else:
                assert connection == "close", f"response 3 lacks Connection: close ({fields})"
        assert rest == b""
        closed_after, got = wait_closed(s, 3)
        assert closed_after is not None and closed_after < 1.0, "the connection stayed open after the third response"
        assert got == b""


def test_silent_new_connection_is_dropped_after_read_timeout(start_whoami, start_causeway):
    # Go's server (Traefik) arms ReadTimeout as soon as it starts reading the first request;
    # idleTimeout only applies between requests on a keep-alive connection.
    cw = start(start_whoami, start_causeway, readTimeout="1s", idleTimeout="30s")
    with socket.create_connection(("127.0.0.1", cw.port()), timeout=5) as s:
        closed_after, got = wait_closed(s, 4)
    assert closed_after is not None, "a connection that never sent a byte outlived readTimeout"
    assert 0.8 <= closed_after <= 2.0, f"closed after {closed_after:.2f}s, expected ~1s"
    assert got == b"" or got.startswith(b"HTTP/1.1 408"), got[:200]


def test_read_timeout_covers_the_request_body(start_whoami, start_causeway):
    cw = start(start_whoami, start_causeway, readTimeout="1s")
    with socket.create_connection(("127.0.0.1", cw.port()), timeout=5) as s:
        s.sendall(b"POST / HTTP/1.1\r\nHost: app.test\r\nContent-Length: 100\r\n\r\nonly a part")
        closed_after, got = wait_closed(s, 5)
    assert closed_after is not None, "a stalled request body kept its connection past readTimeout"
    assert 0.8 <= closed_after <= 2.0, f"closed after {closed_after:.2f}s, expected ~1s"
    assert not got.startswith(b"HTTP/1.1 200"), got[:200]


def test_write_timeout_covers_a_slow_upstream(start_whoami, start_causeway):
    # Traefik: writeTimeout runs from the end of the request head to the end of the response
    # write; a response that is ready later is never delivered (the connection is closed).
    cw = start(start_whoami, start_causeway, writeTimeout="1s")
    with socket.create_connection(("127.0.0.1", cw.port()), timeout=5) as s:
        s.sendall(b"GET /?wait=3s HTTP/1.1\r\nHost: app.test\r\n\r\n")
        start_at = time.monotonic()
        got, closed_after = b"", None
        s.settimeout(4.5)
        try:
            while b"\r\n\r\n" not in got:
                data = s.recv(65536)
                if not data:
                    closed_after = time.monotonic() - start_at
                    break
                got += data
        except (ConnectionResetError, socket.timeout):
            closed_after = time.monotonic() - start_at
    assert not got.startswith(b"HTTP/1.1 200"), "a response was delivered after writeTimeout"
    assert closed_after is not None and closed_after <= 3.5


def test_write_timeout_cuts_a_long_response(start_whoami, start_causeway):
    cw = start(start_whoami, start_causeway, writeTimeout="1s")
    size = 64 << 30  # far more than loopback moves in 2.5 s
    received = 0
    with socket.create_connection(("127.0.0.1", cw.port()), timeout=5) as s:
        s.sendall(b"GET /data?size=%d HTTP/1.1\r\nHost: app.test\r\n\r\n" % size)
        start_at = time.monotonic()
        ended_after = None
        buf = bytearray(1 << 20)
        try:
            while time.monotonic() - start_at < 2.5:
                n = s.recv_into(buf)
                if n == 0:
                    ended_after = time.monotonic() - start_at
                    break
                received += n
        except (ConnectionResetError, socket.timeout):
            ended_after = time.monotonic() - start_at
    assert received > 0
    assert ended_after is not None, f"still streaming 2.5s into a 1s writeTimeout ({received >> 20} MiB sent)"
    assert ended_after <= 2.0


# ---------------------------------------------------------------------------------------
# The same limits over HTTP/2 (h2c with prior knowledge): Go's HTTP/2 server applies
# readTimeout and writeTimeout per stream, idleTimeout once no stream is open, and answers a
# handler's "Connection: close" (keepAliveMaxRequests/keepAliveMaxTime) with GOAWAY
# (reliability L01–L03, L08, T09 parity).

def h2(cw):
    from h2probe import H2Client
    return H2Client(cw.port(), timeout=5)


def test_h2_idle_timeout_starts_when_the_last_stream_ends(start_whoami, start_causeway):
    cw = start(start_whoami, start_causeway, idleTimeout="1s")
    with h2(cw) as c:
        sid = c.request(authority="app.test", path="/?wait=300ms")
        r = c.wait_stream(sid)
        assert r.status == 200, r
        ended = time.monotonic()
        assert c.wait_closed(4), "an HTTP/2 connection outlived idleTimeout after its last stream"
        assert time.monotonic() - ended <= 2.5


def test_h2_read_timeout_fails_one_stalled_stream_not_the_connection(start_whoami, start_causeway):
    cw = start(start_whoami, start_causeway, readTimeout="1s")
    with h2(cw) as c:
        from h2probe import request_headers
        stalled = c.send_headers(request_headers("POST", "/", "app.test", extra=[("content-length", "100")]),
                                 end_stream=False)
        c.data(stalled, b"only a part", end_stream=False)
        started = time.monotonic()
        # Meanwhile another stream on the same connection is served.
        ok = c.request(authority="app.test", path="/?n=2")
        assert c.wait_stream(ok).status == 200
        r = c.wait_stream(stalled, timeout=5)
        assert r.done, f"a stalled request body held its stream past readTimeout: {r}"
        assert time.monotonic() - started <= 3.0
        assert r.status != 200, r
        # The connection still serves new streams.
        again = c.request(authority="app.test", path="/?n=3")
        assert c.wait_stream(again).status == 200


def test_h2_write_timeout_resets_the_stream(start_whoami, start_causeway):
    cw = start(start_whoami, start_causeway, writeTimeout="1s")
    with h2(cw) as c:
        slow = c.request(authority="app.test", path="/?wait=3s")
        started = time.monotonic()
        r = c.wait_stream(slow, timeout=5)
        assert r.reset is not None and r.status is None, f"a response was delivered after writeTimeout: {r}"
        assert time.monotonic() - started <= 2.5
        fast = c.request(authority="app.test", path="/")
        assert c.wait_stream(fast).status == 200


def test_h2_keep_alive_max_requests_sends_goaway(start_whoami, start_causeway):
    cw = start(start_whoami, start_causeway, keepAliveMaxRequests=2)
    with h2(cw) as c:
        for n in (1, 2):
            sid = c.request(authority="app.test", path=f"/?n={n}")
            r = c.wait_stream(sid)
            assert r.status == 200 and f"GET /?n={n} HTTP/1.1".encode() in r.body, r
        assert c.wait(lambda: c.goaway is not None, 3), "no GOAWAY after keepAliveMaxRequests"
        assert c.goaway.error_code == 0 and c.goaway.last_stream_id == 3
        assert c.wait_closed(3)
