"""Resource control and consistency under hostile clients (docs/security.md, "Hardening").

Each test is one attack from the hardening review at a small, bounded scale, asserting the
bound: RSS, file descriptors, statuses, and what the recording upstream saw. The measured
figures are printed (run with -s). Longer versions run in `make soak`.
"""
import os
import socket
import threading
import time

import pytest
from hyperframe.frame import HeadersFrame

from h2probe import REFUSED_STREAM, H2Client, block, indexed, literal, request_headers
from harness import Causeway, ScriptedUpstream, raw_request, rss_kib, to_yaml, wait_log, wait_until
from recorder import Recorder

MiB = 1024  # rss_kib() is in KiB
# `make soak` runs these with CAUSEWAY_SOAK_SCALE > 1: more attackers, same bounds.
SCALE = max(1, int(os.environ.get("CAUSEWAY_SOAK_SCALE", "1")))


def report(name, **figures):
    print(f"\n[{name}] " + ", ".join(f"{k}={v}" for k, v in figures.items()))


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


_started = []


@pytest.fixture(autouse=True)
def _stop_leftovers():
    """A failing test still stops the causeway it started (tests stop theirs on success)."""
    yield
    while _started:
        cw = _started.pop()
        if cw.proc.poll() is None:
            cw.stop()


def proxy(upstream_url, static_extra="", entrypoint_extra=None, workers=1, routers=None, middlewares=None):
    dynamic = {"http": {
        "routers": routers or {"all": {"rule": "PathPrefix(`/`)", "service": "up"}},
        "services": {"up": {"loadBalancer": {"servers": [{"url": upstream_url}]}}},
    }}
    if middlewares:
        dynamic["http"]["middlewares"] = middlewares
    cw = Causeway(dynamic={"d.yml": to_yaml(dynamic) + "\n"}, static_extra=static_extra,
                  entrypoint_extra=entrypoint_extra, workers=workers)
    _started.append(cw)
    wait_log(cw, "configuration published")
    return cw


@pytest.fixture
def rec():
    r = Recorder()
    yield r
    r.stop()


# ---------------------------------------------------------------------------------------
# 1. HPACK amplification: one indexed 4000-byte field referenced 200 times per stream, with
#    the client's window at 0 so that no response completes and every stream stays open.

def hpack_amplifier(port, streams):
    c = H2Client(port, window=0, settings={4: 0})  # SETTINGS_INITIAL_WINDOW_SIZE = 0
    c.wait_settings()
    results = []
    for i in range(streams):
        hb = block(request_headers(authority="a.test", path=f"/amp{i}"))
        if i == 0:
            hb += literal("x-amp", "a" * 4000, index=True)
        hb += indexed(62) * 199
        results.append(c.send_headers(header_block=hb))
    return c, results


def test_hpack_amplification_is_bounded(rec):
    cw = proxy(rec.url, static_extra="limits:\n  requestHeadMemory: 8388608\n")
    rss0 = rss_kib(cw.pid)
    clients = [hpack_amplifier(cw.port(), 20) for _ in range(10 * SCALE)]
    for c, sids in clients:
        c.wait(lambda: all(c.streams[s].headers or c.streams[s].reset is not None for s in sids), timeout=10)
    rss1 = rss_kib(cw.pid)
    refused = sum(1 for c, sids in clients for s in sids if c.streams[s].reset == REFUSED_STREAM)
    answered = sum(1 for c, sids in clients for s in sids if c.streams[s].headers)
    goaways = [c.goaway for c, _ in clients if c.goaway]
    for c, _ in clients:
        c.close()
    wait_until(lambda: fd_count(cw.pid) < 40, message="connections closed")
    time.sleep(2.5)  # the workers return freed memory within a few seconds
    rss2 = rss_kib(cw.pid)
    report("HPACK amplification", decoded_offered_kib=10 * 20 * 200 * 4038 // 1024, refused=refused,
           answered=answered, rss_growth_kib=rss1 - rss0, rss_after_close_kib=rss2 - rss0)
    # Each stream decodes ~790 KiB: the 8 MiB process budget admits about ten such streams
    # at a time; the rest are refused one by one (no connection is torn down).
    assert goaways == []
    assert refused >= 150 * SCALE, refused
    assert refused + answered == 200 * SCALE
    assert rss1 - rss0 < 48 * MiB, (rss0, rss1)
    assert rss2 - rss0 < 24 * MiB, (rss0, rss2)
    # The process still serves.
    assert raw_request(cw.port(), b"GET /after HTTP/1.1\r\nHost: a\r\n\r\n").startswith(b"HTTP/1.1 200")
    cw.stop()


# ---------------------------------------------------------------------------------------
# 4. Partial request heads: many connections each send an unterminated large head.

def test_partial_heads_are_bounded_and_returned(rec):
    cw = proxy(rec.url, static_extra="limits:\n  requestHeadMemory: 16777216\n")
    rss0 = rss_kib(cw.pid)
    socks = []
    line = b"X-Pad: " + b"p" * 10000 + b"\r\n"
    head = b"GET /big HTTP/1.1\r\nHost: a\r\n" + line * 50  # ~500 KiB in 50 fields, never terminated
    for _ in range(100 * SCALE):
        s = socket.create_connection(("127.0.0.1", cw.port()), timeout=5)
        s.setblocking(False)
        socks.append(s)
    statuses = {}
    pending = {s: memoryview(head) for s in socks}
    deadline = time.time() + 20
    while pending and time.time() < deadline:
        for s in list(pending):
            try:
                n = s.send(pending[s][:65536])
                pending[s] = pending[s][n:]
                if not pending[s]:
                    del pending[s]
            except BlockingIOError:
                pass
            except OSError:
                del pending[s]  # answered and closed
        time.sleep(0.001)
    time.sleep(0.5)
    rss1 = rss_kib(cw.pid)
    for s in socks:
        s.setblocking(True)
        s.settimeout(0.5)
        try:
            data = s.recv(200)
        except OSError:
            data = b""
        status = data[9:12].decode() if data.startswith(b"HTTP/1.1 ") else "none"
        statuses[status] = statuses.get(status, 0) + 1
        s.close()
    wait_until(lambda: fd_count(cw.pid) < 40, message="connections closed")
    time.sleep(2.5)
    rss2 = rss_kib(cw.pid)
    report("partial heads", offered_kib=100 * len(head) // 1024, statuses=statuses,
           rss_growth_kib=rss1 - rss0, rss_after_close_kib=rss2 - rss0)
    # 16 MiB of budget holds ~30 heads of 500 KiB; the others were answered 431.
    assert statuses.get("431", 0) >= 50 * SCALE, statuses
    assert rss1 - rss0 < 40 * MiB, (rss0, rss1)
    assert rss2 - rss0 < 16 * MiB, (rss0, rss2)
    assert [r.target for r in rec.requests() if r.target == "/big"] == []
    assert raw_request(cw.port(), b"GET /after HTTP/1.1\r\nHost: a\r\n\r\n").startswith(b"HTTP/1.1 200")
    cw.stop()


# ---------------------------------------------------------------------------------------
# 2. A client that leaves cancels its upstream request (HTTP/1.1).

def test_client_that_leaves_cancels_the_upstream_request():
    held = []
    closed = []

    def hang(conn, head, rest, upstream, index):
        held.append(index)
        conn.settimeout(30)
        try:
            while upstream.recv(conn, index):  # never answers; returns when causeway gives up
                pass
        except OSError:
            pass
        closed.append(index)

    up = ScriptedUpstream(hang)
    cw = proxy(up.url)
    fds0 = fd_count(cw.pid)
    clients = []
    n = 20 * SCALE
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", cw.port()), timeout=5)
        s.sendall(b"GET /hang HTTP/1.1\r\nHost: a\r\n\r\n")
        clients.append(s)
    wait_until(lambda: len(held) == n, message=f"{n} requests upstream")
    time.sleep(0.3)
    for s in clients:
        s.close()
    began = time.time()
    wait_until(lambda: len(closed) == n, timeout=6, message="upstream requests abandoned")
    took = time.time() - began
    wait_until(lambda: fd_count(cw.pid) <= fds0, timeout=5, message="client sockets closed")
    report("client leaves", upstream_requests=n, abandoned=len(closed), seconds=round(took, 2),
           fds_before=fds0, fds_after=fd_count(cw.pid))
    cw.stop()
    up.stop()


def test_half_closed_pipelined_client_is_still_answered_quickly(rec):
    """A quick answer is not affected: the probe only starts after a second of waiting."""
    cw = proxy(rec.url)
    s = socket.create_connection(("127.0.0.1", cw.port()), timeout=5)
    s.sendall(b"GET /one HTTP/1.1\r\nHost: a\r\n\r\n")
    s.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    assert data.startswith(b"HTTP/1.1 200"), data[:100]
    cw.stop()


# ---------------------------------------------------------------------------------------
# 5. HTTP/2 stream limit: only the excess stream is refused; keepAliveMaxRequests is exact.

def slow_answer(conn, head, rest, upstream, index):
    time.sleep(0.5)
    body = head.split(b" ")[1]
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))


def test_h2_one_stream_over_the_limit_is_refused_alone():
    up = ScriptedUpstream(slow_answer)
    cw = proxy(up.url, entrypoint_extra={"web": "http2:\n  maxConcurrentStreams: 10"})
    c = H2Client(cw.port())
    c.wait_settings()
    assert c.server_settings.get(3) == 10, c.server_settings  # SETTINGS_MAX_CONCURRENT_STREAMS
    hb = block(request_headers(authority="a.test", path="/slow"))
    sids = [c.new_stream_id() for _ in range(11)]
    c.send_raw(b"".join(HeadersFrame(s, data=hb, flags=["END_HEADERS", "END_STREAM"]).serialize() for s in sids))
    for s in sids:
        c.streams.setdefault(s, __import__("h2probe").Stream(s))
    c.wait(lambda: all(c.streams[s].done for s in sids), timeout=10)
    statuses = [c.streams[s].status for s in sids]
    resets = [c.streams[s].reset for s in sids]
    report("h2 stream limit", statuses=statuses, resets=resets, goaway=c.goaway)
    assert c.goaway is None
    assert statuses[:10] == [200] * 10
    assert resets[10] == REFUSED_STREAM and statuses[10] is None
    # The connection goes on serving.
    assert c.wait_stream(c.request(authority="a.test", path="/next")).status == 200
    c.close()
    cw.stop()
    up.stop()


def test_h2_keepalive_max_requests_is_exact(rec):
    cw = proxy(rec.url, entrypoint_extra={"web": "transport:\n  keepAliveMaxRequests: 5"})
    c = H2Client(cw.port())
    c.wait_settings()
    hb = block(request_headers(authority="a.test", path="/ka"))
    sids = [c.new_stream_id() for _ in range(8)]
    c.send_raw(b"".join(HeadersFrame(s, data=hb, flags=["END_HEADERS", "END_STREAM"]).serialize() for s in sids))
    for s in sids:
        c.streams.setdefault(s, __import__("h2probe").Stream(s))
    c.wait(lambda: all(c.streams[s].done for s in sids) or c.closed, timeout=10)
    statuses = [c.streams[s].status for s in sids]
    report("h2 keepAliveMaxRequests=5", statuses=statuses,
           goaway_last=c.goaway and c.goaway.last_stream_id)
    assert statuses[:5] == [200] * 5
    assert all(st is None for st in statuses[5:]), statuses
    assert c.goaway is not None and c.goaway.last_stream_id == sids[4]
    assert len([r for r in rec.requests() if r.target == "/ka"]) == 5
    c.close()
    cw.stop()


# ---------------------------------------------------------------------------------------
# 7. One view of each request: a repeated single field is refused; underscore twins of the
#    fields causeway sets never reach the upstream.

@pytest.mark.parametrize("name", ["Authorization", "Proxy-Authorization", "Content-Length"])
def test_repeated_single_fields_are_refused(rec, name):
    cw = proxy(rec.url)
    value = "0" if name == "Content-Length" else "Basic dXNlcjpwYXNz"
    raw = raw_request(cw.port(), f"GET /dup HTTP/1.1\r\nHost: a\r\n{name}: {value}\r\n{name}: {value}\r\n\r\n".encode())
    assert raw.startswith(b"HTTP/1.1 400"), raw[:100]
    c = H2Client(cw.port())
    st = c.wait_stream(c.request(authority="a.test", path="/dup",
                                 headers=[(name.lower(), value), (name.lower(), value)]))
    c.close()
    assert st.status == 400 or st.reset is not None, st
    assert [r for r in rec.requests() if r.target == "/dup"] == []
    cw.stop()


def test_underscore_twin_of_a_header_causeway_sets_is_stripped(rec):
    import base64
    import hashlib
    sha = base64.b64encode(hashlib.sha1(b"secret").digest()).decode()
    cw = proxy(rec.url, routers={"all": {"rule": "PathPrefix(`/`)", "service": "up", "middlewares": ["auth"]}},
               middlewares={"auth": {"basicAuth": {"users": [f"admin:{{SHA}}{sha}"], "headerField": "X-WebAuth-User"}}})
    token = base64.b64encode(b"admin:secret").decode()
    raw = raw_request(cw.port(), (f"GET /who HTTP/1.1\r\nHost: a\r\nAuthorization: Basic {token}\r\n"
                                  "X_WebAuth_User: root\r\nx-webauth_user: root\r\n\r\n").encode())
    assert raw.startswith(b"HTTP/1.1 200"), raw[:100]
    got = [r for r in rec.requests() if r.target == "/who"][0]
    names = {k.lower(): v for k, v in got.headers}
    report("underscore twins", upstream_headers=got.headers)
    assert got.values("X-WebAuth-User") == ["admin"]
    assert not any("_" in k for k in names), got.headers
    cw.stop()


# ---------------------------------------------------------------------------------------
# 8. The same header limits on HTTP/1.1 and HTTP/2: 431 over maxHeaderCount (100).

@pytest.mark.parametrize("count", [150, 300])
def test_header_count_limit_is_the_same_on_both_protocols(rec, count):
    cw = proxy(rec.url)
    fields = "".join(f"X-F{i}: v\r\n" for i in range(count))
    raw = raw_request(cw.port(), f"GET /many HTTP/1.1\r\nHost: a\r\n{fields}\r\n".encode())
    c = H2Client(cw.port())
    st = c.wait_stream(c.request(authority="a.test", path="/many", headers=[(f"x-f{i}", "v") for i in range(count)]))
    c.close()
    report(f"{count} fields", h1=raw[:12], h2=st)
    assert raw.startswith(b"HTTP/1.1 431"), raw[:100]
    assert st.status == 431, st
    assert [r for r in rec.requests() if r.target == "/many"] == []
    cw.stop()


def test_h2_underscore_strategy_applies(rec):
    cw = proxy(rec.url, entrypoint_extra={"web": "http:\n  underscoreHeadersStrategy: reject"})
    c = H2Client(cw.port())
    st = c.wait_stream(c.request(authority="a.test", path="/us", headers=[("x_user", "root")]))
    c.close()
    raw = raw_request(cw.port(), b"GET /us HTTP/1.1\r\nHost: a\r\nX_User: root\r\n\r\n")
    assert st.status == 400, st
    assert raw.startswith(b"HTTP/1.1 400"), raw[:100]
    assert [r for r in rec.requests() if r.target == "/us"] == []
    cw.stop()


# ---------------------------------------------------------------------------------------
# 9. A broken upstream answer is a 502 while nothing has been sent.

def test_bad_chunk_size_before_any_byte_is_a_502():
    def broken(conn, head, rest, upstream, index):
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZ\r\nhello\r\n0\r\n\r\n")
        time.sleep(0.5)

    up = ScriptedUpstream(broken)
    cw = proxy(up.url)
    raw = raw_request(cw.port(), b"GET /chunk HTTP/1.1\r\nHost: a\r\n\r\n")
    report("bad chunk size", answer=raw[:40])
    assert raw.startswith(b"HTTP/1.1 502"), raw[:100]
    cw.stop()
    up.stop()


# ---------------------------------------------------------------------------------------
# 3. Reloads never publish a half-written or empty file.

def six_routers(upstream_url, tag):
    return to_yaml({"http": {
        "routers": {f"r{i}": {"rule": f"Path(`/r{i}`)", "service": "up"} for i in range(6)},
        "services": {"up": {"loadBalancer": {"servers": [{"url": upstream_url}]}}},
        "middlewares": {"tag": {"headers": {"customResponseHeaders": {"X-Tag": tag}}}},
    }}) + "\n"


class Poller:
    """GET /r0 in a loop on a keep-alive connection; counts statuses."""

    def __init__(self, port):
        import http.client
        self.port = port
        self.statuses = {}
        self.stopping = False
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping:
            self.conn.request("GET", "/r0", headers={"Host": "a"})
            r = self.conn.getresponse()
            r.read()
            self.statuses[r.status] = self.statuses.get(r.status, 0) + 1

    def stop(self):
        self.stopping = True
        self.thread.join(timeout=5)
        return self.statuses


def test_reload_waits_for_a_file_written_in_parts(rec):
    cw = Causeway(dynamic={"d.yml": six_routers(rec.url, "one")}, workers=1)
    _started.append(cw)
    wait_log(cw, "configuration published")
    poller = Poller(cw.port())
    time.sleep(0.3)
    text = six_routers(rec.url, "two")
    path = cw.dynamic_dir / "d.yml"
    for _ in range(3):
        with open(path, "w") as f:  # truncates: the first part is a valid, smaller file
            f.write(text[:len(text) // 3])
            f.flush()
            time.sleep(0.15)
            f.write(text[len(text) // 3:])
        time.sleep(0.6)
    statuses = poller.stop()
    report("file written in parts", statuses=statuses)
    assert set(statuses) == {200}, statuses
    cw.stop()


def test_empty_or_shrunk_file_keeps_the_last_good_configuration(rec):
    cw = Causeway(dynamic={"d.yml": six_routers(rec.url, "one")}, workers=1)
    _started.append(cw)
    wait_log(cw, "configuration published")
    assert raw_request(cw.port(), b"GET /r5 HTTP/1.1\r\nHost: a\r\n\r\n").startswith(b"HTTP/1.1 200")
    cw.write("d.yml", "")
    wait_log(cw, "configuration change held back: it would drop 6 of 6 routers")
    assert raw_request(cw.port(), b"GET /r5 HTTP/1.1\r\nHost: a\r\n\r\n").startswith(b"HTTP/1.1 200")
    one = to_yaml({"http": {"routers": {"r0": {"rule": "Path(`/r0`)", "service": "up"}},
                            "services": {"up": {"loadBalancer": {"servers": [{"url": rec.url}]}}}}}) + "\n"
    cw.write("d.yml", one)
    wait_log(cw, "it would drop 5 of 6 routers")
    assert raw_request(cw.port(), b"GET /r5 HTTP/1.1\r\nHost: a\r\n\r\n").startswith(b"HTTP/1.1 200")
    # SIGHUP applies it: the operator meant it.
    os.kill(cw.pid, 1)
    wait_until(lambda: raw_request(cw.port(), b"GET /r5 HTTP/1.1\r\nHost: a\r\n\r\n").startswith(b"HTTP/1.1 404"),
               message="the shrunk configuration applied after SIGHUP")
    assert raw_request(cw.port(), b"GET /r0 HTTP/1.1\r\nHost: a\r\n\r\n").startswith(b"HTTP/1.1 200")
    cw.stop()


# ---------------------------------------------------------------------------------------
# 6. Window dribbling: initial window 1, then one-byte WINDOW_UPDATEs as fast as possible.

def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_window_dribbling_is_cheap():
    from hyperframe.frame import WindowUpdateFrame
    from h2probe import ENHANCE_YOUR_CALM

    def big(conn, head, rest, upstream, index):
        body = b"d" * 65536
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        time.sleep(5)

    up = ScriptedUpstream(big)
    cw = proxy(up.url)
    c = H2Client(cw.port(), window=1, settings={4: 1})
    c.auto_window = False
    c.wait_settings()
    sid = c.send_headers(request_headers(authority="a.test", path="/big"))
    c.wait(lambda: c.streams[sid].headers is not None, timeout=5)
    cpu0 = cpu_seconds(cw.pid)
    updates = 0
    began = time.time()
    one = WindowUpdateFrame(sid, window_increment=1).serialize() + WindowUpdateFrame(0, window_increment=1).serialize()
    try:
        while time.time() - began < 3 and not c.closed:
            c.send_raw(one * 100)
            updates += 100
            c.pump(0)
    except OSError:
        pass
    c.wait(lambda: c.closed or c.goaway is not None, timeout=3)
    cpu1 = cpu_seconds(cw.pid)
    data_frames = sum(1 for kind, s, _ in c.received if kind == "DataFrame" and s == sid)
    report("window dribbling", updates_sent=updates, data_frames=data_frames,
           body_bytes=len(c.streams[sid].body), goaway=c.goaway and c.goaway.error_code, cpu_s=round(cpu1 - cpu0, 3))
    # Tiny updates share a budget (1000, then 100 a second): the connection is told to calm down.
    assert c.goaway is not None and c.goaway.error_code == ENHANCE_YOUR_CALM, c.goaway
    assert data_frames <= 1200, data_frames
    assert cpu1 - cpu0 < 1.0, cpu1 - cpu0
    c.close()
    cw.stop()
    up.stop()


# ---------------------------------------------------------------------------------------
# 10. Safer defaults past Traefik's, each an option.

def test_send_timeout_closes_clients_that_stop_reading():
    body = b"z" * (10 << 20)

    def large(conn, head, rest, upstream, index):
        try:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        except OSError:
            pass

    up = ScriptedUpstream(large)
    cw = proxy(up.url, entrypoint_extra={"web": "transport:\n  respondingTimeouts:\n    sendTimeout: 1s"})
    fds0 = fd_count(cw.pid)
    readers = []
    for _ in range(10):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", cw.port()))
        s.sendall(b"GET /large HTTP/1.1\r\nHost: a\r\n\r\n")
        readers.append(s)
    c = H2Client(cw.port(), rcvbuf=4096)  # a 16 MiB window: the socket, not flow control, stalls
    c.send_headers(request_headers(authority="a.test", path="/large"))
    wait_until(lambda: len(up.requests) == 11, message="11 downloads started")
    peak = fd_count(cw.pid)
    began = time.time()
    wait_until(lambda: fd_count(cw.pid) <= fds0, timeout=8,
               message=f"stalled connections closed (fds {fds0} before, {peak} at peak)")
    report("sendTimeout 1s", fds_before=fds0, fds_peak=peak, closed_after_s=round(time.time() - began, 2))
    for s in readers:
        s.close()
    c.close()
    cw.stop()
    up.stop()


def test_send_timeout_resets_h2_streams_whose_window_stays_shut():
    body = b"z" * (1 << 20)
    gone = []

    def large(conn, head, rest, upstream, index):
        try:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            conn.settimeout(10)
            while upstream.recv(conn, index):
                pass
        except OSError:
            pass
        gone.append(index)

    up = ScriptedUpstream(large)
    cw = proxy(up.url, entrypoint_extra={"web": "transport:\n  respondingTimeouts:\n    sendTimeout: 1s"})
    c = H2Client(cw.port(), window=0, settings={4: 0})  # no window: not a byte of DATA may be sent
    c.auto_window = False
    c.wait_settings()
    sid = c.send_headers(request_headers(authority="a.test", path="/large"))
    began = time.time()
    c.wait(lambda: c.streams[sid].reset is not None, timeout=6)
    took = time.time() - began
    report("h2 window shut, sendTimeout 1s", reset=c.streams[sid].reset, seconds=round(took, 2))
    assert c.streams[sid].reset is not None and took < 4, (c.streams[sid], took)
    wait_until(lambda: gone, timeout=5, message="upstream connection released")
    c.close()
    cw.stop()
    up.stop()


def test_max_connections_pauses_accepting(rec):
    cw = proxy(rec.url, entrypoint_extra={"web": "transport:\n  maxConnections: 4"})
    first = [socket.create_connection(("127.0.0.1", cw.port()), timeout=5) for _ in range(4)]
    for s in first:
        s.sendall(b"GET /first HTTP/1.1\r\nHost: a\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 200")
    late = socket.create_connection(("127.0.0.1", cw.port()), timeout=5)  # in the backlog
    late.sendall(b"GET /late HTTP/1.1\r\nHost: a\r\n\r\n")
    late.settimeout(0.7)
    with pytest.raises(socket.timeout):
        late.recv(100)
    first[0].close()
    late.settimeout(5)
    assert late.recv(100).startswith(b"HTTP/1.1 200")
    assert "entryPoint at maxConnections" in cw.output()
    for s in first[1:] + [late]:
        s.close()
    cw.stop()


def test_small_bodies_are_read_before_the_upstream_is_used():
    connections = []

    def answer(conn, head, rest, upstream, index):
        connections.append(index)
        length = int([l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0].split(b":")[1])
        while len(rest) < length:
            rest += upstream.recv(conn, index)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    up = ScriptedUpstream(answer)
    cw = proxy(up.url)
    slow = []
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", cw.port()), timeout=5)
        s.sendall(b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n" + b"u" * 10)
        slow.append(s)
    time.sleep(1)
    held = len(connections)
    for s in slow:
        s.sendall(b"u" * 990)
    answers = [s.recv(100) for s in slow]
    report("slow uploads", upstream_connections_while_uploading=held, answered=len(answers))
    assert held == 0, held
    assert all(a.startswith(b"HTTP/1.1 200") for a in answers), answers[:3]
    # Over the prefetch size the body streams as before (the upstream sees the head at once).
    big = socket.create_connection(("127.0.0.1", cw.port()), timeout=5)
    big.sendall(b"POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n" + b"b" * 10)
    wait_until(lambda: any(b"/big" in r for r in up.requests), message="large body streamed")
    big.close()
    for s in slow:
        s.close()
    cw.stop()
    up.stop()


def test_accept_failures_are_logged_at_a_bounded_rate(rec):
    import subprocess
    cw = proxy(rec.url, workers=2)
    subprocess.run(["prlimit", f"--pid={cw.pid}", "--nofile=48:48"], check=True)
    socks = []
    for _ in range(80):
        try:
            socks.append(socket.create_connection(("127.0.0.1", cw.port()), timeout=2))
        except OSError:
            break
    time.sleep(3)
    lines = [l for l in cw.output().splitlines() if "accept failed" in l]
    report("EMFILE storm", connections=len(socks), accept_failed_lines=len(lines))
    assert 1 <= len(lines) <= 2, lines
    for s in socks:
        s.close()
    cw.stop()
