"""HTTP/3 downstream (docs/http3.md): QUIC on the entryPoint's port number over UDP.

The client is ngtcp2's example client from Debian (`gtlsclient`, package ngtcp2-client), which
speaks HTTP/3 over QUIC v1 with GnuTLS. The upstream is a small Python server. Malformed
datagrams, stateless resets, version negotiation and the Initial flood are sent from raw UDP
sockets here: RFC 9000 packet headers are simple enough to write by hand (§17).
"""
import hashlib
import http.server
import json
import os
import pathlib
import random
import re
import signal
import socket
import socketserver
import subprocess
import threading
import time

import pytest

from harness import Causeway, to_yaml, wait_until
from tls_certs import Pki, curl_tls

GTLSCLIENT = "/usr/bin/gtlsclient"
# tests/tools/h3_fuzz_client.cpp, built beside causeway (ctest sets H3_FUZZ_CLIENT).
FUZZ_CLIENT = os.environ.get("H3_FUZZ_CLIENT") or str(
    pathlib.Path(os.environ.get("CAUSEWAY_BIN", "")).parent / "tests" / "h3_fuzz_client")
pytestmark = pytest.mark.skipif(not os.path.exists(GTLSCLIENT), reason="ngtcp2-client is not installed")


def pattern(n):
    """n deterministic bytes."""
    block = bytes(range(256)) * 256
    return (block * (n // len(block) + 1))[:n]


class Origin:
    """/size/N: N bytes; /slow/N: N pieces of 64 KiB, 100 ms apart; POST /sha: the body's
    sha256 and length; anything else: what the request looked like, as JSON."""

    def __init__(self):
        origin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _send(self, body, ctype="application/octet-stream"):
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path.startswith("/size/"):
                    self._send(pattern(int(self.path.split("/")[2])))
                elif self.path.startswith("/slow/"):
                    origin.slow_started.append(self.path)
                    pieces = int(self.path.split("/")[2])
                    self.send_response(200)
                    self.send_header("Content-Length", str(pieces * 65536))
                    self.end_headers()
                    for _ in range(pieces):
                        self.wfile.write(b"s" * 65536)
                        self.wfile.flush()
                        time.sleep(0.1)
                else:
                    seen = {"path": self.path, "method": self.command,
                            "headers": {k.lower(): v for k, v in self.headers.items()}}
                    origin.seen.append(seen)
                    self._send(json.dumps(seen).encode(), "application/json")

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length) if length else b""
                self._send(f"{hashlib.sha256(body).hexdigest()} {len(body)}".encode(), "text/plain")

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.seen = []
        self.slow_started = []  # /slow/ requests that reached the origin
        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    p = Pki(tmp_path_factory.mktemp("pki"))
    p.ca_cert = p.ca("causeway test CA")
    p.front = p.issue(p.ca_cert, "a.test", dns=["a.test"])
    p.other = p.issue(p.ca_cert, "b.test", dns=["b.test"])
    return p


@pytest.fixture(scope="module")
def origin():
    o = Origin()
    yield o
    o.stop()


def dynamic(pki, origin, service_url=None):
    return {"h3.yml": to_yaml({
        "http": {"routers": {"r": {"rule": "PathPrefix(`/`)", "service": "s", "tls": {}},
                             "b": {"rule": "Host(`b.test`)", "service": "s", "tls": {}},
                             # answered 403 before the body is read
                             "deny": {"rule": "PathPrefix(`/deny`)", "service": "s", "tls": {},
                                      "middlewares": ["nobody"]}},
                 "middlewares": {"nobody": {"ipAllowList": {"sourceRange": ["192.0.2.1/32"]}}},
                 "services": {"s": {"loadBalancer": {"servers": [
                     {"url": service_url or f"http://127.0.0.1:{origin.port}"}]}}}},
        "tls": {"certificates": [{"certFile": pki.front.cert, "keyFile": pki.front.key},
                                 {"certFile": pki.other.cert, "keyFile": pki.other.key}]}}) + "\n"}


def start(pki, origin, http3=None, static_extra="", workers=2, entrypoints=("websecure",), websecure=None, **kwargs):
    cw = Causeway(entrypoints=entrypoints, dynamic=dynamic(pki, origin), workers=workers,
                  entrypoint_extra={"websecure": {"http3": http3 or {}, **(websecure or {})}},
                  static_extra=static_extra, **kwargs)
    wait_until(lambda: curl_tls(cw.port("websecure"), "a.test", ca=pki.ca_cert).status == 200,
               message="https://a.test → 200")
    return cw


class H3Result:
    def __init__(self, proc, download):
        self.returncode = proc.returncode
        self.output = proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")
        self.download = download
        self.statuses = [int(s) for s in re.findall(r"\[:status: (\d+)\]", self.output)]

    def header(self, name):
        found = re.findall(r"\[" + re.escape(name.lower()) + r": ([^\]]*)\]", self.output)
        return found[0] if found else None

    def body(self, path):
        return (self.download / pathlib.Path(path).name).read_bytes()


def h3(port, *paths, host="a.test", tmp_path, args=(), timeout=30, address="127.0.0.1"):
    """gtlsclient GETs (or POSTs with --data) `paths` on one connection."""
    download = tmp_path / f"dl-{random.randrange(1 << 30)}"
    download.mkdir()
    urls = [f"https://{host}:{port}{p}" for p in (paths or ("/",))]
    proc = subprocess.run([GTLSCLIENT, "--no-quic-dump", "--exit-on-all-streams-close", f"--download={download}",
                           f"--timeout={timeout}s", *args, address, str(port), *urls],
                          capture_output=True, timeout=timeout + 15)
    return H3Result(proc, download)


def test_get_through_the_same_routers_with_alt_svc_on_tcp(pki, origin, tmp_path):
    cw = start(pki, origin)
    port = cw.port("websecure")
    # TLS over TCP announces HTTP/3 on the same port.
    tcp = curl_tls(port, "a.test", ca=pki.ca_cert)
    assert tcp.headers.get("alt-svc") == f'h3=":{port}"; ma=2592000'
    r = h3(port, "/hello?x=1", tmp_path=tmp_path)
    assert r.statuses == [200], r.output
    seen = json.loads(r.body("/hello?x=1") if (r.download / "hello?x=1").exists() else r.body("hello"))
    assert seen["path"] == "/hello?x=1"
    assert seen["headers"]["x-forwarded-proto"] == "https"
    assert seen["headers"]["host"] == f"a.test:{port}"
    # An answer over HTTP/3 does not announce itself again.
    assert r.header("alt-svc") is None
    cw.stop()


def test_advertised_port(pki, origin):
    cw = start(pki, origin, http3={"advertisedPort": 443})
    assert curl_tls(cw.port("websecure"), "a.test", ca=pki.ca_cert).headers.get("alt-svc") == 'h3=":443"; ma=2592000'
    cw.stop()


def test_post_bodies_large_downloads_and_many_streams(pki, origin, tmp_path):
    cw = start(pki, origin)
    port = cw.port("websecure")
    body = os.urandom(3 << 20)
    data = tmp_path / "upload"
    data.write_bytes(body)
    r = h3(port, "/sha", tmp_path=tmp_path, args=(f"--data={data}", "--http-method=POST"))
    assert r.statuses == [200], r.output[-2000:]
    assert r.body("/sha").decode() == f"{hashlib.sha256(body).hexdigest()} {len(body)}"

    r = h3(port, "/size/9000000", tmp_path=tmp_path)
    assert r.statuses == [200]
    assert r.header("content-length") == "9000000"
    assert r.body("/size/9000000") == pattern(9000000)

    # 60 requests on one connection, up to the stream limit at once.
    r = h3(port, *[f"/many/{i}" for i in range(60)], tmp_path=tmp_path)
    assert r.statuses == [200] * 60, r.output[-2000:]
    assert sorted(json.loads(r.body(f"/many/{i}"))["path"] for i in range(60)) == sorted(f"/many/{i}" for i in range(60))
    cw.stop()


def test_unread_bodies_give_their_flow_control_credit_back(pki, origin, tmp_path):
    # 24 uploads of 1 MiB answered 403 before their bodies are read, on one connection whose
    # window is 4 MiB: the bytes nobody reads are credited back, so the upload after them
    # (and the connection) goes on.
    cw = start(pki, origin)
    port = cw.port("websecure")
    data = tmp_path / "upload"
    data.write_bytes(os.urandom(1 << 20))
    r = h3(port, *[f"/deny/{i}" for i in range(24)], "/sha", tmp_path=tmp_path,
           args=(f"--data={data}", "--http-method=POST"))
    assert sorted(r.statuses) == [200] + [403] * 24, r.output[-3000:]
    cw.stop()


def test_sni_picks_the_certificate_and_unrouted_hosts_get_404(pki, origin, tmp_path):
    cw = start(pki, origin)
    port = cw.port("websecure")
    r = h3(port, "/", host="b.test", tmp_path=tmp_path)
    assert r.statuses == [200], r.output[-2000:]
    assert "b.test" in r.output  # the certificate dump names the subject
    cw.stop()


def test_access_log_and_metrics_name_the_protocol(pki, origin, tmp_path):
    log = tmp_path / "access.json"
    cw = start(pki, origin, static_extra=to_yaml({
        "accessLog": {"filePath": str(log), "format": "json"},
        "metrics": {"prometheus": {"addRoutersLabels": True}}}) + "\n", entrypoints=("websecure", "traefik"))
    port = cw.port("websecure")
    r = h3(port, "/logged", tmp_path=tmp_path)
    assert r.statuses == [200]

    def h3_entry():
        if not log.exists():
            return None
        for line in log.read_text().splitlines():
            entry = json.loads(line)
            if entry.get("RequestPath") == "/logged":
                return entry
        return None

    entry = wait_until(h3_entry, message="access log entry")
    assert entry["RequestProtocol"] == "HTTP/3.0"
    assert entry["DownstreamStatus"] == 200
    assert entry["TLSVersion"] == "1.3"
    assert entry["TLSCipher"].startswith("TLS_")
    metrics = subprocess.run(["curl", "-s", cw.url("traefik", "/metrics")], capture_output=True).stdout.decode()
    assert re.search(r'traefik_entrypoint_requests_tls_total\{[^}]*entrypoint="websecure"[^}]*tls_version="1.3"',
                     metrics), metrics[:3000]
    cw.stop()


def test_traces_name_the_protocol(pki, origin, tmp_path):
    from otlp_collector_fake import FakeOtlpCollector
    otel = FakeOtlpCollector()
    try:
        cw = start(pki, origin, static_extra=to_yaml({"tracing": {"otlp": {"http": {"endpoint": otel.endpoint}}}}) + "\n",
                   env={"OTEL_BSP_SCHEDULE_DELAY": "100"})
        r = h3(cw.port("websecure"), "/traced", tmp_path=tmp_path)
        assert r.statuses == [200]
        spans = otel.wait_spans(lambda spans: any(s["kind"] == 2 and s["attrs"].get("url.path") == "/traced"
                                                  for s in spans))
        server = next(s for s in spans if s["kind"] == 2 and s["attrs"].get("url.path") == "/traced")
        assert server["attrs"]["network.protocol.version"] == "3"
        assert server["attrs"]["url.scheme"] == "https"
        cw.stop()
    finally:
        otel.stop()


def test_connection_cap(pki, origin, tmp_path):
    # transport.maxConnections caps QUIC connections too: past it a new client is refused
    # (CONNECTION_REFUSED) while the connections open go on.
    cw = start(pki, origin, workers=1, websecure={"transport": {"maxConnections": 2}})
    port = cw.port("websecure")
    results = {}
    served = len(origin.slow_started)
    threads = [threading.Thread(target=lambda i=i: results.update({i: h3(port, "/slow/20", tmp_path=tmp_path)}))
               for i in range(2)]
    for t in threads:
        t.start()
    wait_until(lambda: len(origin.slow_started) >= served + 2, message="both downloads under way")
    third = h3(port, "/size/10", tmp_path=tmp_path, timeout=5)
    for t in threads:
        t.join(timeout=40)
    assert all(results[i].statuses == [200] for i in range(2)), [results[i].output[-1000:] for i in range(2)]
    assert third.statuses == [], third.output[-2000:]
    assert "CONNECTION_REFUSED" in third.output or "0x2" in third.output, third.output[-2000:]
    # Once they are gone, new clients are served again.
    wait_until(lambda: h3(port, "/size/10", tmp_path=tmp_path, timeout=5).statuses == [200], timeout=20,
               message="a new connection after the others closed")
    cw.stop()


def test_client_migration(pki, origin, tmp_path):
    # gtlsclient moves to a new local port while the response streams in: the connection
    # follows it (path validation), whichever worker's socket the new address hashes to.
    cw = start(pki, origin, workers=2)
    r = h3(cw.port("websecure"), "/slow/12", tmp_path=tmp_path, args=("--change-local-addr=300ms",))
    assert r.statuses == [200], r.output[-3000:]
    assert len(r.body("/slow/12")) == 12 * 65536
    assert "Changed local address" in r.output or "local address" in r.output.lower()
    cw.stop()


class Nat:
    """A UDP relay that plays a NAT: the client talks to it, it talks to the server from its own
    port, and rebind() moves it to a new port, so that the server sees the same connection come
    from a new address without the client knowing (RFC 9000 §9.3). Datagrams the server still
    sends to an old port are passed on for `grace` seconds (those in flight), then lost."""

    def __init__(self, server_port, grace=0.3):
        self.server = ("127.0.0.1", server_port)
        self.grace = grace
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.bind(("127.0.0.1", 0))
        self.port = self.front.getsockname()[1]
        self.client = None
        self.running = True
        self.received = []  # datagrams from the server, per port used
        self.back = None
        self._new_back()
        threading.Thread(target=self._pump_front, daemon=True).start()

    def _new_back(self):
        back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        back.bind(("127.0.0.1", 0))
        self.back = back
        self.received.append(0)
        threading.Thread(target=self._pump_back, args=(back, len(self.received) - 1), daemon=True).start()

    def _pump_front(self):
        self.front.settimeout(0.2)
        while self.running:
            try:
                data, self.client = self.front.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            self.back.sendto(data, self.server)

    def _pump_back(self, back, index):
        back.settimeout(0.2)
        while self.running:
            try:
                data = back.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            self.received[index] += 1
            if self.client:
                self.front.sendto(data, self.client)

    def rebind(self):
        old = self.back
        self._new_back()
        threading.Timer(self.grace, old.close).start()

    def stop(self):
        self.running = False
        self.front.close()
        self.back.close()


@pytest.mark.parametrize("workers", [1, 2])
def test_nat_rebinding(pki, origin, tmp_path, workers):
    # The client's address changes under it while the response streams in: the server
    # validates the new path and carries on there (RFC 9000 §9.3).
    cw = start(pki, origin, workers=workers)
    nat = Nat(cw.port("websecure"))
    result = {}
    t = threading.Thread(target=lambda: result.update(r=h3(nat.port, "/slow/10", tmp_path=tmp_path)))
    t.start()
    time.sleep(0.4)
    nat.rebind()
    time.sleep(0.3)
    nat.rebind()
    t.join(timeout=40)
    nat.stop()
    r = result["r"]
    assert r.statuses == [200], r.output[-3000:]
    assert len(r.body("/slow/10")) == 10 * 65536, r.output[-3000:]
    # The server moved to each new address: the last port got the end of the response.
    assert len(nat.received) == 3 and nat.received[2] > 20, nat.received
    cw.stop()


def download_under_way(port, path, origin, tmp_path):
    """An h3() GET of a /slow/ path in a thread, returned once it has reached the origin, with
    the dict that gets its result under "r"."""
    result = {}
    served = len(origin.slow_started)
    t = threading.Thread(target=lambda: result.update(r=h3(port, path, tmp_path=tmp_path)))
    t.start()
    wait_until(lambda: len(origin.slow_started) > served, message="the download under way")
    return t, result


def test_reload_during_a_transfer(pki, origin, tmp_path):
    cw = start(pki, origin)
    port = cw.port("websecure")
    t, result = download_under_way(port, "/slow/20", origin, tmp_path)
    # The router now goes elsewhere: the transfer in flight finishes on the snapshot it began with.
    cw.write("h3.yml", dynamic(pki, origin, service_url="http://127.0.0.1:9")["h3.yml"])
    wait_until(lambda: h3(port, "/", tmp_path=tmp_path).statuses == [502], message="the reload is served")
    t.join(timeout=40)
    r = result["r"]
    assert r.statuses == [200], r.output[-3000:]
    assert len(r.body("/slow/20")) == 20 * 65536
    cw.stop()


def test_graceful_shutdown_finishes_the_request_in_flight(pki, origin, tmp_path):
    cw = start(pki, origin, static_extra="")
    port = cw.port("websecure")
    t, result = download_under_way(port, "/slow/10", origin, tmp_path)
    cw.proc.send_signal(signal.SIGTERM)
    t.join(timeout=40)
    r = result["r"]
    assert r.statuses == [200], r.output[-3000:]
    assert len(r.body("/slow/10")) == 10 * 65536
    assert cw.proc.wait(timeout=20) == 0


# Raw packets (RFC 9000 §17).

def long_header(packet_type, version, dcid, scid, payload, token=b""):
    first = 0xC0 | (packet_type << 4) | 0x03  # 4-byte packet number
    out = bytes([first]) + version.to_bytes(4, "big") + bytes([len(dcid)]) + dcid + bytes([len(scid)]) + scid
    if packet_type == 0:  # Initial: token
        out += varint(len(token)) + token
    body = b"\x00\x00\x00\x01" + payload
    return out + varint(len(body)) + body


def varint(n):
    if n < 64:
        return bytes([n])
    if n < 16384:
        return (n | 0x4000).to_bytes(2, "big")
    return (n | 0x80000000).to_bytes(4, "big")


def udp_exchange(port, datagrams, wait=0.5, source=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    for d in datagrams:
        s.sendto(d, ("127.0.0.1", port))
    replies = []
    s.settimeout(wait)
    try:
        while True:
            replies.append(s.recv(65536))
    except socket.timeout:
        pass
    s.close()
    return replies


def test_malformed_datagrams_are_dropped_and_service_goes_on(pki, origin, tmp_path):
    cw = start(pki, origin)
    port = cw.port("websecure")
    rng = random.Random(7)
    junk = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 1500))) for _ in range(300)]
    junk += [b"", b"\xc0", b"\xc0\x00\x00\x00\x01", b"\xc0\x00\x00\x00\x01\xff"]
    # Initials with impossible lengths, a truncated header, a too-small datagram.
    dcid = os.urandom(8)
    junk += [long_header(0, 1, dcid, os.urandom(8), b"\x00" * 20)]  # < 1200 bytes: not a first Initial
    bad_length = bytearray(long_header(0, 1, dcid, os.urandom(8), b"\x00" * 1200))
    bad_length[1 + 4 + 1 + 8 + 1 + 8 + 1] = 0x7F  # length field beyond the datagram
    junk.append(bytes(bad_length))
    udp_exchange(port, junk, wait=0.3)
    assert cw.proc.poll() is None
    r = h3(port, "/after-junk", tmp_path=tmp_path)
    assert r.statuses == [200], r.output[-2000:]
    cw.stop()


def test_version_negotiation_and_stateless_reset(pki, origin):
    cw = start(pki, origin)
    port = cw.port("websecure")
    dcid, scid = os.urandom(8), os.urandom(8)
    replies = udp_exchange(port, [long_header(0, 0x1A2A3A4A, dcid, scid, b"\x00" * 1200)])
    assert replies, "no Version Negotiation"
    vn = replies[0]
    assert vn[0] & 0x80 and vn[1:5] == b"\x00\x00\x00\x00"
    # The reply swaps the IDs; the versions follow.
    assert vn[6:6 + 8] == scid and vn[6 + 8 + 1:6 + 8 + 1 + 8] == dcid
    versions = [int.from_bytes(vn[i:i + 4], "big") for i in range(6 + 8 + 1 + 8, len(vn), 4)]
    assert 1 in versions
    # A short-header packet for a connection nobody has: a stateless reset, smaller than it.
    short = bytes([0x40 | 0x01]) + os.urandom(16) + os.urandom(60)
    replies = udp_exchange(port, [short])
    assert replies and len(replies[0]) < len(short) and len(replies[0]) >= 21
    assert replies[0][0] & 0xC0 == 0x40  # looks like a short-header packet
    cw.stop()


def test_initial_flood_keeps_no_state_and_retry_guards_handshakes(pki, origin, tmp_path):
    cw = start(pki, origin, workers=1)
    port = cw.port("websecure")
    # Initials that look right but cannot be decrypted, as a spoofed flood sends: each is
    # dropped with its state at once, and service goes on.
    flood = [long_header(0, 1, os.urandom(8), os.urandom(8), os.urandom(1200)) for _ in range(500)]
    udp_exchange(port, flood, wait=0.5)
    assert cw.proc.poll() is None
    # Clients that start handshakes and never read the answers (each holds the server's
    # handshake state until its timeout): past 64 of them, a new client must first prove its
    # address with a Retry token, which gtlsclient does, and then it is served.
    stuck = [subprocess.Popen([GTLSCLIENT, "-q", "--rx-loss=1", "--timeout=8s", "127.0.0.1", str(port),
                               f"https://a.test:{port}/"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for _ in range(72)]
    try:
        time.sleep(1.5)
        download = tmp_path / "retry"
        download.mkdir()
        proc = subprocess.run([GTLSCLIENT, "--exit-on-all-streams-close", f"--download={download}", "--timeout=20s",
                               "127.0.0.1", str(port), f"https://a.test:{port}/after-flood"],
                              capture_output=True, timeout=40)
        out = proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")
        assert "type=Retry" in out, out[-3000:]
        assert "[:status: 200]" in out, out[-3000:]
    finally:
        for p in stuck:
            p.kill()
            p.wait()
    cw.stop()


def open_quic_connections(cw):
    text = subprocess.run(["curl", "-s", cw.url("traefik", "/metrics")], capture_output=True).stdout.decode()
    m = re.search(r'traefik_open_connections\{entrypoint="websecure",protocol="UDP"\} (\d+)', text)
    return int(m.group(1)) if m else None


@pytest.mark.skipif(not os.path.exists(FUZZ_CLIENT), reason="tests/tools/h3_fuzz_client is not built")
@pytest.mark.parametrize("seed", [1, 2, int(time.time()) % 100000])
def test_malformed_http3_frames_from_a_fuzzing_client(pki, origin, tmp_path, seed):
    # Real handshakes, then garbage and mutated HTTP/3 on the streams (tests/tools/h3_fuzz_client.cpp):
    # every case ends in a connection error, a stream reset, a response or silence, never a
    # crash, and every connection is gone after the idle timeout (no leak of connections or
    # of the counts behind maxConnections).
    cw = start(pki, origin, entrypoints=("websecure", "traefik"),
               websecure={"transport": {"respondingTimeouts": {"idleTimeout": "2s"}}},
               static_extra=to_yaml({"metrics": {"prometheus": {}}}) + "\n")
    port = cw.port("websecure")
    out = subprocess.run([FUZZ_CLIENT, "127.0.0.1", str(port), "a.test", "120", str(seed)], capture_output=True,
                         timeout=300)
    text = out.stdout.decode()
    # Connections the client left without a word stay until their idle timeout.
    left = open_quic_connections(cw)
    assert left is not None and left > 0, left
    assert out.returncode == 0, f"seed {seed}: " + text[-3000:] + out.stderr.decode()[-2000:]
    assert "connection closed" in text, text[-3000:]
    assert cw.proc.poll() is None, f"seed {seed}"
    r = h3(port, "/after-fuzz", tmp_path=tmp_path)
    assert r.statuses == [200], r.output[-2000:]
    wait_until(lambda: open_quic_connections(cw) == 0, timeout=15, message=f"QUIC connections closed (seed {seed})")
    cw.stop()


@pytest.mark.skipif(not os.path.exists(FUZZ_CLIENT), reason="tests/tools/h3_fuzz_client is not built")
def test_websocket_over_http3(pki, origin, start_whoami):
    # RFC 9220: an extended CONNECT with :protocol websocket on an HTTP/3 stream becomes an
    # HTTP/1.1 Upgrade to the upstream (the tests' whoami echoes WebSocket messages on /echo);
    # the client gets 200 and the WebSocket frames travel in the stream's DATA frames.
    whoami = start_whoami("ws")
    cw = Causeway(entrypoints=("websecure",), workers=2, entrypoint_extra={"websecure": {"http3": {}}},
                  dynamic={"ws.yml": to_yaml({
                      "http": {"routers": {"ws": {"rule": "PathPrefix(`/echo`)", "service": "ws", "tls": {}}},
                               "services": {"ws": {"loadBalancer": {"servers": [{"url": whoami.url}]}}}},
                      "tls": {"certificates": [{"certFile": pki.front.cert, "keyFile": pki.front.key}]}}) + "\n"})
    port = cw.port("websecure")
    wait_until(lambda: curl_tls(port, "a.test", path="/echo", ca=pki.ca_cert).status is not None,
               message="the router is served")
    for message in ("hello over h3", "x" * 100):
        out = subprocess.run([FUZZ_CLIENT, "127.0.0.1", str(port), "a.test", "websocket", "/echo", message],
                             capture_output=True, timeout=30)
        text = out.stdout.decode()
        assert out.returncode == 0, text + out.stderr.decode()[-2000:]
        assert "status: 200" in text and f"echo: {message}" in text, text
    cw.stop()


def test_check_accepts_http3_without_warning(pki, origin):
    cw = start(pki, origin)
    out = subprocess.run([cw.proc.args[0], "check", f"--configFile={cw.static_path}"], capture_output=True,
                         timeout=30)
    text = (out.stdout + out.stderr).decode()
    assert out.returncode == 0, text
    assert "http3" not in text, text
    cw.stop()
