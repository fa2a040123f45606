"""TLS towards https:// servers (docs/compatibility.md static serversTransport, §2.3
http.serversTransports, §8 "Backend TLS").

The upstream is tls_upstream.TlsUpstream, a Python HTTPS server that records what the proxy
presented on each TLS connection (SNI, ALPN, version, cipher, client certificate) and
answers HTTP/1.1 with keep-alive. HTTP/2 upstreams (h2c, ALPN h2, serverName, disableHTTP2,
a wrong CA) are in test_http2.py.
"""
import ssl

import pytest

from harness import to_yaml, wait_until
from tls_certs import Pki, curl_tls
from tls_upstream import TlsUpstream


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    p = Pki(tmp_path_factory.mktemp("pki"))
    p.ca_cert = p.ca("causeway test CA")
    p.client_ca = p.ca("upstream client CA")
    p.backend = p.issue(p.ca_cert, "backend.internal", dns=["backend.internal"], ips=["127.0.0.1"])
    p.self_signed = p.issue(None, "selfsigned.internal", dns=["selfsigned.internal"], ips=["127.0.0.1"])
    p.proxy_client = p.issue(p.client_ca, "proxy-client", client=True)
    p.stranger = p.issue(p.ca_cert, "stranger", client=True)  # a client cert from the wrong CA
    return p


@pytest.fixture
def upstream():
    started = []

    def start(cert, **kwargs):
        u = TlsUpstream(cert, **kwargs)
        started.append(u)
        return u

    yield start
    for u in started:
        u.stop()


def routes(services, transports=None):
    """Host <name>.test → service <name> (cleartext entryPoint)."""
    http = {"routers": {name: {"rule": f"Host(`{name}.test`)", "service": name} for name in services},
            "services": services}
    if transports:
        http["serversTransports"] = transports
    return {"up.yml": to_yaml({"http": http}) + "\n"}


def lb(url, transport=None):
    out = {"loadBalancer": {"servers": [{"url": url}]}}
    if transport:
        out["loadBalancer"]["serversTransport"] = transport
    return out


def get(cw, name, path="/"):
    return curl_tls(cw.port(), f"{name}.test", path, scheme="http")


def settle(cw, name, status):
    return wait_until(lambda: get(cw, name).status == status, message=f"{name}.test → {status}")


# ---------------------------------------------------------------------------------------
# Trust: rootCAs (dynamic, inline, static default), insecureSkipVerify

def test_root_cas_from_file_and_inline_pem(pki, upstream, start_causeway):
    up = upstream(pki.backend, alpn=("http/1.1",))
    transports = {"file": {"rootCAs": [pki.ca_cert.cert]}, "inline": {"rootCAs": [pki.ca_cert.pem()]}}
    cw = start_causeway(dynamic=routes({"file": lb(up.url, "file"), "inline": lb(up.url, "inline"),
                                        "default": lb(up.url)}, transports))
    settle(cw, "file", 200)
    r = get(cw, "inline")
    assert r.status == 200 and b"version=TLSv1.3" in r.body, r
    # The default transport trusts the system roots only: the test CA is not among them.
    assert get(cw, "default").status == 502


def test_static_default_transport_root_cas(pki, upstream, start_causeway):
    up = upstream(pki.backend, alpn=("http/1.1",))
    cw = start_causeway(dynamic=routes({"default": lb(up.url)}),
                        static_extra=f"serversTransport:\n  rootCAs:\n    - \"{pki.ca_cert.cert}\"\n")
    settle(cw, "default", 200)
    assert up.connections and up.connections[-1].requests >= 1


@pytest.mark.parametrize("where", ["dynamic", "static"])
def test_insecure_skip_verify(pki, upstream, start_causeway, where):
    up = upstream(pki.self_signed, alpn=("http/1.1",))
    if where == "dynamic":
        cw = start_causeway(dynamic=routes({"insecure": lb(up.url, "insecure"), "strict": lb(up.url, "strict")},
                                           {"insecure": {"insecureSkipVerify": True},
                                            "strict": {"rootCAs": [pki.ca_cert.cert]}}))
        settle(cw, "insecure", 200)
        assert get(cw, "strict").status == 502  # the same upstream, verified: refused
    else:
        cw = start_causeway(dynamic=routes({"insecure": lb(up.url)}),
                            static_extra="serversTransport:\n  insecureSkipVerify: true\n")
        settle(cw, "insecure", 200)


# ---------------------------------------------------------------------------------------
# Client certificates (mTLS towards the upstream)

@pytest.mark.parametrize("form", ["files", "inline"])
def test_client_certificate_presented_to_the_upstream(pki, upstream, start_causeway, form):
    up = upstream(pki.backend, alpn=("http/1.1",), client_ca=pki.client_ca)
    cert = pki.proxy_client
    pair = ({"certFile": cert.cert, "keyFile": cert.key} if form == "files"
            else {"certFile": cert.pem(), "keyFile": cert.key_pem()})
    transports = {"mtls": {"rootCAs": [pki.ca_cert.cert], "certificates": [pair]},
                  "nocert": {"rootCAs": [pki.ca_cert.cert]},
                  "wrongcert": {"rootCAs": [pki.ca_cert.cert],
                                "certificates": [{"certFile": pki.stranger.cert, "keyFile": pki.stranger.key}]}}
    cw = start_causeway(dynamic=routes({"mtls": lb(up.url, "mtls"), "nocert": lb(up.url, "nocert"),
                                        "wrongcert": lb(up.url, "wrongcert")}, transports))
    settle(cw, "mtls", 200)
    r = get(cw, "mtls")
    assert r.status == 200 and b"client=proxy-client" in r.body, r
    # Without a certificate, or with one the upstream does not trust: the handshake fails.
    assert get(cw, "nocert").status == 502
    assert get(cw, "wrongcert").status == 502
    assert all(c.requests == 0 for c in up.connections if c.client_cn != "proxy-client"), up.connections


# ---------------------------------------------------------------------------------------
# Versions and cipher suites of the transport

def test_transport_min_version_above_the_upstream_is_502(pki, upstream, start_causeway):
    up = upstream(pki.backend, alpn=("http/1.1",), max_version=ssl.TLSVersion.TLSv1_2)
    transports = {"min13": {"rootCAs": [pki.ca_cert.cert], "minVersion": "VersionTLS13"},
                  "any": {"rootCAs": [pki.ca_cert.cert]}}
    cw = start_causeway(dynamic=routes({"min13": lb(up.url, "min13"), "any": lb(up.url, "any")}, transports))
    settle(cw, "any", 200)
    r = get(cw, "any")
    assert b"version=TLSv1.2" in r.body, r
    assert get(cw, "min13").status == 502


def test_transport_max_version_and_cipher_suites(pki, upstream, start_causeway):
    up = upstream(pki.backend, alpn=("http/1.1",))
    transports = {"max12": {"rootCAs": [pki.ca_cert.cert], "maxVersion": "VersionTLS12"},
                  "chacha": {"rootCAs": [pki.ca_cert.cert], "maxVersion": "VersionTLS12",
                             "cipherSuites": ["TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"]},
                  "aes256": {"rootCAs": [pki.ca_cert.cert], "maxVersion": "VersionTLS12",
                             "cipherSuites": ["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"]}}
    cw = start_causeway(dynamic=routes({name: lb(up.url, name) for name in transports}, transports))
    settle(cw, "max12", 200)
    assert b"version=TLSv1.2" in get(cw, "max12").body
    r = get(cw, "chacha")
    assert r.status == 200 and b"cipher=ECDHE-ECDSA-CHACHA20-POLY1305" in r.body, r
    r = get(cw, "aes256")
    assert r.status == 200 and b"cipher=ECDHE-ECDSA-AES256-GCM-SHA384" in r.body, r


# ---------------------------------------------------------------------------------------
# Connection reuse (maxIdleConnsPerHost)

def test_upstream_tls_connections_are_reused(pki, upstream, start_causeway):
    up = upstream(pki.backend, alpn=("http/1.1",))
    cw = start_causeway(dynamic=routes({"s": lb(up.url, "tr")}, {"tr": {"rootCAs": [pki.ca_cert.cert]}}),
                        workers=1)
    settle(cw, "s", 200)
    for _ in range(20):
        assert get(cw, "s").status == 200
    handshakes = [c for c in up.connections if c.error is None]
    assert len(handshakes) == 1, up.connections
    assert handshakes[0].requests == 21


def test_negative_max_idle_conns_per_host_disables_reuse(pki, upstream, start_causeway):
    up = upstream(pki.backend, alpn=("http/1.1",))
    cw = start_causeway(dynamic=routes({"s": lb(up.url, "tr")},
                                       {"tr": {"rootCAs": [pki.ca_cert.cert], "maxIdleConnsPerHost": -1}}),
                        workers=1)
    settle(cw, "s", 200)
    before = len(up.connections)
    for _ in range(5):
        assert get(cw, "s").status == 200
    assert len(up.connections) - before == 5, up.connections
    assert all(c.requests <= 1 for c in up.connections), up.connections
