"""MCP peers and clients for the MCP gateway's end-to-end tests (test_mcp_gateway.py,
test_mcp_hardening.py): node/mcp_server.mjs and node/mcp_client.mjs (the official MCP SDKs),
raw JSON-RPC over HTTP, and a round-robin TCP balancer. Reference: docs/mcp-gateway.md."""
import http.client
import json
import pathlib
import socket
import subprocess
import threading

import pytest

from harness import Process, to_yaml, wait_until

NODE_DIR = pathlib.Path(__file__).resolve().parent / "node"
SDK_INSTALLED = ((NODE_DIR / "node_modules" / "@modelcontextprotocol" / "sdk").exists()
                 and (NODE_DIR / "node_modules" / "@modelcontextprotocol" / "client").exists())
SECRET = "replicas-share-this-secret"


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
