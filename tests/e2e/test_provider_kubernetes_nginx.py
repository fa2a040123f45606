"""providers.kubernetesIngressNGINX end to end: Ingresses written for ingress-nginx, with its
annotations (fixtures/kubernetes/ingress-nginx.yaml, from ingress-nginx's and Traefik's documented
examples), served by causeway from the FAKE Kubernetes API server of the tests (kube_fake.py) to
real whoami servers:

- rewrite-target with use-regex and a capture group, CORS, basic auth from a Secret, limit-rps,
  canary by weight and by header, cookie affinity, custom response headers from a ConfigMap,
  permanent-redirect, whitelist/allowlist-source-range, the default redirect to HTTPS of an
  Ingress with TLS, the legacy class annotation;
- a snippet annotation refuses its Ingress and an unsupported annotation is ignored, each reported
  on the Ingress in the API's warnings (and so the dashboard); another class is not served;
- the Ingress status written from publishStatusAddress.

Reference: docs/kubernetes.md ("kubernetesIngressNGINX", "Migrating from ingress-nginx")."""
import base64
import json
import pathlib
import string
import urllib.request

from harness import Causeway, curl, wait_until
from kube_fake import KubeFake
from mwkit import answered_by, get
from tls_certs import Pki

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "kubernetes"


def test_ingress_nginx_annotations(start_whoami, tmp_path):
    w1, w2 = start_whoami("w1"), start_whoami("w2")
    pki = Pki(tmp_path)
    ca = pki.ca()
    cert = pki.issue(ca, "secure.example.com", dns=("secure.example.com",))
    b64 = lambda p: base64.b64encode(pathlib.Path(p).read_bytes()).decode()  # noqa: E731
    kube = KubeFake()
    kube.apply(string.Template((FIXTURES / "ingress-nginx.yaml").read_text()).safe_substitute(
        WHOAMI_PORT=w1.port, WHOAMI2_PORT=w2.port, TLS_CRT_B64=b64(cert.cert), TLS_KEY_B64=b64(cert.key)))
    cw = Causeway(entrypoints=("web", "websecure", "traefik"),
                  providers_extra={"kubernetesIngressNGINX": {
                      "endpoint": kube.url, "httpEntryPoint": "web", "httpsEntryPoint": "websecure",
                      "globalAllowedResponseHeaders": ["X-Custom-Header"], "publishStatusAddress": ["192.0.2.10"]}},
                  static_extra="api:\n  insecure: true\n")
    try:
        wait_until(lambda: get(cw, "legacy.example.com")[0] == 200, timeout=10, message="served")
        assert "Name: w2" in get(cw, "legacy.example.com")[2].decode()  # the legacy class annotation
        # rewrite-target /$2 on /something(/|$)(.*), case-insensitive, query kept.
        for path, seen in (("/something", "/"), ("/something/new", "/new"), ("/SOMETHING/new?a=1", "/new?a=1")):
            status, _, body = get(cw, "rewrite.bar.com", path)
            assert status == 200 and f"GET {seen} " in body.decode(), (path, body)
        assert get(cw, "rewrite.bar.com", "/other")[0] == 404
        # CORS preflight answered by causeway, and the allowed origin on a simple request.
        status, headers, _ = get(cw, "cors.example.com", method="OPTIONS",
                                 headers=("Origin: https://origin-site.com", "Access-Control-Request-Method: POST"))
        assert status == 200 and headers.get("access-control-allow-origin") == "https://origin-site.com"
        assert headers.get("access-control-max-age") == "1728000"
        # Basic auth from the Secret's auth key (htpasswd).
        status, headers, _ = get(cw, "foo.bar.com")
        assert status == 401 and 'realm="Authentication Required - foo"' in headers.get("www-authenticate", "")
        assert get(cw, "foo.bar.com", args=("-u", "foo:bar"))[0] == 200
        # limit-rps 2: burst 10, then 429.
        statuses = [get(cw, "ratelimit.example.com")[0] for _ in range(16)]
        assert statuses.count(200) >= 10 and 429 in statuses, statuses
        # Canary by weight (50/50) and by header.
        seen = answered_by(cw, "canary.example.com", n=40)
        assert set(seen) == {"w1", "w2"}, seen
        assert set(answered_by(cw, "canary-header.example.com", n=4)) == {"w1"}
        assert set(answered_by(cw, "canary-header.example.com", headers=("X-Canary: always",), n=4)) == {"w2"}
        # Cookie affinity.
        status, headers, _ = get(cw, "stickyingress.example.com")
        assert status == 200 and headers.get("set-cookie", "").startswith("route=")
        # Custom response headers from a ConfigMap (allowed by globalAllowedResponseHeaders).
        assert get(cw, "headers.example.com")[1].get("x-custom-header") == "from-configmap"
        # permanent-redirect, source ranges.
        status, headers, _ = get(cw, "redirect.example.com", "/any?x=1")
        assert status == 301 and headers["location"] == "https://www.google.com"
        assert get(cw, "denied.example.com")[0] == 403
        assert "Name: w2" in get(cw, "allowed.example.com")[2].decode()
        # An Ingress with TLS: HTTP redirects to HTTPS, HTTPS serves.
        status, headers, _ = get(cw, "secure.example.com", "/p?q=1")
        assert status in (301, 308) and headers["location"] == "https://secure.example.com/p?q=1"
        port = cw.port("websecure")
        status, _, body = curl(f"https://secure.example.com:{port}/p", "--resolve",
                               f"secure.example.com:{port}:127.0.0.1", "--cacert", str(ca.cert))
        assert status == 200 and "Name: w1" in body.decode()
        # Refused or not ours: not served; the refusals are warnings on the Ingress.
        assert get(cw, "snippet.example.com")[0] == 404 and get(cw, "other.example.com")[0] == 404
        with urllib.request.urlopen(cw.url("traefik", "/api/warnings"), timeout=5) as r:
            warnings = " | ".join(f"{w.get('location', '')}: {w['message']}" for w in json.loads(r.read()))
        assert "configuration-snippet annotation is not allowed" in warnings, warnings
        # The status of the Ingresses served.
        wait_until(lambda: (kube.get("Ingress", "cors") or {}).get("status", {}).get("loadBalancer", {}).get("ingress"),
                   timeout=10, message="status written")
        assert kube.get("Ingress", "cors")["status"]["loadBalancer"]["ingress"] == [{"ip": "192.0.2.10"}]
        routers = {r["name"] for r in json.loads(urllib.request.urlopen(
            cw.url("traefik", "/api/http/routers"), timeout=5).read())}
        assert {"default-rewrite-rule-0-path-0@kubernetesingressnginx",
                "default-rewrite-rule-0-path-0-tls@kubernetesingressnginx"} <= routers
    finally:
        cw.stop()
        kube.stop()
