"""The jwt middleware with keys and tokens made by the npm package `jose` (node/jwt_issuer.mjs):
JWKS served over HTTP (ES256) with rotation, unknown kids and an outage; a PEM public key
(RS256), a shared secret (HS256), an inline JWK set; trusted issuers; expired, not-yet-valid and
wrong-audience tokens, `alg: none`, an HS token made with an RSA public key; claims, forwarded
headers, the access log's user, the token kept away from the upstream; claims in MCP policies.

Reference: docs/api-gateway.md ("jwt"), docs/security.md (G01–G06)."""
import base64
import json
import os
import time
import urllib.request

import pytest

from harness import Process, header_values, to_yaml, wait_until, whoami_echo
from mcp_peer import NODE_DIR, SDK_INSTALLED, McpServer, run_client, step
from mwkit import get, request, start

JOSE_INSTALLED = (NODE_DIR / "node_modules" / "jose").exists()
pytestmark = pytest.mark.skipif(not JOSE_INSTALLED, reason="npm package jose missing: scripts/npm-deps")


class Issuer(Process):
    """node/jwt_issuer.mjs: key pairs, tokens and a JWK set over HTTP."""

    def __init__(self):
        super().__init__(["node", "jwt_issuer.mjs", "--port", "0"], cwd=str(NODE_DIR), name="jwt-issuer")
        wait_until(lambda: '"port"' in self.output() or self.proc.poll() is not None, timeout=20,
                   message="jwt issuer listening")
        self.port = json.loads(self.output().splitlines()[0])["port"]

    @property
    def jwks_url(self):
        return f"http://127.0.0.1:{self.port}/jwks"

    def call(self, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data,
                                     method="POST" if data is not None else "GET")
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def key(self, alg, kid, publish=True):
        return self.call("/keys", {"alg": alg, "kid": kid, "publish": publish})

    def sign(self, kid=None, secret=None, alg=None, header=None, **claims):
        body = {"kid": kid, "claims": claims, "header": header or {}}
        if secret is not None:
            body.update(secret=secret, alg=alg or "HS256")
        return self.call("/sign", body)["token"]

    def fetches(self):
        return self.call("/stats")["fetches"]


@pytest.fixture
def issuer():
    started = []

    def make():
        i = Issuer()
        started.append(i)
        return i

    yield make
    for i in started:
        i.stop()


def now():
    return int(time.time())


def bearer(token):
    return f"Authorization: Bearer {token}"


def b64(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_jwks_es256_claims_headers_and_refusals(start_whoami, start_causeway, issuer, tmp_path):
    iss = issuer()
    iss.key("ES256", "k1")
    rsa = iss.key("RS256", "r1", publish=False)
    log = tmp_path / "access.json"
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "auth": {"jwt": {"jwksUrl": iss.jwks_url, "claims": "Equals(`grp`, `admin`) || Contains(`roles`, `ops`)",
                         "forwardHeaders": {"X-Group": "grp", "X-Subject": "sub"}, "usernameClaim": "sub"}},
        "aud": {"jwt": {"jwksUrl": iss.jwks_url, "audiences": ["orders-api"]}},
    }, routers={"r": ("Host(`a.test`)", ["auth"]), "aud": ("Host(`aud.test`)", ["aud"])},
        static_extra=to_yaml({"accessLog": {"filePath": str(log), "format": "json"}}) + "\n")

    good = iss.sign("k1", sub="alice", grp="admin", exp=now() + 300, iat=now())
    status, headers, body = get(cw, "a.test", headers=[bearer(good), "X-Group: spoofed"])
    assert status == 200, body
    _, seen, _ = whoami_echo(body)
    assert header_values(seen, "X-Group") == ["admin"]
    assert header_values(seen, "X-Subject") == ["alice"]
    assert header_values(seen, "Authorization") == []  # forwardAuthorization is false
    # Claims hold through the array form too; the same token again comes from the cache.
    ops = iss.sign("k1", sub="bob", grp="dev", roles=["ops", "qa"])
    for _ in range(3):
        assert get(cw, "a.test", headers=[bearer(ops)])[0] == 200

    # No token: a bare challenge.
    status, headers, _ = get(cw, "a.test")
    assert status == 401
    assert headers["www-authenticate"] == 'Bearer realm="causeway"'
    # Claims that do not hold: 403 insufficient_scope.
    status, headers, _ = get(cw, "a.test", headers=[bearer(iss.sign("k1", sub="eve", grp="user"))])
    assert status == 403
    assert 'error="insufficient_scope"' in headers["www-authenticate"]

    def refused(token, why, host="a.test"):
        status, headers, body = get(cw, host, headers=[bearer(token)])
        assert status == 401, (why, body)
        challenge = headers["www-authenticate"]
        assert 'error="invalid_token"' in challenge and why in challenge, challenge
        assert token not in challenge and token.encode() not in body

    refused(iss.sign("k1", sub="a", grp="admin", exp=now() - 3600), "expired")
    refused(iss.sign("k1", sub="a", grp="admin", nbf=now() + 3600), "not valid yet")
    refused(iss.sign("k1", sub="a", grp="admin", iat=now() + 3600), "future")
    refused(good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"), "signature")
    # alg none, with and without a signature part.
    unsigned = b64({"alg": "none", "typ": "JWT"}) + "." + b64({"sub": "a", "grp": "admin"})
    refused(unsigned + ".", "none")
    # An HS256 token whose secret is the RSA public key (algorithm confusion): no key fits.
    refused(iss.sign(secret=rsa["publicPem"], sub="a", grp="admin"), "no key fits")
    # A kid the set does not have, signed by an unpublished key.
    refused(iss.sign("r1", sub="a", grp="admin"), "no key fits")
    # Audience: a token for another API.
    assert get(cw, "aud.test", headers=[bearer(iss.sign("k1", sub="a", aud=["orders-api", "x"]))])[0] == 200
    refused(iss.sign("k1", sub="a", aud="billing-api"), "audience", host="aud.test")
    refused(iss.sign("k1", sub="a"), "audience", host="aud.test")
    # Two Authorization headers are never guessed between.
    assert request(cw, "a.test", headers={"Authorization": f"Bearer {good}",
                                          "authorization": "Bearer x"})[0] in (400, 401)

    entries = wait_until(lambda: [json.loads(l) for l in log.read_text().splitlines()] if log.exists() else None,
                         message="access log")
    users = {e.get("ClientUsername") for e in entries}
    assert "alice" in users and "bob" in users
    assert good not in log.read_text()
    assert good not in cw.output()


def test_rotation_unknown_kids_and_outage(start_whoami, start_causeway, issuer):
    iss = issuer()
    iss.key("ES256", "old")
    iss.call("/config", {"cacheControl": "max-age=600"})
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "auth": {"jwt": {"jwksUrl": iss.jwks_url, "jwksMinRefreshSeconds": 1}},
    }, routers={"r": ("Host(`a.test`)", ["auth"])})
    old = iss.sign("old", sub="a")
    assert get(cw, "a.test", headers=[bearer(old)])[0] == 200
    assert iss.fetches() == 1

    # Rotation: a new key is published, the old one withdrawn. A token with the new kid makes
    # causeway fetch the set again at once (the cached set is fresh for 600 s).
    time.sleep(1.1)
    iss.key("ES256", "new")
    iss.call("/unpublish", {"kid": "old"})
    new = iss.sign("new", sub="b")
    assert get(cw, "a.test", headers=[bearer(new)])[0] == 200
    assert iss.fetches() == 2
    # The old token was verified before; its key is gone now, so it is checked again and fails.
    time.sleep(1.1)
    status, headers, _ = get(cw, "a.test", headers=[bearer(old)])
    assert status == 401 and "no key fits" in headers["www-authenticate"]

    # Tokens with made-up kids: at most one fetch per second, not one per token.
    before = iss.fetches()
    started = time.monotonic()
    for i in range(30):
        forged = iss.sign("new", header={"kid": f"made-up-{i}"}, sub="x")
        assert get(cw, "a.test", headers=[bearer(forged)])[0] == 401
    elapsed = time.monotonic() - started
    assert iss.fetches() - before <= int(elapsed) + 2

    # Outage: the set cannot be fetched (a made-up kid forces a fetch); the last good keys stay
    # in use.
    iss.call("/config", {"status": 500})
    time.sleep(1.2)
    forged = iss.sign("new", header={"kid": "after-outage"}, sub="x")
    assert get(cw, "a.test", headers=[bearer(forged)])[0] == 401
    for _ in range(5):
        assert get(cw, "a.test", headers=[bearer(new)])[0] == 200
        time.sleep(0.3)
    wait_until(lambda: "cannot fetch the JWK set" in cw.output(), message="outage logged")
    assert cw.proc.poll() is None


def test_static_key_sources_and_token_locations(start_whoami, start_causeway, issuer, tmp_path):
    iss = issuer()
    rsa = iss.key("RS256", "r1", publish=False)
    ed = iss.key("EdDSA", "e1", publish=False)
    secret = "a-shared-secret-of-32-bytes-long!"
    pem_file = tmp_path / "public.pem"
    pem_file.write_text(rsa["publicPem"])
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "pem": {"jwt": {"publicKey": rsa["publicPem"], "tokenKey": "access_token"}},
        "pemfile": {"jwt": {"publicKey": str(pem_file), "forwardAuthorization": True}},
        "hs": {"jwt": {"signingSecret": base64.b64encode(secret.encode()).decode(),
                       "signingSecretBase64Encoded": True, "tokenKey": "jwt"}},
        "file": {"jwt": {"jwksFile": json.dumps({"keys": [ed["jwk"]]})}},
    }, routers={"pem": ("Host(`pem.test`)", ["pem"]), "pemfile": ("Host(`pemfile.test`)", ["pemfile"]),
                "hs": ("Host(`hs.test`)", ["hs"]), "file": ("Host(`file.test`)", ["file"])})

    rs = iss.sign("r1", sub="a")
    # Query parameter: accepted, and taken off the request (other parameters stay).
    status, _, body = get(cw, "pem.test", path=f"/x?keep=1&access_token={rs}&also=2")
    assert status == 200, body
    line, _, _ = whoami_echo(body)
    assert "access_token" not in line and "keep=1" in line and "also=2" in line
    # forwardAuthorization keeps the header for the upstream.
    status, _, body = get(cw, "pemfile.test", headers=[bearer(rs)])
    assert status == 200
    assert header_values(whoami_echo(body)[1], "Authorization") == [f"Bearer {rs}"]
    # HS256 with a base64-encoded secret, from a form field (removed before the upstream).
    hs = iss.sign(secret=secret, sub="a")
    status, _, body = get(cw, "hs.test", method="POST", data=f"a=1&jwt={hs}&b=2",
                          headers=["Content-Type: application/x-www-form-urlencoded"])
    assert status == 200, body
    assert whoami_echo(body)[2]["Body-Length"] == str(len("a=1&b=2"))
    assert get(cw, "hs.test", headers=[bearer(iss.sign(secret=secret + "x", sub="a"))])[0] == 401
    # An RS256 token against the HS secret, and an HS token against the RSA key.
    assert get(cw, "hs.test", headers=[bearer(rs)])[0] == 401
    assert get(cw, "pem.test", headers=[bearer(hs)])[0] == 401
    # EdDSA from an inline JWK set.
    assert get(cw, "file.test", headers=[bearer(iss.sign("e1", sub="a"))])[0] == 200
    assert get(cw, "file.test", headers=[bearer(rs)])[0] == 401


def test_trusted_issuers_pick_the_key_set(start_whoami, start_causeway, issuer):
    a, b = issuer(), issuer()
    a.key("ES256", "a1")
    b.key("RS256", "b1")
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "auth": {"jwt": {"trustedIssuers": [{"issuer": "https://a.example", "jwksUrl": a.jwks_url},
                                            {"issuer": "https://b.example", "jwksUrl": b.jwks_url}]}},
    }, routers={"r": ("Host(`a.test`)", ["auth"])})
    assert get(cw, "a.test", headers=[bearer(a.sign("a1", iss="https://a.example", sub="x"))])[0] == 200
    assert get(cw, "a.test", headers=[bearer(b.sign("b1", iss="https://b.example", sub="x"))])[0] == 200
    # B's key cannot speak for A, and an issuer nobody trusts is refused before any fetch.
    status, headers, _ = get(cw, "a.test", headers=[bearer(b.sign("b1", iss="https://a.example", sub="x"))])
    assert status == 401
    status, headers, _ = get(cw, "a.test", headers=[bearer(b.sign("b1", iss="https://c.example", sub="x"))])
    assert status == 401 and "issuer is not trusted" in headers["www-authenticate"]


def hs256(secret, claims):
    """An HS256 token made here (RFC 7515 §3: base64url(header).base64url(claims), HMAC-SHA256)."""
    import hashlib
    import hmac
    signing = b64({"alg": "HS256", "typ": "JWT"}) + "." + b64(claims)
    mac = hmac.new(secret.encode(), signing.encode(), hashlib.sha256).digest()
    return signing + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def test_limits_grouped_by_a_claim(start_whoami, start_causeway):
    """sourceCriterion.requestClaim: each tenant of a verified token has its own bucket, whatever
    address or token it comes with."""
    secret = "claims-group-limits-secret-32-bytes"
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "auth": {"jwt": {"signingSecret": secret}},
        "per-tenant": {"rateLimit": {"average": 1, "period": "1m", "burst": 2,
                                     "sourceCriterion": {"requestClaim": "org.id"}}},
    }, routers={"api": ("Host(`api.test`)", ["auth", "per-tenant"])})
    acme1 = hs256(secret, {"sub": "u1", "org": {"id": "acme"}, "exp": now() + 600})
    acme2 = hs256(secret, {"sub": "u2", "org": {"id": "acme"}, "exp": now() + 600})
    globex = hs256(secret, {"sub": "u3", "org": {"id": "globex"}, "exp": now() + 600})
    got = [get(cw, "api.test", headers=[bearer(t)])[0] for t in (acme1, acme2, acme1, globex, globex)]
    assert got == [200, 200, 429, 200, 200], got  # acme's two users share one bucket of 2


def test_configuration_errors_name_the_problem(start_whoami, start_causeway):
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "two": {"jwt": {"signingSecret": "s", "jwksUrl": "http://127.0.0.1:1/jwks"}},
        "none": {"jwt": {"claims": "Equals(`a`, `b`)"}},
        "badclaims": {"jwt": {"signingSecret": "s", "claims": "Equals(`a`"}},
        "badpem": {"jwt": {"publicKey": "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----"}},
    }, routers={"two": ("Host(`two.test`)", ["two"]), "none": ("Host(`none.test`)", ["none"]),
                "badclaims": ("Host(`bc.test`)", ["badclaims"]), "badpem": ("Host(`bp.test`)", ["badpem"])})
    out = cw.output()
    assert "exactly one of signingSecret, publicKey, jwksFile, jwksUrl, trustedIssuers" in out
    assert "2 are" in out and "0 are" in out
    assert "jwt: claims:" in out
    assert "jwt: publicKey:" in out
    # The routers that use them are disabled, not open.
    for host in ("two.test", "none.test", "bc.test", "bp.test"):
        assert get(cw, host)[0] == 404


@pytest.mark.skipif(not SDK_INSTALLED, reason="MCP SDKs missing: scripts/npm-deps")
def test_token_claims_drive_mcp_policies(start_causeway, issuer):
    """TBAC: the token's tasks decide which tools an agent sees and may call."""
    iss = issuer()
    iss.key("ES256", "k1")
    server = McpServer("A")
    try:
        config = {"http": {
            "routers": {"mcp": {"rule": "PathPrefix(`/mcp`)", "service": "mcp", "middlewares": ["auth", "gw"]}},
            "middlewares": {
                "auth": {"jwt": {"jwksUrl": iss.jwks_url, "usernameClaim": "sub"}},
                "gw": {"mcp": {"policies": [
                    {"match": "Equals(`mcp.method`, `tools/call`) && Contains(`tasks`, `echo`) && "
                              "Equals(`mcp.params.name`, `echo`)", "action": "allow"},
                    {"match": "Equals(`mcp.method`, `tools/call`) && Contains(`tasks`, `math`) && "
                              "Equals(`mcp.params.name`, `add`)", "action": "allow"}],
                    "defaultAction": "deny"}}},
            "services": {"mcp": {"loadBalancer": {"servers": [{"url": server.url}]}}}}}
        cw = start_causeway(dynamic={"mcp.yml": to_yaml(config) + "\n"})
        url = cw.url("web", "/mcp")
        wait_until(lambda: request(cw, "x", "/mcp")[0] == 401, message="router up")
        echo_agent = iss.sign("k1", sub="agent-echo", tasks=["echo"])
        math_agent = iss.sign("k1", sub="agent-math", tasks=["math"])
        steps = ["listTools", {"op": "callTool", "name": "echo", "args": {"text": "hi"}},
                 {"op": "callTool", "name": "add", "args": {"a": 1, "b": 2}}]
        r = run_client(url, steps, "--header", f"Authorization: Bearer {echo_agent}")
        assert r["steps"][0]["ok"], r
        names = step(r, 0)["tools"]
        assert "echo" in names and "add" not in names
        assert r["steps"][1]["ok"] and not r["steps"][2]["ok"]
        r = run_client(url, steps, "--header", f"Authorization: Bearer {math_agent}")
        names = step(r, 0)["tools"]
        assert "add" in names and "echo" not in names
        assert not r["steps"][1]["ok"] and r["steps"][2]["ok"]
        # Without a token the agent gets no further than the jwt middleware.
        r = run_client(url, ["listTools"])
        assert not r["connected"] and r["connectError"]["code"] == 401, r
    finally:
        server.stop()
