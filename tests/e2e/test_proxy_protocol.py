"""PROXY protocol v1 and v2 on entryPoints (proxyProtocol.trustedIPs / insecure), as Traefik
reads it: optional per connection; the addresses are believed only from trusted peers; a
malformed header closes the connection. The recording upstream shows which client address
causeway settled on (X-Real-Ip, X-Forwarded-For)."""
import socket
import struct

import pytest

from harness import Causeway, to_yaml, wait_log
from recorder import Recorder


def v2_header(src, dst, sport, dport, command=1):
    body = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!HH", sport, dport)
    return b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x20 | command, 0x11]) + struct.pack("!H", len(body)) + body


def exchange(port, payload, timeout=3.0):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(payload)
        data = b""
        try:
            while b"\r\n\r\n" not in data or not data.endswith(b"target=/pp"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            pass
        return data


@pytest.fixture
def start():
    rec = Recorder()
    started = []

    def run(proxy_protocol):
        extra = {"web": {"proxyProtocol": proxy_protocol}} if proxy_protocol is not None else None
        dynamic = {"http": {"routers": {"all": {"rule": "PathPrefix(`/`)", "service": "up"}},
                            "services": {"up": {"loadBalancer": {"servers": [{"url": rec.url}]}}}}}
        cw = Causeway(dynamic={"d.yml": to_yaml(dynamic) + "\n"}, entrypoint_extra=extra)
        started.append(cw)
        wait_log(cw, "configuration published")
        return cw

    yield run, rec
    for cw in started:
        cw.stop()
    rec.stop()


REQUEST = b"GET /pp HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"


def last(rec):
    got = [r for r in rec.requests() if r.target == "/pp"]
    return got[-1] if got else None


@pytest.mark.parametrize("header", [
    b"PROXY TCP4 203.0.113.9 127.0.0.1 40000 80\r\n",
    v2_header("203.0.113.9", "127.0.0.1", 40000, 80),
], ids=["v1", "v2"])
def test_trusted_peer_gives_the_client_address(start, header):
    run, rec = start
    cw = run({"trustedIPs": ["127.0.0.1/32"]})
    answer = exchange(cw.port(), header + REQUEST)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:100]
    r = last(rec)
    assert r.values("X-Real-Ip") == ["203.0.113.9"], r.headers
    assert r.values("X-Forwarded-For") == ["203.0.113.9"], r.headers


def test_insecure_trusts_everyone(start):
    run, rec = start
    cw = run({"insecure": True})
    assert exchange(cw.port(), b"PROXY TCP6 2001:db8::7 ::1 40000 80\r\n" + REQUEST).startswith(b"HTTP/1.1 200")
    assert last(rec).values("X-Real-Ip") == ["2001:db8::7"]


def test_untrusted_peer_header_is_removed_and_ignored(start):
    run, rec = start
    cw = run({"trustedIPs": ["10.0.0.0/8"]})
    answer = exchange(cw.port(), b"PROXY TCP4 203.0.113.9 127.0.0.1 40000 80\r\n" + REQUEST)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:100]
    assert last(rec).values("X-Real-Ip") == ["127.0.0.1"]


def test_header_is_optional_and_local_keeps_the_peer(start):
    run, rec = start
    cw = run({"trustedIPs": ["127.0.0.1"]})
    assert exchange(cw.port(), REQUEST).startswith(b"HTTP/1.1 200")
    assert last(rec).values("X-Real-Ip") == ["127.0.0.1"]
    local = v2_header("0.0.0.0", "0.0.0.0", 0, 0, command=0)[:14] + b"\x00\x00"  # LOCAL, no addresses
    assert exchange(cw.port(), local + REQUEST).startswith(b"HTTP/1.1 200")
    assert last(rec).values("X-Real-Ip") == ["127.0.0.1"]


@pytest.mark.parametrize("bad", [
    b"PROXY TCP4 203.0.113.9 127.0.0.1 99999 80\r\n",
    b"PROXY TCP4 nonsense\r\n",
    b"\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x04abcd",
], ids=["port", "fields", "v2-short"])
def test_malformed_header_closes_the_connection(start, bad):
    run, rec = start
    cw = run({"trustedIPs": ["127.0.0.1"]})
    before = len(rec.requests())
    assert exchange(cw.port(), bad + REQUEST) == b""
    assert len(rec.requests()) == before


def test_without_proxy_protocol_a_header_is_a_bad_request(start):
    run, rec = start
    cw = run(None)
    answer = exchange(cw.port(), b"PROXY TCP4 203.0.113.9 127.0.0.1 40000 80\r\n" + REQUEST)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:100]
