"""MCP gateway end to end: the official MCP SDK clients (node/mcp_client.mjs: the 1.x
@modelcontextprotocol/sdk and the v2 @modelcontextprotocol/client) → causeway's `mcp`
middleware → MCP servers written with the same SDKs (node/mcp_server.mjs, stateful 2025-era
servers and one that speaks only the 2026-07-28 revision) and @modelcontextprotocol/server-everything.

What is checked here (docs/mcp-gateway.md; test_mcp_hardening.py has bad input, limits and
observability):
  * both dialects through the gateway, and the dialect matrix the protocol allows;
  * a session stays on the server that created it: behind one causeway with two servers, and
    across two causeway instances (same sessionSecret) behind a round-robin TCP balancer;
  * a forged, altered or unknown session id gets 404 (-32001); the session's server going away, too;
  * policies: a hidden tool is absent from tools/list (JSON and SSE answers, every page) and a
    denied call gets -32003 and never reaches the server; an argument cap; decisions logged;
  * federation: two servers behind one endpoint, lists merged with prefixes, calls routed;
  * the official conformance suite, directly and through causeway.
"""
import http.client
import json
import socket
import subprocess
import threading
import time
import urllib.request

import pytest

from harness import Causeway, Process, free_port, to_yaml, wait_until
from mcp_peer import (INIT, NODE_DIR, SDK_INSTALLED, SECRET, McpServer, RoundRobinTcp, answer_text, call, gateway,
                      initialize, post, rpc_messages, run_client, stateful_pair, step)
from mwkit import wait_log

pytestmark = pytest.mark.skipif(not SDK_INSTALLED,
                                reason="npm packages not installed (make test runs npm ci in tests/e2e/node)")


# ---- dialects --------------------------------------------------------------------------------

def test_sdk_clients_reach_both_dialects(stateful_pair):
    """The 1.x client with sessions (2025-11-25) and the v2 client pinned to 2026-07-28 each reach
    a server of their dialect through the gateway; a session's calls all land on its server."""
    modern = McpServer("M", dialect="stateless-2026")
    cw = Causeway(dynamic={"a.yml": gateway(stateful_pair), "b.yml": to_yaml({"http": {
        "routers": {"modern": {"rule": "PathPrefix(`/modern`)", "service": "modern", "middlewares": ["gw"]}},
        "services": {"modern": {"loadBalancer": {"servers": [{"url": modern.url}]}}}}})})
    try:
        steps = ["listTools"] + [{"op": "callTool", "name": "echo", "args": {"text": f"n{i}"}} for i in range(6)] + \
                [{"op": "getPrompt", "name": "greet", "args": {"name": "x"}}, {"op": "readResource", "uri": "mem://info"},
                 "terminateSession"]
        r = run_client(cw.url(path="/mcp"), steps)
        assert r["ok"], r
        assert r["protocolVersion"] == "2025-11-25"
        assert r["sessionId"].startswith("cw1.")  # sealed by the gateway
        owners = {step(r, i)["text"].split(":")[0] for i in range(1, 7)}
        assert len(owners) == 1, owners  # every call on the session's server
        assert "echo" in step(r, 0)["tools"]

        r = run_client(cw.url(path="/modern"), ["discover", "listTools",
                                                 {"op": "callTool", "name": "echo", "args": {"text": "hi"}},
                                                 {"op": "readResource", "uri": "mem://info"}], "--dialect", "2026")
        assert r["ok"], r
        assert step(r, 0)["supportedVersions"] == ["2026-07-28"]
        assert step(r, 2)["text"] == "M:hi"
        assert r.get("sessionId") in (None, "")
    finally:
        cw.stop()
        modern.stop()


@pytest.mark.parametrize("dialect,client", [("dual", ["--transport", "streamable"]),
                                            ("dual", ["--dialect", "2026"]),
                                            ("stateful", ["--dialect", "auto"])])
def test_dialect_matrix(dialect, client):
    """A client of either dialect reaches a server of either where the protocol allows it: the
    gateway passes the negotiation through (the v2 client probes with server/discover and falls
    back to initialize)."""
    server = McpServer("S", dialect=dialect)
    cw = Causeway(dynamic={"a.yml": gateway([server])})
    try:
        r = run_client(cw.url(path="/mcp"), [{"op": "callTool", "name": "echo", "args": {"text": "x"}}], *client)
        assert r["ok"], r
        assert step(r, 0)["text"] == "S:x"
    finally:
        cw.stop()
        server.stop()


def test_server_everything_over_both_sdk_transports():
    """@modelcontextprotocol/server-everything through the gateway with the 1.x SDK's Streamable
    HTTP transport, and its legacy HTTP+SSE transport (GET stream + POST endpoint), which the
    gateway passes through."""
    bin_path = NODE_DIR / "node_modules" / ".bin" / "mcp-server-everything"
    if not bin_path.exists():
        pytest.skip("@modelcontextprotocol/server-everything not installed")
    for mode, transport, path in (("streamableHttp", "streamable", "/mcp"), ("sse", "sse", "/sse")):
        port = free_port()
        env = dict(__import__("os").environ, PORT=str(port))
        ev = Process([str(bin_path), mode], cwd=str(NODE_DIR), env=env, name="everything")
        try:
            wait_until(lambda: _listening(port), timeout=20, message="server-everything listening")
            cw = Causeway(dynamic={"a.yml": to_yaml({"http": {
                "routers": {"e": {"rule": "PathPrefix(`/`)", "service": "e", "middlewares": ["gw"]}},
                "middlewares": {"gw": {"mcp": {}}},
                "services": {"e": {"loadBalancer": {"servers": [{"url": f"http://127.0.0.1:{port}"}]}}}}})})
            try:
                r = run_client(cw.url(path=path), ["listTools", {"op": "callTool", "name": "echo",
                                                                 "args": {"message": "hello"}}],
                               "--transport", transport)
                assert r["ok"], (mode, r)
                assert "echo" in step(r, 0)["tools"]
                assert "hello" in json.dumps(step(r, 1)["content"])
            finally:
                cw.stop()
        finally:
            ev.stop()


def _listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


# ---- sessions --------------------------------------------------------------------------------

def test_sessions_stay_on_their_server_across_two_gateways(stateful_pair):
    """Two causeway instances with the same sessionSecret behind a round-robin TCP balancer, two
    servers behind each (round robin too): a session opened through one instance is served by
    its server through the other, with no state shared between the instances."""
    dyn = gateway(stateful_pair, {"sessionSecret": SECRET})
    cw1 = Causeway(dynamic={"a.yml": dyn})
    cw2 = Causeway(dynamic={"a.yml": dyn})
    lb = RoundRobinTcp([cw1.port(), cw2.port()])
    try:
        # By hand, alternating the instances explicitly.
        sid, version = initialize(cw1.port())
        owners = set()
        for i, port in enumerate([cw2.port(), cw1.port(), cw2.port(), cw2.port(), cw1.port()]):
            status, _, msgs = call(port, sid, version, "whoami", {}, rid=10 + i)
            assert status == 200, msgs
            who = json.loads(answer_text(msgs).split(":", 1)[1])
            owners.add(who["server"])
            assert who["sessionId"] and not who["sessionId"].startswith("cw1.")  # the server's own id
        assert len(owners) == 1, owners
        # With the SDK through the L4 balancer (each connection to the next instance).
        r = run_client(f"http://127.0.0.1:{lb.port}/mcp",
                       [{"op": "callTool", "name": "echo", "args": {"text": f"{i}"}} for i in range(8)])
        assert r["ok"], r
        assert len({step(r, i)["text"].split(":")[0] for i in range(8)}) == 1
        assert lb.accepted >= 2  # both instances were used
    finally:
        lb.close()
        cw1.stop()
        cw2.stop()


def test_forged_unknown_and_orphaned_sessions_get_404(stateful_pair):
    cw = Causeway(dynamic={"a.yml": gateway(stateful_pair, {"sessionSecret": SECRET})})
    other = Causeway(dynamic={"a.yml": gateway(stateful_pair, {"sessionSecret": "another secret"})})
    try:
        sid, version = initialize(cw.port())
        forged = sid[:-4] + ("AAAA" if not sid.endswith("AAAA") else "BBBB")
        for bad, port in ((forged, cw.port()), ("3f2a9c1e-plain-upstream-id", cw.port()), (sid, other.port())):
            status, headers, text = post(port, {"jsonrpc": "2.0", "id": 5, "method": "tools/list"},
                                         {"Mcp-Session-Id": bad, "MCP-Protocol-Version": version})
            assert status == 404, (bad, text)
            assert json.loads(text)["error"]["code"] == -32001
        # The good session still works.
        status, _, msgs = call(cw.port(), sid, version, "echo", {"text": "ok"})
        assert status == 200 and answer_text(msgs).endswith(":ok")
        # Its server goes away: the session is gone (404), so the client starts a new one.
        owner = json.loads(answer_text(call(cw.port(), sid, version, "whoami", {})[2]).split(":", 1)[1])["server"]
        victim = next(s for s in stateful_pair if s.name == owner)
        victim.stop()
        status, _, text = post(cw.port(), {"jsonrpc": "2.0", "id": 6, "method": "tools/list"},
                               {"Mcp-Session-Id": sid, "MCP-Protocol-Version": version})
        assert status in (404, 502), text
        if status == 404:
            assert json.loads(text)["error"]["code"] == -32001
        sid2, version2 = initialize(cw.port())
        status, _, msgs = call(cw.port(), sid2, version2, "echo", {"text": "again"})
        assert status == 200 and answer_text(msgs).endswith(":again")
    finally:
        cw.stop()
        other.stop()


# ---- policies --------------------------------------------------------------------------------

POLICIES = {"defaultAction": "deny", "policies": [
    {"match": "Equals(`mcp.params.name`, `transfer_funds`) && "
              "LessOrEqual(`mcp.params.arguments.amount`, `1000`)", "action": "allow"},
    {"match": "Equals(`mcp.params.name`, `transfer_funds`)", "action": "deny"},
    {"match": "OneOf(`mcp.params.name`, `echo`, `whoami`, `greet`) || Prefix(`mcp.params.uri`, `mem://`)",
     "action": "allow"},
]}


@pytest.mark.parametrize("json_answers", [False, True])
def test_policy_hides_and_denies_tools(json_answers):
    """tools/list shows only what the caller may call (SSE and JSON answers); a denied call gets
    -32003 from causeway and never reaches the server; an argument cap holds; decisions are in
    the access log."""
    server = McpServer("P", extra=["--json"] if json_answers else [])
    cw = Causeway(dynamic={"a.yml": gateway([server], POLICIES)},
                  static_extra="accessLog:\n  format: json\n")
    try:
        r = run_client(cw.url(path="/mcp"), [
            "listTools", "listPrompts",
            {"op": "callTool", "name": "echo", "args": {"text": "hi"}},
            {"op": "callTool", "name": "transfer_funds", "args": {"amount": 50, "to": "bob"}},
            {"op": "callTool", "name": "transfer_funds", "args": {"amount": 5000, "to": "bob"}},
            {"op": "callTool", "name": "add", "args": {"a": 1, "b": 2}},
            {"op": "readResource", "uri": "mem://info"}])
        tools = step(r, 0)["tools"]
        assert sorted(tools) == ["echo", "transfer_funds", "whoami"], tools
        assert step(r, 2)["text"] == "P:hi"
        assert step(r, 3)["text"] == "P:sent"
        for i in (4, 5):
            assert step(r, i)["code"] == -32003, step(r, i)
        assert r["steps"][6]["ok"], r["steps"][6]
        wait_log(cw, '"MCPName":"add"')
        lines = [json.loads(line) for line in cw.output().splitlines() if line.startswith("{")]
        calls = [x for x in lines if x.get("MCPMethod") == "tools/call"]
        denied = [x for x in calls if x.get("MCPDecision") == "deny"]
        assert {(x["MCPName"], x["MCPRule"]) for x in denied} == {("transfer_funds", "policies[1]"),
                                                                  ("add", "defaultAction")}, denied
        # A denied call never reached the server; allowed ones did.
        assert all("ServiceURL" not in x for x in denied)
        assert all(x.get("ServiceURL") == server.url for x in calls if x.get("MCPDecision") == "allow")
        assert "MCP call denied by policy" in cw.output()
        # An amount that is not a number (a server may still read " 5000" as 5000) is not under
        # the cap: the deny rule that may hold denies.
        sid, version = initialize(cw.port())
        for amount in (" 5000", [5000], "5e3"):
            status, _, msgs = call(cw.port(), sid, version, "transfer_funds", {"amount": amount, "to": "bob"})
            assert msgs and msgs[-1].get("error", {}).get("code") == -32003, (amount, msgs)
    finally:
        cw.stop()
        server.stop()


def test_policy_filters_every_page():
    """A paginated tools/list is filtered on every page; cursors pass through."""
    server = McpServer("G", extra=["--tools", "12", "--page-size", "5"])
    opts = {"policies": [{"match": "Prefix(`mcp.params.name`, `t1`)", "action": "deny"}]}
    cw = Causeway(dynamic={"a.yml": gateway([server], opts)})
    try:
        r = run_client(cw.url(path="/mcp"), ["listTools"])
        assert r["ok"], r
        tools = step(r, 0)["tools"]
        assert step(r, 0)["pages"] >= 3
        assert "t0" in tools and "t9" in tools and "echo" in tools
        assert not [t for t in tools if t.startswith("t1")], tools
    finally:
        cw.stop()
        server.stop()


def test_policy_errors_name_the_rule():
    nowhere = type("Nowhere", (), {"url": "http://127.0.0.1:1"})()
    bad = gateway([nowhere], {"policies": [{"match": "Equals(`mcp.tool`, `x`)", "action": "allow"}]})
    cw = Causeway(dynamic={"a.yml": bad})
    try:
        wait_log(cw, "policies[0].match")
        assert "the request's fields are `mcp.method` and `mcp.params.<name>`" in cw.output()
    finally:
        cw.stop()


# ---- federation ------------------------------------------------------------------------------

def federation(servers, extra=None, secret=SECRET):
    """One endpoint over `servers` ({prefix: McpServer}), each behind its own service."""
    opts = {"sessionSecret": secret,
            "federation": {"servers": [{"name": n, "service": f"svc-{n}"} for n in servers]}}
    opts.update(extra or {})
    services = {f"svc-{n}": {"loadBalancer": {"servers": [{"url": s.url}]}} for n, s in servers.items()}
    return to_yaml({"http": {
        "routers": {"fed": {"rule": "PathPrefix(`/mcp`)", "service": f"svc-{next(iter(servers))}",
                            "middlewares": ["fed"]}},
        "middlewares": {"fed": {"mcp": opts}},
        "services": services}})


def test_federation_merges_lists_and_routes_calls():
    """Two servers behind one endpoint: tools and prompts merged with prefixes, every page of
    both servers' paginated lists walked, calls routed to the owner, a policy over the federated
    names, the session usable through a second gateway, DELETE reaching both servers."""
    alpha = McpServer("A")
    beta = McpServer("B", extra=["--tools", "7", "--page-size", "3"])
    dyn = federation({"alpha": alpha, "beta": beta},
                     {"policies": [{"match": "Equals(`mcp.params.name`, `beta_t3`)", "action": "deny"}]})
    cw = Causeway(dynamic={"a.yml": dyn})
    cw2 = Causeway(dynamic={"a.yml": dyn})
    try:
        r = run_client(cw.url(path="/mcp"), [
            "listTools",
            {"op": "callTool", "name": "alpha_echo", "args": {"text": "1"}},
            {"op": "callTool", "name": "beta_echo", "args": {"text": "2"}},
            {"op": "callTool", "name": "beta_t5", "args": {}},
            {"op": "callTool", "name": "beta_t3", "args": {}},
            {"op": "callTool", "name": "gamma_echo", "args": {"text": "3"}},
            "listPrompts",
            {"op": "getPrompt", "name": "beta_greet", "args": {"name": "fed"}},
            {"op": "readResource", "uri": "mem://info"},
            "ping"], "--no-close")
        tools = step(r, 0)["tools"]
        assert {"alpha_echo", "alpha_whoami", "beta_echo", "beta_t0", "beta_t6"} <= set(tools), tools
        assert "beta_t3" not in tools and len(tools) == len(set(tools))
        assert step(r, 0)["pages"] >= 3  # beta's pages, walked through the merged cursor
        assert step(r, 1)["text"] == "A:1"
        assert step(r, 2)["text"] == "B:2"
        assert step(r, 3)["text"] == "B:t5"
        assert step(r, 4)["code"] == -32003
        assert step(r, 5)["code"] == -32602
        assert {"alpha_greet", "beta_greet"} <= set(step(r, 6)["prompts"]), step(r, 6)
        assert "from B" in json.dumps(step(r, 7))
        assert r["steps"][8]["ok"] and r["steps"][9]["ok"], r["steps"][8:]
        sid = r["sessionId"]
        assert sid.startswith("cw1.")
        # The same session through another replica: both servers' sessions come with it.
        status, headers, text = post(cw2.port(), {"jsonrpc": "2.0", "id": 77, "method": "tools/call",
                                                  "params": {"name": "alpha_whoami", "arguments": {}}},
                                     {"Mcp-Session-Id": sid, "MCP-Protocol-Version": r["protocolVersion"]})
        assert status == 200, text
        who = json.loads(answer_text(rpc_messages(headers, text)).split(":", 1)[1])
        assert who["server"] == "A" and who["sessionId"] and not who["sessionId"].startswith("cw1.")
        # DELETE ends the session on both servers.
        conn = http.client.HTTPConnection("127.0.0.1", cw.port(), timeout=10)
        conn.request("DELETE", "/mcp", headers={"Mcp-Session-Id": sid, "MCP-Protocol-Version": r["protocolVersion"]})
        assert conn.getresponse().status == 200
        conn.close()
        status, _, text = post(cw.port(), {"jsonrpc": "2.0", "id": 78, "method": "tools/call",
                                           "params": {"name": "alpha_echo", "arguments": {"text": "x"}}},
                               {"Mcp-Session-Id": sid, "MCP-Protocol-Version": r["protocolVersion"]})
        assert status in (400, 404), text  # the server's session is gone
    finally:
        cw.stop()
        cw2.stop()
        alpha.stop()
        beta.stop()

def test_federation_asks_the_servers_at_once():
    """A merged list asks every server at the same time: two servers that each take 1.5 s to
    answer tools/list are both asked before either answers."""
    alpha = McpServer("A", extra=["--list-delay", "1500"])
    beta = McpServer("B", extra=["--list-delay", "1500"])
    cw = Causeway(dynamic={"a.yml": federation({"alpha": alpha, "beta": beta})})
    try:
        r = run_client(cw.url(path="/mcp"), ["listTools"])
        assert r["ok"], r
        assert {"alpha_echo", "beta_echo"} <= set(step(r, 0)["tools"])
        asked = [json.loads(line)["listAsked"] for srv in (alpha, beta)
                 for line in srv.output().splitlines() if "listAsked" in line]
        assert len(asked) == 2, asked
        assert abs(asked[0] - asked[1]) < 1200, asked  # one after the other would be 1,500 ms or more apart
    finally:
        cw.stop()
        alpha.stop()
        beta.stop()


def test_federation_carries_list_changed_on_the_merged_get_stream():
    """The client's GET stream merges the servers' own: a tool added on one server reaches the
    client as notifications/tools/list_changed, and the new tool is listed with its prefix."""
    alpha, beta = McpServer("A"), McpServer("B")
    # streamKeepAlive 1s: once the client has gone, the next comment finds it gone and the
    # servers' streams are closed (the gateway then stops at once).
    cw = Causeway(dynamic={"a.yml": federation({"alpha": alpha, "beta": beta}, {"streamKeepAlive": "1s"})})
    try:
        r = run_client(cw.url(path="/mcp"), [
            {"op": "wait", "ms": 500},  # the SDK opens its GET stream after initialize
            {"op": "callTool", "name": "beta_add_tool", "args": {"name": "fresh"}},
            {"op": "wait", "ms": 1500},
            "listTools"])
        assert r["ok"], r
        assert r["capabilities"]["tools"].get("listChanged") is True, r["capabilities"]
        methods = [n["method"] for n in r["notifications"]]
        assert "notifications/tools/list_changed" in methods, r["notifications"]
        assert "beta_fresh" in step(r, 3)["tools"]
        # The merged stream ends once the client has left: stopping does not wait for it.
        time.sleep(1.5)
        started = time.monotonic()
        cw.stop()
        assert time.monotonic() - started < 5, "the merged GET stream outlived its client"
    finally:
        cw.stop()
        alpha.stop()
        beta.stop()


# ---- conformance -----------------------------------------------------------------------------

def test_conformance_suite_through_the_gateway():
    """The official suite (@modelcontextprotocol/conformance, active scenarios, 2025-era
    Streamable HTTP) against mcp_server.mjs --conformance, once directly and once through
    causeway: the gateway must not cost a single check (docs/mcp-gateway.md records the score)."""
    server = McpServer("C", extra=["--conformance"])
    cw = Causeway(dynamic={"a.yml": gateway([server])})

    def run(url):
        out = subprocess.run(["node", "mcp_conformance.mjs", url], cwd=NODE_DIR, capture_output=True, text=True,
                             timeout=180)
        lines = out.stdout.strip().splitlines()
        assert lines, out.stderr
        return json.loads(lines[-1])

    try:
        direct = run(server.url + "/mcp")
        through = run(cw.url(path="/mcp"))
        assert direct["total"] >= 40 and direct["failed"] == 0, direct
        assert (through["passed"], through["failed"]) == (direct["passed"], 0), through["failedScenarios"]
    finally:
        cw.stop()
        server.stop()


def test_list_requests_ask_for_answers_that_can_be_filtered():
    """A compressed list answer could not be filtered: a list request reaches the server without
    the client's Accept-Encoding (other requests keep it)."""
    server = McpServer("Z", extra=["--log"])
    cw = Causeway(dynamic={"a.yml": gateway([server], {"policies": [
        {"match": "Equals(`mcp.params.name`, `add`)", "action": "deny"}]})})
    try:
        sid, version = initialize(cw.port())
        h = {"Mcp-Session-Id": sid, "MCP-Protocol-Version": version, "Accept-Encoding": "gzip",
             "X-Test-Seen": "list"}
        status, headers, text = post(cw.port(), {"jsonrpc": "2.0", "id": 3, "method": "tools/list"}, h)
        assert status == 200 and "add" not in [t["name"] for t in rpc_messages(headers, text)[-1]["result"]["tools"]]
        h["X-Test-Seen"] = "call"
        post(cw.port(), {"jsonrpc": "2.0", "id": 4, "method": "tools/call",
                         "params": {"name": "echo", "arguments": {"text": "x"}}}, h)
        seen = [json.loads(line) for line in server.output().splitlines() if line.startswith('{"method"')]
        by_test = {r["headers"].get("x-test-seen"): r["headers"] for r in seen if r["headers"].get("x-test-seen")}
        assert "accept-encoding" not in by_test["list"], by_test["list"]
        assert by_test["call"].get("accept-encoding") == "gzip"
    finally:
        cw.stop()
        server.stop()
