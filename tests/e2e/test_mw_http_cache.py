"""httpCache: the shared response cache (docs/cache.md), checked with cases modelled on RFC 9111
(freshness, storability, Vary, validation, request directives, invalidation), RFC 5861
(stale-while-revalidate, stale-if-error), RFC 9211 Cache-Status, the coalescing of concurrent
misses, the size limits, the purge API and the metrics."""
import concurrent.futures
import json
import threading
import time

import pytest

from harness import curl, wait_until
from mw_upstream import Reply, start_upstream  # noqa: F401 (fixture)
from mwkit import request, start, values
from redis_peer import needs_redis, start_redis  # noqa: F401 (fixture)

LOCK = threading.Lock()


class Origin:
    """The upstream: what each path answers, with a per-path counter in the body."""

    def __init__(self):
        self.counts = {}
        self.down = set()  # paths answering 503

    def __call__(self, req):
        with LOCK:
            n = self.counts[req.path] = self.counts.get(req.path, 0) + 1
        path = req.path
        if path in self.down:
            return Reply(503, b"down", {"Content-Type": "text/plain"})
        body = f"{path} {n}".encode()
        cc = {
            "/fresh": "max-age=2", "/nostore": "no-store, max-age=60", "/private": "private, max-age=60",
            "/cookie": "max-age=60", "/auth": "max-age=60", "/auth-public": "public, max-age=60",
            "/vary": "max-age=60", "/slow": "max-age=60", "/flaky": "max-age=1, stale-if-error=60",
            "/swr": "max-age=1, stale-while-revalidate=60", "/big": "max-age=60", "/bigchunked": "max-age=60",
            "/mutable": "max-age=60", "/q": "max-age=60", "/head": "max-age=60", "/client304": "max-age=60",
            "/onlyif": "max-age=60", "/mustreval": "max-age=1, must-revalidate, stale-if-error=60",
            "/aged": "max-age=60", "/x": "max-age=60", "/cookie304": "no-cache", "/nosie": "no-cache",
        }.get(path)
        headers = {"Content-Type": "text/plain"}
        if cc:
            headers["Cache-Control"] = cc
        if path == "/cookie":
            headers["Set-Cookie"] = "session=1"
        if path == "/vary":
            headers["Vary"] = "Accept-Language"
            body = f"{path} {req.header('Accept-Language')} {n}".encode()
        if path == "/aged":
            headers["Age"] = "60"  # a cache before this one kept it for its whole freshness
        if path in ("/cookie304", "/nosie"):
            headers["ETag"] = '"c"'
            if req.header("If-None-Match") == '"c"':
                extra = {"Set-Cookie": "session=2"} if path == "/cookie304" else {}
                return Reply(304, b"", {"ETag": '"c"', "Cache-Control": "no-cache", **extra})
        if path in ("/etag", "/client304"):
            headers["ETag"] = '"v1"'
            if path == "/etag":
                headers["Cache-Control"] = "max-age=1"
                if req.header("If-None-Match") == '"v1"':
                    # Fresh for long after the refresh, so that the next request is a hit.
                    return Reply(304, b"", {"ETag": '"v1"', "Cache-Control": "max-age=60"})
        if path == "/swr" and n > 1:
            headers["Cache-Control"] = "max-age=60"  # the background answer stays fresh
        if path == "/slow":
            time.sleep(0.5)
        if path == "/big":
            body = b"b" * 2000
        if path == "/bigchunked":
            return Reply(200, headers=headers, chunks=[b"c" * 600, b"c" * 600])
        if path == "/q":
            body = f"{path}?{req.query} {n}".encode()
        return Reply(200, body, headers)


@pytest.fixture
def proxy(start_upstream, start_causeway):
    origin = Origin()
    up = start_upstream(origin)
    cw = start(start_causeway, up.url, middlewares={
        "cache": {"httpCache": {"maxEntrySize": "1000", "lockTimeout": "10s"}},
        "quiet": {"httpCache": {"disableCacheStatusHeader": True}},
        "bad-size": {"httpCache": {"maxEntrySize": "lots"}},
        "strip": {"stripPrefix": {"prefixes": ["/api"]}},
    }, routers={"c": ("Host(`c.test`)", ["cache"]), "quiet": ("Host(`quiet.test`)", ["quiet"]),
                "s": ("Host(`s.test`)", ["cache", "strip"]),
                "bad": ("Host(`bad.test`)", ["bad-size"])},
        entrypoints=("web", "traefik"), static_extra="api:\n  insecure: true\nmetrics:\n  prometheus: {}\n")
    cw.origin = origin
    return cw


def get(cw, path, headers=None, host="c.test", method="GET"):
    status, hdrs, body = request(cw, host, path, method=method, headers=headers)
    return status, {k.lower(): v for k, v in hdrs}, body, hdrs


def test_fresh_response_is_served_from_the_store_until_it_expires(proxy):
    status, h, body, _ = get(proxy, "/fresh")
    assert (status, body) == (200, b"/fresh 1")
    assert h["x-cache-status"] == "MISS"
    assert h["cache-status"] == "causeway; fwd=uri-miss; stored"
    status, h, body, raw = get(proxy, "/fresh")
    assert (status, body) == (200, b"/fresh 1")
    assert h["x-cache-status"] == "HIT"
    assert h["cache-status"].startswith("causeway; hit; ttl=")
    assert values(raw, "Age") in (["0"], ["1"])
    assert values(raw, "Content-Length") == ["8"]
    assert proxy.origin.counts["/fresh"] == 1
    time.sleep(2.2)
    status, h, body, _ = get(proxy, "/fresh")
    assert (status, body, h["x-cache-status"]) == (200, b"/fresh 2", "EXPIRED")
    assert h["cache-status"] == "causeway; fwd=stale; stored"


@pytest.mark.parametrize("path,headers,detail", [
    ("/nostore", None, "no-store"),
    ("/private", None, "private"),
    ("/cookie", None, "set-cookie"),
    ("/plain", None, "no-explicit-freshness"),
    ("/auth", {"Authorization": "Bearer t"}, "authorization"),
    ("/fresh", {"Cache-Control": "no-store"}, "request-no-store"),
])
def test_responses_a_shared_cache_must_not_store(proxy, path, headers, detail):
    for n in (1, 2):
        status, h, body, _ = get(proxy, path, headers)
        assert status == 200 and body == f"{path} {n}".encode()
        assert h["x-cache-status"] == "MISS"
        assert h["cache-status"].endswith("; detail=" + detail)


def test_authorization_with_public_is_shared(proxy):
    get(proxy, "/auth-public", {"Authorization": "Bearer a"})
    status, h, body, _ = get(proxy, "/auth-public", {"Authorization": "Bearer b"})
    assert (body, h["x-cache-status"]) == (b"/auth-public 1", "HIT")


def test_vary_keeps_one_variant_per_request_value(proxy):
    assert get(proxy, "/vary", {"Accept-Language": "en"})[2] == b"/vary en 1"
    status, h, body, _ = get(proxy, "/vary", {"Accept-Language": "fr"})
    assert (body, h["cache-status"]) == (b"/vary fr 2", "causeway; fwd=vary-miss; stored")
    assert get(proxy, "/vary", {"Accept-Language": "en"})[2] == b"/vary en 1"
    assert get(proxy, "/vary", {"Accept-Language": "fr"})[2] == b"/vary fr 2"
    assert proxy.origin.counts["/vary"] == 2


def test_stale_response_is_revalidated_with_its_etag(proxy):
    assert get(proxy, "/etag")[2] == b"/etag 1"
    time.sleep(2.1)
    status, h, body, raw = get(proxy, "/etag")
    assert (status, body, h["x-cache-status"]) == (200, b"/etag 1", "REVALIDATED")
    assert h["cache-status"].startswith("causeway; fwd=stale; fwd-status=304")
    assert values(raw, "ETag") == ['"v1"']
    up = proxy.origin
    assert up.counts["/etag"] == 2
    # The refreshed response is fresh again.
    assert get(proxy, "/etag")[1]["x-cache-status"] == "HIT"
    assert up.counts["/etag"] == 2


def test_client_conditional_is_answered_from_the_store(proxy):
    get(proxy, "/client304")
    status, h, body, _ = get(proxy, "/client304", {"If-None-Match": 'W/"v1"'})
    assert (status, body, h["x-cache-status"]) == (304, b"", "HIT")
    status, _, body, _ = get(proxy, "/client304", {"If-None-Match": '"other"'})
    assert (status, body) == (200, b"/client304 1")
    assert proxy.origin.counts["/client304"] == 1


def test_request_directives(proxy):
    get(proxy, "/fresh")
    status, h, body, _ = get(proxy, "/fresh", {"Cache-Control": "no-cache"})
    assert (body, h["x-cache-status"]) == (b"/fresh 2", "EXPIRED")
    status, h, body, _ = get(proxy, "/fresh", {"Cache-Control": "max-age=0"})
    assert body == b"/fresh 3" or (body == b"/fresh 2" and h["age"] == "0")
    status, h, _, _ = get(proxy, "/onlyif", {"Cache-Control": "only-if-cached"})
    assert (status, h["cache-status"]) == (504, "causeway; detail=only-if-cached")
    assert "/onlyif" not in proxy.origin.counts
    get(proxy, "/onlyif")
    assert get(proxy, "/onlyif", {"Cache-Control": "only-if-cached"})[0] == 200


def test_unsafe_method_invalidates_the_url(proxy):
    get(proxy, "/mutable")
    assert get(proxy, "/mutable")[1]["x-cache-status"] == "HIT"
    status, h, _, _ = get(proxy, "/mutable", method="POST")
    assert (status, h["x-cache-status"], h["cache-status"]) == (200, "BYPASS", "causeway; fwd=method")
    status, h, body, _ = get(proxy, "/mutable")
    assert (body, h["x-cache-status"]) == (b"/mutable 3", "MISS")


def test_head_is_answered_from_a_stored_get_and_query_is_part_of_the_key(proxy):
    get(proxy, "/head")
    status, h, body, raw = get(proxy, "/head", method="HEAD")
    assert (status, body, h["x-cache-status"]) == (200, b"", "HIT")
    assert values(raw, "Content-Length") == ["7"]
    assert get(proxy, "/q?a=1")[2] == b"/q?a=1 1"
    assert get(proxy, "/q?a=2")[2] == b"/q?a=2 2"
    assert get(proxy, "/q?a=1")[2] == b"/q?a=1 1"


def test_concurrent_misses_are_coalesced_into_one_upstream_request(proxy):
    with concurrent.futures.ThreadPoolExecutor(max_workers=100) as pool:
        results = list(pool.map(lambda _: get(proxy, "/slow"), range(100)))
    assert all(r[0] == 200 and r[2] == b"/slow 1" for r in results)
    assert proxy.origin.counts["/slow"] == 1
    statuses = [r[1]["cache-status"] for r in results]
    assert statuses.count("causeway; fwd=uri-miss; stored") == 1
    assert sum("collapsed" in s for s in statuses) >= 10


def test_stale_if_error_serves_the_stored_response_when_the_origin_fails(proxy):
    assert get(proxy, "/flaky")[2] == b"/flaky 1"
    proxy.origin.down.add("/flaky")
    time.sleep(2.1)
    status, h, body, _ = get(proxy, "/flaky")
    assert (status, body, h["x-cache-status"]) == (200, b"/flaky 1", "STALE")
    assert "fwd=stale; fwd-status=503; detail=stale-if-error" in h["cache-status"]
    # must-revalidate forbids it.
    assert get(proxy, "/mustreval")[2] == b"/mustreval 1"
    proxy.origin.down.add("/mustreval")
    time.sleep(2.1)
    assert get(proxy, "/mustreval")[0] == 503


def test_stale_while_revalidate_answers_at_once_and_refreshes_in_the_background(proxy):
    assert get(proxy, "/swr")[2] == b"/swr 1"
    time.sleep(2.1)
    status, h, body, _ = get(proxy, "/swr")
    assert (body, h["x-cache-status"]) == (b"/swr 1", "STALE")
    assert "detail=stale-while-revalidate" in h["cache-status"]
    wait_until(lambda: proxy.origin.counts["/swr"] == 2, message="the background revalidation")
    wait_until(lambda: get(proxy, "/swr")[2] == b"/swr 2", message="the refreshed response")
    assert get(proxy, "/swr")[1]["x-cache-status"] == "HIT"


def test_responses_over_max_entry_size_are_not_stored(proxy):
    for n in (1, 2):
        status, h, body, _ = get(proxy, "/big")
        assert (status, len(body)) == (200, 2000)
        assert h["cache-status"].endswith("detail=too-large")
        # Without a length, the body is counted as it passes.
        status, h, body, _ = get(proxy, "/bigchunked")
        assert (status, len(body)) == (200, 1200)
    assert proxy.origin.counts["/big"] == 2 and proxy.origin.counts["/bigchunked"] == 2


def test_quiet_cache_and_invalid_options(proxy):
    get(proxy, "/q?x", host="quiet.test")
    status, h, body, _ = get(proxy, "/q?x", host="quiet.test")
    assert body == b"/q?x 1" and "cache-status" not in h and "x-cache-status" not in h and "age" in h
    assert get(proxy, "/fresh", host="bad.test")[0] == 404
    status, _, body = curl(proxy.url("traefik", "/api/http/middlewares/bad-size@file"))
    assert any("httpCache: maxEntrySize: expected a size" in e for e in json.loads(body)["error"])


def test_purge_api_and_metrics(proxy):
    get(proxy, "/fresh")
    get(proxy, "/q?a=1")
    get(proxy, "/q?a=2")
    get(proxy, "/fresh")
    status, _, body = curl(proxy.url("traefik", "/api/http/caches"))
    caches = {c["name"]: c for c in json.loads(body)}
    assert set(caches) == {"cache@file", "quiet@file"}
    c = caches["cache@file"]
    assert (c["entries"], c["hits"], c["misses"], c["limit"]) == (3, 1, 3, 128 << 20)
    status, _, body = curl(proxy.url("traefik", "/api/http/caches/cache@file?url=c.test/q*"), method="DELETE")
    assert (status, json.loads(body)) == (200, {"purged": 2})
    status, _, body = curl(proxy.url("traefik", "/api/http/caches/cache@file?url=c.test/fresh"), method="DELETE")
    assert json.loads(body) == {"purged": 1}
    assert get(proxy, "/fresh")[1]["x-cache-status"] == "MISS"
    assert curl(proxy.url("traefik", "/api/http/caches/nope@file"), method="DELETE")[0] == 404
    assert curl(proxy.url("traefik", "/api/http/caches/cache@file"), method="POST")[0] == 405
    status, _, body = curl(proxy.url("traefik", "/api/http/caches/cache@file"), method="DELETE")
    assert json.loads(body) == {"purged": 1}
    status, _, text = curl(proxy.url("traefik", "/metrics"))
    text = text.decode()
    assert 'causeway_http_cache_requests_total{middleware="cache@file",result="hit"} 1' in text
    assert 'causeway_http_cache_requests_total{middleware="cache@file",result="miss"} 4' in text
    assert 'causeway_http_cache_entries{middleware="cache@file"} 0' in text
    assert 'causeway_http_cache_limit_bytes{middleware="cache@file"} 134217728' in text


@needs_redis
def test_instances_share_responses_through_redis(start_upstream, start_causeway, start_redis):
    redis = start_redis()
    origin = Origin()
    up = start_upstream(origin)
    cache = {"httpCache": {"store": {"redis": {"endpoints": [f"127.0.0.1:{redis.port}"]}}}}
    kwargs = dict(middlewares={"cache": cache}, routers={"c": ("Host(`c.test`)", ["cache"])},
                  entrypoints=("web", "traefik"), static_extra="api:\n  insecure: true\n")
    a = start(start_causeway, up.url, **kwargs)
    b = start(start_causeway, up.url, **kwargs)
    assert get(a, "/fresh")[1]["x-cache-status"] == "MISS"
    key = "httpcache:cache@file:c.test/fresh"
    # HSET and EXPIRE are two commands: the key can be seen for a moment before its expiry.
    wait_until(lambda: redis.command("TTL", key) > 0, message="the response in Redis, with its expiry")
    assert redis.command("TTL", key) <= 2 + 300  # freshness + maxTtl (it has no validator: freshness only)
    status, h, body, _ = get(b, "/fresh")
    assert (status, body, h["x-cache-status"]) == (200, b"/fresh 1", "HIT")
    assert h["cache-status"].startswith("causeway; hit; detail=shared; ttl=")
    assert get(b, "/fresh")[1]["cache-status"].startswith("causeway; hit; ttl=")
    assert origin.counts["/fresh"] == 1
    # Purging on one instance empties its memory and Redis (the other's memory keeps its copy).
    status, _, body = curl(a.url("traefik", "/api/http/caches/cache@file?url=c.test/fresh"), method="DELETE")
    assert json.loads(body) == {"purged": 1, "purgedShared": 1}
    assert redis.command("EXISTS", key) == 0
    # Without Redis each instance goes on alone, without waiting for it.
    redis.stop()
    started = time.monotonic()
    status, h, body, _ = get(a, "/q?1")
    assert (status, body, h["x-cache-status"]) == (200, b"/q?1 1", "MISS")
    assert get(a, "/q?1")[1]["x-cache-status"] == "HIT"
    assert time.monotonic() - started < 2.5


def test_age_from_a_cache_before_counts(proxy):
    assert get(proxy, "/aged")[1]["x-cache-status"] == "MISS"
    status, h, body, _ = get(proxy, "/aged")  # stored with Age 60 of max-age 60: already stale
    assert (body, h["x-cache-status"]) == (b"/aged 2", "EXPIRED")


def test_a_304_that_sets_a_cookie_is_served_once_and_not_kept(proxy):
    assert get(proxy, "/cookie304")[2] == b"/cookie304 1"
    status, h, body, raw = get(proxy, "/cookie304")
    assert (status, body, h["x-cache-status"]) == (200, b"/cookie304 1", "REVALIDATED")
    assert values(raw, "Set-Cookie") == ["session=2"]
    status, h, body, raw = get(proxy, "/cookie304")
    assert (body, h["cache-status"]) == (b"/cookie304 3", "causeway; fwd=uri-miss; stored")
    assert values(raw, "Set-Cookie") == []


def test_no_stale_answer_for_an_error_unless_allowed(proxy):
    get(proxy, "/nosie")  # no-cache, no stale-if-error
    proxy.origin.down.add("/nosie")
    assert get(proxy, "/nosie")[0] == 503
    get(proxy, "/flaky")  # stale-if-error=60, but a request for a fresh answer gets the error
    proxy.origin.down.add("/flaky")
    assert get(proxy, "/flaky", {"Cache-Control": "no-cache"})[0] == 503


def test_key_is_the_url_the_client_asked_for(proxy):
    assert get(proxy, "/api/x", host="s.test")[2] == b"/x 1"  # stripPrefix after the cache
    assert get(proxy, "/api/x", host="s.test")[1]["x-cache-status"] == "HIT"
    assert get(proxy, "/api/x", host="s.test", method="POST")[0] == 200
    assert get(proxy, "/api/x", host="s.test")[1]["x-cache-status"] == "MISS"
    status, _, body = curl(proxy.url("traefik", "/api/http/caches/cache@file?url=s.test/api/x"), method="DELETE")
    assert json.loads(body) == {"purged": 1}


def test_access_log_says_what_the_cache_did(start_upstream, start_causeway, tmp_path):
    up = start_upstream(Origin())
    log = tmp_path / "access.json"
    cw = start(start_causeway, up.url, middlewares={"cache": {"httpCache": {}}},
               routers={"c": ("Host(`c.test`)", ["cache"])},
               static_extra=f"accessLog:\n  filePath: {log}\n  format: json\n  bufferingSize: 0\n")
    get(cw, "/fresh")
    get(cw, "/fresh")
    get(cw, "/fresh", method="POST")

    def started(line):  # RFC 3339 with up to nine digits after the second: compared as numbers
        head, _, fraction = line.get("StartUTC", "").rstrip("Z").partition(".")
        return head, int((fraction + "000000000")[:9])

    def cached():
        # A line is written when its exchange ends, after the client has its answer: the next
        # request, on another connection and worker, can be logged first. In the order sent:
        lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()] if log.exists() else []
        return [line.get("CacheStatus") for line in sorted(lines, key=started) if line.get("RouterName") == "c@file"]
    wait_until(lambda: len(cached()) == 3, message="three access log lines")
    assert cached() == ["MISS", "HIT", "BYPASS"]
