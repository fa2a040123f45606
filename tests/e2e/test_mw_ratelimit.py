"""rateLimit: token bucket (average/period, burst) per source, 429 with Retry-After and
X-Retry-In, one bucket table per router shared by every worker; and the `redis` option: the
bucket in a real redis-server (key "rate:<middleware>:<source>"), shared by routers and
proxies, 500 when Redis cannot be reached.

Reference: docs/compatibility.md (middleware RateLimit)."""
import math
import re
import subprocess
import time


from harness import free_port
from mwkit import request, start, values, wait_log
from redis_peer import needs_redis, start_redis  # noqa: F401 (fixture)


def burst_then_limit(cw, host, n, headers=None):
    """n requests, each on a new connection, as fast as possible: their statuses."""
    return [request(cw, host, headers=headers)[0] for _ in range(n)]


def test_burst_then_429_with_retry_headers(start_whoami, start_causeway):
    # One token every 6 s (below 1/s, maxDelay is 500 ms), three in the bucket.
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={"limit": {"rateLimit": {"average": 1, "period": "6s", "burst": 3}}},
               routers={"r": ("Host(`a.test`)", ["limit"])})
    statuses = burst_then_limit(cw, "a.test", 3)
    assert statuses == [200, 200, 200]
    status, headers, body = request(cw, "a.test")
    assert status == 429
    assert body == b"Too Many Requests"
    assert values(headers, "Content-Type") == ["text/plain; charset=utf-8"]
    (retry_in,) = values(headers, "X-Retry-In")
    m = re.fullmatch(r"(\d+(?:\.\d+)?)s", retry_in)
    assert m and 3 < float(m.group(1)) <= 6, retry_in
    assert values(headers, "Retry-After") == [str(math.ceil(float(m.group(1))))]
    # Traefik keeps a source's bucket for ttl = 1/rate = 6 s after its last request (ttlmap,
    # whole seconds), then starts a full one: waiting a whole token interval after the 429 would
    # race that expiry. A request 4 s in keeps the bucket and is refused with the time left...
    time.sleep(4)
    status, headers, _ = request(cw, "a.test")
    assert status == 429
    (retry_in,) = values(headers, "X-Retry-In")
    m = re.fullmatch(r"(\d+(?:\.\d+)?)s", retry_in)
    assert m and 0.5 < float(m.group(1)) <= 2.1, retry_in
    # ...and when that token is due, exactly one more request passes (the next is 6 s away).
    time.sleep(float(m.group(1)) + 0.05)
    assert burst_then_limit(cw, "a.test", 2) == [200, 429]


def test_limit_holds_across_workers(start_whoami, start_causeway):
    # Five tokens and no new one for a minute: whichever worker takes a request, only five
    # pass in total.
    w = start_whoami()
    cw = start(start_causeway, w.url, workers=2, middlewares={
        "limit": {"rateLimit": {"average": 1, "period": "60s", "burst": 5}}},
        routers={"r": ("Host(`a.test`)", ["limit"])})
    statuses = burst_then_limit(cw, "a.test", 12)
    assert statuses == [200] * 5 + [429] * 7, statuses


def wrk_counts(cw, host, seconds=5, connections=8):
    """wrk for `seconds` (bounded in time): (answered 2xx/3xx, refused, elapsed seconds)."""
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "2s",
                          "-H", f"Host: {host}", cw.url("web", "/")],
                         capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
    m = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
    assert m, out
    elapsed = float(m.group(2)) / (1000 if m.group(3) == "ms" else 1)
    refused = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    refused = int(refused.group(1)) if refused else 0
    return int(m.group(1)) - refused, refused, elapsed


def assert_rate(admitted, refused, elapsed, average=100, burst=50):
    # The bucket starts full (burst) and refills at `average` per second.
    rate = (admitted - burst) / elapsed
    assert refused > 0, "wrk never reached the limit"
    assert average * 0.9 <= rate <= average * 1.1, (admitted, refused, elapsed, rate)


def test_rate_precision_under_load_across_workers(start_whoami, start_causeway):
    """average 100/s, burst 50, wrk for 5 s on two workers: 100/s admitted within ±10%."""
    w = start_whoami()
    cw = start(start_causeway, w.url, workers=2, middlewares={
        "limit": {"rateLimit": {"average": 100, "burst": 50}}},
        routers={"r": ("Host(`a.test`)", ["limit"])})
    assert_rate(*wrk_counts(cw, "a.test"))


def test_sources_routers_and_unlimited(start_whoami, start_causeway):
    w = start_whoami()
    one = {"average": 1, "period": "60s", "burst": 1}
    cw = start(start_causeway, w.url, middlewares={
        "limit": {"rateLimit": dict(one)},
        "byheader": {"rateLimit": dict(one, sourceCriterion={"requestHeaderName": "X-Key"})},
        "byhost": {"rateLimit": dict(one, sourceCriterion={"requestHost": True})},
        "off": {"rateLimit": {"average": 0, "burst": 1}},
    }, routers={"a": ("Host(`a.test`)", ["limit"]), "b": ("Host(`b.test`)", ["limit"]),
                "k": ("Host(`k.test`)", ["byheader"]), "h": ("HostRegexp(`^h[12]\\.test$`)", ["byhost"]),
                "o": ("Host(`o.test`)", ["off"])})
    # In memory, each router has its own buckets.
    assert burst_then_limit(cw, "a.test", 2) == [200, 429]
    assert burst_then_limit(cw, "b.test", 2) == [200, 429]
    assert burst_then_limit(cw, "k.test", 2, headers={"X-Key": "one"}) == [200, 429]
    assert burst_then_limit(cw, "k.test", 1, headers={"X-Key": "two"}) == [200]
    assert burst_then_limit(cw, "h1.test", 2) == [200, 429]
    assert burst_then_limit(cw, "h2.test", 1) == [200]
    assert burst_then_limit(cw, "o.test", 30) == [200] * 30


def test_short_waits_are_delayed_not_refused(start_whoami, start_causeway):
    # 1 req/s: maxDelay 500 ms. A request 550 ms after the first finds 0.55 token and waits
    # about 450 ms instead of being refused.
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={"limit": {"rateLimit": {"average": 1, "burst": 1}}},
               routers={"r": ("Host(`a.test`)", ["limit"])})
    assert request(cw, "a.test")[0] == 200
    time.sleep(0.55)
    started = time.time()
    assert request(cw, "a.test")[0] == 200
    assert time.time() - started > 0.05


def test_configuration_errors(start_whoami, start_causeway):
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "negative": {"rateLimit": {"average": 1, "period": "-1s"}},
        "both": {"rateLimit": {"average": 1, "sourceCriterion": {"ipStrategy": {}, "requestHost": True}}},
        "tls": {"rateLimit": {"average": 1, "redis": {"endpoints": ["127.0.0.1:1"], "tls": {"ca": "/nonexistent.pem"}}}},
    }, routers={name: (f"Host(`{name}.test`)", [name]) for name in ["negative", "both", "tls"]})
    wait_log(cw, "negative value not valid for period")
    wait_log(cw, "iPStrategy and RequestHost are mutually exclusive")
    wait_log(cw, "creating redis TLS config")
    for name in ["negative", "both", "tls"]:
        assert request(cw, f"{name}.test")[0] == 404


# --- Redis ------------------------------------------------------------------------------

def redis_limit(port, **extra):
    return {"rateLimit": {"average": 1, "period": "10s", "burst": 2,
                          "redis": {"endpoints": [f"127.0.0.1:{port}"], **extra}}}


@needs_redis
def test_redis_rate_precision_under_load(start_whoami, start_causeway, start_redis):
    """The same precision with the bucket in Redis."""
    r = start_redis()
    w = start_whoami()
    cw = start(start_causeway, w.url, workers=2, middlewares={"limit": {"rateLimit": {
        "average": 100, "burst": 50, "redis": {"endpoints": [f"127.0.0.1:{r.port}"]}}}},
        routers={"r": ("Host(`a.test`)", ["limit"])})
    assert_rate(*wrk_counts(cw, "a.test"))


@needs_redis
def test_redis_bucket_shared_by_routers_and_proxies(start_whoami, start_causeway, start_redis):
    r = start_redis()
    w = start_whoami()
    middlewares = {"shared": redis_limit(r.port)}
    routers = {"a": ("Host(`a.test`)", ["shared"]), "b": ("Host(`b.test`)", ["shared"])}
    one = start(start_causeway, w.url, middlewares=middlewares, routers=routers)
    two = start(start_causeway, w.url, middlewares=middlewares, routers=routers)
    assert request(one, "a.test")[0] == 200
    assert request(two, "b.test")[0] == 200  # another router, another proxy: same bucket
    status, headers, body = request(one, "b.test")
    assert status == 429
    assert body == b"Too Many Requests"
    assert values(headers, "Retry-After") == ["10"]
    assert re.fullmatch(r"\d+(\.\d+)?s", values(headers, "X-Retry-In")[0])
    assert request(two, "a.test")[0] == 429
    # Traefik's key layout and fields.
    keys = r.command("KEYS", "rate:*")
    assert keys == ["rate:shared@file:127.0.0.1"], keys
    fields = r.command("HGETALL", keys[0])
    assert sorted(fields[0::2]) == ["last", "tokens"]
    assert 0 < r.command("TTL", keys[0]) <= 11


@needs_redis
def test_redis_auth_db_and_outage(start_whoami, start_causeway, start_redis):
    r = start_redis(password="s3cret")
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "good": redis_limit(r.port, password="s3cret", db=3, readTimeout="500ms", dialTimeout="500ms"),
        "badpass": redis_limit(r.port, password="wrong", dialTimeout="500ms"),
        "unlimited": {"rateLimit": {"average": 0, "redis": {"endpoints": [f"127.0.0.1:{r.port}"]}}},
    }, routers={"g": ("Host(`g.test`)", ["good"]), "p": ("Host(`p.test`)", ["badpass"]),
                "u": ("Host(`u.test`)", ["unlimited"])})
    assert [request(cw, "g.test")[0] for _ in range(3)] == [200, 200, 429]
    assert r.command("EXISTS", "rate:good@file:127.0.0.1", db=3) == 1
    assert r.command("EXISTS", "rate:good@file:127.0.0.1", db=0) == 0
    status, headers, body = request(cw, "p.test")
    assert (status, body) == (500, b"Could not insert/update bucket\n")
    assert [request(cw, "u.test")[0] for _ in range(5)] == [200] * 5
    # Redis goes away: Traefik refuses the request rather than letting it through.
    r.stop()
    started = time.time()
    status, _, body = request(cw, "g.test")
    assert (status, body) == (500, b"Could not insert/update bucket\n")
    assert time.time() - started < 5
    wait_log(cw, "Could not insert/update bucket")


@needs_redis
def test_redis_unreachable_endpoint(start_whoami, start_causeway):
    w = start_whoami()
    port = free_port()  # nothing listens there
    cw = start(start_causeway, w.url, middlewares={"limit": redis_limit(port)},
               routers={"r": ("Host(`a.test`)", ["limit"])})
    status, _, body = request(cw, "a.test")
    assert (status, body) == (500, b"Could not insert/update bucket\n")


@needs_redis
def test_redis_over_tls(start_whoami, start_causeway, start_redis, tmp_path):
    cert, key = tmp_path / "redis.pem", tmp_path / "redis.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=redis",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    r = start_redis(tls=(cert, key))
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "trusted": redis_limit(r.port, tls={"ca": str(cert)}),
        "skip": redis_limit(r.port, tls={"insecureSkipVerify": True}),
        "system": redis_limit(r.port, tls={}, dialTimeout="1s"),
        "plain": redis_limit(r.port, readTimeout="1s"),
    }, routers={"t": ("Host(`t.test`)", ["trusted"]), "s": ("Host(`s.test`)", ["skip"]),
                "y": ("Host(`y.test`)", ["system"]), "p": ("Host(`p.test`)", ["plain"])})
    assert [request(cw, "t.test")[0] for _ in range(3)] == [200, 200, 429]
    assert [request(cw, "s.test")[0] for _ in range(3)] == [200, 200, 429]
    assert r.command("EXISTS", "rate:trusted@file:127.0.0.1") == 1
    # Not trusted by the system roots; plain TCP to a TLS port: the bucket is unavailable.
    assert request(cw, "y.test")[::2] == (500, b"Could not insert/update bucket\n")
    assert request(cw, "p.test")[::2] == (500, b"Could not insert/update bucket\n")
