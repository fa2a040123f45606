"""providers.kubernetesGateway end to end, against the FAKE Kubernetes API server of the tests
(kube_fake.py) holding the Gateway API objects a user would apply
(fixtures/kubernetes/gateway-basic.yaml: Traefik's and the Gateway API's documented examples),
with real whoami servers behind the EndpointSlices:

- a GatewayClass of Traefik's controller, a Gateway whose listeners map to the entryPoints with
  their ports (HTTP and HTTPS with a certificateRef), HTTPRoutes with hostnames, path and
  header matches, weighted backends, header and URL rewriting filters;
- ReferenceGrant: a backend in another namespace without a grant answers 500, with one it is
  served; a route in a namespace the listener does not allow is not served;
- the statuses written back as the Gateway API specifies: GatewayClass Accepted, the Gateway's
  listeners with attachedRoutes, each route's parents with Accepted and ResolvedRefs; a
  certificate Secret removed makes the HTTPS listener invalid.

Reference: docs/kubernetes.md ("kubernetesGateway")."""
import base64
import hashlib
import json
import pathlib
import socket
import string
import urllib.request

import pytest

from harness import Causeway, curl, free_port, wait_until
from kube_fake import KubeFake
from mwkit import answered_by, get, request, values
from tls_certs import Pki

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "kubernetes"


@pytest.fixture
def kube():
    fake = KubeFake(bookmark_interval=0.5)
    yield fake
    fake.stop()


def b64(path):
    """A file's bytes in base64, as a Secret's data holds them."""
    return base64.b64encode(pathlib.Path(path).read_bytes()).decode()


def pem_in_yaml(cert):
    """A certificate's PEM text for a double-quoted YAML string (newlines escaped)."""
    return pathlib.Path(cert.cert).read_text().replace("\n", "\\n")


def conditions(obj):
    return {c["type"]: (c["status"], c["reason"]) for c in obj.get("conditions", [])}


def test_gateway_httproutes_filters_grants_and_statuses(start_whoami, kube, tmp_path):
    w1, w2 = start_whoami("w1"), start_whoami("w2")
    pki = Pki(tmp_path)
    ca = pki.ca()
    cert = pki.issue(ca, "whoami.localhost", dns=("whoami.localhost",))
    web, websecure = free_port(), free_port()
    kube.apply(string.Template((FIXTURES / "gateway-basic.yaml").read_text()).safe_substitute(
        WEB_PORT=web, WEBSECURE_PORT=websecure, WHOAMI_PORT=w1.port, WHOAMI2_PORT=w2.port,
        TLS_CRT_B64=b64(cert.cert), TLS_KEY_B64=b64(cert.key)))
    cw = Causeway(entrypoints=("web", "websecure", "traefik"), ports={"web": web, "websecure": websecure},
                  providers_extra={"kubernetesGateway": {"endpoint": kube.url}},
                  static_extra="api:\n  insecure: true\n")
    try:
        wait_until(lambda: get(cw, "whoami.localhost", "/rewrite/foo")[0] == 200, timeout=10, message="served")
        # Weights 3:1 on the rule that matches /api and the header traffic: test.
        seen = answered_by(cw, "whoami.localhost", "/api/x", headers=("traffic: test",), n=40)
        assert set(seen) == {"w1", "w2"} and 24 <= seen["w1"] <= 36, seen  # each worker balances 3:1
        assert get(cw, "whoami.localhost", "/api/x")[0] == 404
        assert get(cw, "whoami.localhost", "/apix", headers=("traffic: test",))[0] == 404
        # RequestHeaderModifier and URLRewrite (ReplacePrefixMatch).
        status, _, body = get(cw, "whoami.localhost", "/rewrite/foo", headers=("X-Remove-Me: 1",))
        text = body.decode()
        assert status == 200 and "GET /rewritten/foo " in text, text
        assert "X-Gateway-Filter: rewrite" in text and "X-Added: 1" in text and "X-Remove-Me" not in text
        assert "GET /rewritten " in get(cw, "whoami.localhost", "/rewrite")[2].decode()
        # CORS: a preflight from an allowed origin (a literal one, one matching a wildcard) is
        # answered by causeway with the origin echoed; another origin gets no CORS headers.
        for origin in ("https://app.example", "https://shop.example.com"):
            status, headers, _ = request(cw, "whoami.localhost", "/cors/x", method="OPTIONS", headers={
                "Origin": origin, "Access-Control-Request-Method": "PUT"})
            assert status == 200 and values(headers, "Access-Control-Allow-Origin") == [origin], (status, headers)
            assert values(headers, "Access-Control-Allow-Methods") == ["GET,PUT"], headers
            assert values(headers, "Access-Control-Max-Age") == ["600"], headers
        status, headers, body = request(cw, "whoami.localhost", "/cors/x", headers={"Origin": "https://app.example"})
        assert status == 200 and b"GET /cors/x " in body and values(headers, "Access-Control-Expose-Headers") == \
            ["x-served-by"], headers
        status, headers, _ = request(cw, "whoami.localhost", "/cors/x", method="OPTIONS", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "PUT"})
        assert not values(headers, "Access-Control-Allow-Origin"), headers
        # A backendRef's filters: each backend's requests carry its own header, and only that one.
        seen = set()
        for _ in range(8):
            text = get(cw, "whoami.localhost", "/split")[2].decode()
            name = "w1" if "Name: w1" in text else "w2"
            assert ("X-Backend: one" if name == "w1" else "X-Backend: two") in text, text
            assert text.count("X-Backend:") == 1, text
            seen.add(name)
        assert seen == {"w1", "w2"}, seen
        # The HTTPS listener: the certificateRef's certificate, the same routes.
        status, _, body = curl(f"https://whoami.localhost:{websecure}/rewrite/foo", "--resolve",
                               f"whoami.localhost:{websecure}:127.0.0.1", "--cacert", str(ca.cert))
        assert status == 200 and "GET /rewritten/foo " in body.decode()
        # ReferenceGrant: refused → 500 (invalid-backend@internal); granted → served.
        assert get(cw, "denied.localhost")[0] == 500
        assert "Name: w2" in get(cw, "granted.localhost", "/any")[2].decode()
        assert get(cw, "other.localhost")[0] == 404  # its namespace is not allowed by the listener

        routers = {r["name"] for r in json.loads(urllib.request.urlopen(
            cw.url("traefik", "/api/http/routers"), timeout=5).read())}
        # Traefik's names: the route, Gateway, entryPoint and rule index, then the first 10 bytes of
        # sha256 of the rule, written with Go's %q quoting.
        rule0 = 'Host("whoami.localhost") && (Path("/api") || PathPrefix("/api/")) && Header("traffic","test")'
        rule1 = 'Host("whoami.localhost") && (Path("/rewrite") || PathPrefix("/rewrite/"))'
        sha = lambda rule: hashlib.sha256(rule.encode()).hexdigest()[:20]  # noqa: E731
        assert f"httproute-default-whoami-gw-default-traefik-ep-web-0-{sha(rule0)}@kubernetesgateway" in routers
        assert f"httproute-default-whoami-gw-default-traefik-ep-websecure-1-{sha(rule1)}@kubernetesgateway" in routers

        # Statuses.
        def statuses_written():
            gc = kube.get("GatewayClass", "traefik", namespace=None)
            gw = kube.get("Gateway", "traefik")
            return gc.get("status") and gw.get("status", {}).get("listeners") and \
                kube.get("HTTPRoute", "crossns-denied").get("status")
        wait_until(statuses_written, timeout=10, message="statuses written")
        assert conditions(kube.get("GatewayClass", "traefik", namespace=None)["status"])["Accepted"] == ("True", "Handled")
        gw = kube.get("Gateway", "traefik")["status"]
        assert conditions(gw) == {"Accepted": ("True", "Accepted"), "Programmed": ("True", "Programmed")}
        listeners = {listener["name"]: listener for listener in gw["listeners"]}
        assert listeners["http"]["attachedRoutes"] == 3 and listeners["https"]["attachedRoutes"] == 1
        assert conditions(listeners["https"])["Programmed"] == ("True", "Programmed")
        parent = kube.get("HTTPRoute", "crossns-denied")["status"]["parents"][0]
        assert parent["controllerName"] == "traefik.io/gateway-controller"
        assert conditions(parent) == {"Accepted": ("True", "Accepted"), "ResolvedRefs": ("False", "RefNotPermitted")}
        assert conditions(kube.get("HTTPRoute", "crossns-granted")["status"]["parents"][0])["ResolvedRefs"] == \
            ("True", "ResolvedRefs")
        other = kube.get("HTTPRoute", "other-route", namespace="other")["status"]["parents"][0]
        assert conditions(other)["Accepted"] == ("False", "NotAllowedByListeners")

        # The certificate's Secret removed: the HTTPS listener is invalid, the HTTP one serves on.
        kube.delete("Secret", "secret-tls")

        def https_invalid():
            listener = {x["name"]: x for x in kube.get("Gateway", "traefik")["status"]["listeners"]}["https"]
            return conditions(listener).get("ResolvedRefs") == ("False", "InvalidCertificateRef")
        wait_until(https_invalid, timeout=10, message="listener https invalid")
        assert conditions(kube.get("Gateway", "traefik")["status"])["Accepted"] == ("False", "ListenersNotValid")
        assert get(cw, "whoami.localhost", "/rewrite/foo")[0] == 200
    finally:
        cw.stop()


BACKEND_TLS = """
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: traefik}
spec: {controllerName: traefik.io/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: traefik, namespace: default}
spec:
  gatewayClassName: traefik
  listeners: [{name: http, protocol: HTTP, port: ${WEB_PORT}}]
---
apiVersion: v1
kind: Service
metadata: {name: secure, namespace: default}
spec: {ports: [{name: https, port: 443, targetPort: ${UP_PORT}, protocol: TCP}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: secure-e2e, namespace: default, labels: {kubernetes.io/service-name: secure}}
addressType: IPv4
ports: [{name: https, port: ${UP_PORT}, protocol: TCP}]
endpoints: [{addresses: ["127.0.0.1"], conditions: {ready: true}}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: backend-ca, namespace: default}
data: {ca.crt: "${CA_PEM}"}
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: secure-tls, namespace: default}
spec:
  targetRefs: [{group: "", kind: Service, name: secure}]
  validation:
    hostname: backend.internal
    caCertificateRefs: [{group: "", kind: ConfigMap, name: backend-ca}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: secure, namespace: default}
spec:
  parentRefs: [{name: traefik}]
  hostnames: [secure.localhost]
  rules: [{backendRefs: [{name: secure, port: 443}]}]
"""


def test_gateway_backend_tls_policy(kube, tmp_path):
    """BackendTLSPolicy (the Gateway API's guide): the Service's endpoints are reached over TLS
    with the policy's hostname as SNI, their certificate verified with the ConfigMap's CA; with a
    CA that did not sign it, the backend's certificate is refused (502)."""
    from tls_upstream import TlsUpstream
    pki = Pki(tmp_path)
    ca, other = pki.ca(), pki.ca("other")
    up = TlsUpstream(pki.issue(ca, "backend.internal", dns=("backend.internal",)), alpn=("http/1.1",))
    web = free_port()
    kube.apply(string.Template(BACKEND_TLS).safe_substitute(WEB_PORT=web, UP_PORT=up.port, CA_PEM=pem_in_yaml(ca)))
    cw = Causeway(entrypoints=("web", "traefik"), ports={"web": web},
                  providers_extra={"kubernetesGateway": {"endpoint": kube.url}})
    try:
        wait_until(lambda: get(cw, "secure.localhost")[0] == 200, timeout=10, message="served over TLS")
        assert "sni=backend.internal" in get(cw, "secure.localhost")[2].decode()
        assert up.connections and up.connections[-1].sni == "backend.internal", up.connections
        # Another CA: the handshake fails on causeway's side and the request gets a 502.
        kube.apply(string.Template(BACKEND_TLS).safe_substitute(WEB_PORT=web, UP_PORT=up.port, CA_PEM=pem_in_yaml(other)))
        wait_until(lambda: get(cw, "secure.localhost")[0] == 502, timeout=10, message="untrusted backend refused")
    finally:
        cw.stop()
        up.stop()


NODE_DIR = pathlib.Path(__file__).resolve().parent / "node"


@pytest.mark.skipif(not (NODE_DIR / "node_modules" / "@grpc" / "grpc-js").exists(),
                    reason="npm packages not installed (make test runs npm ci in tests/e2e/node)")
def test_gateway_grpcroute_to_h2c_backend(kube):
    """A GRPCRoute (fixtures/kubernetes/gateway-grpc.yaml): every call kind of causeway.test.Echo
    (@grpc/grpc-js client and server) through the Gateway's HTTP listener, h2c to the backend."""
    import subprocess
    from harness import Process
    grpc_port, web = free_port(), free_port()
    server = Process(["node", str(NODE_DIR / "grpc_peer.js"), "server", str(grpc_port)], name="grpc-server")
    wait_until(lambda: "listening" in server.output(), message="grpc server listening")
    kube.apply(string.Template((FIXTURES / "gateway-grpc.yaml").read_text()).safe_substitute(
        WEB_PORT=web, GRPC_PORT=grpc_port))
    cw = Causeway(entrypoints=("web", "traefik"), ports={"web": web},
                  providers_extra={"kubernetesGateway": {"endpoint": kube.url}},
                  static_extra="api:\n  insecure: true\n")
    try:
        wait_until(lambda: kube.get("GRPCRoute", "echo").get("status"), timeout=10, message="route status")
        out = subprocess.run(["node", str(NODE_DIR / "grpc_peer.js"), "client", f"127.0.0.1:{web}"],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stdout + out.stderr
        assert '"bidi":true' in out.stdout
        parent = kube.get("GRPCRoute", "echo")["status"]["parents"][0]
        assert conditions(parent) == {"Accepted": ("True", "Accepted"), "ResolvedRefs": ("True", "ResolvedRefs")}
        # Another gRPC service is not routed.
        assert curl(cw.url("web", "/grpc.health.v1.Health/Check"), method="POST",
                    headers=["Content-Type: application/grpc"], data=b"")[0] == 404
    finally:
        cw.stop()
        server.stop()


def test_gateway_tlsroute_passthrough_and_tcproute(kube, tmp_path):
    """TLSRoute and TCPRoute (fixtures/kubernetes/gateway-layer4.yaml, experimentalChannel on):
    a TLS listener in Passthrough mode routes by SNI to TLS servers that do the handshake
    themselves, an unknown SNI reaches none of them; a TCP listener sends every connection to its
    TCPRoute's backend. Traefik's router names; the routes' parents Accepted and ResolvedRefs."""
    from tcp_peers import EchoServer, TlsClient, TlsEchoServer, connect, read_all
    pki = Pki(tmp_path)
    ca = pki.ca()
    db = TlsEchoServer(pki.issue(ca, "db.tls.test", dns=("db.tls.test",)), greeting=b"db\n").start()
    cache = TlsEchoServer(pki.issue(ca, "cache.tls.test", dns=("cache.tls.test",)), greeting=b"cache\n").start()
    raw = EchoServer(greeting=b"raw\n").start()
    secure = TlsEchoServer(pki.issue(ca, "secure.internal", dns=("secure.internal",)), greeting=b"secure\n").start()
    term = pki.issue(ca, "secure.term.test", dns=("secure.term.test",))
    tls_port, tcp_port, term_port = free_port(), free_port(), free_port()
    kube.apply(string.Template((FIXTURES / "gateway-layer4.yaml").read_text()).safe_substitute(
        TLS_PORT=tls_port, TCP_PORT=tcp_port, DB_PORT=db.port, CACHE_PORT=cache.port, RAW_PORT=raw.port,
        TERM_PORT=term_port, SECURE_PORT=secure.port, TERM_CRT_B64=b64(term.cert), TERM_KEY_B64=b64(term.key),
        CA_PEM=pem_in_yaml(ca)))
    cw = Causeway(entrypoints=("tlsin", "tcpin", "termin", "traefik"),
                  ports={"tlsin": tls_port, "tcpin": tcp_port, "termin": term_port},
                  providers_extra={"kubernetesGateway": {"endpoint": kube.url, "experimentalChannel": True}},
                  static_extra="api:\n  insecure: true\n")
    try:
        def reaches(sni):
            try:
                client = TlsClient(tls_port, sni, timeout=3)
            except (ConnectionError, OSError):
                return None
            try:
                data, _ = client.read_until(b"\n", timeout=3)
                return data
            finally:
                client.close()
        wait_until(lambda: reaches("db.tls.test") == b"db\n", timeout=10, message="TLSRoute db served")
        assert reaches("cache.tls.test") == b"cache\n"
        # Passthrough: the servers did the handshakes and saw the SNI.
        assert [c.sni for c in db.conns][-1] == "db.tls.test" and [c.sni for c in cache.conns][-1] == "cache.tls.test"
        before = len(db.conns) + len(cache.conns)
        assert reaches("unknown.tls.test") not in (b"db\n", b"cache\n")
        assert len(db.conns) + len(cache.conns) == before
        # The TCPRoute: any connection, plain bytes.
        sock = connect(tcp_port)
        sock.sendall(b"ping\n")
        sock.shutdown(socket.SHUT_WR)
        data, _ = read_all(sock)
        sock.close()
        assert data.startswith(b"raw\n") and b"ping\n" in data, data
        # Terminated by causeway, then TLS again to the backend as its BackendTLSPolicy says.
        def secure_reached():
            try:
                client = TlsClient(term_port, "secure.term.test", timeout=3)
            except (ConnectionError, OSError):
                return None
            try:
                return client.read_until(b"\n", timeout=3)[0]
            finally:
                client.close()
        wait_until(lambda: secure_reached() == b"secure\n", timeout=10, message="TLSRoute secure served")
        assert [c.sni for c in secure.conns][-1] == "secure.internal", [c.sni for c in secure.conns]

        routers = {r["name"] for r in json.loads(urllib.request.urlopen(
            cw.url("traefik", "/api/tcp/routers"), timeout=5).read())}
        empty = hashlib.sha256(b"").hexdigest()[:20]
        assert f"tlsroute-default-db-gw-default-traefik-ep-tlsin-0-{empty}@kubernetesgateway" in routers, routers
        assert f"tcproute-default-raw-gw-default-traefik-ep-tcpin-0-{empty}@kubernetesgateway" in routers, routers

        def accepted(kind, name):
            parents = kube.get(kind, name).get("status", {}).get("parents", [])
            return parents and conditions(parents[0]) == {"Accepted": ("True", "Accepted"),
                                                          "ResolvedRefs": ("True", "ResolvedRefs")}
        wait_until(lambda: accepted("TLSRoute", "db") and accepted("TCPRoute", "raw"), timeout=10,
                   message="route statuses written")
        listeners = {x["name"]: x for x in kube.get("Gateway", "traefik")["status"]["listeners"]}
        assert listeners["tls"]["attachedRoutes"] == 2 and listeners["tcp"]["attachedRoutes"] == 1, listeners
    finally:
        cw.stop()
        for peer in (db, cache, raw, secure):
            peer.stop()
