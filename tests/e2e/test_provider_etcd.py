"""providers.etcd end to end: a real etcd (Debian's etcd-server) holds the dynamic configuration
in Traefik's KV layout, written with etcdctl; causeway serves it and follows every change through
one watch (under wrk load, without a failed request); while etcd is gone the last good
configuration keeps serving and the outage is an API warning; when etcd is back the watch
resumes from the last revision seen, and when that revision was compacted away every key is read
again; with authentication on, the provider logs in; a malformed key or an unknown field is an
error naming the key, and the rest keeps serving.

Reference: docs/providers.md ("etcd")."""
import json
import shutil
import subprocess
import urllib.request

from etcd_peer import Gate, needs_etcd, start_etcd  # noqa: F401 (fixture)
from harness import BIN, Causeway, provider_outage, to_yaml, wait_until
from mwkit import get

pytestmark = needs_etcd


def app_keys(upstream, rule="Host(`app.test`)"):
    return {
        "traefik/http/routers/app/rule": rule,
        "traefik/http/routers/app/service": "app",
        "traefik/http/routers/app/entryPoints/0": "web",
        "traefik/http/routers/app/middlewares/0": "tag",
        "traefik/http/middlewares/tag/headers/customResponseHeaders/X-From": "etcd",
        "traefik/http/services/app/loadBalancer/servers/0/url": upstream,
    }


def write(etcd, pairs):
    for key, value in pairs.items():
        etcd.put(key, value)


def start(port, dynamic=None, **options):
    providers = {"etcd": {"endpoints": [f"127.0.0.1:{port}"], **options}}
    return Causeway(dynamic=dynamic or {}, providers_extra=providers, entrypoints=("web", "traefik"),
                    static_extra="api:\n  insecure: true\n")






def test_serves_follows_and_resumes(start_whoami, start_etcd):
    etcd = start_etcd()
    w = start_whoami()
    write(etcd, app_keys(w.url))
    # A file router may name the etcd service, qualified as Traefik does.
    cw = start(etcd.port, {"f.yml": to_yaml({"http": {"routers": {"viafile": {
        "rule": "Host(`file.test`)", "service": "app@etcd"}}}})})
    try:
        wait_until(lambda: get(cw, "app.test")[0] == 200, timeout=10, message="served from etcd")
        assert get(cw, "app.test")[1].get("x-from") == "etcd"
        assert get(cw, "file.test")[0] == 200

        # A change arrives through the watch: no polling interval to wait for.
        etcd.put("traefik/http/routers/app/rule", "Host(`app2.test`)")
        wait_until(lambda: get(cw, "app2.test")[0] == 200, timeout=5, message="change served")
        assert get(cw, "app.test")[0] == 404

        # Changes under load: wrk sees no failed request while routers come and go.
        if shutil.which("wrk"):
            load = subprocess.Popen(["wrk", "-t1", "-c8", "-d3s", "-H", "Host: app2.test", cw.url()],
                                    stdout=subprocess.PIPE, text=True)
            for i in range(5):
                write(etcd, {f"traefik/http/routers/extra{i}/rule": f"Host(`e{i}.test`)",
                             f"traefik/http/routers/extra{i}/service": "app"})
                etcd.delete(f"traefik/http/routers/extra{i - 1}/rule")
            out, _ = load.communicate(timeout=30)
            assert "requests in" in out and "Non-2xx" not in out and "Socket errors" not in out, out
        wait_until(lambda: get(cw, "e4.test")[0] == 200, timeout=5, message="last extra router")
        assert get(cw, "e3.test")[0] == 404

        # etcd gone: the last good configuration keeps serving; the outage is said once and
        # shown in the API (and so the dashboard) while it lasts.
        etcd.stop(keep=True)
        wait_until(lambda: "cannot read the configuration" in cw.output(), timeout=10, message="outage")
        assert get(cw, "app2.test")[0] == 200
        wait_until(lambda: provider_outage(cw), timeout=10, message="provider warning in the API")
        assert cw.output().count("cannot read the configuration") == 1
        # …and in the overview's provider status, with the time of the last update.
        with urllib.request.urlopen(cw.url("traefik", "/api/overview"), timeout=5) as r:
            status = json.loads(r.read())["providerStatus"]
        assert "cannot read" in status["etcd"]["lastError"] and status["etcd"]["lastUpdate"].endswith("Z")
        assert status["file"]["lastError"] == ""

        # Back with its data: the watch resumes from the revision it had, and what is written now
        # is served without the keys being read whole again.
        etcd.restart()
        etcd.put("traefik/http/routers/app/rule", "Host(`app3.test`)")
        wait_until(lambda: get(cw, "app3.test")[0] == 200, timeout=40, message="etcd back")
        assert "the store answers again" in cw.output()
        assert "reading every key again" not in cw.output()
        wait_until(lambda: not provider_outage(cw), timeout=10, message="provider warning cleared")
        assert get(cw, "e4.test")[0] == 200
    finally:
        cw.stop()


def test_compacted_revision_is_read_whole(start_whoami, start_etcd):
    """Cut off while etcd goes on: changes made meanwhile, then compacted away, are still seen,
    by reading every key again when the watch cannot resume."""
    etcd = start_etcd()
    gate = Gate(etcd.port)
    w = start_whoami()
    write(etcd, app_keys(w.url))
    write(etcd, {"traefik/http/routers/gone/rule": "Host(`gone.test`)", "traefik/http/routers/gone/service": "app"})
    cw = start(gate.port)
    try:
        wait_until(lambda: get(cw, "app.test")[0] == 200, timeout=10, message="served")
        assert get(cw, "gone.test")[0] == 200
        gate.shut()
        wait_until(lambda: provider_outage(cw), timeout=10, message="cut off")
        etcd.put("traefik/http/routers/app/rule", "Host(`later.test`)")
        etcd.delete("traefik/http/routers/gone/rule")
        etcd.delete("traefik/http/routers/gone/service")
        etcd.compact()
        gate.open()
        wait_until(lambda: get(cw, "later.test")[0] == 200, timeout=40, message="read whole")
        assert get(cw, "gone.test")[0] == 404
        assert "reading every key again" in cw.output()
        assert get(cw, "app.test")[0] == 404
    finally:
        cw.stop()
        gate.close()


def test_authentication_and_bad_keys(start_whoami, start_etcd, tmp_path):
    etcd = start_etcd()
    etcd.ctl("user", "add", "root:s3cret")
    etcd.ctl("auth", "enable")
    etcd.user = "root:s3cret"
    w = start_whoami()
    write(etcd, app_keys(w.url))
    # Wrong keys next to good ones: errors name the key; the rest serves.
    write(etcd, {"traefik/http/routers//rule": "Host(`x`)",
                 "traefik/http/routers/typo/rul": "Host(`typo.test`)",
                 "traefik/http/routers/typo/service": "app"})
    cw = start(etcd.port, username="root", password="s3cret")
    try:
        wait_until(lambda: get(cw, "app.test")[0] == 200, timeout=10, message="served with auth")
        wait_until(lambda: "traefik/http/routers//rule" in cw.output(), timeout=10, message="bad key named")
        assert "rul" in cw.output()
        etcd.put("traefik/http/routers/app/rule", "Host(`authed.test`)")
        wait_until(lambda: get(cw, "authed.test")[0] == 200, timeout=5, message="watch with auth")
    finally:
        cw.stop()

    # causeway check: the same keys, read once; a wrong password is a warning that says why.
    static = tmp_path / "etcd-check.yml"
    for password, expect in (("s3cret", "traefik/http/routers//rule"), ("wrong", "authentication failed")):
        static.write_text(to_yaml({"entryPoints": {"web": {"address": "127.0.0.1:0"}}, "providers": {
            "etcd": {"endpoints": [f"127.0.0.1:{etcd.port}"], "username": "root", "password": password}}}))
        out = subprocess.run([BIN, "check", f"--configFile={static}"], capture_output=True, text=True,
                             timeout=30)
        assert expect in out.stdout + out.stderr, out.stdout + out.stderr
