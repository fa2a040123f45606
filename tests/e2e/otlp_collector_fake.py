"""A fake OpenTelemetry collector for the tracing and metrics tests: an HTTP server on loopback
that takes OTLP/HTTP JSON export requests (POST /v1/traces, /v1/metrics, /v1/logs) and keeps what it decoded.

It is a fake because Debian ships no OpenTelemetry collector. It implements only what the
tests need: the JSON encoding of ExportTraceServiceRequest (gzip accepted), answering 200 with
an empty ExportTraceServiceResponse, or the status a test asks for.
"""

import gzip
import http.server
import json
import threading
import time


class FakeOtlpCollector:
    def __init__(self, status=200, port=0, certfile=None, keyfile=None):
        self.status = status
        self.requests = []   # (path, headers dict, decoded body)
        self.lock = threading.Lock()
        collector = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                if self.headers.get("Content-Encoding", "") == "gzip":
                    body = gzip.decompress(body)
                try:
                    decoded = json.loads(body)
                except ValueError:
                    decoded = None
                with collector.lock:
                    collector.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, decoded))
                status = collector.status
                reply = b"{}"
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.scheme = "http"
        if certfile:  # OTLP over HTTPS
            import ssl
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(certfile, keyfile)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def endpoint(self):
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def spans(self):
        """Every span received: dicts with the OTLP JSON fields plus 'resource' (attributes as a
        {key: value} dict) and 'attrs' (the span's attributes as a dict)."""
        out = []
        with self.lock:
            requests = list(self.requests)
        for _, _, body in requests:
            for rs in (body or {}).get("resourceSpans", []):
                resource = attributes(rs.get("resource", {}).get("attributes", []))
                for ss in rs.get("scopeSpans", []):
                    for span in ss.get("spans", []):
                        span = dict(span)
                        span["resource"] = resource
                        span["scope"] = ss.get("scope", {}).get("name")
                        span["attrs"] = attributes(span.get("attributes", []))
                        out.append(span)
        return out

    def metrics(self):
        """The metrics of the latest POST /v1/metrics: {name: metric dict}, each data point with
        'attrs' (its attributes as a dict), plus '_resource' (the resource attributes)."""
        with self.lock:
            requests = [r for r in self.requests if r[0] == "/v1/metrics"]
        if not requests:
            return {}
        out = {}
        for rm in (requests[-1][2] or {}).get("resourceMetrics", []):
            out["_resource"] = attributes(rm.get("resource", {}).get("attributes", []))
            for sm in rm.get("scopeMetrics", []):
                for metric in sm.get("metrics", []):
                    for kind in ("sum", "gauge", "histogram"):
                        for point in metric.get(kind, {}).get("dataPoints", []):
                            point["attrs"] = attributes(point.get("attributes", []))
                    out[metric["name"]] = metric
        return out

    def logs(self):
        """Every log record received on /v1/logs: dicts with the OTLP JSON fields plus 'attrs'
        (attributes as a dict), 'text' (the body string) and 'resource'."""
        out = []
        with self.lock:
            requests = [r for r in self.requests if r[0] == "/v1/logs"]
        for _, _, body in requests:
            for rl in (body or {}).get("resourceLogs", []):
                resource = attributes(rl.get("resource", {}).get("attributes", []))
                for sl in rl.get("scopeLogs", []):
                    for record in sl.get("logRecords", []):
                        record = dict(record)
                        record["attrs"] = attributes(record.get("attributes", []))
                        record["text"] = record.get("body", {}).get("stringValue")
                        record["resource"] = resource
                        out.append(record)
        return out

    def wait_spans(self, predicate, timeout=10.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            spans = self.spans()
            if predicate(spans):
                return spans
            time.sleep(0.05)
        raise TimeoutError(f"spans never matched; got {json.dumps(self.spans(), indent=1)[:4000]}")

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def value_of(value):
    """An OTLP AnyValue as a Python value (intValue comes as a decimal string)."""
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        return int(value["intValue"])
    if "boolValue" in value:
        return value["boolValue"]
    if "doubleValue" in value:
        return value["doubleValue"]
    if "arrayValue" in value:
        return [value_of(v) for v in value["arrayValue"].get("values", [])]
    return None


def attributes(items):
    return {item["key"]: value_of(item.get("value", {})) for item in items}


if __name__ == "__main__":
    # By hand: prints each span as it arrives (python3 otlp_collector_fake.py [port]).
    import sys
    c = FakeOtlpCollector(port=int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    print(f"fake OTLP collector on {c.endpoint}", flush=True)
    seen = 0
    try:
        while True:
            time.sleep(0.5)
            spans = c.spans()
            for s in spans[seen:]:
                print(json.dumps({k: s[k] for k in ("traceId", "spanId", "name", "kind", "attrs")}), flush=True)
            seen = len(spans)
    except KeyboardInterrupt:
        c.stop()
