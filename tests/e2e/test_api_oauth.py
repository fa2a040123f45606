"""oAuthIntrospection and oAuthClientCredentials against the endpoints of the npm package
`oidc-provider` (node/oidc_idp.mjs), and the jwt middleware against its JWK set: tokens made by
the provider, revoked, expired from the cache, refused credentials, the provider stopped; client
credential tokens shared by two instances through a real redis-server, sealed there.

Reference: docs/api-gateway.md ("oAuthIntrospection", "oAuthClientCredentials")."""
import base64
import json
import time
import urllib.parse
import urllib.request

import pytest

from harness import Process, header_values, wait_until, whoami_echo
from mcp_peer import NODE_DIR
from mwkit import get, start
from redis_peer import needs_redis, start_redis  # noqa: F401 (fixture)

pytestmark = pytest.mark.skipif(not (NODE_DIR / "node_modules" / "oidc-provider").exists(),
                                reason="npm package oidc-provider missing: scripts/npm-deps")


class Idp(Process):
    def __init__(self):
        super().__init__(["node", "oidc_idp.mjs", "--port", "0"], cwd=str(NODE_DIR), name="oidc-idp")
        wait_until(lambda: '"issuer"' in self.output() or self.proc.poll() is not None, timeout=30,
                   message="oidc-provider listening")
        line = next(l for l in self.output().splitlines() if l.startswith("{"))
        self.issuer = json.loads(line)["issuer"]

    def post(self, path, form, client, secret):
        req = urllib.request.Request(self.issuer + path, data=urllib.parse.urlencode(form).encode(), method="POST")
        req.add_header("Authorization", "Basic " + base64.b64encode(f"{client}:{secret}".encode()).decode())
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
            return json.loads(body) if body else {}

    def token(self, scope="api:read", client="machine", secret="machine-secret"):
        return self.post("/token", {"grant_type": "client_credentials", "scope": scope}, client, secret)["access_token"]


@pytest.fixture
def idp():
    i = Idp()
    yield i
    i.stop()


def basic(client, secret):
    return "Authorization: Basic " + base64.b64encode(f"{client}:{secret}".encode()).decode()


def test_introspection(start_whoami, start_causeway, idp):
    w = start_whoami()
    client = {"url": idp.issuer + "/token/introspection", "tokenTypeHint": "access_token",
              "headers": {"Authorization": "Basic " + base64.b64encode(b"resource:resource-secret").decode()}}
    cw = start(start_causeway, w.url, middlewares={
        "intro": {"oAuthIntrospection": {
            "clientConfig": client, "tokenSource": {"header": "Authorization", "headerAuthScheme": "Bearer"},
            "claims": "SplitContains(`scope`, ` `, `api:read`)", "forwardHeaders": {"X-Client": "client_id"},
            "usernameClaim": "client_id", "maxCacheSeconds": 2}},
        "query": {"oAuthIntrospection": {"clientConfig": client, "tokenSource": {"query": "access_token"},
                                          "maxCacheSeconds": 0}},
    }, routers={"a": ("Host(`a.test`)", ["intro"]), "q": ("Host(`q.test`)", ["query"])})

    token = idp.token("api:read")
    status, _, body = get(cw, "a.test", headers=[f"Authorization: Bearer {token}", "X-Client: spoofed"])
    assert status == 200, body
    _, seen, _ = whoami_echo(body)
    assert header_values(seen, "X-Client") == ["machine"]
    assert header_values(seen, "Authorization") == []
    # A token without the scope: 403; a made-up token: 401; none: 401 with a bare challenge.
    status, headers, _ = get(cw, "a.test", headers=[f"Authorization: Bearer {idp.token('api:write')}"])
    assert status == 403 and 'error="insufficient_scope"' in headers["www-authenticate"]
    status, headers, _ = get(cw, "a.test", headers=["Authorization: Bearer not-a-token"])
    assert status == 401 and 'error="invalid_token"' in headers["www-authenticate"]
    status, headers, _ = get(cw, "a.test")
    assert status == 401 and headers["www-authenticate"] == 'Bearer realm="causeway"'
    # Revocation: seen once the cached answer (2 s here) has expired.
    idp.post("/token/revocation", {"token": token}, "machine", "machine-secret")
    wait_until(lambda: get(cw, "a.test", headers=[f"Authorization: Bearer {token}"])[0] == 401, timeout=10,
               message="revoked token refused")
    # Without a cache every request asks; a query-parameter token is removed before the upstream.
    fresh = idp.token("api:read")
    status, _, body = get(cw, "q.test", path=f"/x?access_token={fresh}&keep=1")
    assert status == 200
    assert "access_token" not in whoami_echo(body)[0]
    idp.post("/token/revocation", {"token": fresh}, "machine", "machine-secret")
    assert get(cw, "q.test", path=f"/x?access_token={fresh}")[0] == 401
    # The provider stops: 503, and the log says why once, not per request.
    idp.stop()
    for _ in range(3):
        assert get(cw, "q.test", path=f"/x?access_token={fresh}")[0] == 503
    assert cw.output().count("the introspection endpoint cannot be used") == 1
    assert token not in cw.output() and fresh not in cw.output()


def test_client_credentials(start_whoami, start_causeway, idp):
    w = start_whoami()
    token_url = idp.issuer + "/token"
    cw = start(start_causeway, w.url, middlewares={
        # Machine to machine: the gateway's own credentials, a JWT access token for urn:orders.
        "m2m": {"oAuthClientCredentials": {"url": token_url, "clientId": "jwtmachine", "clientSecret": "jwtmachine-secret",
                                           "scopes": ["orders:read"], "resource": "urn:orders",
                                           "forwardHeaders": {"X-Token-Audience": "aud"}, "usernameClaim": "client_id"}},
        # Hub's form: the client's own id and secret become a token.
        "relay": {"oAuthClientCredentials": {"url": token_url, "scopes": ["api:read"],
                                             "claims": "SplitContains(`scope`, ` `, `api:read`)"}},
    }, routers={"m": ("Host(`m.test`)", ["m2m"]), "r": ("Host(`r.test`)", ["relay"])})

    status, _, body = get(cw, "m.test", headers=["Authorization: Bearer client-token-must-not-pass"])
    assert status == 200, body
    _, seen, _ = whoami_echo(body)
    auth = header_values(seen, "Authorization")
    assert len(auth) == 1 and auth[0].startswith("Bearer ey") and "client-token" not in auth[0]
    assert header_values(seen, "X-Token-Audience") == ["urn:orders"]
    # Tokens are cached by each worker (two here): six requests see at most two tokens.
    seen_tokens = {header_values(whoami_echo(get(cw, "m.test")[2])[1], "Authorization")[0] for _ in range(6)}
    assert len(seen_tokens | set(auth)) <= 2, seen_tokens

    status, _, body = get(cw, "r.test", headers=[basic("machine", "machine-secret")])
    assert status == 200, body
    relayed = header_values(whoami_echo(body)[1], "Authorization")
    assert len(relayed) == 1 and relayed[0].startswith("Bearer ") and "Basic" not in relayed[0]
    introspected = idp.post("/token/introspection", {"token": relayed[0][7:]}, "resource", "resource-secret")
    assert introspected["active"] and introspected["client_id"] == "machine"
    status, headers, _ = get(cw, "r.test", headers=[basic("machine", "wrong-secret")])
    assert status == 401 and headers["www-authenticate"] == 'Basic realm="causeway"'
    assert get(cw, "r.test")[0] == 401
    assert "machine-secret" not in cw.output() and "jwtmachine-secret" not in cw.output()


@needs_redis
def test_client_credentials_shared_through_redis(start_whoami, start_causeway, start_redis, idp):
    redis = start_redis()
    w = start_whoami()
    secret = "0123456789abcdef0123456789abcdef"
    mws = {"m2m": {"oAuthClientCredentials": {
        "url": idp.issuer + "/token", "clientId": "jwtmachine", "clientSecret": "jwtmachine-secret",
        "scopes": ["orders:read"], "resource": "urn:orders",
        "store": {"redis": {"endpoints": [f"127.0.0.1:{redis.port}"], "timeout": "1s"},
                  "secret": secret, "keyPrefix": "occ-test:"}}}}
    routers = {"m": ("Host(`m.test`)", ["m2m"])}
    a = start(start_causeway, w.url, middlewares=mws, routers=routers)
    b = start(start_causeway, w.url, middlewares=mws, routers=routers)

    def token_via(cw):
        status, _, body = get(cw, "m.test")
        assert status == 200, body
        return header_values(whoami_echo(body)[1], "Authorization")[0]

    # The first request fetches a token and keeps it in Redis; every worker of both instances
    # then finds it there instead of asking the token endpoint again.
    tokens = {token_via((a, b)[i % 2]) for i in range(8)}
    assert len(tokens) == 1, tokens
    keys = redis.command("KEYS", "occ-test:*")
    assert len(keys) == 1 and len(keys[0]) == len("occ-test:") + 64, keys
    kept = redis.command("GET", keys[0])
    token = tokens.pop()[len("Bearer "):]
    assert token not in kept and token.split(".")[1] not in kept  # sealed, not in clear
    ttl = int(redis.command("PTTL", keys[0]))
    assert 0 < ttl <= 3600 * 1000

    # A value sealed with another secret (or altered) is not used: a new token is fetched.
    redis.command("SET", keys[0], "cw1.AAAA", "PX", "60000")
    c = start(start_causeway, w.url, middlewares=mws, routers=routers)
    assert token_via(c) != "Bearer " + token

    # Redis stopped: the middleware still works, fetching tokens itself, and says why once. (A
    # new instance: the others' workers may answer from their own caches without asking Redis.)
    redis.stop()
    d = start(start_causeway, w.url, middlewares=mws, routers=routers)
    assert token_via(d).startswith("Bearer ey")
    wait_until(lambda: "the token store cannot be used" in d.output(), timeout=10, message="store warning")
    for cw in (a, b, c, d):
        assert secret not in cw.output() and "jwtmachine-secret" not in cw.output()


def test_client_credentials_store_errors(start_whoami, start_causeway):
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "short": {"oAuthClientCredentials": {"url": "http://127.0.0.1:1/token", "clientId": "a", "clientSecret": "b",
                                             "store": {"redis": {"endpoints": ["127.0.0.1:1"]}, "secret": "too-short"}}},
        "none": {"oAuthClientCredentials": {"url": "http://127.0.0.1:1/token", "clientId": "a", "clientSecret": "b",
                                            "store": {"secret": "0123456789abcdef"}}},
    }, routers={"s": ("Host(`s.test`)", ["short"]), "n": ("Host(`n.test`)", ["none"])})
    out = cw.output()
    assert "store.secret must be 16, 24 or 32 characters" in out and "not 9" in out
    assert "store needs store.redis" in out
    assert "too-short" not in out
    assert get(cw, "s.test")[0] == 404


def test_jwt_against_the_providers_jwks(start_whoami, start_causeway, idp):
    """An access token issued as a JWT by oidc-provider, checked by the jwt middleware with the
    provider's JWK set, audience and issuer."""
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "jwt": {"jwt": {"trustedIssuers": [{"issuer": idp.issuer, "jwksUrl": idp.issuer + "/jwks"}],
                        "audiences": ["urn:orders"], "claims": "Equals(`scope`, `orders:read`)"}},
    }, routers={"j": ("Host(`j.test`)", ["jwt"])})
    answer = idp.post("/token", {"grant_type": "client_credentials", "scope": "orders:read", "resource": "urn:orders"},
                      "jwtmachine", "jwtmachine-secret")
    token = answer["access_token"]
    assert token.count(".") == 2
    assert get(cw, "j.test", headers=[f"Authorization: Bearer {token}"])[0] == 200
    # An opaque token from the same provider is not a JWT.
    status, headers, _ = get(cw, "j.test", headers=[f"Authorization: Bearer {idp.token()}"])
    assert status == 401 and "invalid_token" in headers["www-authenticate"]
