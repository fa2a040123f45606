"""providers.kubernetesCRD and providers.kubernetesIngress end to end, against a FAKE Kubernetes API
server (kube_fake.py: no real API server can run where the tests run) holding the YAML a user
would `kubectl apply` (fixtures/kubernetes/*.yaml, Traefik's documented examples), with real
whoami servers as the pods behind the EndpointSlices:

- Traefik's generated names (routers, services, middlewares) and what each request reaches, for
  IngressRoutes with middlewares, weighted services, TraefikServices (weighted, mirroring), TLS
  with a Secret and a TLSOption, Middlewares reading Secrets, cross-namespace references, and
  Ingresses with pathTypes, annotations, a default backend and the status written back;
- the API server reached over TLS with a bearer token, or through a kubeconfig (KUBECONFIG);
- changes followed through watches (under wrk load, without a failed request), a dropped watch
  resumed, a compacted resourceVersion (410 Gone) listed again, an API server answering 500 or
  gone: the last good configuration keeps serving and the outage is an API warning;
- bad objects (a missing Service or Secret, an invalid field, a cross-namespace reference) are
  warnings on that object in the API, and the rest keeps serving;
- IngressRouteTCP (with a MiddlewareTCP and TLS from a Secret) and IngressRouteUDP become `tcp`
  and `udp` routers and services with Traefik's names, carrying real traffic.

Reference: docs/kubernetes.md."""
import base64
import json
import os
import pathlib
import shutil
import string
import subprocess
import time
import urllib.request

import pytest

from harness import BIN, Causeway, curl, free_port, provider_outage, wait_until
from kube_fake import KubeFake
from mwkit import answered_by, get
from tls_certs import Pki

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "kubernetes"


def fixture(name, **values):
    return string.Template((FIXTURES / name).read_text()).safe_substitute(
        {k: str(v) for k, v in values.items()})


@pytest.fixture
def kube():
    fake = KubeFake(tls=True, token="e2e-token", bookmark_interval=0.5)
    yield fake
    fake.stop()


def start(kube, crd=None, ingress=None, entrypoints=("web", "traefik"), env=None, access=True, **kw):
    access_options = {"endpoint": kube.url, "token": kube.token, "certAuthFilePath": kube.ca_file} if access else {}
    providers = {}
    if crd is not None:
        providers["kubernetesCRD"] = {**access_options, **crd}
    if ingress is not None:
        providers["kubernetesIngress"] = {**access_options, **ingress}
    return Causeway(providers_extra=providers, entrypoints=entrypoints, env=env,
                    static_extra="api:\n  insecure: true\n", **kw)


def api(cw, path):
    with urllib.request.urlopen(cw.url("traefik", path), timeout=5) as r:
        return json.loads(r.read())


def object_warnings(cw):
    """The API's warnings as "<where>: <message>" (where: the object, "IngressRoute ns/name")."""
    return " | ".join(f"{w.get('location', '')}: {w['message']}" for w in api(cw, "/api/warnings"))


def whoami_path(body):
    for line in body.decode().splitlines():
        if line.startswith("GET ") or line.startswith("POST "):
            return line.split()[1]
    return None


def test_crd_ingressroutes_middlewares_and_weights(start_whoami, kube):
    w1, w2 = start_whoami("w1"), start_whoami("w2")
    kube.apply(fixture("crd-basic.yaml", WHOAMI_PORT=w1.port, WHOAMI2_PORT=w2.port))
    cw = start(kube, crd={})
    try:
        wait_until(lambda: get(cw, "example.com", "/stripit/abc")[0] == 200, timeout=10, message="served")
        routers = {r["name"] for r in api(cw, "/api/http/routers")}
        assert {"default-ingressroutebar-4a3b81efcb57af221fa6@kubernetescrd",
                "default-ingressroutebar-76f78beeda6e3d06c2b7@kubernetescrd",
                "default-ingressroutebar-d1dbb6cdb7259555612d@kubernetescrd"} <= routers
        services = {s["name"] for s in api(cw, "/api/http/services")}
        assert {"default-whoami-80@kubernetescrd", "default-whoami2-80@kubernetescrd",
                "default-ingressroutebar-76f78beeda6e3d06c2b7@kubernetescrd"} <= services
        middlewares = {m["name"] for m in api(cw, "/api/http/middlewares")}
        assert {"default-stripprefix@kubernetescrd", "default-middleware1@kubernetescrd"} <= middlewares

        status, _, body = get(cw, "example.com", "/stripit/abc")
        assert status == 200 and whoami_path(body) == "/abc" and "Name: w1" in body.decode()
        status, _, body = get(cw, "test.example.com", "/bar")
        assert status == 200 and whoami_path(body) == "/foo/bar" and "Name: w2" in body.decode()
        seen = answered_by(cw, "example.com", "/foo", n=40)
        assert set(seen) == {"w1", "w2"} and 24 <= seen["w1"] <= 36, seen  # weights 3:1, per worker
        assert get(cw, "example.com", "/other")[0] == 404
    finally:
        cw.stop()


def test_crd_traefikservices(start_whoami, kube):
    w1, w2 = start_whoami("w1"), start_whoami("w2")
    kube.apply(fixture("crd-traefikservice.yaml", WHOAMI_PORT=w1.port, WHOAMI2_PORT=w2.port))
    cw = start(kube, crd={})
    try:
        wait_until(lambda: get(cw, "example.com", "/foo")[0] == 200, timeout=10, message="served")
        services = {s["name"]: s for s in api(cw, "/api/http/services")}
        assert {"default-wrr1@kubernetescrd", "default-wrr2@kubernetescrd",
                "default-mirror1@kubernetescrd"} <= set(services)
        seen = answered_by(cw, "example.com", "/foo", n=40)
        assert set(seen) == {"w1", "w2"} and 14 <= seen["w1"] <= 26, seen
        status, _, body = get(cw, "example.com", "/mirror")
        assert status == 200 and "Name: w1" in body.decode()
    finally:
        cw.stop()


def test_crd_tls_secret_and_tlsoption(start_whoami, kube, tmp_path):
    w1 = start_whoami("w1")
    pki = Pki(tmp_path)
    ca = pki.ca()
    cert = pki.issue(ca, "example.com", dns=("example.com", "other.example.com"))
    b64 = lambda p: base64.b64encode(pathlib.Path(p).read_bytes()).decode()  # noqa: E731
    kube.apply(fixture("crd-tls.yaml", WHOAMI_PORT=w1.port, TLS_CRT_B64=b64(cert.cert), TLS_KEY_B64=b64(cert.key)))
    cw = start(kube, crd={}, entrypoints=("web", "websecure", "traefik"))
    port = cw.port("websecure")

    def tls_get(host, *args):
        return curl(f"https://{host}:{port}/stripit", "--resolve", f"{host}:{port}:127.0.0.1", "--cacert",
                    str(ca.cert), "-w", "\n%{ssl_version}", *args)
    try:
        wait_until(lambda: tls_get("example.com")[0] == 200, timeout=10, message="TLS route served")
        status, _, body = tls_get("example.com", "--tlsv1.2")
        assert status == 200 and "Name: w1" in body.decode()
        # The TLSOption caps this router at TLS 1.2; the other router has the default options.
        curl_version = subprocess.run(["curl", "-V"], capture_output=True, text=True).stdout
        if "OpenSSL" in curl_version:
            out = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername",
                                  "example.com", "-CAfile", str(ca.cert)], input="", capture_output=True,
                                 text=True, timeout=10).stdout
            assert "TLSv1.2" in out
        options = {o.get("name") for o in api(cw, "/api/rawdata").get("tlsOptions", [])} if False else None
        del options
        status, _, body = tls_get("other.example.com")
        assert status == 200  # the Secret's certificate covers both names, verified against the CA
        assert get(cw, "example.com", "/stripit")[0] == 404  # routers on websecure only
    finally:
        cw.stop()


def test_crd_middlewares_read_secrets(start_whoami, kube):
    w1 = start_whoami("w1")
    kube.apply(fixture("crd-middlewares.yaml", WHOAMI_PORT=w1.port))
    cw = start(kube, crd={})
    try:
        wait_until(lambda: get(cw, "headers.example.com")[0] == 200, timeout=10, message="served")
        status, headers, _ = get(cw, "auth.example.com")
        assert status == 401 and "basic" in headers.get("www-authenticate", "").lower()
        assert get(cw, "auth.example.com", args=("-u", "test:test"))[0] == 200
        assert get(cw, "auth.example.com", args=("-u", "test2:test2"))[0] == 200
        assert get(cw, "auth.example.com", args=("-u", "test:wrong"))[0] == 401
        assert get(cw, "auth2.example.com", args=("-u", "user:password"))[0] == 200  # basic-auth Secret
        assert get(cw, "auth2.example.com", args=("-u", "user:other"))[0] == 401
        status, headers, body = get(cw, "headers.example.com")
        assert headers.get("x-custom-response-header") == "value" and "X-Script-Name: test" in body.decode()
        status, headers, _ = get(cw, "redirect.example.com", "/x")
        assert status == 301 and headers["location"] == "https://redirect.example.com/x"
        assert get(cw, "chain.example.com")[0] == 401
        assert get(cw, "chain.example.com", args=("-u", "test:test"))[0] == 200
        status, headers, body = get(cw, "service-mw.example.com")
        assert status == 200 and headers.get("x-custom-response-header") == "value", headers
        assert "X-Script-Name: test" in body.decode()
    finally:
        cw.stop()


@pytest.mark.parametrize("allow", [False, True])
def test_crd_cross_namespace(start_whoami, kube, allow):
    w1, w2 = start_whoami("w1"), start_whoami("w2")
    kube.apply(fixture("crd-crossns.yaml", WHOAMI_PORT=w1.port, WHOAMI2_PORT=w2.port))
    cw = start(kube, crd={"allowCrossNamespace": allow})
    try:
        wait_until(lambda: get(cw, "same.example.com")[0] == 200, timeout=10, message="served")
        status, headers, body = get(cw, "same.example.com")
        assert "X-Mw-01: apps" in body.decode() or headers.get("x-mw-01") == "apps"
        if allow:
            assert get(cw, "example.com")[0] == 200
            assert "Name: w2" in get(cw, "svc.example.com")[2].decode()
            assert get(cw, "at.example.com")[0] == 200
        else:
            for host in ("example.com", "svc.example.com", "at.example.com"):
                assert get(cw, host)[0] == 404, host
            warnings = object_warnings(cw)
            assert "IngressRoute apps/my-app" in warnings and "allowCrossNamespace" in warnings
    finally:
        cw.stop()


def test_ingress_paths_annotations_default_backend_and_status(start_whoami, kube):
    w1, w2 = start_whoami("w1"), start_whoami("w2")
    kube.apply(fixture("ingress-basic.yaml", WHOAMI_PORT=w1.port, WHOAMI2_PORT=w2.port))
    cw = start(kube, crd={}, ingress={"ingressEndpoint": {"ip": "192.0.2.10"}})
    try:
        wait_until(lambda: get(cw, "api.example.com", "/api/users")[0] == 200, timeout=10, message="served")
        routers = {r["name"] for r in api(cw, "/api/http/routers")}
        assert {"default-myingress-example-com-bar@kubernetes", "default-myingress-example-com-foo@kubernetes",
                "default-api-ingress-api-example-com-api@kubernetes", "default-legacy-legacy-example-com@kubernetes",
                "default-router@kubernetes"} <= routers
        assert "Name: w1" in get(cw, "example.com", "/bar")[2].decode()
        assert "Name: w2" in get(cw, "example.com", "/bar/x")[2].decode()  # Exact: the default backend
        assert "Name: w2" in get(cw, "example.com", "/foo/x")[2].decode()
        status, _, body = get(cw, "api.example.com", "/api/users")
        assert "Name: w1" in body.decode() and whoami_path(body) == "/users"  # CRD middleware by annotation
        assert "Name: w1" in get(cw, "legacy.example.com", "/anything")[2].decode()
        assert "Name: w2" in get(cw, "ignored.example.com")[2].decode()  # another class: default backend
        # The status written back to each Ingress served.
        wait_until(lambda: any(w[0] == "Ingress" and w[2] == "myingress" for w in kube.status_writes), timeout=10,
                   message="status written")
        ingress = kube.get("Ingress", "myingress")
        assert ingress["status"]["loadBalancer"]["ingress"] == [{"ip": "192.0.2.10"}]
        assert not any(w[2] == "ignored" for w in kube.status_writes)
    finally:
        cw.stop()


ROUTE = """
apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata: {{name: {name}, namespace: default}}
spec:
  entryPoints: [web]
  routes:
    - match: Host(`{host}`)
      kind: Rule
      services: [{{name: {service}, port: 80}}]
"""

SERVICE = """
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: default}}
spec:
  ports: [{{name: http, port: 80, targetPort: {port}}}]
"""

SLICE = """
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: {name}
  namespace: default
  labels: {{kubernetes.io/service-name: {service}}}
addressType: IPv4
ports: [{{name: http, port: {port}}}]
endpoints:
  - addresses: ["127.0.0.1"]
    conditions: {{ready: {ready}, serving: {ready}, terminating: false}}
"""


def test_changes_watch_resumption_outage_and_bad_objects(start_whoami, kube):
    w1, w2 = start_whoami("w1"), start_whoami("w2")
    kube.apply(SERVICE.format(name="app", port=80) + "---" + SLICE.format(name="app-1", service="app", port=w1.port,
                                                                          ready="true"))
    kube.apply(ROUTE.format(name="app", host="app.test", service="app"))
    cw = start(kube, crd={})
    try:
        wait_until(lambda: get(cw, "app.test")[0] == 200, timeout=10, message="served")

        # Changes under load: wrk sees no failed request while IngressRoutes come and go and the
        # served Service's EndpointSlice moves to the other upstream and back.
        if shutil.which("wrk"):
            load = subprocess.Popen(["wrk", "-t1", "-c8", "-d4s", "-H", "Host: app.test", cw.url()],
                                    stdout=subprocess.PIPE, text=True)
            for i in range(6):
                kube.apply(ROUTE.format(name=f"extra{i}", host=f"e{i}.test", service="app"))
                if i:
                    kube.delete("IngressRoute", f"extra{i - 1}")
                port = w2.port if i % 2 == 0 else w1.port
                kube.apply(SLICE.format(name="app-1", service="app", port=port, ready="true"))
                time.sleep(0.3)
            out, _ = load.communicate(timeout=30)
            assert "requests in" in out and "Non-2xx" not in out and "Socket errors" not in out, out
        wait_until(lambda: get(cw, "e5.test")[0] == 200, timeout=5, message="last extra route")
        assert get(cw, "e4.test")[0] == 404
        wait_until(lambda: set(answered_by(cw, "app.test", n=4)) == {"w1"}, timeout=5, message="endpoint change")

        # A second pod (another IP: 127.0.0.2) that is not serving is left out; once serving it is
        # a server of the Service too.
        w3 = start_whoami("w3", host="127.0.0.2")
        pod2 = SLICE.replace('"127.0.0.1"', '"127.0.0.2"')
        kube.apply(pod2.format(name="app-2", service="app", port=w3.port, ready="false"))
        time.sleep(0.5)
        assert set(answered_by(cw, "app.test", n=6)) == {"w1"}
        kube.apply(pod2.format(name="app-2", service="app", port=w3.port, ready="true"))
        wait_until(lambda: set(answered_by(cw, "app.test", n=8)) == {"w1", "w3"}, timeout=5, message="serving endpoint")
        kube.delete("EndpointSlice", "app-2")

        # A watch cut without its chunked end is resumed; a compacted resourceVersion lists again.
        kube.drop_watches()
        kube.apply(ROUTE.format(name="after-drop", host="drop.test", service="app"))
        wait_until(lambda: get(cw, "drop.test")[0] == 200, timeout=10, message="resumed after a dropped watch")
        def lists():
            return sum(1 for _, method, path in kube.requests
                       if method == "GET" and "/ingressroutes?" in path and "watch=1" not in path)
        listed = lists()
        kube.compact()
        kube.drop_watches()
        kube.apply(ROUTE.format(name="after-compact", host="compact.test", service="app"))
        wait_until(lambda: get(cw, "compact.test")[0] == 200, timeout=10, message="listed again after 410")
        assert lists() == listed + 1  # one list after the 410, none after the plain drop above

        # Bad objects: a warning each, on the object; the rest keeps serving.
        kube.apply(ROUTE.format(name="nosvc", host="nosvc.test", service="missing"))
        kube.apply("""
apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata: {name: twotypes, namespace: default}
spec:
  stripPrefix: {prefixes: [/a]}
  addPrefix: {prefix: /b}
---
apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata: {name: nosecret, namespace: default}
spec:
  basicAuth: {secret: absent}
---
apiVersion: traefik.io/v1alpha1
kind: IngressRouteTCP
metadata: {name: tcp, namespace: default}
spec:
  routes: [{match: "HostSNI(`*`)", services: [{name: missing, port: 80}]}]
""")
        def warned():
            text = object_warnings(cw)
            return all(s in text for s in ("IngressRoute default/nosvc", "the Service default/missing does not exist",
                                           "Middleware default/twotypes", "Middleware default/nosecret",
                                           "the Secret default/absent does not exist", "IngressRouteTCP default/tcp"))
        wait_until(warned, timeout=10, message="per-object warnings in the API")
        assert get(cw, "nosvc.test")[0] == 404 and get(cw, "app.test")[0] == 200

        # The API server answering 500, then gone: the last good configuration keeps serving and
        # the outage is a warning until it answers again.
        kube.fail_next(50, status=500)
        kube.drop_watches()
        wait_until(lambda: provider_outage(cw), timeout=15, message="outage warning (500)")
        assert get(cw, "app.test")[0] == 200
        kube.fail_next(0)
        wait_until(lambda: not provider_outage(cw), timeout=40, message="answers again")
        kube.pause()
        wait_until(lambda: provider_outage(cw), timeout=15, message="outage warning (gone)")
        assert get(cw, "app.test")[0] == 200
        kube.resume()
        kube.apply(ROUTE.format(name="after-outage", host="back.test", service="app"))
        wait_until(lambda: get(cw, "back.test")[0] == 200, timeout=40, message="served after the outage")
        wait_until(lambda: not provider_outage(cw), timeout=10, message="warning cleared")
    finally:
        cw.stop()


def test_kubeconfig_and_label_selector(start_whoami, kube, tmp_path):
    w1 = start_whoami("w1")
    kube.apply(SERVICE.format(name="app", port=80) + "---" + SLICE.format(name="app-1", service="app", port=w1.port,
                                                                          ready="true"))
    kube.apply(ROUTE.format(name="app", host="app.test", service="app"))
    labelled = ROUTE.format(name="labelled", host="labelled.test", service="app").replace(
        "namespace: default}", "namespace: default, labels: {team: edge}}")
    kube.apply(labelled)
    config = kube.write_kubeconfig(tmp_path / "kubeconfig", embed_ca=True)
    cw = start(kube, crd={"labelSelector": "team=edge"}, access=False, env={"KUBECONFIG": config})
    try:
        # Served from the first connection: the objects are read before causeway listens.
        assert get(cw, "labelled.test")[0] == 200
        assert get(cw, "app.test")[0] == 404  # not selected
        # `causeway check` reads the same objects and builds the same routers.
        out = subprocess.run([BIN, "check", f"--configFile={cw.static_path}"], capture_output=True, text=True,
                             timeout=30, env={**os.environ, "KUBECONFIG": config})
        assert "routers: 3 enabled of 3" in out.stdout, out.stdout + out.stderr  # api, dashboard, the IngressRoute
    finally:
        cw.stop()


def test_check_reports_unreachable_api_server(tmp_path):
    """`causeway check` with an API server that is not there: a warning, not a crash."""
    static = tmp_path / "causeway.yml"
    static.write_text(f"providers:\n  kubernetesCRD:\n    endpoint: http://127.0.0.1:{free_port()}\n")
    out = subprocess.run([BIN, "check", f"--configFile={static}"], capture_output=True, text=True, timeout=30)
    assert "kubernetescrd" in (out.stdout + out.stderr).lower()
    assert "not supported" not in out.stdout + out.stderr


NODE_DIR = pathlib.Path(__file__).resolve().parent / "node"


@pytest.mark.skipif(not (NODE_DIR / "node_modules" / "playwright-core").exists(),
                    reason="npm packages not installed (make test runs npm ci in tests/e2e/node)")
def test_dashboard_shows_each_objects_status(start_whoami, kube):
    """The dashboard (Chromium) lists the routers made from IngressRoutes with their status, and
    the warning of a bad IngressRoute with the object it is about."""
    from browser import Browser
    w1 = start_whoami("w1")
    kube.apply(SERVICE.format(name="app", port=80) + "---" + SLICE.format(name="app-1", service="app", port=w1.port,
                                                                          ready="true"))
    kube.apply(ROUTE.format(name="app", host="app.test", service="app"))
    kube.apply(ROUTE.format(name="nosvc", host="nosvc.test", service="missing"))
    cw = start(kube, crd={})
    try:
        wait_until(lambda: get(cw, "app.test")[0] == 200, timeout=10, message="served")
        router = crdRouterName("default", "app", "Host(`app.test`)")
        with Browser() as browser:
            browser.goto(cw.url("traefik", "/dashboard/"))
            warning = browser.wait("[data-testid=config-warning]", text="IngressRoute default/nosvc")
            assert "the Service default/missing does not exist" in warning
            browser.goto(cw.url("traefik", "/dashboard/#/http/routers"))
            row = browser.wait(f"[data-testid=row][data-name='{router}@kubernetescrd']")
            assert "kubernetescrd" in row and "Host(`app.test`)" in row
    finally:
        cw.stop()


def crdRouterName(ns, name, match):
    """Traefik's IngressRoute router name: <ns>-<name>-<first 10 bytes of sha256(match) in hex>."""
    import hashlib
    import re
    return re.sub(r"[^A-Za-z0-9]+", "-", f"{ns}-{name}-" + hashlib.sha256(match.encode()).hexdigest()[:20]).strip("-")


LAYER4 = """
apiVersion: v1
kind: Service
metadata: {{name: echo, namespace: default}}
spec:
  ports: [{{name: tcp, port: 7000, targetPort: {tcp_port}}}, {{name: udp, port: 7001, protocol: UDP, targetPort: {udp_port}}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: echo-1
  namespace: default
  labels: {{kubernetes.io/service-name: echo}}
addressType: IPv4
ports: [{{name: tcp, port: {tcp_port}}}, {{name: udp, port: {udp_port}, protocol: UDP}}]
endpoints:
  - addresses: ["127.0.0.1"]
    conditions: {{ready: true, serving: true, terminating: false}}
---
apiVersion: traefik.io/v1alpha1
kind: MiddlewareTCP
metadata: {{name: local-only, namespace: default}}
spec:
  ipAllowList: {{sourceRange: ["127.0.0.1/32"]}}
---
apiVersion: traefik.io/v1alpha1
kind: MiddlewareTCP
metadata: {{name: nobody, namespace: default}}
spec:
  ipAllowList: {{sourceRange: ["192.0.2.1/32"]}}
---
apiVersion: traefik.io/v1alpha1
kind: IngressRouteTCP
metadata: {{name: echo, namespace: default}}
spec:
  entryPoints: [web]
  routes:
    - match: HostSNI(`echo.example.com`)
      middlewares: [{{name: local-only}}]
      services: [{{name: echo, port: 7000}}]
    - match: HostSNI(`denied.example.com`)
      middlewares: [{{name: nobody}}]
      services: [{{name: echo, port: tcp}}]
  tls:
    secretName: echo-tls
---
apiVersion: traefik.io/v1alpha1
kind: IngressRouteUDP
metadata: {{name: dgram, namespace: default}}
spec:
  entryPoints: [dgram]
  routes:
    - services: [{{name: echo, port: 7001}}]
"""


def test_crd_ingressroutetcp_and_udp(kube, tmp_path):
    import socket
    import ssl
    import threading
    from tcp_peers import EchoServer

    pki = Pki(tmp_path)
    ca = pki.ca("kube tcp CA")
    leaf = pki.issue(ca, "echo.example.com", dns=["echo.example.com", "denied.example.com"])
    tcp = EchoServer().start()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.settimeout(0.2)
    running = True

    def serve_udp():
        while running:
            try:
                data, peer = udp.recvfrom(65535)
            except (socket.timeout, OSError):
                continue
            udp.sendto(b"echo:" + data, peer)
    thread = threading.Thread(target=serve_udp, daemon=True)
    thread.start()
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
              "metadata": {"name": "echo-tls", "namespace": "default"},
              "data": {"tls.crt": base64.b64encode(open(leaf.cert, "rb").read()).decode(),
                       "tls.key": base64.b64encode(open(leaf.key, "rb").read()).decode()}}
    kube.apply(json.dumps(secret) + "\n---\n" + LAYER4.format(tcp_port=tcp.port, udp_port=udp.getsockname()[1]))
    cw = start(kube, crd={}, udp=("dgram",))
    try:
        def tcp_routers():
            return {r["name"]: r for r in api(cw, "/api/tcp/routers")}
        routers = wait_until(lambda: len(tcp_routers()) == 2 and tcp_routers(), timeout=10, message="tcp routers")
        assert all(n.startswith("default-echo-") and n.endswith("@kubernetescrd") for n in routers), routers
        echo_router = [r for r in routers.values() if r["rule"] == "HostSNI(`echo.example.com`)"][0]
        assert echo_router["middlewares"] == ["default-local-only"], echo_router  # as the provider wrote it
        assert echo_router["status"] == "enabled", echo_router
        services = {s["name"] for s in api(cw, "/api/tcp/services")}
        assert echo_router["service"] + "@kubernetescrd" in services
        assert {m["name"] for m in api(cw, "/api/tcp/middlewares")} == {"default-local-only@kubernetescrd",
                                                                        "default-nobody@kubernetescrd"}

        context = ssl.create_default_context(cafile=ca.cert)

        def echoed(sni):
            try:
                with socket.create_connection(("127.0.0.1", cw.port("web")), timeout=3) as raw:
                    with context.wrap_socket(raw, server_hostname=sni) as s:
                        s.sendall(b"hello kube\n")
                        data = b""
                        while not data.endswith(b"hello kube\n"):
                            chunk = s.recv(100)
                            if not chunk:
                                break
                            data += chunk
                        return data
            except (OSError, ssl.SSLError):
                return b""
        assert wait_until(lambda: echoed("echo.example.com") == b"hello kube\n", timeout=10), cw.output()[-2000:]
        assert echoed("denied.example.com") == b""  # ipAllowList of MiddlewareTCP nobody

        udp_routers = {r["name"] for r in api(cw, "/api/udp/routers")}
        assert udp_routers == {"default-dgram-0@kubernetescrd"}, udp_routers
        client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        client.settimeout(2)
        client.sendto(b"ping", ("127.0.0.1", cw.udp_ports["dgram"]))
        assert client.recvfrom(100)[0] == b"echo:ping"
        client.close()
        assert "IngressRouteTCP" not in object_warnings(cw)
    finally:
        cw.stop()
        tcp.stop()
        running = False
        thread.join(2)
        udp.close()
