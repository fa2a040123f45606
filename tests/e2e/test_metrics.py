"""Prometheus metrics (reference §1.7, §6.1): a real Prometheus (Debian's `prometheus`) scrapes
causeway during the run and its HTTP API returns the series and values the requests made;
`promtool check metrics` accepts the exposition; the options (entryPoint, manualRouting,
add*Labels, buckets, headerLabels, addInternals) behave as Traefik's."""

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

import pytest

from harness import Process, curl, free_port, routed, to_yaml, wait_for_port, wait_until

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")


def dynamic(routers, services, middlewares=None):
    http = {"routers": routers, "services": services}
    if middlewares:
        http["middlewares"] = middlewares
    return {"dyn.yml": to_yaml({"http": http}) + "\n"}


def lb(*urls, **extra):
    return {"loadBalancer": {"servers": [{"url": u} for u in urls], **extra}}


def scrape(cw, entrypoint="traefik", path="/metrics"):
    status, headers, body = curl(cw.url(entrypoint, path))
    assert status == 200, body
    assert headers["content-type"].startswith("text/plain; version=0.0.4")
    return body.decode()


def samples(text):
    """{(name, frozenset(labels)): value} of an exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)', line)
        assert m, line
        labels = frozenset(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def value(text, name, **labels):
    found = [v for (n, ls), v in samples(text).items() if n == name and set(labels.items()) <= ls]
    assert len(found) == 1, (name, labels, found)
    return found[0]


def absent(text, name):
    return not any(n == name for (n, _) in samples(text))


class Prometheus(Process):
    """Debian's Prometheus scraping one target every second, storage in a temporary directory."""

    def __init__(self, target):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="cw-prometheus-")
        config = os.path.join(self.dir, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: causeway\n    scrape_interval: 1s\n    scrape_timeout: 900ms\n"
                    f"    static_configs:\n      - targets: ['{target}']\n")
        super().__init__([PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={self.dir}/data",
                          f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"], name="prometheus")
        wait_for_port(self.port, timeout=30, proc=self.proc)

    def query(self, expr):
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=5) as r:
            data = json.load(r)
        assert data["status"] == "success", data
        return data["data"]["result"]

    def scalar(self, expr):
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None

    def stop(self, timeout=15):
        super().stop(timeout)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def prometheus():
    started = []

    def start(target):
        p = Prometheus(target)
        started.append(p)
        return p

    yield start
    for p in started:
        p.stop()


@pytest.mark.skipif(not PROMETHEUS, reason="Debian's prometheus is not installed (scripts/install-deps test)")
def test_real_prometheus_scrapes_the_traefik_series(start_whoami, start_causeway, prometheus):
    app = start_whoami("app")
    dead = free_port()  # nothing listens there: its health check fails
    check = {"path": "/health", "interval": "300ms", "timeout": "200ms"}
    cw = start_causeway(
        entrypoints=("web", "traefik"),
        static_extra="metrics:\n  prometheus: {}\n",
        dynamic=dynamic({"app": {"rule": "Host(`app.test`)", "service": "app"},
                         "broken": {"rule": "Host(`broken.test`)", "service": "broken"}},
                        {"app": lb(app.url), "broken": lb(f"http://127.0.0.1:{dead}", healthCheck=check)}))
    routed(cw, "app.test")  # 1 request
    for _ in range(6):
        assert curl(cw.url(), host="app.test")[0] == 200
    for _ in range(3):
        assert curl(cw.url("web", "/nowhere"), host="nobody.test")[0] == 404
    curl(cw.url(), "-X", "POST", "--data-binary", "hello", host="app.test")

    prom = prometheus(f"127.0.0.1:{cw.port('traefik')}")
    wait_until(lambda: prom.scalar('up{job="causeway"}') == 1, timeout=30, message="Prometheus scraped causeway")
    assert wait_until(lambda: prom.scalar(
        'traefik_entrypoint_requests_total{entrypoint="web",code="200",method="GET",protocol="http"}') == 7,
        timeout=20, message="7 GET 200 on web")
    assert prom.scalar('traefik_entrypoint_requests_total{entrypoint="web",code="404",method="GET"}') == 3
    assert prom.scalar('traefik_entrypoint_requests_total{entrypoint="web",code="200",method="POST"}') == 1
    assert prom.scalar('traefik_service_requests_total{service="app@file",code="200",method="GET"}') == 7
    assert prom.scalar('sum(traefik_service_requests_total{service="app@file"})') == 8
    assert prom.scalar('traefik_service_requests_bytes_total{service="app@file",method="POST"}') == 5
    assert prom.scalar('traefik_service_request_duration_seconds_count{service="app@file",method="GET"}') == 7
    assert prom.scalar('traefik_entrypoint_request_duration_seconds_bucket{entrypoint="web",code="200",'
                       'method="GET",le="+Inf"}') == 7
    # Live health: the server that answers is up, the one that does not goes down.
    assert prom.scalar(f'traefik_service_server_up{{service="app@file",url="{app.url}"}}') == 1
    assert wait_until(lambda: prom.scalar(
        f'traefik_service_server_up{{service="broken@file",url="http://127.0.0.1:{dead}"}}') == 0,
        timeout=15, message="broken server down")
    assert prom.scalar('traefik_config_reloads_total') >= 1
    assert prom.scalar('traefik_config_last_reload_success') > 1.6e9
    # Router labels are off by default; scrapes of prometheus@internal are not counted.
    assert prom.query("traefik_router_requests_total") == []
    assert prom.query('traefik_entrypoint_requests_total{entrypoint="traefik"}') == []


@pytest.mark.skipif(not PROMTOOL, reason="promtool is not installed")
def test_exposition_passes_promtool_and_has_traefiks_families(start_whoami, start_causeway):
    app = start_whoami("app")
    cw = start_causeway(
        entrypoints=("web", "traefik"),
        static_extra="metrics:\n  prometheus:\n    addRoutersLabels: true\n",
        dynamic=dynamic({"app": {"rule": "Host(`app.test`)", "service": "app"}}, {"app": lb(app.url)}))
    routed(cw, "app.test")
    curl(cw.url(), host="app.test", headers=["Accept: text/event-stream"])
    curl(cw.url(), host="app.test", headers=["Content-Type: application/grpc"])
    text = scrape(cw)
    check = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(), capture_output=True, timeout=30)
    assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()
    for family, kind in [("traefik_config_reloads_total", "counter"),
                         ("traefik_config_last_reload_success", "gauge"),
                         ("traefik_open_connections", "gauge"),
                         ("traefik_entrypoint_requests_total", "counter"),
                         ("traefik_entrypoint_request_duration_seconds", "histogram"),
                         ("traefik_entrypoint_requests_bytes_total", "counter"),
                         ("traefik_entrypoint_responses_bytes_total", "counter"),
                         ("traefik_router_requests_total", "counter"),
                         ("traefik_router_request_duration_seconds", "histogram"),
                         ("traefik_service_requests_total", "counter"),
                         ("traefik_service_request_duration_seconds", "histogram"),
                         ("traefik_service_server_up", "gauge")]:
        assert f"# TYPE {family} {kind}\n" in text, family
    assert ("# HELP traefik_entrypoint_requests_total How many HTTP requests processed on an entrypoint, "
            "partitioned by status code, protocol, and method.\n") in text
    # Traefik's default buckets.
    les = re.findall(r'traefik_service_request_duration_seconds_bucket\{code="200",method="GET",protocol="http",'
                     r'service="app@file",le="([^"]+)"\}', text)
    assert les == ["0.1", "0.3", "1.2", "5", "+Inf"]
    assert value(text, "traefik_router_requests_total", router="app@file", service="app@file", code="200",
                 protocol="http") == 1
    assert value(text, "traefik_service_requests_total", protocol="sse") == 1
    # gRPC: the code is the Grpc-Status (2, Unknown, when the upstream sends none).
    assert value(text, "traefik_service_requests_total", protocol="grpc", code="2") == 1


def test_manual_routing_on_a_chosen_entrypoint(start_whoami, start_causeway):
    app = start_whoami("app")
    static = ("metrics:\n  prometheus:\n    entryPoint: metrics\n    manualRouting: true\n"
              "    addEntryPointsLabels: false\n")
    cw = start_causeway(
        entrypoints=("web", "metrics"),
        static_extra=static,
        dynamic=dynamic({"app": {"rule": "Host(`app.test`)", "service": "app"},
                         "prom": {"rule": "PathPrefix(`/custom-metrics`)", "service": "prometheus@internal",
                                  "entryPoints": ["metrics"]}},
                        {"app": lb(app.url)}))
    routed(cw, "app.test")
    assert curl(cw.url("metrics", "/metrics"))[0] == 404  # no automatic router
    text = wait_until(lambda: scrape(cw, "metrics", "/custom-metrics"))
    assert absent(text, "traefik_entrypoint_requests_total")
    assert value(text, "traefik_service_requests_total", service="app@file") == 1
    # manualRouting: no implicit `traefik` entryPoint on :8080 either.
    assert "traefik" not in re.findall(r'entrypoint="([^"]+)"', text)


def test_options_labels_buckets_and_header_labels(start_whoami, start_causeway):
    app = start_whoami("app")
    static = ("metrics:\n  addInternals: true\n  prometheus:\n    addRoutersLabels: true\n"
              "    addServicesLabels: false\n    buckets: [0.05, 2]\n"
              "    headerLabels:\n      useragent: User-Agent\n      tenant: X-Tenant\n")
    cw = start_causeway(
        entrypoints=("web", "traefik"),
        static_extra=static,
        dynamic=dynamic({"app": {"rule": "Host(`app.test`)", "service": "app"}}, {"app": lb(app.url)}))
    routed(cw, "app.test")
    curl(cw.url(), host="app.test", headers=["User-Agent: probe/1", "X-Tenant: acme"])
    curl(cw.url(), host="app.test", headers=["User-Agent: probe/1", "X-Tenant: acme"])
    scrape(cw)  # counted: addInternals
    text = scrape(cw)
    assert absent(text, "traefik_service_requests_total")
    assert absent(text, "traefik_service_server_up")
    assert value(text, "traefik_router_requests_total", router="app@file", useragent="probe/1", tenant="acme") == 2
    assert value(text, "traefik_entrypoint_requests_total", entrypoint="web", useragent="probe/1", tenant="acme") == 2
    assert value(text, "traefik_entrypoint_requests_total", entrypoint="web", tenant="",
                 useragent="curl/" + curl_version()) == 1
    # Header labels only on *_requests_total.
    assert 'tenant="' not in "".join(l for l in text.splitlines() if "duration" in l)
    les = sorted(set(re.findall(r'traefik_router_request_duration_seconds_bucket\{[^}]*le="([^"]+)"', text)))
    assert les == ["+Inf", "0.05", "2"]
    assert value(text, "traefik_entrypoint_requests_total", entrypoint="traefik", code="200", useragent="curl/" +
                 curl_version(), tenant="") >= 1
    assert value(text, "traefik_router_requests_total", router="prometheus@internal", useragent="curl/" +
                 curl_version(), tenant="") >= 1


def curl_version():
    out = subprocess.run(["curl", "--version"], capture_output=True, text=True).stdout
    return out.split()[1]


def test_retries_reloads_connections_and_certificate_expiry(start_causeway, tmp_path):
    dead = free_port()
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "30", "-subj", "/CN=metrics.test",
                    "-set_serial", "4660", "-addext", "subjectAltName=DNS:metrics.test,DNS:b.metrics.test"],
                   check=True, capture_output=True, timeout=30)
    routers = {"flaky": {"rule": "Host(`flaky.test`)", "service": "flaky", "middlewares": ["again"]}}
    files = dynamic(routers, {"flaky": lb(f"http://127.0.0.1:{dead}")}, {"again": {"retry": {"attempts": 3}}})
    files["dyn.yml"] += to_yaml({"tls": {"certificates": [{"certFile": str(cert), "keyFile": str(key)}]}}) + "\n"
    cw = start_causeway(entrypoints=("web", "traefik"), static_extra="metrics:\n  prometheus: {}\n", dynamic=files)
    wait_until(lambda: curl(cw.url(), host="flaky.test")[0] == 502)
    curl(f"https://127.0.0.1:{cw.port()}/", "-k", "--tlsv1.2", "--tls-max", "1.2",
         "--resolve", f"metrics.test:{cw.port()}:127.0.0.1", host="metrics.test")
    text = scrape(cw)
    tls = [(dict(ls), v) for (n, ls), v in samples(text).items() if n == "traefik_entrypoint_requests_tls_total"]
    assert len(tls) == 1 and tls[0][1] == 1, tls
    # Go's cipher suite names (IANA), not OpenSSL's.
    assert tls[0][0]["tls_version"] == "1.2" and tls[0][0]["tls_cipher"].startswith("TLS_ECDHE_ECDSA_WITH_"), tls
    retries = value(text, "traefik_service_retries_total", service="flaky@file")
    assert retries >= 2 and retries % 2 == 0  # two retries per request
    not_after = value(text, "traefik_tls_certs_not_after", cn="metrics.test", serial="4660",
                      sans="b.metrics.test,metrics.test")
    assert abs(not_after - (time.time() + 30 * 86400)) < 3600
    reloads = value(text, "traefik_config_reloads_total")
    # A change in the dynamic configuration is one more reload.
    cw.write("more.yml", to_yaml({"http": {"services": {"other": lb("http://127.0.0.1:9")}}}) + "\n")
    wait_until(lambda: value(scrape(cw), "traefik_config_reloads_total") > reloads, timeout=10)
    # An idle keep-alive connection is open on web.
    with socket.create_connection(("127.0.0.1", cw.port("web"))) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: none.test\r\n\r\n")
        s.recv(4096)
        wait_until(lambda: value(scrape(cw), "traefik_open_connections", entrypoint="web", protocol="TCP") == 1)
    wait_until(lambda: value(scrape(cw), "traefik_open_connections", entrypoint="web", protocol="TCP") == 0)


def test_router_and_entrypoint_observability_switch_metrics_off(start_whoami, start_causeway):
    app = start_whoami("app")
    cw = start_causeway(
        entrypoints=("web", "quiet", "traefik"),
        entrypoint_extra={"quiet": "observability:\n  metrics: false"},
        static_extra="metrics:\n  prometheus:\n    addRoutersLabels: true\n",
        dynamic=dynamic({"app": {"rule": "Host(`app.test`)", "service": "app"},
                         "hidden": {"rule": "Host(`hidden.test`)", "service": "app",
                                    "observability": {"metrics": False}}},
                        {"app": lb(app.url)}))
    routed(cw, "app.test")
    assert curl(cw.url(), host="hidden.test")[0] == 200
    assert curl(cw.url("quiet"), host="app.test")[0] == 200
    text = scrape(cw)
    assert value(text, "traefik_entrypoint_requests_total", entrypoint="web") == 1
    assert value(text, "traefik_router_requests_total", router="app@file") == 1
    assert 'router="hidden@file"' not in text
    assert not [ls for (n, ls) in samples(text) if n == "traefik_entrypoint_requests_total"
                and ("entrypoint", "quiet") in ls]
    assert value(text, "traefik_open_connections", entrypoint="quiet") == 0  # gauges stay


def test_service_series_name_the_load_balancer_that_proxied(start_whoami, start_causeway):
    # As in Traefik, service series are counted around the server proxies of loadBalancer
    # services: behind a weighted service they carry the child that answered, the router series
    # keep the router's service, and a request a middleware answers has no service series.
    a, b = start_whoami("a"), start_whoami("b")
    cw = start_causeway(
        entrypoints=("web", "traefik"),
        static_extra="metrics:\n  prometheus:\n    addRoutersLabels: true\n",
        dynamic=dynamic({"app": {"rule": "Host(`app.test`)", "service": "split"},
                         "locked": {"rule": "Host(`locked.test`)", "service": "split", "middlewares": ["deny"]}},
                        {"split": {"weighted": {"services": [{"name": "a", "weight": 1}, {"name": "b", "weight": 1}]}},
                         "a": lb(a.url), "b": lb(b.url)},
                        {"deny": {"ipAllowList": {"sourceRange": ["192.0.2.0/24"]}}}))
    routed(cw, "app.test")
    for _ in range(9):
        assert curl(cw.url(), host="app.test")[0] == 200
    for _ in range(2):
        assert curl(cw.url(), host="locked.test")[0] == 403
    text = scrape(cw)
    assert value(text, "traefik_router_requests_total", router="app@file", service="split@file", code="200") == 10
    assert value(text, "traefik_router_requests_total", router="locked@file", service="split@file", code="403") == 2
    served_a = value(text, "traefik_service_requests_total", service="a@file", code="200")
    served_b = value(text, "traefik_service_requests_total", service="b@file", code="200")
    assert served_a + served_b == 10 and served_a >= 4 and served_b >= 4
    assert 'traefik_service_requests_total{code="403"' not in text
    assert not any(n.startswith("traefik_service_request") and ("service", "split@file") in ls
                   for (n, ls) in samples(text))
    assert value(text, "traefik_service_request_duration_seconds_count", service="a@file") == served_a
