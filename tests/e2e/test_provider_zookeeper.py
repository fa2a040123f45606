"""providers.zooKeeper end to end: a real ZooKeeper (Debian's zookeeper) holds the dynamic
configuration in Traefik's KV layout, written with zkCli.sh; causeway serves it and follows
changes through watches (under wrk load, without a failed request); while ZooKeeper is gone the
last good configuration keeps serving and the outage is an API warning; when it is back (with
its data) the keys are read again; a bad key is an error naming it.

Reference: docs/providers.md ("ZooKeeper")."""
import shutil
import subprocess

from harness import BIN, Causeway, provider_outage, to_yaml, wait_until
from mwkit import get
from tls_certs import Pki
from zk_peer import needs_zookeeper, start_zookeeper  # noqa: F401 (fixture)

pytestmark = needs_zookeeper


def app_keys(upstream, rule="Host(`app.test`)"):
    return {
        "traefik/http/routers/app/rule": rule,
        "traefik/http/routers/app/service": "app",
        "traefik/http/routers/app/middlewares/0": "tag",
        "traefik/http/middlewares/tag/headers/customResponseHeaders/X-From": "zookeeper",
        "traefik/http/services/app/loadBalancer/servers/0/url": upstream,
    }


def test_serves_follows_and_survives(start_whoami, start_zookeeper, tmp_path):
    zk = start_zookeeper()
    w = start_whoami()
    zk.write(app_keys(w.url))
    cw = Causeway(providers_extra={"zooKeeper": {"endpoints": [f"127.0.0.1:{zk.port}"]}},
                  entrypoints=("web", "traefik"), static_extra="api:\n  insecure: true\n")
    try:
        wait_until(lambda: get(cw, "app.test")[0] == 200, timeout=15, message="served from zookeeper")
        assert get(cw, "app.test")[1].get("x-from") == "zookeeper"

        # A watch fires on the change: served without polling.
        zk.write({"traefik/http/routers/app/rule": "Host(`app2.test`)"})
        wait_until(lambda: get(cw, "app2.test")[0] == 200, timeout=5, message="change served")
        assert get(cw, "app.test")[0] == 404

        if shutil.which("wrk"):
            load = subprocess.Popen(["wrk", "-t1", "-c8", "-d3s", "-H", "Host: app2.test", cw.url()],
                                    stdout=subprocess.PIPE, text=True)
            zk.write({f"traefik/http/routers/extra{i}/{field}": value for i in range(5)
                      for field, value in (("rule", f"Host(`e{i}.test`)"), ("service", "app"))})
            for i in range(4):
                zk.delete(f"traefik/http/routers/extra{i}")
            out, _ = load.communicate(timeout=30)
            assert "requests in" in out and "Non-2xx" not in out and "Socket errors" not in out, out
        wait_until(lambda: get(cw, "e4.test")[0] == 200, timeout=5, message="last extra router")
        assert get(cw, "e3.test")[0] == 404

        # Gone: the configuration stays; the outage is said once and shown in the API.
        zk.stop(keep=True)
        wait_until(lambda: provider_outage(cw), timeout=20, message="outage shown")
        assert get(cw, "app2.test")[0] == 200
        assert cw.output().count("cannot read the configuration") == 1
        zk.restart()
        zk.write({"traefik/http/routers/app/rule": "Host(`app3.test`)"})
        wait_until(lambda: get(cw, "app3.test")[0] == 200, timeout=40, message="zookeeper back")
        wait_until(lambda: not provider_outage(cw), timeout=10, message="outage cleared")
    finally:
        cw.stop()

    # A bad key names itself; `causeway check` reads the tree once.
    zk.write({"traefik/http/routers/app/rul": "Host(`typo`)"})
    static = tmp_path / "static.yml"
    static.write_text(to_yaml({"entryPoints": {"web": {"address": "127.0.0.1:0"}},
                               "providers": {"zooKeeper": {"endpoints": [f"127.0.0.1:{zk.port}"]}}}))
    out = subprocess.run([BIN, "check", f"--configFile={static}"], capture_output=True, text=True, timeout=30)
    assert "traefik/http/routers/app/rul" in out.stdout, out.stdout + out.stderr


def test_a_root_created_later_is_seen(start_whoami, start_zookeeper):
    """No /traefik at start: an exists watch sees it created (getChildren leaves no watch on a
    node that does not exist)."""
    zk = start_zookeeper()
    w = start_whoami()
    cw = Causeway(providers_extra={"zooKeeper": {"endpoints": [f"127.0.0.1:{zk.port}"]}})
    try:
        # Its first read (a warning naming the provider) can take a while on a loaded machine.
        wait_until(lambda: "zookeeper" in cw.output(), timeout=30, message="provider started")
        zk.write(app_keys(w.url))
        wait_until(lambda: get(cw, "app.test")[0] == 200, timeout=10, message="root created, then served")
    finally:
        cw.stop()


def test_over_tls(start_whoami, start_zookeeper, tmp_path):
    """ZooKeeper's secureClientPort: served over TLS with the CA given; another CA is an error
    that says the handshake failed."""
    pki = Pki(tmp_path / "pki")
    ca = pki.ca(rsa=True)
    server = pki.issue(ca, "127.0.0.1", ips=["127.0.0.1"], rsa=True)
    zk = start_zookeeper(tls=(server.cert, server.key))
    w = start_whoami()
    zk.write(app_keys(w.url))
    cw = Causeway(providers_extra={"zooKeeper": {"endpoints": [f"127.0.0.1:{zk.secure_port}"], "tls": {"ca": ca.cert}}})
    try:
        wait_until(lambda: get(cw, "app.test")[0] == 200, timeout=15, message="served over TLS")
        zk.write({"traefik/http/routers/app/rule": "Host(`tls2.test`)"})
        wait_until(lambda: get(cw, "tls2.test")[0] == 200, timeout=10, message="watch over TLS")
    finally:
        cw.stop()
    other = pki.ca(name="another CA", rsa=True)
    static = tmp_path / "static.yml"
    static.write_text(to_yaml({"entryPoints": {"web": {"address": "127.0.0.1:0"}}, "providers": {
        "zooKeeper": {"endpoints": [f"127.0.0.1:{zk.secure_port}"], "tls": {"ca": other.cert}}}}))
    out = subprocess.run([BIN, "check", f"--configFile={static}"], capture_output=True, text=True, timeout=30)
    assert "TLS handshake with ZooKeeper" in out.stdout, out.stdout + out.stderr
