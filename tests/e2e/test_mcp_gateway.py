"""MCP gateway end to end: the official MCP SDK clients (node/mcp_client.mjs: the 1.x
@modelcontextprotocol/sdk and the v2 @modelcontextprotocol/client) → causeway's `mcp`
middleware → MCP servers written with the same SDKs (node/mcp_server.mjs, stateful 2025-era
servers and one that speaks only the 2026-07-28 revision) and @modelcontextprotocol/server-everything.

What is checked (docs/mcp-gateway.md):
  * both dialects through the gateway, and the dialect matrix the protocol allows;
  * a session stays on the server that created it: behind one causeway with two servers, and
    across two causeway instances (same sessionSecret) behind a round-robin TCP balancer;
  * a forged, altered or unknown session id gets 404 (-32001); the session's server going away, too;
  * policies: a hidden tool is absent from tools/list (JSON and SSE answers) and a denied call
    gets -32003 and never reaches the server; an argument cap; the access log records decisions;
  * bad input: invalid JSON (-32700), batches and malformed messages (-32600), mirrored headers
    that disagree with the body (400, -32020), a body over the limit (413), a foreign Origin (403);
  * event streams carry X-Accel-Buffering: no and Mcp-Session-Id is exposed to browsers;
  * an upstream that dies mid-stream breaks only that stream: other sessions keep working.
"""
import http.client
import json
import pathlib
import socket
import subprocess
import threading
import time
import urllib.request

import pytest

from harness import Causeway, Process, free_port, to_yaml, wait_until
from mwkit import wait_log

NODE_DIR = pathlib.Path(__file__).resolve().parent / "node"
pytestmark = pytest.mark.skipif(
    not ((NODE_DIR / "node_modules" / "@modelcontextprotocol" / "sdk").exists()
         and (NODE_DIR / "node_modules" / "@modelcontextprotocol" / "client").exists()),
    reason="npm packages not installed (make test runs npm ci in tests/e2e/node)")

SECRET = "replicas-share-this-secret"


# ---- peers and clients -----------------------------------------------------------------------

class McpServer(Process):
    """node/mcp_server.mjs on a free port; `name` prefixes every tool answer."""

    def __init__(self, name, dialect="stateful", extra=()):
        self.name = name
        super().__init__(["node", "mcp_server.mjs", "--port", "0", "--name", name, "--dialect", dialect, *extra],
                         cwd=str(NODE_DIR), name=f"mcp-{name}")
        wait_until(lambda: '"port"' in self.output() or self.proc.poll() is not None, timeout=20,
                   message=f"MCP server {name} listening")
        first = self.output().splitlines()[0]
        self.port = json.loads(first)["port"]

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"


def run_client(url, steps, *options, timeout=60):
    """node/mcp_client.mjs once: its one JSON object."""
    out = subprocess.run(["node", "mcp_client.mjs", url, json.dumps(steps), *options], cwd=NODE_DIR,
                         capture_output=True, text=True, timeout=timeout)
    lines = out.stdout.strip().splitlines()
    assert lines, f"mcp_client.mjs printed nothing ({out.returncode}): {out.stderr}"
    return json.loads(lines[-1])


def step(result, i):
    s = result["steps"][i]
    return s.get("result") if s["ok"] else s["error"]


def gateway(servers, mcp_options=None, strategy=None, name="gw"):
    lb = {"servers": [{"url": s.url} for s in servers]}
    if strategy:
        lb["strategy"] = strategy
    return to_yaml({"http": {
        "routers": {"mcp": {"rule": "PathPrefix(`/mcp`)", "service": "mcp", "middlewares": [name]}},
        "middlewares": {name: {"mcp": mcp_options or {}}},
        "services": {"mcp": {"loadBalancer": lb}}}})


def post(port, body, headers=None, path="/mcp"):
    """One POST on a new connection: (status, headers dict (lower-case), body text)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    h = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    h.update(headers or {})
    conn.request("POST", path, body=data, headers=h)
    r = conn.getresponse()
    text = r.read().decode("utf-8", "replace")
    out = (r.status, {k.lower(): v for k, v in r.getheaders()}, text)
    conn.close()
    return out


def rpc_messages(headers, text):
    """The JSON-RPC messages of an answer, JSON or SSE."""
    if headers.get("content-type", "").startswith("text/event-stream"):
        msgs = []
        for event in text.replace("\r\n", "\n").split("\n\n"):
            data = "\n".join(line[5:].lstrip() for line in event.split("\n") if line.startswith("data:"))
            if data:
                msgs.append(json.loads(data))
        return msgs
    return [json.loads(text)] if text else []


INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "raw", "version": "1"}}}


def initialize(port):
    """A 2025 session opened by hand: (session id, protocol version)."""
    status, headers, text = post(port, INIT)
    assert status == 200, text
    sid = headers.get("mcp-session-id")
    assert sid, headers
    version = rpc_messages(headers, text)[-1]["result"]["protocolVersion"]
    status, _, _ = post(port, {"jsonrpc": "2.0", "method": "notifications/initialized"},
                        {"Mcp-Session-Id": sid, "MCP-Protocol-Version": version})
    assert status == 202
    return sid, version


def call(port, sid, version, name, args, rid=2):
    status, headers, text = post(port, {"jsonrpc": "2.0", "id": rid, "method": "tools/call",
                                        "params": {"name": name, "arguments": args}},
                                 {"Mcp-Session-Id": sid, "MCP-Protocol-Version": version})
    return status, headers, rpc_messages(headers, text)


def answer_text(messages):
    return messages[-1]["result"]["content"][0]["text"]


class RoundRobinTcp:
    """A plain L4 balancer: each new connection goes to the next backend port in turn."""

    def __init__(self, ports):
        self.ports = ports
        self.turn = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            port = self.ports[self.turn % len(self.ports)]
            self.turn += 1
            self.accepted += 1
            upstream = socket.create_connection(("127.0.0.1", port))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.sock.close()


@pytest.fixture
def stateful_pair():
    servers = [McpServer("A"), McpServer("B")]
    yield servers
    for s in servers:
        s.stop()


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
    bad = gateway([nowhere], {"policies": [{"match": "Equals(`grp`, `admin`)", "action": "allow"}]})
    cw = Causeway(dynamic={"a.yml": bad})
    try:
        wait_log(cw, "policies[0].match")
        assert "jwt middleware" in cw.output()
    finally:
        cw.stop()


# ---- bad input -------------------------------------------------------------------------------

def test_bad_input_gets_the_right_status_and_error(stateful_pair):
    cw = Causeway(dynamic={"a.yml": gateway(stateful_pair, {"maxRequestBodySize": 4096})})
    try:
        sid, version = initialize(cw.port())
        h = {"Mcp-Session-Id": sid, "MCP-Protocol-Version": version}
        cases = [
            ("{not json", 400, -32700),
            (json.dumps([{"jsonrpc": "2.0", "id": 1, "method": "ping"}]), 400, -32600),
            (json.dumps({"jsonrpc": "1.0", "id": 1, "method": "ping"}), 400, -32600),
            (json.dumps({"jsonrpc": "2.0", "id": None, "method": "ping"}), 400, -32600),
            (json.dumps({"jsonrpc": "2.0", "id": 1, "method": 7}), 400, -32600),
            (json.dumps({"jsonrpc": "2.0", "id": 1}), 400, -32600),
            (json.dumps("just a string"), 400, -32600),
            (json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                         "params": {"name": "echo", "arguments": {"text": "x" * 5000}}}), 413, -32600),
        ]
        for body, status, code in cases:
            got, headers, text = post(cw.port(), body, h)
            assert got == status, (body[:60], got, text)
            assert headers["content-type"] == "application/json"
            assert json.loads(text)["error"]["code"] == code, text
        # Mirrored headers that disagree with the body (2026-07-28 rules; also checked when a
        # 2025 client sends them).
        call_body = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "echo", "arguments": {}}}
        for extra in ({"Mcp-Method": "tools/list"}, {"Mcp-Method": "tools/call", "Mcp-Name": "whoami"},
                      {"Mcp-Method": "tools/call", "Mcp-Name": "=?base64?d2hvYW1p?="}):
            got, _, text = post(cw.port(), call_body, {**h, **extra})
            assert got == 400 and json.loads(text)["error"]["code"] == -32020, (extra, text)
            assert json.loads(text)["id"] == 3
        got, headers, text = post(cw.port(), call_body,
                                  {**h, "Mcp-Method": "tools/call", "Mcp-Name": "=?base64?ZWNobw==?="})
        assert got == 200, text  # base64 form of "echo"
        # The session keeps working after all of it.
        status, _, msgs = call(cw.port(), sid, version, "echo", {"text": "still"})
        assert status == 200 and answer_text(msgs).endswith(":still")
    finally:
        cw.stop()


def test_2026_requests_must_mirror_method_and_name():
    server = McpServer("N", dialect="stateless-2026")
    cw = Causeway(dynamic={"a.yml": gateway([server])})
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "echo", "arguments": {"text": "x"}, "_meta": meta}}
    try:
        v = {"MCP-Protocol-Version": "2026-07-28"}
        for headers in (v, {**v, "Mcp-Method": "tools/call"},
                        {"MCP-Protocol-Version": "2025-11-25", "Mcp-Method": "tools/call", "Mcp-Name": "echo"}):
            status, _, text = post(cw.port(), body, headers)
            assert status == 400 and json.loads(text)["error"]["code"] == -32020, (headers, text)
        status, headers, text = post(cw.port(), body, {**v, "Mcp-Method": "tools/call", "Mcp-Name": "echo"})
        assert status == 200, text
        assert answer_text(rpc_messages(headers, text)) == "N:x"
    finally:
        cw.stop()
        server.stop()


def test_origin_checks_and_stream_headers(stateful_pair):
    cw = Causeway(dynamic={"a.yml": gateway(stateful_pair)})
    allow = Causeway(dynamic={"a.yml": gateway(stateful_pair, {"allowedOrigins": ["https://app.example"]})})
    try:
        status, _, text = post(cw.port(), INIT, {"Origin": "https://evil.example"})
        assert status == 403 and json.loads(text)["error"]["code"] == -32004
        status, headers, _ = post(cw.port(), INIT, {"Origin": f"http://127.0.0.1:{cw.port()}"})
        assert status == 200
        assert "mcp-session-id" in headers.get("access-control-expose-headers", "").lower()
        status, headers, _ = post(allow.port(), INIT, {"Origin": "https://app.example"})
        assert status == 200
        status, _, _ = post(allow.port(), INIT, {"Origin": f"http://127.0.0.1:{allow.port()}"})
        assert status == 403
        # SSE answers are marked for no buffering by proxies in front.
        status, headers, _ = post(cw.port(), INIT)
        assert headers["content-type"].startswith("text/event-stream")
        assert headers.get("x-accel-buffering") == "no"
    finally:
        cw.stop()
        allow.stop()


def test_upstream_dying_mid_stream_breaks_only_that_stream(stateful_pair):
    """A slow call streams progress; its server is killed mid-call: that client gets an error,
    a session on the other server keeps working."""
    cw = Causeway(dynamic={"a.yml": gateway(stateful_pair)})
    try:
        sessions = {}
        while len(sessions) < 2:
            sid, version = initialize(cw.port())
            who = json.loads(answer_text(call(cw.port(), sid, version, "whoami", {})[2]).split(":", 1)[1])["server"]
            sessions.setdefault(who, (sid, version))
        (victim_name, (vsid, vver)), (other_name, (osid, over)) = sessions.items()
        victim = next(s for s in stateful_pair if s.name == victim_name)
        result = {}

        def slow_call():
            conn = http.client.HTTPConnection("127.0.0.1", cw.port(), timeout=20)
            conn.request("POST", "/mcp", body=json.dumps({
                "jsonrpc": "2.0", "id": 9, "method": "tools/call",
                "params": {"name": "slow", "arguments": {"ms": 8000}, "_meta": {"progressToken": "p"}}}),
                headers={"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
                         "Mcp-Session-Id": vsid, "MCP-Protocol-Version": vver})
            r = conn.getresponse()
            result["status"] = r.status
            try:
                result["body"] = r.read().decode()
            except Exception as e:  # noqa: BLE001 - the point: the stream broke
                result["error"] = repr(e)

        t = threading.Thread(target=slow_call)
        t.start()
        wait_until(lambda: "status" in result, timeout=10, message="the slow call's stream started")
        time.sleep(0.5)
        victim.proc.kill()
        t.join(20)
        assert not t.is_alive()
        assert result["status"] == 200
        assert "error" in result or '"result"' not in result.get("body", ""), result
        status, _, msgs = call(cw.port(), osid, over, "echo", {"text": "alive"})
        assert status == 200 and answer_text(msgs) == f"{other_name}:alive"
    finally:
        cw.stop()


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


# ---- limits ----------------------------------------------------------------------------------

def test_rate_limits_per_caller_and_tool(stateful_pair):
    """rateLimits: tools/call per (caller, tool); over the burst → 429 with Retry-After and
    -32005; another tool and another caller have their own buckets."""
    opts = {"rateLimits": [{"average": 1, "period": "1m", "burst": 2,
                            "sourceCriterion": {"requestHeaderName": "X-Agent"}}]}
    cw = Causeway(dynamic={"a.yml": gateway(stateful_pair, opts)})
    try:
        sid, version = initialize(cw.port())

        def echo(agent, tool="echo", rid=1):
            return post(cw.port(), {"jsonrpc": "2.0", "id": rid, "method": "tools/call",
                                    "params": {"name": tool, "arguments": {"text": "x"} if tool == "echo" else {}}},
                        {"Mcp-Session-Id": sid, "MCP-Protocol-Version": version, "X-Agent": agent})

        assert [echo("a", rid=i)[0] for i in range(2)] == [200, 200]
        status, headers, text = echo("a", rid=3)
        assert status == 429 and int(headers["retry-after"]) >= 1, text
        err = json.loads(text)
        assert err["error"]["code"] == -32005 and err["id"] == 3
        assert echo("a", tool="whoami")[0] == 200   # another tool
        assert echo("b")[0] == 200                  # another caller
        # Lists and the session's own messages are not counted.
        for i in range(4):
            status, _, _ = post(cw.port(), {"jsonrpc": "2.0", "id": 50 + i, "method": "tools/list"},
                                {"Mcp-Session-Id": sid, "MCP-Protocol-Version": version, "X-Agent": "a"})
            assert status == 200
        assert "MCP request over a rate limit" in cw.output()
    finally:
        cw.stop()


@pytest.mark.parametrize("json_answers", [True, False])
def test_call_timeout_cancels_the_call(json_answers):
    """callTimeout bounds a request: a JSON answer that is late becomes -32006 (504); a streamed
    one is cut. Either way the server sees the call cancelled (its connection closes)."""
    server = McpServer("T", extra=(["--json"] if json_answers else []) + ["--log"])
    cw = Causeway(dynamic={"a.yml": gateway([server], {"callTimeout": "1s"})})
    try:
        sid, version = initialize(cw.port())
        started = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", cw.port(), timeout=15)
        conn.request("POST", "/mcp", body=json.dumps({
            "jsonrpc": "2.0", "id": 4, "method": "tools/call",
            "params": {"name": "slow", "arguments": {"ms": 6000}, "_meta": {"progressToken": "p"}}}),
            headers={"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
                     "Mcp-Session-Id": sid, "MCP-Protocol-Version": version})
        status, body = 0, ""
        try:
            r = conn.getresponse()
            status = r.status
            body = r.read().decode()
        except (http.client.HTTPException, ConnectionError) as e:
            body = repr(e)  # a stream cut before its first event: the connection closes
        elapsed = time.monotonic() - started
        assert elapsed < 4, elapsed
        if json_answers:
            assert status == 504, body
            assert json.loads(body)["error"]["code"] == -32006
        else:
            assert '"result"' not in body, body
        # The server's call was cancelled: it stops early (mcp_server.mjs logs it).
        wait_until(lambda: "call-cancelled" in server.output(), timeout=8, message="the server saw the call cancelled")
        status, _, msgs = call(cw.port(), sid, version, "echo", {"text": "next"})
        assert status == 200 and answer_text(msgs) == "T:next"
    finally:
        cw.stop()
        server.stop()


def test_client_leaving_mid_stream_cancels_the_call(stateful_pair):
    """A 2025 server keeps running a call whose stream closed (a closed stream is not a
    cancellation in MCP): the gateway sends it notifications/cancelled when the client leaves."""
    server = McpServer("L", extra=["--log"])
    cw = Causeway(dynamic={"a.yml": gateway([server])})
    try:
        sid, version = initialize(cw.port())
        sock = socket.create_connection(("127.0.0.1", cw.port()))
        body = json.dumps({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                           "params": {"name": "slow", "arguments": {"ms": 8000}, "_meta": {"progressToken": 1}}})
        sock.sendall((f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      f"Accept: application/json, text/event-stream\r\nMcp-Session-Id: {sid}\r\n"
                      f"MCP-Protocol-Version: {version}\r\nContent-Length: {len(body)}\r\n\r\n{body}").encode())
        sock.settimeout(10)
        got = b""
        while b"notifications/progress" not in got:
            chunk = sock.recv(4096)
            assert chunk, got
            got += chunk
        sock.close()  # the client leaves after the first progress event
        wait_until(lambda: "call-cancelled" in server.output(), timeout=8, message="the server saw the call cancelled")
        assert "MCP call cancelled on its server" in cw.output()
        status, _, msgs = call(cw.port(), sid, version, "echo", {"text": "after"})
        assert status == 200 and answer_text(msgs) == "L:after"
    finally:
        cw.stop()
        server.stop()


# ---- observability ---------------------------------------------------------------------------

def test_metrics_and_spans_carry_mcp_conventions(stateful_pair):
    """Prometheus: mcp_server_operation_duration_seconds per method and tool, and
    causeway_mcp_denials_total per rule; OTLP spans: mcp.method.name, gen_ai.tool.name,
    mcp.session.id (a fingerprint, never the id itself)."""
    from otlp_collector_fake import FakeOtlpCollector
    collector = FakeOtlpCollector()
    static = ("metrics:\n  prometheus:\n    addRoutersLabels: true\n"
              f"tracing:\n  otlp:\n    http:\n      endpoint: {collector.endpoint}/v1/traces\n")
    opts = {"policies": [{"match": "Equals(`mcp.params.name`, `add`)", "action": "deny"}]}
    cw = Causeway(entrypoints=("web", "traefik"), dynamic={"a.yml": gateway(stateful_pair, opts)},
                  static_extra=static, env={"OTEL_BSP_SCHEDULE_DELAY": "100"})
    try:
        r = run_client(cw.url(path="/mcp"), [{"op": "callTool", "name": "echo", "args": {"text": "m"}},
                                             {"op": "callTool", "name": "add", "args": {"a": 1, "b": 1}}])
        assert step(r, 1)["code"] == -32003
        sid = r["sessionId"]

        def metrics():
            return urllib.request.urlopen(cw.url("traefik", "/metrics"), timeout=5).read().decode()

        text = wait_until(lambda: "causeway_mcp_denials_total" in metrics() and metrics(), message="MCP metrics")
        assert 'mcp_server_operation_duration_seconds_count{mcp_method_name="tools/call",gen_ai_tool_name="echo",' \
               'router="mcp@file"} 1' in text, text
        assert 'mcp_server_operation_duration_seconds_count{mcp_method_name="initialize",router="mcp@file"} 1' in text
        assert 'causeway_mcp_denials_total{mcp_method_name="tools/call",gen_ai_tool_name="add",router="mcp@file",' \
               'rule="policies[0]"} 1' in text
        spans = wait_until(lambda: [s for s in collector.spans() if s["attrs"].get("gen_ai.tool.name") == "echo"])
        attrs = spans[-1]["attrs"]
        assert attrs["mcp.method.name"] == "tools/call"
        assert len(attrs["mcp.session.id"]) == 16 and attrs["mcp.session.id"] not in sid
        assert attrs["mcp.protocol.version"] == "2025-11-25"
        denied = wait_until(lambda: [s for s in collector.spans() if s["attrs"].get("gen_ai.tool.name") == "add"])
        assert denied[-1]["attrs"]["causeway.mcp.decision"] == "deny"
        assert int(denied[-1]["attrs"]["rpc.jsonrpc.error_code"]) == -32003
    finally:
        cw.stop()
        collector.server.shutdown()


# ---- API and dashboard -----------------------------------------------------------------------

def test_api_and_dashboard_list_mcp_routes(stateful_pair):
    """GET /api/mcp and the dashboard's MCP page (Chromium): the route with its servers, tools,
    denials per rule and hidden list entries."""
    from browser import Browser, screenshot_dir
    opts = {"policies": [{"match": "Equals(`mcp.params.name`, `add`)", "action": "deny"}]}
    cw = Causeway(entrypoints=("web", "traefik"), dynamic={"a.yml": gateway(stateful_pair, opts)},
                  static_extra="api:\n  insecure: true\n")
    try:
        r = run_client(cw.url(path="/mcp"), ["listTools",
                                             {"op": "callTool", "name": "echo", "args": {"text": "d"}},
                                             {"op": "callTool", "name": "echo", "args": {"text": "e"}},
                                             {"op": "callTool", "name": "add", "args": {"a": 1, "b": 1}}])
        assert step(r, 3)["code"] == -32003

        def api():
            with urllib.request.urlopen(cw.url("traefik", "/api/mcp"), timeout=5) as resp:
                return json.loads(resp.read())

        router = wait_until(lambda: [x for x in api()["routers"] if x["name"] == "mcp@file" and x["denials"] == 1])[0]
        assert router["hidden"] == 1  # add, hidden from tools/list
        assert router["rules"] == {"policies[0]": 1}
        tools = {t["name"]: t for t in router["tools"]}
        assert tools["echo"]["calls"] == 2 and tools["add"]["denials"] == 1
        assert set(router["servers"]) <= {s.url for s in stateful_pair} and router["servers"]
        with Browser() as browser:
            browser.goto(cw.url("traefik", "/dashboard/#/mcp"))
            row = "[data-testid=mcp-router][data-name='mcp@file']"
            browser.wait(row)
            assert browser.text(row + " [data-testid=denials]") == "1"
            assert browser.text(row + " [data-testid=mcp-tool][data-name=echo] [data-testid=calls]") == "2"
            assert "policies[0]: 1" in browser.text(row + " [data-testid=rules]")
            assert router["servers"][0] in browser.text(row + " [data-testid=servers]")
            browser.screenshot(screenshot_dir() / "mcp.png")
            assert browser.errors() == []
    finally:
        cw.stop()
