"""providers.consul end to end, against a FAKE of Consul's KV HTTP API (consul_fake.py: Debian
12 has no Consul): the configuration in Traefik's KV layout is served and followed through
blocking queries (a change is seen at once, under wrk load without a failed request); while
Consul is gone the last good configuration keeps serving and the outage is an API warning; when
it is back, or restored from a snapshot at a lower index, the keys are read again; the ACL token
is sent; bad keys are errors naming the key.

Reference: docs/providers.md ("Consul KV")."""
import shutil
import subprocess
import time

import pytest

from consul_fake import ConsulFake
from harness import BIN, Causeway, provider_outage, to_yaml, wait_until
from mwkit import get


@pytest.fixture
def consul():
    fakes = []

    def start(**kwargs):
        fake = ConsulFake(**kwargs)
        fakes.append(fake)
        return fake

    yield start
    for fake in fakes:
        fake.stop()


def app_keys(upstream, rule="Host(`app.test`)"):
    return {
        "traefik/http/routers/app/rule": rule,
        "traefik/http/routers/app/service": "app",
        "traefik/http/routers/app/middlewares/0": "tag",
        "traefik/http/middlewares/tag/headers/customResponseHeaders/X-From": "consul",
        "traefik/http/services/app/loadBalancer/servers/0/url": upstream,
    }


def start(port, **options):
    providers = {"consul": {"endpoints": [f"127.0.0.1:{port}"], **options}}
    return Causeway(providers_extra=providers, entrypoints=("web", "traefik"),
                    static_extra="api:\n  insecure: true\n")


def test_serves_follows_and_survives(start_whoami, consul):
    fake = consul()
    w = start_whoami()
    for k, v in app_keys(w.url).items():
        fake.put(k, v)
    fake.put("traefik/", "")  # a folder entry, as the Consul UI makes: not a value
    cw = start(fake.port)
    try:
        wait_until(lambda: get(cw, "app.test")[0] == 200, timeout=10, message="served from consul")
        assert get(cw, "app.test")[1].get("x-from") == "consul"

        # A blocking query returns on the change: seen well within a second or two.
        began = time.time()
        fake.put("traefik/http/routers/app/rule", "Host(`app2.test`)")
        wait_until(lambda: get(cw, "app2.test")[0] == 200, timeout=5, message="change served")
        assert time.time() - began < 4
        assert get(cw, "app.test")[0] == 404

        if shutil.which("wrk"):
            load = subprocess.Popen(["wrk", "-t1", "-c8", "-d3s", "-H", "Host: app2.test", cw.url()],
                                    stdout=subprocess.PIPE, text=True)
            for i in range(5):
                fake.put(f"traefik/http/routers/extra{i}/rule", f"Host(`e{i}.test`)")
                fake.put(f"traefik/http/routers/extra{i}/service", "app")
                fake.delete(f"traefik/http/routers/extra{i - 1}/", recurse=True)
            out, _ = load.communicate(timeout=30)
            assert "requests in" in out and "Non-2xx" not in out and "Socket errors" not in out, out
        wait_until(lambda: get(cw, "e4.test")[0] == 200, timeout=5, message="last extra router")
        assert get(cw, "e3.test")[0] == 404

        # Consul gone: the last good configuration keeps serving, the outage is in the API.
        fake.stop()
        wait_until(lambda: provider_outage(cw), timeout=10, message="outage shown")
        assert get(cw, "app2.test")[0] == 200
        assert cw.output().count("cannot read the configuration") == 1
        fake.start()
        fake.put("traefik/http/routers/app/rule", "Host(`app3.test`)")
        wait_until(lambda: get(cw, "app3.test")[0] == 200, timeout=40, message="consul back")
        wait_until(lambda: not provider_outage(cw), timeout=10, message="outage cleared")

        # A store that answers garbage: an error that says so; the configuration stays.
        # (The blocking query held now still answers sense; the next one gets the garbage.)
        fake.garbage = True
        fake.put("traefik/http/middlewares/unused/headers/customResponseHeaders/X", "1")
        wait_until(lambda: provider_outage(cw), timeout=15, message="garbage reported")
        assert "not a JSON list of keys" in cw.output()
        assert get(cw, "app3.test")[0] == 200
        fake.garbage = False
        fake.put("traefik/http/routers/app/rule", "Host(`sense.test`)")
        wait_until(lambda: get(cw, "sense.test")[0] == 200, timeout=40, message="sense again")

        # Restored from a snapshot at a lower index: read again from scratch.
        fake.restore(app_keys(w.url, "Host(`restored.test`)"))
        wait_until(lambda: get(cw, "restored.test")[0] == 200, timeout=10, message="restore read")
        assert get(cw, "e4.test")[0] == 404
    finally:
        cw.stop()


def test_token_bad_keys_and_check(start_whoami, consul, tmp_path):
    fake = consul(token="acl-s3cret")
    w = start_whoami()
    for k, v in {**app_keys(w.url), "traefik/http/routers/typo/rul": "Host(`t`)",
                 "traefik/http/routers/typo/service": "app"}.items():
        fake.put(k, v)
    cw = start(fake.port, token="acl-s3cret")
    try:
        wait_until(lambda: get(cw, "app.test")[0] == 200, timeout=10, message="served with the token")
        wait_until(lambda: "traefik/http/routers/typo/rul" in cw.output(), timeout=10, message="bad key named")
    finally:
        cw.stop()
    static = tmp_path / "static.yml"
    for token, expect in (("acl-s3cret", "traefik/http/routers/typo/rul"), ("wrong", "Consul answered 403")):
        static.write_text(to_yaml({"entryPoints": {"web": {"address": "127.0.0.1:0"}}, "providers": {
            "consul": {"endpoints": [f"127.0.0.1:{fake.port}"], "token": token}}}))
        out = subprocess.run([BIN, "check", f"--configFile={static}"], capture_output=True, text=True, timeout=30)
        assert expect in out.stdout + out.stderr, out.stdout + out.stderr
