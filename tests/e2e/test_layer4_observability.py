"""Metrics and access-log lines of TCP connections and UDP sessions (causeway's own; Traefik
has neither; docs/observability.md): when a connection or session ends, its router, service,
result, duration and bytes go into causeway_tcp_* / causeway_udp_* series and one access-log
line ("TCP"/"UDP" as the method and protocol, the SNI as the host, the bytes from and to the
client).

Peers: tcp_peers.EchoServer for TCP, a small UDP echo server here.
"""
import json
import socket
import threading
import time
import urllib.request

from harness import Causeway, to_yaml, wait_until
from tcp_peers import BYE, EchoServer, exchange


class UdpEcho:
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.sock.settimeout(0.2)
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while self.running:
            try:
                data, peer = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            self.sock.sendto(b"echo:" + data, peer)

    def stop(self):
        self.running = False
        self.thread.join(2)
        self.sock.close()


def metrics(cw):
    with urllib.request.urlopen(f"http://127.0.0.1:{cw.port('traefik')}/metrics", timeout=5) as r:
        return r.read().decode()


def sample(text, name, **labels):
    """The value of the series `name` whose labels include `labels`, or None."""
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_tcp_and_udp_sessions_are_counted_and_logged(tmp_path):
    tcp_server = EchoServer().start()
    udp_server = UdpEcho()
    log = tmp_path / "access.json"
    dynamic = {
        "tcp.yml": to_yaml({"tcp": {
            "routers": {"echo": {"entryPoints": ["web"], "rule": "HostSNI(`*`)", "service": "echo"}},
            "services": {"echo": {"loadBalancer": {"servers": [{"address": f"127.0.0.1:{tcp_server.port}"}]}}}}}),
        "udp.yml": to_yaml({"udp": {
            "routers": {"dgram": {"entryPoints": ["dgram"], "service": "dgram"}},
            "services": {"dgram": {"loadBalancer": {"servers": [{"address": f"127.0.0.1:{udp_server.port}"}]}}}}})}
    cw = Causeway(entrypoints=("web", "traefik"), udp=("dgram",), dynamic=dynamic,
                  entrypoint_extra={"dgram": {"udp": {"timeout": "300ms"}}},
                  static_extra=f"api:\n  insecure: true\nmetrics:\n  prometheus: {{}}\n"
                               f"accessLog:\n  filePath: {log}\n  format: json\n")
    try:
        payload = b"hello causeway\n"
        assert wait_until(lambda: exchange(cw.port("web"), payload)[0] == payload + BYE, 10), cw.output()[-2000:]

        # UDP: one datagram and its answer; the session ends after the 300 ms idle timeout.
        client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        client.settimeout(2)
        client.sendto(b"ping", ("127.0.0.1", cw.udp_ports["dgram"]))
        assert client.recvfrom(100)[0] == b"echo:ping", cw.output()[-2000:]
        client.close()

        def counted():
            text = metrics(cw)
            ok = sample(text, "causeway_tcp_connections_total", router="echo@file", service="echo@file", result="ok")
            udp = sample(text, "causeway_udp_sessions_total", router="dgram@file", result="ok")
            return text if ok and udp else None
        try:
            text = wait_until(counted, 10)
        except TimeoutError:
            raise AssertionError(metrics(cw)[-3000:] + "\n" + cw.output()[-2000:]) from None
        # Exactly what went through: the payload in; its echo and the peer's BYE out.
        assert sample(text, "causeway_tcp_connections_total", router="echo@file", result="ok") >= 1
        assert sample(text, "causeway_tcp_bytes_total", router="echo@file", direction="in") >= len(payload)
        assert sample(text, "causeway_tcp_bytes_total", router="echo@file", direction="out") >= len(payload + BYE)
        assert sample(text, "causeway_tcp_connection_duration_seconds_count", router="echo@file", entrypoint="web") >= 1
        assert sample(text, "causeway_udp_bytes_total", router="dgram@file", direction="in") == 4, text
        assert sample(text, "causeway_udp_bytes_total", router="dgram@file", direction="out") == 9, text

        def lines():
            found = [json.loads(x) for x in log.read_text().splitlines() if x.strip()] if log.exists() else []
            tcp = [x for x in found if x.get("RequestProtocol") == "TCP"]
            udp = [x for x in found if x.get("RequestProtocol") == "UDP"]
            return (tcp, udp) if tcp and udp else None
        try:
            tcp, udp = wait_until(lines, 10)
        except TimeoutError:
            raise AssertionError(log.read_text()[-3000:] if log.exists() else "no access log") from None
        # The harness's own readiness probe (connect, close) is a TCP connection too, with no bytes.
        sent = [x for x in tcp if x["RequestContentSize"] > 0]
        assert len(sent) == 1, tcp
        last = sent[0]
        assert last["RouterName"] == "echo@file" and last["ServiceName"] == "echo@file", last
        assert last["RequestMethod"] == "TCP" and last["entryPointName"] == "web"
        assert last["ServiceAddr"] == f"127.0.0.1:{tcp_server.port}"
        assert last["RequestContentSize"] == len(payload) and last["DownstreamContentSize"] == len(payload + BYE), tcp
        assert last["ClientHost"] == "127.0.0.1" and last["Duration"] > 0
        assert udp[-1]["RouterName"] == "dgram@file" and udp[-1]["RequestContentSize"] == 4
        assert udp[-1]["DownstreamContentSize"] == 9 and udp[-1]["Duration"] >= 300_000_000, udp
    finally:
        cw.stop()
        tcp_server.stop()
        udp_server.stop()


def test_a_refused_connection_counts_as_an_error(tmp_path):
    """No server answers: the connection is counted with result="error"."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    dynamic = {"tcp.yml": to_yaml({"tcp": {
        "routers": {"dead": {"entryPoints": ["web"], "rule": "HostSNI(`*`)", "service": "dead"}},
        "services": {"dead": {"loadBalancer": {"servers": [{"address": f"127.0.0.1:{port}"}]}}}}})}
    cw = Causeway(entrypoints=("web", "traefik"), dynamic=dynamic,
                  static_extra="api:\n  insecure: true\nmetrics:\n  prometheus: {}\n")
    try:
        time.sleep(0.3)
        with socket.create_connection(("127.0.0.1", cw.port("web")), timeout=5) as s:
            s.sendall(b"x")
            s.settimeout(5)
            try:
                s.recv(10)
            except OSError:
                pass
        assert wait_until(lambda: sample(metrics(cw), "causeway_tcp_connections_total", router="dead@file",
                                         result="error"), 10), cw.output()[-2000:]
    finally:
        cw.stop()
