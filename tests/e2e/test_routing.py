"""Routing as Traefik v3 does it: matchers, rule syntax, priorities, element errors,
entryPoints, middlewares, redirections, load balancing and upstream errors.

Reference: docs/compatibility.md.
Every test starts its own causeway (about 50 ms) so that one broken element cannot hide
another. A sentinel router (Host `ready.sentinel`) tells when the dynamic configuration
is live, so that a 404 is never the answer of a proxy that has not loaded it yet.
"""
import http.client
import socket
import time

import pytest

from harness import curl, free_port, header_values, raw_request, responses, routed, to_yaml, whoami_echo

READY = "ready.sentinel"


def dynamic(routers=None, services=None, middlewares=None, transports=None, upstream=None):
    """One dynamic file. `upstream` (a URL) adds the sentinel router and service `ready`."""
    http = {}
    routers = dict(routers or {})
    services = dict(services or {})
    if upstream:
        routers["sentinel"] = {"rule": f"Host(`{READY}`)", "service": "ready"}
        services["ready"] = lb(upstream)
    if routers:
        http["routers"] = routers
    if services:
        http["services"] = services
    if middlewares:
        http["middlewares"] = middlewares
    if transports:
        http["serversTransports"] = transports
    return {"routing.yml": to_yaml({"http": http}) + "\n"}


def lb(*urls, **options):
    return {"loadBalancer": {"servers": [{"url": u} for u in urls], **options}}


def send(cw, path="/", host="x.test", method=None, headers=(), iface=None, entrypoint="web", curl_args=()):
    args = (["--interface", iface] if iface else []) + list(curl_args)
    return curl(cw.url(entrypoint, path), *args, host=host, method=method, headers=headers)


def ready(cw, entrypoint="web"):
    routed(cw, READY, entrypoint=entrypoint)


# ---------------------------------------------------------------------------------------
# Matchers (reference §3.2): one router with the rule under test; 200 = matched, 404 = not.

H = "example.com"
MATCHER_CASES = [
    # id, rule, request (send() kwargs), expected status
    ("host-exact", "Host(`example.com`)", dict(host=H), 200),
    ("host-request-upper-case", "Host(`example.com`)", dict(host="EXAMPLE.Com"), 200),
    ("host-rule-upper-case", "Host(`Example.COM`)", dict(host=H), 200),
    ("host-port-ignored", "Host(`example.com`)", dict(host="example.com:8080"), 200),
    ("host-request-trailing-dot", "Host(`example.com`)", dict(host="example.com."), 200),
    ("host-rule-trailing-dot", "Host(`example.com.`)", dict(host=H), 200),
    ("host-other", "Host(`example.com`)", dict(host="example.org"), 404),
    ("host-not-suffix", "Host(`example.com`)", dict(host="www.example.com"), 404),
    ("host-not-prefix", "Host(`example.com`)", dict(host="example.com.evil"), 404),
    ("host-wildcard-one-label", "Host(`*.example.com`)", dict(host="api.example.com"), 200),
    ("host-wildcard-upper-case", "Host(`*.example.com`)", dict(host="API.Example.com"), 200),
    ("host-wildcard-two-labels", "Host(`*.example.com`)", dict(host="a.b.example.com"), 404),
    ("host-wildcard-apex", "Host(`*.example.com`)", dict(host=H), 404),
    ("hostregexp-match", r"HostRegexp(`^[a-z]+\.example\.com$`)", dict(host="foo.example.com"), 200),
    ("hostregexp-lower-cased-host", r"HostRegexp(`^[a-z]+\.example\.com$`)",
     dict(host="FOO.Example.com"), 200),
    ("hostregexp-no-match", r"HostRegexp(`^[a-z]+\.example\.com$`)", dict(host="f00.example.com"), 404),
    ("hostregexp-unanchored", r"HostRegexp(`example`)", dict(host="my-example.org"), 200),
    ("path-exact", "Path(`/foo`)", dict(path="/foo"), 200),
    ("path-query-ignored", "Path(`/foo`)", dict(path="/foo?x=1"), 200),
    ("path-trailing-slash", "Path(`/foo`)", dict(path="/foo/"), 404),
    ("path-longer", "Path(`/foo`)", dict(path="/foobar"), 404),
    ("path-case-sensitive", "Path(`/foo`)", dict(path="/FOO"), 404),
    ("pathprefix-plain-prefix", "PathPrefix(`/products`)", dict(path="/products-for-sale"), 200),
    ("pathprefix-subpath", "PathPrefix(`/products`)", dict(path="/products/42"), 200),
    ("pathprefix-shorter", "PathPrefix(`/products`)", dict(path="/product"), 404),
    ("pathprefix-case-sensitive", "PathPrefix(`/products`)", dict(path="/Products"), 404),
    ("pathregexp-match", "PathRegexp(`^/api/v[0-9]+/`)", dict(path="/api/v2/users"), 200),
    ("pathregexp-no-match", "PathRegexp(`^/api/v[0-9]+/`)", dict(path="/api/vx/users"), 404),
    ("pathregexp-unanchored", "PathRegexp(`v[0-9]+$`)", dict(path="/x/v3"), 200),
    ("method-match", "Method(`POST`)", dict(method="POST"), 200),
    ("method-no-match", "Method(`POST`)", dict(method="GET"), 404),
    ("method-rule-lower-case", "Method(`delete`)", dict(method="DELETE"), 200),
    ("header-match", "Header(`X-Env`, `prod`)", dict(headers=["X-Env: prod"]), 200),
    ("header-name-case-insensitive", "Header(`x-env`, `prod`)", dict(headers=["X-ENV: prod"]), 200),
    ("header-any-value", "Header(`X-Env`, `prod`)", dict(headers=["X-Env: dev", "X-Env: prod"]), 200),
    ("header-other-value", "Header(`X-Env`, `prod`)", dict(headers=["X-Env: dev"]), 404),
    ("header-value-case-sensitive", "Header(`X-Env`, `prod`)", dict(headers=["X-Env: PROD"]), 404),
    ("header-absent", "Header(`X-Env`, `prod`)", dict(), 404),
    ("headerregexp-match", "HeaderRegexp(`X-Env`, `^pr`)", dict(headers=["X-Env: preview"]), 200),
    ("headerregexp-no-match", "HeaderRegexp(`X-Env`, `^pr`)", dict(headers=["X-Env: dev"]), 404),
    ("headerregexp-absent", "HeaderRegexp(`X-Env`, `.*`)", dict(), 404),
    ("query1-bare-key", "Query(`mobile`)", dict(path="/?mobile"), 200),
    ("query1-empty-value", "Query(`mobile`)", dict(path="/?a=1&mobile="), 200),
    ("query1-with-value", "Query(`mobile`)", dict(path="/?mobile=1"), 404),
    ("query1-absent", "Query(`mobile`)", dict(path="/?desktop"), 404),
    ("query2-match", "Query(`lang`, `fr`)", dict(path="/?lang=fr"), 200),
    ("query2-any-value", "Query(`lang`, `fr`)", dict(path="/?lang=en&lang=fr"), 200),
    ("query2-other-value", "Query(`lang`, `fr`)", dict(path="/?lang=en"), 404),
    ("query2-bare-key", "Query(`lang`, `fr`)", dict(path="/?lang"), 404),
    ("query2-decoded", "Query(`q`, `a b`)", dict(path="/?q=a%20b"), 200),
    ("queryregexp-match", "QueryRegexp(`lang`, `^f`)", dict(path="/?lang=fi"), 200),
    ("queryregexp-no-match", "QueryRegexp(`lang`, `^f`)", dict(path="/?lang=en"), 404),
    ("queryregexp-1-arg", "QueryRegexp(`mobile`)", dict(path="/?mobile"), 200),
    ("queryregexp-1-arg-value", "QueryRegexp(`mobile`)", dict(path="/?mobile=1"), 404),
    ("clientip-ip-match", "ClientIP(`127.0.0.2`)", dict(iface="127.0.0.2"), 200),
    ("clientip-ip-other-peer", "ClientIP(`127.0.0.2`)", dict(iface="127.0.0.1"), 404),
    ("clientip-cidr-match", "ClientIP(`127.0.0.0/30`)", dict(iface="127.0.0.3"), 200),
    ("clientip-cidr-outside", "ClientIP(`127.0.0.0/30`)", dict(iface="127.0.0.5"), 404),
    ("clientip-ignores-xff", "ClientIP(`10.1.2.3`)", dict(headers=["X-Forwarded-For: 10.1.2.3"]), 404),
    # Operators (reference §3.1: ! binds tighter than &&, && tighter than ||).
    ("and-both", "Host(`a.test`) && Path(`/x`)", dict(host="a.test", path="/x"), 200),
    ("and-one", "Host(`a.test`) && Path(`/x`)", dict(host="a.test", path="/y"), 404),
    ("and-other", "Host(`a.test`) && Path(`/x`)", dict(host="b.test", path="/x"), 404),
    ("or-second", "Path(`/x`) || Path(`/y`)", dict(path="/y"), 200),
    ("or-none", "Path(`/x`) || Path(`/y`)", dict(path="/z"), 404),
    ("not-excluded", "Host(`a.test`) && !Path(`/private`)", dict(host="a.test", path="/private"), 404),
    ("not-allowed", "Host(`a.test`) && !Path(`/private`)", dict(host="a.test", path="/public"), 200),
    ("parentheses-match", "Host(`a.test`) && (Path(`/x`) || Path(`/y`))", dict(host="a.test", path="/y"), 200),
    ("parentheses-no-match", "Host(`a.test`) && (Path(`/x`) || Path(`/y`))",
     dict(host="b.test", path="/y"), 404),
    ("precedence-and-over-or", "Path(`/x`) || Host(`b.test`) && Path(`/y`)",
     dict(host="a.test", path="/x"), 200),
    ("precedence-not-over-and", "!Path(`/x`) && Host(`a.test`)", dict(host="b.test", path="/y"), 404),
    ("double-not", "!!Path(`/x`)", dict(path="/x"), 200),
    ("double-quoted-argument", 'Path("/dq")', dict(path="/dq"), 200),
    ("matcher-lower-case-name", "pathprefix(`/lc`)", dict(path="/lc/1"), 200),
    ("matcher-upper-case-name", "PATHPREFIX(`/uc`)", dict(path="/uc/1"), 200),
    ("matcher-title-case-name", "Pathprefix(`/tc`)", dict(path="/tc/1"), 200),
    # More request details
    ("header-value-with-comma", "Header(`X-Env`, `a, b`)", dict(headers=["X-Env: a, b"]), 200),
    ("headerregexp-unanchored", "HeaderRegexp(`X-Env`, `rod`)", dict(headers=["X-Env: prod"]), 200),
    ("method-head-is-not-get", "Method(`GET`)", dict(method="HEAD", curl_args=["-I"]), 404),
    ("query-encoded-key", "Query(`lang`, `fr`)", dict(path="/?la%6Eg=fr"), 200),
    ("query-plus-is-space", "Query(`q`, `a b`)", dict(path="/?q=a+b"), 200),
    ("pathregexp-case-sensitive", "PathRegexp(`^/CaSe`)", dict(path="/case"), 404),
    ("queryregexp-any-value", "QueryRegexp(`k`, `^v`)", dict(path="/?k=x&k=vv"), 200),
    # Routing path (reference §1.2 sanitizePath, §3.2 routing path)
    ("path-sanitized-dot-segments", "Path(`/bar/`)", dict(path="/./foo/../bar//", curl_args=["--path-as-is"]), 200),
    ("path-unreserved-decoded", "Path(`/foo/bar`)", dict(path="/%66oo/b%61r"), 200),
    ("path-encoded-slash-kept", "PathPrefix(`/foo/bar`)", dict(path="/foo%2Fbar"), 404),
    ("path-percent-encoded-space-decoded", "PathPrefix(`/foo bar`)", dict(path="/foo%20bar/x"), 200),
    ("query-semicolon-separator", "Query(`lang`, `fr`)", dict(path="/?x=1;lang=fr"), 200),
]


def matcher_params():
    for case in MATCHER_CASES:
        name, rule, request, expected, *marks = case
        yield pytest.param(rule, request, expected, id=name, marks=marks)


@pytest.mark.parametrize("rule,request_kwargs,expected", list(matcher_params()))
def test_matcher(start_whoami, start_causeway, rule, request_kwargs, expected):
    w = start_whoami("matched")
    cw = start_causeway(dynamic=dynamic({"m": {"rule": rule, "service": "s"}}, {"s": lb(w.url)},
                                        upstream=w.url))
    ready(cw)
    status, _, body = send(cw, **request_kwargs)
    assert status == expected, body
    if request_kwargs.get("method") == "HEAD":
        return  # no body (curl -I prints the head twice)
    if expected == 200:
        assert b"Name: matched" in body
    else:
        assert body == b"404 page not found\n"


def test_not_found_answer(start_whoami, start_causeway):
    w = start_whoami()
    cw = start_causeway(dynamic=dynamic(upstream=w.url))
    ready(cw)
    status, headers, body = send(cw, host="nothing.test", path="/missing")
    assert status == 404
    assert body == b"404 page not found\n"
    assert headers.get("content-type", "").startswith("text/plain")


# ---------------------------------------------------------------------------------------
# Priority (reference §2.1, §3.4)

def two_upstreams(start_whoami):
    return start_whoami("first"), start_whoami("second")


def test_default_priority_is_rule_length_traefik_doc_example(start_whoami, start_causeway):
    # Traefik's documentation example: the HostRegexp rule (34 chars) beats Host (26 chars).
    w1, w2 = two_upstreams(start_whoami)
    routers = {
        "Router-1": {"rule": r"HostRegexp(`[a-z]+\.traefik\.com`)", "service": "one"},
        "Router-2": {"rule": "Host(`foobar.traefik.com`)", "service": "two"},
    }
    cw = start_causeway(dynamic=dynamic(routers, {"one": lb(w1.url), "two": lb(w2.url)}, upstream=w1.url))
    ready(cw)
    _, _, body = send(cw, host="foobar.traefik.com")
    assert b"Name: first" in body


def test_longer_rule_wins_whatever_the_order(start_whoami, start_causeway):
    w1, w2 = two_upstreams(start_whoami)
    routers = {
        "a-short": {"rule": "PathPrefix(`/`)", "service": "one"},
        "z-long": {"rule": "PathPrefix(`/`) && Method(`GET`)", "service": "two"},
    }
    cw = start_causeway(dynamic=dynamic(routers, {"one": lb(w1.url), "two": lb(w2.url)}, upstream=w1.url))
    ready(cw)
    assert b"Name: second" in send(cw, path="/a")[2]
    assert b"Name: first" in send(cw, path="/a", method="POST")[2]


def test_explicit_priority_overrides_rule_length(start_whoami, start_causeway):
    w1, w2 = two_upstreams(start_whoami)
    routers = {
        "Router-1": {"rule": r"HostRegexp(`[a-z]+\.traefik\.com`)", "service": "one", "priority": 1},
        "Router-2": {"rule": "Host(`foobar.traefik.com`)", "service": "two", "priority": 2},
    }
    cw = start_causeway(dynamic=dynamic(routers, {"one": lb(w1.url), "two": lb(w2.url)}, upstream=w1.url))
    ready(cw)
    assert b"Name: second" in send(cw, host="foobar.traefik.com")[2]
    # Router-1 still takes what only it matches.
    assert b"Name: first" in send(cw, host="other.traefik.com")[2]


def test_explicit_priority_zero_means_rule_length(start_whoami, start_causeway):
    w1, w2 = two_upstreams(start_whoami)
    routers = {
        "long": {"rule": "PathPrefix(`/`) && Method(`GET`)", "service": "one", "priority": 0},
        "short": {"rule": "PathPrefix(`/`)", "service": "two", "priority": 5},
    }
    cw = start_causeway(dynamic=dynamic(routers, {"one": lb(w1.url), "two": lb(w2.url)}, upstream=w1.url))
    ready(cw)
    # priority 0 = len(rule) = 33 > 5
    assert b"Name: first" in send(cw, path="/a")[2]


# ---------------------------------------------------------------------------------------
# Rule syntax v2 (reference §3.3)

V2_RULE = "Host(`a.test`, `b.test`) && Headers(`X-K`, `v`)"


def test_router_rule_syntax_v2(start_whoami, start_causeway):
    w = start_whoami("v2")
    routers = {"old": {"rule": V2_RULE, "ruleSyntax": "v2", "service": "s"}}
    cw = start_causeway(dynamic=dynamic(routers, {"s": lb(w.url)}, upstream=w.url))
    ready(cw)
    status, _, body = send(cw, host="b.test", headers=["X-K: v"])
    assert status == 200 and b"Name: v2" in body
    assert send(cw, host="a.test", headers=["X-K: v"])[0] == 200
    assert send(cw, host="b.test")[0] == 404
    assert send(cw, host="c.test", headers=["X-K: v"])[0] == 404


def test_v2_rule_is_invalid_under_default_v3(start_whoami, start_causeway):
    w = start_whoami()
    routers = {"old": {"rule": V2_RULE, "service": "s"}}
    cw = start_causeway(dynamic=dynamic(routers, {"s": lb(w.url)}, upstream=w.url))
    ready(cw)
    assert send(cw, host="b.test", headers=["X-K: v"])[0] == 404


def test_core_default_rule_syntax_v2(start_whoami, start_causeway):
    w = start_whoami("v2")
    routers = {
        "old": {"rule": V2_RULE, "service": "s"},
        "new": {"rule": "Header(`X-New`, `1`)", "ruleSyntax": "v3", "service": "s"},
    }
    cw = start_causeway(dynamic=dynamic(routers, {"s": lb(w.url)}, upstream=w.url),
                        static_extra="core:\n  defaultRuleSyntax: v2\n")
    ready(cw)
    assert send(cw, host="a.test", headers=["X-K: v"])[0] == 200
    assert send(cw, host="c.test", headers=["X-K: v"])[0] == 404
    # A router may still opt into v3 explicitly.
    assert send(cw, host="z.test", headers=["X-New: 1"])[0] == 200


# ---------------------------------------------------------------------------------------
# Element errors disable only the element (reference §9.4)

BROKEN_ROUTERS = {
    "invalid-rule": {"rule": "Host(`broken.test`", "service": "s"},
    "unknown-matcher": {"rule": "Hots(`broken.test`)", "service": "s"},
    "wrong-argument-count": {"rule": "Host(`broken.test`, `x`)", "service": "s"},
    "invalid-regexp": {"rule": "Host(`broken.test`) && PathRegexp(`(`)", "service": "s"},
    "path-without-slash": {"rule": "Host(`broken.test`) && Path(`foo`)", "service": "s"},
    "missing-service": {"rule": "Host(`broken.test`)", "service": "nope"},
    "missing-middleware": {"rule": "Host(`broken.test`)", "service": "s", "middlewares": ["nope"]},
    "chain-loop": {"rule": "Host(`broken.test`)", "service": "s", "middlewares": ["loop-a"]},
    "missing-servers-transport": {"rule": "Host(`broken.test`)", "service": "bad-transport"},
}


@pytest.mark.parametrize("kind", list(BROKEN_ROUTERS))
def test_broken_router_is_disabled_sibling_works(start_whoami, start_causeway, kind):
    w = start_whoami("sibling")
    routers = {
        "broken": BROKEN_ROUTERS[kind],
        "sibling": {"rule": "Host(`good.test`)", "service": "s"},
    }
    middlewares = {
        "loop-a": {"chain": {"middlewares": ["loop-b"]}},
        "loop-b": {"chain": {"middlewares": ["loop-a"]}},
    }
    services = {"s": lb(w.url), "bad-transport": lb(w.url, serversTransport="missing")}
    cw = start_causeway(dynamic=dynamic(routers, services, middlewares, upstream=w.url))
    ready(cw)
    status, _, body = send(cw, host="good.test")
    assert status == 200 and b"Name: sibling" in body
    status, _, body = send(cw, host="broken.test")
    assert status == 404
    assert body == b"404 page not found\n"


def test_fixing_a_broken_router_enables_it(start_whoami, start_causeway):
    w = start_whoami("fixed")
    cw = start_causeway(dynamic=dynamic({"r": {"rule": "Host(`r.test`)", "service": "nope"}},
                                        {"s": lb(w.url)}, upstream=w.url))
    ready(cw)
    assert send(cw, host="r.test")[0] == 404
    cw.write("routing.yml", dynamic({"r": {"rule": "Host(`r.test`)", "service": "s"}},
                                    {"s": lb(w.url)}, upstream=w.url)["routing.yml"])
    assert b"Name: fixed" in routed(cw, "r.test")


# ---------------------------------------------------------------------------------------
# entryPoints

def test_router_bound_to_one_entrypoint(start_whoami, start_causeway):
    w = start_whoami("ep")
    routers = {
        "web-only": {"rule": "Host(`a.test`)", "service": "s", "entryPoints": ["web"]},
        "other-only": {"rule": "Host(`o.test`)", "service": "s", "entryPoints": ["other"]},
        "everywhere": {"rule": "Host(`b.test`)", "service": "s"},
    }
    cw = start_causeway(entrypoints=("web", "other"),
                        dynamic=dynamic(routers, {"s": lb(w.url)}, upstream=w.url))
    ready(cw)
    ready(cw, "other")
    assert send(cw, host="a.test")[0] == 200
    assert send(cw, host="a.test", entrypoint="other")[0] == 404
    assert send(cw, host="o.test", entrypoint="other")[0] == 200
    assert send(cw, host="o.test")[0] == 404
    assert send(cw, host="b.test")[0] == 200
    assert send(cw, host="b.test", entrypoint="other")[0] == 200


def test_router_with_unknown_entrypoint_is_not_served(start_whoami, start_causeway):
    w = start_whoami()
    routers = {"r": {"rule": "Host(`a.test`)", "service": "s", "entryPoints": ["nowhere"]}}
    cw = start_causeway(dynamic=dynamic(routers, {"s": lb(w.url)}, upstream=w.url))
    ready(cw)
    assert send(cw, host="a.test")[0] == 404


# ---------------------------------------------------------------------------------------
# Middlewares

def path_seen(body):
    request_line, headers, _ = whoami_echo(body)
    return request_line.split(" ")[1], headers


def test_strip_prefix(start_whoami, start_causeway):
    w = start_whoami()
    routers = {"r": {"rule": "PathPrefix(`/api`)", "service": "s", "middlewares": ["strip"]}}
    mws = {"strip": {"stripPrefix": {"prefixes": ["/api"]}}}
    cw = start_causeway(dynamic=dynamic(routers, {"s": lb(w.url)}, mws, upstream=w.url))
    ready(cw)
    path, headers = path_seen(send(cw, path="/api/users?id=1")[2])
    assert path == "/users?id=1"
    assert header_values(headers, "X-Forwarded-Prefix") == ["/api"]
    path, _ = path_seen(send(cw, path="/api")[2])
    assert path == "/"


def test_add_prefix(start_whoami, start_causeway):
    w = start_whoami()
    routers = {"r": {"rule": "PathPrefix(`/`)", "service": "s", "middlewares": ["add"]}}
    mws = {"add": {"addPrefix": {"prefix": "/v1"}}}
    cw = start_causeway(dynamic=dynamic(routers, {"s": lb(w.url)}, mws, upstream=w.url))
    ready(cw)
    path, _ = path_seen(send(cw, path="/users?x=y")[2])
    assert path == "/v1/users?x=y"


def test_router_middlewares_run_in_order(start_whoami, start_causeway):
    w = start_whoami()
    mws = {"strip": {"stripPrefix": {"prefixes": ["/api"]}}, "add": {"addPrefix": {"prefix": "/v2"}}}
    routers = {
        "strip-then-add": {"rule": "PathPrefix(`/api`)", "service": "s", "middlewares": ["strip", "add"]},
        "add-then-strip": {"rule": "PathPrefix(`/other`)", "service": "s", "middlewares": ["add", "strip"]},
    }
    cw = start_causeway(dynamic=dynamic(routers, {"s": lb(w.url)}, mws, upstream=w.url))
    ready(cw)
    assert path_seen(send(cw, path="/api/users")[2])[0] == "/v2/users"
    assert path_seen(send(cw, path="/other/users")[2])[0] == "/v2/other/users"


def test_entrypoint_middlewares_apply_before_router_middlewares(start_whoami, start_causeway):
    w = start_whoami()
    mws = {"strip": {"stripPrefix": {"prefixes": ["/api"]}}, "add": {"addPrefix": {"prefix": "/v2"}}}
    routers = {"r": {"rule": "PathPrefix(`/`)", "service": "s", "middlewares": ["add"]}}
    cw = start_causeway(dynamic=dynamic(routers, {"s": lb(w.url)}, mws, upstream=w.url),
                        entrypoint_extra={"web": {"http": {"middlewares": ["strip@file"]}}})
    ready(cw)
    # strip (entryPoint) first: /api/users → /users → /v2/users. The other order would give
    # /v2/api/users (the strip no longer matching).
    path, headers = path_seen(send(cw, path="/api/users")[2])
    assert path == "/v2/users"
    assert header_values(headers, "X-Forwarded-Prefix") == ["/api"]


def test_chain_middleware(start_whoami, start_causeway):
    w = start_whoami()
    mws = {
        "strip": {"stripPrefix": {"prefixes": ["/api"]}},
        "add": {"addPrefix": {"prefix": "/v3"}},
        "both": {"chain": {"middlewares": ["strip", "add"]}},
        "nested": {"chain": {"middlewares": ["both"]}},
    }
    routers = {
        "r": {"rule": "PathPrefix(`/api`)", "service": "s", "middlewares": ["both"]},
        "n": {"rule": "Host(`nested.test`)", "service": "s", "middlewares": ["nested"]},
    }
    cw = start_causeway(dynamic=dynamic(routers, {"s": lb(w.url)}, mws, upstream=w.url))
    ready(cw)
    assert path_seen(send(cw, path="/api/items")[2])[0] == "/v3/items"
    assert path_seen(send(cw, host="nested.test", path="/api/x")[2])[0] == "/v3/x"


def test_chain_self_loop_disables_router(start_whoami, start_causeway):
    w = start_whoami()
    mws = {"self": {"chain": {"middlewares": ["self"]}}}
    routers = {
        "loop": {"rule": "Host(`loop.test`)", "service": "s", "middlewares": ["self"]},
        "ok": {"rule": "Host(`ok.test`)", "service": "s"},
    }
    cw = start_causeway(dynamic=dynamic(routers, {"s": lb(w.url)}, mws, upstream=w.url))
    ready(cw)
    assert send(cw, host="ok.test")[0] == 200
    assert send(cw, host="loop.test")[0] == 404


# ---------------------------------------------------------------------------------------
# entryPoint redirections (reference §1.2)

@pytest.mark.parametrize("permanent,method,expected", [
    (True, "GET", 301), (True, "POST", 308), (False, "GET", 302), (False, "POST", 307),
])
def test_entrypoint_redirection(start_whoami, start_causeway, permanent, method, expected):
    w = start_whoami()
    redirect = {"to": "websecure", "scheme": "https"}
    if not permanent:
        redirect["permanent"] = False
    cw = start_causeway(
        entrypoints=("web", "websecure"),
        dynamic=dynamic({"r": {"rule": "PathPrefix(`/`)", "service": "s"}}, {"s": lb(w.url)},
                        upstream=w.url),
        entrypoint_extra={"web": {"http": {"redirections": {"entryPoint": redirect}}}})
    ready(cw, "websecure")
    status, headers, _ = send(cw, host="example.com", path="/some/path?q=1", method=method)
    assert status == expected
    assert headers["location"] == f"https://example.com:{cw.port('websecure')}/some/path?q=1"
    # The redirect also wins over a user router and ignores the port of the request's Host.
    status, headers, _ = send(cw, host=f"{READY}:{cw.port('web')}", method=method)
    assert status == expected
    assert headers["location"] == f"https://{READY}:{cw.port('websecure')}/"


# ---------------------------------------------------------------------------------------
# Load balancing and services (reference §2.2)

def test_weighted_round_robin_3_to_1(start_whoami, start_causeway):
    w1, w2 = start_whoami("heavy"), start_whoami("light")
    services = {"s": {"loadBalancer": {"servers": [{"url": w1.url, "weight": 3},
                                                   {"url": w2.url, "weight": 1}]}}}
    cw = start_causeway(dynamic=dynamic({"r": {"rule": "Host(`lb.test`)", "service": "s"}}, services,
                                        upstream=w1.url))
    ready(cw)
    counts = {"heavy": 0, "light": 0}
    for _ in range(8):  # 8 connections of 500 requests: spread over the workers
        conn = http.client.HTTPConnection("127.0.0.1", cw.port(), timeout=10)
        for _ in range(500):
            conn.request("GET", "/", headers={"Host": "lb.test"})
            response = conn.getresponse()
            body = response.read()
            assert response.status == 200
            counts["heavy" if b"Name: heavy" in body else "light"] += 1
        conn.close()
    assert sum(counts.values()) == 4000
    ratio = counts["heavy"] / counts["light"]
    assert 3 * 0.95 <= ratio <= 3 * 1.05, counts


def test_pass_host_header_true_by_default(start_whoami, start_causeway):
    w = start_whoami()
    cw = start_causeway(dynamic=dynamic({"r": {"rule": "Host(`keep.test`)", "service": "s"}},
                                        {"s": lb(w.url)}, upstream=w.url))
    ready(cw)
    _, headers, _ = whoami_echo(send(cw, host="keep.test")[2])
    assert header_values(headers, "Host") == ["keep.test"]


def test_pass_host_header_false_sends_server_host(start_whoami, start_causeway):
    w = start_whoami()
    services = {"s": lb(w.url, passHostHeader=False)}
    cw = start_causeway(dynamic=dynamic({"r": {"rule": "Host(`mine.test`)", "service": "s"}}, services,
                                        upstream=w.url))
    ready(cw)
    _, headers, _ = whoami_echo(send(cw, host="mine.test")[2])
    assert header_values(headers, "Host") == [f"127.0.0.1:{w.port}"]
    # The client's host is still reported in X-Forwarded-Host.
    assert header_values(headers, "X-Forwarded-Host") == ["mine.test"]


def test_server_url_path_ignored_without_preserve_path(start_whoami, start_causeway):
    w = start_whoami()
    services = {"s": {"loadBalancer": {"servers": [{"url": w.url + "/base"}]}}}
    cw = start_causeway(dynamic=dynamic({"r": {"rule": "PathPrefix(`/`)", "service": "s"}}, services,
                                        upstream=w.url))
    ready(cw)
    assert path_seen(send(cw, path="/foo?a=b")[2])[0] == "/foo?a=b"


def test_preserve_path_prepends_server_path(start_whoami, start_causeway):
    w = start_whoami()
    services = {"s": {"loadBalancer": {"servers": [{"url": w.url + "/base", "preservePath": True}]}}}
    cw = start_causeway(dynamic=dynamic({"r": {"rule": "PathPrefix(`/`)", "service": "s"}}, services,
                                        upstream=w.url))
    ready(cw)
    assert path_seen(send(cw, path="/foo?a=b")[2])[0] == "/base/foo?a=b"


def test_refused_upstream_is_502(start_whoami, start_causeway):
    w = start_whoami()
    dead = f"http://127.0.0.1:{free_port()}"
    cw = start_causeway(dynamic=dynamic({"r": {"rule": "Host(`dead.test`)", "service": "dead"}},
                                        {"dead": lb(dead)}, upstream=w.url))
    ready(cw)
    status, _, body = send(cw, host="dead.test")
    assert status == 502
    assert body == b"Bad Gateway"
    # The proxy is unharmed.
    assert send(cw, host=READY)[0] == 200


class ClosingUpstream:
    """A raw HTTP/1.1 upstream that answers the first request of each connection and, on a
    later request to /close-me, reads it whole and closes without answering: what a server
    does when it drops an idle keep-alive connection just as the proxy reuses it. Records
    every request it read as (method, path, idempotency key)."""

    def __init__(self):
        import threading
        self.seen = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        import threading
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        buf, count = b"", 0
        with conn:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                head, _, buf = buf.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                fields = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
                length = int(fields.get("content-length", "0"))
                while len(buf) < length:
                    buf += conn.recv(65536)
                buf = buf[length:]
                count += 1
                self.seen.append((method, path, fields.get("idempotency-key")))
                if count > 1 and path == "/close-me":
                    return
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    def stop(self):
        self.sock.close()


def test_a_dropped_keepalive_connection_resends_only_what_may_be_sent_twice(start_causeway):
    # Reliability R06, as Go's Transport decides: a request lost on a reused connection that the
    # upstream closed is sent again on a new one when it is GET/HEAD/OPTIONS/TRACE or carries an
    # Idempotency-Key; a bodiless POST the upstream may have acted on is not (502).
    up = ClosingUpstream()
    try:
        cw = start_causeway(workers=1, dynamic=dynamic({"r": {"rule": "Host(`up.test`)", "service": "up"}},
                                                       {"up": lb(up.url)}, upstream=up.url))
        ready(cw)
        client = http.client.HTTPConnection("127.0.0.1", cw.port(), timeout=10)

        def ask(method, path, headers=None):
            client.request(method, path, headers={"Host": "up.test", **(headers or {})})
            response = client.getresponse()
            response.read()
            return response.status

        assert ask("GET", "/warm") == 200
        up.seen.clear()
        assert ask("GET", "/close-me") == 200  # dropped, then sent again on a new connection
        assert [s[:2] for s in up.seen] == [("GET", "/close-me"), ("GET", "/close-me")]
        up.seen.clear()
        assert ask("POST", "/close-me", {"Content-Length": "0"}) == 502
        assert [s[:2] for s in up.seen] == [("POST", "/close-me")]  # exactly once
        assert ask("GET", "/warm") == 200
        up.seen.clear()
        assert ask("POST", "/close-me", {"Content-Length": "0", "Idempotency-Key": "k1"}) == 200
        assert up.seen == [("POST", "/close-me", "k1"), ("POST", "/close-me", "k1")]
        client.close()
    finally:
        up.stop()


def test_response_header_timeout_is_504(start_whoami, start_causeway):
    w = start_whoami()
    transports = {"slow": {"forwardingTimeouts": {"responseHeaderTimeout": "500ms"}}}
    services = {"s": lb(w.url, serversTransport="slow")}
    cw = start_causeway(dynamic=dynamic({"r": {"rule": "Host(`slow.test`)", "service": "s"}}, services,
                                        transports=transports, upstream=w.url))
    ready(cw)
    assert send(cw, host="slow.test", path="/?wait=100ms")[0] == 200
    started = time.monotonic()
    status, _, body = send(cw, host="slow.test", path="/?wait=2s")
    elapsed = time.monotonic() - started
    assert status == 504
    assert body == b"Gateway Timeout"
    assert 0.4 <= elapsed < 1.8, elapsed


def test_upstream_status_passes_through(start_whoami, start_causeway):
    w = start_whoami()
    cw = start_causeway(dynamic=dynamic({"r": {"rule": "Host(`s.test`)", "service": "s"}},
                                        {"s": lb(w.url)}, upstream=w.url))
    ready(cw)
    assert send(cw, host="s.test", path="/?status=503")[0] == 503
    assert send(cw, host="s.test", path="/?status=404")[0] == 404


# ---------------------------------------------------------------------------------------
# ping (reference §1.4)

def test_ping_on_web_entrypoint(start_whoami, start_causeway):
    w = start_whoami()
    cw = start_causeway(dynamic=dynamic(upstream=w.url), static_extra="ping:\n  entryPoint: web\n")
    ready(cw)
    status, _, body = send(cw, path="/ping", host="anything.test")
    assert status == 200
    assert body == b"OK"
    raw = raw_request(cw.port(), b"HEAD /ping HTTP/1.1\r\nHost: anything.test\r\nConnection: close\r\n\r\n")
    head, _, rest = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert rest == b""


# ---------------------------------------------------------------------------------------
# More routing details

def test_absolute_form_target_routes_on_its_host(start_whoami, start_causeway):
    # RFC 9112 §3.2.2: the authority of an absolute-form target replaces Host (reliability S42).
    w1, w2 = start_whoami("target-host"), start_whoami("header-host")
    routers = {"b": {"rule": "Host(`b.test`)", "service": "one"}, "a": {"rule": "Host(`a.test`)", "service": "two"}}
    cw = start_causeway(dynamic=dynamic(routers, {"one": lb(w1.url), "two": lb(w2.url)}, upstream=w1.url))
    ready(cw)
    raw = raw_request(cw.port(), b"GET http://b.test/x?y=1 HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
    (status, _, body), = responses(raw)
    assert status == 200
    request_line, headers, own = whoami_echo(body)
    assert own["Name"] == "target-host"
    assert request_line == "GET /x?y=1 HTTP/1.1"
    assert header_values(headers, "Host") == ["b.test"]


def test_http10_without_host_matches_no_host_rule(start_whoami, start_causeway):
    w = start_whoami("no-host")
    routers = {"host": {"rule": "Host(`old.test`)", "service": "s"},
               "path": {"rule": "Path(`/any-host`)", "service": "s"}}
    cw = start_causeway(dynamic=dynamic(routers, {"s": lb(w.url)}, upstream=w.url))
    ready(cw)
    raw = raw_request(cw.port(), b"GET / HTTP/1.0\r\n\r\n")
    assert responses(raw)[0][0] == 404
    raw = raw_request(cw.port(), b"GET /any-host HTTP/1.0\r\n\r\n")
    assert responses(raw)[0][0] == 200


def test_negative_priority_loses_to_everything(start_whoami, start_causeway):
    w1, w2 = two_upstreams(start_whoami)
    routers = {
        "negative": {"rule": "Host(`p.test`) && PathPrefix(`/`)", "service": "one", "priority": -1},
        "short": {"rule": "PathPrefix(`/`)", "service": "two"},
    }
    cw = start_causeway(dynamic=dynamic(routers, {"one": lb(w1.url), "two": lb(w2.url)}, upstream=w1.url))
    ready(cw)
    assert b"Name: second" in send(cw, host="p.test")[2]


def test_redirect_scheme_middleware(start_whoami, start_causeway):
    w = start_whoami()
    mws = {"to-https": {"redirectScheme": {"scheme": "https", "port": "8443", "permanent": True}},
           "to-https-default-port": {"redirectScheme": {"scheme": "https"}}}
    routers = {"r": {"rule": "Host(`r.test`)", "service": "s", "middlewares": ["to-https"]},
               "d": {"rule": "Host(`d.test`)", "service": "s", "middlewares": ["to-https-default-port"]}}
    cw = start_causeway(dynamic=dynamic(routers, {"s": lb(w.url)}, mws, upstream=w.url))
    ready(cw)
    status, headers, _ = send(cw, host="r.test:8080", path="/p?q=1")
    assert status == 301
    assert headers["location"] == "https://r.test:8443/p?q=1"
    status, headers, _ = send(cw, host="r.test", path="/p", method="POST")
    assert status == 308
    status, headers, _ = send(cw, host="d.test:8080", path="/p")
    assert status == 302
    assert headers["location"] == "https://d.test/p"


def test_zero_weight_server_gets_nothing(start_whoami, start_causeway):
    w1, w2 = start_whoami("zero"), start_whoami("one")
    services = {"s": {"loadBalancer": {"servers": [{"url": w1.url, "weight": 0}, {"url": w2.url, "weight": 1}]}}}
    cw = start_causeway(dynamic=dynamic({"r": {"rule": "Host(`w.test`)", "service": "s"}}, services,
                                        upstream=w2.url))
    ready(cw)
    names = {whoami_echo(send(cw, host="w.test")[2])[2]["Name"] for _ in range(10)}
    assert names == {"one"}


def test_strip_prefix_plain_prefix_and_encoding(start_whoami, start_causeway):
    w = start_whoami()
    routers = {"r": {"rule": "PathPrefix(`/`)", "service": "s", "middlewares": ["strip"]}}
    mws = {"strip": {"stripPrefix": {"prefixes": ["/api", "/v2/api"]}}}
    cw = start_causeway(dynamic=dynamic(routers, {"s": lb(w.url)}, mws, upstream=w.url))
    ready(cw)
    # Traefik's stripPrefix is a plain string prefix; a leading slash is ensured.
    path, headers = path_seen(send(cw, path="/apix")[2])
    assert path == "/x" and header_values(headers, "X-Forwarded-Prefix") == ["/api"]
    path, _ = path_seen(send(cw, path="/api/a%2Fb?q=1")[2])
    assert path == "/a%2Fb?q=1"
    path, headers = path_seen(send(cw, path="/other")[2])
    assert path == "/other" and header_values(headers, "X-Forwarded-Prefix") == []
