"""The service layer as Traefik v3 defines it (reference docs/compatibility.md):
loadBalancer strategies (wrr, p2c, hrw, leasttime), sticky cookies at every level,
weighted / highestRandomWeight / mirroring / failover services, reference errors between
services, and streaming responses (responseForwarding.flushInterval).

Health checks (active, passive, failover driven by health) are in test_health.py.
Upstreams: `causeway whoami` processes and small Python servers (service_upstreams.py).
"""
import hashlib
import math
import socket
import statistics
import time

import pytest

from harness import curl, routed, to_yaml, wait_until, whoami_echo
from service_upstreams import Load, SseUpstream, get, hammer, name_of

READY = "ready.sentinel"


def dynamic(routers, services, middlewares=None, sentinel=None, transports=None):
    """One dynamic file; `sentinel` (an upstream URL) adds a router that tells when it is live."""
    routers, services = dict(routers), dict(services)
    if sentinel:
        routers["sentinel"] = {"rule": f"Host(`{READY}`)", "service": "sentinel"}
        services["sentinel"] = lb(sentinel)
    http = {"routers": routers, "services": services}
    if middlewares:
        http["middlewares"] = middlewares
    if transports:
        http["serversTransports"] = transports
    return {"routing.yml": to_yaml({"http": http}) + "\n"}


def lb(*urls, weights=None, **options):
    servers = [{"url": u} for u in urls]
    for server, weight in zip(servers, weights or []):
        server["weight"] = weight
    return {"loadBalancer": {"servers": servers, **options}}


def router(host, service, **options):
    return {"rule": f"Host(`{host}`)", "service": service, **options}


def start(start_causeway, routers, services, sentinel, **kwargs):
    cw = start_causeway(dynamic=dynamic(routers, services, sentinel=sentinel, **kwargs))
    routed(cw, READY)
    return cw


def default_cookie_name(service):
    return "_" + hashlib.sha1(f"_TRAEFIK_BACKEND_{service}".encode()).hexdigest()[:5]


def cookie_value(name):
    return hashlib.sha256(name.encode()).hexdigest()[:16]


def set_cookies(message):
    return message.get_all("Set-Cookie") or []


# ---------------------------------------------------------------------------------------
# Strategies

def test_wrr_follows_weights_within_5_percent_over_10000_requests(start_whoami, start_causeway):
    ws = [start_whoami(n) for n in ("five", "three", "two")]
    services = {"s": lb(*(w.url for w in ws), weights=[5, 3, 2])}
    cw = start(start_causeway, {"r": router("wrr.test", "s")}, services, ws[0].url)
    names, statuses = hammer(cw.port(), "wrr.test", 10000, connections=8)
    assert statuses == {200: 10000}
    print("wrr counts", dict(names))
    for name, share in (("five", 0.5), ("three", 0.3), ("two", 0.2)):
        assert abs(names[name] / 10000 - share) <= share * 0.05, names


def test_a_port_over_65535_is_built_and_answers_502(start_whoami, start_causeway):
    """Go's url.Parse takes a port over 65,535 and only the dial fails: the service is built,
    its server answers 502, and its neighbour serves. The port is not taken modulo 65,536:
    a whoami listens on the port that wrapping would dial."""
    who = start_whoami("ok")
    wrapped = start_whoami("wrapped")
    cw = start(start_causeway, {"bad": router("bad.test", "bad"), "ok": router("ok.test", "ok")},
               {"bad": lb(f"http://127.0.0.1:{65536 + wrapped.port}"), "ok": lb(who.url)}, sentinel=who.url)
    assert get(cw.port(), "bad.test")[0] == 502
    assert get(cw.port(), "ok.test")[0] == 200


def test_wrr_is_the_default_and_skips_zero_weight(start_whoami, start_causeway):
    a, b, c = start_whoami("a"), start_whoami("b"), start_whoami("zero")
    services = {"s": lb(a.url, b.url, c.url, weights=[1, 1, 0])}
    cw = start(start_causeway, {"r": router("zero.test", "s")}, services, a.url)
    names, _ = hammer(cw.port(), "zero.test", 200, connections=2)
    assert names["zero"] == 0 and names["a"] == names["b"] == 100, names


def slow_share_test(start_whoami, start_causeway, py_upstreams, strategy, duration=3.0):
    fast = [start_whoami("fast1"), start_whoami("fast2")]
    slow = py_upstreams("slow", delay=0.3)
    services = {"s": lb(fast[0].url, slow.url, fast[1].url, strategy=strategy)}
    cw = start(start_causeway, {"r": router("slow.test", "s")}, services, fast[0].url)
    load = Load(cw.port(), "slow.test", clients=8)
    time.sleep(duration)
    results = load.stop()
    names = {}
    for _, _, status, name in results:
        assert status == 200
        names[name] = names.get(name, 0) + 1
    total = sum(names.values())
    print(strategy, "counts", names, "slow share", names.get("slow", 0) / total)
    assert names.get("fast1", 0) > 0 and names.get("fast2", 0) > 0
    return names.get("slow", 0) / total


def test_p2c_sends_most_traffic_away_from_a_slow_server(start_whoami, start_causeway, py_upstreams):
    # Round robin would give the slow server a third of the requests.
    assert slow_share_test(start_whoami, start_causeway, py_upstreams, "p2c") < 0.10


def test_leasttime_avoids_a_slow_server(start_whoami, start_causeway, py_upstreams):
    assert slow_share_test(start_whoami, start_causeway, py_upstreams, "leasttime") < 0.05


def hrw_expected(ip, urls, weights=None):
    """Traefik's hrw: highest weight / -ln(fnv1a(ip + url) / 2^64)."""
    def fnv1a(data):
        h = 14695981039346656037
        for byte in data:
            h ^= byte
            h = (h * 1099511628211) % 2**64
        return h
    weights = weights or [1] * len(urls)
    scores = [w / -math.log(fnv1a((ip + u).encode()) / 2**64) for u, w in zip(urls, weights)]
    return scores.index(max(scores))


def test_hrw_keeps_each_client_ip_on_its_server(start_whoami, start_causeway):
    ws = [start_whoami(f"h{i}") for i in range(3)]
    urls = [w.url for w in ws]
    cw = start(start_causeway, {"r": router("hrw.test", "s")}, {"s": lb(*urls, strategy="hrw")}, urls[0])
    used = set()
    for last in range(2, 18):
        ip = f"127.0.0.{last}"
        seen = {name_of(get(cw.port(), "hrw.test", source=ip)[2]) for _ in range(4)}
        assert len(seen) == 1, (ip, seen)
        # The very server Traefik's rendezvous hash picks for that IP.
        assert seen == {f"h{hrw_expected(ip, urls)}"}, ip
        used |= seen
    assert len(used) >= 2


def test_hrw_moves_only_the_clients_of_a_server_that_goes_down(start_whoami, start_causeway):
    ws = [start_whoami(f"h{i}") for i in range(3)]
    urls = [w.url for w in ws]
    services = {"s": lb(*urls, strategy="hrw", healthCheck={"path": "/health", "interval": "100ms"})}
    cw = start(start_causeway, {"r": router("hrw.test", "s")}, services, urls[0])
    ips = [f"127.0.0.{last}" for last in range(2, 14)]
    before = {ip: name_of(get(cw.port(), "hrw.test", source=ip)[2]) for ip in ips}
    victim = before[ips[0]]
    post_health(ws[int(victim[1:])], 500)
    wait_until(lambda: name_of(get(cw.port(), "hrw.test", source=ips[0])[2]) != victim, timeout=5)
    for ip in ips:
        now = name_of(get(cw.port(), "hrw.test", source=ip)[2])
        if before[ip] != victim:
            assert now == before[ip], ip
        else:
            assert now != victim


# ---------------------------------------------------------------------------------------
# Sticky cookies

def test_sticky_cookie_default_name_value_and_pinning(start_whoami, start_causeway):
    a, b = start_whoami("a"), start_whoami("b")
    services = {"s": lb(a.url, b.url, sticky={"cookie": {}})}
    cw = start(start_causeway, {"r": router("sticky.test", "s")}, services, a.url)
    status, _, body, message = get(cw.port(), "sticky.test")
    assert status == 200
    first = name_of(body)
    url = {"a": a.url, "b": b.url}[first]
    # Traefik's default name (sha1 of the qualified service name) and value (sha256 of the URL).
    assert set_cookies(message) == [f"{default_cookie_name('s@file')}={cookie_value(url)}; Path=/"]
    cookie = f"{default_cookie_name('s@file')}={cookie_value(url)}"
    for _ in range(10):
        status, _, body, message = get(cw.port(), "sticky.test", headers={"Cookie": cookie})
        assert name_of(body) == first
        assert set_cookies(message) == []  # a valid pin is not rewritten
    # A cookie of an older Traefik (the raw URL) still pins, and is rewritten.
    _, _, body, message = get(cw.port(), "sticky.test", headers={"Cookie": f"{default_cookie_name('s@file')}={url}"})
    assert name_of(body) == first
    assert set_cookies(message) == [f"{cookie}; Path=/"]


def test_sticky_cookie_attributes(start_whoami, start_causeway):
    a = start_whoami("a")
    cookie = {"name": "my cookie", "secure": True, "httpOnly": True, "sameSite": "strict", "maxAge": 42,
              "path": "/app", "domain": "example.com"}
    cw = start(start_causeway, {"r": router("attrs.test", "s")}, {"s": lb(a.url, sticky={"cookie": cookie})}, a.url)
    _, _, _, message = get(cw.port(), "attrs.test")
    assert set_cookies(message) == [f"my_cookie={cookie_value(a.url)}; Path=/app; Domain=example.com; Max-Age=42; "
                                    "HttpOnly; Secure; SameSite=Strict"]


def post_health(whoami, status):
    code, _, _ = curl(whoami.url + "/health", method="POST", data=str(status))
    assert code == status


def test_sticky_repins_when_the_pinned_server_goes_down(start_whoami, start_causeway):
    a, b = start_whoami("a"), start_whoami("b")
    check = {"path": "/health", "interval": "100ms", "timeout": "500ms"}
    services = {"s": lb(a.url, b.url, sticky={"cookie": {"name": "pin"}}, healthCheck=check)}
    cw = start(start_causeway, {"r": router("repin.test", "s")}, services, a.url)
    _, _, body, message = get(cw.port(), "repin.test")
    first = name_of(body)
    pinned, other = (a, b) if first == "a" else (b, a)
    cookie = f"pin={cookie_value(pinned.url)}"
    post_health(pinned, 500)

    def moved():
        _, _, body, message = get(cw.port(), "repin.test", headers={"Cookie": cookie})
        return (name_of(body), set_cookies(message)) if name_of(body) != first else None
    name, cookies = wait_until(moved, timeout=5)
    assert name == other.name
    assert cookies == [f"pin={cookie_value(other.url)}; Path=/"]
    # The new cookie pins the new server; the old one keeps being rewritten while its server is down.
    for _ in range(5):
        assert name_of(get(cw.port(), "repin.test", headers={"Cookie": f"pin={cookie_value(other.url)}"})[2]) == other.name


def test_sticky_at_every_level_of_nested_services(start_whoami, start_causeway):
    ws = {n: start_whoami(n) for n in ("a1", "a2", "b1", "b2")}
    check = {"path": "/health", "interval": "100ms", "timeout": "500ms"}
    services = {
        "outer": {"weighted": {"services": [{"name": "A", "weight": 1}, {"name": "B", "weight": 1}],
                               "sticky": {"cookie": {"name": "outer"}}, "healthCheck": {}}},
        "A": lb(ws["a1"].url, ws["a2"].url, sticky={"cookie": {"name": "inner_a"}}, healthCheck=check),
        "B": lb(ws["b1"].url, ws["b2"].url, sticky={"cookie": {"name": "inner_b"}}, healthCheck=check),
    }
    cw = start(start_causeway, {"r": router("nested.test", "outer")}, services, ws["a1"].url)
    _, _, body, message = get(cw.port(), "nested.test")
    first = name_of(body)
    group = first[0].upper()
    cookies = set_cookies(message)
    # Traefik writes the outer level's cookie first: one pair per sticky level.
    assert cookies[0] == f"outer={cookie_value(group)}; Path=/"
    assert cookies[1] == f"inner_{group.lower()}={cookie_value(ws[first].url)}; Path=/"
    jar = "; ".join(c.split(";")[0] for c in cookies)
    for _ in range(10):
        assert name_of(get(cw.port(), "nested.test", headers={"Cookie": jar})[2]) == first

    # The pinned server goes down: the inner level re-pins inside the same service.
    post_health(ws[first], 500)
    sibling = first[0] + ("2" if first[1] == "1" else "1")

    def inner_moved():
        _, _, body, message = get(cw.port(), "nested.test", headers={"Cookie": jar})
        return set_cookies(message) if name_of(body) == sibling else None
    assert wait_until(inner_moved, timeout=5) == [f"inner_{group.lower()}={cookie_value(ws[sibling].url)}; Path=/"]

    # The whole service goes down: the outer level re-pins to the other service.
    post_health(ws[sibling], 500)
    other_group = "B" if group == "A" else "A"

    def outer_moved():
        _, _, body, message = get(cw.port(), "nested.test", headers={"Cookie": jar})
        return (name_of(body), set_cookies(message)) if name_of(body)[0] == other_group.lower() else None
    name, cookies = wait_until(outer_moved, timeout=5)
    assert cookies[0] == f"outer={cookie_value(other_group)}; Path=/"
    assert cookies[1].startswith(f"inner_{other_group.lower()}=")


# ---------------------------------------------------------------------------------------
# Services of services

def test_weighted_services_follow_weights(start_whoami, start_causeway):
    a, b = start_whoami("a"), start_whoami("b")
    services = {"w": {"weighted": {"services": [{"name": "A", "weight": 3}, {"name": "B", "weight": 1}]}},
                "A": lb(a.url), "B": lb(b.url)}
    cw = start(start_causeway, {"r": router("weighted.test", "w")}, services, a.url)
    names, _ = hammer(cw.port(), "weighted.test", 4000, connections=4)
    assert abs(names["a"] / names["b"] - 3) <= 0.15, names


def test_weighted_health_propagation_needs_health_check_on_the_parent(start_whoami, start_causeway):
    a, b = start_whoami("a"), start_whoami("b")
    check = {"path": "/health", "interval": "100ms"}
    services = {"watched": {"weighted": {"services": [{"name": "A"}, {"name": "B"}], "healthCheck": {}}},
                "blind": {"weighted": {"services": [{"name": "A"}, {"name": "B"}]}},
                "A": lb(a.url, healthCheck=check), "B": lb(b.url, healthCheck=check)}
    routers = {"w": router("watched.test", "watched"), "b": router("blind.test", "blind")}
    cw = start(start_causeway, routers, services, a.url)
    post_health(a, 503)
    wait_until(lambda: hammer(cw.port(), "watched.test", 20, connections=1)[0] == {"b": 20}, timeout=5)
    # Without healthCheck on the parent, A is still tried and answers 503 itself.
    names, statuses = hammer(cw.port(), "blind.test", 20, connections=1)
    assert statuses == {200: 10, 503: 10}
    assert names["no available server"] == 10


def test_weighted_health_check_requires_watchable_children(start_whoami, start_causeway):
    a = start_whoami("a")
    services = {"w": {"weighted": {"services": [{"name": "A"}], "healthCheck": {}}}, "A": lb(a.url)}
    cw = start(start_causeway, {"r": router("w.test", "w")}, services, a.url)
    assert get(cw.port(), "w.test")[0] == 404
    wait_until(lambda: "healthCheck not enabled in config for this WRR service" in cw.output(), timeout=5)


def test_highest_random_weight_service(start_whoami, start_causeway):
    ws = [start_whoami(f"c{i}") for i in range(3)]
    services = {"h": {"highestRandomWeight": {"services": [{"name": f"C{i}"} for i in range(3)]}}}
    services.update({f"C{i}": lb(w.url) for i, w in enumerate(ws)})
    cw = start(start_causeway, {"r": router("hrws.test", "h")}, services, ws[0].url)
    names = [f"C{i}" for i in range(3)]
    for last in range(2, 12):
        ip = f"127.0.0.{last}"
        seen = {name_of(get(cw.port(), "hrws.test", source=ip)[2]) for _ in range(3)}
        assert seen == {f"c{hrw_expected(ip, names)}"}, ip


def test_mirroring_percent_and_main_answers(start_whoami, start_causeway, py_upstreams):
    main = start_whoami("main")
    m30, m5 = py_upstreams("m30"), py_upstreams("m5")
    services = {"mirrored": {"mirroring": {"service": "M", "mirrors": [{"name": "X30", "percent": 30},
                                                                       {"name": "X5", "percent": 5}]}},
                "M": lb(main.url), "X30": lb(m30.url), "X5": lb(m5.url)}
    cw = start(start_causeway, {"r": router("mirror.test", "mirrored")}, services, main.url)
    names, statuses = hammer(cw.port(), "mirror.test", 2000, connections=4)
    assert names == {"main": 2000} and statuses == {200: 2000}
    wait_until(lambda: m30.count() >= 600 * 0.95 and m5.count() >= 100 * 0.95, timeout=10)
    time.sleep(0.3)
    print("mirror shares", m30.count() / 2000, m5.count() / 2000)
    assert abs(m30.count() / 2000 - 0.30) <= 0.30 * 0.05
    assert abs(m5.count() / 2000 - 0.05) <= 0.05 * 0.05


def test_a_slow_mirror_does_not_slow_the_main_path(start_whoami, start_causeway, py_upstreams):
    main = start_whoami("main")
    sleepy = py_upstreams("sleepy", delay=1.0)
    services = {"mirrored": {"mirroring": {"service": "M", "mirrors": [{"name": "S", "percent": 100}]}},
                "M": lb(main.url), "S": lb(sleepy.url)}
    routers = {"m": router("mirror.test", "mirrored"), "d": router("direct.test", "M")}
    cw = start(start_causeway, routers, services, main.url)

    def latencies(host, n=20):
        out = []
        for _ in range(n):
            started = time.monotonic()
            status, _, body, _ = get(cw.port(), host)
            out.append(time.monotonic() - started)
            assert status == 200 and name_of(body) == "main"
        return out
    direct = latencies("direct.test")
    mirrored = latencies("mirror.test")
    print("median latency direct %.1f ms, mirrored %.1f ms, max mirrored %.1f ms" % (
        statistics.median(direct) * 1000, statistics.median(mirrored) * 1000, max(mirrored) * 1000))
    assert statistics.median(mirrored) < statistics.median(direct) + 0.05
    assert max(mirrored) < 0.5  # the mirror sleeps 1 s per request
    wait_until(lambda: sleepy.count() == 20, timeout=10)


def test_mirroring_body_and_max_body_size(start_whoami, start_causeway, py_upstreams):
    main = start_whoami("main")
    with_body, without_body = py_upstreams("with"), py_upstreams("without")
    services = {"small": {"mirroring": {"service": "M", "maxBodySize": 100, "mirrors": [{"name": "W", "percent": 100}]}},
                "nobody": {"mirroring": {"service": "M", "mirrorBody": False,
                                         "mirrors": [{"name": "N", "percent": 100}]}},
                "M": lb(main.url), "W": lb(with_body.url), "N": lb(without_body.url)}
    routers = {"s": router("small.test", "small"), "n": router("nobody.test", "nobody")}
    cw = start(start_causeway, routers, services, main.url)
    for size in (50, 200):
        status, _, body = curl(cw.url(path="/"), host="small.test", method="POST", data=b"x" * size)
        assert status == 200
        assert whoami_echo(body)[2]["Body-Length"] == str(size)  # the main service always gets it
    wait_until(lambda: with_body.count() >= 1, timeout=5)
    time.sleep(0.3)
    assert [len(r[3]) for r in with_body.requests] == [50]  # the 200-byte body is not mirrored
    status, _, body = curl(cw.url(path="/"), host="nobody.test", method="POST", data=b"y" * 30)
    assert whoami_echo(body)[2]["Body-Length"] == "30"
    wait_until(lambda: without_body.count() == 1, timeout=5)
    assert without_body.requests[0][0] == "POST" and without_body.requests[0][3] == b""


def test_failover_on_error_status_replays_the_request(start_whoami, start_causeway, py_upstreams):
    failing = py_upstreams("failing", status=503)
    fallback = start_whoami("fallback")
    services = {"f": {"failover": {"service": "main", "fallback": "fb", "errors": {"status": ["500-504"]}}},
                "limited": {"failover": {"service": "main", "fallback": "fb",
                                         "errors": {"status": ["503"], "maxRequestBodyBytes": 10}}},
                "main": lb(failing.url), "fb": lb(fallback.url)}
    routers = {"f": router("failover.test", "f"), "l": router("limited.test", "limited")}
    cw = start(start_causeway, routers, services, fallback.url)
    status, _, body = curl(cw.url(path="/x?q=1"), host="failover.test", method="POST", data=b"z" * 1000)
    assert status == 200
    request_line, _, own = whoami_echo(body)
    assert own["Name"] == "fallback" and own["Body-Length"] == "1000"
    assert request_line.startswith("POST /x?q=1 ")
    assert failing.requests[-1][3] == b"z" * 1000  # the main service got the body too
    status, _, body = curl(cw.url(path="/"), host="limited.test", method="POST", data=b"z" * 11)
    assert (status, body) == (413, b"Request body too large\n")
    status, _, body = curl(cw.url(path="/"), host="limited.test", method="POST", data=b"z" * 10)
    assert status == 200 and whoami_echo(body)[2]["Name"] == "fallback"


def test_service_reference_errors_disable_only_the_services_involved(start_whoami, start_causeway):
    a = start_whoami("a")
    services = {"loop1": {"weighted": {"services": [{"name": "loop2"}]}},
                "loop2": {"failover": {"service": "loop1", "fallback": "ok", "errors": {"status": ["500"]}}},
                "self": {"mirroring": {"service": "self"}},
                "orphan": {"weighted": {"services": [{"name": "nowhere"}]}},
                "parent": {"weighted": {"services": [{"name": "orphan"}, {"name": "ok"}]}},
                "ok": lb(a.url)}
    routers = {f"r{i}": router(f"{name}.test", name) for i, name in enumerate(services)}
    cw = start(start_causeway, routers, services, a.url)
    assert get(cw.port(), "ok.test")[0] == 200
    for name in ("loop1", "loop2", "self", "orphan", "parent"):
        assert get(cw.port(), f"{name}.test")[0] == 404, name
    log = wait_until(lambda: cw.output() if "nowhere@file" in cw.output() else None, timeout=5)
    assert "recursion detected in service:loop1@file->service:loop2@file->service:loop1@file" in log
    assert "recursion detected in service:self@file->service:self@file" in log
    assert 'the service \\"nowhere@file\\" does not exist' in log or 'the service "nowhere@file" does not exist' in log
    assert "orphan@file" in log and "has errors" in log


# ---------------------------------------------------------------------------------------
# Streaming (responseForwarding.flushInterval)

@pytest.mark.parametrize("flush_interval", [None, "1s", "-1"])
def test_server_sent_events_are_flushed_immediately(start_whoami, start_causeway, flush_interval):
    a = start_whoami("a")
    sse = SseUpstream(events=5, interval=0.2)
    try:
        options = {"responseForwarding": {"flushInterval": flush_interval}} if flush_interval else {}
        cw = start(start_causeway, {"r": router("sse.test", "s")}, {"s": lb(sse.url, **options)}, a.url)
        received = []
        with socket.create_connection(("127.0.0.1", cw.port()), timeout=5) as s:
            s.sendall(b"GET /events HTTP/1.1\r\nHost: sse.test\r\nAccept: text/event-stream\r\n\r\n")
            data = b""
            while len(received) < 5:
                chunk = s.recv(65536)
                assert chunk, "stream ended early"
                now = time.monotonic()
                data += chunk
                while f"data: event {len(received)}\n\n".encode() in data:
                    received.append(now)
        gaps = [received[i] - sse.sent[i] for i in range(5)]
        print("event delivery delays (ms):", [round(g * 1000, 1) for g in gaps])
        for i in range(4):
            assert received[i] < sse.sent[i + 1], f"event {i} arrived after event {i + 1} was sent"
        assert max(gaps) < 0.1
    finally:
        sse.stop()
