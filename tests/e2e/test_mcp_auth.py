"""MCP authorization end to end (docs/mcp-gateway.md, "Authorization"): causeway is the OAuth 2.1
resource server in front of an MCP server. The official MCP SDK client (node/mcp_client.mjs with
the SDK's ClientCredentialsProvider) gets 401 with `resource_metadata`, reads causeway's RFC 9728
document, finds the authorization server (the npm package `oidc-provider`, node/oidc_idp.mjs),
gets a token for the MCP endpoint's `resource` (RFC 8707) and calls tools; causeway checks the
token (signature, issuer's keys, audience, scope) and, instead of passing it through, exchanges
it (RFC 8693) for a token of the upstream's own. Wrong audience and missing scope are refused."""
import json
import urllib.request

import pytest

from harness import Causeway, free_port, to_yaml
from mcp_peer import NODE_DIR, SDK_INSTALLED, McpServer, post, run_client, step
from test_api_oauth import Idp

pytestmark = pytest.mark.skipif(not (SDK_INSTALLED and (NODE_DIR / "node_modules" / "oidc-provider").exists()),
                                reason="npm packages not installed (make test runs npm ci in tests/e2e/node)")

INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}


def config(idp, port, scopes=("mcp:tools",), audiences=None, upstream=None):
    resource = f"http://127.0.0.1:{port}/mcp"
    jwt = {"jwksUrl": idp.issuer + "/jwks", "requiredScopes": list(scopes), "forwardAuthorization": True,
           "usernameClaim": "client_id",
           "resourceMetadata": {"resource": resource, "authorizationServers": [idp.issuer],
                                "scopesSupported": ["mcp:tools"], "resourceName": "Test tools"}}
    if audiences:
        jwt["audiences"] = audiences
    middlewares = {"auth": {"jwt": jwt}, "mcp": {"mcp": {}},
                   "exchange": {"oAuthTokenExchange": {"url": idp.issuer + "/token", "clientId": "gateway",
                                                      "clientSecret": "gateway-secret", "scopes": ["upstream:call"]}}}
    return to_yaml({"http": {
        "routers": {"mcp": {"rule": "PathPrefix(`/mcp`) || PathPrefix(`/.well-known/oauth-protected-resource`)",
                            "service": "mcp", "middlewares": ["auth", "exchange", "mcp"]},
                    "raw": {"rule": "PathPrefix(`/raw`)", "service": "mcp", "middlewares": ["exchange"]}},
        "middlewares": middlewares,
        "services": {"mcp": {"loadBalancer": {"servers": [{"url": upstream}]}}}}})


@pytest.fixture
def idp():
    i = Idp()
    yield i
    i.stop()


@pytest.fixture
def server():
    s = McpServer("S")
    yield s
    s.stop()


def gateway(idp, server, port=None, **options):
    """(causeway in front of `server` with the authorization chain of config(), its web port)."""
    port = port or free_port()
    dynamic = {"mcp.yml": config(idp, port, upstream=server.url, **options)}
    return Causeway(dynamic=dynamic, ports={"web": port}), port


def test_sdk_client_discovers_authorizes_and_calls(idp, server):
    cw, port = gateway(idp, server)
    try:
        # The metadata document, at the path RFC 9728 §3.1 derives from the resource.
        with urllib.request.urlopen(cw.url(path="/.well-known/oauth-protected-resource/mcp"), timeout=10) as r:
            meta = json.loads(r.read())
            assert r.headers["Access-Control-Allow-Origin"] == "*"
        assert meta == {"resource": f"http://127.0.0.1:{port}/mcp", "bearer_methods_supported": ["header"],
                        "authorization_servers": [idp.issuer], "scopes_supported": ["mcp:tools"],
                        "resource_name": "Test tools"}

        # Without a token: 401 naming the metadata and the scope.
        status, headers, _ = post(port, INIT)
        challenge = headers.get("www-authenticate", "")
        assert status == 401, (status, headers)
        assert f'resource_metadata="http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp"' in challenge
        assert 'scope="mcp:tools"' in challenge

        # The SDK does the rest on its own: metadata, discovery, token for the resource, retry.
        r = run_client(cw.url(path="/mcp"), [{"op": "callTool", "name": "whoami", "args": {}},
                                             {"op": "callTool", "name": "echo", "args": {"text": "hi"}}],
                       "--client-credentials", f"agent:agent-secret@{idp.issuer}", "--scope", "mcp:tools", "--trace")
        assert r["ok"], r
        urls = [(t["method"], t["url"].replace(idp.issuer, "IDP"), t.get("status")) for t in r["trace"]]
        assert ("GET", f"http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp", 200) in urls, urls
        assert ("POST", "IDP/token", 200) in urls, urls
        seen = json.loads(step(r, 0)["text"].split(":", 1)[1])
        # The upstream got the exchanged token, not the agent's.
        agent_tokens = {t["requestHeaders"].get("authorization") for t in r["trace"]
                        if t["url"].startswith(f"http://127.0.0.1:{port}/mcp") and t["requestHeaders"].get("authorization")}
        assert seen["authorization"] and seen["authorization"] not in agent_tokens
        introspected = idp.post("/token/introspection", {"token": seen["authorization"][len("Bearer "):]},
                                "resource", "resource-secret")
        assert introspected["active"] and introspected["sub"] == "agent" and introspected["client_id"] == "gateway"
        assert step(r, 1)["text"] == "S:hi"
        assert '"tokenExchange":"issued"' in idp.output()
        assert "agent-secret" not in cw.output() and "gateway-secret" not in cw.output()
    finally:
        cw.stop()


def test_wrong_audience_and_missing_scope(idp, server):
    # Tokens for another resource are refused (the audience is the resource unless configured).
    cw, port = gateway(idp, server)
    try:
        other = idp.post("/token", {"grant_type": "client_credentials", "scope": "mcp:tools",
                                    "resource": "http://127.0.0.1:1/other"}, "agent", "agent-secret")["access_token"]
        status, headers, _ = post(port, INIT, {"Authorization": "Bearer " + other})
        assert status == 401 and 'error="invalid_token"' in headers["www-authenticate"]
        assert "resource_metadata=" in headers["www-authenticate"]
        mine = idp.post("/token", {"grant_type": "client_credentials", "scope": "mcp:tools",
                                   "resource": f"http://127.0.0.1:{port}/mcp"}, "agent", "agent-secret")["access_token"]
        assert post(port, INIT, {"Authorization": "Bearer " + mine})[0] == 200
    finally:
        cw.stop()
    # A scope the token does not carry: 403 insufficient_scope, with the scope to ask for.
    cw, _ = gateway(idp, server, port, scopes=("mcp:tools", "mcp:admin"))
    try:
        status, headers, _ = post(port, INIT, {"Authorization": "Bearer " + mine})
        challenge = headers["www-authenticate"]
        assert status == 403 and 'error="insufficient_scope"' in challenge and 'scope="mcp:tools mcp:admin"' in challenge
        # The authorization server refusing to exchange a token: 401 invalid_token; no token: 401.
        status, headers, _ = post(port, INIT, {"Authorization": "Bearer made-up"}, path="/raw")
        assert status == 401 and 'error="invalid_token"' in headers["www-authenticate"]
        assert post(port, INIT, path="/raw")[0] == 401
    finally:
        cw.stop()


def test_configuration_errors(idp):
    cw = Causeway(dynamic={"bad.yml": to_yaml({"http": {
        "routers": {"a": {"rule": "Host(`a.test`)", "service": "s", "middlewares": ["meta"]},
                    "b": {"rule": "Host(`b.test`)", "service": "s", "middlewares": ["ex"]}},
        "middlewares": {
            "meta": {"jwt": {"signingSecret": "k", "resourceMetadata": {"resource": "urn:x", "authorizationServers": ["x"]}}},
            "ex": {"oAuthTokenExchange": {"url": idp.issuer + "/token"}}},
        "services": {"s": {"loadBalancer": {"servers": [{"url": "http://127.0.0.1:1"}]}}}}})})
    try:
        out = cw.output()
        assert "resourceMetadata: resource must be an http(s) URL" in out
        assert "oAuthTokenExchange: clientId and clientSecret (the gateway's client) are required" in out
    finally:
        cw.stop()
