"""stripPrefix and stripPrefixRegex: the first matching prefix is removed and added to
X-Forwarded-Prefix; an empty result is "/"; a stripped path that changes under normalization
is refused with 400 (Traefik v3.7.3, CVE-2026-48020).

Reference: docs/compatibility.md (middlewares) (StripPrefix, StripPrefixRegex); Traefik
pkg/middlewares/stripprefix, stripprefixregex; docs/security.md P09."""
from harness import header_values, whoami_echo
from mwkit import request, start


def echo(cw, host, path):
    status, _, body = request(cw, host, path)
    assert status == 200, (host, path, body)
    line, headers, _ = whoami_echo(body)
    return line.split(" ")[1], header_values(headers, "X-Forwarded-Prefix")


def test_strip_prefix(start_whoami, start_causeway):
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "sp": {"stripPrefix": {"prefixes": ["/api", "/v1/"]}},
        "sp-space": {"stripPrefix": {"prefixes": ["/foo bar"]}},
        "sp-force": {"stripPrefix": {"prefixes": ["/api"], "forceSlash": False}},
    }, routers={name: (f"Host(`{name}.test`)", [name]) for name in ["sp", "sp-space", "sp-force"]})
    assert echo(cw, "sp.test", "/api/users?x=1") == ("/users?x=1", ["/api"])
    assert echo(cw, "sp.test", "/api") == ("/", ["/api"])
    assert echo(cw, "sp.test", "/apiv2") == ("/v2", ["/api"])  # a plain string prefix
    assert echo(cw, "sp.test", "/v1/x") == ("/x", ["/v1/"])
    assert echo(cw, "sp.test", "/other") == ("/other", [])
    # The client's own X-Forwarded-Prefix is not trusted (dropped at the entryPoint).
    status, _, body = request(cw, "sp.test", "/api/u", headers={"X-Forwarded-Prefix": "/evil"})
    assert header_values(whoami_echo(body)[1], "X-Forwarded-Prefix") == ["/api"]
    # Prefixes match the decoded path; the escaped form is cut.
    assert echo(cw, "sp-space.test", "/foo%20bar/a%20b") == ("/a%20b", ["/foo bar"])
    assert echo(cw, "sp-force.test", "/api/z") == ("/z", ["/api"])
    # P09: what remains would be normalized into something else → 400.
    for path in ("/api./admin", "/api%2e/admin", "/api.%2e/admin", "/api../x"):
        status, _, body = request(cw, "sp.test", path)
        assert (status, body) == (400, b"Bad Request\n"), path


def test_strip_prefix_regex(start_whoami, start_causeway):
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "spr": {"stripPrefixRegex": {"regex": ["/api/v\\d+", "/[a-z]{2}/"]}},
        "spr-broken": {"stripPrefixRegex": {"regex": ["(["]}},
    }, routers={name: (f"Host(`{name}.test`)", [name]) for name in ["spr", "spr-broken"]})
    assert echo(cw, "spr.test", "/api/v12/users") == ("/users", ["/api/v12"])
    assert echo(cw, "spr.test", "/api/v1") == ("/", ["/api/v1"])
    assert echo(cw, "spr.test", "/fr/page") == ("/page", ["/fr/"])
    # A match that does not start the path is not a prefix.
    assert echo(cw, "spr.test", "/x/api/v1/y") == ("/x/api/v1/y", [])
    assert echo(cw, "spr.test", "/none") == ("/none", [])
    status, _, body = request(cw, "spr.test", "/api/v1./x")
    assert (status, body) == (400, b"Bad Request\n")
    assert request(cw, "spr-broken.test", "/")[0] == 404
