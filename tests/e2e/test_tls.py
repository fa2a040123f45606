"""TLS termination as Traefik does it (docs/compatibility.md).

Clients: curl (--http1.1 and --http2, `--resolve name:port:127.0.0.1`, `--cacert` the test
CA), `openssl s_client` for versions, ciphers, groups, alerts and session resumption, and
Python's ssl module to read the certificate a server presents for an SNI. Certificates are
made for each run by tls_certs.py (ECDSA P-256, one test CA).
"""
import base64
import os
import signal
import socket
import subprocess

from http.client import HTTPConnection

import pytest

from harness import Causeway, Whoami, header_values, to_yaml, wait_log, wait_until, whoami_echo
from tls_certs import Pki, client_context, curl_tls, peer_certificate, s_client
from wsclient import OP_PONG, OP_TEXT, WebSocket, _read_head, accept_key


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    p = Pki(tmp_path_factory.mktemp("pki"))
    p.ca_cert = p.ca("causeway test CA")
    p.other_ca = p.ca("another CA")
    p.exact = p.issue(p.ca_cert, "a.example.test", dns=["a.example.test"])
    p.wildcard = p.issue(p.ca_cert, "*.example.test", dns=["*.example.test"])
    p.other = p.issue(p.ca_cert, "b.other.test", dns=["b.other.test"])
    p.default = p.issue(p.ca_cert, "default.test", dns=["default.test"])
    return p


@pytest.fixture(scope="module")
def whoamis():
    secure, plain = Whoami("secure"), Whoami("plain")
    yield secure, plain
    secure.stop()
    plain.stop()


def lb(url):
    return {"loadBalancer": {"servers": [{"url": url}]}}


def certificates(*certs):
    return [{"certFile": c.cert, "keyFile": c.key} for c in certs]


def config(routers, services, tls=None):
    out = {"http": {"routers": routers, "services": services}}
    if tls:
        out["tls"] = tls
    return {"tls.yml": to_yaml(out) + "\n"}


def https_ready(cw, pki, name="a.example.test", port=None, status=200):
    def ok():
        r = curl_tls(port or cw.port(), name, ca=pki.ca_cert)
        return r if r.status == status else None
    return wait_until(ok, message=f"https://{name} → {status}")


# ---------------------------------------------------------------------------------------
# One proxy with several certificates and option sets, shared by the read-only tests.

OPTIONS = {
    "max12": {"maxVersion": "VersionTLS12"},
    "min13": {"minVersion": "VersionTLS13"},
    "min11": {"minVersion": "VersionTLS11",
              "cipherSuites": ["TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]},
    "ciphers": {"cipherSuites": ["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"]},
    "curves": {"curvePreferences": ["CurveP384"]},
    "h1only": {"alpnProtocols": ["http/1.1"]},
    "other": {"minVersion": "VersionTLS12"},  # same values as default, another name (421 rule)
    "notickets": {"disableSessionTickets": True},
}


@pytest.fixture(scope="module")
def proxy(pki, whoamis):
    secure, plain = whoamis
    routers = {
        "secure": {"rule": "Host(`a.example.test`) || Host(`x.example.test`) || Host(`b.other.test`)",
                   "service": "secure", "tls": {}},
        "plain": {"rule": "Host(`plain.test`)", "service": "plain"},
        "b": {"rule": "Host(`b.example.test`)", "service": "secure", "tls": {"options": "other"}},
    }
    for name in OPTIONS:
        if name != "other":
            routers[name] = {"rule": f"Host(`{name}.example.test`)", "service": "secure", "tls": {"options": name}}
    tls = {"certificates": certificates(pki.wildcard, pki.exact, pki.other),  # wildcard listed first
           "options": OPTIONS}
    cw = Causeway(dynamic=config(routers, {"secure": lb(secure.url), "plain": lb(plain.url)}, tls))
    try:
        https_ready(cw, pki)
        yield cw
    finally:
        cw.stop()


# ---------------------------------------------------------------------------------------
# HTTPS and cleartext routers on one entryPoint

@pytest.mark.parametrize("http", ["1.1", "2"])
def test_tls_and_cleartext_routers_share_the_entrypoint(proxy, pki, http):
    r = curl_tls(proxy.port(), "a.example.test", ca=pki.ca_cert, http=http)
    assert r.status == 200, r
    assert r.version == http, r
    assert b"Name: secure" in r.body
    # The cleartext router answers over HTTP on the same port...
    r = curl_tls(proxy.port(), "plain.test", scheme="http", http="1.1" if http == "1.1" else "2-prior")
    assert r.status == 200 and b"Name: plain" in r.body, r
    # ...but a TLS router is not served over cleartext, nor a cleartext router over TLS.
    r = curl_tls(proxy.port(), "a.example.test", scheme="http", http="1.1" if http == "1.1" else "2-prior")
    assert r.status == 404, r
    r = curl_tls(proxy.port(), "a.example.test", ca=pki.ca_cert, http=http, headers=["Host: plain.test"])
    assert r.status == 404, r


# ---------------------------------------------------------------------------------------
# Certificate selection by SNI (§8)

@pytest.mark.parametrize("sni,expected", [
    ("a.example.test", "a.example.test"),        # exact name beats the wildcard listed before it
    ("x.example.test", "*.example.test"),        # one-label wildcard
    ("b.other.test", "b.other.test"),
    ("y.x.example.test", "TRAEFIK DEFAULT CERT"),  # a wildcard covers one label only
    ("example.test", "TRAEFIK DEFAULT CERT"),    # ... and not the apex
    ("unknown.test", "TRAEFIK DEFAULT CERT"),
    (None, "TRAEFIK DEFAULT CERT"),              # no SNI
])
def test_certificate_chosen_by_sni(proxy, sni, expected):
    cert = peer_certificate(proxy.port(), sni)
    assert cert["cn"] == expected, cert
    if expected == "TRAEFIK DEFAULT CERT":
        assert cert["issuer"] == cert["subject"], cert  # self-signed, generated


def test_sni_match_ignores_case(proxy):
    r = s_client(proxy.port(), servername="A.Example.TEST")
    assert r.connected and "CN = a.example.test" in (r.subject or ""), r


@pytest.mark.parametrize("http", ["1.1", "2"])
@pytest.mark.parametrize("name", ["a.example.test", "x.example.test", "b.other.test"])
def test_curl_verifies_the_certificate_of_each_name(proxy, pki, name, http):
    r = curl_tls(proxy.port(), name, ca=pki.ca_cert, http=http)
    assert r.status == 200 and r.version == http, r


def test_unknown_name_gets_an_untrusted_default_certificate(proxy, pki):
    r = curl_tls(proxy.port(), "y.x.example.test", ca=pki.ca_cert, headers=["Host: a.example.test"])
    assert r.rc != 0 and r.status is None, r  # the generated certificate is not from the CA


def test_default_certificate_from_the_default_store(pki, whoamis, start_causeway):
    secure, _ = whoamis
    tls = {"certificates": certificates(pki.exact),
           "stores": {"default": {"defaultCertificate": {"certFile": pki.default.cert, "keyFile": pki.default.key}}}}
    cw = start_causeway(dynamic=config({"r": {"rule": "Host(`a.example.test`)", "service": "s", "tls": {}}},
                                       {"s": lb(secure.url)}, tls))
    https_ready(cw, pki)
    assert peer_certificate(cw.port(), None)["cn"] == "default.test"
    assert peer_certificate(cw.port(), "unknown.test")["cn"] == "default.test"
    assert peer_certificate(cw.port(), "a.example.test")["cn"] == "a.example.test"


def test_sni_strict(pki, whoamis, start_causeway):
    secure, _ = whoamis
    tls = {"certificates": certificates(pki.exact), "options": {"default": {"sniStrict": True}}}
    cw = start_causeway(dynamic=config({"r": {"rule": "Host(`a.example.test`)", "service": "s", "tls": {}}},
                                       {"s": lb(secure.url)}, tls))
    https_ready(cw, pki)
    for sni in ("unknown.test", None):
        r = s_client(cw.port(), servername=sni)
        assert not r.connected, r
        assert "unrecognized name" in r.alerts(), r  # RFC 6066 §3
    r = s_client(cw.port(), servername="a.example.test")
    assert r.connected and "CN = a.example.test" in r.subject, r
    for http in ("1.1", "2"):
        r = curl_tls(cw.port(), "a.example.test", ca=pki.ca_cert, http=http)
        assert r.status == 200, r


# ---------------------------------------------------------------------------------------
# Versions, ciphers, groups, ALPN (tls.options)

OLD = ["-cipher", "DEFAULT@SECLEVEL=0"]  # lets the client itself offer TLS 1.1


def test_tls_1_1_refused_by_default(proxy):
    r = s_client(proxy.port(), "-tls1_1", *OLD, servername="a.example.test")
    assert not r.connected, r
    assert "protocol version" in r.alerts(), r  # the server's alert, not a client-side refusal


@pytest.mark.parametrize("flag,version", [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")])
def test_tls_1_2_and_1_3_accepted_by_default(proxy, flag, version):
    r = s_client(proxy.port(), flag, servername="a.example.test")
    assert r.connected and r.protocol == version, r


def test_min_version_tls11_accepts_tls_1_1(proxy):
    r = s_client(proxy.port(), "-tls1_1", *OLD, servername="min11.example.test")
    assert r.connected and r.protocol == "TLSv1.1", r


def test_max_version_tls12_refuses_tls_1_3(proxy):
    r = s_client(proxy.port(), "-tls1_3", servername="max12.example.test")
    assert not r.connected, r
    assert "protocol version" in r.alerts(), r
    r = s_client(proxy.port(), "-tls1_2", servername="max12.example.test")
    assert r.connected and r.protocol == "TLSv1.2", r
    r = s_client(proxy.port(), servername="max12.example.test")  # client offers up to 1.3
    assert r.connected and r.protocol == "TLSv1.2", r
    # The same client gets TLS 1.3 from a host with the default options.
    r = s_client(proxy.port(), servername="a.example.test")
    assert r.connected and r.protocol == "TLSv1.3", r


def test_min_version_tls13_refuses_tls_1_2(proxy):
    r = s_client(proxy.port(), "-tls1_2", servername="min13.example.test")
    assert not r.connected, r
    r = s_client(proxy.port(), "-tls1_3", servername="min13.example.test")
    assert r.connected and r.protocol == "TLSv1.3", r


@pytest.mark.parametrize("cipher,accepted_by_limited", [
    ("ECDHE-ECDSA-AES256-GCM-SHA384", True),
    ("ECDHE-ECDSA-AES128-GCM-SHA256", False),
    ("ECDHE-ECDSA-CHACHA20-POLY1305", False),
])
def test_cipher_suites_limit_tls_1_2(proxy, cipher, accepted_by_limited):
    r = s_client(proxy.port(), "-tls1_2", "-cipher", cipher, servername="ciphers.example.test")
    assert r.connected == accepted_by_limited, r
    if accepted_by_limited:
        assert r.cipher == cipher, r
    else:
        assert "handshake failure" in r.alerts(), r
    # Control: the default options accept every one of these suites.
    r = s_client(proxy.port(), "-tls1_2", "-cipher", cipher, servername="a.example.test")
    assert r.connected and r.cipher == cipher, r


def test_cipher_suites_leave_tls_1_3_alone(proxy):
    r = s_client(proxy.port(), "-tls1_3", servername="ciphers.example.test")
    assert r.connected and r.protocol == "TLSv1.3", r


def test_curve_preferences(proxy):
    # TLS 1.3: a client that only has P-256 cannot agree with a P-384-only server...
    r = s_client(proxy.port(), "-tls1_3", "-groups", "P-256", servername="curves.example.test")
    assert not r.connected, r
    # ...one that also has P-384 gets P-384 (after a HelloRetryRequest), in 1.3 and 1.2.
    for flag in ("-tls1_3", "-tls1_2"):
        r = s_client(proxy.port(), flag, "-groups", "P-256:P-384", servername="curves.example.test")
        assert r.connected and r.temp_key and "secp384r1" in r.temp_key, r
    # Control: the default options take P-256 from the same client.
    r = s_client(proxy.port(), "-tls1_3", "-groups", "P-256:P-384", servername="a.example.test")
    assert r.connected and "prime256v1" in r.temp_key, r


def test_alpn_protocols_http11_only_makes_curl_fall_back(proxy, pki):
    r = curl_tls(proxy.port(), "h1only.example.test", ca=pki.ca_cert, http="2")
    assert r.status == 200 and r.version == "1.1", r
    assert s_client(proxy.port(), "-alpn", "h2,http/1.1", servername="h1only.example.test").alpn == "http/1.1"
    r = curl_tls(proxy.port(), "a.example.test", ca=pki.ca_cert, http="2")
    assert r.status == 200 and r.version == "2", r
    assert s_client(proxy.port(), "-alpn", "h2,http/1.1", servername="a.example.test").alpn == "h2"


# ---------------------------------------------------------------------------------------
# 421 Misdirected Request (§8, pkg/middlewares/snicheck)

@pytest.mark.parametrize("http", ["1.1", "2"])
@pytest.mark.parametrize("sni,host,status", [
    ("a.example.test", "b.example.test", 421),  # SNI on default options, Host on "other"
    ("b.example.test", "a.example.test", 421),  # and the other way round
    ("b.example.test", "b.example.test", 200),
    ("a.example.test", "a.example.test", 200),
    ("x.example.test", "a.example.test", 200),  # different names, same (default) options
])
def test_misdirected_request(proxy, pki, sni, host, status, http):
    r = curl_tls(proxy.port(), sni, ca=pki.ca_cert, http=http, headers=[f"Host: {host}"])
    assert r.status == status, r


# ---------------------------------------------------------------------------------------
# entryPoint defaults: http.tls and redirections (§1.2)

@pytest.mark.parametrize("http", ["1.1", "2"])
def test_entrypoint_http_tls_makes_every_router_a_tls_router(pki, whoamis, start_causeway, http):
    secure, _ = whoamis
    cw = start_causeway(dynamic=config({"r": {"rule": "Host(`a.example.test`)", "service": "s"}},
                                       {"s": lb(secure.url)}, {"certificates": certificates(pki.exact)}),
                        entrypoint_extra={"web": {"http": {"tls": {}}}})
    r = https_ready(cw, pki)
    r = curl_tls(cw.port(), "a.example.test", ca=pki.ca_cert, http=http)
    assert r.status == 200 and r.version == http and b"Name: secure" in r.body, r
    r = curl_tls(cw.port(), "a.example.test", scheme="http", http="1.1" if http == "1.1" else "2-prior")
    assert r.status == 404, r


def test_redirection_to_the_tls_entrypoint(pki, whoamis, start_causeway):
    secure, _ = whoamis
    redirect = {"redirections": {"entryPoint": {"to": "websecure", "scheme": "https"}}}
    cw = start_causeway(entrypoints=("web", "websecure"),
                        dynamic=config({"r": {"rule": "Host(`a.example.test`)", "service": "s"}},
                                       {"s": lb(secure.url)}, {"certificates": certificates(pki.exact)}),
                        entrypoint_extra={"web": {"http": redirect}, "websecure": {"http": {"tls": {}}}})
    https_ready(cw, pki, port=cw.port("websecure"))
    web, websecure = cw.port("web"), cw.port("websecure")
    r = curl_tls(web, "a.example.test", "/some/path?q=1", scheme="http")
    assert r.status == 301, r
    assert r.headers["location"] == f"https://a.example.test:{websecure}/some/path?q=1", r.headers
    r = curl_tls(web, "a.example.test", "/x", scheme="http", args=["-X", "POST"])
    assert r.status == 308, r
    # Following the redirect reaches the router over HTTPS.
    r = curl_tls(web, "a.example.test", "/some/path?q=1", scheme="http", ca=pki.ca_cert, args=["-L"],
                 resolve=[("a.example.test", websecure)])
    assert r.status == 200 and b"Name: secure" in r.body, r
    request_line, headers, _ = whoami_echo(r.body)
    assert request_line == "GET /some/path?q=1 HTTP/1.1"
    assert header_values(headers, "X-Forwarded-Proto") == ["https"]


# ---------------------------------------------------------------------------------------
# WebSocket over TLS

def websocket_tls(port, sni, ca, path="/echo"):
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock = client_context(ca, alpn=["http/1.1"]).wrap_socket(raw, server_hostname=sni)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {sni}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    status, headers, rest = _read_head(sock)
    return sock, status, headers, rest, key


def test_websocket_over_tls(pki, whoamis, start_causeway):
    secure, _ = whoamis
    cw = start_causeway(dynamic=config({"r": {"rule": "Host(`a.example.test`)", "service": "s", "tls": {}}},
                                       {"s": lb(secure.url)}, {"certificates": certificates(pki.exact)}))
    https_ready(cw, pki)
    sock, status, headers, rest, key = websocket_tls(cw.port(), "a.example.test", pki.ca_cert)
    try:
        assert status == 101, (status, headers)
        assert headers.get("sec-websocket-accept") == accept_key(key)
        ws = WebSocket(sock, rest)
        try:
            assert ws.echo("hello over TLS", OP_TEXT) == b"hello over TLS"
            big = os.urandom(200_000)
            assert ws.echo(big) == big
            ws.ping(b"p")
            assert ws.recv() == (OP_PONG, b"p")
            assert ws.close()[0] == 1000
        finally:
            try:  # a crash shows as an EOF first: give the exit a moment to be seen
                cw.proc.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                pass
            assert cw.proc.poll() is None, f"causeway exited with {cw.proc.poll()}"
    finally:
        sock.close()


# ---------------------------------------------------------------------------------------
# Certificate reload (SIGHUP) and session resumption

class TlsConnection(HTTPConnection):
    """A keep-alive HTTPS connection to 127.0.0.1 with a given SNI."""

    def __init__(self, port, sni, ctx):
        super().__init__("127.0.0.1", port, timeout=10)
        self.sni, self.ctx = sni, ctx

    def connect(self):
        super().connect()
        self.sock = self.ctx.wrap_socket(self.sock, server_hostname=self.sni)

    def get(self, host):
        self.request("GET", "/", headers={"Host": host})
        response = self.getresponse()
        return response.status, response.read()


def test_certificate_files_replaced_and_sighup(pki, whoamis, start_causeway, tmp_path):
    secure, _ = whoamis
    first = pki.issue(pki.ca_cert, "a.example.test", dns=["a.example.test"], path=tmp_path / "live")
    cw = start_causeway(dynamic=config({"r": {"rule": "Host(`a.example.test`)", "service": "s", "tls": {}}},
                                       {"s": lb(secure.url)}, {"certificates": certificates(first)}))
    https_ready(cw, pki)
    assert peer_certificate(cw.port(), "a.example.test")["serial"] == first.serial
    conn = TlsConnection(cw.port(), "a.example.test", client_context(pki.ca_cert))
    try:
        assert conn.get("a.example.test")[0] == 200
        old_der = conn.sock.getpeercert(binary_form=True)
        # New files written beside, then moved over the live ones (as cert tools do).
        second = pki.issue(pki.ca_cert, "a.example.test", dns=["a.example.test"], path=tmp_path / "next")
        os.replace(second.key, first.key)
        os.replace(second.cert, first.cert)
        cw.signal(signal.SIGHUP)
        wait_until(lambda: peer_certificate(cw.port(), "a.example.test")["serial"] == second.serial,
                   message="the new certificate served")
        r = curl_tls(cw.port(), "a.example.test", ca=pki.ca_cert, http="2")
        assert r.status == 200, r
        # The connection opened before the reload keeps working, on its old certificate.
        for _ in range(3):
            status, body = conn.get("a.example.test")
            assert status == 200 and b"Name: secure" in body
        assert conn.sock.getpeercert(binary_form=True) == old_der
    finally:
        conn.close()


def resumption(port, sni, tmp_path):
    request = f"GET / HTTP/1.1\r\nHost: {sni}\r\nConnection: close\r\n\r\n".encode()
    session = str(tmp_path / f"{sni}.session")
    first = s_client(port, "-tls1_3", "-sess_out", session, "-ign_eof", servername=sni, stdin=request)
    second = s_client(port, "-tls1_3", "-sess_in", session, "-ign_eof", servername=sni, stdin=request)
    return first, second


def test_tls13_session_resumption(proxy, tmp_path):
    first, second = resumption(proxy.port(), "a.example.test", tmp_path)
    assert first.connected and first.session == "New", first
    assert second.session == "Reused" and second.protocol == "TLSv1.3", second
    assert "HTTP/1.1 200 OK" in second.stdout, second


def test_disable_session_tickets(proxy, tmp_path):
    first, second = resumption(proxy.port(), "notickets.example.test", tmp_path)
    assert first.connected, first
    assert second.connected and second.session == "New", second


# ---------------------------------------------------------------------------------------
# A certResolver that is not configured; X-Forwarded-* on TLS requests

def test_cert_resolver_is_reported_and_the_store_serves(pki, whoamis, start_causeway):
    secure, _ = whoamis
    routers = {"r": {"rule": "Host(`a.example.test`)", "service": "s", "tls": {"certResolver": "le"}}}
    cw = start_causeway(dynamic=config(routers, {"s": lb(secure.url)}, {"certificates": certificates(pki.exact)}))
    https_ready(cw, pki)
    log = wait_log(cw, "nonexistent certificate resolver")
    line = next(l for l in log.splitlines() if "nonexistent certificate resolver" in l)
    assert " WRN " in line and "le" in line, line
    for http in ("1.1", "2"):
        r = curl_tls(cw.port(), "a.example.test", ca=pki.ca_cert, http=http)
        assert r.status == 200 and b"Name: secure" in r.body, r


@pytest.mark.parametrize("http", ["1.1", "2"])
def test_forwarded_headers_on_tls_requests(proxy, pki, http):
    port = proxy.port()
    r = curl_tls(port, "a.example.test", ca=pki.ca_cert, http=http)
    _, headers, _ = whoami_echo(r.body)
    assert header_values(headers, "X-Forwarded-Proto") == ["https"], headers
    assert header_values(headers, "X-Forwarded-Port") == [str(port)], headers  # from the Host port
    assert header_values(headers, "X-Forwarded-Host") == [f"a.example.test:{port}"], headers
    # Without a port in Host: 443, as for any https request.
    r = curl_tls(port, "a.example.test", ca=pki.ca_cert, http=http, headers=["Host: a.example.test"])
    _, headers, _ = whoami_echo(r.body)
    assert header_values(headers, "X-Forwarded-Proto") == ["https"], headers
    assert header_values(headers, "X-Forwarded-Port") == ["443"], headers
    # Cleartext on the same entryPoint: http and 80.
    r = curl_tls(port, "plain.test", scheme="http", headers=["Host: plain.test"])
    _, headers, _ = whoami_echo(r.body)
    assert header_values(headers, "X-Forwarded-Proto") == ["http"], headers
    assert header_values(headers, "X-Forwarded-Port") == ["80"], headers
