"""providers.docker end to end, against a FAKE of the Docker Engine API on a unix socket
(docker_fake.py: no container image can be pulled where the tests run), with real whoami
servers standing for the containers' processes (each "container" has the IP 127.0.0.1 and exposes its
whoami's port):

- Compose replicas (com.docker.compose.service/project) become one service `web-shop` with both
  servers and the default router Host(`web-shop`);
- labels define a router, a middleware and the port among several exposed;
- `traefik.enable=false`, a stopped container and an unhealthy one are not served; the events
  stream makes a start or a stop served at once;
- a bad rule in a label disables that router only; two containers defining one service
  differently are an error naming both;
- the engine going away keeps the configuration and shows a warning until it is back.

Reference: docs/providers.md ("Docker")."""
from collections import Counter

import pytest

from docker_fake import DockerFake
from harness import Causeway, provider_outage, wait_until
from mwkit import get


@pytest.fixture
def engine(tmp_path):
    fake = DockerFake(str(tmp_path / "docker.sock"))
    yield fake
    fake.close()


def start(engine, **options):
    providers = {"docker": {"endpoint": f"unix://{engine.path}", **options}}
    return Causeway(providers_extra=providers, entrypoints=("web", "traefik"),
                    static_extra="api:\n  insecure: true\n")


def names(cw, host, n=12):
    """Which whoami answered, over n requests."""
    seen = Counter()
    for _ in range(n):
        status, _, body = get(cw, host)
        if status == 200:
            for line in body.decode().splitlines():
                if line.startswith("Name:"):
                    seen[line.split(":", 1)[1].strip()] += 1
        else:
            seen[status] += 1
    return seen


def test_labels_replicas_events_and_errors(start_whoami, engine):
    a, b, c = start_whoami("web-a"), start_whoami("web-b"), start_whoami("api")
    compose = {"com.docker.compose.project": "shop", "com.docker.compose.service": "web"}
    engine.add("shop-web-1", compose, ports=[a.port])
    web2 = engine.add("shop-web-2", compose, ports=[b.port])
    engine.add("api-1", {
        "traefik.http.routers.api.rule": "Host(`api.test`)",
        "traefik.http.routers.api.middlewares": "tag",
        "traefik.http.middlewares.tag.headers.customresponseheaders.X-From": "docker",
        "traefik.http.services.api.loadbalancer.server.port": str(c.port),
    }, ports=[9, c.port])
    engine.add("hidden", {"traefik.enable": "false"}, ports=[a.port])
    engine.add("sick", {}, ports=[a.port], health="unhealthy")
    engine.add("badrule", {"traefik.http.routers.bad.rule": "Host(`x`"}, ports=[a.port])
    cw = start(engine)
    try:
        wait_until(lambda: get(cw, "web-shop")[0] == 200, timeout=10, message="compose service served")
        assert set(names(cw, "web-shop")) == {"web-a", "web-b"}  # one service, both replicas
        status, headers, _ = get(cw, "api.test")
        assert status == 200 and headers.get("x-from") == "docker"
        assert get(cw, "hidden")[0] == 404
        assert get(cw, "sick")[0] == 404
        wait_until(lambda: "bad@docker" in cw.output(), timeout=10, message="bad rule reported")
        assert get(cw, "api.test")[0] == 200  # the rest serves

        # Events: a stopped replica leaves the service, a new container is served at once.
        engine.stop(web2)
        wait_until(lambda: set(names(cw, "web-shop", 6)) == {"web-a"}, timeout=5, message="stop seen")
        engine.add("late", {}, ports=[b.port])
        wait_until(lambda: get(cw, "late")[0] == 200, timeout=5, message="start seen")

        # One service defined differently by two containers: an error naming both.
        engine.add("dup-1", {"traefik.http.services.dup.loadbalancer.passhostheader": "true",
                             "traefik.http.routers.dup.rule": "Host(`dup`)"}, ports=[a.port])
        engine.add("dup-2", {"traefik.http.services.dup.loadbalancer.passhostheader": "false",
                             "traefik.http.routers.dup.rule": "Host(`dup`)"}, ports=[b.port])
        wait_until(lambda: "dup-1 and dup-2" in cw.output(), timeout=5, message="conflict reported")

        # The engine gone: the configuration stays, a warning says so until it is back.
        engine.stop_engine()
        wait_until(lambda: provider_outage(cw), timeout=15, message="outage shown")
        assert get(cw, "late")[0] == 200
        engine.start_engine()
        engine.add("after", {}, ports=[c.port])
        wait_until(lambda: get(cw, "after")[0] == 200, timeout=40, message="engine back")
        wait_until(lambda: not provider_outage(cw), timeout=10, message="warning cleared")
    finally:
        cw.stop()


def test_exposed_by_default_off_default_rule_and_constraints(start_whoami, engine):
    w = start_whoami("team-a")
    engine.add("svc-a", {"traefik.enable": "true", "team": "a", "app": "shop"}, ports=[w.port])
    engine.add("svc-b", {"traefik.enable": "true", "team": "b"}, ports=[w.port])
    engine.add("svc-c", {"team": "a"}, ports=[w.port])  # not enabled
    cw = start(engine, exposedByDefault=False, constraints="Label(`team`, `a`)",
               defaultRule="Host(`{{ .Name }}.{{ index .Labels \"app\" | default \"x\" }}.test`)")
    try:
        wait_until(lambda: get(cw, "svc-a.shop.test")[0] == 200, timeout=10, message="default rule")
        assert get(cw, "svc-b.x.test")[0] == 404  # the constraint
        assert get(cw, "svc-c.x.test")[0] == 404  # exposedByDefault off
    finally:
        cw.stop()
