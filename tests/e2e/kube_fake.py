"""A FAKE Kubernetes API server (no real kube-apiserver, etcd or kind cluster can run where the
tests run), kept to what the kubernetesCRD, kubernetesIngress and kubernetesGateway providers use,
and shaped after the Kubernetes documentation "API Concepts"
(https://kubernetes.io/docs/reference/using-api/api-concepts/):

- Objects come from YAML manifests as `kubectl apply -f` takes them; each write takes the next
  value of one global resourceVersion (an integer sent as a string, as etcd's revision is) and
  keeps uid/creationTimestamp; metadata.generation grows when anything but metadata/status
  changes; a write that changes nothing is a no-op (no new resourceVersion, no event).
- Resource paths /api/v1/... and /apis/<group>/<version>/... (namespaced and cluster-wide),
  discovery (/api, /apis, /apis/<group>[/<version>]), /version and /healthz; errors are `Status`
  objects ({kind: Status, status: Failure, reason, code, message}).
- LIST ("Retrieving large results sets in chunks"): items in etcd key order (namespace/name),
  labelSelector, fieldSelector (metadata.name, metadata.namespace), `limit`/`continue`; a continued
  list is read at the first page's resourceVersion, and once that is compacted the answer is
  410 Gone with reason Expired.
- WATCH ("Efficient detection of changes"): from resourceVersion r every change after r still in
  history, then live ones; without r (or r="0") synthetic ADDED events for what exists first;
  newline-delimited JSON {type, object} in a chunked body. "410 Gone responses": a watch from
  before the compaction point gets one ERROR event whose object is a Status with code 410, reason
  Expired, message "too old resource version: r (c)", then the stream ends. "Watch bookmarks":
  with allowWatchBookmarks=true, BOOKMARK events carrying only kind, apiVersion and
  metadata.resourceVersion; sendInitialEvents=true ends its initial events with a bookmark
  annotated k8s.io/initial-events-end. With a selector, an object that starts or stops matching
  arrives as ADDED or DELETED (as the watch cache sends it). timeoutSeconds ends the stream.
- Status subresource (.../<name>/status): PUT and PATCH (merge patch) change only .status, and a
  main-resource write keeps .status, for the kinds that have one; a stale metadata.resourceVersion
  is 409 Conflict; a custom resource update without resourceVersion is 422.
- Transport details of Go's net/http as the apiserver uses it: bodies over 2048 bytes are chunked;
  a burst of watch events is cut into 2048-byte chunks regardless of event boundaries; bodies over
  128 KiB are gzipped when the client sends Accept-Encoding: gzip.

- tls=True: a CA and a certificate for 127.0.0.1/localhost made with the openssl CLI
  (tls_certs.Pki), the CA in .ca_file; token="...": without `Authorization: Bearer <token>`,
  401 with a Status (reason Unauthorized), on every path.

Test controls: apply()/delete(), compact(), drop_watches(), bookmark_now(), fail_next(),
pause()/resume() (port closed, then open again), requests, status_writes, write_kubeconfig().
Not reproduced: finalizers/graceful deletion, admission/validation, server-side apply, JSON patch,
protobuf, HTTP/2, RBAC, field selectors beyond metadata.*."""
import argparse
import base64
import bisect
import datetime
import gzip
import json
import pathlib
import re
import secrets
import shutil
import signal
import socket
import ssl
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml

CHUNK = 2048            # net/http's bufferBeforeChunkingSize: longer responses are chunked
GZIP_MIN = 128 * 1024   # the apiserver gzips bodies above this when the client accepts gzip
BUILTIN_GROUPS = ("", "discovery.k8s.io", "networking.k8s.io", "apps", "policy", "rbac.authorization.k8s.io",
                  "apiextensions.k8s.io")
RBAC = "rbac.authorization.k8s.io"
GW, TR = "gateway.networking.k8s.io", "traefik.io"

# group, served versions (preferred first), kind, plural, namespaced, has a status subresource
TABLE = [
    ("", ["v1"], "Service", "services", True, True),
    ("", ["v1"], "Endpoints", "endpoints", True, False),
    ("", ["v1"], "Secret", "secrets", True, False),
    ("", ["v1"], "ConfigMap", "configmaps", True, False),
    ("", ["v1"], "Pod", "pods", True, True),
    ("", ["v1"], "Namespace", "namespaces", False, True),
    ("", ["v1"], "Node", "nodes", False, True),
    ("discovery.k8s.io", ["v1"], "EndpointSlice", "endpointslices", True, False),
    ("networking.k8s.io", ["v1"], "Ingress", "ingresses", True, True),
    ("networking.k8s.io", ["v1"], "IngressClass", "ingressclasses", False, False),
    # stored and served only, so that a deployment's manifests apply as they are
    ("", ["v1"], "ServiceAccount", "serviceaccounts", True, False),
    ("apps", ["v1"], "Deployment", "deployments", True, True),
    ("policy", ["v1"], "PodDisruptionBudget", "poddisruptionbudgets", True, True),
    (RBAC, ["v1"], "ClusterRole", "clusterroles", False, False),
    (RBAC, ["v1"], "ClusterRoleBinding", "clusterrolebindings", False, False),
    (RBAC, ["v1"], "Role", "roles", True, False),
    (RBAC, ["v1"], "RoleBinding", "rolebindings", True, False),
    ("apiextensions.k8s.io", ["v1"], "CustomResourceDefinition", "customresourcedefinitions", False, True),
    (TR, ["v1alpha1"], "IngressRoute", "ingressroutes", True, False),
    (TR, ["v1alpha1"], "IngressRouteTCP", "ingressroutetcps", True, False),
    (TR, ["v1alpha1"], "IngressRouteUDP", "ingressrouteudps", True, False),
    (TR, ["v1alpha1"], "Middleware", "middlewares", True, False),
    (TR, ["v1alpha1"], "MiddlewareTCP", "middlewaretcps", True, False),
    (TR, ["v1alpha1"], "TraefikService", "traefikservices", True, False),
    (TR, ["v1alpha1"], "ServersTransport", "serverstransports", True, False),
    (TR, ["v1alpha1"], "ServersTransportTCP", "serverstransporttcps", True, False),
    (TR, ["v1alpha1"], "TLSOption", "tlsoptions", True, False),
    (TR, ["v1alpha1"], "TLSStore", "tlsstores", True, False),
    (GW, ["v1", "v1beta1"], "GatewayClass", "gatewayclasses", False, True),
    (GW, ["v1", "v1beta1"], "Gateway", "gateways", True, True),
    (GW, ["v1", "v1beta1"], "HTTPRoute", "httproutes", True, True),
    (GW, ["v1", "v1alpha2"], "GRPCRoute", "grpcroutes", True, True),
    (GW, ["v1beta1", "v1"], "ReferenceGrant", "referencegrants", True, False),
    (GW, ["v1", "v1alpha2", "v1alpha3"], "TLSRoute", "tlsroutes", True, True),
    (GW, ["v1alpha2"], "TCPRoute", "tcproutes", True, True),
    (GW, ["v1alpha2"], "UDPRoute", "udproutes", True, True),
    (GW, ["v1", "v1alpha3"], "BackendTLSPolicy", "backendtlspolicies", True, True),
]


class Resource:
    def __init__(self, group, versions, kind, plural, namespaced, status):
        self.group, self.versions, self.kind, self.plural = group, versions, kind, plural
        self.namespaced, self.status = namespaced, status
        self.builtin = group in BUILTIN_GROUPS
        self.qualified = f"{plural}.{group}" if group else plural

    def api_version(self, version=None):
        version = version or self.versions[0]
        return f"{self.group}/{version}" if self.group else version

    def __repr__(self):
        return f"<Resource {self.qualified}>"


RESOURCES = [Resource(*row) for row in TABLE]
BY_KIND = {r.kind: r for r in RESOURCES}
BY_PATH = {(r.group, v, r.plural): r for r in RESOURCES for v in r.versions}


def _version_rank(v):
    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", v)
    return (-{"alpha": 0, "beta": 1, None: 2}[m.group(2)], -int(m.group(1)), -int(m.group(3) or 0))


GROUPS = {}  # group -> versions, preferred first
for _r in RESOURCES:
    GROUPS.setdefault(_r.group, set()).update(_r.versions)
GROUPS = {g: sorted(vs, key=_version_rank) for g, vs in GROUPS.items()}

REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
           405: "MethodNotAllowed", 406: "NotAcceptable", 409: "Conflict", 410: "Expired",
           415: "UnsupportedMediaType", 422: "Invalid", 429: "TooManyRequests",
           500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}


def status_object(code, reason, message, details=None):
    out = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code}
    if details:
        out["details"] = details
    return out


class ApiError(Exception):
    def __init__(self, code, message, reason=None, res=None, name=None):
        super().__init__(message)
        details = None
        if res is not None:
            details = {"name": name or "", "kind": res.plural}
            if res.group:
                details["group"] = res.group
        self.status = status_object(code, reason or REASONS.get(code, "Unknown"), message, details)


def _not_found(res, name):
    return ApiError(404, f'{res.qualified} "{name}" not found', res=res, name=name)


def _dumps(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def _chunked(data, size=CHUNK):
    return b"".join(b"%x\r\n%s\r\n" % (len(data[i:i + size]), data[i:i + size])
                    for i in range(0, len(data), size))


def _now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _plain(value):
    """YAML timestamps as the RFC 3339 strings the API uses."""
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    target = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            target.pop(k, None)
        else:
            target[k] = merge_patch(target.get(k), v)
    return target


# -- selectors: lists of (key, op, values), op one of in, notin, exists, !exists -----------------
_KEY = r"[A-Za-z0-9][-A-Za-z0-9_./]*"


def parse_label_selector(text):
    """Raises ValueError (the apiserver answers 400) for what it cannot parse."""
    out = []
    for part in filter(None, (p.strip() for p in re.findall(r"(?:[^,(]|\([^)]*\))+", text or ""))):
        if m := re.fullmatch(rf"({_KEY})\s+(in|notin)\s+\(([^)]*)\)", part):
            out.append((m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",")}))
        elif m := re.fullmatch(rf"({_KEY})\s*(==|=|!=)\s*([-A-Za-z0-9_.]*)", part):
            out.append((m.group(1), "notin" if m.group(2) == "!=" else "in", {m.group(3)}))
        elif m := re.fullmatch(rf"(!?)\s*({_KEY})", part):
            out.append((m.group(2), "!exists" if m.group(1) else "exists", None))
        else:
            raise ValueError(f"unable to parse requirement: {part!r}")
    return out


def parse_field_selector(text):
    out = []
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        m = re.fullmatch(r"([\w.]+)\s*(==|=|!=)\s*(.*)", part)
        if not m:
            raise ValueError(f"invalid selector: '{part}'; can't understand '{part}'")
        if m.group(1) not in ("metadata.name", "metadata.namespace"):
            raise ValueError(f"field label not supported: {m.group(1)}")
        out.append((m.group(1)[9:], "notin" if m.group(2) == "!=" else "in", {m.group(3)}))
    return out


def _holds(fields, key, op, values):
    if op == "in":
        return fields.get(key) in values
    if op == "notin":
        return fields.get(key) not in values
    return (key in fields) == (op == "exists")


def _matches(obj, lsel, fsel):
    meta = obj["metadata"]
    fields = {"name": meta["name"], "namespace": meta.get("namespace", "")} if fsel else None
    return all(_holds(meta.get("labels") or {}, *r) for r in lsel) and all(_holds(fields, *r) for r in fsel)


# -- the store ----------------------------------------------------------------------------------
class _Rec:
    """One stored object at one resourceVersion; never changed after it is stored."""
    __slots__ = ("obj", "key", "ns", "name", "rv", "cache")

    def __init__(self, obj, key, ns, name, rv):
        self.obj, self.key, self.ns, self.name, self.rv, self.cache = obj, key, ns, name, rv, {}

    def json(self, api_version, typed=True):
        """The object's JSON, serialised once per (apiVersion, typed)."""
        data = self.cache.get((api_version, typed))
        if data is None:
            obj = self.obj
            if not typed:
                obj = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
            elif obj["apiVersion"] != api_version:
                obj = dict(obj, apiVersion=api_version)
            data = self.cache[(api_version, typed)] = _dumps(obj)
        return data


class _Watch:
    __slots__ = ("res", "queue", "sock", "dropped", "bm_seq", "min_rv")

    def __init__(self, res, sock, min_rv):
        self.res, self.sock, self.min_rv = res, sock, min_rv
        self.queue, self.dropped, self.bm_seq = [], False, 0


class KubeFake:
    """In-process fake API server; every method is thread-safe."""
    VERSION = {"major": "1", "minor": "31", "gitVersion": "v1.31.0",
               "gitCommit": "9edcffcde5595e8a5b1a35f88c421764e575afce", "gitTreeState": "clean",
               "buildDate": "2024-08-13T07:28:49Z", "goVersion": "go1.22.5", "compiler": "gc",
               "platform": "linux/amd64"}

    def __init__(self, manifests=None, tls=False, token=None, bookmark_interval=1.0, port=0,
                 typed_list_items=True):
        self.token = token
        self.bookmark_interval = bookmark_interval
        # The real apiserver leaves kind/apiVersion out of a built-in type's LIST items (custom
        # resources keep them); False reproduces that.
        self.typed_list_items = typed_list_items
        self.requests = []       # (time, method, path with query)
        self.status_writes = []  # (kind, namespace or None, name, status dict, time)
        self.cond = threading.Condition()
        self.rv = 0
        self.compacted = 0       # watches/continues from before this RV answer 410
        self.history = []        # (rv, resource, type, record, previous record or None)
        self.store = {r: {} for r in RESOURCES}  # resource -> {"ns/name" or "name": _Rec}
        self.watches = set()
        self.conns = set()
        self.fail = [0, 500]
        self.bm_seq = 0
        self.ca_file = self._tmp = self._ssl = None
        if tls:
            from tls_certs import Pki
            self._tmp = tempfile.mkdtemp(prefix="kube-fake-")
            pki = Pki(self._tmp)
            ca = pki.ca("kube-fake CA")
            leaf = pki.issue(ca, "kube-apiserver", dns=["localhost", "kubernetes.default.svc"],
                             ips=["127.0.0.1"])
            self.ca_file = ca.cert
            self._ssl = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._ssl.load_cert_chain(leaf.cert, leaf.key)
            self._ssl.set_alpn_protocols(["http/1.1"])
        self.server = None
        self.port = port
        self.resume()
        try:
            for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
                self.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
            for m in ([] if manifests is None else manifests if isinstance(manifests, list) else [manifests]):
                self.apply_file(m) if isinstance(m, pathlib.Path) else self.apply(m)
        except Exception:
            self.stop()
            raise

    @property
    def url(self):
        return f"{'https' if self._ssl else 'http'}://127.0.0.1:{self.port}"

    @property
    def resource_version(self):
        with self.cond:
            return self.rv

    # -- writes (under the lock) -----------------------------------------------------------------
    def _store(self, res, ns, name, body, mode):
        """mode: "create" (exists: 409), "update" (missing: 404; .status kept if the kind has a
        status subresource), "status" (only .status taken), "apply" (create or update; .status
        from the manifest when it has one, else kept). Returns (record, created)."""
        key = f"{ns}/{name}" if res.namespaced else name
        old = self.store[res].get(key)
        if mode == "create" and old:
            raise ApiError(409, f'{res.qualified} "{name}" already exists', "AlreadyExists", res, name)
        if mode in ("update", "status") and not old:
            raise _not_found(res, name)
        want = (body.get("metadata") or {}).get("resourceVersion")
        if old and mode in ("update", "status"):
            if want and want != old.obj["metadata"]["resourceVersion"]:
                raise ApiError(409, f'Operation cannot be fulfilled on {res.qualified} "{name}": the object '
                               "has been modified; please apply your changes to the latest version and "
                               "try again", "Conflict", res, name)
            if not want and not res.builtin:
                raise ApiError(422, f'{res.kind}.{res.group} "{name}" is invalid: metadata.resourceVersion: '
                               "Invalid value: 0x0: must be specified for an update", "Invalid", res, name)
        if mode == "status":
            new = json.loads(old.json(old.obj["apiVersion"]))
            new.pop("status", None)
            if body.get("status") is not None:
                new["status"] = body["status"]
        else:
            new = dict(body)
            if old and ((mode == "update" and res.status) or (mode == "apply" and "status" not in body)):
                new.pop("status", None)
                if "status" in old.obj:
                    new["status"] = old.obj["status"]
        meta = new["metadata"] = dict(new.get("metadata") or {})
        new["apiVersion"], new["kind"], meta["name"] = res.api_version(), res.kind, name
        if res.namespaced:
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        if res.kind == "Secret" and "stringData" in new:
            new["data"] = dict(new.get("data") or {}, **{k: base64.b64encode(str(v).encode()).decode()
                                                          for k, v in (new.pop("stringData") or {}).items()})
        if res.kind == "Namespace":
            meta["labels"] = dict(meta.get("labels") or {}, **{"kubernetes.io/metadata.name": name})
        if old:
            om = old.obj["metadata"]
            meta.update(uid=om["uid"], creationTimestamp=om["creationTimestamp"],
                        resourceVersion=om["resourceVersion"], generation=om["generation"])
            strip = ("metadata", "status")
            if {k: v for k, v in new.items() if k not in strip} != {k: v for k, v in old.obj.items() if k not in strip}:
                meta["generation"] += 1
            if new == old.obj:
                return old, False
        else:
            meta.update(uid=str(uuid.uuid4()), creationTimestamp=_now(), generation=1)
        self.rv += 1
        meta["resourceVersion"] = str(self.rv)
        rec = _Rec(new, key, ns if res.namespaced else None, name, self.rv)
        self.store[res][key] = rec
        self._emit(res, "MODIFIED" if old else "ADDED", rec, old)
        return rec, old is None

    def _remove(self, res, ns, name):
        old = self.store[res].pop(f"{ns}/{name}" if res.namespaced else name, None)
        if old is None:
            raise _not_found(res, name)
        self.rv += 1
        obj = dict(old.obj, metadata=dict(old.obj["metadata"], resourceVersion=str(self.rv)))
        rec = _Rec(obj, old.key, old.ns, name, self.rv)
        self._emit(res, "DELETED", rec, old)
        return rec

    def _emit(self, res, type_, rec, prev):
        event = (rec.rv, res, type_, rec, prev)
        self.history.append(event)
        for w in self.watches:
            if w.res is res:
                w.queue.append(event)
        self.cond.notify_all()

    def _snapshot(self, res, rv):
        """The resource's objects as they were at rv (rv >= self.compacted)."""
        objs = dict(self.store[res])
        for ev_rv, ev_res, _, rec, prev in reversed(self.history):
            if ev_rv <= rv:
                break
            if ev_res is res:
                if prev is None:
                    objs.pop(rec.key, None)
                else:
                    objs[rec.key] = prev
        return objs

    # -- test controls ---------------------------------------------------------------------------
    def apply(self, manifests):
        """Creates or updates, as `kubectl apply -f` does: YAML text (multi-document, `kind: List`
        too), a dict or a list of dicts. A namespace that does not exist yet is created. Returns
        [(kind, namespace or None, name)]."""
        if isinstance(manifests, str):
            docs = list(yaml.load_all(manifests, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
        else:
            docs = [manifests] if isinstance(manifests, dict) else list(manifests)
        docs = json.loads(json.dumps(docs, default=_plain))  # our own copy, in JSON's types
        docs = [i for d in docs if d for i in (d.get("items") or [] if d.get("kind") == "List" else [d])]
        out = []
        with self.cond:
            for doc in docs:
                res = BY_KIND.get(doc.get("kind"))
                version = str(doc.get("apiVersion", "")).rpartition("/")[2]
                if res is None or version not in res.versions or res.api_version(version) != doc.get("apiVersion"):
                    raise ValueError(f'no matches for kind "{doc.get("kind")}" in version "{doc.get("apiVersion")}"')
                meta = doc.get("metadata") or {}
                ns = (meta.get("namespace") or "default") if res.namespaced else None
                if ns and ns not in self.store[BY_KIND["Namespace"]]:
                    self._store(BY_KIND["Namespace"], None, ns, {"metadata": {"name": ns}}, "apply")
                self._store(res, ns, meta["name"], doc, "apply")
                out.append((res.kind, ns, meta["name"]))
        return out

    def apply_file(self, path):
        return self.apply(pathlib.Path(path).read_text())

    def delete(self, kind, name, namespace="default"):
        with self.cond:
            self._remove(BY_KIND[kind], namespace, name)

    def get(self, kind, name, namespace="default"):
        res = BY_KIND[kind]
        with self.cond:
            rec = self.store[res].get(f"{namespace}/{name}" if res.namespaced else name)
            return json.loads(rec.json(rec.obj["apiVersion"])) if rec else None

    def objects(self, kind, namespace=None):
        """Deep copies of the stored objects of a kind, in key order."""
        with self.cond:
            recs = [r for _, r in sorted(self.store[BY_KIND[kind]].items())
                    if namespace is None or r.ns == namespace]
            return [json.loads(r.json(r.obj["apiVersion"])) for r in recs]

    def compact(self):
        """An etcd compaction: every resourceVersion handed out so far becomes too old, so a watch
        or a continue token from before answers 410 Expired. (The revision moves on by one first,
        as a live cluster's does all the time.) Watches already open miss nothing."""
        with self.cond:
            self.rv += 1
            self.compacted = self.rv
            self.history = []

    def bookmark_now(self):
        with self.cond:
            self.bm_seq += 1
            self.cond.notify_all()

    def fail_next(self, n, status=500):
        """The next n requests (any path, watches too; after the token check) answer `status`."""
        with self.cond:
            self.fail = [n, status]

    def drop_watches(self):
        """Cuts every open watch connection (FIN) without ending its chunked body."""
        with self.cond:
            for w in self.watches:
                w.dropped = True
                _cut(w.sock)
            self.cond.notify_all()

    def pause(self):
        """Closes the listening socket (connections are refused) and cuts every connection."""
        server, self.server = self.server, None
        if server:
            server.shutdown()
            server.server_close()
        self.drop_watches()
        with self.cond:
            for conn in list(self.conns):
                _cut(conn)

    def resume(self):
        if self.server is None:
            self.server = _Server(("127.0.0.1", self.port), _Handler)
            self.server.fake, self.server.ssl_ctx = self, self._ssl
            self.port = self.server.server_address[1]
            threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                             daemon=True).start()

    def stop(self):
        self.pause()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def write_kubeconfig(self, path, namespace=None, embed_ca=False, insecure=False, name="kube-fake"):
        """A kubeconfig (clusters, users, contexts, current-context) for this server."""
        cluster = {"server": self.url}
        if self.ca_file and insecure:
            cluster["insecure-skip-tls-verify"] = True
        elif self.ca_file and embed_ca:
            cluster["certificate-authority-data"] = base64.b64encode(pathlib.Path(self.ca_file).read_bytes()).decode()
        elif self.ca_file:
            cluster["certificate-authority"] = self.ca_file
        context = {"cluster": name, "user": name, **({"namespace": namespace} if namespace else {})}
        doc = {"apiVersion": "v1", "kind": "Config", "preferences": {},
               "clusters": [{"name": name, "cluster": cluster}],
               "users": [{"name": name, "user": {"token": self.token} if self.token else {}}],
               "contexts": [{"name": name, "context": context}], "current-context": name}
        pathlib.Path(path).write_text(yaml.safe_dump(doc, sort_keys=False))
        return str(path)

    def write_service_account(self, directory, namespace="default"):
        """token, ca.crt and namespace files as /var/run/secrets/kubernetes.io/serviceaccount has
        them; returns the KUBERNETES_SERVICE_HOST/PORT environment of an in-cluster pod."""
        d = pathlib.Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        (d / "token").write_text(self.token or "")
        (d / "namespace").write_text(namespace)
        if self.ca_file:
            shutil.copy(self.ca_file, d / "ca.crt")
        return {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(self.port)}


def _cut(sock):
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain TCP shutdown, TLS or not
    except OSError:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def get_request(self):
        sock, addr = super().get_request()
        if self.ssl_ctx:
            sock = self.ssl_ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], OSError):  # clients going away, failed handshakes
            super().handle_error(request, client_address)


# -- HTTP ---------------------------------------------------------------------------------------
def _route(path):
    """(resource, version, namespace, name, subresource, watch) or None."""
    parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")]
    if parts[0] == "api" and len(parts) >= 3:
        group, version, rest = "", parts[1], parts[2:]
    elif parts[0] == "apis" and len(parts) >= 4:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    watch = rest[0] == "watch"
    rest = rest[1:] if watch else rest
    ns = None
    if len(rest) >= 3 and rest[0] == "namespaces" and getattr(BY_PATH.get((group, version, rest[2])), "namespaced", 0):
        ns, rest = rest[1], rest[2:]
    res = BY_PATH.get((group, version, rest[0])) if rest else None
    if res is None or len(rest) > 3 or (ns is not None and not res.namespaced):
        return None
    name, sub = (rest + [None, None])[1:3]
    if sub is not None and (sub != "status" or not res.status):
        return None
    return res, version, ns, name, sub, watch


def _int_param(q, name):
    try:
        return int(q.get(name) or 0)
    except ValueError:
        raise ApiError(400, f'invalid {name}: "{q[name]}"')


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = lambda self: self.serve()

    def setup(self):
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()
            self.request.settimeout(None)
        super().setup()
        self.fake = self.server.fake
        with self.fake.cond:
            self.fake.conns.add(self.request)

    def finish(self):
        with self.fake.cond:
            self.fake.conns.discard(self.request)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, *args):
        pass

    def reply(self, code, body, content_type="application/json", headers=()):
        data = body if isinstance(body, bytes) else _dumps(body)
        zipped = len(data) > GZIP_MIN and "gzip" in self.headers.get("Accept-Encoding", "")
        if zipped:
            data = gzip.compress(data, 4)
        chunked = len(data) > CHUNK and self.request_version == "HTTP/1.1"
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache, private")
        for k, v in headers:
            self.send_header(k, v)
        if zipped:
            self.send_header("Content-Encoding", "gzip")
        self.send_header(*(("Transfer-Encoding", "chunked") if chunked else ("Content-Length", str(len(data)))))
        self.end_headers()
        self.wfile.write(_chunked(data, 65536) + b"0\r\n\r\n" if chunked else data)

    def serve(self):
        fake, method = self.fake, self.command
        url = urllib.parse.urlsplit(self.path)
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        data = self.rfile.read(int(self.headers.get("Content-Length") or 0))  # clients send a length
        with fake.cond:
            fake.requests.append((time.time(), method, self.path))
        try:
            if fake.token:
                scheme, _, given = self.headers.get("Authorization", "").partition(" ")
                if scheme.lower() != "bearer" or given.strip() != fake.token:
                    raise ApiError(401, "Unauthorized")
            with fake.cond:
                failing = None
                if fake.fail[0] > 0:
                    fake.fail[0] -= 1
                    failing = fake.fail[1]
            if failing:
                raise ApiError(failing, f"injected by KubeFake.fail_next ({failing})")
            accept = self.headers.get("Accept", "")
            if accept and not any(t in accept for t in ("json", "*/*")):
                raise ApiError(406, f"only application/json is served, not {accept}")
            self.dispatch(method, url.path, q, data)
        except ApiError as e:
            retry = [("Retry-After", "1")] if e.status["code"] == 429 else []
            self.reply(e.status["code"], e.status, headers=retry)
        except OSError:
            self.close_connection = True

    def dispatch(self, method, path, q, data):
        fake = self.fake
        path = "/" + path.strip("/")
        if path in ("/healthz", "/livez", "/readyz"):
            return self.reply(200, b"ok", "text/plain; charset=utf-8")
        if path == "/version":
            return self.reply(200, fake.VERSION)
        if path == "/api":
            return self.reply(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{fake.port}"}]})
        groups = {g: {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs],
                      "preferredVersion": {"groupVersion": f"{g}/{vs[0]}", "version": vs[0]}}
                  for g, vs in GROUPS.items() if g}
        if path == "/apis":
            return self.reply(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": list(groups.values())})
        m = re.fullmatch(r"/apis/([^/]+)", path)
        if m and m.group(1) in groups:
            return self.reply(200, {"kind": "APIGroup", "apiVersion": "v1", **groups[m.group(1)]})
        m = re.fullmatch(r"/api/(v1)|/apis/([^/]+)/([^/]+)", path)
        if m:
            group, version = (m.group(2) or ""), (m.group(1) or m.group(3))
            found = [r for r in RESOURCES if r.group == group and version in r.versions]
            if found:
                verbs = ["create", "delete", "get", "list", "patch", "update", "watch"]
                listed = [{"name": r.plural, "singularName": r.kind.lower(), "namespaced": r.namespaced,
                           "kind": r.kind, "verbs": verbs} for r in found]
                listed += [{"name": r.plural + "/status", "singularName": "", "namespaced": r.namespaced,
                            "kind": r.kind, "verbs": ["get", "patch", "update"]} for r in found if r.status]
                return self.reply(200, {"kind": "APIResourceList", "apiVersion": "v1",
                                        "groupVersion": found[0].api_version(version), "resources": listed})
        route = _route(path)
        if route is None:
            raise ApiError(404, "the server could not find the requested resource")
        res, version, ns, name, sub, watch = route
        api_version = res.api_version(version)
        if method == "GET" and name is None:
            try:
                lsel = parse_label_selector(q.get("labelSelector"))
                fsel = parse_field_selector(q.get("fieldSelector"))
            except ValueError as e:
                raise ApiError(400, str(e))
            if watch or q.get("watch") in ("1", "t", "T", "true", "True", "TRUE"):
                return self.watch(res, api_version, ns, q, lsel, fsel)
            return self.list(res, api_version, ns, q, lsel, fsel)
        if res.namespaced and ns is None:
            if name is not None:
                raise ApiError(404, "the server could not find the requested resource")
            raise ApiError(405, "the server does not allow this method on the requested resource")
        key = f"{ns}/{name}" if res.namespaced else name
        with fake.cond:  # nothing is written to the socket under the lock
            code, rec = 200, fake.store[res].get(key)
            if method == "POST" and name is None:
                code, rec = 201, self.create(res, ns, self.parse(data))
            elif name is None or method not in ("GET", "PUT", "PATCH", "DELETE"):
                raise ApiError(405, "the server does not allow this method on the requested resource")
            elif rec is None:
                raise _not_found(res, name)
            elif method == "DELETE":
                rec = fake._remove(res, ns, name)
            elif method in ("PUT", "PATCH"):
                obj = self.parse(data)
                if method == "PATCH":
                    self.check_patch_type(res)
                    obj = merge_patch(json.loads(rec.json(rec.obj["apiVersion"])), obj)
                elif (obj.get("metadata") or {}).get("name", name) != name:
                    raise ApiError(400, f"the name of the object ({obj['metadata']['name']}) does not match "
                                   f"the name on the URL ({name})")
                rec, _ = fake._store(res, ns, name, obj, "status" if sub else "update")
                if sub:
                    fake.status_writes.append((res.kind, ns, name, rec.obj.get("status"), time.time()))
            data = rec.json(api_version)
        self.reply(code, data)

    def create(self, res, ns, obj):
        meta = obj.setdefault("metadata", {})
        if res.namespaced and meta.get("namespace", ns) != ns:
            raise ApiError(400, "the namespace of the provided object does not match the namespace sent on the request")
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + secrets.token_hex(3)[:5]
        if not meta.get("name"):
            raise ApiError(422, f'{res.kind} "" is invalid: metadata.name: Required value: name or generateName is required')
        return self.fake._store(res, ns, meta["name"], obj, "create")[0]

    def check_patch_type(self, res):
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip()
        if ctype == "application/strategic-merge-patch+json" and not res.builtin:
            raise ApiError(415, "strategic merge patch is not supported for custom resources")
        if ctype not in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
            raise ApiError(415, "the body of the request was in an unknown format - accepted media types "
                           "include: application/merge-patch+json, application/strategic-merge-patch+json")

    def parse(self, data):
        try:
            obj = json.loads(data or b"null")
        except ValueError as e:
            raise ApiError(400, f"the object provided is unrecognized: {e}")
        if not isinstance(obj, dict):
            raise ApiError(400, "the object provided is unrecognized (must be a JSON object)")
        return obj

    def list(self, res, api_version, ns, q, lsel, fsel):
        fake = self.fake
        limit = _int_param(q, "limit")
        start = ""
        with fake.cond:
            if q.get("continue"):
                try:
                    token = json.loads(base64.urlsafe_b64decode(q["continue"]))
                    rv, start = int(token["rv"]), token["start"]
                except (ValueError, KeyError, TypeError) as e:
                    raise ApiError(400, f"continue key is not valid: {e}")
                if rv < fake.compacted:
                    raise ApiError(410, "The provided continue parameter is too old to display a consistent "
                                   "list result. You can start a new list without the continue parameter, or "
                                   "use the continue token in this response to retrieve the remainder of the "
                                   "results. Continuing with the provided token results in an inconsistent list "
                                   "- objects that were created, modified, or deleted between the time the first "
                                   "chunk was returned and now may show up in the list.")
                objs = fake._snapshot(res, rv)
            elif q.get("resourceVersionMatch") == "Exact" and q.get("resourceVersion", "").isdigit():
                rv = int(q["resourceVersion"])
                if rv < fake.compacted:
                    raise ApiError(410, f"too old resource version: {rv} ({fake.compacted})")
                objs = fake._snapshot(res, rv)
            else:
                rv, objs = fake.rv, fake.store[res]
            prefix = f"{ns}/" if ns is not None else ""
            keys = sorted(k for k in objs if k >= start and k.startswith(prefix))
            items, more = [], None
            for i, k in enumerate(keys):
                if _matches(objs[k].obj, lsel, fsel):
                    if limit and len(items) == limit:
                        more = i
                        break
                    items.append(objs[k])
            typed = fake.typed_list_items or not res.builtin
            data = b",".join(r.json(api_version, typed) for r in items)
        meta = {"resourceVersion": str(rv)}
        if more is not None:
            meta["continue"] = base64.urlsafe_b64encode(_dumps(
                {"v": "meta.k8s.io/v1", "rv": rv, "start": items[-1].key + "\x00"})).decode()
            if not lsel and not fsel:
                meta["remainingItemCount"] = len(keys) - more
        self.reply(200, b'{"kind":"%sList","apiVersion":"%s","metadata":%s,"items":[%s]}' % (
            res.kind.encode(), api_version.encode(), _dumps(meta), data))

    def watch(self, res, api_version, ns, q, lsel, fsel):
        fake = self.fake
        rv_text = q.get("resourceVersion", "")
        if rv_text and not rv_text.isdigit():
            raise ApiError(400, f'invalid resource version: "{rv_text}"')
        bookmarks = q.get("allowWatchBookmarks") in ("1", "true", "True")
        initial = q.get("sendInitialEvents") == "true" or rv_text in ("", "0")
        timeout = _int_param(q, "timeoutSeconds")  # 0 or none: no end (the real one ends in 30-60 min)
        deadline = time.monotonic() + timeout if timeout else None
        lines, end = [], False
        with fake.cond:
            w = _Watch(res, self.request, int(rv_text or 0))
            w.bm_seq = fake.bm_seq
            if initial:
                w.min_rv = fake.rv
                lines = [self.event_line("ADDED", r, api_version) for k, r in sorted(fake.store[res].items())
                         if (ns is None or r.ns == ns) and _matches(r.obj, lsel, fsel)]
                if q.get("sendInitialEvents") == "true" and bookmarks:
                    lines.append(self.bookmark(res, api_version, fake.rv, initial_end=True))
            elif w.min_rv < fake.compacted:
                lines, end = [b'{"type":"ERROR","object":%s}\n' % _dumps(status_object(
                    410, "Expired", f"too old resource version: {w.min_rv} ({fake.compacted})"))], True
            else:
                at = bisect.bisect_right(fake.history, w.min_rv, key=lambda e: e[0])
                w.queue = [e for e in fake.history[at:] if e[1] is res]
            if not end:
                fake.watches.add(w)
        next_bookmark = time.monotonic() + fake.bookmark_interval
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "no-cache, private")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            while True:
                if lines:
                    self.wfile.write(_chunked(b"".join(lines)))
                    lines = []
                if end:
                    self.wfile.write(b"0\r\n\r\n")
                    return
                with fake.cond:
                    bookmark = False
                    while not (w.queue or w.dropped or end or bookmark):
                        now = time.monotonic()
                        end = deadline is not None and now >= deadline
                        bookmark = bookmarks and (now >= next_bookmark or w.bm_seq != fake.bm_seq)
                        if not (end or bookmark):
                            waits = [deadline - now if deadline is not None else 1.0]
                            if bookmarks:
                                waits.append(next_bookmark - now)
                            fake.cond.wait(max(0.001, min(waits)))
                    if w.dropped:
                        self.close_connection = True
                        return
                    for event in w.queue:
                        line = self.filtered(event, api_version, ns, lsel, fsel, w.min_rv)
                        if line:
                            lines.append(line)
                    w.queue = []
                    if bookmark:
                        lines.append(self.bookmark(res, api_version, max(fake.rv, w.min_rv)))
                        next_bookmark, w.bm_seq = time.monotonic() + fake.bookmark_interval, fake.bm_seq
        except OSError:
            self.close_connection = True
        finally:
            with fake.cond:
                fake.watches.discard(w)

    @staticmethod
    def event_line(type_, rec, api_version):
        return b'{"type":"%s","object":%s}\n' % (type_.encode(), rec.json(api_version))

    @staticmethod
    def bookmark(res, api_version, rv, initial_end=False):
        meta = {"resourceVersion": str(rv)}
        if res.builtin:
            meta["creationTimestamp"] = None  # as a Go struct serialises it
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        return b'{"type":"BOOKMARK","object":%s}\n' % _dumps(
            {"kind": res.kind, "apiVersion": api_version, "metadata": meta})

    def filtered(self, event, api_version, ns, lsel, fsel, min_rv):
        """The watch line for a stored event, as the watch cache turns it for this watcher."""
        rv, _, type_, rec, prev = event
        if rv <= min_rv or (ns is not None and rec.ns != ns):
            return None
        now = _matches(rec.obj, lsel, fsel)
        if type_ == "MODIFIED" and (lsel or fsel):
            was = _matches(prev.obj, lsel, fsel)
            if now and not was:
                type_ = "ADDED"
            elif was and not now:  # the previous content, at the new resourceVersion
                obj = dict(prev.obj, apiVersion=api_version,
                           metadata=dict(prev.obj["metadata"], resourceVersion=str(rv)))
                return b'{"type":"DELETED","object":%s}\n' % _dumps(obj)
        return self.event_line(type_, rec, api_version) if now else None


# -- benchmark data and CLI -----------------------------------------------------------------------
def synthetic_objects(routes=5000, endpoints=20000, per_slice=100, namespace="default"):
    """Services with one EndpointSlice of `per_slice` endpoints each (`endpoints` in all) and
    `routes` IngressRoutes spread over them: dicts for KubeFake.apply()."""
    services = max(1, (endpoints + per_slice - 1) // per_slice)
    out = []
    for s in range(services):
        name = f"svc{s}"
        out.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace},
                    "spec": {"type": "ClusterIP", "clusterIP": f"10.96.{s // 250}.{s % 250 + 1}",
                             "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}})
        count = min(per_slice, endpoints - s * per_slice)
        out.append({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                    "metadata": {"name": f"{name}-abcde", "namespace": namespace,
                                 "labels": {"kubernetes.io/service-name": name}},
                    "addressType": "IPv4",
                    "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
                    "endpoints": [{"addresses": [f"10.{s // 250 + 1}.{s % 250}.{e + 1}"],
                                   "conditions": {"ready": True, "serving": True, "terminating": False}}
                                  for e in range(max(0, count))]})
    for r in range(routes):
        out.append({"apiVersion": "traefik.io/v1alpha1", "kind": "IngressRoute",
                    "metadata": {"name": f"route{r}", "namespace": namespace},
                    "spec": {"entryPoints": ["web"], "routes": [{
                        "match": f"Host(`r{r}.example.test`)", "kind": "Rule",
                        "services": [{"name": f"svc{r % services}", "port": 80}]}]}})
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description="A fake Kubernetes API server for tests and benchmarks.")
    p.add_argument("manifests", nargs="*", help="YAML manifests, as for kubectl apply -f")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--tls", action="store_true")
    p.add_argument("--token")
    p.add_argument("--bookmark-interval", type=float, default=1.0)
    p.add_argument("--kubeconfig", help="write a kubeconfig for this server to this path")
    p.add_argument("--synthetic", metavar="ROUTES,ENDPOINTS", help="add synthetic_objects(ROUTES, ENDPOINTS)")
    a = p.parse_args(argv)
    fake = KubeFake([pathlib.Path(m) for m in a.manifests], tls=a.tls, token=a.token,
                    bookmark_interval=a.bookmark_interval, port=a.port)
    if a.synthetic:
        fake.apply(synthetic_objects(*map(int, a.synthetic.split(","))))
    if a.kubeconfig:
        fake.write_kubeconfig(a.kubeconfig)
    print(fake.url, flush=True)
    if fake.ca_file:
        print(f"ca_file {fake.ca_file}", file=sys.stderr, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()  # removes the TLS files


if __name__ == "__main__":
    main()
