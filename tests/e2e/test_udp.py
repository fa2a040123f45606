"""UDP routers and services as Traefik v3 runs them (dynamic `udp` section, `/udp` entryPoints).

What is shown:
- a DNS query with `dig` through a UDP router to a small DNS server, and the answer back;
- a weighted UDP service splits new client sessions by weight;
- a client keeps its session (same server, same source port towards it) while it talks, and
  gets a new one after the entryPoint's `udp.timeout` of silence;
- a server that refuses (nothing listening) ends the session without harming the others;
- the API (/api/udp/*, overview), the open-sessions gauge and `causeway check`; a reload changes the service of new sessions.
"""
import re
import shutil
import socket
import struct
import subprocess
import threading
import time

import pytest

from admin_env import api_get
from harness import BIN, Causeway, free_udp_port, to_yaml, wait_until

needs_dig = pytest.mark.skipif(shutil.which("dig") is None, reason="dig (bind9-dnsutils) is not installed")


class DnsServer:
    """Answers every A query with `address`; records the source of each datagram."""

    def __init__(self, address):
        self.address = address
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.sources = []
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        self.sock.settimeout(0.2)
        while self.running:
            try:
                data, source = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            self.sources.append(source)
            if len(data) < 12:
                continue
            if data.startswith(b"PING"):
                self.sock.sendto(b"PONG " + data[4:], source)
                continue
            reply = self.answer(data)
            if reply:
                self.sock.sendto(reply, source)

    def answer(self, query):
        ident = query[:2]
        # The question: name labels up to the zero byte, then type and class.
        end = 12
        while end < len(query) and query[end] != 0:
            end += query[end] + 1
        question = query[12:end + 5]
        header = ident + struct.pack(">HHHHH", 0x8180, 1, 1, 0, 0)
        answer = struct.pack(">HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton(self.address)
        return header + question + answer

    def stop(self):
        self.running = False
        self.thread.join(2)
        self.sock.close()


@pytest.fixture
def dns():
    started = []

    def start(address):
        server = DnsServer(address)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def udp_config(routers, services):
    return {"udp.yml": to_yaml({"udp": {"routers": routers, "services": services}})}


def dig(port, name="example.com"):
    out = subprocess.run(["dig", "@127.0.0.1", "-p", str(port), name, "A", "+short", "+tries=1", "+time=2"],
                         capture_output=True, text=True, timeout=10)
    return out.stdout.strip()


def start(dynamic, timeout=None, api=False):
    extra = {"dns": {"udp": {"timeout": timeout}}} if timeout else None
    entrypoints = ("web", "traefik") if api else ("web",)
    return Causeway(entrypoints=entrypoints, udp=("dns",), dynamic=dynamic, entrypoint_extra=extra,
                    static_extra="api:\n  insecure: true\nmetrics:\n  prometheus: {}\n" if api else "")


def api(cw, path):
    status, _, body = api_get(cw, path)
    assert status == 200, (path, status, body)
    return body


def ask(sock, port, payload, timeout=2.0):
    sock.settimeout(timeout)
    sock.sendto(payload, ("127.0.0.1", port))
    try:
        data, _ = sock.recvfrom(65535)
        return data
    except socket.timeout:
        return None


@needs_dig
def test_dig_through_a_udp_router(dns):
    server = dns("192.0.2.10")
    cw = start(udp_config({"dns": {"entryPoints": ["dns"], "service": "dns"}},
                          {"dns": {"loadBalancer": {"servers": [{"address": f"127.0.0.1:{server.port}"}]}}}))
    try:
        assert wait_until(lambda: dig(cw.udp_ports["dns"]) == "192.0.2.10", 10)
        assert server.sources, "the DNS server saw no query"
    finally:
        cw.stop()


@needs_dig
def test_weighted_udp_service_splits_sessions(dns):
    a, b = dns("192.0.2.1"), dns("192.0.2.2")
    cw = start(udp_config(
        {"dns": {"service": "split"}},  # no entryPoints: every UDP entryPoint
        {"a": {"loadBalancer": {"servers": [{"address": f"127.0.0.1:{a.port}"}]}},
         "b": {"loadBalancer": {"servers": [{"address": f"127.0.0.1:{b.port}"}]}},
         "split": {"weighted": {"services": [{"name": "a", "weight": 3}, {"name": "b", "weight": 1}]}}}))
    try:
        port = cw.udp_ports["dns"]
        assert wait_until(lambda: dig(port) in ("192.0.2.1", "192.0.2.2"), 10)
        answers = [dig(port) for _ in range(40)]  # each dig is a new client port: a new session
        count_a = answers.count("192.0.2.1")
        count_b = answers.count("192.0.2.2")
        assert count_a + count_b == 40, answers
        # Sessions are spread over the workers, each with its own position in the 3:1 order.
        assert 22 <= count_a <= 36, (count_a, count_b)
    finally:
        cw.stop()


def test_session_kept_while_active_and_released_after_timeout(dns):
    server = dns("192.0.2.10")
    cw = start(udp_config({"dns": {"entryPoints": ["dns"], "service": "dns"}},
                          {"dns": {"loadBalancer": {"servers": [{"address": f"127.0.0.1:{server.port}"}]}}}),
               timeout="1s")
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        port = cw.udp_ports["dns"]
        assert wait_until(lambda: ask(client, port, b"PING-first--", 0.5) == b"PONG -first--", 10)
        for i in range(4):  # every 0.4 s: within the timeout, the session stays
            time.sleep(0.4)
            assert ask(client, port, b"PING-%07d" % i) == b"PONG -%07d" % i
        kept = {s for s in server.sources}
        assert len(kept) == 1, kept  # one session: one source port towards the server
        time.sleep(2.0)  # silence longer than udp.timeout: the session is released
        assert ask(client, port, b"PING-after--") == b"PONG -after--"
        assert len(set(server.sources)) == 2, server.sources
    finally:
        client.close()
        cw.stop()


def test_refusing_server_ends_only_its_session(dns):
    good = dns("192.0.2.10")
    dead_port = free_udp_port()  # nothing listens: ICMP port unreachable ends that session
    cw = start(udp_config(
        {"dns": {"entryPoints": ["dns"], "service": "dns"}},
        {"dns": {"loadBalancer": {"servers": [{"address": f"127.0.0.1:{dead_port}"},
                                              {"address": f"127.0.0.1:{good.port}"}]}}}))
    clients = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(8)]
    try:
        port = cw.udp_ports["dns"]
        answered = 0
        for i, c in enumerate(clients):
            if ask(c, port, b"PING-%07d" % i, 1.0) == b"PONG -%07d" % i:
                answered += 1
        # Round robin per worker: some sessions went to the dead server and got no answer; the
        # ones on the live server answered, and causeway still serves new clients.
        assert 1 <= answered < 8, answered
        fresh = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        clients.append(fresh)
        assert wait_until(lambda: ask(fresh, port, b"PING-again--", 0.5) == b"PONG -again--", 10)
    finally:
        for c in clients:
            c.close()
        cw.stop()


def test_api_check_and_reload(dns, tmp_path):
    first, second = dns("192.0.2.1"), dns("192.0.2.2")
    services = {"one": {"loadBalancer": {"servers": [{"address": f"127.0.0.1:{first.port}"}]}},
                "two": {"loadBalancer": {"servers": [{"address": f"127.0.0.1:{second.port}"}]}}}
    routers = {"dns": {"entryPoints": ["dns"], "service": "one"},
               "stray": {"entryPoints": ["web"], "service": "one"},      # web is a TCP entryPoint
               "broken": {"entryPoints": ["dns"], "service": "missing"}}
    cw = start(udp_config(routers, services), api=True)
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        port = cw.udp_ports["dns"]
        assert wait_until(lambda: ask(client, port, b"PING-0000001", 0.5) == b"PONG -0000001", 10)
        # The open session counts in the entryPoint's open connections, as UDP.
        metrics = api_get(cw, "/metrics")[2].decode()
        assert re.search(r'traefik_open_connections\{entrypoint="dns",protocol="UDP"\} [1-9]', metrics), metrics
        assert 'traefik_open_connections{entrypoint="web",protocol="TCP"}' in metrics
        router = api(cw, "/api/udp/routers/dns@file")
        assert router["status"] == "enabled" and router["service"] == "one" and router["using"] == ["dns"]
        stray = api(cw, "/api/udp/routers/stray@file")
        assert stray["status"] == "disabled"
        assert any("is not a UDP entryPoint" in e for e in stray["error"]), stray
        broken = api(cw, "/api/udp/routers/broken@file")
        assert broken["status"] == "disabled" and any("does not exist" in e for e in broken["error"])
        service = api(cw, "/api/udp/services/one@file")
        assert service["type"] == "loadbalancer"
        assert service["serverStatus"] == {f"127.0.0.1:{first.port}": "UP"}
        assert service["usedBy"] == ["dns@file"]  # stray failed before naming its service
        names = [r["name"] for r in api(cw, "/api/udp/routers")]
        assert names == ["broken@file", "dns@file", "stray@file"]
        overview = api(cw, "/api/overview")
        assert overview["udp"]["routers"]["total"] == 3 and overview["udp"]["routers"]["errors"] == 2
        assert overview["udp"]["services"]["total"] == 2

        # causeway check reports the broken routers.
        out = subprocess.run([BIN, "check", f"--configFile={cw.static_path}"], capture_output=True, text=True,
                             cwd=str(cw.dir), timeout=30)
        assert out.returncode == 1, out.stdout
        assert "UDP router broken@file" in out.stdout and "does not exist" in out.stdout

        # A reload: new sessions go to the new service.
        routers["dns"]["service"] = "two"
        cw.write("udp.yml", to_yaml({"udp": {"routers": routers, "services": services}}))
        fresh = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            assert wait_until(lambda: api(cw, "/api/udp/routers/dns@file")["service"] == "two", 10)
            before = len(second.sources)
            assert ask(fresh, port, b"PING-0000002") == b"PONG -0000002"
            assert len(second.sources) == before + 1
        finally:
            fresh.close()
    finally:
        client.close()
        cw.stop()
