"""The ACME test peer (acme_peer.py) on its own, without causeway: pebble's directory and
nonces over HTTPS trusted through ca_bundle_path, pebble-challtestsrv's DNS answers, and whole
ACME orders made by a minimal RFC 8555 client written here (ES256 account key, needs the
`cryptography` package): one with PEBBLE_VA_ALWAYS_VALID and External Account Binding, and one
per challenge type with pebble really validating (HTTP-01 and TLS-ALPN-01 against servers of
this test on pebble's httpPort / tlsPort, DNS-01 against a TXT record in challtestsrv)."""
import base64
import datetime
import hashlib
import hmac
import http.server
import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

import acme_peer
from acme_peer import needs_pebble
from harness import wait_until

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
    from cryptography.x509.oid import NameOID
except ImportError:  # the order tests skip
    x509 = None

needs_cryptography = pytest.mark.skipif(x509 is None, reason="python3-cryptography is not installed")
pytestmark = needs_pebble

start_pebble = acme_peer.start_pebble  # the peer's fixtures
start_challtestsrv = acme_peer.start_challtestsrv


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class AcmeError(Exception):
    def __init__(self, status, problem):
        super().__init__(f"{status} {problem}")
        self.status = status
        self.problem = problem


class MiniAcme:
    """Just enough of an RFC 8555 client to drive pebble: JWS with ES256, POST-as-GET."""

    def __init__(self, pebble):
        self.context = pebble.ssl_context()
        self.directory = pebble.directory()
        self.key = ec.generate_private_key(ec.SECP256R1())
        numbers = self.key.public_key().public_numbers()
        self.jwk = {"crv": "P-256", "kty": "EC", "x": b64(numbers.x.to_bytes(32, "big")),
                    "y": b64(numbers.y.to_bytes(32, "big"))}
        thumbprint = hashlib.sha256(json.dumps(self.jwk, sort_keys=True, separators=(",", ":")).encode()).digest()
        self.thumbprint = b64(thumbprint)
        self.kid = None
        self.nonce = None

    def new_nonce(self):
        request = urllib.request.Request(self.directory["newNonce"], method="HEAD")
        with urllib.request.urlopen(request, context=self.context, timeout=10) as r:
            return r.headers["Replay-Nonce"]

    def post(self, url, payload, use_jwk=False, extra=None):
        """payload None: POST-as-GET. Returns (status, headers, body bytes); raises AcmeError."""
        for _ in range(3):
            protected = {"alg": "ES256", "nonce": self.nonce or self.new_nonce(), "url": url}
            if use_jwk or self.kid is None:
                protected["jwk"] = self.jwk
            else:
                protected["kid"] = self.kid
            body = dict(payload, **(extra or {})) if extra else payload
            signing_input = b64(json.dumps(protected).encode()) + "." + (
                "" if body is None else b64(json.dumps(body).encode()))
            r, s = decode_dss_signature(self.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
            jws = {"protected": signing_input.split(".")[0], "payload": signing_input.split(".")[1],
                   "signature": b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))}
            request = urllib.request.Request(url, data=json.dumps(jws).encode(), method="POST",
                                             headers={"Content-Type": "application/jose+json"})
            try:
                with urllib.request.urlopen(request, context=self.context, timeout=10) as resp:
                    self.nonce = resp.headers.get("Replay-Nonce")
                    return resp.status, resp.headers, resp.read()
            except urllib.error.HTTPError as e:
                self.nonce = e.headers.get("Replay-Nonce")
                problem = json.loads(e.read() or b"{}")
                if problem.get("type") != "urn:ietf:params:acme:error:badNonce":
                    raise AcmeError(e.code, problem) from None
        raise AcmeError(400, problem)

    def post_json(self, url, payload, **kwargs):
        status, headers, body = self.post(url, payload, **kwargs)
        return headers, json.loads(body)

    def new_account(self, eab=None):
        payload = {"termsOfServiceAgreed": True}
        if eab:
            kid, mac_key = eab
            protected = b64(json.dumps({"alg": "HS256", "kid": kid, "url": self.directory["newAccount"]}).encode())
            inner = b64(json.dumps(self.jwk).encode())
            key = base64.urlsafe_b64decode(mac_key + "=" * (-len(mac_key) % 4))
            mac = hmac.new(key, f"{protected}.{inner}".encode(), hashlib.sha256).digest()
            payload["externalAccountBinding"] = {"protected": protected, "payload": inner, "signature": b64(mac)}
        headers, account = self.post_json(self.directory["newAccount"], payload, use_jwk=True)
        self.kid = headers["Location"]
        return account

    def key_authorization(self, token):
        return f"{token}.{self.thumbprint}"

    def poll(self, url, done, timeout=30):
        deadline = time.time() + timeout
        while True:
            _, obj = self.post_json(url, None)
            if obj["status"] in done or time.time() > deadline:
                return obj
            time.sleep(0.1)

    def issue(self, domains, challenge_type, present):
        """A whole order: present(domain, challenge, key_authorization) readies each challenge;
        returns (certificate chain PEM, private key of the certificate)."""
        headers, order = self.post_json(self.directory["newOrder"],
                                        {"identifiers": [{"type": "dns", "value": d} for d in domains]})
        order_url = headers["Location"]
        for authz_url in order["authorizations"]:
            _, authz = self.post_json(authz_url, None)
            if authz["status"] == "valid":  # reused (PEBBLE_AUTHZREUSE)
                continue
            challenge = next(c for c in authz["challenges"] if c["type"] == challenge_type)
            present(authz["identifier"]["value"], challenge, self.key_authorization(challenge["token"]))
            self.post_json(challenge["url"], {})
            authz = self.poll(authz_url, ("valid", "invalid"))
            assert authz["status"] == "valid", authz
        cert_key = ec.generate_private_key(ec.SECP256R1())
        csr = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domains[0])]))
               .add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in domains]), critical=False)
               .sign(cert_key, hashes.SHA256()))
        self.post_json(order["finalize"], {"csr": b64(csr.public_bytes(serialization.Encoding.DER))})
        order = self.poll(order_url, ("valid", "invalid"))
        assert order["status"] == "valid", order
        _, _, chain = self.post(order["certificate"], None)
        return chain.decode(), cert_key


def split_pem(chain):
    marker = "-----END CERTIFICATE-----"
    return [part.strip() + "\n" + marker + "\n" for part in chain.split(marker) if part.strip()]


def verify_chain(pebble, chain, domains, tmp_path):
    """The chain is leaf + pebble's intermediate, and verifies up to pebble's root."""
    certs = split_pem(chain)
    assert len(certs) == 2, chain
    assert certs[1].strip() == pebble.intermediate_pem().strip()
    leaf = x509.load_pem_x509_certificate(certs[0].encode())
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert sorted(names) == sorted(domains)
    root, intermediate = pebble.write_chain_files(tmp_path)
    (tmp_path / "leaf.pem").write_text(certs[0])
    out = subprocess.run(["openssl", "verify", "-CAfile", root, "-untrusted", intermediate, str(tmp_path / "leaf.pem")],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stdout + out.stderr
    return leaf


def test_directory_nonce_and_dns(start_pebble, start_challtestsrv):
    dns = start_challtestsrv()
    pebble = start_pebble(dns_port=dns.dns_port)
    directory = pebble.directory()
    assert directory["newNonce"].startswith(pebble.url + "/")
    assert {"newAccount", "newOrder", "revokeCert", "keyChange"} <= set(directory)
    assert directory["meta"]["externalAccountRequired"] is False
    # The listener's certificate verifies with ca_bundle_path (and only with it).
    request = urllib.request.Request(directory["newNonce"], method="HEAD")
    with urllib.request.urlopen(request, context=pebble.ssl_context(), timeout=10) as r:
        assert r.status == 200 and r.headers["Replay-Nonce"]
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(pebble.directory_url, context=ssl.create_default_context(), timeout=10)
    assert pebble.root_pem().startswith("-----BEGIN CERTIFICATE-----")
    assert pebble.intermediate_pem().startswith("-----BEGIN CERTIFICATE-----")

    dns.add_a("app.example.test", "127.0.0.7")
    assert dns.query("app.example.test") == ["127.0.0.7"]
    assert dns.query("other.example.test") == ["127.0.0.1"]  # the default answer
    assert dns.query("other.example.test", "AAAA") == []  # none: pebble would dial ::1 first
    dns.add_txt("_acme-challenge.app.example.test", "token-digest")
    if shutil.which("dig"):
        def dig(name, qtype):
            return subprocess.run(["dig", "@127.0.0.1", "-p", str(dns.dns_port), name, qtype, "+short",
                                   "+time=2", "+tries=2"], capture_output=True, text=True, timeout=15).stdout.split()
        assert dig("app.example.test", "A") == ["127.0.0.7"]
        assert dig("_acme-challenge.app.example.test", "TXT") == ['"token-digest"']
        dns.clear_txt("_acme-challenge.app.example.test")
        assert dig("_acme-challenge.app.example.test", "TXT") == []


@needs_cryptography
def test_always_valid_order_with_eab(start_pebble, start_challtestsrv, tmp_path):
    dns = start_challtestsrv()
    mac_key = acme_peer.eab_key()
    pebble = start_pebble(dns_port=dns.dns_port, always_valid=True, eab={"kid-1": mac_key},
                          validity_seconds=3600, blocklist=["blocked.example.test"])
    client = MiniAcme(pebble)
    assert client.directory["meta"]["externalAccountRequired"] is True
    with pytest.raises(AcmeError) as refused:
        client.new_account()
    assert refused.value.problem["type"] == "urn:ietf:params:acme:error:externalAccountRequired"
    account = client.new_account(eab=("kid-1", mac_key))
    assert account["status"] == "valid"

    def present(domain, challenge, key_authorization):
        pass  # PEBBLE_VA_ALWAYS_VALID: nothing is asked

    domains = ["a.example.test", "*.a.example.test"]  # a wildcard offers dns-01 only
    chain, _ = client.issue(domains, "dns-01", present)
    leaf = verify_chain(pebble, chain, domains, tmp_path)
    assert (leaf.not_valid_after - leaf.not_valid_before).total_seconds() == 3599  # certificateValidityPeriod - 1
    serial = format(leaf.serial_number, "x")
    assert pebble.cert_status(serial)["Status"] == "Valid"

    with pytest.raises(AcmeError) as rejected:
        client.post_json(client.directory["newOrder"], {"identifiers": [{"type": "dns", "value": "blocked.example.test"}]})
    assert rejected.value.problem["type"] == "urn:ietf:params:acme:error:rejectedIdentifier"


class ChallengeHttpServer:
    """Answers pebble's HTTP-01 GETs on 127.0.0.1 (pebble's httpPort) from `tokens`."""

    def __init__(self):
        tokens = self.tokens = {}
        self.requests = []
        requests = self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                requests.append((self.headers.get("Host"), self.path))
                body = tokens.get(self.path.rsplit("/", 1)[-1])
                self.send_response(200 if body else 404)
                self.end_headers()
                self.wfile.write((body or "").encode())

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class ChallengeTlsAlpnServer:
    """Answers pebble's TLS-ALPN-01 handshakes on 127.0.0.1 (pebble's tlsPort) with the one
    certificate set by present(): SAN = the name, critical id-pe-acmeIdentifier = the digest."""

    def __init__(self, directory):
        self.dir = directory
        self.context = None
        self.server_names = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def present(self, domain, key_authorization):
        key = ec.generate_private_key(ec.SECP256R1())
        digest = hashlib.sha256(key_authorization.encode()).digest()
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
        now = time.time()
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(datetime.datetime.utcfromtimestamp(now - 60))
                .not_valid_after(datetime.datetime.utcfromtimestamp(now + 3600))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
                .add_extension(x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.5.5.7.1.31"),
                                                          b"\x04\x20" + digest), critical=True)
                .sign(key, hashes.SHA256()))
        cert_path, key_path = self.dir / "alpn.crt", self.dir / "alpn.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert_path), str(key_path))
        context.set_alpn_protocols(["acme-tls/1"])
        context.sni_callback = lambda sock, server_name, ctx: self.server_names.append(server_name)
        self.context = context

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handshake, args=(conn,), daemon=True).start()

    def _handshake(self, conn):
        try:
            conn.settimeout(10)
            with self.context.wrap_socket(conn, server_side=True) as tls:
                tls.recv(1)  # pebble closes after the handshake
        except (OSError, AttributeError):
            conn.close()

    def close(self):
        self.listener.close()


@needs_cryptography
@pytest.mark.parametrize("challenge_type", ["http-01", "tls-alpn-01", "dns-01"])
def test_validated_order(start_pebble, start_challtestsrv, tmp_path, challenge_type):
    """Pebble really validates: it resolves the name through challtestsrv (127.0.0.1) and
    connects to its httpPort / tlsPort, or reads the TXT record."""
    dns = start_challtestsrv()
    web = ChallengeHttpServer()
    alpn = ChallengeTlsAlpnServer(tmp_path)
    try:
        pebble = start_pebble(web.port, alpn.port, dns_port=dns.dns_port)
        domain = f"{challenge_type}.example.test"
        dns.add_a(domain, "127.0.0.1")
        client = MiniAcme(pebble)
        client.new_account()

        def present(name, challenge, key_authorization):
            if challenge_type == "http-01":
                web.tokens[challenge["token"]] = key_authorization
            elif challenge_type == "tls-alpn-01":
                alpn.present(name, key_authorization)
            else:
                digest = b64(hashlib.sha256(key_authorization.encode()).digest())
                dns.add_txt(f"_acme-challenge.{name}", digest)

        chain, _ = client.issue([domain], challenge_type, present)
        verify_chain(pebble, chain, [domain], tmp_path)
        if challenge_type == "http-01":
            # Several validation requests (pebble makes 3 concurrent ones), Host: name:httpPort.
            wait_until(lambda: len(web.requests) >= 1)
            host, path = web.requests[0]
            assert host == f"{domain}:{web.port}" and path.startswith("/.well-known/acme-challenge/")
        elif challenge_type == "tls-alpn-01":
            assert domain in alpn.server_names
        else:
            assert any(e["Question"]["Qtype"] == 16 for e in dns.dns_history(f"_acme-challenge.{domain}"))
    finally:
        web.close()
        alpn.close()
