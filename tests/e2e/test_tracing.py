"""Tracing with OpenTelemetry (reference §1.8, §6.3): spans exported over OTLP/HTTP (JSON) to a
fake collector (otlp_collector_fake.py: Debian ships no OpenTelemetry collector), the client's
W3C trace context continued, the upstream (whoami echoes the headers it got) sees a
traceparent naming the proxy's ReverseProxy span, Traefik's span names and attributes,
parent-based sampling with sampleRate, resource attributes and captured headers."""

import subprocess
import time

import pytest

from harness import curl, free_port, routed, to_yaml, wait_until, whoami_echo
from otlp_collector_fake import FakeOtlpCollector

CLIENT_TRACE = "0af7651916cd43dd8448eb211c80319c"
CLIENT_SPAN = "b7ad6b7169203331"
FAST_EXPORT = {"OTEL_BSP_SCHEDULE_DELAY": "100"}


@pytest.fixture
def collector():
    started = []

    def start(**kwargs):
        c = FakeOtlpCollector(**kwargs)
        started.append(c)
        return c

    yield start
    for c in started:
        c.stop()


def app_config(url):
    return {"dyn.yml": to_yaml({"http": {
        "routers": {"app": {"rule": "Host(`app.test`)", "service": "app"}},
        "services": {"app": {"loadBalancer": {"servers": [{"url": url}]}}}}}) + "\n"}


def tracing_static(endpoint, **options):
    tracing = {"otlp": {"http": {"endpoint": endpoint}}}
    tracing.update(options)
    return to_yaml({"tracing": tracing}) + "\n"


def upstream_traceparent(body):
    _, headers, _ = whoami_echo(body)
    values = [v for k, v in headers if k.lower() == "traceparent"]
    assert len(values) == 1, headers
    return values[0].split("-")


def apr1_hash(password):
    return subprocess.run(["openssl", "passwd", "-apr1", password], capture_output=True, text=True,
                          check=True).stdout.strip()


def by_trace(spans, trace_id):
    return [s for s in spans if s["traceId"] == trace_id]


def test_client_trace_is_continued_and_propagated_upstream(start_whoami, start_causeway, collector):
    app = start_whoami("app")
    otel = collector()
    cw = start_causeway(static_extra=tracing_static(otel.endpoint, capturedRequestHeaders=["X-Request-Id", "X-Api-Key"],
                                                    capturedResponseHeaders=["Content-Type"]),
                        dynamic=app_config(app.url), env=FAST_EXPORT)
    routed(cw, "app.test")
    status, _, body = curl(cw.url("web", "/api/items?id=7&secret=x"), host="app.test",
                           headers=[f"traceparent: 00-{CLIENT_TRACE}-{CLIENT_SPAN}-01", "tracestate: vendor=abc",
                                    "X-Request-Id: req-42", "User-Agent: tracing-test/1",
                                    "X-Api-Key: sk-secret-of-the-client"])
    assert status == 200
    version, trace, parent, flags = upstream_traceparent(body)
    assert (version, trace, flags) == ("00", CLIENT_TRACE, "01")
    assert parent != CLIENT_SPAN

    spans = otel.wait_spans(lambda s: len(by_trace(s, CLIENT_TRACE)) >= 2)
    spans = by_trace(spans, CLIENT_TRACE)
    server = next(s for s in spans if s["kind"] == 2)
    proxy = next(s for s in spans if s["kind"] == 3)
    assert len(spans) == 2  # traceVerbosity minimal: the entryPoint and ReverseProxy spans
    # The entryPoint span: SERVER, named after the method, child of the client's span.
    assert server["name"] == "GET"
    assert server["parentSpanId"] == CLIENT_SPAN
    assert server["traceState"] == "vendor=abc"
    a = server["attrs"]
    assert a["entry_point"] == "web"
    assert a["http.request.method"] == "GET"
    assert a["http.response.status_code"] == 200
    assert a["url.path"] == "/api/items"
    assert a["url.query"] == "id=REDACTED&secret=REDACTED"
    assert a["url.scheme"] == "http"
    assert a["server.address"] == "app.test"
    assert a["client.address"] == "127.0.0.1" and a["network.peer.address"] == "127.0.0.1"
    assert isinstance(a["client.port"], int) and a["client.port"] == a["network.peer.port"]
    assert a["network.protocol.version"] == "1.1"
    assert a["user_agent.original"] == "tracing-test/1"
    assert a["http.request.header.x-request-id"] == ["req-42"]
    # A credential header is named but never shown, even when configured (provider keys travel
    # in these on AI routes).
    assert a["http.request.header.x-api-key"] == ["REDACTED"]
    assert a["http.response.header.content-type"][0].startswith("text/plain")
    # ReverseProxy: CLIENT, child of the entryPoint span, and the parent the upstream saw.
    assert proxy["name"] == "ReverseProxy"
    assert proxy["parentSpanId"] == server["spanId"]
    assert proxy["spanId"] == parent
    p = proxy["attrs"]
    assert p["url.full"] == f"{app.url}/api/items?id=REDACTED&secret=REDACTED"
    assert p["server.address"] == "127.0.0.1" and p["server.port"] == app.port
    assert p["network.peer.port"] == app.port and p["url.scheme"] == "http"
    assert p["http.response.status_code"] == 200 and p["http.request.method"] == "GET"
    assert int(server["startTimeUnixNano"]) <= int(proxy["startTimeUnixNano"]) <= int(proxy["endTimeUnixNano"])
    assert int(proxy["endTimeUnixNano"]) <= int(server["endTimeUnixNano"])
    assert abs(int(server["startTimeUnixNano"]) / 1e9 - time.time()) < 60
    # Resource and scope.
    assert server["resource"]["service.name"] == "traefik"
    assert server["scope"] == "github.com/traefik/traefik"
    path, headers, _ = otel.requests[0]
    assert path == "/v1/traces" and headers["content-type"] == "application/json"


def test_new_traces_resource_attributes_headers_and_detailed_spans(start_whoami, start_causeway, collector):
    app = start_whoami("app")
    otel = collector()
    otel_headers = {"tracing": {"serviceName": "edge", "resourceAttributes": {"deployment.environment": "test"},
                                "safeQueryParams": ["page"],
                                "otlp": {"http": {"endpoint": otel.endpoint + "/custom/path",
                                                  "headers": {"Authorization": "Bearer collector-token"}}}}}
    cw = start_causeway(static_extra=to_yaml(otel_headers) + "\n", dynamic=app_config(app.url), env=FAST_EXPORT,
                        entrypoint_extra={"web": "observability:\n  traceVerbosity: detailed"})
    routed(cw, "app.test")
    status, _, body = curl(cw.url("web", "/list?page=2&token=t"), host="app.test")
    assert status == 200
    _, trace, parent, flags = upstream_traceparent(body)
    assert flags == "01"
    spans = by_trace(otel.wait_spans(lambda s: len(by_trace(s, trace)) >= 4), trace)
    names = {s["name"]: s for s in spans}
    assert set(names) == {"GET", "Router", "Service", "ReverseProxy"}
    server, router, service, proxy = names["GET"], names["Router"], names["Service"], names["ReverseProxy"]
    assert "parentSpanId" not in server  # a new trace: the entryPoint span is the root
    assert router["parentSpanId"] == server["spanId"] and router["kind"] == 1
    assert router["attrs"]["traefik.router.name"] == "app@file"
    assert router["attrs"]["traefik.service.name"] == "app@file"
    assert router["attrs"]["http.route"] == "Host(`app.test`)"
    assert service["parentSpanId"] == router["spanId"] and service["kind"] == 1
    assert service["attrs"]["traefik.service.name"] == "app@file"
    assert proxy["parentSpanId"] == service["spanId"] and proxy["spanId"] == parent
    assert server["attrs"]["url.query"] == "page=2&token=REDACTED"
    assert server["resource"]["service.name"] == "edge"
    assert server["resource"]["deployment.environment"] == "test"
    path, headers, _ = otel.requests[-1]
    assert path == "/custom/path" and headers["authorization"] == "Bearer collector-token"


def test_sample_rate_zero_exports_nothing_but_still_propagates(start_whoami, start_causeway, collector):
    app = start_whoami("app")
    otel = collector()
    cw = start_causeway(static_extra=tracing_static(otel.endpoint, sampleRate=0.0), dynamic=app_config(app.url),
                        env=FAST_EXPORT)
    routed(cw, "app.test")
    for _ in range(5):
        _, _, body = curl(cw.url(), host="app.test")
        version, trace, parent, flags = upstream_traceparent(body)
        assert flags == "00" and trace != "0" * 32
    # Parent-based: a sampled client decision is followed even at rate 0.
    _, _, body = curl(cw.url(), host="app.test", headers=[f"traceparent: 00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"])
    assert upstream_traceparent(body)[3] == "01"
    spans = otel.wait_spans(lambda s: len(s) >= 2)
    time.sleep(0.5)
    assert {s["traceId"] for s in otel.spans()} == {CLIENT_TRACE}


def test_unsampled_parent_is_followed_and_invalid_traceparent_starts_a_trace(start_whoami, start_causeway,
                                                                             collector):
    app = start_whoami("app")
    otel = collector()
    cw = start_causeway(static_extra=tracing_static(otel.endpoint), dynamic=app_config(app.url), env=FAST_EXPORT)
    routed(cw, "app.test")
    _, _, body = curl(cw.url(), host="app.test", headers=[f"traceparent: 00-{CLIENT_TRACE}-{CLIENT_SPAN}-00"])
    assert upstream_traceparent(body)[1::2] == [CLIENT_TRACE, "00"]
    _, _, body = curl(cw.url(), host="app.test", headers=["traceparent: 00-XYZ-bad-01"])
    _, trace, _, flags = upstream_traceparent(body)
    assert trace != CLIENT_TRACE and len(trace) == 32 and flags == "01"
    spans = otel.wait_spans(lambda s: len(by_trace(s, trace)) >= 2)
    assert by_trace(spans, CLIENT_TRACE) == []
    server = next(s for s in by_trace(spans, trace) if s["kind"] == 2)
    assert "parentSpanId" not in server


def test_404_and_internal_services(start_whoami, start_causeway, collector):
    app = start_whoami("app")
    otel = collector()
    cw = start_causeway(entrypoints=("web", "traefik"), static_extra="ping: {}\n" + tracing_static(otel.endpoint),
                        dynamic=app_config(app.url), env=FAST_EXPORT)
    routed(cw, "app.test")
    assert curl(cw.url("traefik", "/ping"))[0] == 200  # internal: not traced (addInternals false)
    assert curl(cw.url("web", "/nope"), host="nobody.test")[0] == 404
    spans = otel.wait_spans(lambda s: any(x["attrs"].get("http.response.status_code") == 404 for x in s))
    missing = next(s for s in spans if s["attrs"].get("http.response.status_code") == 404)
    assert missing["name"] == "GET" and missing["kind"] == 2
    assert by_trace(spans, missing["traceId"]) == [missing]  # no upstream: no ReverseProxy span
    time.sleep(0.3)
    assert not any(s["attrs"].get("entry_point") == "traefik" for s in otel.spans())


def test_collector_errors_do_not_affect_requests(start_whoami, start_causeway, collector):
    app = start_whoami("app")
    otel = collector(status=500)
    cw = start_causeway(static_extra=tracing_static(otel.endpoint), dynamic=app_config(app.url), env=FAST_EXPORT)
    routed(cw, "app.test")
    for _ in range(10):
        assert curl(cw.url(), host="app.test")[0] == 200
    wait_until(lambda: "exporting spans failed" in cw.output(), timeout=10)
    otel.stop()
    for _ in range(10):  # the collector is gone entirely
        assert curl(cw.url(), host="app.test")[0] == 200


def self_signed(tmp_path, name):
    key, cert = tmp_path / f"{name}.key", tmp_path / f"{name}.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={name}",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=30)
    return str(cert), str(key)


def test_https_collector_trusted_by_ca_or_skipping_verification(start_whoami, start_causeway, collector, tmp_path):
    app = start_whoami("app")
    cert, key = self_signed(tmp_path, "collector")
    otel = collector(certfile=cert, keyfile=key)
    assert otel.endpoint.startswith("https://")
    for tls, exported in (({"ca": cert}, True), ({"insecureSkipVerify": True}, True), (None, False)):
        http = {"endpoint": otel.endpoint}
        if tls:
            http["tls"] = tls
        cw = start_causeway(static_extra=to_yaml({"tracing": {"otlp": {"http": http}}}) + "\n",
                            dynamic=app_config(app.url), env=FAST_EXPORT)
        routed(cw, "app.test")
        _, _, body = curl(cw.url(), host="app.test")
        _, trace, _, _ = upstream_traceparent(body)
        if exported:
            otel.wait_spans(lambda s: len(by_trace(s, trace)) >= 2)
        else:
            # Not trusted (the system roots do not know it): the export fails, requests do not.
            wait_until(lambda: "exporting spans failed" in cw.output(), timeout=10)
            assert "certificate verify failed" in cw.output()
            assert by_trace(otel.spans(), trace) == []
        cw.stop()


def test_router_observability_overrides_the_entrypoint(start_whoami, start_causeway, collector):
    app = start_whoami("app")
    otel = collector()
    files = {"dyn.yml": to_yaml({"http": {
        "routers": {"detailed": {"rule": "Host(`detailed.test`)", "service": "app",
                                 "observability": {"traceVerbosity": "detailed"}},
                    "untraced": {"rule": "Host(`untraced.test`)", "service": "app",
                                 "observability": {"tracing": False}}},
        "services": {"app": {"loadBalancer": {"servers": [{"url": app.url}]}}}}}) + "\n"}
    cw = start_causeway(static_extra=tracing_static(otel.endpoint), dynamic=files, env=FAST_EXPORT)
    routed(cw, "detailed.test")
    _, _, body = curl(cw.url(), host="untraced.test")
    _, untraced, _, _ = upstream_traceparent(body)
    _, _, body = curl(cw.url(), host="detailed.test")
    _, detailed, _, _ = upstream_traceparent(body)
    spans = otel.wait_spans(lambda s: len(by_trace(s, detailed)) >= 4)
    assert sorted(s["name"] for s in by_trace(spans, detailed)) == ["GET", "ReverseProxy", "Router", "Service"]
    time.sleep(0.3)
    assert by_trace(otel.spans(), untraced) == []


def test_detailed_traces_have_a_span_per_middleware_nested_in_chain_order(start_whoami, start_causeway, collector):
    # traceVerbosity detailed (reference §1.2, §6.3): Router → one INTERNAL span per middleware,
    # named after Traefik's type name, each the child of the one before → Service → ReverseProxy.
    # A middleware that answers itself (basicAuth rejecting) ends the trace there.
    app = start_whoami("app")
    otel = collector()
    files = {"dyn.yml": to_yaml({"http": {
        "routers": {
            "app": {"rule": "Host(`app.test`)", "service": "app", "middlewares": ["tag", "limits"],
                    "observability": {"traceVerbosity": "detailed"}},
            "locked": {"rule": "Host(`locked.test`)", "service": "app", "middlewares": ["tag", "auth"],
                       "observability": {"traceVerbosity": "detailed"}},
            "plain": {"rule": "Host(`plain.test`)", "service": "app", "middlewares": ["tag", "limits"]}},
        "middlewares": {
            "tag": {"headers": {"customRequestHeaders": {"X-Tag": "t"}}},
            "limits": {"chain": {"middlewares": ["rate", "strip"]}},
            "rate": {"rateLimit": {"average": 1000, "burst": 1000}},
            "strip": {"stripPrefix": {"prefixes": ["/api"]}},
            "auth": {"basicAuth": {"users": ["u:" + apr1_hash("secret")]}}},
        "services": {"app": {"loadBalancer": {"servers": [{"url": app.url}]}}}}}) + "\n"}
    cw = start_causeway(static_extra=tracing_static(otel.endpoint), dynamic=files, env=FAST_EXPORT)
    routed(cw, "app.test")
    status, _, body = curl(cw.url("web", "/api/items"), host="app.test")
    assert status == 200
    request_line, headers, _ = whoami_echo(body)
    assert "GET /items " in request_line and ("X-Tag", "t") in headers
    _, trace, parent, _ = upstream_traceparent(body)
    spans = by_trace(otel.wait_spans(lambda s: len(by_trace(s, trace)) >= 7), trace)
    names = {s["name"]: s for s in spans}
    assert sorted(names) == sorted(["GET", "Router", "Headers", "RateLimiter", "StripPrefix", "Service",
                                    "ReverseProxy"]), [s["name"] for s in spans]
    assert len(spans) == 7
    router, headers_span, rate, strip = names["Router"], names["Headers"], names["RateLimiter"], names["StripPrefix"]
    assert headers_span["parentSpanId"] == router["spanId"]
    assert rate["parentSpanId"] == headers_span["spanId"]
    assert strip["parentSpanId"] == rate["spanId"]
    assert names["Service"]["parentSpanId"] == strip["spanId"]
    assert names["ReverseProxy"]["parentSpanId"] == names["Service"]["spanId"]
    assert names["ReverseProxy"]["spanId"] == parent
    assert headers_span["attrs"]["traefik.middleware.name"] == "tag@file"
    assert rate["attrs"]["traefik.middleware.name"] == "rate@file"
    assert strip["attrs"]["traefik.middleware.name"] == "strip@file"
    ids = [s["spanId"] for s in spans]
    assert len(set(ids)) == len(ids) and all(i != "0" * 16 for i in ids)
    for s in (headers_span, rate, strip):
        assert s["kind"] == 1  # INTERNAL
        # A middleware's span lies within its parent's.
        outer = next(p for p in spans if p["spanId"] == s["parentSpanId"])
        assert int(outer["startTimeUnixNano"]) <= int(s["startTimeUnixNano"])
        assert int(s["endTimeUnixNano"]) <= int(outer["endTimeUnixNano"])

    # Rejected by basicAuth: its span is the last; no Service, no ReverseProxy.
    status, _, body = curl(cw.url(), host="locked.test",
                           headers=[f"traceparent: 00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"])
    assert status == 401
    spans = by_trace(otel.wait_spans(lambda s: len(by_trace(s, CLIENT_TRACE)) >= 4), CLIENT_TRACE)
    time.sleep(0.3)
    spans = by_trace(otel.spans(), CLIENT_TRACE)
    names = {s["name"]: s for s in spans}
    assert sorted(names) == ["BasicAuth", "GET", "Headers", "Router"], [s["name"] for s in spans]
    assert names["BasicAuth"]["parentSpanId"] == names["Headers"]["spanId"]
    assert names["BasicAuth"]["attrs"]["traefik.middleware.name"] == "auth@file"
    assert names["GET"]["attrs"]["http.response.status_code"] == 401

    # The same middlewares on a minimal router: no middleware spans.
    status, _, body = curl(cw.url("web", "/api/x"), host="plain.test")
    assert status == 200
    _, plain, _, _ = upstream_traceparent(body)
    otel.wait_spans(lambda s: len(by_trace(s, plain)) >= 2)
    time.sleep(0.3)
    assert sorted(s["name"] for s in by_trace(otel.spans(), plain)) == ["GET", "ReverseProxy"]


def test_detailed_retry_has_a_span_per_attempt(start_causeway, collector):
    # Traefik's retry records one Retry span per attempt, http.request.resend_count from the
    # second on; each is a child of what encloses the retry middleware.
    otel = collector()
    dead = free_port()
    files = {"dyn.yml": to_yaml({"http": {
        "routers": {"flaky": {"rule": "Host(`flaky.test`)", "service": "dead", "middlewares": ["tag", "again"],
                              "observability": {"traceVerbosity": "detailed"}}},
        "middlewares": {"tag": {"headers": {"customRequestHeaders": {"X-Tag": "t"}}},
                        "again": {"retry": {"attempts": 3}}},
        "services": {"dead": {"loadBalancer": {"servers": [{"url": f"http://127.0.0.1:{dead}"}]}}}}}) + "\n"}
    cw = start_causeway(static_extra=tracing_static(otel.endpoint), dynamic=files, env=FAST_EXPORT)
    wait_until(lambda: curl(cw.url(), host="flaky.test",
                            headers=[f"traceparent: 00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"])[0] == 502)
    spans = otel.wait_spans(lambda s: any(x["name"] == "Retry" for x in by_trace(s, CLIENT_TRACE)))
    time.sleep(0.3)
    spans = by_trace(otel.spans(), CLIENT_TRACE)
    # Only the last request's spans: group by their entryPoint span.
    server = [s for s in spans if s["name"] == "GET"][-1]
    router = next(s for s in spans if s["name"] == "Router" and s["parentSpanId"] == server["spanId"])
    headers_span = next(s for s in spans if s["name"] == "Headers" and s["parentSpanId"] == router["spanId"])
    retries = [s for s in spans if s["name"] == "Retry" and s["parentSpanId"] == headers_span["spanId"]]
    assert len(retries) == 3, [s["name"] for s in spans]
    retries.sort(key=lambda s: int(s["startTimeUnixNano"]))
    assert [s["attrs"].get("http.request.resend_count") for s in retries] == [None, 1, 2]
    assert all(s["attrs"]["traefik.middleware.name"] == "again@file" for s in retries)
    service = next(s for s in spans if s["name"] == "Service" and s["parentSpanId"] in {r["spanId"] for r in retries})
    assert service["parentSpanId"] == retries[-1]["spanId"]
