"""Client certificates: tls.options.<name>.clientAuth (docs/compatibility.md).

One proxy, one router per clientAuthType on its own host (the SNI picks the options). Each
type is driven with curl (--cert/--key) and `openssl s_client` (-cert/-key) over TLS 1.2
and 1.3, with no certificate, a certificate from the trusted CA, one from another CA and a
self-signed one. "Refused" means no HTTP answer and a TLS alert; with TLS 1.3 the client
finishes its side of the handshake first, so the refusal shows when it reads.
"""
import pytest

from harness import Causeway, Whoami, to_yaml, wait_until
from tls_certs import Pki, curl_tls, s_client

TYPES = {
    "rv": {"caFiles": ["CA"], "clientAuthType": "RequireAndVerifyClientCert"},
    "rvimplicit": {"caFiles": ["CA"]},  # caFiles alone: RequireAndVerifyClientCert, as Traefik
    "rvinline": {"caFiles": ["CA-PEM"], "clientAuthType": "RequireAndVerifyClientCert"},
    "vig": {"caFiles": ["CA"], "clientAuthType": "VerifyClientCertIfGiven"},
    "request": {"clientAuthType": "RequestClientCert"},
    "requireany": {"clientAuthType": "RequireAnyClientCert"},
    "requireanyca": {"caFiles": ["CA"], "clientAuthType": "RequireAnyClientCert"},  # CAs not checked
    "none": {"caFiles": ["CA"], "clientAuthType": "NoClientCert"},
}

# Expected outcome per type and client certificate: True = served (200), False = refused.
EXPECTED = {
    #               none   good   other-CA self-signed
    "rv":          (False, True, False, False),
    "rvimplicit":  (False, True, False, False),
    "rvinline":    (False, True, False, False),
    "vig":         (True, True, False, False),
    "request":     (True, True, True, True),
    "requireany":  (False, True, True, True),
    "requireanyca": (False, True, True, True),
    "none":        (True, True, True, True),
}
CLIENTS = ["none", "good", "other-ca", "self-signed"]
REFUSAL_ALERTS = {"handshake failure", "certificate required", "unknown ca", "bad certificate",
                  "certificate unknown"}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    pki = Pki(tmp_path_factory.mktemp("pki"))
    ca = pki.ca("client CA")
    other = pki.ca("other CA")
    server = pki.issue(ca, "*.mtls.test", dns=["*.mtls.test"])
    clients = {
        "none": None,
        "good": pki.issue(ca, "alice", client=True),
        "other-ca": pki.issue(other, "mallory", client=True),
        "self-signed": pki.issue(None, "eve", client=True),
    }
    options = {}
    for name, auth in TYPES.items():
        auth = dict(auth)
        if "caFiles" in auth:
            auth["caFiles"] = [ca.pem() if f == "CA-PEM" else ca.cert for f in auth["caFiles"]]
        options[name] = {"clientAuth": auth}
    whoami = Whoami("mtls")
    dynamic = {
        "http": {
            "routers": {**{name: {"rule": f"Host(`{name}.mtls.test`)", "service": "s", "tls": {"options": name}}
                           for name in TYPES},
                        # A fully qualified host with a trailing dot, in mixed case (reliability T08).
                        "dotted": {"rule": "Host(`DOTTED.mtls.test.`)", "service": "s", "tls": {"options": "rv"}}},
            "services": {"s": {"loadBalancer": {"servers": [{"url": whoami.url}]}}},
        },
        "tls": {"certificates": [{"certFile": server.cert, "keyFile": server.key}], "options": options},
    }
    cw = Causeway(dynamic={"tls.yml": to_yaml(dynamic) + "\n"})
    try:
        wait_until(lambda: curl_tls(cw.port(), "none.mtls.test", ca=ca).status == 200, message="mTLS proxy ready")
        yield cw, ca, clients
    finally:
        cw.stop()
        whoami.stop()


def cert_args(client, flags):
    return [] if client is None else [flags[0], client.cert, flags[1], client.key]


@pytest.mark.parametrize("http", ["1.1", "2"])
@pytest.mark.parametrize("auth_type", list(TYPES))
def test_client_auth_with_curl(setup, auth_type, http):
    cw, ca, clients = setup
    host = f"{auth_type}.mtls.test"
    for client_name, served in zip(CLIENTS, EXPECTED[auth_type]):
        r = curl_tls(cw.port(), host, ca=ca, http=http, args=cert_args(clients[client_name], ("--cert", "--key")))
        if served:
            assert r.status == 200 and b"Name: mtls" in r.body, (auth_type, client_name, r)
        else:
            assert r.rc != 0 and r.status is None, (auth_type, client_name, r)


@pytest.mark.parametrize("version", ["-tls1_2", "-tls1_3"])
@pytest.mark.parametrize("auth_type", list(TYPES))
def test_client_auth_with_s_client(setup, auth_type, version):
    cw, ca, clients = setup
    host = f"{auth_type}.mtls.test"
    request = f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
    for client_name, served in zip(CLIENTS, EXPECTED[auth_type]):
        r = s_client(cw.port(), version, "-ign_eof", *cert_args(clients[client_name], ("-cert", "-key")),
                     servername=host, stdin=request)
        answered = "HTTP/1.1 200 OK" in r.stdout
        assert answered == served, (auth_type, client_name, r)
        if not served:
            assert REFUSAL_ALERTS & set(r.alerts()), (auth_type, client_name, r.alerts(), r)


@pytest.mark.parametrize("auth_type,requested,ca_names", [
    ("rv", True, True), ("vig", True, True), ("request", True, False), ("requireany", True, False),
    ("none", False, False),
])
def test_certificate_request_sent_only_when_configured(setup, auth_type, requested, ca_names):
    cw, _, _ = setup
    r = s_client(cw.port(), "-tls1_3", servername=f"{auth_type}.mtls.test")
    assert ("Requested Signature Algorithms" in r.stdout) == requested, r
    assert ("Acceptable client certificate CA names" in r.stdout) == ca_names, r
    if ca_names:
        assert "CN = client CA" in r.stdout, r


BROKEN = {
    "missing-ca-files": ({"clientAuthType": "RequireAndVerifyClientCert"}, "needs clientAuth.caFiles"),
    "verify-if-given-without-ca-files": ({"clientAuthType": "VerifyClientCertIfGiven"}, "needs clientAuth.caFiles"),
    "ca-file-without-certificate": ({"caFiles": ["NOT-A-CERT"], "clientAuthType": "RequireAndVerifyClientCert"},
                                    "no certificate in"),
    "unknown-client-auth-type": ({"caFiles": ["CA"], "clientAuthType": "FooClientAuthType"}, "FooClientAuthType"),
}
@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_client_auth_never_serves_without_client_authentication(tmp_path, start_causeway, case):
    """A TLS option that cannot be built (Traefik: "invalid clientAuthType: ..., CAFiles is
    required", "invalid certificate(s) content", "unknown client auth type") is reported, and
    the router that uses it is never served to a client without a certificate."""
    auth, error = BROKEN[case]
    pki = Pki(tmp_path)
    ca = pki.ca()
    server = pki.issue(ca, "bad.mtls.test", dns=["bad.mtls.test", "ok.mtls.test"])
    (tmp_path / "not-a-cert.pem").write_text("hello\n")
    auth = dict(auth)
    if "caFiles" in auth:
        auth["caFiles"] = [ca.cert if f == "CA" else str(tmp_path / "not-a-cert.pem") for f in auth["caFiles"]]
    whoami = Whoami("mtls-bad")
    try:
        dynamic = {"http": {"routers": {"bad": {"rule": "Host(`bad.mtls.test`)", "service": "s",
                                                "tls": {"options": "broken"}},
                                        "ok": {"rule": "Host(`ok.mtls.test`)", "service": "s", "tls": {}}},
                            "services": {"s": {"loadBalancer": {"servers": [{"url": whoami.url}]}}}},
                   "tls": {"certificates": [{"certFile": server.cert, "keyFile": server.key}],
                           "options": {"broken": {"clientAuth": auth}}}}
        cw = start_causeway(dynamic={"tls.yml": to_yaml(dynamic) + "\n"})
        wait_until(lambda: curl_tls(cw.port(), "ok.mtls.test", ca=ca).status == 200, message="proxy ready")
        # Not served to a client without a certificate...
        r = curl_tls(cw.port(), "bad.mtls.test", ca=ca)
        assert r.status != 200, r
        # ...and the problem is reported.
        wait_until(lambda: error in cw.output(), timeout=3, message=f"{error!r} in the log")
    finally:
        whoami.stop()


@pytest.mark.parametrize("http", ["1.1", "2"])
def test_a_trailing_dot_in_the_rule_does_not_skip_client_authentication(setup, http):
    # Host(`DOTTED.mtls.test.`) binds its mTLS options to dotted.mtls.test: a client without a
    # certificate is refused by SNI, and gets 421 when it names another host in SNI.
    cw, ca, clients = setup
    r = curl_tls(cw.port(), "dotted.mtls.test", ca=ca, http=http)
    assert r.rc != 0 and r.status is None, r
    r = curl_tls(cw.port(), "dotted.mtls.test", ca=ca, http=http, args=cert_args(clients["good"], ("--cert", "--key")))
    assert r.status == 200 and b"Name: mtls" in r.body, r
    r = curl_tls(cw.port(), "none.mtls.test", ca=ca, http=http, headers=["Host: dotted.mtls.test"])
    assert r.status == 421, r
    r = curl_tls(cw.port(), "none.mtls.test", ca=ca, http=http, headers=["Host: Dotted.MTLS.test."])
    assert r.status == 421, r
