"""The FAKE Kubernetes API server (kube_fake.py) against what the Kubernetes API Concepts
document says the real one does, with http.client only: LIST with selectors and paging, WATCH
replay from a resourceVersion, bookmarks, 410 Expired after a compaction, status writes, bearer
token, TLS, injected failures and cut watches."""
import base64
import gzip
import http.client
import json
import socket
import ssl
import subprocess
import sys
import time

import pytest
import yaml

from kube_fake import KubeFake, synthetic_objects

MANIFESTS = """
apiVersion: v1
kind: Service
metadata: {name: web, labels: {app: web, tier: front}}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: apps, labels: {app: api, tier: back}}
spec: {ports: [{name: http, port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: apps, labels: {app: db}}
spec: {ports: [{port: 5432}]}
---
apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata: {name: web, namespace: default}
spec:
  entryPoints: [web]
  routes: [{match: "Host(`web.test`)", kind: Rule, services: [{name: web, port: 80}]}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec: {rules: [{host: web.test}]}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {user: admin}
"""


@pytest.fixture
def kube():
    fakes = []

    def start(manifests=MANIFESTS, **kwargs):
        fake = KubeFake(manifests, **kwargs)
        fakes.append(fake)
        return fake

    yield start
    for fake in fakes:
        fake.stop()


def connect(fake, timeout=10, context=None):
    if fake.ca_file or context:
        return http.client.HTTPSConnection("127.0.0.1", fake.port, timeout=timeout, context=context)
    return http.client.HTTPConnection("127.0.0.1", fake.port, timeout=timeout)


def call(fake, path, method="GET", body=None, headers=None, conn=None, auth=True):
    """(status, response, decoded JSON or text) of one request."""
    c = conn or connect(fake)
    hdrs = {"Authorization": f"Bearer {fake.token}"} if fake.token and auth else {}
    hdrs.update(headers or {})
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    c.request(method, path, body=body, headers=hdrs)
    r = c.getresponse()
    data = r.read()
    if r.getheader("Content-Encoding") == "gzip":
        data = gzip.decompress(data)
    if not conn:
        c.close()
    try:
        return r.status, r, json.loads(data)
    except ValueError:
        return r.status, r, data.decode()


def names(body):
    return [(i["metadata"].get("namespace"), i["metadata"]["name"]) for i in body["items"]]


class Watch:
    """One watch stream, read event by event."""

    def __init__(self, fake, path, timeout=10):
        self.conn = connect(fake, timeout=timeout)
        hdrs = {"Authorization": f"Bearer {fake.token}"} if fake.token else {}
        self.conn.request("GET", path, headers=hdrs)
        self.response = self.conn.getresponse()
        self.buffer = b""

    def next(self):
        """The next event, or None at a clean end of the stream (the terminating chunk); an
        unfinished body raises http.client.IncompleteRead. (HTTPResponse.readline cannot tell.)"""
        while b"\n" not in self.buffer:
            data = self.response.read1(65536)
            if not data:
                assert not self.buffer, "a partial event at the end of the stream"
                return None
            self.buffer += data
        line, _, self.buffer = self.buffer.partition(b"\n")
        return json.loads(line)

    def close(self):
        self.conn.close()


def test_list_items_metadata_and_errors(kube):
    fake = kube()
    status, r, body = call(fake, "/api/v1/namespaces/default/services")
    assert status == 200 and r.getheader("Content-Type") == "application/json"
    assert body["kind"] == "ServiceList" and body["apiVersion"] == "v1"
    assert int(body["metadata"]["resourceVersion"]) == fake.resource_version
    [svc] = body["items"]
    assert svc["kind"] == "Service" and svc["apiVersion"] == "v1"
    meta = svc["metadata"]
    assert meta["namespace"] == "default" and meta["generation"] == 1 and meta["uid"]
    assert meta["creationTimestamp"].endswith("Z") and meta["resourceVersion"].isdigit()

    # All namespaces, in etcd key order; a namespace that was not there is created.
    assert names(call(fake, "/api/v1/services")[2]) == [("apps", "api"), ("apps", "db"), ("default", "web")]
    assert "apps" in [n for _, n in names(call(fake, "/api/v1/namespaces")[2])]
    apps = call(fake, "/api/v1/namespaces/apps")[2]
    assert apps["metadata"]["labels"]["kubernetes.io/metadata.name"] == "apps"
    assert call(fake, "/apis/traefik.io/v1alpha1/ingressroutes")[2]["items"][0]["spec"]["entryPoints"] == ["web"]
    assert call(fake, "/apis/networking.k8s.io/v1/namespaces/default/ingresses/web")[2]["kind"] == "Ingress"
    secret = call(fake, "/api/v1/namespaces/default/secrets/creds")[2]
    assert base64.b64decode(secret["data"]["user"]) == b"admin" and "stringData" not in secret

    status, _, err = call(fake, "/apis/traefik.io/v1alpha1/namespaces/default/middlewares/nope")
    assert status == 404 and err["kind"] == "Status" and err["reason"] == "NotFound"
    assert err["message"] == 'middlewares.traefik.io "nope" not found'
    assert call(fake, "/apis/example.com/v1/things")[0] == 404

    # The real server leaves kind/apiVersion out of built-in LIST items; that mode too.
    plain = kube(typed_list_items=False)
    item = call(plain, "/api/v1/services")[2]["items"][0]
    assert "kind" not in item and "apiVersion" not in item
    assert call(plain, "/apis/traefik.io/v1alpha1/ingressroutes")[2]["items"][0]["kind"] == "IngressRoute"


def test_discovery_version_health(kube):
    fake = kube()
    assert call(fake, "/healthz")[2] == "ok"
    assert call(fake, "/version")[2]["major"] == "1"
    assert call(fake, "/api")[2]["versions"] == ["v1"]
    groups = {g["name"]: g for g in call(fake, "/apis")[2]["groups"]}
    assert groups["gateway.networking.k8s.io"]["preferredVersion"]["version"] == "v1"
    assert {"traefik.io", "discovery.k8s.io", "networking.k8s.io"} <= set(groups)
    resources = {r["name"]: r for r in call(fake, "/apis/gateway.networking.k8s.io/v1")[2]["resources"]}
    assert resources["gatewayclasses"]["namespaced"] is False and "httproutes/status" in resources
    assert "tlsroutes" in {r["name"] for r in call(fake, "/apis/gateway.networking.k8s.io/v1alpha2")[2]["resources"]}
    # Two served versions of one kind: the same object, under each apiVersion.
    fake.apply("apiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\n"
               "metadata: {name: g}\nspec: {from: [], to: []}\n")
    for v in ("v1beta1", "v1"):
        got = call(fake, f"/apis/gateway.networking.k8s.io/{v}/namespaces/default/referencegrants/g")[2]
        assert got["apiVersion"] == f"gateway.networking.k8s.io/{v}"


def test_label_and_field_selectors(kube):
    fake = kube()

    def select(query):
        return sorted(n for _, n in names(call(fake, "/api/v1/services?" + query)[2]))

    assert select("labelSelector=app%3Dweb") == ["web"]
    assert select("labelSelector=app%3D%3Dweb") == ["web"]
    assert select("labelSelector=app!%3Dweb") == ["api", "db"]
    assert select("labelSelector=tier") == ["api", "web"]
    assert select("labelSelector=!tier") == ["db"]
    assert select("labelSelector=app+in+(web,db)") == ["db", "web"]
    assert select("labelSelector=app+notin+(web),tier") == ["api"]
    assert select("labelSelector=app%20in%20(api,%20db),tier%3Dback") == ["api"]
    assert select("fieldSelector=metadata.name%3Ddb") == ["db"]
    assert select("fieldSelector=metadata.namespace!%3Dapps") == ["web"]
    status, _, err = call(fake, "/api/v1/services?labelSelector=app+in+web")
    assert status == 400 and err["reason"] == "BadRequest"
    assert call(fake, "/api/v1/services?fieldSelector=spec.type%3DClusterIP")[0] == 400


def test_paging_is_consistent_then_expires(kube):
    fake = kube("".join(f"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm{i}}}\ndata: {{k: v}}\n"
                        for i in range(7)))
    first = call(fake, "/api/v1/namespaces/default/configmaps?limit=3")[2]
    assert [n for _, n in names(first)] == ["cm0", "cm1", "cm2"]
    assert first["metadata"]["remainingItemCount"] == 4
    rv = first["metadata"]["resourceVersion"]

    fake.delete("ConfigMap", "cm4")
    fake.apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm35}\n")
    second = call(fake, "/api/v1/namespaces/default/configmaps?limit=3&continue=" + first["metadata"]["continue"])[2]
    # Read at the first page's resourceVersion: cm4 still there, cm35 not yet.
    assert [n for _, n in names(second)] == ["cm3", "cm4", "cm5"]
    assert second["metadata"]["resourceVersion"] == rv
    third = call(fake, "/api/v1/namespaces/default/configmaps?limit=3&continue=" + second["metadata"]["continue"])[2]
    assert [n for _, n in names(third)] == ["cm6"] and "continue" not in third["metadata"]

    again = call(fake, "/api/v1/namespaces/default/configmaps?limit=5")[2]
    fake.compact()
    status, _, err = call(fake, "/api/v1/namespaces/default/configmaps?limit=5&continue=" + again["metadata"]["continue"])
    assert status == 410 and err["reason"] == "Expired" and err["code"] == 410
    assert call(fake, "/api/v1/namespaces/default/configmaps?continue=garbage")[0] == 400


def test_watch_replays_from_resource_version_then_follows(kube):
    fake = kube()
    start = fake.resource_version
    fake.apply("apiVersion: v1\nkind: Service\nmetadata: {name: web, labels: {app: web, tier: front}}\n"
               "spec: {ports: [{name: http, port: 81}]}\n")
    fake.apply("apiVersion: v1\nkind: Service\nmetadata: {name: new}\nspec: {}\n")
    fake.apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\n")  # another resource
    fake.delete("Service", "new")
    w = Watch(fake, f"/api/v1/namespaces/default/services?watch=1&resourceVersion={start}")
    assert w.response.status == 200 and w.response.getheader("Transfer-Encoding") == "chunked"
    events = [w.next() for _ in range(3)]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("MODIFIED", "web"), ("ADDED", "new"), ("DELETED", "new")]
    assert events[0]["object"]["metadata"]["generation"] == 2 and events[0]["object"]["kind"] == "Service"
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert rvs == sorted(rvs) and rvs[0] > start

    fake.apply("apiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: apps}\nspec: {}\n")  # elsewhere
    fake.apply("apiVersion: v1\nkind: Service\nmetadata: {name: live}\nspec: {}\n")
    live = w.next()
    assert live["type"] == "ADDED" and live["object"]["metadata"]["name"] == "live"
    w.close()

    # Only what changes takes a new resourceVersion: here "web" and "api" go back.
    before = fake.resource_version
    fake.apply(MANIFESTS)
    assert fake.resource_version == before + 2
    fake.apply(MANIFESTS)
    assert fake.resource_version == before + 2


def test_watch_without_resource_version_starts_with_added(kube):
    fake = kube()
    w = Watch(fake, "/api/v1/services?watch=true&labelSelector=app&timeoutSeconds=5")
    first = [w.next() for _ in range(3)]
    assert {(e["type"], e["object"]["metadata"]["name"]) for e in first} == {
        ("ADDED", "web"), ("ADDED", "api"), ("ADDED", "db")}
    # A selector: an object that stops matching is DELETED, one that starts matching ADDED.
    fake.apply("apiVersion: v1\nkind: Service\nmetadata: {name: db, namespace: apps}\nspec: {ports: [{port: 5432}]}\n")
    gone = w.next()
    assert gone["type"] == "DELETED" and gone["object"]["metadata"]["name"] == "db"
    assert gone["object"]["metadata"]["labels"] == {"app": "db"}  # the last matching content
    fake.apply("apiVersion: v1\nkind: Service\nmetadata: {name: db, namespace: apps, labels: {app: db}}\n"
               "spec: {ports: [{port: 5432}]}\n")
    assert w.next()["type"] == "ADDED"
    w.close()


def test_bookmarks_periodic_and_on_demand(kube):
    fake = kube(bookmark_interval=0.3)
    rv = fake.resource_version
    w = Watch(fake, f"/apis/traefik.io/v1alpha1/ingressroutes?watch=1&allowWatchBookmarks=true&resourceVersion={rv}")
    began = time.time()
    bm = w.next()
    assert bm == {"type": "BOOKMARK", "object": {"kind": "IngressRoute", "apiVersion": "traefik.io/v1alpha1",
                                                 "metadata": {"resourceVersion": str(rv)}}}
    assert 0.2 < time.time() - began < 2
    fake.apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: elsewhere}\n")
    bm = w.next()
    assert bm["type"] == "BOOKMARK" and int(bm["object"]["metadata"]["resourceVersion"]) == rv + 1
    w.close()

    slow = kube(bookmark_interval=60)
    w = Watch(slow, "/api/v1/services?watch=1&allowWatchBookmarks=true&resourceVersion=1")
    events = [w.next() for _ in range(3)]  # the replay of history (three Services added)
    assert all(e["type"] == "ADDED" for e in events)
    slow.bookmark_now()
    bm = w.next()
    assert bm["type"] == "BOOKMARK" and bm["object"]["metadata"]["creationTimestamp"] is None
    assert bm["object"]["metadata"]["resourceVersion"] == str(slow.resource_version)
    w.close()

    # sendInitialEvents: the initial ADDED events end with an annotated bookmark.
    w = Watch(slow, "/api/v1/namespaces/apps/services?watch=1&sendInitialEvents=true&allowWatchBookmarks=true"
                    "&resourceVersionMatch=NotOlderThan")
    assert [w.next()["type"] for _ in range(2)] == ["ADDED", "ADDED"]
    end = w.next()
    assert end["type"] == "BOOKMARK"
    assert end["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    w.close()


def test_watch_timeout_ends_stream_cleanly_and_connection_lives(kube):
    fake = kube()
    conn = connect(fake)
    began = time.time()
    conn.request("GET", f"/api/v1/services?watch=1&timeoutSeconds=1&resourceVersion={fake.resource_version}")
    r = conn.getresponse()
    assert r.read() == b"" and 0.9 < time.time() - began < 3  # terminating chunk: a clean end
    assert call(fake, "/version", conn=conn)[0] == 200  # same connection, kept alive


def test_watch_too_old_after_compact(kube):
    fake = kube()
    old = fake.resource_version - 2
    fake.compact()
    w = Watch(fake, f"/api/v1/services?watch=1&resourceVersion={old}")
    assert w.response.status == 200
    err = w.next()
    assert err == {"type": "ERROR", "object": {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": f"too old resource version: {old} ({fake.resource_version})", "reason": "Expired", "code": 410}}
    assert w.next() is None
    # From the compaction point on, nothing is missing.
    w = Watch(fake, f"/api/v1/services?watch=1&resourceVersion={fake.resource_version}")
    fake.apply("apiVersion: v1\nkind: Service\nmetadata: {name: after}\n")
    assert w.next()["object"]["metadata"]["name"] == "after"
    w.close()


def test_status_writes(kube):
    fake = kube(MANIFESTS + "---\napiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\n"
                "metadata: {name: gw}\nspec: {gatewayClassName: traefik, listeners: []}\n")
    w = Watch(fake, f"/apis/networking.k8s.io/v1/ingresses?watch=1&resourceVersion={fake.resource_version}")
    ing = call(fake, "/apis/networking.k8s.io/v1/namespaces/default/ingresses/web")[2]
    ing["status"] = {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}
    ing["spec"]["rules"][0]["host"] = "ignored.test"  # a status write changes only .status
    status, _, out = call(fake, "/apis/networking.k8s.io/v1/namespaces/default/ingresses/web/status", "PUT", ing)
    assert status == 200 and out["status"] == ing["status"] and out["spec"]["rules"][0]["host"] == "web.test"
    assert int(out["metadata"]["resourceVersion"]) > int(ing["metadata"]["resourceVersion"])
    assert out["metadata"]["generation"] == 1
    event = w.next()
    assert event["type"] == "MODIFIED" and event["object"]["status"] == ing["status"]
    kind, ns, name, written, when = fake.status_writes[-1]
    assert (kind, ns, name, written) == ("Ingress", "default", "web", ing["status"]) and when <= time.time()

    # Stale resourceVersion: 409 Conflict, not recorded.
    status, _, err = call(fake, "/apis/networking.k8s.io/v1/namespaces/default/ingresses/web/status", "PUT", ing)
    assert status == 409 and err["reason"] == "Conflict" and len(fake.status_writes) == 1

    # Merge patch of the status of a custom resource.
    patch = {"status": {"conditions": [{"type": "Accepted", "status": "True"}]}}
    status, _, gw = call(fake, "/apis/gateway.networking.k8s.io/v1/namespaces/default/gateways/gw/status", "PATCH",
                         json.dumps(patch).encode(), {"Content-Type": "application/merge-patch+json"})
    assert status == 200 and gw["status"] == patch["status"]
    assert fake.status_writes[-1][:4] == ("Gateway", "default", "gw", patch["status"])
    assert fake.get("Gateway", "gw")["status"] == patch["status"]
    assert call(fake, "/apis/gateway.networking.k8s.io/v1/namespaces/default/gateways/gw/status", "PATCH",
                json.dumps(patch).encode(), {"Content-Type": "application/strategic-merge-patch+json"})[0] == 415
    gw.pop("status")
    del gw["metadata"]["resourceVersion"]
    assert call(fake, "/apis/gateway.networking.k8s.io/v1/namespaces/default/gateways/gw", "PUT", gw)[0] == 422
    # A main-resource write keeps the status; kinds without the subresource have no /status.
    gw["metadata"]["resourceVersion"] = fake.get("Gateway", "gw")["metadata"]["resourceVersion"]
    gw["spec"]["listeners"] = [{"name": "web", "port": 80, "protocol": "HTTP"}]
    status, _, gw2 = call(fake, "/apis/gateway.networking.k8s.io/v1/namespaces/default/gateways/gw", "PUT", gw)
    assert status == 200 and gw2["status"] == patch["status"] and gw2["metadata"]["generation"] == 2
    assert call(fake, "/apis/traefik.io/v1alpha1/namespaces/default/ingressroutes/web/status", "PUT", {})[0] == 404
    w.close()


def test_create_replace_delete(kube):
    fake = kube()
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}}
    status, _, made = call(fake, "/api/v1/namespaces/default/configmaps", "POST", cm)
    assert status == 201 and made["metadata"]["namespace"] == "default"
    assert call(fake, "/api/v1/namespaces/default/configmaps", "POST", cm)[2]["reason"] == "AlreadyExists"
    made["data"] = {"a": "2"}
    assert call(fake, "/api/v1/namespaces/default/configmaps/c", "PUT", made)[2]["data"] == {"a": "2"}
    assert fake.objects("ConfigMap", "default")[0]["data"] == {"a": "2"}
    assert call(fake, "/api/v1/namespaces/default/configmaps/c", "DELETE")[0] == 200
    assert call(fake, "/api/v1/namespaces/default/configmaps/c")[0] == 404
    assert fake.get("ConfigMap", "c") is None


def test_token(kube):
    fake = kube(token="s3cret")
    assert call(fake, "/api/v1/services")[0] == 200
    status, _, err = call(fake, "/api/v1/services", auth=False)
    assert status == 401 and err["reason"] == "Unauthorized" and err["code"] == 401
    assert call(fake, "/version", headers={"Authorization": "Bearer wrong"})[0] == 401


def test_tls_with_ca_file_and_kubeconfig(kube, tmp_path):
    fake = kube(tls=True, token="t0k")
    assert fake.url.startswith("https://127.0.0.1:")
    for host in ("127.0.0.1", "localhost"):
        ctx = ssl.create_default_context(cafile=fake.ca_file)
        conn = http.client.HTTPSConnection(host, fake.port, context=ctx, timeout=10)
        assert call(fake, "/api/v1/services", conn=conn)[0] == 200
        conn.close()
    with pytest.raises(ssl.SSLError):
        call(fake, "/version", conn=http.client.HTTPSConnection(
            "127.0.0.1", fake.port, context=ssl.create_default_context(), timeout=10))

    config = yaml.safe_load(open(fake.write_kubeconfig(tmp_path / "kubeconfig", namespace="apps")))
    assert config["current-context"] == "kube-fake"
    assert config["clusters"][0]["cluster"] == {"server": fake.url, "certificate-authority": fake.ca_file}
    assert config["users"][0]["user"] == {"token": "t0k"}
    assert config["contexts"][0]["context"]["namespace"] == "apps"
    embedded = yaml.safe_load(open(fake.write_kubeconfig(tmp_path / "k2", embed_ca=True)))
    assert base64.b64decode(embedded["clusters"][0]["cluster"]["certificate-authority-data"]).startswith(b"-----BEGIN")
    insecure = yaml.safe_load(open(fake.write_kubeconfig(tmp_path / "k3", insecure=True)))
    assert insecure["clusters"][0]["cluster"]["insecure-skip-tls-verify"] is True
    env = fake.write_service_account(tmp_path / "sa")
    assert (tmp_path / "sa" / "token").read_text() == "t0k" and (tmp_path / "sa" / "ca.crt").exists()
    assert env["KUBERNETES_SERVICE_PORT"] == str(fake.port)


def test_fail_next(kube):
    fake = kube()
    fake.fail_next(2, status=503)
    s1, _, err = call(fake, "/api/v1/services")
    s2 = call(fake, "/api/v1/services?watch=1")[0]
    assert (s1, s2) == (503, 503) and err["reason"] == "ServiceUnavailable" and err["kind"] == "Status"
    assert call(fake, "/api/v1/services")[0] == 200
    fake.fail_next(1, status=429)
    status, r, _ = call(fake, "/api/v1/services")
    assert status == 429 and r.getheader("Retry-After") == "1"
    assert [m for _, m, p in fake.requests if p.startswith("/api/v1/services")] == ["GET"] * 4


def test_drop_watches_cuts_without_ending_the_body(kube):
    fake = kube()
    w = Watch(fake, f"/api/v1/services?watch=1&resourceVersion={fake.resource_version}")
    fake.apply("apiVersion: v1\nkind: Service\nmetadata: {name: one}\n")
    assert w.next()["type"] == "ADDED"
    fake.drop_watches()
    with pytest.raises(http.client.IncompleteRead):
        w.next()
    # A new watch works, and resumes where the old one stopped.
    w = Watch(fake, f"/api/v1/services?watch=1&resourceVersion={fake.resource_version}")
    fake.apply("apiVersion: v1\nkind: Service\nmetadata: {name: two}\n")
    assert w.next()["object"]["metadata"]["name"] == "two"
    w.close()


def test_pause_refuses_then_resume_on_the_same_port(kube):
    fake = kube()
    port = fake.port
    w = Watch(fake, f"/api/v1/services?watch=1&resourceVersion={fake.resource_version}")
    fake.pause()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2)
    with pytest.raises((http.client.IncompleteRead, ConnectionError)):
        w.next()
    fake.apply("apiVersion: v1\nkind: Service\nmetadata: {name: meanwhile}\n")
    fake.resume()
    assert fake.port == port
    assert "meanwhile" in [n for _, n in names(call(fake, "/api/v1/services")[2])]


def test_large_lists_are_fast_chunked_and_gzipped(kube):
    fake = kube(None)
    fake.apply(synthetic_objects(routes=5000, endpoints=20000))
    for path, count in (("/apis/traefik.io/v1alpha1/ingressroutes", 5000),
                        ("/apis/discovery.k8s.io/v1/endpointslices", 200)):
        began = time.time()
        status, r, body = call(fake, path)
        assert status == 200 and len(body["items"]) == count and time.time() - began < 2
        assert r.getheader("Transfer-Encoding") == "chunked"
    assert sum(len(s["endpoints"]) for s in body["items"]) == 20000
    began = time.time()
    status, r, body = call(fake, "/apis/traefik.io/v1alpha1/ingressroutes", headers={"Accept-Encoding": "gzip"})
    assert r.getheader("Content-Encoding") == "gzip" and len(body["items"]) == 5000 and time.time() - began < 2
    w = Watch(fake, "/apis/discovery.k8s.io/v1/endpointslices?watch=1&timeoutSeconds=1")
    began = time.time()
    assert sum(1 for _ in iter(w.next, None)) == 200 and time.time() - began < 3


def test_cli(tmp_path):
    manifest = tmp_path / "m.yaml"
    manifest.write_text(MANIFESTS)
    proc = subprocess.Popen([sys.executable, "kube_fake.py", "--port", "0", str(manifest)],
                            stdout=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        port = int(url.rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/api/v1/namespaces/apps/services")
        assert [i["metadata"]["name"] for i in json.loads(conn.getresponse().read())["items"]] == ["api", "db"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_apply_rejects_unknown_kinds_and_versions(kube):
    fake = kube()
    with pytest.raises(ValueError, match='no matches for kind "StatefulSet"'):
        fake.apply("apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: d}\n")
    with pytest.raises(ValueError, match="no matches"):
        fake.apply("apiVersion: traefik.io/v1\nkind: IngressRoute\nmetadata: {name: r}\n")
    assert fake.apply("apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Node, metadata: {name: n1}}\n"
                      ) == [("Node", None, "n1")]
    assert "namespace" not in fake.get("Node", "n1")["metadata"]
    status, _, err = call(fake, "/api/v1/services", headers={"Accept": "application/vnd.kubernetes.protobuf"})
    assert status == 406 and err["reason"] == "NotAcceptable"
