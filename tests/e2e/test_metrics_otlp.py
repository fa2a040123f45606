"""metrics.otlp over HTTP: Traefik's metrics pushed every pushInterval to a collector as an
OTLP/JSON ExportMetricsServiceRequest (counters as cumulative monotonic sums, histograms with
per-bucket counts over explicitBoundaries), received by a fake collector (otlp_collector_fake.py).
Over gRPC: test_otlp_grpc.py."""
import time

from harness import Causeway, Whoami, curl, to_yaml, wait_log, wait_until
from otlp_collector_fake import FakeOtlpCollector


def test_requests_are_pushed_as_otlp_metrics():
    collector = FakeOtlpCollector()
    whoami = Whoami("m")
    dynamic = {"http": {"routers": {"r": {"rule": "PathPrefix(`/`)", "service": "s"}},
                        "services": {"s": {"loadBalancer": {"servers": [{"url": whoami.url}]}}}}}
    static = to_yaml({"metrics": {"otlp": {
        "pushInterval": "300ms", "serviceName": "edge", "addRoutersLabels": True,
        "explicitBoundaries": [0.5, 1.0], "resourceAttributes": {"deployment.environment": "test"},
        "http": {"endpoint": collector.endpoint + "/v1/metrics"}}}}) + "\n"
    cw = Causeway(dynamic={"d.yml": to_yaml(dynamic) + "\n"}, static_extra=static)
    try:
        wait_log(cw, "configuration published")
        for _ in range(5):
            assert curl(cw.url(path="/hello"), host="a.test")[0] == 200

        def pushed():
            m = collector.metrics()
            total = m.get("traefik_entrypoint_requests_total", {}).get("sum", {}).get("dataPoints", [])
            return sum(p["asDouble"] for p in total if p["attrs"].get("code") == "200") >= 5 and m

        m = wait_until(pushed, timeout=10, message="5 requests in the pushed metrics")
        total = m["traefik_entrypoint_requests_total"]["sum"]
        assert total["isMonotonic"] is True and total["aggregationTemporality"] == 2
        point = [p for p in total["dataPoints"] if p["attrs"].get("code") == "200"][0]
        assert point["attrs"]["entrypoint"] == "web" and point["attrs"]["method"] == "GET"
        assert int(point["timeUnixNano"]) > int(point["startTimeUnixNano"]) > 0
        assert "traefik_router_requests_total" in m  # addRoutersLabels
        histogram = m["traefik_service_request_duration_seconds"]["histogram"]["dataPoints"][0]
        assert histogram["explicitBounds"] == [0.5, 1.0]
        assert len(histogram["bucketCounts"]) == 3
        assert sum(int(c) for c in histogram["bucketCounts"]) == int(histogram["count"]) >= 5
        assert m["_resource"]["service.name"] == "edge"
        assert m["_resource"]["deployment.environment"] == "test"
        assert "traefik_config_reloads_total" in m
    finally:
        cw.stop()
        whoami.stop()
        collector.stop()
