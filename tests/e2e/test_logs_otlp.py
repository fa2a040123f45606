"""accessLog.otlp and log.otlp over HTTP: access log lines and causeway's own log lines pushed
as OTLP/JSON log records (POST /v1/logs), received by a fake collector. Without dualOutput the
access log file stays empty; with it both get the line.
Over gRPC: test_otlp_grpc.py."""
import pathlib

from harness import Causeway, Whoami, curl, to_yaml, wait_log, wait_until
from otlp_collector_fake import FakeOtlpCollector


def start(collector, whoami, static):
    dynamic = {"http": {"routers": {"r": {"rule": "PathPrefix(`/`)", "service": "s"}},
                        "services": {"s": {"loadBalancer": {"servers": [{"url": whoami.url}]}}}}}
    cw = Causeway(dynamic={"d.yml": to_yaml(dynamic) + "\n"}, static_extra=to_yaml(static) + "\n")
    wait_log(cw, "configuration published")
    return cw


def test_access_log_lines_are_pushed_as_otlp_logs(tmp_path):
    collector, whoami = FakeOtlpCollector(), Whoami("l")
    path = tmp_path / "access.log"
    cw = start(collector, whoami, {"accessLog": {"filePath": str(path), "otlp": {
        "serviceName": "edge-logs", "http": {"endpoint": collector.endpoint + "/v1/logs"}}}})
    try:
        for i in range(3):
            assert curl(cw.url(path=f"/logged{i}"), host="a.test")[0] == 200
        records = wait_until(lambda: len([r for r in collector.logs() if "/logged" in (r["text"] or "")]) >= 3
                             and collector.logs(), timeout=10, message="3 access log records")
        mine = sorted((r for r in records if "/logged" in r["text"]), key=lambda r: r["attrs"]["RequestPath"])
        assert [r["attrs"]["RequestPath"] for r in mine] == ["/logged0", "/logged1", "/logged2"]
        first = mine[0]
        assert first["attrs"]["DownstreamStatus"] == "200" and first["attrs"]["RequestMethod"] == "GET"
        assert first["attrs"]["RouterName"] == "r@file" and first["severityText"] == "INFO"
        assert '"GET /logged0 HTTP/1.1" 200' in first["text"]  # the common format line
        assert first["resource"]["service.name"] == "edge-logs"
        assert int(first["timeUnixNano"]) > 0
    finally:
        cw.stop()
    # No dualOutput: the file got nothing.
    assert not path.exists() or "/logged" not in path.read_text()
    whoami.stop()
    collector.stop()


def test_dual_output_writes_the_file_too(tmp_path):
    collector, whoami = FakeOtlpCollector(), Whoami("d")
    path = tmp_path / "access.log"
    cw = start(collector, whoami, {"accessLog": {"filePath": str(path), "dualOutput": True, "otlp": {
        "http": {"endpoint": collector.endpoint + "/v1/logs"}}}})
    try:
        assert curl(cw.url(path="/both"), host="a.test")[0] == 200
        wait_until(lambda: any("/both" in (r["text"] or "") for r in collector.logs()), message="record pushed")
        wait_until(lambda: path.exists() and "/both" in path.read_text(), message="line in the file")
    finally:
        cw.stop()
        whoami.stop()
        collector.stop()


def test_own_log_lines_are_pushed_with_log_otlp():
    collector, whoami = FakeOtlpCollector(), Whoami("o")
    cw = start(collector, whoami, {"log": {"level": "INFO", "otlp": {
        "http": {"endpoint": collector.endpoint + "/v1/logs"}}}})
    try:
        cw.write("d.yml", "http:\n  routers:\n    r:\n      rule: 'Bad('\n      service: s\n")
        records = wait_until(lambda: [r for r in collector.logs() if r["severityText"] == "ERROR"],
                             timeout=10, message="an ERROR record")
        assert records[0]["severityNumber"] == 17
    finally:
        cw.stop()
        whoami.stop()
        collector.stop()
