"""providers.http end to end: an HTTP endpoint (a small server in this test, standing for the
user's platform) serves the dynamic configuration in JSON or YAML; causeway polls it with the
configured headers, serves it and follows changes. An endpoint that answers 500, times out,
sends more than maxResponseBodySize or sends something that does not parse leaves the last good
configuration serving, with the reason in the log and the API's warnings until it recovers.

Reference: docs/providers.md ("HTTP")."""
import json
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness import BIN, Causeway, api_warnings, to_yaml, wait_until
from mwkit import get


class ConfigServer:
    """Serves `body` with `status` on every path; `delay` seconds before answering; `flood`
    bytes of filler instead of the body. Records the headers of the last request."""

    def __init__(self):
        self.body, self.status, self.delay, self.flood = "{}", 200, 0.0, 0
        self.seen = {}
        self.requests = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                owner.seen = dict(self.headers)
                owner.seen["path"] = self.path
                owner.requests += 1
                time.sleep(owner.delay)
                try:
                    self.send_response(owner.status)
                    if owner.flood:
                        self.send_header("Content-Length", str(owner.flood))
                        self.end_headers()
                        chunk = b" " * 65536
                        for _ in range(owner.flood // len(chunk)):
                            self.wfile.write(chunk)
                        return
                    data = owner.body.encode()
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path="/config"):
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def config_server():
    server = ConfigServer()
    yield server
    server.close()


def dynamic(upstream, rule="Host(`app.test`)"):
    return json.dumps({"http": {
        "routers": {"app": {"rule": rule, "service": "app"}},
        "services": {"app": {"loadBalancer": {"servers": [{"url": upstream}]}}}}})


def start(server, **options):
    provider = {"endpoint": server.url("/config?env=test"), "pollInterval": "200ms", **options}
    return Causeway(providers_extra={"http": provider}, entrypoints=("web", "traefik"),
                    static_extra="api:\n  insecure: true\n")


def test_polls_follows_and_keeps_the_last_good(start_whoami, config_server):
    w = start_whoami()
    config_server.body = dynamic(w.url)
    cw = start(config_server, headers={"X-Platform-Token": "t0k3n"}, pollTimeout="1s",
               maxResponseBodySize=1 << 20)
    try:
        wait_until(lambda: get(cw, "app.test")[0] == 200, timeout=10, message="served from the endpoint")
        assert config_server.seen.get("X-Platform-Token") == "t0k3n"
        assert config_server.seen["path"] == "/config?env=test"

        # YAML works as well as JSON; a change is served at the next poll.
        config_server.body = to_yaml(json.loads(dynamic(w.url, "Host(`yaml.test`)")))
        wait_until(lambda: get(cw, "yaml.test")[0] == 200, timeout=10, message="change served")
        assert get(cw, "app.test")[0] == 404

        # Each failure keeps the configuration in place and says why, until a read succeeds.
        failures = [
            ({"status": 500}, "answered 500, expected 200"),
            ({"body": "{ this is not: [json"}, "does not parse"),
            ({"delay": 2.0}, "no answer within 1000 ms"),
            ({"flood": 100 << 20}, "larger than 1048576 bytes"),
        ]
        for change, reason in failures:
            before = (config_server.status, config_server.body, config_server.delay, config_server.flood)
            for key, value in change.items():
                setattr(config_server, key, value)
            wait_until(lambda: any(reason in m for m in api_warnings(cw)), timeout=15, message=reason)
            assert reason in cw.output()
            assert get(cw, "yaml.test")[0] == 200
            config_server.status, config_server.body, config_server.delay, config_server.flood = before
            wait_until(lambda: not any("cannot read" in m for m in api_warnings(cw)), timeout=15,
                       message=f"recovered from: {reason}")
        assert "the store answers again" in cw.output()
    finally:
        cw.stop()


def test_check_reads_the_endpoint(start_whoami, config_server, tmp_path):
    w = start_whoami()
    config_server.body = json.dumps({"http": {"routers": {"bad": {"rule": "Host(`x`", "service": "nope"}},
                                              "services": json.loads(dynamic(w.url))["http"]["services"]}})
    static = tmp_path / "static.yml"
    static.write_text(to_yaml({"entryPoints": {"web": {"address": "127.0.0.1:0"}},
                               "providers": {"http": {"endpoint": config_server.url()}}}))
    out = subprocess.run([BIN, "check", f"--configFile={static}"], capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert "router bad@http" in out.stdout and "invalid rule" in out.stdout, out.stdout + out.stderr
    assert f"http {config_server.url()}:1:" in out.stdout  # where: the endpoint, line and column

    # An endpoint that cannot be reached is a warning (causeway starts and keeps polling).
    config_server.close()
    out = subprocess.run([BIN, "check", f"--configFile={static}"], capture_output=True, text=True, timeout=30)
    assert "providers.http" in out.stdout + out.stderr and "cannot connect" in out.stdout + out.stderr
