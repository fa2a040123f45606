"""HTTP/2 and TLS reliability rows not covered elsewhere (docs/security.md §2 S65, §4b F02, F06,
F07, F08, F09, F11, §6 R04, §7 T01).

S65  CONNECT over HTTP/2 (plain, with a tunnel payload) is refused and nothing reaches the
     upstream. Extended CONNECT (RFC 8441, advertised with SETTINGS_ENABLE_CONNECT_PROTOCOL; see
     test_websocket_h2.py) reaches it only as a bodiless WebSocket Upgrade, and the stream's bytes
     go nowhere unless the upstream switches protocols.
F02  MadeYouReset: requests that the server itself is made to reset (WINDOW_UPDATE 0, DATA on a
     half-closed(remote) stream) cannot put more work on the upstream than the concurrency limit.
F06  empty DATA / empty CONTINUATION frames.
F07  PRIORITY flood (many idle streams, and reshuffling a fixed set).
F08  a client that makes the server send RST_STREAM after RST_STREAM while it never reads.
F09  WINDOW_UPDATE dribble: 1-byte windows make the server send 1-byte DATA frames; the
     configured writeTimeout ends the stream.
F11  a connection that sends nothing, part of the preface, the preface, or the preface and
     SETTINGS is closed after the idle/read timeout; one that got a GOAWAY for a connection
     error and then goes silent is closed soon after (Go's http2 server: 1 s).
R04  SIGTERM with an HTTP/2 request in flight: GOAWAY, the stream completes, new streams are
     refused, the process exits within graceTimeOut.
T01  default TLS options: TLS 1.2 suites are ECDHE with AES-GCM or ChaCha20-Poly1305 only (no
     CBC, no RSA key exchange), TLS 1.0/1.1 refused, no renegotiation, no compression.

The flood tests use test_h2_floods' `target`: causeway with one worker and a canary on the same
event loop; they bound RSS growth (VmRSS) and CPU time (utime+stime) of the causeway process,
and check that a fresh connection is served afterwards. Figures are printed (run with -s).
"""
import os
import select
import signal
import socket
import subprocess
import threading
import time

import pytest
from hyperframe.frame import DataFrame, WindowUpdateFrame

from h2probe import (ERROR_NAMES, FLOW_CONTROL_ERROR, INITIAL_WINDOW_SIZE, NO_ERROR, PREFACE, PROTOCOL_ERROR,
                     REFUSED_STREAM, STREAM_CLOSED, H2Client, block, request_headers)
from harness import Causeway, ScriptedUpstream, Whoami, to_yaml, wait_until
from test_h2_floods import Canary, measure, report, target, tcp_state  # target: causeway + canary
from tls_certs import Pki, s_client

MiB = 1024  # rss_kib() is in KiB
ENABLE_CONNECT_PROTOCOL = 0x8

# Frame types and flags for frames built by hand (hyperframe is too slow for large floods).
DATA, HEADERS, PRIORITY, CONTINUATION = 0x0, 0x1, 0x2, 0x9
END_STREAM, END_HEADERS = 0x1, 0x4


def raw_frame(ftype, flags, sid, payload=b""):
    return len(payload).to_bytes(3, "big") + bytes([ftype, flags]) + (sid & 0x7FFFFFFF).to_bytes(4, "big") + payload


def priority_payload(depends_on, weight, exclusive):
    return ((depends_on & 0x7FFFFFFF) | (0x80000000 if exclusive else 0)).to_bytes(4, "big") + bytes([weight])


def fresh_connection_served(cw):
    """A normal request on a new HTTP/2 connection: (ok, stream)."""
    with H2Client(cw.port()) as c:
        s = c.wait_stream(c.request(authority="canary.test", path="/fresh"), timeout=5)
    return s.status == 200 and b"Name: canary" in bytes(s.body), s


def goaway_text(c):
    g = c.goaway
    return g and (g.last_stream_id, ERROR_NAMES.get(g.error_code, g.error_code), bytes(g.additional_data)[:80])


# ---------------------------------------------------------------------------------------
# S65 CONNECT over HTTP/2

def connect_plain(c):
    return c.send_headers([(":method", "CONNECT"), (":authority", "a.test:443")], end_stream=True), (405, 501)


def connect_tunnel(c):
    """CONNECT, then tunnel bytes that would be a request if they reached the upstream."""
    sid = c.new_stream_id()
    smuggled = b"GET /smuggled HTTP/1.1\r\nHost: a.test\r\n\r\n"
    c.send_headers([(":method", "CONNECT"), (":authority", "a.test:80")], sid=sid, end_stream=False,
                   extra=DataFrame(sid, data=smuggled).serialize())
    return sid, (405, 501)


def connect_extended(c):
    """RFC 8441 extended CONNECT to an upstream that does not switch protocols (the recorder
    answers 200), with a WebSocket frame already sent on the stream."""
    sid = c.new_stream_id()
    c.send_headers([(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "http"),
                    (":path", "/chat"), (":authority", "a.test"), ("sec-websocket-version", "13")],
                   sid=sid, end_stream=False, extra=DataFrame(sid, data=b"\x81\x05hello").serialize())
    return sid, (502,)


@pytest.mark.parametrize("send", [connect_plain, connect_tunnel, connect_extended],
                         ids=["connect", "connect-with-tunnel-data", "extended-connect"])
def test_s65_connect_over_h2_is_refused(target, send):
    start, rec = target
    cw = start()
    with H2Client(cw.port()) as c:
        settings = c.wait_settings()
        assert settings.get(ENABLE_CONNECT_PROTOCOL, 0) == 1, settings  # RFC 8441 only
        sid, statuses = send(c)
        s = c.wait_stream(sid, timeout=3)
        goaway = c.goaway is not None and c.goaway.error_code != NO_ERROR and c.goaway.last_stream_id < sid
        assert s.status in statuses or s.reset == PROTOCOL_ERROR or goaway, (s, s.headers, goaway_text(c))
        if send is connect_plain:
            # A well-formed CONNECT gets an HTTP answer (causeway: 501; reliability S65: 405).
            assert s.status in (405, 501), (s, s.headers, c.received)
        if c.goaway is None and not c.closed:
            ok = c.wait_stream(c.request(authority="canary.test", path="/after-connect"))
            assert ok.status == 200, ok
    time.sleep(0.3)
    if send is connect_extended:
        # One bodiless Upgrade request; the frame sent on the stream never reaches the upstream.
        reqs = rec.requests()
        assert [(r.method, r.target, r.framing) for r in reqs] == [("GET", "/chat", "none")], reqs
        assert reqs[0].values("Upgrade") == ["websocket"] and reqs[0].values("Sec-WebSocket-Key"), reqs[0].raw
        assert b"hello" not in rec.data_since(0)
        return
    assert rec.requests() == [] and rec.total_bytes() == 0, rec.requests()


# ---------------------------------------------------------------------------------------
# F02 MadeYouReset (CVE-2025-8671)

MYR_STREAMS = 3000


@pytest.mark.parametrize("trigger", ["window-update-0", "data-on-half-closed", "window-overflow"])
def test_f02_made_you_reset_bounded_by_concurrency(target, trigger):
    """Batches of ten valid GETs (END_STREAM), then 2 ms later a frame on each that makes the
    server reset it (WINDOW_UPDATE increment 0 → PROTOCOL_ERROR; DATA on a half-closed(remote)
    stream → STREAM_CLOSED; a WINDOW_UPDATE that overflows the stream's send window →
    FLOW_CONTROL_ERROR). The upstream holds every request until the end (or until causeway
    closes its connection, which cancels it): what it still holds is the upstream work in
    flight, which must stay within SETTINGS_MAX_CONCURRENT_STREAMS (250) although the protocol
    considers every one of those streams closed; the total is bounded as for F01."""
    start, _ = target
    release = threading.Event()
    cancelled = []  # upstream requests whose connection causeway closed before the answer

    def hold(conn, head, rest, upstream, index):
        deadline = time.time() + 15
        while not release.is_set() and time.time() < deadline:
            ready, _, _ = select.select([conn], [], [], 0.05)
            if ready and not conn.recv(1):
                cancelled.append(index)
                return
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nheld")

    upstream = ScriptedUpstream(hold)
    try:
        cw = start(upstream.url)
        with Canary(cw.port()) as canary:
            rss0, cpu0 = measure(cw)
            c = H2Client(cw.port())
            c.wait_settings()
            hb = block(request_headers(authority="a.test", path="/made-you-reset"))
            sent = 0
            began = time.time()
            try:
                while sent < MYR_STREAMS and not (c.goaway or c.closed) and time.time() - began < 8:
                    sids = [c.new_stream_id() for _ in range(10)]
                    c.send_raw(b"".join(raw_frame(HEADERS, END_HEADERS | END_STREAM, s, hb) for s in sids))
                    time.sleep(0.002)
                    if trigger == "window-update-0":
                        c.send_raw(b"".join(raw_frame(0x8, 0, s, b"\0\0\0\0") for s in sids))
                    elif trigger == "data-on-half-closed":
                        c.send_raw(b"".join(raw_frame(DATA, 0, s, b"x") for s in sids))
                    else:
                        c.send_raw(b"".join(raw_frame(0x8, 0, s, (0x7FFFFFFF).to_bytes(4, "big")) for s in sids))
                    sent += 10
                    c.pump(0)
            except OSError:
                pass
            c.wait(lambda: c.closed, timeout=1)
            elapsed = time.time() - began
            time.sleep(0.3)
            hits = len(upstream.requests)
            in_flight = hits - len(cancelled)
            rss1, cpu1 = measure(cw)
            streams = list(c.streams.values())
            server_resets = sum(1 for s in streams if s.reset in (PROTOCOL_ERROR, STREAM_CLOSED, FLOW_CONTROL_ERROR))
            refused = sum(1 for s in streams if s.reset == REFUSED_STREAM)
            goaway = goaway_text(c)
            c.close()
            report(f"F02 {trigger}", streams_sent=sent, upstream_requests=hits, upstream_in_flight=in_flight,
                   upstream_cancelled=len(cancelled), server_resets=server_resets,
                   refused=refused, goaway=goaway, rss_growth_kib=rss1 - rss0, cpu_s=round(cpu1 - cpu0, 3),
                   seconds=round(elapsed, 2))
        canary.check()
        # The invalid frames were seen as such (the attack really made the server reset streams).
        assert server_resets > 0 or (c.goaway is not None and c.goaway.error_code != NO_ERROR), streams[:5]
        assert in_flight <= 250, f"{in_flight} upstream requests in flight from one connection ({hits} in all)"
        # Work for reset streams is either cancelled or holds its slot: the total is bounded too.
        assert hits <= 1250, hits
        assert rss1 - rss0 < 16 * MiB, (rss0, rss1)
        assert cpu1 - cpu0 < 3.0, cpu1 - cpu0
    finally:
        release.set()
        upstream.stop()
    ok, s = fresh_connection_served(cw)
    assert ok, s


# ---------------------------------------------------------------------------------------
# F06 empty frames (CVE-2019-9518)

EMPTY_FRAMES = 10000


def test_f06_empty_data_frames(target):
    """An upload of 10,000 empty DATA frames (no END_STREAM), then the real body: the
    connection is closed with an error GOAWAY, or the frames cost nothing and the request
    completes with its body."""
    start, rec = target
    cw = start()
    with Canary(cw.port()) as canary:
        rss0, cpu0 = measure(cw)
        c = H2Client(cw.port())
        c.wait_settings()
        sid = c.send_headers(request_headers("POST", "/empty-data", "a.test"), end_stream=False)
        empty = raw_frame(DATA, 0, sid)
        sent = 0
        try:
            while sent < EMPTY_FRAMES and not (c.goaway or c.closed):
                c.send_raw(empty * 500)
                sent += 500
                c.pump(0)
            c.send(DataFrame(sid, data=b"done", flags=["END_STREAM"]))
        except OSError:
            pass
        s = c.wait_stream(sid, timeout=5)
        rss1, cpu1 = measure(cw)
        report("F06 data", empty_frames_sent=sent, stream=s, goaway=goaway_text(c), rss_growth_kib=rss1 - rss0,
               cpu_s=round(cpu1 - cpu0, 3))
        if c.goaway is not None or c.closed:
            assert c.goaway is None or c.goaway.error_code != NO_ERROR, goaway_text(c)
            assert c.closed or c.wait_closed(3), "GOAWAY sent but the connection stays open"
        else:
            assert s.status == 200 and bytes(s.body) == b"target=/empty-data", (s, bytes(s.body)[:100])
            assert [r.body for r in rec.requests() if r.target == "/empty-data"] == [b"done"]
        c.close()
    canary.check()
    assert rss1 - rss0 < 4 * MiB, (rss0, rss1)
    assert cpu1 - cpu0 < 1.5, cpu1 - cpu0
    ok, s = fresh_connection_served(cw)
    assert ok, s


def test_f06_empty_continuation_frames(target):
    """HEADERS without END_HEADERS, then empty CONTINUATION frames: the connection is closed
    after a small number (nothing is decoded, so no size limit would ever be reached)."""
    start, rec = target
    cw = start()
    rss0, cpu0 = measure(cw)
    c = H2Client(cw.port())
    c.wait_settings()
    sid = c.new_stream_id()
    c.send_raw(raw_frame(HEADERS, END_STREAM, sid, block(request_headers(authority="a.test", path="/empty-cont"))))
    empty = raw_frame(CONTINUATION, 0, sid)
    sent = 0
    try:
        while sent < EMPTY_FRAMES and not (c.goaway or c.closed):
            c.send_raw(empty * 100)
            sent += 100
            c.pump(0.002)
    except OSError:
        pass
    closed = c.closed or c.wait_closed(3)
    rss1, cpu1 = measure(cw)
    report("F06 continuation", empty_frames_sent=sent, closed=closed, goaway=goaway_text(c),
           rss_growth_kib=rss1 - rss0, cpu_s=round(cpu1 - cpu0, 3))
    c.close()
    assert closed, f"still open after {sent} empty CONTINUATION frames"
    assert sent <= 2000, sent
    assert rec.requests() == []
    assert rss1 - rss0 < 4 * MiB and cpu1 - cpu0 < 1.5, (rss1 - rss0, cpu1 - cpu0)
    ok, s = fresh_connection_served(cw)
    assert ok, s


# ---------------------------------------------------------------------------------------
# F07 PRIORITY flood (CVE-2019-9513)

PRIORITY_FRAMES = 10000


@pytest.mark.parametrize("pattern", ["many-idle-streams", "reshuffle"])
def test_f07_priority_flood(target, pattern):
    """10,000 PRIORITY frames: each on a new idle stream depending on an earlier one
    ("many-idle-streams"), or moving 200 idle streams around each other, half of them
    exclusive ("reshuffle"). Either GOAWAY or cheap, and the connection then still serves."""
    start, _ = target
    cw = start()
    with Canary(cw.port()) as canary:
        rss0, cpu0 = measure(cw)
        c = H2Client(cw.port())
        c.wait_settings()
        frames = []
        top = 0
        for i in range(PRIORITY_FRAMES):
            if pattern == "many-idle-streams":
                sid = 101 + 2 * i
                dep = 0 if i == 0 else 101 + 2 * ((i * 7919) % i)
            else:
                sid = 101 + 2 * (i % 200)
                dep = 101 + 2 * ((i * 37 + 11) % 200)
                if dep == sid:
                    dep = 0
            top = max(top, sid)
            frames.append(raw_frame(PRIORITY, 0, sid, priority_payload(dep, (i * 13) % 256, i % 2 == 1)))
        began = time.time()
        try:
            for i in range(0, len(frames), 500):
                c.send_raw(b"".join(frames[i:i + 500]))
                c.pump(0)
        except OSError:
            pass
        c.wait(lambda: c.closed, timeout=0.5)
        elapsed = time.time() - began
        rss1, cpu1 = measure(cw)
        survived = not c.closed and c.goaway is None
        after = None
        if survived:
            c.next_id = top + 2
            after = c.wait_stream(c.request(authority="canary.test", path="/after-priority"), timeout=5)
        report(f"F07 {pattern}", priority_frames=PRIORITY_FRAMES, goaway=goaway_text(c), survived=survived,
               rss_growth_kib=rss1 - rss0, cpu_s=round(cpu1 - cpu0, 3), seconds=round(elapsed, 2))
        c.close()
    canary.check()
    if survived:
        assert after.status == 200, (after, c.received[-5:])
    else:
        assert c.goaway is None or c.goaway.error_code != NO_ERROR, goaway_text(c)
    assert rss1 - rss0 < 8 * MiB, (rss0, rss1)
    assert cpu1 - cpu0 < 1.5, cpu1 - cpu0
    ok, s = fresh_connection_served(cw)
    assert ok, s


# ---------------------------------------------------------------------------------------
# F08 outbound RST_STREAM flood while not reading (CVE-2019-9514)

RST_FLOOD_MAX = 400_000


def test_f08_reset_flood_while_not_reading(target):
    """Each HEADERS carries an upper-case field name, so the server answers it with
    RST_STREAM(PROTOCOL_ERROR); the client's receive buffer is tiny and never read. The kernel
    buffers alone hold ~230k RST_STREAM frames on loopback, so the flood has to be a few
    hundred thousand HEADERS (bounded: 400k frames, 4 s) before the server has to queue.
    Pass: memory and CPU bounded, other clients unaffected; then, once the client reads, the
    connection ends (error GOAWAY and close within 3 s) or still serves a request."""
    start, _ = target
    cw = start()
    hb = block(request_headers(authority="a.test", path="/rst", extra=[("X-Upper", "1")]))
    with Canary(cw.port()) as canary:
        rss0, cpu0 = measure(cw)
        c = H2Client(cw.port(), rcvbuf=4096)
        c.wait_settings()
        c.sock.settimeout(1.0)
        sent = 0
        began = time.time()
        blocked = False
        try:
            while sent < RST_FLOOD_MAX and time.time() - began < 4:
                c.sock.sendall(b"".join(raw_frame(HEADERS, END_HEADERS | END_STREAM, c.new_stream_id(), hb)
                                        for _ in range(1000)))
                sent += 1000
        except (socket.timeout, OSError):
            blocked = True
        time.sleep(1.5)
        rss1, cpu1 = measure(cw)
        state = tcp_state(c.sock)
    canary.check()
    # Now read what the server sent.
    c.sock.settimeout(5)
    c.received.clear()
    c.wait(lambda: c.closed or c.goaway is not None, timeout=5)
    resets = sum(1 for f in c.received if f[0] == "RstStreamFrame")
    closed = c.closed or (c.goaway is not None and c.wait_closed(3))
    after = None
    if not closed and c.goaway is None:
        after = c.wait_stream(c.request(authority="canary.test", path="/after-rst-flood"), timeout=5)
    report("F08", headers_sent=sent, send_blocked=blocked, tcp_state=state, resets_read=resets,
           goaway=goaway_text(c), closed=closed, after=after, rss_growth_kib=rss1 - rss0,
           cpu_s=round(cpu1 - cpu0, 3))
    c.close()
    assert rss1 - rss0 < 8 * MiB, (rss0, rss1)
    assert cpu1 - cpu0 < 4.0, cpu1 - cpu0
    if c.goaway is not None:
        assert c.goaway.error_code != NO_ERROR, goaway_text(c)
        assert closed, (f"GOAWAY {goaway_text(c)} received, but the connection was still open 3 s "
                        f"after the client had read everything")
    elif not closed:
        assert after.status == 200, after
    ok, s = fresh_connection_served(cw)
    assert ok, s


# ---------------------------------------------------------------------------------------
# F09 WINDOW_UPDATE dribble (CVE-2019-9511)

def test_f09_window_update_dribble_ends_at_write_timeout(target):
    """SETTINGS_INITIAL_WINDOW_SIZE 1, a 1 MB response, then one 1-byte WINDOW_UPDATE every
    ~2 ms: each buys one 1-byte DATA frame. With writeTimeout 2s the stream must end (reset or
    connection closed) within the timeout plus 1.5 s, the server never sends more DATA frames
    than it was given window for, and the whole thing costs little CPU."""
    start, _ = target
    cw = start(entrypoint_extra={"web": "transport:\n  respondingTimeouts:\n    writeTimeout: 2s"})
    with Canary(cw.port()) as canary:
        rss0, cpu0 = measure(cw)
        c = H2Client(cw.port(), settings={INITIAL_WINDOW_SIZE: 1}, window=65535)
        c.auto_window = False
        c.wait_settings()
        began = time.monotonic()
        sid = c.request(authority="canary.test", path="/data?size=1000000")
        s = c.streams[sid]
        updates = 0
        ended_at = None
        try:
            while time.monotonic() - began < 6:
                c.pump(0.002)
                if s.done or c.closed or c.goaway is not None:
                    ended_at = time.monotonic() - began
                    break
                c.send(WindowUpdateFrame(sid, window_increment=1))
                updates += 1
                if updates % 30000 == 0:
                    c.send(WindowUpdateFrame(0, window_increment=30000))
        except OSError:
            ended_at = time.monotonic() - began
        data_frames = sum(1 for f in c.received if f[0] == "DataFrame" and f[1] == sid)
        rss1, cpu1 = measure(cw)
        report("F09", window_updates=updates, data_frames=data_frames, body_bytes=len(s.body), stream=s,
               goaway=goaway_text(c), ended_after_s=ended_at and round(ended_at, 2), rss_growth_kib=rss1 - rss0,
               cpu_s=round(cpu1 - cpu0, 3))
        c.close()
    canary.check()
    assert s.status == 200, s
    assert ended_at is not None, f"the dribbled stream was still open after 6 s ({len(s.body)} bytes sent)"
    assert ended_at <= 2 + 1.5, ended_at
    assert not s.ended and len(s.body) < 1_000_000, s  # cut short, not completed
    assert len(s.body) <= updates + 1 and data_frames <= updates + 1, (len(s.body), data_frames, updates)
    assert rss1 - rss0 < 4 * MiB, (rss0, rss1)
    assert cpu1 - cpu0 < 1.5, cpu1 - cpu0
    ok, st = fresh_connection_served(cw)
    assert ok, st


# ---------------------------------------------------------------------------------------
# F11 idle connections

def closed_after(sock, timeout):
    """Seconds until the peer closes (EOF or reset), or None; and the bytes received."""
    start = time.monotonic()
    sock.settimeout(timeout)
    got = b""
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return time.monotonic() - start, got
            got += data
            sock.settimeout(max(0.01, timeout - (time.monotonic() - start)))
    except socket.timeout:
        return None, got
    except (ConnectionResetError, BrokenPipeError):
        return time.monotonic() - start, got


@pytest.fixture(scope="module")
def idle_proxy():
    whoami = Whoami("idle")
    dynamic = {"http": {"routers": {"r": {"rule": "PathPrefix(`/`)", "service": "s"}},
                        "services": {"s": {"loadBalancer": {"servers": [{"url": whoami.url}]}}}}}
    cw = Causeway(dynamic={"d.yml": to_yaml(dynamic) + "\n"},
                  entrypoint_extra={"web": "transport:\n  respondingTimeouts:\n    idleTimeout: 1s\n"
                                           "    readTimeout: 1s"})
    try:
        def ready():
            with H2Client(cw.port()) as c:
                return c.wait_stream(c.request(authority="x.test", path="/")).status == 200
        wait_until(ready, message="route ready")
        yield cw
    finally:
        cw.stop()
        whoami.stop()


SETTINGS_EMPTY = raw_frame(0x4, 0, 0)


@pytest.mark.parametrize("payload", [b"", PREFACE[:10], PREFACE, PREFACE + SETTINGS_EMPTY],
                         ids=["nothing", "partial-preface", "preface-only", "preface-and-settings"])
def test_f11_silent_h2c_connection_closed_after_timeout(idle_proxy, payload):
    with socket.create_connection(("127.0.0.1", idle_proxy.port()), timeout=5) as s:
        if payload:
            s.sendall(payload)
        took, got = closed_after(s, 6)
    assert took is not None, f"still open 6 s after sending {payload!r} (idleTimeout/readTimeout 1s)"
    assert 0.7 <= took <= 2.5, f"closed after {took:.2f}s, expected ~1s"
    # Nothing but the server's connection preface, possibly a GOAWAY.
    assert got == b"" or got[3] == 0x4, got[:50]


@pytest.mark.parametrize("with_stream", [False, True], ids=["no-stream", "stream-in-flight"])
def test_f11_connection_silent_after_error_goaway_is_closed(target, with_stream):
    """A connection error (WINDOW_UPDATE increment 0 on stream 0, RFC 9113 §6.9) gets a GOAWAY;
    the client then sends nothing more. The server must close the connection itself soon after
    (Go's http2 server, hence Traefik, closes goAwayTimeout = 1 s after a GOAWAY with an error),
    not hold it until the idle timeout (default 180 s) or, with a stream open, indefinitely."""
    start, _ = target
    cw = start()
    c = H2Client(cw.port())
    c.wait_settings()
    if with_stream:
        c.request(authority="canary.test", path="/?wait=10s")
        time.sleep(0.2)
    c.send(WindowUpdateFrame(0, window_increment=0))
    began = time.monotonic()
    c.wait(lambda: c.goaway is not None, timeout=3)
    closed = c.wait_closed(4)
    took = time.monotonic() - began
    c.close()
    assert c.goaway is not None and c.goaway.error_code == PROTOCOL_ERROR, goaway_text(c)
    assert closed, f"still open {took:.1f}s after GOAWAY {goaway_text(c)}"


# ---------------------------------------------------------------------------------------
# R04 graceful shutdown, HTTP/2

def test_r04_sigterm_h2_in_flight_stream_completes_new_streams_refused(start_whoami, start_causeway):
    whoami = start_whoami("app")
    dynamic = {"http": {"routers": {"app": {"rule": "Host(`app.test`)", "service": "app"}},
                        "services": {"app": {"loadBalancer": {"servers": [{"url": whoami.url}]}}}}}
    cw = start_causeway(dynamic={"a.yml": to_yaml(dynamic) + "\n"},
                        entrypoint_extra={"web": "transport:\n  lifeCycle:\n    graceTimeOut: 5s"})

    def ready():
        with H2Client(cw.port()) as probe:
            return probe.wait_stream(probe.request(authority="app.test", path="/")).status == 200
    wait_until(ready, message="route ready")

    c = H2Client(cw.port(), timeout=10)
    c.wait_settings()
    first = c.request(authority="app.test", path="/?wait=1500ms")
    time.sleep(0.3)
    signalled = time.monotonic()
    os.kill(cw.pid, signal.SIGTERM)
    assert c.wait(lambda: c.goaway is not None, timeout=1.0), f"no GOAWAY within 1 s of SIGTERM: {c.received}"
    goaway_after = time.monotonic() - signalled
    assert c.goaway.error_code == NO_ERROR, goaway_text(c)
    assert c.goaway.last_stream_id >= first, goaway_text(c)
    # A stream opened after the GOAWAY is not processed.
    late = c.request(authority="app.test", path="/?late=1")
    s = c.wait_stream(first, timeout=5)
    assert s.status == 200 and s.ended and s.reset is None, (s, c.received)
    assert b"GET /?wait=1500ms HTTP/1.1" in bytes(s.body) and b"Name: app" in bytes(s.body), bytes(s.body)[:300]
    c.wait(lambda: c.streams[late].done or c.closed, timeout=2)
    late_s = c.streams[late]
    assert late_s.status is None, (late_s, late_s.headers)
    assert late_s.reset == REFUSED_STREAM or c.goaway.last_stream_id < late, (late_s, goaway_text(c))
    # The connection is closed once the in-flight stream is done; the process exits 0.
    assert c.wait_closed(3), "the HTTP/2 connection stayed open after its last stream"
    c.close()
    try:
        rc = cw.proc.wait(timeout=6)
    except subprocess.TimeoutExpired:
        rc = None
    exited = time.monotonic() - signalled
    report("R04", goaway_after_s=round(goaway_after, 3), exit_after_s=round(exited, 2), rc=rc,
           late_stream=late_s)
    assert rc == 0, cw.output()[-2000:]
    assert exited <= 5 + 1, f"exited {exited:.2f}s after SIGTERM (graceTimeOut 5s)"
    assert exited < 1.5 + 1.5, f"exited {exited:.2f}s after SIGTERM, long after the last stream finished"


# ---------------------------------------------------------------------------------------
# T01 TLS defaults

@pytest.fixture(scope="module")
def tls_proxy(tmp_path_factory):
    pki = Pki(tmp_path_factory.mktemp("pki"))
    ca = pki.ca()
    ec = pki.issue(ca, "ec.test", dns=["ec.test"])
    rsa = pki.issue(ca, "rsa.test", dns=["rsa.test"], rsa=True)
    whoami = Whoami("secure")
    dynamic = {"http": {"routers": {"r": {"rule": "Host(`ec.test`) || Host(`rsa.test`)", "service": "s", "tls": {}}},
                        "services": {"s": {"loadBalancer": {"servers": [{"url": whoami.url}]}}}},
               "tls": {"certificates": [{"certFile": ec.cert, "keyFile": ec.key},
                                        {"certFile": rsa.cert, "keyFile": rsa.key}]}}
    cw = Causeway(dynamic={"tls.yml": to_yaml(dynamic) + "\n"})
    try:
        wait_until(lambda: s_client(cw.port(), servername="rsa.test").connected and
                   "CN = rsa.test" in (s_client(cw.port(), servername="rsa.test").subject or ""),
                   message="TLS certificates loaded")
        yield cw
    finally:
        cw.stop()
        whoami.stop()


ACCEPTED_TLS12 = [("ec.test", "ECDHE-ECDSA-AES128-GCM-SHA256"), ("ec.test", "ECDHE-ECDSA-AES256-GCM-SHA384"),
                  ("ec.test", "ECDHE-ECDSA-CHACHA20-POLY1305"), ("rsa.test", "ECDHE-RSA-AES128-GCM-SHA256"),
                  ("rsa.test", "ECDHE-RSA-AES256-GCM-SHA384"), ("rsa.test", "ECDHE-RSA-CHACHA20-POLY1305")]

REFUSED_TLS12 = [
    ("ec.test", "ECDHE-ECDSA-AES128-SHA"),      # CBC
    ("ec.test", "ECDHE-ECDSA-AES256-SHA"),      # CBC
    ("ec.test", "ECDHE-ECDSA-AES128-SHA256"),   # CBC with SHA-256
    ("rsa.test", "ECDHE-RSA-AES128-SHA"),       # CBC
    ("rsa.test", "ECDHE-RSA-AES256-SHA"),       # CBC
    ("rsa.test", "ECDHE-RSA-AES128-SHA256"),    # CBC with SHA-256
    ("rsa.test", "AES128-GCM-SHA256"),          # RSA key exchange
    ("rsa.test", "AES256-GCM-SHA384"),          # RSA key exchange
    ("rsa.test", "AES128-SHA"),                 # RSA key exchange, CBC
    ("rsa.test", "DHE-RSA-AES128-GCM-SHA256"),  # finite-field DHE
]


@pytest.mark.parametrize("name,cipher", ACCEPTED_TLS12, ids=[c for _, c in ACCEPTED_TLS12])
def test_t01_tls12_aead_ecdhe_suites_accepted_without_compression(tls_proxy, name, cipher):
    r = s_client(tls_proxy.port(), "-tls1_2", "-cipher", cipher, servername=name)
    assert r.connected and r.protocol == "TLSv1.2" and r.cipher == cipher, r
    assert "Compression: NONE" in r.stdout, r


@pytest.mark.parametrize("name,cipher", REFUSED_TLS12, ids=[c for _, c in REFUSED_TLS12])
def test_t01_tls12_cbc_and_non_ecdhe_suites_refused(tls_proxy, name, cipher):
    r = s_client(tls_proxy.port(), "-tls1_2", "-cipher", cipher + ":@SECLEVEL=0", servername=name)
    assert not r.connected, r
    assert "handshake failure" in r.alerts(), r  # the server's alert, not a client-side refusal


@pytest.mark.parametrize("flag", ["-tls1", "-tls1_1"])
def test_t01_tls10_and_tls11_refused(tls_proxy, flag):
    r = s_client(tls_proxy.port(), flag, "-cipher", "DEFAULT@SECLEVEL=0", servername="rsa.test")
    assert not r.connected, r
    assert "protocol version" in r.alerts(), r


def test_t01_tls13_and_alpn_defaults(tls_proxy):
    r = s_client(tls_proxy.port(), "-tls1_3", "-alpn", "h2,http/1.1", servername="ec.test")
    assert r.connected and r.protocol == "TLSv1.3" and r.alpn == "h2", r
    r = s_client(tls_proxy.port(), "-tls1_2", "-alpn", "http/1.1", servername="rsa.test")
    assert r.connected and r.alpn == "http/1.1", r


def test_t01_client_renegotiation_refused(tls_proxy):
    """`R` on s_client's stdin starts a TLS 1.2 renegotiation; the server must refuse it
    (no_renegotiation alert), so the client gives up instead of completing a new handshake."""
    p = subprocess.Popen(["openssl", "s_client", "-connect", f"127.0.0.1:{tls_proxy.port()}",
                          "-servername", "rsa.test", "-tls1_2"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out = b""
        deadline = time.time() + 5
        os.set_blocking(p.stdout.fileno(), False)
        while b"Verify return code" not in out and time.time() < deadline:
            out += p.stdout.read() or b""
            time.sleep(0.05)
        assert b"Cipher is ECDHE-RSA" in out, out.decode("latin-1")[-2000:]
        p.stdin.write(b"R\n")
        p.stdin.flush()
        try:
            p.wait(timeout=3)
        except subprocess.TimeoutExpired:
            pass
        time.sleep(0.1)
        out += p.stdout.read() or b""
        text = out.decode("latin-1")
        assert "RENEGOTIATING" in text, text[-2000:]
        assert p.poll() is not None and p.returncode != 0, f"renegotiation went through:\n{text[-2000:]}"
        assert "no renegotiation" in text, text[-2000:]
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()


# ---------------------------------------------------------------------------------------
# A client that goes away gives up its upstream request (Go's ReverseProxy cancels through the
# request context): an HTTP/2 stream reset, or the whole connection closed, while the upstream
# has not answered yet closes that upstream connection at once.

@pytest.mark.parametrize("how", ["rst-stream", "close-connection"])
def test_client_gone_abandons_the_waiting_upstream_request(start_causeway, how):
    from h2probe import CANCEL, H2Client
    eof = {}
    got_request = threading.Event()

    def handler(conn, head, rest, upstream, index):
        got_request.set()
        started = time.monotonic()
        try:
            conn.settimeout(10)
            while conn.recv(4096):  # never answers; waits for the proxy to give up
                pass
        except OSError:
            pass
        eof[index] = time.monotonic() - started

    upstream = ScriptedUpstream(handler)
    try:
        files = {"hang.yml": to_yaml({"http": {
            "routers": {"hang": {"rule": "Host(`hang.test`)", "service": "hang"}},
            "services": {"hang": {"loadBalancer": {"servers": [{"url": upstream.url}]}}}}}) + "\n"}
        cw = start_causeway(dynamic=files)
        c = H2Client(cw.port(), timeout=5)
        wait_until(lambda: c.wait_stream(c.request(authority="nothing.test"), timeout=2).status == 404,
                   message="the proxy is up")
        sid = c.request(authority="hang.test", path="/long-poll")
        assert got_request.wait(5), "the request never reached the upstream"
        time.sleep(0.3)
        if how == "rst-stream":
            c.rst(sid, CANCEL)
        else:
            c.close()
        assert wait_until(lambda: 0 in eof, timeout=5, message="the upstream connection closed"), eof
        assert eof[0] < 2.0, f"the upstream request outlived its client by {eof[0]:.1f}s"
        if how == "rst-stream":
            # The client's connection goes on serving.
            ok = c.request(authority="nothing.test")
            assert c.wait_stream(ok).status == 404
            c.close()
    finally:
        upstream.stop()
