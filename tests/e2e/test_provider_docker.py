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
- the engine going away keeps the configuration and shows a warning until it is back;
- TCP and UDP labels are wired to the container's address as Traefik wires them.

Reference: docs/providers.md ("Docker")."""
import socket
import threading
from collections import Counter

import pytest

from docker_fake import DockerFake
from harness import Causeway, provider_outage, wait_until
from tcp_peers import BYE, EchoServer, exchange
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


def test_tcp_and_udp_labels_are_wired_to_the_container(engine):
    """`traefik.tcp.*` and `traefik.udp.*` labels as Traefik wires them: a TCP router without a
    service gets the container's service, whose server is the container's address and the
    port label (or its lowest exposed port); the same for UDP. A PostgreSQL-like container
    is reached through the TCP router, a DNS-like one through the UDP router."""
    echo = EchoServer().start()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.settimeout(0.2)
    udp_port = udp.getsockname()[1]
    running = [True]

    def answer():
        while running[0]:
            try:
                data, source = udp.recvfrom(2048)
            except OSError:
                continue
            udp.sendto(b"pong:" + data, source)
    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    engine.add("db", {"traefik.tcp.routers.db.rule": "HostSNI(`*`)",
                      "traefik.tcp.routers.db.entrypoints": "pg"}, ports=[echo.port])
    engine.add("dns", {"traefik.udp.routers.dns.entrypoints": "dns",
                       "traefik.udp.services.resolver.loadbalancer.server.port": str(udp_port)}, ports=[9])
    providers = {"docker": {"endpoint": f"unix://{engine.path}"}}
    cw = Causeway(providers_extra=providers, entrypoints=("pg", "traefik"), udp=("dns",),
                  static_extra="api:\n  insecure: true\n")
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        def tcp_ok():
            data, how = exchange(cw.port("pg"), b"select 1\n", 2.0)
            return data == b"select 1\n" + BYE
        wait_until(tcp_ok, timeout=10, message="the TCP router from docker labels")

        def udp_ok():
            client.settimeout(0.5)
            client.sendto(b"q", ("127.0.0.1", cw.udp_ports["dns"]))
            try:
                return client.recvfrom(2048)[0] == b"pong:q"
            except socket.timeout:
                return False
        wait_until(udp_ok, timeout=10, message="the UDP router from docker labels")
    finally:
        running[0] = False
        client.close()
        cw.stop()
        thread.join(2)
        udp.close()
        echo.stop()
