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
from harness import (Causeway, ScriptedUpstream, raw_request, responses, rss_kib, to_yaml, wait_until)
from recorder import Recorder

MiB = 1024  # rss_kib() is in KiB


def report(name, **figures):
    print(f"\n[{name}] " + ", ".join(f"{k}={v}" for k, v in figures.items()))


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def proxy(upstream_url, static_extra="", entrypoint_extra=None, workers=1, routers=None, middlewares=None):
    dynamic = {"http": {
        "routers": routers or {"all": {"rule": "PathPrefix(`/`)", "service": "up"}},
        "services": {"up": {"loadBalancer": {"servers": [{"url": upstream_url}]}}},
    }}
    if middlewares:
        dynamic["http"]["middlewares"] = middlewares
    cw = Causeway(dynamic={"d.yml": to_yaml(dynamic) + "\n"}, static_extra=static_extra,
                  entrypoint_extra=entrypoint_extra, workers=workers)
    wait_until(lambda: raw_request(cw.port(), b"GET /ready HTTP/1.1\r\nHost: a\r\n\r\n").startswith(b"HTTP/1.1 200"),
               message="routes ready")
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
    clients = [hpack_amplifier(cw.port(), 20) for _ in range(10)]
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
    assert refused >= 150, refused
    assert refused + answered == 200
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
    for _ in range(100):
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
    assert statuses.get("431", 0) >= 50, statuses
    assert rss1 - rss0 < 40 * MiB, (rss0, rss1)
    assert rss2 - rss0 < 16 * MiB, (rss0, rss2)
    assert [r.target for r in rec.requests() if r.target == "/big"] == []
    assert raw_request(cw.port(), b"GET /after HTTP/1.1\r\nHost: a\r\n\r\n").startswith(b"HTTP/1.1 200")
    cw.stop()
