"""API management (commit 3caf986): the `apiManagement` resources of the file provider (apis,
apiAuths, apiPlans, apiBundles, managedApplications, managedSubscriptions, store) enforced by
the `api` middleware: callers identified by API key (401/403), their subscription chosen by
weight, plans' rate limits and quotas (429, in memory across reloads or shared through a real
redis-server by two instances, 503 when Redis is gone), what the upstream sees, `causeway check`
errors with file and line, and the resources under /api/apimanagement.

Reference: src/config/api_management.h, src/control/build_api_management.cpp,
src/gateway/api/api_management.cpp."""
import hashlib
import json
import os
import re
import subprocess
import time
import urllib.request

import pytest

from admin_env import api_get
from harness import BIN, free_port, routed, to_yaml, wait_until, whoami_echo, header_values
from mwkit import READY, get, lb
import redis_peer
from redis_peer import needs_redis

API_HOST = "api.test"
MAPS_HOST = "maps.test"

start_redis = redis_peer.start_redis  # the fixture


# ---------------------------------------------------------------------------------------
# Helpers

def dynamic(upstream, apim, routers=None, middlewares=None):
    """One dynamic file: the sentinel router, router `weather` (api.test) publishing API weather
    through middleware weather-api, more routers/middlewares if given, and `apiManagement`."""
    http = {
        "routers": {"sentinel": {"rule": f"Host(`{READY}`)", "service": "up"},
                    "weather": {"rule": f"Host(`{API_HOST}`)", "service": "up", "middlewares": ["weather-api"]}},
        "middlewares": {"weather-api": {"api": {"name": "weather"}}},
        "services": {"up": lb(upstream)},
    }
    http["routers"].update(routers or {})
    http["middlewares"].update(middlewares or {})
    return to_yaml({"http": http, "apiManagement": apim}) + "\n"


def apim(plans=None, applications=None, subscriptions=None, apis=None, bundles=None, auths=None, **more):
    out = {"apis": apis or {"weather": {"title": "Weather"}},
           "apiAuths": auths or {"keys": {"isDefault": True, "apiKey": {}}},
           "apiPlans": plans or {},
           "managedApplications": applications or {},
           "managedSubscriptions": subscriptions or {}}
    if bundles:
        out["apiBundles"] = bundles
    out.update(more)
    return out


def sub(app, plan, apis=("weather",), bundles=(), weight=None):
    s = {"managedApplications": [{"name": app}], "apiPlan": {"name": plan}}
    if apis:
        s["apis"] = [{"name": a} for a in apis]
    if bundles:
        s["apiBundles"] = [{"name": b} for b in bundles]
    if weight is not None:
        s["weight"] = weight
    return s


BIG = {"rateLimit": {"limit": 1000, "period": "1s"}, "quota": {"limit": 100000, "period": "1h"}}


def start(start_causeway, upstream, config, **kwargs):
    cw = start_causeway(dynamic={"app.yml": dynamic(upstream, config)}, **kwargs)
    routed(cw, READY)
    return cw


def call(cw, key=None, host=API_HOST, path="/", headers=()):
    """(status, headers, body) of a request to the API, with the key as a Bearer credential."""
    hdrs = list(headers)
    if key is not None:
        hdrs.append(f"Authorization: Bearer {key}")
    return get(cw, host, path, headers=hdrs)


def error_body(body):
    data = json.loads(body)
    assert set(data) == {"status", "error"}, data
    return data


def upstream_saw(body):
    """(request line, [(name, value)]) of the request whoami received."""
    request_line, headers, _ = whoami_echo(body)
    return request_line, headers


def check(tmp_path, text, *more):
    """`causeway check` on one dynamic file app.yml: (exit status, output, path of app.yml)."""
    dyn = tmp_path / "dynamic"
    dyn.mkdir(exist_ok=True)
    app = dyn / "app.yml"
    app.write_text(text)
    static = tmp_path / "static.yml"
    static.write_text(f"entryPoints:\n  web:\n    address: \"127.0.0.1:{free_port()}\"\n"
                      f"providers:\n  file:\n    directory: \"{dyn}\"\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAUSEWAY_", "TRAEFIK_"))}
    out = subprocess.run([BIN, "check", f"--configFile={static}", *more], cwd=str(tmp_path), env=env,
                         capture_output=True, text=True, timeout=20)
    return out.returncode, out.stdout + out.stderr, app


def position(text, line_marker, token):
    """1-based (line, column) of `token` on the first line of `text` that contains line_marker."""
    for number, line in enumerate(text.splitlines(), 1):
        if line_marker in line:
            return number, line.index(token) + 1
    raise AssertionError(f"{line_marker!r} not in the text")


# ---------------------------------------------------------------------------------------
# Identification and subscriptions

def test_keys_identify_the_application(start_whoami, start_causeway):
    w = start_whoami()
    config = apim(
        plans={"bronze": BIG},
        applications={"shop": {"appId": "shop-42", "owner": "alice",
                               "apiKeys": [{"value": "key-shop"}, {"value": "key-old", "suspended": True}]},
                      "frozen": {"suspended": True, "apiKeys": [{"value": "key-frozen"}]},
                      "lonely": {"apiKeys": [{"value": "key-lonely"}]}},
        subscriptions={"shop-bronze": sub("shop", "bronze"), "frozen-bronze": sub("frozen", "bronze")})
    cw = start(start_causeway, w.url, config)

    status, headers, body = call(cw)
    assert status == 401, body
    assert headers.get("www-authenticate") == 'Bearer realm="causeway"', headers
    assert headers.get("content-type", "").startswith("application/json")
    assert error_body(body) == {"status": 401, "error": "no API key"}

    status, headers, body = call(cw, "key-nobody")
    assert status == 401 and error_body(body)["status"] == 401, body
    assert "unknown" in error_body(body)["error"]
    assert headers.get("www-authenticate") == 'Bearer realm="causeway"'

    for key in ("key-old", "key-frozen"):  # a suspended key; a suspended application
        status, _, body = call(cw, key)
        assert status == 403, (key, body)
        assert "suspended" in error_body(body)["error"]

    status, _, body = call(cw, "key-lonely")
    assert status == 403, body
    err = error_body(body)["error"]
    assert "lonely" in err and "weather@file" in err and "subscription" in err, err

    # No refusal leaks a key.
    for key in ("key-nobody", "key-old", "key-lonely"):
        assert key.encode() not in call(cw, key)[2]

    status, headers, body = call(cw, "key-shop", path="/forecast?city=paris")
    assert status == 200, body
    request_line, seen = upstream_saw(body)
    assert request_line.startswith("GET /forecast?city=paris "), request_line
    assert header_values(seen, "Authorization") == [], seen
    assert header_values(seen, "X-Api-Application") == ["shop-42"], seen
    assert header_values(seen, "X-Api-Plan") == ["bronze@file"], seen
    assert b"key-shop" not in body


def test_query_key_is_taken_off_and_identity_headers_not_forgeable(start_whoami, start_causeway):
    w = start_whoami()
    config = apim(plans={"bronze": BIG},
                  applications={"blog": {"apiKeys": [{"value": "key-blog"}]}},  # appId: the name
                  subscriptions={"blog-bronze": sub("blog", "bronze")})
    cw = start(start_causeway, w.url, config)
    status, _, body = call(cw, path="/v1/now?a=1&api_key=key-blog&b=2",
                           headers=["X-Api-Application: admin", "X-Api-Plan: platinum@file"])
    assert status == 200, body
    request_line, seen = upstream_saw(body)
    path = request_line.split(" ")[1]
    assert path.startswith("/v1/now?") and "api_key" not in path, request_line
    assert "a=1" in path and "b=2" in path, request_line
    assert header_values(seen, "X-Api-Application") == ["blog"], seen
    assert header_values(seen, "X-Api-Plan") == ["bronze@file"], seen
    assert b"key-blog" not in body
    # A Bearer credential of another scheme is no key.
    assert get(cw, API_HOST, headers=["Authorization: Basic a2V5LWJsb2c="])[0] == 401


def test_custom_key_source(start_whoami, start_causeway):
    w = start_whoami()
    config = apim(auths={"hdr": {"isDefault": True, "apiKey": {"keySource": {
                      "header": "X-Api-Key", "headerAuthScheme": "", "query": "", "cookie": "apikey"}}}},
                  plans={"bronze": BIG},
                  applications={"shop": {"apiKeys": [{"value": "key-shop"}]}},
                  subscriptions={"shop-bronze": sub("shop", "bronze")})
    cw = start(start_causeway, w.url, config)
    status, _, body = get(cw, API_HOST, headers=["X-Api-Key: key-shop", "X-Other: kept"])
    assert status == 200, body
    _, seen = upstream_saw(body)
    assert header_values(seen, "X-Api-Key") == [] and header_values(seen, "X-Other") == ["kept"], seen
    status, _, body = get(cw, API_HOST, headers=["Cookie: theme=dark; apikey=key-shop; lang=fr"])
    assert status == 200, body
    _, seen = upstream_saw(body)
    cookies = header_values(seen, "Cookie")
    assert cookies and all("apikey" not in c for c in cookies), seen
    assert "theme=dark" in "; ".join(cookies) and "lang=fr" in "; ".join(cookies), seen
    # Not where this APIAuth reads keys.
    assert call(cw, "key-shop")[0] == 401
    assert get(cw, API_HOST, path="/?api_key=key-shop")[0] == 401


def test_key_references_and_sha256(start_whoami, start_causeway, tmp_path):
    w = start_whoami()
    key_file = tmp_path / "key.txt"
    key_file.write_text("key-from-file\n")
    digest = hashlib.sha256(b"key-hashed").hexdigest()
    config = apim(plans={"bronze": BIG},
                  applications={"env-app": {"apiKeys": [{"value": "env:CW_TEST_API_KEY"}]},
                                "file-app": {"apiKeys": [{"value": f"file:{key_file}"}]},
                                "hash-app": {"apiKeys": [{"sha256": digest.upper()[:32] + digest[32:]}]}},
                  subscriptions={"s": {"managedApplications": [{"name": "env-app"}, {"name": "file-app"},
                                                               {"name": "hash-app"}],
                                       "apis": [{"name": "weather"}], "apiPlan": {"name": "bronze"}}})
    cw = start(start_causeway, w.url, config, env={"CW_TEST_API_KEY": "key-from-env"})
    for key, app in (("key-from-env", "env-app"), ("key-from-file", "file-app"), ("key-hashed", "hash-app")):
        status, _, body = call(cw, key)
        assert status == 200, (key, body)
        assert header_values(upstream_saw(body)[1], "X-Api-Application") == [app]
    for wrong in ("env:CW_TEST_API_KEY", f"file:{key_file}", digest):  # the references are not keys
        assert call(cw, wrong)[0] == 401, wrong


def test_subscription_weight_and_bundles(start_whoami, start_causeway):
    w = start_whoami()
    config = apim(
        apis={"weather": {"title": "Weather"}, "maps": {"title": "Maps"}},
        bundles={"geo": {"apis": [{"name": "weather"}, {"name": "maps"}]}},
        plans={"basic": BIG, "premium": BIG, "alpha": BIG, "beta": BIG},
        applications={"shop": {"apiKeys": [{"value": "key-shop"}]},
                      "blog": {"apiKeys": [{"value": "key-blog"}]},
                      "news": {"apiKeys": [{"value": "key-news"}]}},
        subscriptions={
            # shop: the heavier subscription, through the bundle, wins over the direct one.
            "a-shop-basic": sub("shop", "basic", weight=1),
            "z-shop-premium": sub("shop", "premium", apis=(), bundles=("geo",), weight=5),
            # blog: equal weights, the first by name wins.
            "b-blog-beta": sub("blog", "beta", weight=2),
            "a-blog-alpha": sub("blog", "alpha", weight=2),
            # news: only maps, directly.
            "news-basic": sub("news", "basic", apis=("maps",)),
        })
    routers = {"maps": {"rule": f"Host(`{MAPS_HOST}`)", "service": "up", "middlewares": ["maps-api"]}}
    cw = start_causeway(dynamic={"app.yml": dynamic(w.url, config, routers, {"maps-api": {"api": {"name": "maps"}}})})
    routed(cw, READY)

    def plan(key, host=API_HOST):
        status, _, body = call(cw, key, host=host)
        assert status == 200, (key, host, body)
        return header_values(upstream_saw(body)[1], "X-Api-Plan")

    assert plan("key-shop") == ["premium@file"]
    assert plan("key-shop", MAPS_HOST) == ["premium@file"]  # the bundle covers maps too
    assert plan("key-blog") == ["alpha@file"]
    assert plan("key-news", MAPS_HOST) == ["basic@file"]
    status, _, body = call(cw, "key-news")
    assert status == 403 and "no subscription" in error_body(body)["error"], body
    status, _, body = call(cw, "key-blog", host=MAPS_HOST)
    assert status == 403, body


# ---------------------------------------------------------------------------------------
# Plans

def test_rate_limit_and_quota_in_memory(start_whoami, start_causeway):
    """rateLimit 2 per 2 s (a token a second, bursts of 2) and quota 3 per hour: a request the
    rate limit refuses costs no quota; one the quota refuses costs no token."""
    w = start_whoami()
    config = apim(plans={"bronze": {"rateLimit": {"limit": 2, "period": "2s"}, "quota": {"limit": 3, "period": "1h"}}},
                  applications={"shop": {"apiKeys": [{"value": "key-shop"}]},
                                "blog": {"apiKeys": [{"value": "key-blog"}]}},
                  subscriptions={"shop-bronze": sub("shop", "bronze"), "blog-bronze": sub("blog", "bronze")})
    cw = start(start_causeway, w.url, config)

    s1, h1, _ = call(cw, "key-shop")
    s2, h2, _ = call(cw, "key-shop")
    assert (s1, s2) == (200, 200)
    assert (h1["x-ratelimit-limit"], h1["x-quota-limit"]) == ("2", "3"), h1
    assert (h1["x-ratelimit-remaining"], h2["x-ratelimit-remaining"]) == ("1", "0")
    assert (h1["x-quota-remaining"], h2["x-quota-remaining"]) == ("2", "1")
    # The bucket is empty: refused by the rate limit, twice; the quota is not charged.
    for _ in range(2):
        status, headers, body = call(cw, "key-shop")
        assert status == 429, body
        assert "rate limit of plan bronze@file" in error_body(body)["error"], body
        assert 1 <= int(headers["retry-after"]) <= 2, headers
        assert headers["x-ratelimit-remaining"] == "0" and headers["x-quota-remaining"] == "1", headers
    # Another subscription of the same plan has its own counters.
    assert call(cw, "key-blog")[1]["x-quota-remaining"] == "2"
    time.sleep(1.1)
    status, headers, _ = call(cw, "key-shop")
    assert status == 200 and headers["x-quota-remaining"] == "0", headers
    time.sleep(2.1)  # the bucket is whole again
    # The quota is spent for the hour: each request is refused by the quota, none takes a
    # token (else the third would be the rate limit's).
    for _ in range(3):
        status, headers, body = call(cw, "key-shop")
        assert status == 429, body
        assert "quota of plan bronze@file" in error_body(body)["error"], body
        assert 1200 <= int(headers["retry-after"]) <= 4800, headers  # a third of the hour slides out
        assert headers["x-quota-remaining"] == "0" and headers["x-quota-limit"] == "3", headers
        assert headers["x-ratelimit-limit"] == "2", headers


def test_plan_buckets(start_whoami, start_causeway):
    """quota.bucket: `application-api` counts per API, `subscription` (the default) once for
    every API of the subscription, `application` once for all of the application's APIs."""
    w = start_whoami()
    config = apim(
        apis={"weather": {"title": "Weather"}, "maps": {"title": "Maps"}},
        plans={"per-api": {"quota": {"limit": 1, "period": "1h", "bucket": "application-api"}},
               "per-sub": {"quota": {"limit": 1, "period": "1h"}},
               "per-app": {"quota": {"limit": 2, "period": "1h", "bucket": "application"}}},
        applications={"shop": {"apiKeys": [{"value": "key-shop"}]},
                      "blog": {"apiKeys": [{"value": "key-blog"}]},
                      "news": {"apiKeys": [{"value": "key-news"}]}},
        subscriptions={"shop-s": sub("shop", "per-api", apis=("weather", "maps")),
                       "blog-s": sub("blog", "per-sub", apis=("weather", "maps")),
                       # news: one subscription per API, both on the per-application plan.
                       "news-w": sub("news", "per-app", apis=("weather",)),
                       "news-m": sub("news", "per-app", apis=("maps",))})
    routers = {"maps": {"rule": f"Host(`{MAPS_HOST}`)", "service": "up", "middlewares": ["maps-api"]}}
    cw = start_causeway(dynamic={"app.yml": dynamic(w.url, config, routers, {"maps-api": {"api": {"name": "maps"}}})})
    routed(cw, READY)

    def statuses(key, hosts):
        return [call(cw, key, host=h)[0] for h in hosts]

    assert statuses("key-shop", [API_HOST, MAPS_HOST, API_HOST, MAPS_HOST]) == [200, 200, 429, 429]
    assert statuses("key-blog", [API_HOST, MAPS_HOST]) == [200, 429]
    assert statuses("key-news", [API_HOST, MAPS_HOST, API_HOST]) == [200, 200, 429]


def test_counters_survive_a_reload_keeping_the_plan(start_whoami, start_causeway):
    w = start_whoami()
    plans = {"bronze": {"quota": {"limit": 2, "period": "1h"}}}
    config = apim(plans=plans, applications={"shop": {"apiKeys": [{"value": "key-shop"}]}},
                  subscriptions={"shop-bronze": sub("shop", "bronze")})
    cw = start(start_causeway, w.url, config)
    status, headers, _ = call(cw, "key-shop")
    assert status == 200 and headers["x-quota-remaining"] == "1", headers

    # An unrelated router is added: the api middleware is built again, the quota is still spent.
    cw.write("app.yml", dynamic(w.url, config, routers={"other": {"rule": "Host(`other.test`)", "service": "up"}}))
    routed(cw, "other.test")
    status, headers, _ = call(cw, "key-shop")
    assert status == 200 and headers["x-quota-remaining"] == "0", headers
    assert call(cw, "key-shop")[0] == 429

    # Another unrelated change (a new application): still spent.
    config["managedApplications"]["blog"] = {"apiKeys": [{"value": "key-blog"}]}
    cw.write("app.yml", dynamic(w.url, config, routers={"other2": {"rule": "Host(`other2.test`)", "service": "up"}}))
    routed(cw, "other2.test")
    assert call(cw, "key-blog")[0] == 403
    assert call(cw, "key-shop")[0] == 429

    # A plan with other limits starts new counters.
    plans["bronze"]["quota"]["limit"] = 3
    cw.write("app.yml", dynamic(w.url, config, routers={"other3": {"rule": "Host(`other3.test`)", "service": "up"}}))
    routed(cw, "other3.test")
    status, headers, _ = call(cw, "key-shop")
    assert status == 200 and headers["x-quota-limit"] == "3" and headers["x-quota-remaining"] == "2", headers


def test_bad_reload_keeps_the_good_subscription(start_whoami, start_causeway):
    w = start_whoami()
    config = apim(plans={"bronze": {"quota": {"limit": 5, "period": "1h"}}},
                  applications={"shop": {"apiKeys": [{"value": "key-shop"}]},
                                "blog": {"apiKeys": [{"value": "key-blog"}]}},
                  subscriptions={"shop-bronze": sub("shop", "bronze")})
    cw = start(start_causeway, w.url, config, entrypoints=("web", "traefik"), static_extra="api:\n  insecure: true\n")
    assert call(cw, "key-shop")[1]["x-quota-remaining"] == "4"

    config["managedSubscriptions"]["blog-gold"] = sub("blog", "gold")  # no such plan
    cw.write("app.yml", dynamic(w.url, config, routers={"other": {"rule": "Host(`other.test`)", "service": "up"}}))
    routed(cw, "other.test")
    status, _, subscription = api_get(cw, "/api/apimanagement/managedSubscriptions/blog-gold@file")
    assert status == 200 and subscription["status"] == "disabled", subscription
    assert any('apiPlans "gold@file" does not exist' in e for e in subscription["error"]), subscription
    # The good subscription still works, with its counters; the broken one grants nothing.
    status, headers, _ = call(cw, "key-shop")
    assert status == 200 and headers["x-quota-remaining"] == "3", headers
    status, _, body = call(cw, "key-blog")
    assert status == 403 and "no subscription" in error_body(body)["error"], body
    assert cw.proc.poll() is None


# ---------------------------------------------------------------------------------------
# Redis store

@needs_redis
def test_two_instances_share_a_quota_in_redis(start_whoami, start_causeway, start_redis):
    redis = start_redis()
    w = start_whoami()
    config = apim(plans={"bronze": {"rateLimit": {"limit": 100, "period": "1s"}, "quota": {"limit": 3, "period": "1h"}}},
                  applications={"shop": {"apiKeys": [{"value": "key-shop"}]},
                                "blog": {"apiKeys": [{"value": "key-blog"}]}},
                  subscriptions={"shop-bronze": sub("shop", "bronze"), "blog-bronze": sub("blog", "bronze")},
                  store={"redis": {"endpoints": [f"127.0.0.1:{redis.port}"], "timeout": "1s"}, "keyPrefix": "t:apim:"})
    a = start(start_causeway, w.url, config)
    b = start(start_causeway, w.url, config)
    got = []
    for i in range(5):
        status, headers, body = call((a, b)[i % 2], "key-shop")
        got.append((status, headers.get("x-quota-remaining")))
        if status == 429:
            assert "quota" in error_body(body)["error"] and int(headers["retry-after"]) > 60, headers
    assert got == [(200, "2"), (200, "1"), (200, "0"), (429, "0"), (429, "0")], got
    assert call(b, "key-blog")[0] == 200  # its own subscription's counters
    keys = redis.command("KEYS", "*")
    assert keys and all(k.startswith("t:apim:bronze@file:") for k in keys), keys
    assert any("shop-bronze@file" in k for k in keys) and any("blog-bronze@file" in k for k in keys), keys

    # Redis gone: plans fail closed.
    redis.stop()
    for cw in (a, b):
        status, headers, body = call(cw, "key-blog")
        assert status == 503, body
        assert headers.get("retry-after") == "1", headers
        assert error_body(body)["status"] == 503
    # Identification still comes first.
    assert call(a)[0] == 401
    assert a.proc.poll() is None and b.proc.poll() is None


@pytest.mark.parametrize("where", ["memory", pytest.param("redis", marks=needs_redis)])
def test_quota_refusals_take_no_rate_limit_tokens(start_whoami, start_causeway, start_redis, where):
    """The rate limit counts per application (over both of its APIs), the quota per subscription
    (one per API). Requests the weather quota refuses must not use the application's rate limit,
    so maps still has tokens left: in memory, and with the counters in Redis."""
    w = start_whoami()
    more = {}
    if where == "redis":
        redis = start_redis()
        more["store"] = {"redis": {"endpoints": [f"127.0.0.1:{redis.port}"], "timeout": "1s"}}
    config = apim(
        apis={"weather": {"title": "Weather"}, "maps": {"title": "Maps"}},
        plans={"p": {"rateLimit": {"limit": 3, "period": "1h", "bucket": "application"},
                     "quota": {"limit": 1, "period": "1h"}}},
        applications={"shop": {"apiKeys": [{"value": "key-shop"}]}},
        subscriptions={"shop-weather": sub("shop", "p", apis=("weather",)),
                       "shop-maps": sub("shop", "p", apis=("maps",))},
        **more)
    routers = {"maps": {"rule": f"Host(`{MAPS_HOST}`)", "service": "up", "middlewares": ["maps-api"]}}
    cw = start_causeway(dynamic={"app.yml": dynamic(w.url, config, routers, {"maps-api": {"api": {"name": "maps"}}})})
    routed(cw, READY)
    status, headers, _ = call(cw, "key-shop")
    assert status == 200 and headers["x-ratelimit-remaining"] == "2", headers
    for _ in range(2):
        status, headers, body = call(cw, "key-shop")
        assert status == 429 and "quota" in error_body(body)["error"], body
    status, headers, body = call(cw, "key-shop", host=MAPS_HOST)
    assert status == 200, (status, headers, body)
    assert headers["x-ratelimit-remaining"] == "1" and headers["x-quota-remaining"] == "0", headers


# ---------------------------------------------------------------------------------------
# causeway check

def checked_file(api_management, routers=""):
    """A dynamic file for `causeway check` (here and in test_portal_api.py): router weather on
    api.test publishes API weather, whose keys are the provider's default APIAuth; `routers`: the
    lines of more routers, `api_management`: the lines that follow under apiManagement."""
    return ('http:\n'
            '  routers:\n'
            '    weather: {rule: "Host(`api.test`)", service: up, middlewares: [weather-api]}\n'
            + routers +
            '  middlewares:\n'
            '    weather-api: {api: {name: weather}}\n'
            '  services:\n'
            '    up: {loadBalancer: {servers: [{url: "http://127.0.0.1:9"}]}}\n'
            'apiManagement:\n'
            '  apis: {weather: {title: Weather}}\n'
            '  apiAuths: {keys: {isDefault: true, apiKey: {}}}\n'
            + api_management)


EXAMPLE = checked_file("""\
  apiPlans:
    bronze: {rateLimit: {limit: 2, period: 10s}, quota: {limit: 3, period: 1h}}
  managedApplications:
    shop: {appId: shop, owner: alice, apiKeys: [{value: key-shop}]}
  managedSubscriptions:
    shop-bronze: {managedApplications: [{name: shop}], apis: [{name: weather}], apiPlan: {name: bronze}}
""")


def errors_of(output):
    return [line for line in output.splitlines() if line.startswith("error:")]


def test_check_accepts_the_example(tmp_path):
    code, output, _ = check(tmp_path, EXAMPLE)
    assert code == 0, output
    assert errors_of(output) == [] and "1 enabled of 1" in output, output


def test_check_reports_missing_references_with_file_and_line(tmp_path):
    text = EXAMPLE + ("    broken: {managedApplications: [{name: nobody}], apis: [{name: weather}], "
                      "apiPlan: {name: gold}}\n")
    code, output, app = check(tmp_path, text)
    assert code == 1, output
    errors = errors_of(output)
    line, col = position(text, "broken:", "nobody")
    assert (f'error: apiManagement.managedSubscriptions broken@file: {app}:{line}:{col}: '
            f'managedApplications "nobody@file" does not exist') in errors, (errors, line, col)
    line, col = position(text, "broken:", "gold")
    assert (f'error: apiManagement.managedSubscriptions broken@file: {app}:{line}:{col}: '
            f'apiPlans "gold@file" does not exist') in errors, (errors, line, col)
    assert len(errors) == 2, output
    assert "2 error(s)" in output


def test_check_configuration_errors(tmp_path):
    # An API of a provider without a default APIAuth.
    text = EXAMPLE.replace("  apiAuths: {keys: {isDefault: true, apiKey: {}}}\n", "")
    code, output, app = check(tmp_path, text)
    assert code == 1, output
    assert any(e.startswith("error: apiManagement.apis weather@file:") and "has no default APIAuth" in e
               for e in errors_of(output)), output
    assert any("middleware weather-api@file" in e and "weather@file" in e for e in errors_of(output)), output

    # Two applications with the same key: an error on the api middleware.
    text = EXAMPLE.replace("    shop: {appId: shop, owner: alice, apiKeys: [{value: key-shop}]}\n",
                           "    shop: {appId: shop, owner: alice, apiKeys: [{value: key-shop}]}\n"
                           "    blog: {apiKeys: [{value: key-shop}]}\n")
    code, output, _ = check(tmp_path, text)
    assert code == 1, output
    dup = [e for e in errors_of(output) if "the same key belongs to application" in e]
    assert len(dup) == 1 and "middleware weather-api@file" in dup[0], output
    assert "key-shop" not in output

    # A plan with limit 0; a rate limit period over an hour.
    text = EXAMPLE.replace("rateLimit: {limit: 2, period: 10s}", "rateLimit: {limit: 0, period: 2h}")
    code, output, _ = check(tmp_path, text)
    assert code == 1, output
    plan = [e for e in errors_of(output) if e.startswith("error: apiManagement.apiPlans bronze@file:")]
    assert any("rateLimit.limit: must be greater than 0" in e for e in plan), output
    assert any("rateLimit.period: must be between 1s and 1h" in e for e in plan), output
    # The subscription on it is reported too.
    assert any("managedSubscriptions shop-bronze@file" in e and 'apiPlans "bronze@file" has errors' in e
               for e in errors_of(output)), output


def test_check_portal_parts_not_supported_yet(tmp_path):
    """The portal's resources are checked; what causeway cannot do yet (LDAP sign-in, catalog items
    selecting APIs by label) is a not-supported warning with file and line, not an error."""
    text = EXAMPLE + ("  apiPortals: {portal: {title: Dev, trustedUrls: [http://dev.test], auth: dir}}\n"
                      "  apiPortalAuths: {dir: {ldap: {url: ldap://127.0.0.1:1}}}\n"
                      "  apiCatalogItems: {all: {everyone: true, apis: [shop], apiSelector: {matchLabels: {a: b}}}}\n")
    code, output, app = check(tmp_path, text)
    assert code == 3, output
    warnings = [line for line in output.splitlines() if line.startswith("warning (not supported yet):")]
    assert any("apiManagement.apiPortalAuths" in w and "ldap" in w and str(app) in w for w in warnings), output
    assert any("apiManagement.apiCatalogItems" in w and "apiSelector" in w for w in warnings), output
    assert errors_of(output) == [], output
    code, output, _ = check(tmp_path, text, "--acceptUnsupported")
    assert code == 0, output


# ---------------------------------------------------------------------------------------
# REST API

def test_rest_api_lists_resources_without_keys(start_whoami, start_causeway):
    w = start_whoami()
    digest = hashlib.sha256(b"key-hashed").hexdigest()
    config = apim(
        bundles={"geo": {"apis": [{"name": "weather"}]}},
        plans={"bronze": {"rateLimit": {"limit": 2, "period": "10s"}, "quota": {"limit": 3, "period": "1h"}}},
        applications={"shop": {"appId": "shop", "owner": "alice",
                               "apiKeys": [{"title": "main", "value": "key-shop-secret"},
                                           {"value": "key-old-secret", "suspended": True}]},
                      "hashed": {"apiKeys": [{"sha256": digest}]}},
        subscriptions={"shop-bronze": sub("shop", "bronze", apis=(), bundles=("geo",), weight=1),
                       "broken": sub("nobody", "bronze")})
    cw = start(start_causeway, w.url, config, entrypoints=("web", "traefik"), static_extra="api:\n  insecure: true\n")

    wait_until(lambda: api_get(cw, "/api/apimanagement/apis")[0] == 200, message="the API")
    for kind in ("apis", "apiAuths", "apiPlans", "apiBundles", "managedApplications", "managedSubscriptions"):
        status, _, listed = api_get(cw, f"/api/apimanagement/{kind}")
        assert status == 200 and isinstance(listed, list) and listed, (kind, listed)
        for item in listed:
            assert item["kind"] == kind and item["provider"] == "file" and item["name"].endswith("@file"), item
        text = json.dumps(listed)
        for secret in ("key-shop-secret", "key-old-secret", digest):
            assert secret not in text, (kind, text)

    status, _, apps = api_get(cw, "/api/apimanagement/managedApplications")
    assert sorted(a["name"] for a in apps) == ["hashed@file", "shop@file"], apps
    status, _, shop = api_get(cw, "/api/apimanagement/managedApplications/shop@file")
    assert status == 200, shop
    assert shop["spec"]["owner"] == "alice" and shop["status"] == "enabled", shop
    keys = shop["spec"]["apiKeys"]
    assert len(keys) == 2 and keys[0].get("title") == "main" and keys[1].get("suspended") is True, keys
    for key in keys:
        assert not {"value", "sha256", "secretName"} & set(key), key
    assert "shop-bronze@file" in shop.get("usedBy", []), shop

    status, _, api = api_get(cw, "/api/apimanagement/apis/weather@file")
    assert status == 200 and api["spec"]["title"] == "Weather" and api["status"] == "enabled", api
    assert "weather-api@file" in api["usedBy"], api
    status, _, plan = api_get(cw, "/api/apimanagement/apiPlans/bronze@file")
    assert plan["spec"]["quota"]["limit"] == 3 and "shop-bronze@file" in plan["usedBy"], plan
    status, _, bundle = api_get(cw, "/api/apimanagement/apiBundles/geo@file")
    assert bundle["usedBy"] == ["shop-bronze@file"], bundle

    status, _, broken = api_get(cw, "/api/apimanagement/managedSubscriptions/broken@file")
    assert status == 200 and broken["status"] == "disabled", broken
    assert any('managedApplications "nobody@file" does not exist' in e for e in broken["error"]), broken
    assert re.search(r"app\.yml:\d+:\d+", broken["error"][0]), broken

    assert api_get(cw, "/api/apimanagement/apiPlans/gold@file")[0] == 404
    assert api_get(cw, "/api/apimanagement/apiPortals")[2] == []
    assert call(cw, "key-shop-secret")[0] == 200
    assert call(cw, "key-hashed")[0] == 403  # no subscription


def test_metrics_per_api_application_and_plan(start_whoami, start_causeway):
    """traefik_hub_api_* (Traefik Hub's names): requests, durations and bytes per API, application,
    plan, method and status; refusals are counted with what was known of the caller."""
    w = start_whoami()
    config = apim(plans={"bronze": {"quota": {"limit": 2, "period": "1h"}}},
                  applications={"shop": {"apiKeys": [{"value": "key-shop"}]}},
                  subscriptions={"shop-bronze": sub("shop", "bronze")})
    cw = start(start_causeway, w.url, config, entrypoints=("web", "traefik"),
               static_extra="metrics:\n  prometheus: {}\n")
    statuses = [call(cw, "key-shop")[0] for _ in range(3)] + [call(cw, "nope")[0]]
    assert statuses == [200, 200, 429, 401], statuses
    text = urllib.request.urlopen(cw.url("traefik", "/metrics"), timeout=10).read().decode()

    def value(name, **labels):
        for line in text.splitlines():
            if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
        return None

    ok = {"api": "weather@file", "application": "shop", "plan": "bronze@file", "method": "GET"}
    assert value("traefik_hub_api_requests_total", code="200", **ok) == 2
    assert value("traefik_hub_api_requests_total", code="429", **ok) == 1
    assert value("traefik_hub_api_requests_total", code="401", api="weather@file", application="") == 1
    assert value("traefik_hub_api_requests_duration_milliseconds_count", code="200", **ok) == 2
    assert value("traefik_hub_api_responses_bytes_total", code="200", **ok) > 0
    assert value("traefik_hub_api_requests_bytes_total", code="200", **ok) is not None


def jwt_hs256(secret, claims):
    """An HS256 token (RFC 7515: base64url(header).base64url(claims), HMAC-SHA256)."""
    import base64
    import hmac

    def b64(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    signing = b64({"alg": "HS256", "typ": "JWT"}) + "." + b64(claims)
    mac = hmac.new(secret.encode(), signing.encode(), hashlib.sha256).digest()
    return signing + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def test_jwt_apiauth_names_the_application_by_a_claim(start_whoami, start_causeway):
    """An APIAuth with jwt: the token is verified as the jwt middleware verifies it, its
    appIdClaim (here a dotted path) names the application, whose subscription and plan apply;
    Hub's tokenQueryKey is the token's query parameter."""
    secret = "apim-jwt-secret-of-thirty-two-bytes"
    w = start_whoami()
    config = apim(auths={"tokens": {"isDefault": True, "jwt": {"signingSecret": secret, "appIdClaim": "app.id",
                                                               "tokenQueryKey": "token"}}},
                  plans={"bronze": {"quota": {"limit": 2, "period": "1h"}}},
                  applications={"shop": {"appId": "shop-app"}, "blog": {},
                                "old": {"appId": "old-app", "suspended": True}},
                  subscriptions={"shop-bronze": sub("shop", "bronze"), "old-bronze": sub("old", "bronze")})
    cw = start(start_causeway, w.url, config)
    exp = int(time.time()) + 600

    def token(claims):
        return jwt_hs256(secret, {"exp": exp, **claims})

    assert call(cw)[0] == 401  # no token: the jwt middleware's refusal
    assert call(cw, jwt_hs256("another-secret-of-thirty-two-bytes", {"app": {"id": "shop-app"}, "exp": exp}))[0] == 401
    status, _, body = call(cw, token({"sub": "u1"}))
    assert status == 403 and "app.id" in error_body(body)["error"]
    assert call(cw, token({"app": {"id": "nobody"}}))[0] == 403
    assert call(cw, token({"app": {"id": "blog"}}))[0] == 403    # no subscription
    assert call(cw, token({"app": {"id": "old-app"}}))[0] == 403  # suspended
    status, _, body = call(cw, token({"app": {"id": "shop-app"}}))
    assert status == 200
    _, seen = upstream_saw(body)
    assert ("X-Api-Application", "shop-app") in seen and not [v for k, v in seen if k.lower() == "authorization"]
    # The token from the query parameter Hub's tokenQueryKey names; then the quota is spent.
    assert get(cw, API_HOST, "/?token=" + token({"app": {"id": "shop-app"}}))[0] == 200
    assert call(cw, token({"app": {"id": "shop-app"}}))[0] == 429


def test_subscription_claims_decide_with_the_token(start_whoami, start_causeway):
    """A ManagedSubscription's `claims` (the claims language of the jwt middleware): it applies
    only to tokens whose claims satisfy it; the next subscription by weight is tried otherwise.
    An expression that does not parse grants nothing (a warning on the api middleware)."""
    secret = "apim-jwt-secret-of-thirty-two-bytes"
    w = start_whoami()
    gold = dict(sub("shop", "gold", weight=10), claims="Equals(`tier`, `gold`)")
    broken = dict(sub("blog", "gold"), claims="Equals(`tier`")
    config = apim(auths={"tokens": {"isDefault": True, "jwt": {"signingSecret": secret, "appIdClaim": "app"}}},
                  plans={"gold": BIG, "bronze": {"quota": {"limit": 100, "period": "1h"}}},
                  applications={"shop": {}, "blog": {}},
                  subscriptions={"shop-gold": gold, "shop-bronze": sub("shop", "bronze"), "blog-gold": broken})
    cw = start(start_causeway, w.url, config, entrypoints=("web", "traefik"), static_extra="api:\n  insecure: true\n")
    exp = int(time.time()) + 600
    status, _, body = call(cw, jwt_hs256(secret, {"exp": exp, "app": "shop", "tier": "gold"}))
    assert status == 200 and ("X-Api-Plan", "gold@file") in upstream_saw(body)[1], body
    status, _, body = call(cw, jwt_hs256(secret, {"exp": exp, "app": "shop", "tier": "free"}))
    assert status == 200 and ("X-Api-Plan", "bronze@file") in upstream_saw(body)[1], body
    status, _, body = call(cw, jwt_hs256(secret, {"exp": exp, "app": "blog", "tier": "gold"}))
    assert status == 403, body
    status, _, mw = api_get(cw, "/api/http/middlewares/weather-api@file")
    assert any("blog-gold" in e and "claims" in e for e in mw.get("error", [])), mw


def test_api_cors_answers_preflights_before_the_key(start_whoami, start_causeway):
    """An API's cors (Hub's names): a preflight from an allowed origin is answered without a key;
    responses to that origin carry Access-Control-Allow-Origin, others' do not."""
    w = start_whoami()
    cors = {"allowOriginsList": ["https://app.example.com"], "allowMethodsList": ["GET", "POST"],
            "allowHeadersList": ["Authorization"], "exposeHeadersList": ["X-Quota-Remaining"], "maxAge": 600}
    config = apim(apis={"weather": {"cors": cors}},
                  plans={"big": BIG}, applications={"shop": {"apiKeys": [{"value": "cors-key"}]}},
                  subscriptions={"shop-big": sub("shop", "big")})
    cw = start(start_causeway, w.url, config)
    origin = "Origin: https://app.example.com"
    status, headers, _ = get(cw, API_HOST, "/", method="OPTIONS",
                             headers=[origin, "Access-Control-Request-Method: POST",
                                      "Access-Control-Request-Headers: Authorization"])
    assert status == 200, headers
    assert headers.get("access-control-allow-origin") == "https://app.example.com", headers
    assert "POST" in headers.get("access-control-allow-methods", ""), headers
    assert headers.get("access-control-max-age") == "600", headers
    status, headers, _ = call(cw, "cors-key", headers=[origin])
    assert status == 200 and headers.get("access-control-allow-origin") == "https://app.example.com", headers
    assert headers.get("access-control-expose-headers") == "X-Quota-Remaining", headers
    # Another origin gets no grant; the key is still needed for the request itself.
    status, headers, _ = call(cw, "cors-key", headers=["Origin: https://evil.example.com"])
    assert status == 200 and "access-control-allow-origin" not in headers, headers
    assert call(cw, None, headers=[origin])[0] == 401


def test_check_jwt_apiauth_errors(tmp_path):
    """jwt needs appIdClaim; signingSecretName (a Kubernetes secret) says what to use instead."""
    def text(jwt):
        return to_yaml({"http": {"routers": {"r": {"rule": "Host(`a`)", "service": "s", "middlewares": ["pub"]}},
                                 "middlewares": {"pub": {"api": {"name": "weather"}}},
                                 "services": {"s": lb("http://127.0.0.1:1")}},
                        "apiManagement": apim(auths={"t": {"isDefault": True, "jwt": jwt}})})

    code, out, _ = check(tmp_path, text({"signingSecret": "x" * 32}))
    assert code == 1 and "jwt.appIdClaim: required" in out, out
    code, out, _ = check(tmp_path, text({"appIdClaim": "app", "signingSecretName": "s"}))
    assert code == 1 and "signingSecretName needs the Kubernetes provider" in out, out


def test_operation_sets_filter_subscriptions_and_the_contract_applies(start_whoami, start_causeway, tmp_path):
    """The API's openApiSpec: operationSets name groups of operations; a subscription with an
    operationFilter covers only those, so an application may have a cheap plan for reads and
    none for writes. With validateRequestMethodAndPath on, a path the document does not
    declare gets 404 after the caller is identified."""
    spec = tmp_path / "weather.json"
    spec.write_text(json.dumps({
        "openapi": "3.0.3", "info": {"title": "Weather", "version": "1"},
        "paths": {"/forecast": {"get": {"responses": {"200": {"description": "ok"}}}},
                  "/alerts": {"get": {"responses": {"200": {"description": "ok"}}},
                              "post": {"responses": {"200": {"description": "ok"}}}}}}))
    w = start_whoami()
    api = {"weather": {"title": "Weather", "openApiSpec": {
        "file": str(spec), "validateRequestMethodAndPath": True,
        "operationSets": [{"name": "reads", "matchers": [{"methods": ["GET"]}]},
                          {"name": "alerts", "matchers": [{"pathPrefix": "/alerts"}]},
                          {"name": "forecast", "matchers": [{"pathRegex": "/fore[a-z]+"}]}]}}}
    config = apim(apis=api, plans={"free": BIG, "pro": BIG},
                  applications={"shop": {"apiKeys": [{"value": "key-shop"}]},
                                "blog": {"apiKeys": [{"value": "key-blog"}]}},
                  subscriptions={
                      "shop-reads": {**sub("shop", "free"), "operationFilter": {"include": ["reads"]}},
                      "shop-alerts": {**sub("shop", "pro", weight=5), "operationFilter": {"include": ["alerts"]}},
                      "blog-forecast": {**sub("blog", "free"), "operationFilter": {"include": ["forecast", "missing"]}}})
    cw = start(start_causeway, w.url, config)

    def plan(key, path, method=None):
        status, headers, body = get(cw, API_HOST, path, method=method, headers=[f"Authorization: Bearer {key}"])
        if status != 200:
            return status
        return dict(upstream_saw(body)[1]).get("X-Api-Plan")

    assert plan("key-shop", "/forecast") == "free@file"          # only reads covers it
    assert plan("key-shop", "/alerts") == "pro@file"             # both cover it: the higher weight
    assert plan("key-shop", "/alerts", method="POST") == "pro@file"
    assert plan("key-blog", "/forecast") == "free@file"
    status, _, body = call(cw, "key-blog", path="/alerts")
    assert status == 403 and "covers this operation" in error_body(body)["error"]
    assert plan("key-shop", "/nowhere") == 404                   # the contract, after the key
    assert call(cw, None, path="/nowhere")[0] == 401


class DocumentServer:
    """The API's own service for openApiSpec.path: /openapi.json is its document (one path,
    /forecast), anything else answers 200 "served"; counts the document's fetches."""

    def __init__(self):
        import http.server
        import threading
        server_self = self
        self.fetches = 0
        document = json.dumps({"openapi": "3.0.3", "info": {"title": "Weather", "version": "1"},
                               "paths": {"/forecast": {"get": {"responses": {"200": {"description": "ok"}}}}}})

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = document if self.path == "/openapi.json" else "served"
                if self.path == "/openapi.json":
                    server_self.fetches += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json" if self.path == "/openapi.json" else "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_openapi_spec_path_is_read_from_the_apis_own_service(start_causeway):
    """Hub's openApiSpec.path: the document the API's own service serves, read from the first
    server of the loadBalancer service of the router that publishes the API; its contract then
    applies (a path it does not declare: 404, without reaching the service)."""
    docs = DocumentServer()
    try:
        api = {"weather": {"openApiSpec": {"path": "/openapi.json", "validateRequestMethodAndPath": True}}}
        config = apim(apis=api, plans={"big": BIG}, applications={"shop": {"apiKeys": [{"value": "path-key"}]}},
                      subscriptions={"shop-big": sub("shop", "big")})
        cw = start(start_causeway, docs.url, config)
        status, _, body = call(cw, "path-key", path="/forecast")
        assert status == 200 and body == b"served", body
        assert call(cw, "path-key", path="/elsewhere")[0] == 404
        assert docs.fetches >= 1
    finally:
        docs.close()


def test_check_openapi_spec_errors(tmp_path):
    """openApiSpec.path needs a router publishing the API through a loadBalancer service; a bad
    pathRegex is an error naming the set."""
    def text(spec):
        return to_yaml({"http": {"routers": {"r": {"rule": "Host(`a`)", "service": "s", "middlewares": ["pub"]}},
                                 "middlewares": {"pub": {"api": {"name": "weather"}}},
                                 "services": {"s": lb("http://127.0.0.1:1")}},
                        "apiManagement": apim(apis={"weather": {"openApiSpec": spec}})})

    # A path is read from the publishing router's service; with no such router, an error.
    code, out, _ = check(tmp_path, text({"path": "/openapi.json"}))
    assert code == 0, out
    # The router's service is weighted: no server of its own to ask.
    unpublished = to_yaml({
        "http": {"routers": {"r": {"rule": "Host(`a`)", "service": "s", "middlewares": ["pub"]}},
                 "middlewares": {"pub": {"api": {"name": "weather"}}},
                 "services": {"s": {"weighted": {"services": [{"name": "t"}]}}, "t": lb("http://127.0.0.1:1")}},
        "apiManagement": apim(apis={"weather": {"openApiSpec": {"path": "/openapi.json"}}})})
    code, out, _ = check(tmp_path, unpublished)
    assert code == 1 and "openApiSpec.path: no router publishes this API" in out and "give its url" in out, out
    code, out, _ = check(tmp_path, text({"operationSets": [{"name": "bad", "matchers": [{"pathRegex": "("}]}]}))
    assert code == 1 and "operationSets bad: pathRegex" in out, out
    # A document that does not parse: an error naming the file when requests are checked against it.
    broken = tmp_path / "broken-openapi.yaml"
    broken.write_text("openapi: 3.0.0\npaths: {/a: [unclosed\n")
    code, out, _ = check(tmp_path, text({"file": str(broken), "validateRequestMethodAndPath": True}))
    assert code == 1 and str(broken) in out, out
    # With validation off and a developer portal showing the API, a warning on apiportal@internal
    # names the file: the portal shows no documentation for it; nothing else changes.
    portal = text({"file": str(broken)}).rstrip("\n") + (
        "\n  apiCatalogItems: {all: {everyone: true, apis: [weather]}}"
        "\n  apiPortals: {dev: {trustedUrls: ['http://dev.test'], auth: sso}}"
        "\n  apiPortalAuths: {sso: {oidc: {issuerUrl: 'http://127.0.0.1:1', clientId: c, clientSecret: s}}}\n")
    code, out, _ = check(tmp_path, portal)
    assert code == 0 and "the portal cannot show the OpenAPI document " + str(broken) in out, out


def test_api_versions_have_their_own_documents(start_whoami, start_causeway, tmp_path):
    """APIVersions: each router publishes one version of the API; its own document decides the
    contract, and the API's subscriptions cover every version."""
    def doc(path):
        f = tmp_path / (path.strip("/").replace("/", "-") + ".json")
        f.write_text(json.dumps({"openapi": "3.0.3", "info": {"title": "Weather", "version": "1"},
                                 "paths": {path: {"get": {"responses": {"200": {"description": "ok"}}}}}}))
        return {"file": str(f), "validateRequestMethodAndPath": True}

    w = start_whoami()
    config = apim(apis={"weather": {"title": "Weather", "versions": [{"name": "weather-v1"}, {"name": "weather-v2"}]}},
                  apiVersions={"weather-v1": {"release": "1.0.0", "openApiSpec": doc("/v1/forecast")},
                               "weather-v2": {"release": "v2.0.0-beta.1", "openApiSpec": doc("/v2/forecast/daily")}},
                  plans={"free": BIG}, applications={"shop": {"apiKeys": [{"value": "key-shop"}]}},
                  subscriptions={"shop-free": sub("shop", "free")})
    text = dynamic(w.url, config,
                   routers={"v1": {"rule": "Host(`api.test`) && PathPrefix(`/v1`)", "service": "up", "middlewares": ["v1"]},
                            "v2": {"rule": "Host(`api.test`) && PathPrefix(`/v2`)", "service": "up", "middlewares": ["v2"]}},
                   middlewares={"v1": {"api": {"name": "weather", "version": "weather-v1"}},
                                "v2": {"api": {"name": "weather", "version": "weather-v2"}}})
    cw = start_causeway(dynamic={"app.yml": text}, entrypoints=("web", "traefik"), static_extra="api:\n  insecure: true\n")
    routed(cw, READY)
    status, _, body = call(cw, "key-shop", path="/v1/forecast")
    assert status == 200 and ("X-Api-Version", "weather-v1@file") in upstream_saw(body)[1]
    assert call(cw, "key-shop", path="/v1/forecast/daily")[0] == 404   # not in v1's document
    assert call(cw, "key-shop", path="/v2/forecast/daily")[0] == 200
    assert call(cw, "key-shop", path="/v2/forecast")[0] == 404
    versions = api_get(cw, "/api/apimanagement/apiVersions")[2]
    assert sorted(v["name"] for v in versions) == ["weather-v1@file", "weather-v2@file"]
    assert all(v["status"] == "enabled" and v["usedBy"] == ["weather@file"] for v in versions), versions


def test_check_api_version_errors(tmp_path):
    """A version the API does not list, a release that is not a semantic version, a missing one."""
    def text(versions, listed, published):
        return to_yaml({"http": {"routers": {"r": {"rule": "Host(`a`)", "service": "s", "middlewares": ["pub"]}},
                                 "middlewares": {"pub": {"api": {"name": "weather", "version": published}}},
                                 "services": {"s": lb("http://127.0.0.1:1")}},
                        "apiManagement": apim(apis={"weather": {"versions": [{"name": n} for n in listed]}},
                                              apiVersions=versions)})

    code, out, _ = check(tmp_path, text({"v1": {"release": "1.0"}, "v2": {"release": "2"}}, ["v1"], "v2"))
    assert code == 1 and '"v2@file" is not one of API weather@file\'s versions' in out, out
    code, out, _ = check(tmp_path, text({"v1": {"release": "one"}}, ["v1"], "v1"))
    assert code == 1 and "release: expected a semantic version" in out, out
    code, out, _ = check(tmp_path, text({}, ["v9"], "v9"))
    assert code == 1 and 'apiVersions "v9@file" does not exist' in out, out


def test_check_warns_about_an_api_no_router_publishes(tmp_path):
    """An API no api middleware names is published nowhere: a warning, not an error."""
    text = to_yaml({"http": {"routers": {"r": {"rule": "Host(`a`)", "service": "s", "middlewares": ["pub"]}},
                             "middlewares": {"pub": {"api": {"name": "weather"}}},
                             "services": {"s": lb("http://127.0.0.1:1")}},
                    "apiManagement": apim(apis={"weather": {}, "maps": {}})})
    code, out, app = check(tmp_path, text)
    assert code == 0, out
    warnings = [line for line in out.splitlines() if "no api middleware publishes" in line]
    assert len(warnings) == 1 and "maps@file" in warnings[0] and str(app) in warnings[0], out


def test_access_log_names_api_application_and_plan(start_whoami, start_causeway):
    """The JSON access log's APIName, APIApplication and APIPlan, on answered and refused calls."""
    w = start_whoami()
    config = apim(plans={"bronze": {"quota": {"limit": 1, "period": "1h"}}},
                  applications={"shop": {"appId": "shop-app", "apiKeys": [{"value": "key-shop"}]}},
                  subscriptions={"shop-bronze": sub("shop", "bronze")})
    cw = start(start_causeway, w.url, config, static_extra="accessLog:\n  format: json\n")
    assert [call(cw, "key-shop")[0], call(cw, "key-shop")[0], call(cw, "nope")[0]] == [200, 429, 401]
    wait_until(lambda: cw.output().count('"APIName":"weather@file"') >= 3, message="three API log lines")
    lines = [json.loads(line) for line in cw.output().splitlines() if '"APIName"' in line]
    got = [(x["DownstreamStatus"], x.get("APIApplication"), x.get("APIPlan")) for x in lines]
    assert got == [(200, "shop-app", "bronze@file"), (429, "shop-app", "bronze@file"), (401, None, None)], got
    assert all("key-shop" not in line for line in cw.output().splitlines())


def test_plan_changes_under_load_drop_nothing(start_whoami, start_causeway):
    """A new plan and a heavier subscription to it, applied while four keep-alive clients call
    the API: every call is answered 200 (nothing dropped, no 5xx), and the upstream sees the new
    plan once the reload is in."""
    import http.client
    import threading

    w = start_whoami()
    huge = {"rateLimit": {"limit": 1000000, "period": "1s"}, "quota": {"limit": 100000000, "period": "1h"}}
    plans = {"bronze": huge}
    subs = {"shop-bronze": sub("shop", "bronze")}
    apps = {"shop": {"apiKeys": [{"value": "key-shop"}]}}
    cw = start(start_causeway, w.url, apim(plans=plans, applications=apps, subscriptions=subs))
    stop = threading.Event()
    lock = threading.Lock()
    seen = {"ok": 0, "failures": [], "plans": set()}

    def load():
        conn = http.client.HTTPConnection("127.0.0.1", cw.port(), timeout=10)
        try:
            while not stop.is_set():
                try:
                    conn.request("GET", "/", headers={"Host": API_HOST, "Authorization": "Bearer key-shop"})
                    response = conn.getresponse()
                    body = response.read()
                    plan = [v for k, v in upstream_saw(body)[1] if k == "X-Api-Plan"] if response.status == 200 else []
                    with lock:
                        if response.status == 200:
                            seen["ok"] += 1
                            seen["plans"].update(plan)
                        else:
                            seen["failures"].append(response.status)
                except Exception as e:  # noqa: BLE001 - every failure is counted
                    with lock:
                        seen["failures"].append(repr(e))
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", cw.port(), timeout=10)
        finally:
            conn.close()

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.3)
        new = apim(plans={**plans, "silver": huge}, applications=apps,
                   subscriptions={**subs, "shop-silver": sub("shop", "silver", weight=10)})
        cw.write("app.yml", dynamic(w.url, new))
        wait_until(lambda: "silver@file" in seen["plans"], message="the new plan applied", timeout=10)
        time.sleep(0.3)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=15)
    assert seen["failures"] == [], seen["failures"][:5]
    assert seen["ok"] > 50 and seen["plans"] == {"bronze@file", "silver@file"}, seen
