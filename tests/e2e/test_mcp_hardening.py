"""MCP gateway end to end, the hard cases (docs/mcp-gateway.md, docs/security.md M01–M08):
bad input (invalid JSON -32700, batches and malformed messages -32600, mirrored headers that
disagree with the body 400/-32020, a body over the limit 413, a foreign Origin 403), stream
headers, an upstream that dies mid-stream, rate limits per caller and tool, call timeouts and the
cancellation of calls whose client left, metrics and spans, and the API and dashboard page.
The peers are the official MCP SDKs (mcp_peer.py)."""
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
        # What the policies key on must be one plain string; params an object; methods bounded.
        for body, status, code in [
            ({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": ["echo", {"text": "x"}]}, 400, -32600),
            ({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": ["echo", "add"]}}, 400, -32602),
            ({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "e" * 2000}}, 400, -32602),
            ({"jsonrpc": "2.0", "id": 4, "method": "m" * 200}, 400, -32600),
        ]:
            got, _, text = post(cw.port(), body, h)
            assert got == status and json.loads(text)["error"]["code"] == code, (body, text)
        # A mirrored header sent twice, and a method Streamable HTTP does not have.
        conn = http.client.HTTPConnection("127.0.0.1", cw.port(), timeout=10)
        conn.putrequest("POST", "/mcp")
        for k, v in [("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream"),
                     ("Mcp-Session-Id", sid), ("MCP-Protocol-Version", version), ("Mcp-Name", "echo"),
                     ("Mcp-Name", "add")]:
            conn.putheader(k, v)
        payload = json.dumps(call_body).encode()
        conn.putheader("Content-Length", str(len(payload)))
        conn.endheaders(payload)
        r = conn.getresponse()
        assert r.status == 400 and json.loads(r.read())["error"]["code"] == -32020
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", cw.port(), timeout=10)
        conn.request("PUT", "/mcp", body=json.dumps(call_body), headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        assert r.status == 405 and "POST" in r.getheader("Allow")
        conn.close()
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
        # DNS rebinding: the attacker's name resolves to the gateway, so Origin and Host agree.
        status, _, _ = post(cw.port(), INIT, {"Origin": f"http://evil.example:{cw.port()}",
                                              "Host": f"evil.example:{cw.port()}"})
        assert status == 403
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
                           "params": {"name": "slow", "arguments": {"ms": 12000}, "_meta": {"progressToken": 1}}})
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
        # causeway notices when a write fails (an event or two later; the call has 12 s to run).
        wait_until(lambda: "call-cancelled" in server.output(), timeout=15, message="the server saw the call cancelled")
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


def test_get_stream_head_arrives_at_once_and_idle_streams_get_keep_alives(stateful_pair):
    """The session's GET stream (server messages) may stay silent for long: its head reaches the
    client at once, not with the first event, as Go's ReverseProxy flushes event streams; then a
    comment line every streamKeepAlive keeps it from looking dead, and a tool call's stream still
    ends with its answer."""
    cw = Causeway(dynamic={"a.yml": gateway(stateful_pair, {"streamKeepAlive": "500ms"})},
                  static_extra="accessLog:\n  format: json\n")
    try:
        sid, version = initialize(cw.port())
        sock = socket.create_connection(("127.0.0.1", cw.port()), timeout=3)
        sock.sendall((f"GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                      f"Mcp-Session-Id: {sid}\r\nMCP-Protocol-Version: {version}\r\n\r\n").encode())
        got = b""
        while b"\r\n\r\n" not in got:
            got += sock.recv(4096)  # times out (3 s) if the head waits for an event
        head = got.split(b"\r\n\r\n")[0].lower()
        assert head.startswith(b"http/1.1 200") and b"content-type: text/event-stream" in head
        assert b"x-accel-buffering: no" in head
        deadline = time.monotonic() + 5
        while got.count(b": keep-alive") < 2 and time.monotonic() < deadline:
            got += sock.recv(4096)
        assert got.count(b": keep-alive") >= 2, got
        sock.close()
        # The next comment finds the client gone: the server's stream is given up and the
        # exchange ends (its access-log line), instead of waiting for the server to speak.
        wait_until(lambda: '"RequestMethod":"GET"' in cw.output(), timeout=5, message="the GET exchange ended")
        status, headers, msgs = call(cw.port(), sid, version, "slow", {"ms": 1300})
        assert status == 200 and answer_text(msgs).endswith("slept 1300"), msgs
    finally:
        cw.stop()
