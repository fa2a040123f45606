"""OTLP over gRPC for traces, metrics and logs (tracing.otlp.grpc, metrics.otlp.grpc,
accessLog.otlp.grpc, log.otlp.grpc), received by a small OTLP receiver written with the npm
package @grpc/grpc-js (node/otlp_receiver.js) that decodes the protobuf with its own copy of
OTLP's field numbers (node/otlp.proto). Headers configured for the exporter arrive as metadata."""
import json
import pathlib
import subprocess
import threading

import pytest

from harness import Causeway, Whoami, curl, to_yaml, wait_log, wait_until

NODE_DIR = pathlib.Path(__file__).resolve().parent / "node"
pytestmark = pytest.mark.skipif(not (NODE_DIR / "node_modules" / "@grpc" / "grpc-js").exists(),
                                reason="npm packages not installed (make test runs npm ci in tests/e2e/node)")


class Receiver:
    def __init__(self):
        self.proc = subprocess.Popen(["node", str(NODE_DIR / "otlp_receiver.js")], stdout=subprocess.PIPE, text=True)
        self.port = json.loads(self.proc.stdout.readline())["port"]
        self.lines = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            with self.lock:
                self.lines.append(json.loads(line))

    def requests(self, signal):
        with self.lock:
            return [l for l in self.lines if l["signal"] == signal]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=5)


def attrs(items):
    out = {}
    for kv in items or []:
        value = kv.get("value", {})
        out[kv["key"]] = next(iter(value.values()), None) if value else None
    return out


def test_traces_metrics_and_logs_over_grpc():
    receiver, whoami = Receiver(), Whoami("g")
    grpc = {"endpoint": f"127.0.0.1:{receiver.port}", "insecure": True, "headers": {"X-Tenant": "t1"}}
    static = {
        "tracing": {"serviceName": "edge-traces", "otlp": {"grpc": grpc}},
        "metrics": {"otlp": {"pushInterval": "300ms", "grpc": grpc}},
        "accessLog": {"otlp": {"grpc": grpc}},
    }
    dynamic = {"http": {"routers": {"r": {"rule": "PathPrefix(`/`)", "service": "s"}},
                        "services": {"s": {"loadBalancer": {"servers": [{"url": whoami.url}]}}}}}
    cw = Causeway(dynamic={"d.yml": to_yaml(dynamic) + "\n"}, static_extra=to_yaml(static) + "\n",
                  env={"OTEL_BSP_SCHEDULE_DELAY": "100"})
    try:
        wait_log(cw, "configuration published")
        for i in range(3):
            assert curl(cw.url(path=f"/grpc{i}"), host="a.test")[0] == 200

        # Traces: a server span per request, ids as 16 and 8 bytes, the resource service.name.
        def spans():
            out = []
            for r in receiver.requests("traces"):
                for rs in r["request"].get("resourceSpans", []):
                    for ss in rs.get("scopeSpans", []):
                        for span in ss.get("spans", []):
                            span["resource"] = attrs(rs.get("resource", {}).get("attributes"))
                            out.append(span)
            return out
        got = wait_until(lambda: len([s for s in spans() if s.get("kind") == 2]) >= 3 and spans(),
                         timeout=10, message="3 server spans over gRPC")
        server = [s for s in got if s.get("kind") == 2][0]
        assert len(server["traceId"]) == 32 and len(server["spanId"]) == 16, server
        assert int(server["endTimeUnixNano"]) > int(server["startTimeUnixNano"]) > 0
        assert server["resource"]["service.name"] == "edge-traces"
        assert receiver.requests("traces")[0]["metadata"].get("x-tenant") == "t1"

        # Metrics: the request counter as a monotonic sum, the duration histogram consistent.
        def metric(name):
            for r in reversed(receiver.requests("metrics")):
                for rm in r["request"].get("resourceMetrics", []):
                    for sm in rm.get("scopeMetrics", []):
                        for m in sm.get("metrics", []):
                            if m["name"] == name:
                                return m
            return None
        def counted():
            m = metric("traefik_entrypoint_requests_total")
            if not m:
                return None
            points = [p for p in m["sum"]["dataPoints"] if attrs(p.get("attributes")).get("code") == "200"]
            return m if sum(p.get("asDouble", 0) for p in points) >= 3 else None
        total = wait_until(counted, timeout=10, message="3 requests counted over gRPC")
        assert total["sum"]["isMonotonic"] is True and total["sum"]["aggregationTemporality"] == 2
        histogram = metric("traefik_service_request_duration_seconds")["histogram"]["dataPoints"][0]
        assert sum(int(c) for c in histogram["bucketCounts"]) == int(histogram["count"]) >= 3
        assert len(histogram["bucketCounts"]) == len(histogram["explicitBounds"]) + 1

        # Logs: one record per request, the access log line as the body.
        def records():
            out = []
            for r in receiver.requests("logs"):
                for rl in r["request"].get("resourceLogs", []):
                    for sl in rl.get("scopeLogs", []):
                        out += sl.get("logRecords", [])
            return out
        logged = wait_until(lambda: len([r for r in records() if "/grpc" in r["body"]["stringValue"]]) >= 3
                            and records(), timeout=10, message="3 access log records over gRPC")
        first = [r for r in logged if "/grpc0" in r["body"]["stringValue"]][0]
        assert attrs(first["attributes"])["RequestPath"] == "/grpc0"
        assert first["severityNumber"] == 9 and int(first["timeUnixNano"]) > 0
    finally:
        cw.stop()
        whoami.stop()
        receiver.stop()


def test_collector_errors_are_logged_not_fatal():
    # Nothing listens there: the exporter logs and requests are unaffected.
    whoami = Whoami("n")
    static = {"metrics": {"otlp": {"pushInterval": "200ms", "grpc": {"endpoint": "127.0.0.1:1", "insecure": True}}}}
    dynamic = {"http": {"routers": {"r": {"rule": "PathPrefix(`/`)", "service": "s"}},
                        "services": {"s": {"loadBalancer": {"servers": [{"url": whoami.url}]}}}}}
    cw = Causeway(dynamic={"d.yml": to_yaml(dynamic) + "\n"}, static_extra=to_yaml(static) + "\n")
    try:
        wait_log(cw, "configuration published")
        assert curl(cw.url(path="/x"), host="a.test")[0] == 200
        wait_log(cw, "Unable to push OTLP metrics")
    finally:
        cw.stop()
        whoami.stop()
