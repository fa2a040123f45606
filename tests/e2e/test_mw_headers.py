"""headers middleware: custom headers, CORS, security headers (Traefik v3
pkg/middlewares/headers, unrolled/secure v1.0.9).

Reference: docs/compatibility.md (middlewares) (Headers middleware options)."""
import re

from harness import header_values, whoami_echo
from mwkit import get, request, start, values, wait_log


def test_custom_request_headers_set_and_remove(start_whoami, start_causeway):
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "custom": {"headers": {"customRequestHeaders": {
            "X-Script-Name": "test", "x-lower-case": "canonical", "X-Remove-Me": "", "Host": "rewritten.example"}}},
    }, routers={"r": ("Host(`a.test`)", ["custom"])})
    status, _, body = get(cw, "a.test", headers=["X-Remove-Me: secret", "X-Script-Name: client"])
    assert status == 200
    _, headers, _ = whoami_echo(body)
    assert header_values(headers, "X-Script-Name") == ["test"]
    assert "X-Lower-Case" in [k for k, _ in headers], headers  # written as Go's canonical key
    assert header_values(headers, "X-Remove-Me") == []
    assert header_values(headers, "Host") == ["rewritten.example"]


def test_custom_request_header_empty_forwarded_for_sends_none(start_whoami, start_causeway):
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "noxff": {"headers": {"customRequestHeaders": {"X-Forwarded-For": ""}}},
        "lowerxff": {"headers": {"customRequestHeaders": {"x-forwarded-for": ""}}},
    }, routers={"r": ("Host(`a.test`)", ["noxff"]), "s": ("Host(`b.test`)", ["lowerxff"])})
    _, _, body = get(cw, "a.test")
    _, headers, _ = whoami_echo(body)
    assert header_values(headers, "X-Forwarded-For") == []
    # Another spelling only deletes the field: the proxy still adds the peer.
    _, _, body = get(cw, "b.test")
    _, headers, _ = whoami_echo(body)
    assert header_values(headers, "X-Forwarded-For") == ["127.0.0.1"]


def test_custom_response_headers_set_and_remove(start_whoami, start_causeway):
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "resp": {"headers": {"customResponseHeaders": {"X-Custom-Response": "yes", "Content-Type": ""}}},
    }, routers={"r": ("Host(`a.test`)", ["resp"])})
    status, headers, _ = get(cw, "a.test")
    assert status == 200
    assert headers["x-custom-response"] == "yes"
    assert "content-type" not in headers
    # Local answers of inner handlers get them too (a 404 from a missing path is whoami's).
    status, headers, _ = get(cw, "a.test", path="/?status=418")
    assert status == 418
    assert headers["x-custom-response"] == "yes"


CORS = {"headers": {
    "accessControlAllowMethods": ["GET", "OPTIONS", "PUT"],
    "accessControlAllowHeaders": ["X-One", "X-Two"],
    "accessControlAllowOriginList": ["https://foo.example"],
    "accessControlAllowOriginListRegex": [r"^https://([a-z]+)\.bar\.example$"],
    "accessControlExposeHeaders": ["X-Exposed"],
    "accessControlMaxAge": 100,
    "addVaryHeader": True,
}}


def test_cors_preflight_is_answered_and_not_forwarded(start_whoami, start_causeway):
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={"cors": CORS}, routers={"r": ("Host(`a.test`)", ["cors"])})
    status, headers, body = request(cw, "a.test", method="OPTIONS", headers={
        "Origin": "https://foo.example", "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "X-One"})
    assert status == 200
    assert body == b""  # whoami would have echoed the request
    assert values(headers, "Content-Length") == ["0"]
    assert values(headers, "Access-Control-Allow-Methods") == ["GET,OPTIONS,PUT"]
    assert values(headers, "Access-Control-Allow-Headers") == ["X-One,X-Two"]
    assert values(headers, "Access-Control-Allow-Origin") == ["https://foo.example"]
    assert values(headers, "Access-Control-Max-Age") == ["100"]
    assert values(headers, "Access-Control-Expose-Headers") == ["X-Exposed"]
    assert values(headers, "Access-Control-Allow-Credentials") == []
    assert values(headers, "Vary") == []  # not on preflight answers
    assert values(headers, "Content-Type") == []

    # A regex origin, and an origin that matches nothing (still answered, without the header).
    status, headers, _ = request(cw, "a.test", method="OPTIONS", headers={
        "Origin": "https://abc.bar.example", "Access-Control-Request-Method": "GET"})
    assert status == 200
    assert values(headers, "Access-Control-Allow-Origin") == ["https://abc.bar.example"]
    status, headers, body = request(cw, "a.test", method="OPTIONS", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    assert status == 200 and body == b""
    assert values(headers, "Access-Control-Allow-Origin") == []

    # OPTIONS without Access-Control-Request-Method is an ordinary request: forwarded.
    status, headers, body = request(cw, "a.test", method="OPTIONS", headers={"Origin": "https://foo.example"})
    assert status == 200
    assert b"OPTIONS / HTTP/1.1" in body
    assert values(headers, "Access-Control-Allow-Origin") == ["https://foo.example"]


def test_cors_actual_request_headers(start_whoami, start_causeway):
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "cors": CORS,
        "creds": {"headers": {"accessControlAllowCredentials": True, "accessControlAllowOriginList": ["*"],
                              "accessControlExposeHeaders": ["*"]}},
        "star": {"headers": {"accessControlAllowOriginList": ["*"]}},
    }, routers={"r": ("Host(`a.test`)", ["cors"]), "c": ("Host(`c.test`)", ["creds"]),
                "s": ("Host(`s.test`)", ["star"])})
    status, headers, body = request(cw, "a.test", headers={"Origin": "https://foo.example"})
    assert status == 200 and b"GET / HTTP/1.1" in body
    assert values(headers, "Access-Control-Allow-Origin") == ["https://foo.example"]
    assert values(headers, "Access-Control-Expose-Headers") == ["X-Exposed"]
    assert values(headers, "Vary") == ["Origin"]
    assert values(headers, "Access-Control-Max-Age") == []
    status, headers, _ = request(cw, "a.test", headers={"Origin": "https://nope.example"})
    assert values(headers, "Access-Control-Allow-Origin") == []
    assert values(headers, "Vary") == ["Origin"]

    # Credentials with "*": the origin is echoed, "*" expose headers are not sent.
    _, headers, _ = request(cw, "c.test", headers={"Origin": "https://any.example"})
    assert values(headers, "Access-Control-Allow-Origin") == ["https://any.example"]
    assert values(headers, "Access-Control-Allow-Credentials") == ["true"]
    assert values(headers, "Access-Control-Expose-Headers") == []
    # "*" without credentials: "*", even without an Origin header (as Traefik).
    _, headers, _ = request(cw, "s.test")
    assert values(headers, "Access-Control-Allow-Origin") == ["*"]


def test_security_headers(start_whoami, start_causeway):
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "secure": {"headers": {
            "frameDeny": True, "contentTypeNosniff": True, "browserXssFilter": True,
            "contentSecurityPolicy": "default-src 'self'", "contentSecurityPolicyReportOnly": "script-src 'none'",
            "referrerPolicy": "no-referrer", "permissionsPolicy": "camera=()",
            "stsSeconds": 31536000, "stsIncludeSubdomains": True, "stsPreload": True,
            "sslProxyHeaders": {"X-Ssl": "on"}, "publicKey": "pin-sha256=\"abc\"; max-age=10"}},
        "custom": {"headers": {"customFrameOptionsValue": "SAMEORIGIN", "customBrowserXSSValue": "0",
                               "stsSeconds": 60, "forceSTSHeader": True}},
        "override": {"headers": {"frameDeny": True, "customResponseHeaders": {"X-Frame-Options": ""}}},
        "dev": {"headers": {"stsSeconds": 60, "forceSTSHeader": True, "isDevelopment": True}},
    }, routers={"r": ("Host(`a.test`)", ["secure"]), "c": ("Host(`c.test`)", ["custom"]),
                "o": ("Host(`o.test`)", ["override"]), "d": ("Host(`d.test`)", ["dev"])})
    status, headers, _ = request(cw, "a.test")
    assert status == 200
    assert values(headers, "X-Frame-Options") == ["DENY"]
    assert values(headers, "X-Content-Type-Options") == ["nosniff"]
    assert values(headers, "X-Xss-Protection") == ["1; mode=block"]
    assert values(headers, "Content-Security-Policy") == ["default-src 'self'"]
    assert values(headers, "Content-Security-Policy-Report-Only") == ["script-src 'none'"]
    assert values(headers, "Referrer-Policy") == ["no-referrer"]
    assert values(headers, "Permissions-Policy") == ["camera=()"]
    # Plain HTTP: no STS, no HPKP.
    assert values(headers, "Strict-Transport-Security") == []
    assert values(headers, "Public-Key-Pins") == []
    # An sslProxyHeaders match counts as HTTPS.
    _, headers, _ = request(cw, "a.test", headers={"X-Ssl": "on"})
    assert values(headers, "Strict-Transport-Security") == ["max-age=31536000; includeSubDomains; preload"]
    assert values(headers, "Public-Key-Pins") == ['pin-sha256="abc"; max-age=10']

    _, headers, _ = request(cw, "c.test")
    assert values(headers, "X-Frame-Options") == ["SAMEORIGIN"]
    assert values(headers, "X-Xss-Protection") == ["0"]
    assert values(headers, "Strict-Transport-Security") == ["max-age=60"]  # forceSTSHeader

    _, headers, _ = request(cw, "o.test")
    assert values(headers, "X-Frame-Options") == []  # customResponseHeaders win
    _, headers, _ = request(cw, "d.test")
    assert values(headers, "Strict-Transport-Security") == []  # isDevelopment


def test_csp_nonce(start_whoami, start_causeway):
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "csp": {"headers": {"contentSecurityPolicy": "script-src $NONCE 'strict-dynamic'"}},
    }, routers={"r": ("Host(`a.test`)", ["csp"])})
    nonces = set()
    for _ in range(2):
        _, headers, _ = request(cw, "a.test")
        (csp,) = values(headers, "Content-Security-Policy")
        m = re.fullmatch(r"script-src 'nonce-([A-Za-z0-9+/]{22})' 'strict-dynamic'", csp)
        assert m, csp
        nonces.add(m.group(1))
    assert len(nonces) == 2


def test_allowed_hosts(start_whoami, start_causeway):
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "hosts": {"headers": {"allowedHosts": ["good.test"], "hostsProxyHeaders": ["X-Original-Host"],
                              "customResponseHeaders": {"X-Seen": "1"}}},
        "devhosts": {"headers": {"allowedHosts": ["good.test"], "isDevelopment": True}},
    }, routers={"r": ("HostRegexp(`^(good|bad)\\.test$`)", ["hosts"]), "d": ("Host(`dev.test`)", ["devhosts"])})
    status, _, _ = get(cw, "good.test")
    assert status == 200
    status, headers, body = get(cw, "bad.test")
    assert status == 500
    assert body == b"Bad Host\n"
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert headers["x-seen"] == "1"  # the outer custom layer still applies
    # The host comes from the first non-empty hostsProxyHeaders field when present.
    status, _, _ = get(cw, "bad.test", headers=["X-Original-Host: good.test"])
    assert status == 200
    status, _, _ = get(cw, "good.test", headers=["X-Original-Host: bad.test"])
    assert status == 500
    # The port is part of the host Traefik compares.
    status, _, _ = get(cw, "good.test:8080")
    assert status == 500
    status, _, _ = get(cw, "dev.test")
    assert status == 200


def test_empty_headers_configuration_is_an_error(start_whoami, start_causeway):
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "empty": {"headers": {"isDevelopment": False}},
        "badregex": {"headers": {"accessControlAllowOriginListRegex": ["("]}},
        "legacy": {"headers": {"sslRedirect": True, "featurePolicy": "camera 'none'"}},
    }, routers={"r": ("Host(`a.test`)", ["empty"]), "b": ("Host(`b.test`)", ["badregex"]),
                "l": ("Host(`l.test`)", ["legacy"])})
    wait_log(cw, "headers configuration not valid")
    wait_log(cw, "error occurred during origin parsing")
    assert get(cw, "a.test")[0] == 404
    assert get(cw, "b.test")[0] == 404
    # Options removed in v3 are accepted and do nothing (no redirect, no Feature-Policy).
    status, headers, _ = get(cw, "l.test")
    assert status == 200
    assert "feature-policy" not in headers
