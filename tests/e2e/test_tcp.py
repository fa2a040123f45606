"""TCP routers, services, middlewares and serversTransports as Traefik v3 runs them (dynamic
`tcp` section, file provider).

What is shown, against Traefik's own behaviour (pkg/server/router/tcp/router.go ServeTCP,
pkg/muxer/tcp, pkg/tcp/proxy.go, pkg/middlewares/tcp, pkg/api/handler_tcp.go):
- TLS passthrough by SNI: the client sees the upstream's certificate and ALPN, the upstream
  sees the SNI; terminated TLS (`tls: {}`) to a cleartext upstream with causeway's certificate.
- `HostSNI(`*`)` without TLS: any TCP protocol (redis-cli against a real redis-server, a
  server that speaks first), taken early when the entryPoint has no TLS router.
- HTTP and TCP routers on one entryPoint: HTTPS routers by SNI, TLS passthrough for other
  SNIs, cleartext to a non-TLS TCP router when there is one, else to the HTTP routers.
- Matchers and priorities: HostSNI, HostSNIRegexp, ClientIP, ALPN; explicit priorities.
- PROXY protocol out (serversTransports, v1 and v2) and in (entryPoint) combined.
- Middlewares ipAllowList and inFlightConn; weighted and round-robin services, a dead server.
- Half-close in both directions (FIN, close_notify), a ClientHello in 1-byte writes, a
  ClientHello that never ends (entryPoint readTimeout), a malformed PROXY header.
- The API (/api/tcp/*, overview), `causeway check`, hot reload with an open connection.

Peers and clients: tcp_peers.py. Certificates: tls_certs.py (upstreams' certificates come
from "tcp upstream CA", causeway's own from "causeway test CA").
"""
import os
import re
import socket
import ssl
import subprocess
import time

import pytest

from admin_env import api_get
from harness import BIN, free_port, routed, to_yaml, wait_until
from redis_peer import Redis, needs_redis
from tcp_peers import (BYE, BannerServer, EchoServer, ProxyProtocolRecorder, TlsClient, TlsEchoServer,
                       client_hello, connect, exchange, first_line, read_all, read_until)
from tls_certs import Pki, curl_tls, describe_der, peer_certificate, s_client


# ---------------------------------------------------------------------------------------------
# Fixtures and helpers

@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    p = Pki(tmp_path_factory.mktemp("pki"))
    p.ca_cert = p.ca("causeway test CA")      # certificates causeway presents (tls.certificates)
    p.up_ca = p.ca("tcp upstream CA")         # certificates the TLS upstreams present
    p.passthrough = p.issue(p.up_ca, "pass.example.com", dns=["pass.example.com"])
    p.db = p.issue(p.up_ca, "db.example.com", dns=["db.example.com"])
    p.upstream = p.issue(p.up_ca, "upstream.test", dns=["upstream.test"])
    p.term = p.issue(p.ca_cert, "term.example.com", dns=["term.example.com"])
    p.web = p.issue(p.ca_cert, "web.example.com", dns=["web.example.com"])
    return p


@pytest.fixture
def peers():
    """peers(SomePeer(...)) starts a tcp_peers peer and stops it after the test."""
    started = []

    def start(peer):
        started.append(peer.start())
        return peer

    yield start
    for p in started:
        p.stop()


@pytest.fixture
def redis_server():
    r = Redis()
    yield r
    r.stop()


def config(tcp=None, http=None, tls=None):
    """A dynamic configuration file {"tcp.yml": YAML}."""
    out = {}
    if http:
        out["http"] = http
    if tcp:
        out["tcp"] = tcp
    if tls:
        out["tls"] = tls
    return {"tcp.yml": to_yaml(out) + "\n"}


def lb(*addresses, transport=None):
    """A TCP loadBalancer service over "host:port" addresses."""
    body = {"servers": [{"address": a} for a in addresses]}
    if transport:
        body["serversTransport"] = transport
    return {"loadBalancer": body}


def router(rule, service, entrypoints=("web",), tls=None, priority=None, middlewares=None):
    r = {"entryPoints": list(entrypoints), "rule": rule, "service": service}
    if tls is not None:
        r["tls"] = tls
    if priority is not None:
        r["priority"] = priority
    if middlewares:
        r["middlewares"] = list(middlewares)
    return r


PASSTHROUGH = {"passthrough": True}


def certificates(*certs):
    return {"certificates": [{"certFile": c.cert, "keyFile": c.key} for c in certs]}


def until(cw, predicate, message, timeout=10.0):
    """wait_until, with the end of causeway's log in the failure."""
    try:
        return wait_until(predicate, timeout=timeout, interval=0.1, message=message)
    except TimeoutError as e:
        raise AssertionError(f"{e}\n--- causeway log (end) ---\n{cw.output()[-3000:]}") from None


def echoes(port, payload=b"ping\n", timeout=2.0):
    """A cleartext exchange through an EchoServer: payload echoed, BYE, EOF."""
    data, how = exchange(port, payload, timeout)
    return data == payload + BYE and how == "eof"


def tls_echoes(port, sni, payload=b"ping\n", timeout=2.0, alpn=None):
    with TlsClient(port, sni, alpn=alpn, timeout=timeout) as c:
        c.send(payload)
        _, how = c.read_until(payload)
        return how == "found"


def tls_line(port, sni, alpn=None, timeout=2.0):
    """The first line a TLS upstream says after the handshake (its greeting)."""
    with TlsClient(port, sni, alpn=alpn, timeout=timeout) as c:
        data, _ = c.read_until(b"\n")
        return data


def cert_of(client):
    return describe_der(client.peer_der)


# ---------------------------------------------------------------------------------------------
# TLS passthrough and termination

def passthrough_proxy(start_causeway, peers, pki):
    up = peers(TlsEchoServer(pki.passthrough, close_on=b"END\n"))
    cw = start_causeway(dynamic=config(tcp={
        "routers": {"pass": router("HostSNI(`pass.example.com`)", "tlsup", tls=PASSTHROUGH)},
        "services": {"tlsup": lb(up.address)}}))
    until(cw, lambda: tls_echoes(cw.port(), "pass.example.com"), "the passthrough route")
    return cw, up


def test_passthrough_openssl_s_client_sees_the_upstream(start_causeway, peers, pki):
    """`openssl s_client -servername pass.example.com` through a passthrough router: the
    certificate is the upstream's (subject and issuer from the upstream CA, which causeway
    does not have), the bytes are echoed end to end, and the upstream saw the SNI."""
    cw, up = passthrough_proxy(start_causeway, peers, pki)
    before = up.accepted
    r = s_client(cw.port(), "-ign_eof", servername="pass.example.com", stdin=b"hello tcp\nEND\n")
    assert r.connected, r
    assert "CN = pass.example.com" in (r.subject or ""), r
    assert re.search(r"^issuer=.*CN = tcp upstream CA", r.stdout, re.M), r
    assert "hello tcp" in r.stdout and "BYE" in r.stdout, r
    assert up.accepted == before + 1
    conn = up.conns[-1]
    assert conn.sni == "pass.example.com", conn
    assert bytes(conn.received) == b"hello tcp\nEND\n", conn


def test_passthrough_python_client_certificate_alpn_and_echo(start_causeway, peers, pki):
    """Python's ssl through the passthrough router: the upstream's certificate, the ALPN the
    upstream chose from the client's offer (causeway does not terminate), the echo, the SNI."""
    cw, up = passthrough_proxy(start_causeway, peers, pki)
    cert = peer_certificate(cw.port(), "pass.example.com")
    assert cert["cn"] == "pass.example.com" and "tcp upstream CA" in cert["issuer"], cert
    assert cert["serial"] == pki.passthrough.serial
    with TlsClient(cw.port(), "pass.example.com", alpn=["h2", "http/1.1"]) as c:
        assert cert_of(c)["serial"] == pki.passthrough.serial
        assert c.alpn == "h2"
        c.send(b"over tls\n")
        data, how = c.read_until(b"over tls\n")
        assert how == "found", (data, how)
    conn = up.conns[-1]
    assert conn.sni == "pass.example.com" and conn.alpn == "h2", conn
    assert bytes(conn.received).startswith(b"over tls\n"), conn


def test_acme_tls_alpn_of_a_passthrough_server_reaches_it(start_causeway, peers, pki):
    """A client offering ALPN acme-tls/1 for a name causeway is not validating (a CA checking
    the server behind a passthrough router) is passed through like any other ClientHello."""
    cw, up = passthrough_proxy(start_causeway, peers, pki)
    until(cw, lambda: tls_echoes(cw.port(), "pass.example.com"), "the passthrough route")
    with TlsClient(cw.port(), "pass.example.com", alpn=["acme-tls/1"]) as c:
        assert cert_of(c)["serial"] == pki.passthrough.serial
    assert up.conns[-1].sni == "pass.example.com"


def test_passthrough_unknown_sni_does_not_reach_the_upstream(start_causeway, peers, pki):
    """A TLS client whose SNI matches no TCP router is not passed to the upstream (Traefik
    answers it with its HTTPS 404 handler and default certificate)."""
    cw, up = passthrough_proxy(start_causeway, peers, pki)
    before = up.accepted
    try:
        cert = peer_certificate(cw.port(), "other.example.com")
        assert cert["cn"] != "pass.example.com", cert
    except OSError:  # ssl.SSLError included: refused outright, also not passed through
        pass
    time.sleep(0.3)
    assert up.accepted == before


def test_terminated_tls_to_a_cleartext_echo(start_causeway, peers, pki):
    """A TCP router with `tls: {}` terminates TLS with causeway's certificate for the SNI
    (tls.certificates) and sends the cleartext to the upstream; `openssl s_client` verifies
    the chain against the test CA, and the echo comes back through the TLS connection."""
    echo = peers(EchoServer(close_on=b"END\n"))
    cw = start_causeway(dynamic=config(
        tcp={"routers": {"term": router("HostSNI(`term.example.com`)", "echo", tls={})},
             "services": {"echo": lb(echo.address)}},
        tls=certificates(pki.term)))
    until(cw, lambda: tls_echoes(cw.port(), "term.example.com"), "the terminated TLS route")
    with TlsClient(cw.port(), "term.example.com") as c:
        cert = cert_of(c)
        assert cert["cn"] == "term.example.com" and cert["serial"] == pki.term.serial, cert
        c.send(b"cleartext behind\n")
        data, how = c.read_until(b"cleartext behind\n")
        assert how == "found", (data, how)
    assert any(bytes(conn.received) == b"cleartext behind\n" for conn in echo.conns), echo.conns
    r = s_client(cw.port(), "-ign_eof", "-CAfile", pki.ca_cert.cert, "-verify_return_error",
                 servername="term.example.com", stdin=b"verified\nEND\n")
    assert r.connected and "CN = term.example.com" in (r.subject or ""), r
    assert "Verify return code: 0 (ok)" in r.stdout, r
    assert "verified" in r.stdout and "BYE" in r.stdout, r


POSTGRES_SSL_REQUEST = b"\x00\x00\x00\x08\x04\xd2\x16\x2f"


def postgres_starttls(port, sni, request=POSTGRES_SSL_REQUEST, split=False):
    """A PostgreSQL client's STARTTLS: the SSLRequest (in two writes when `split`), the
    server's one-byte answer, then TLS on the same socket. Returns (answer, TLS socket or None)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    if split:
        raw.sendall(request[:3])
        time.sleep(0.05)
        raw.sendall(request[3:])
    else:
        raw.sendall(request)
    answer = raw.recv(1)
    if answer != b"S":
        raw.close()
        return answer, None
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    try:
        return answer, context.wrap_socket(raw, server_hostname=sni)
    except (OSError, ssl.SSLError):
        raw.close()
        return answer, None


def test_postgres_starttls_is_terminated(start_causeway, peers, pki):
    """PostgreSQL STARTTLS, as Traefik: causeway answers the SSLRequest with 'S', terminates the
    TLS that follows on the TCP router chosen by its SNI, and the server gets the cleartext
    (never the SSLRequest). Behind a passthrough router the connection is closed instead."""
    echo = peers(EchoServer(close_on=b"END\n"))
    up = peers(TlsEchoServer(pki.passthrough))
    cw = start_causeway(dynamic=config(
        tcp={"routers": {"pg": router("HostSNI(`term.example.com`)", "echo", tls={}),
                         "pass": router("HostSNI(`pass.example.com`)", "up", tls=PASSTHROUGH)},
             "services": {"echo": lb(echo.address), "up": lb(up.address)}},
        tls=certificates(pki.term)))
    until(cw, lambda: tls_echoes(cw.port(), "term.example.com"), "the terminated TLS route")
    for split in (False, True):
        answer, tls = postgres_starttls(cw.port(), "term.example.com", split=split)
        assert answer == b"S" and tls is not None, cw.output()[-2000:]
        with tls:
            assert tls.getpeercert(binary_form=True)
            tls.sendall(b"startup message\n")
            data = b""
            while b"startup message\n" not in data:
                chunk = tls.recv(100)
                if not chunk:
                    break
                data += chunk
            assert b"startup message\n" in data, data
    assert any(bytes(conn.received).startswith(b"startup message\n") for conn in echo.conns), echo.conns
    # Passthrough: the TLS server never saw an SSLRequest, so nothing is passed to it.
    before = up.accepted
    answer, tls = postgres_starttls(cw.port(), "pass.example.com")
    assert answer == b"S" and tls is None
    assert up.accepted == before
    # Not an SSLRequest (another code): not PostgreSQL STARTTLS, no 'S'.
    answer, _ = postgres_starttls(cw.port(), "term.example.com", request=b"\x00\x00\x00\x08\x04\xd2\x16\x30")
    assert answer != b"S"


# ---------------------------------------------------------------------------------------------
# Cleartext TCP: any protocol

@needs_redis
def test_redis_cli_through_a_catch_all_router(start_causeway, redis_server):
    """redis-cli talks RESP to a real redis-server through `HostSNI(`*`)` without TLS: PING,
    SET and GET, and the key is in the real server."""
    cw = start_causeway(dynamic=config(tcp={
        "routers": {"redis": router("HostSNI(`*`)", "redis")},
        "services": {"redis": lb(f"127.0.0.1:{redis_server.port}")}}))

    def cli(*args, timeout=10):
        out = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(cw.port()), *args],
                             capture_output=True, text=True, timeout=timeout)
        return out.stdout.strip()

    until(cw, lambda: cli("PING", timeout=2) == "PONG", "redis PING through causeway")
    assert cli("SET", "tcp-key", "through causeway") == "OK"
    assert cli("GET", "tcp-key") == "through causeway"
    assert redis_server.command("GET", "tcp-key") == "through causeway"


def test_server_speaks_first(start_causeway, peers):
    """An upstream that speaks first (SMTP-like banner) behind `HostSNI(`*`)`, the only router
    of its entryPoint: the client reads "220 hello" without sending anything (causeway must not
    wait for client bytes to route), then the echo works."""
    banner = peers(BannerServer())
    cw = start_causeway(dynamic=config(tcp={
        "routers": {"smtp": router("HostSNI(`*`)", "smtp")},
        "services": {"smtp": lb(banner.address)}}))
    until(cw, lambda: first_line(cw.port(), timeout=1.0) == b"220 hello\r\n", "the banner")
    with connect(cw.port()) as s:
        start = time.time()
        data, how = read_until(s, b"\r\n", timeout=3.0)
        assert (data, how) == (b"220 hello\r\n", "found")
        assert time.time() - start < 2.0
        s.sendall(b"EHLO client\r\n")
        data, how = read_until(s, b"EHLO client\r\n", timeout=3.0)
        assert how == "found", (data, how)


# ---------------------------------------------------------------------------------------------
# HTTP and TCP routers on one entryPoint

def test_http_https_and_tls_passthrough_share_an_entrypoint(start_causeway, start_whoami, peers, pki):
    """One entryPoint with an HTTP router, an HTTPS router (tls: {}) for web.example.com and a
    TLS passthrough TCP router for db.example.com: cleartext HTTP reaches the HTTP service, TLS
    with SNI db.example.com reaches the TCP upstream (its certificate), TLS with SNI
    web.example.com gets HTTP over TLS with causeway's certificate."""
    web = start_whoami("web")
    db = peers(TlsEchoServer(pki.db))
    http = {"routers": {"web": {"rule": "Host(`web.example.com`)", "service": "web", "entryPoints": ["web"]},
                        "web-secure": {"rule": "Host(`web.example.com`)", "service": "web",
                                       "entryPoints": ["web"], "tls": {}}},
            "services": {"web": {"loadBalancer": {"servers": [{"url": web.url}]}}}}
    tcp = {"routers": {"db": router("HostSNI(`db.example.com`)", "db", tls=PASSTHROUGH)},
           "services": {"db": lb(db.address)}}
    cw = start_causeway(dynamic=config(tcp=tcp, http=http, tls=certificates(pki.web)))
    until(cw, lambda: tls_echoes(cw.port(), "db.example.com"), "the db passthrough route")
    body = routed(cw, "web.example.com")
    assert b"Name: web" in body
    before = db.accepted
    r = curl_tls(cw.port(), "web.example.com", ca=pki.ca_cert)
    assert r.status == 200 and b"Name: web" in r.body, r
    assert peer_certificate(cw.port(), "web.example.com")["serial"] == pki.web.serial
    assert db.accepted == before  # neither HTTP nor HTTPS went to the TCP upstream
    with TlsClient(cw.port(), "db.example.com") as c:
        assert cert_of(c)["serial"] == pki.db.serial
        c.send(b"select 1\n")
        assert c.read_until(b"select 1\n")[1] == "found"
    assert db.conns[-1].sni == "db.example.com"


@pytest.mark.parametrize("with_https", [True, False], ids=["with-https-router", "http-only"])
def test_cleartext_catch_all_tcp_router_takes_http_connections(start_causeway, start_whoami, peers, pki,
                                                               with_https):
    """A non-TLS `HostSNI(`*`)` TCP router on an entryPoint that also has HTTP routers takes the
    cleartext connections (Traefik: the TCP muxer is matched before the HTTP forwarder), so an
    HTTP request is echoed by the TCP upstream; TLS still goes to the HTTPS router."""
    web = start_whoami("web")
    echo = peers(EchoServer())
    routers = {"web": {"rule": "Host(`web.example.com`)", "service": "web", "entryPoints": ["web"]}}
    if with_https:
        routers["web-secure"] = {"rule": "Host(`web.example.com`)", "service": "web", "entryPoints": ["web"],
                                 "tls": {}}
    http = {"routers": routers, "services": {"web": {"loadBalancer": {"servers": [{"url": web.url}]}}}}
    tcp = {"routers": {"catch": router("HostSNI(`*`)", "echo")}, "services": {"echo": lb(echo.address)}}
    cw = start_causeway(dynamic=config(tcp=tcp, http=http, tls=certificates(pki.web) if with_https else None))
    request = b"GET / HTTP/1.1\r\nHost: web.example.com\r\nConnection: close\r\n\r\n"
    until(cw, lambda: exchange(cw.port(), request, 2.0)[0] == request + BYE, "the HTTP request echoed")
    assert any(bytes(conn.received) == request for conn in echo.conns)
    if with_https:
        r = curl_tls(cw.port(), "web.example.com", ca=pki.ca_cert)
        assert r.status == 200 and b"Name: web" in r.body, r


# ---------------------------------------------------------------------------------------------
# Matchers and priorities

def test_hostsni_priorities_and_regexp(start_causeway, peers, pki):
    """Passthrough routers `HostSNI(a) || HostSNI(b)` (priority 20) and
    `HostSNIRegexp(^.+\\.example\\.com$)` (priority 10): a and b go to the first, any other
    example.com name to the second; on another entryPoint where the regexp router has the
    higher priority it takes a.example.com too; a name neither matches reaches neither."""
    first = peers(TlsEchoServer(pki.upstream, greeting=b"first\n"))
    second = peers(TlsEchoServer(pki.upstream, greeting=b"second\n"))
    ab, rx = "HostSNI(`a.example.com`) || HostSNI(`b.example.com`)", r"HostSNIRegexp(`^.+\.example\.com$`)"
    cw = start_causeway(entrypoints=("web", "flip"), dynamic=config(tcp={
        "routers": {
            "ab": router(ab, "first", tls=PASSTHROUGH, priority=20),
            "rx": router(rx, "second", tls=PASSTHROUGH, priority=10),
            "ab-flip": router(ab, "first", entrypoints=["flip"], tls=PASSTHROUGH, priority=20),
            "rx-flip": router(rx, "second", entrypoints=["flip"], tls=PASSTHROUGH, priority=30)},
        "services": {"first": lb(first.address), "second": lb(second.address)}}))
    until(cw, lambda: tls_line(cw.port(), "a.example.com") == b"first\n", "router ab")
    assert tls_line(cw.port(), "b.example.com") == b"first\n"
    assert tls_line(cw.port(), "c.example.com") == b"second\n"
    assert tls_line(cw.port(), "deep.c.example.com") == b"second\n"
    assert second.conns[-1].sni == "deep.c.example.com"
    assert tls_line(cw.port("flip"), "a.example.com") == b"second\n"
    counts = first.accepted, second.accepted
    try:
        assert tls_line(cw.port(), "example.org", timeout=2.0) not in (b"first\n", b"second\n")
    except (ConnectionError, OSError):
        pass
    time.sleep(0.3)
    assert (first.accepted, second.accepted) == counts


def test_client_ip_matcher(start_causeway, peers):
    """Non-TLS routers with ClientIP: `ClientIP(10.0.0.0/8)` (even at a higher priority) does not
    match a client on 127.0.0.1, `ClientIP(127.0.0.1)` does; on an entryPoint whose only router
    is `ClientIP(10.0.0.0/8)` the connection never reaches that router's upstream."""
    local = peers(BannerServer(banner=b"local\n"))
    ten = peers(BannerServer(banner=b"ten\n"))
    cw = start_causeway(entrypoints=("web", "other"), dynamic=config(tcp={
        "routers": {
            "ten": router("ClientIP(`10.0.0.0/8`)", "ten", priority=100),
            "local": router("ClientIP(`127.0.0.1`)", "local", priority=10),
            "ten-only": router("ClientIP(`10.0.0.0/8`)", "ten", entrypoints=["other"])},
        "services": {"local": lb(local.address), "ten": lb(ten.address)}}))
    until(cw, lambda: first_line(cw.port(), timeout=1.0) == b"local\n", "the ClientIP(127.0.0.1) router")
    with connect(cw.port("other")) as s:
        s.sendall(b"hello\r\n\r\n")
        data, _ = read_all(s, timeout=3.0)
    assert not data.startswith(b"ten\n"), data
    assert ten.accepted == 0, ten.conns


def test_alpn_matcher_on_passthrough(start_causeway, peers, pki):
    """`HostSNI(alpn.example.com) && ALPN(h2)` (priority 20) and `HostSNI(alpn.example.com)`
    (priority 10), both passthrough: a client offering h2 goes to the first (which then
    negotiates h2 with it), one offering only http/1.1 or no ALPN to the second."""
    h2 = peers(TlsEchoServer(pki.upstream, greeting=b"h2peer\n"))
    other = peers(TlsEchoServer(pki.upstream, greeting=b"other\n"))
    cw = start_causeway(dynamic=config(tcp={
        "routers": {
            "h2": router("HostSNI(`alpn.example.com`) && ALPN(`h2`)", "h2", tls=PASSTHROUGH, priority=20),
            "any": router("HostSNI(`alpn.example.com`)", "other", tls=PASSTHROUGH, priority=10)},
        "services": {"h2": lb(h2.address), "other": lb(other.address)}}))
    until(cw, lambda: tls_line(cw.port(), "alpn.example.com", alpn=["h2", "http/1.1"]) == b"h2peer\n",
          "the ALPN(h2) router")
    assert h2.conns[-1].alpn == "h2"
    assert tls_line(cw.port(), "alpn.example.com", alpn=["http/1.1"]) == b"other\n"
    assert other.conns[-1].alpn == "http/1.1"
    assert tls_line(cw.port(), "alpn.example.com") == b"other\n"
    assert other.conns[-1].alpn is None


# ---------------------------------------------------------------------------------------------
# PROXY protocol

@pytest.mark.parametrize("version", [1, 2])
def test_proxy_protocol_out(start_causeway, peers, version):
    """`tcp.serversTransports.pp.proxyProtocol.version` referenced by the service: the upstream
    first reads a PROXY header whose source is the client (127.0.0.1 and its port) and whose
    destination is the entryPoint (127.0.0.1 and its port); the payload after it is intact."""
    rec = peers(ProxyProtocolRecorder())
    cw = start_causeway(dynamic=config(tcp={
        "routers": {"pp": router("HostSNI(`*`)", "pp")},
        "services": {"pp": lb(rec.address, transport="pp")},
        "serversTransports": {"pp": {"proxyProtocol": {"version": version}}}}))
    until(cw, lambda: echoes(cw.port()) and rec.conns[-1].proxy is not None, "the PROXY route")
    payload = b"payload \x00\xff after the header\n"
    with connect(cw.port()) as s:
        client_port = s.getsockname()[1]
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        data, how = read_all(s)
    assert (data, how) == (payload + BYE, "eof")
    conn = next(c for c in rec.conns if c.proxy and c.proxy.sport == client_port)
    h = conn.proxy
    assert h.version == version and h.command == "PROXY" and h.family == "TCP4", h
    assert (h.src, h.sport, h.dst, h.dport) == ("127.0.0.1", client_port, "127.0.0.1", cw.port()), h
    if version == 1:
        assert h.raw == f"PROXY TCP4 127.0.0.1 127.0.0.1 {client_port} {cw.port()}\r\n".encode()
    assert bytes(conn.received) == payload, conn


def test_proxy_protocol_in_and_out(start_causeway, peers):
    """PROXY protocol read on the entryPoint from a trusted peer (127.0.0.1/32) and written to
    the upstream (v2): the upstream's header carries the address the client's header gave."""
    rec = peers(ProxyProtocolRecorder())
    cw = start_causeway(
        entrypoint_extra={"web": {"proxyProtocol": {"trustedIPs": ["127.0.0.1/32"]}}},
        dynamic=config(tcp={
            "routers": {"pp": router("HostSNI(`*`)", "pp")},
            "services": {"pp": lb(rec.address, transport="pp")},
            "serversTransports": {"pp": {"proxyProtocol": {"version": 2}}}}))
    incoming = f"PROXY TCP4 203.0.113.7 127.0.0.1 5555 {cw.port()}\r\n".encode()
    until(cw, lambda: exchange(cw.port(), incoming + b"ready\n", 2.0)[0] == b"ready\n" + BYE, "the PROXY route")
    data, how = exchange(cw.port(), incoming + b"the payload\n")
    assert (data, how) == (b"the payload\n" + BYE, "eof")
    conn = next(c for c in rec.conns if bytes(c.received) == b"the payload\n")
    h = conn.proxy
    assert h is not None and h.version == 2 and h.family == "TCP4", conn
    assert (h.src, h.sport) == ("203.0.113.7", 5555), h
    assert (h.dst, h.dport) == ("127.0.0.1", cw.port()), h


# ---------------------------------------------------------------------------------------------
# Middlewares

def test_ip_allow_list(start_causeway, peers):
    """`ipAllowList.sourceRange: [10.0.0.0/8]` closes a connection from 127.0.0.1 without a
    byte and without dialing the upstream; `[127.0.0.1/32]` lets it through."""
    echo = peers(EchoServer())
    fenced = peers(EchoServer())  # only behind the denying router: must never be dialed
    cw = start_causeway(entrypoints=("deny", "allow"), dynamic=config(tcp={
        "routers": {"denied": router("HostSNI(`*`)", "fenced", entrypoints=["deny"], middlewares=["ten"]),
                    "allowed": router("HostSNI(`*`)", "echo", entrypoints=["allow"], middlewares=["local"])},
        "services": {"echo": lb(echo.address), "fenced": lb(fenced.address)},
        "middlewares": {"ten": {"ipAllowList": {"sourceRange": ["10.0.0.0/8"]}},
                        "local": {"ipAllowList": {"sourceRange": ["127.0.0.1/32"]}}}}))
    until(cw, lambda: echoes(cw.port("allow")), "the allowed router")
    data, how = exchange(cw.port("deny"), b"let me in\n")
    assert data == b"" and how in ("eof", "reset"), (data, how)
    time.sleep(0.2)
    assert fenced.accepted == 0, fenced.conns
    assert echoes(cw.port("allow"))


def test_in_flight_conn(start_causeway, peers):
    """`inFlightConn.amount: 1`: while one connection from 127.0.0.1 is open a second one is
    closed at once, the first keeps working, and once it is closed a new one is accepted."""
    echo = peers(EchoServer())
    cw = start_causeway(dynamic=config(tcp={
        "routers": {"one": router("HostSNI(`*`)", "echo", middlewares=["one"])},
        "services": {"echo": lb(echo.address)},
        "middlewares": {"one": {"inFlightConn": {"amount": 1}}}}))
    until(cw, lambda: echoes(cw.port()), "the router")

    def open_first():
        s = connect(cw.port())
        s.sendall(b"first\n")
        if read_until(s, b"first\n", 2.0)[1] == "found":
            return s
        s.close()
        return None

    first = until(cw, open_first, "a first connection (the previous ones released)")
    try:
        data, how = exchange(cw.port(), b"second\n", timeout=5.0)
        assert data == b"" and how in ("eof", "reset"), (data, how)
        first.sendall(b"still here\n")
        assert read_until(first, b"still here\n", 3.0)[1] == "found"
        first.shutdown(socket.SHUT_WR)
        assert read_all(first) == (BYE, "eof")
    finally:
        first.close()
    until(cw, lambda: echoes(cw.port()), "a new connection after the first closed", timeout=5.0)


# ---------------------------------------------------------------------------------------------
# Services

def test_weighted_service_splits_connections(start_causeway, peers):
    """`weighted.services: [{a, 3}, {b, 1}]` over two loadBalancers: of 40 connections about
    three in four go to a (Traefik's smooth weighted round robin gives exactly 30)."""
    a = peers(BannerServer(banner=b"a\n"))
    b = peers(BannerServer(banner=b"b\n"))
    cw = start_causeway(dynamic=config(tcp={
        "routers": {"w": router("HostSNI(`*`)", "w")},
        "services": {"w": {"weighted": {"services": [{"name": "a", "weight": 3}, {"name": "b", "weight": 1}]}},
                     "a": lb(a.address), "b": lb(b.address)}}))
    until(cw, lambda: first_line(cw.port(), timeout=1.0) in (b"a\n", b"b\n"), "the weighted service")
    seen = [first_line(cw.port()) for _ in range(40)]
    assert set(seen) <= {b"a\n", b"b\n"}, seen
    assert 24 <= seen.count(b"a\n") <= 36, seen


def test_load_balancer_with_a_dead_server(start_causeway, peers):
    """Round robin over a live server and an address where nothing listens: no connection hangs;
    each one is either echoed by the live server or closed (Traefik does not retry another
    server), and the live server gets its share."""
    live = peers(EchoServer())
    dead = free_port()
    cw = start_causeway(dynamic=config(tcp={
        "routers": {"rr": router("HostSNI(`*`)", "rr")},
        "services": {"rr": lb(live.address, f"127.0.0.1:{dead}")}}))
    until(cw, lambda: echoes(cw.port()), "the live server")
    outcomes = []
    for i in range(20):
        payload = f"conn {i}\n".encode()
        start = time.time()
        data, how = exchange(cw.port(), payload, timeout=5.0)
        assert how != "timeout" and time.time() - start < 5.0, (i, data, how)
        assert data in (payload + BYE, b""), (i, data, how)
        outcomes.append(data != b"")
    assert sum(outcomes) >= 5, outcomes
    assert sum(1 for c in live.conns if bytes(c.received).startswith(b"conn ")) == sum(outcomes)


def test_health_check_takes_failing_servers_out(start_causeway, peers):
    """`loadBalancer.healthCheck` (Traefik v3.3): each server is connected to every interval,
    sent `send` and must answer `expect`. A server that answers something else (a banner) is
    DOWN in the API and gets no connection; when the healthy one stops too, it turns DOWN and
    connections are closed at once."""
    good = peers(EchoServer())
    bad = peers(BannerServer(banner=b"220 hello\r\n"))
    cw = start_causeway(dynamic=config(tcp={
        "routers": {"hc": router("HostSNI(`*`)", "hc")},
        "services": {"hc": {"loadBalancer": {
            "servers": [{"address": good.address}, {"address": bad.address}],
            "healthCheck": {"send": "PING\n", "expect": "PING", "interval": "200ms", "timeout": "1s"}}}}}),
        entrypoints=("web", "traefik"), static_extra="api:\n  insecure: true\n")

    def status():
        code, _, body = api_get(cw, "/api/tcp/services/hc@file")
        return body.get("serverStatus", {}) if code == 200 else {}
    until(cw, lambda: status() == {good.address: "UP", bad.address: "DOWN"}, "the health check verdicts")
    before = len([c for c in bad.conns if not bytes(c.received).startswith(b"PING")])
    for i in range(10):
        payload = f"conn {i}\n".encode()
        data, how = exchange(cw.port(), payload, timeout=5.0)
        assert data == payload + BYE, (i, data, how)
    # The failing server saw health checks only.
    assert len([c for c in bad.conns if not bytes(c.received).startswith(b"PING")]) == before

    good.stop()
    until(cw, lambda: status().get(good.address) == "DOWN", "the stopped server DOWN")
    start = time.time()
    data, how = exchange(cw.port(), b"nobody\n", timeout=5.0)
    assert data == b"" and how != "timeout" and time.time() - start < 2.0, (data, how)


# ---------------------------------------------------------------------------------------------
# Half-close

@pytest.mark.parametrize("kind", ["plain", "terminated", "passthrough"])
def test_half_close(start_causeway, peers, pki, kind):
    """The client sends "hello" and shuts down its write side (FIN; over TLS close_notify then
    FIN); it still reads the echo and the upstream's "BYE\\n" (sent when the upstream saw the
    half-close), then the end of the stream. Cleartext, terminated TLS, TLS passthrough."""
    echo = peers(EchoServer())
    tls_echo = peers(TlsEchoServer(pki.passthrough))
    cw = start_causeway(entrypoints=("plain", "tls"), dynamic=config(
        tcp={"routers": {"plain": router("HostSNI(`*`)", "echo", entrypoints=["plain"]),
                         "term": router("HostSNI(`term.example.com`)", "echo", entrypoints=["tls"], tls={}),
                         "pass": router("HostSNI(`pass.example.com`)", "tlsup", entrypoints=["tls"],
                                        tls=PASSTHROUGH)},
             "services": {"echo": lb(echo.address), "tlsup": lb(tls_echo.address)}},
        tls=certificates(pki.term)))
    until(cw, lambda: echoes(cw.port("plain")) and tls_echoes(cw.port("tls"), "term.example.com")
          and tls_echoes(cw.port("tls"), "pass.example.com"), "the three routers")
    if kind == "plain":
        with connect(cw.port("plain")) as s:
            s.sendall(b"hello")
            s.shutdown(socket.SHUT_WR)
            assert read_all(s) == (b"hello" + BYE, "eof")
        upstream = echo
    else:
        sni = "term.example.com" if kind == "terminated" else "pass.example.com"
        with TlsClient(cw.port("tls"), sni) as c:
            c.send(b"hello")
            c.half_close()
            data, how = c.read_all()
            assert data == b"hello" + BYE and how in ("close_notify", "eof"), (data, how)
        upstream = echo if kind == "terminated" else tls_echo
    conn = next(c for c in reversed(upstream.conns) if bytes(c.received) == b"hello")
    assert conn.eof, conn  # the upstream saw the client's half-close


# ---------------------------------------------------------------------------------------------
# Bad input

def test_client_hello_in_one_byte_writes_routes_by_sni(start_causeway, peers, pki):
    """A ClientHello written one byte at a time (1 ms apart, TCP_NODELAY) is reassembled and
    routed by its SNI, and the handshake and echo complete."""
    trickle = peers(TlsEchoServer(pki.upstream, greeting=b"trickle\n"))
    other = peers(TlsEchoServer(pki.upstream, greeting=b"other\n"))
    cw = start_causeway(dynamic=config(tcp={
        "routers": {"trickle": router("HostSNI(`trickle.example.com`)", "trickle", tls=PASSTHROUGH),
                    "other": router("HostSNI(`other.example.com`)", "other", tls=PASSTHROUGH)},
        "services": {"trickle": lb(trickle.address), "other": lb(other.address)}}))
    until(cw, lambda: tls_line(cw.port(), "other.example.com") == b"other\n", "the routers")
    assert len(client_hello("trickle.example.com")) > 100
    with TlsClient(cw.port(), "trickle.example.com", trickle=0.001, timeout=10.0) as c:
        data, how = c.read_until(b"\n")
        assert data == b"trickle\n", (data, how)
        c.send(b"slowly\n")
        assert c.read_until(b"slowly\n")[1] == "found"
    assert trickle.conns[-1].sni == "trickle.example.com"


def test_unfinished_client_hello_is_closed_after_read_timeout(start_causeway, peers, pki):
    """Half a ClientHello, then nothing: causeway closes the connection once the entryPoint's
    `transport.respondingTimeouts.readTimeout` (1s) has passed, without reaching the upstream;
    the next connection works."""
    up = peers(TlsEchoServer(pki.passthrough))
    cw = start_causeway(
        entrypoint_extra={"web": {"transport": {"respondingTimeouts": {"readTimeout": "1s"}}}},
        dynamic=config(tcp={
            "routers": {"pass": router("HostSNI(`pass.example.com`)", "tlsup", tls=PASSTHROUGH)},
            "services": {"tlsup": lb(up.address)}}))
    until(cw, lambda: tls_echoes(cw.port(), "pass.example.com"), "the passthrough route")
    before = up.accepted
    hello = client_hello("pass.example.com")
    with connect(cw.port()) as s:
        s.sendall(hello[:len(hello) // 2])
        start = time.time()
        data, how = read_all(s, timeout=8.0)
        elapsed = time.time() - start
    assert data == b"" and how in ("eof", "reset"), (data, how, elapsed)
    assert 0.5 <= elapsed < 5.0, elapsed
    assert up.accepted == before
    assert cw.proc.poll() is None
    assert tls_echoes(cw.port(), "pass.example.com")


def test_garbage_proxy_header_closes_the_connection(start_causeway, peers):
    """On an entryPoint with proxyProtocol (trusted 127.0.0.1/32), "PROXY GARBAGE\\r\\n" gets the
    connection closed with nothing echoed; a good header on the next connection works."""
    echo = peers(EchoServer())
    cw = start_causeway(
        entrypoint_extra={"web": {"proxyProtocol": {"trustedIPs": ["127.0.0.1/32"]}}},
        dynamic=config(tcp={"routers": {"echo": router("HostSNI(`*`)", "echo")},
                            "services": {"echo": lb(echo.address)}}))
    good = f"PROXY TCP4 203.0.113.7 127.0.0.1 5555 {cw.port()}\r\n".encode()
    until(cw, lambda: exchange(cw.port(), good + b"ok\n", 2.0)[0] == b"ok\n" + BYE, "the router")
    data, how = exchange(cw.port(), b"PROXY GARBAGE\r\nhello\n", timeout=5.0)
    assert b"hello" not in data and how in ("eof", "reset"), (data, how)
    assert not any(b"hello" in bytes(c.received) for c in echo.conns)
    assert cw.proc.poll() is None
    assert exchange(cw.port(), good + b"again\n") == (b"again\n" + BYE, "eof")


# ---------------------------------------------------------------------------------------------
# API and causeway check

def test_api_tcp_routers_services_middlewares(start_causeway, peers, pki):
    """/api/tcp/{routers,services,middlewares} with Traefik's fields: qualified names, provider,
    status, rule, service, entryPoints, using, tls.passthrough; a loadBalancer's servers, usedBy,
    serverStatus (UP by default); a middleware's type; /api/overview's tcp counts. A router
    with HostSNI(a.com) and no TLS is disabled with Traefik's error and not served."""
    up = peers(TlsEchoServer(pki.passthrough))
    echo = peers(EchoServer())
    cw = start_causeway(entrypoints=("web", "plain", "traefik"), static_extra="api:\n  insecure: true\n",
                        dynamic=config(tcp={
                            "routers": {
                                "pass": router("HostSNI(`pass.example.com`)", "tlsup", tls=PASSTHROUGH),
                                "plain": router("HostSNI(`*`)", "echo", entrypoints=["plain"],
                                                middlewares=["allow"]),
                                "bad": router("HostSNI(`a.com`)", "echo", entrypoints=["web"])},
                            "services": {"tlsup": lb(up.address), "echo": lb(echo.address)},
                            "middlewares": {"allow": {"ipAllowList": {"sourceRange": ["127.0.0.1/32"]}}}}))
    until(cw, lambda: api_get(cw, "/api/tcp/routers/pass@file")[0] == 200, "the TCP routers in the API")
    assert tls_echoes(cw.port(), "pass.example.com") and echoes(cw.port("plain"))

    status, headers, routers = api_get(cw, "/api/tcp/routers")
    assert status == 200 and headers["content-type"] == "application/json"
    by_name = {r["name"]: r for r in routers}
    assert {"pass@file", "plain@file", "bad@file"} <= set(by_name), by_name.keys()
    p = by_name["pass@file"]
    assert p["provider"] == "file" and p["status"] == "enabled", p
    assert p["rule"] == "HostSNI(`pass.example.com`)" and p["service"] == "tlsup", p
    assert p["entryPoints"] == ["web"] and p["using"] == ["web"], p
    assert p["tls"]["passthrough"] is True, p
    assert "error" not in p
    assert api_get(cw, "/api/tcp/routers/pass@file")[2] == p
    plain = by_name["plain@file"]
    assert plain["middlewares"] == ["allow"] and plain["using"] == ["plain"] and "tls" not in plain, plain

    bad = by_name["bad@file"]
    assert bad["status"] == "disabled", bad
    assert any("HostSNI" in e for e in bad["error"]), bad
    assert [r["name"] for r in api_get(cw, "/api/tcp/routers?status=disabled")[2]] == ["bad@file"]

    status, _, svc = api_get(cw, "/api/tcp/services/tlsup@file")
    assert status == 200, svc
    assert svc["name"] == "tlsup@file" and svc["provider"] == "file" and svc["status"] == "enabled", svc
    assert svc["type"] == "loadbalancer", svc
    assert svc["loadBalancer"]["servers"][0]["address"] == up.address, svc
    assert svc["usedBy"] == ["pass@file"], svc
    assert svc["serverStatus"] == {up.address: "UP"}, svc

    status, _, mw = api_get(cw, "/api/tcp/middlewares/allow@file")
    assert status == 200, mw
    assert mw["name"] == "allow@file" and mw["provider"] == "file" and mw["status"] == "enabled", mw
    assert mw["type"] == "ipallowlist" and mw["ipAllowList"] == {"sourceRange": ["127.0.0.1/32"]}, mw

    assert api_get(cw, "/api/tcp/routers/nope@file")[0] == 404
    assert api_get(cw, "/api/tcp/services/nope@file")[0] == 404

    _, _, overview = api_get(cw, "/api/overview")
    assert overview["tcp"]["routers"] == {"total": 3, "warnings": 0, "errors": 1}, overview["tcp"]
    assert overview["tcp"]["services"] == {"total": 2, "warnings": 0, "errors": 0}, overview["tcp"]
    assert overview["tcp"]["middlewares"] == {"total": 1, "warnings": 0, "errors": 0}, overview["tcp"]

    # The disabled router serves nothing: a TLS client asking for a.com is not passed anywhere.
    before = up.accepted
    try:
        tls_line(cw.port(), "a.com", timeout=2.0)
    except (ConnectionError, OSError):
        pass
    assert up.accepted == before
    assert not any(bytes(c.received).startswith(b"\x16") for c in echo.conns), echo.conns


def run_check(tmp_path, dynamic_text):
    dynamic_dir = tmp_path / "dynamic"
    dynamic_dir.mkdir(exist_ok=True)
    (dynamic_dir / "tcp.yml").write_text(dynamic_text)
    static = tmp_path / "static.yml"
    static.write_text(f"entryPoints:\n  web:\n    address: \"127.0.0.1:{free_port()}\"\n"
                      f"providers:\n  file:\n    directory: \"{dynamic_dir}\"\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAUSEWAY_", "TRAEFIK_"))}
    env["HOME"] = str(tmp_path)
    out = subprocess.run([BIN, "check", f"--configFile={static}"], cwd=str(tmp_path), env=env,
                         capture_output=True, text=True, timeout=20)
    return out.returncode, out.stdout + out.stderr


def test_check_reports_hostsni_without_tls(tmp_path):
    """`causeway check` accepts a valid TCP configuration (exit 0) and reports a router with
    HostSNI(a.com) but no TLS as an error naming the router and HostSNI (exit 1)."""
    good = to_yaml({"tcp": {"routers": {"db": router("HostSNI(`db.example.com`)", "db", tls=PASSTHROUGH),
                                        "any": router("HostSNI(`*`)", "db")},
                            "services": {"db": lb("127.0.0.1:9")}}}) + "\n"
    code, output = run_check(tmp_path, good)
    assert code == 0, output
    bad = to_yaml({"tcp": {"routers": {"db": router("HostSNI(`a.com`)", "db")},
                           "services": {"db": lb("127.0.0.1:9")}}}) + "\n"
    code, output = run_check(tmp_path, bad)
    assert code == 1, output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert any("HostSNI" in e and "db" in e for e in errors), output


# ---------------------------------------------------------------------------------------------
# Hot reload

def test_hot_reload_changes_the_service_and_keeps_open_connections(start_causeway, peers):
    """The router's service is changed in the file: new connections go to the new upstream,
    while a connection opened before the change keeps working with the old one until closed."""
    old = peers(BannerServer(banner=b"old\n"))
    new = peers(BannerServer(banner=b"new\n"))

    def dynamic(service):
        return config(tcp={"routers": {"r": router("HostSNI(`*`)", service)},
                           "services": {"old": lb(old.address), "new": lb(new.address)}})["tcp.yml"]

    cw = start_causeway(dynamic={"tcp.yml": dynamic("old")})
    until(cw, lambda: first_line(cw.port(), timeout=1.0) == b"old\n", "the old service")
    with connect(cw.port()) as kept:
        assert read_until(kept, b"old\n")[1] == "found"
        cw.write("tcp.yml", dynamic("new"))
        until(cw, lambda: first_line(cw.port(), timeout=1.0) == b"new\n", "the new service")
        kept.sendall(b"still the old one\n")
        assert read_until(kept, b"still the old one\n", 3.0)[1] == "found"
        kept.shutdown(socket.SHUT_WR)
        assert read_all(kept) == (BYE, "eof")
    assert any(bytes(c.received) == b"still the old one\n" for c in old.conns)
