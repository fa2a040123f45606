"""A real ACME server for the certificate resolver's tests: Debian's pebble (2.4.0), Let's
Encrypt's test CA, and pebble-challtestsrv as the DNS server its validation authority asks.

    dns = ChallTestSrv()                     # answers every A query with 127.0.0.1, no AAAA
    ca = Pebble(http_port, tls_port, dns_port=dns.dns_port)
    ca.directory_url                         # https://127.0.0.1:<port>/dir, for caServer
    ca.ca_bundle_path                        # PEM of the CA that signs pebble's HTTPS listener
    ca.root_pem(), ca.intermediate_pem()     # the issuing chain (new on every start)
    dns.add_txt("_acme-challenge.a.example.test", digest)

Pebble validates HTTP-01 by GET http://<name>:<http_port>/.well-known/acme-challenge/<token>
and TLS-ALPN-01 by a TLS handshake (SNI <name>, ALPN acme-tls/1) to <name>:<tls_port>, where
<name> is resolved through the DNS server given (AAAA first, then A; the first address wins,
which is why ChallTestSrv answers no AAAA by default); DNS-01 by a TXT query for
_acme-challenge.<name> to that server. Without a DNS server it uses the system resolver.

Everything listens on 127.0.0.1 only, on ports from free_port(); each process is stopped by
its PID. Pebble runs with PEBBLE_VA_NOSLEEP=1 (no random wait before validating) and
PEBBLE_WFE_NONCEREJECT=0 (no random badNonce errors); `env` adds or overrides PEBBLE_*
variables (e.g. PEBBLE_AUTHZREUSE=0 for a fresh authorization on every order, or
PEBBLE_WFE_NONCEREJECT=50 to exercise badNonce retries). Pebble keeps no state between runs:
after a restart its root and intermediate are new, and so are the account URLs.
"""
import base64
import ipaddress
import json
import os
import pathlib
import secrets
import shutil
import socket
import ssl
import struct
import tempfile
import time
import urllib.request

import pytest

from harness import Process, free_port, free_udp_port, wait_for_port
from tls_certs import Pki

needs_pebble = pytest.mark.skipif(shutil.which("pebble") is None or shutil.which("pebble-challtestsrv") is None,
                                  reason="pebble is not installed: scripts/install-deps test")


def _port_taken(process):
    """True when `process` could not bind a port picked here (Go says "address already in use")."""
    return "address already in use" in process.output().lower()


def eab_key():
    """A fresh External Account Binding MAC key, encoded as pebble wants it (base64url, no padding)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()


class Pebble(Process):
    def __init__(self, http_port=None, tls_port=None, dns_port=None, always_valid=False, env=None, eab=None,
                 validity_seconds=None, blocklist=(), strict=False):
        """http_port / tls_port: where pebble's VA connects for HTTP-01 / TLS-ALPN-01 (causeway's
        entryPoints; None: a free port no one listens on). dns_port: a ChallTestSrv's dns_port,
        passed as -dnsserver 127.0.0.1:<port>. always_valid: PEBBLE_VA_ALWAYS_VALID=1, every
        challenge succeeds without a request. eab: {"kid": "base64url HMAC key"} makes
        externalAccountBindingRequired true (eab_key() makes a key). validity_seconds: the
        certificateValidityPeriod of issued certificates (default 5 years). blocklist: domains
        refused with urn:ietf:params:acme:error:rejectedIdentifier."""
        self.http_port = http_port or free_port()
        self.tls_port = tls_port or free_port()
        self.dns_port = dns_port
        self.eab = dict(eab or {})
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="cw-pebble-"))
        # Pebble's own HTTPS listener (ACME and management): a CA of ours, not Debian's (it
        # ships no test certificates), so that ca_bundle_path is a file clients can trust.
        pki = Pki(self.dir / "tls")
        self._tls_ca = pki.ca("pebble listener test CA")
        self._tls_leaf = pki.issue(self._tls_ca, "pebble", dns=["localhost", "pebble"], ips=["127.0.0.1"])
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("PEBBLE_")}
        full_env.update({"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0"})
        if always_valid:
            full_env["PEBBLE_VA_ALWAYS_VALID"] = "1"
        full_env.update(env or {})
        self.env = full_env
        for attempt in range(5):
            self.port = free_port()
            self.management_port = free_port()
            config = {"pebble": {
                "listenAddress": f"127.0.0.1:{self.port}",
                "managementListenAddress": f"127.0.0.1:{self.management_port}",
                "certificate": self._tls_leaf.cert,
                "privateKey": self._tls_leaf.key,
                "httpPort": self.http_port,
                "tlsPort": self.tls_port,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": bool(self.eab),
                "externalAccountMACKeys": self.eab,
                "domainBlocklist": list(blocklist),
                "certificateValidityPeriod": int(validity_seconds or 0),
            }}
            self.config_path = self.dir / "pebble-config.json"
            self.config_path.write_text(json.dumps(config, indent=2))
            args = ["pebble", "-config", str(self.config_path)]
            if dns_port:
                args += ["-dnsserver", f"127.0.0.1:{dns_port}"]
            if strict:
                args.append("-strict")
            super().__init__(args, env=full_env, name="pebble")
            try:
                wait_for_port(self.port, proc=self.proc)
                wait_for_port(self.management_port, proc=self.proc)
                self._wait_ready()
                return
            except (RuntimeError, TimeoutError, OSError):
                if attempt == 4 or not _port_taken(self):
                    raise
                Process.stop(self)

    def _wait_ready(self, timeout=10.0):
        """Both listeners answer over TLS with our certificate (not some other test's server
        that took a port in between); raises when pebble exits."""
        deadline = time.time() + timeout
        while True:
            try:
                self.directory()
                self.management_get("/roots/0")
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"pebble exited with {self.proc.returncode}: {self.output()}")
                if time.time() > deadline:
                    raise
                time.sleep(0.05)

    @property
    def url(self):
        return f"https://127.0.0.1:{self.port}"

    @property
    def directory_url(self):
        return f"{self.url}/dir"

    @property
    def management_url(self):
        return f"https://127.0.0.1:{self.management_port}"

    @property
    def ca_bundle_path(self):
        """The PEM of the CA that signs pebble's HTTPS listeners (for caCertificates)."""
        return self._tls_ca.cert

    def ssl_context(self):
        return ssl.create_default_context(cafile=self.ca_bundle_path)

    def _get(self, url, timeout=10):
        with urllib.request.urlopen(url, context=self.ssl_context(), timeout=timeout) as r:
            return r.read()

    def get(self, path):
        """GET on the ACME listener (the body; raises HTTPError on an error status)."""
        return self._get(self.url + path)

    def directory(self):
        return json.loads(self._get(self.directory_url))

    def management_get(self, path):
        return self._get(self.management_url + path)

    def root_pem(self, index=0):
        """Pebble's issuing root (index > 0: alternate roots, with PEBBLE_ALTERNATE_ROOTS)."""
        return self.management_get(f"/roots/{index}").decode()

    def intermediate_pem(self, index=0):
        return self.management_get(f"/intermediates/{index}").decode()

    def cert_status(self, serial):
        """{"Certificate", "Status": "Valid"|"Revoked", "Serial", ...} of an issued certificate,
        by its serial in lower hex without leading zeros or 0x."""
        return json.loads(self.management_get(f"/cert-status-by-serial/{serial}"))

    def write_chain_files(self, directory=None):
        """Writes root.pem and intermediate.pem (in `directory`, else pebble's temp dir) and
        returns their paths, for `openssl verify -CAfile root -untrusted intermediate`."""
        directory = pathlib.Path(directory or self.dir)
        root, intermediate = directory / "root.pem", directory / "intermediate.pem"
        root.write_text(self.root_pem())
        intermediate.write_text(self.intermediate_pem())
        return str(root), str(intermediate)

    def stop(self, timeout=15):
        super().stop(timeout)
        shutil.rmtree(self.dir, ignore_errors=True)


class ChallTestSrv(Process):
    """pebble-challtestsrv with only its mock DNS server (UDP and TCP on `dns_port`) and its
    management API; the HTTP-01, HTTPS and TLS-ALPN-01 responders are off (causeway answers
    those challenges). Unknown names get `default_ipv4` for A and, unless set, no AAAA."""

    def __init__(self, default_ipv4="127.0.0.1", default_ipv6=""):
        for attempt in range(5):
            self.dns_port = free_udp_port()
            self.management_port = free_port()
            super().__init__(["pebble-challtestsrv", "-http01", "", "-https01", "", "-tlsalpn01", "",
                              "-dns01", f"127.0.0.1:{self.dns_port}",
                              "-management", f"127.0.0.1:{self.management_port}",
                              "-defaultIPv4", default_ipv4, "-defaultIPv6", default_ipv6],
                             name="challtestsrv")
            try:
                wait_for_port(self.management_port, proc=self.proc)
                wait_for_port(self.dns_port, proc=self.proc)  # the TCP side of the DNS server
                self._wait_dns()
                if not _port_taken(self):  # it logs a failed bind and goes on
                    return
                raise RuntimeError(f"pebble-challtestsrv could not bind: {self.output()}")
            except (RuntimeError, TimeoutError, OSError):
                if attempt == 4 or not _port_taken(self):
                    raise
                Process.stop(self)

    def _wait_dns(self, timeout=10.0):
        """Our own DNS server answers over UDP: a probe record set through our management API."""
        probe = f"probe-{secrets.token_hex(4)}.challtestsrv.test"
        self.add_a(probe, "127.0.0.9")
        deadline = time.time() + timeout
        while True:
            try:
                if self.query(probe, "A", timeout=0.5) == ["127.0.0.9"]:
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"pebble-challtestsrv does not answer DNS on {self.dns_port}: {self.output()}")
            time.sleep(0.05)
        self.clear_a(probe)

    @property
    def dns_address(self):
        """host:port of the mock DNS server (pebble's -dnsserver, a resolver list entry)."""
        return f"127.0.0.1:{self.dns_port}"

    @property
    def management_url(self):
        return f"http://127.0.0.1:{self.management_port}"

    def _post(self, path, body):
        request = urllib.request.Request(self.management_url + path, data=json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.read()

    def add_a(self, host, ip):
        """Adds A records (ip: one address or a list) for host; they replace the default."""
        self._post("/add-a", {"host": host, "addresses": [ip] if isinstance(ip, str) else list(ip)})

    def clear_a(self, host):
        self._post("/clear-a", {"host": host})

    def add_aaaa(self, host, ip):
        self._post("/add-aaaa", {"host": host, "addresses": [ip] if isinstance(ip, str) else list(ip)})

    def clear_aaaa(self, host):
        self._post("/clear-aaaa", {"host": host})

    def set_default_ipv4(self, ip):
        """The A answer for names without records of their own ("" for none)."""
        self._post("/set-default-ipv4", {"ip": ip})

    def set_default_ipv6(self, ip):
        self._post("/set-default-ipv6", {"ip": ip})

    def add_txt(self, host, value):
        """Adds a TXT value for host; the values of a host accumulate (a wildcard and its base
        name share _acme-challenge.<name>). challtestsrv 1.2.1 keys TXT data by the exact,
        case-sensitive, fully qualified name: the trailing dot is added here."""
        self._post("/set-txt", {"host": _fqdn(host), "value": value})

    def clear_txt(self, host):
        """Removes every TXT value of host."""
        self._post("/clear-txt", {"host": _fqdn(host)})

    def set_cname(self, host, target):
        self._post("/set-cname", {"host": host, "target": target})

    def clear_cname(self, host):
        self._post("/clear-cname", {"host": host})

    def set_servfail(self, host):
        """Every query for host gets SERVFAIL until clear_servfail."""
        self._post("/set-servfail", {"host": host})

    def clear_servfail(self, host):
        self._post("/clear-servfail", {"host": host})

    def dns_history(self, host):
        """The DNS questions asked for host: [{"Question": {"Name", "Qtype", "Qclass"}}, ...]."""
        return json.loads(self._post("/dns-request-history", {"host": host}) or b"[]")

    def query(self, name, qtype="A", timeout=2.0):
        """One UDP query to the mock DNS server: the A/AAAA addresses or TXT strings answered."""
        return dns_query(self.dns_port, name, qtype, timeout=timeout)


def _fqdn(host):
    return host if host.endswith(".") else host + "."


_QTYPES = {"A": 1, "CNAME": 5, "TXT": 16, "AAAA": 28}


def dns_query(port, name, qtype="A", host="127.0.0.1", timeout=2.0):
    """A minimal DNS client (UDP, one question): the answers of type `qtype`, A/AAAA as address
    strings, TXT as the concatenated strings of each record, CNAME as the raw name bytes."""
    qid = secrets.randbits(16)
    qname = b"".join(bytes([len(label)]) + label.encode() for label in name.rstrip(".").split(".")) + b"\0"
    packet = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname + struct.pack("!HH", _QTYPES[qtype], 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(packet, (host, port))
        while True:
            data, _ = s.recvfrom(65535)
            if struct.unpack("!H", data[:2])[0] == qid:
                break
    _, flags, qdcount, ancount, _, _ = struct.unpack("!HHHHHH", data[:12])
    if flags & 0xF:
        raise OSError(f"DNS rcode {flags & 0xF} for {name} {qtype}")
    offset = 12
    for _ in range(qdcount):
        offset = _skip_name(data, offset) + 4
    answers = []
    for _ in range(ancount):
        offset = _skip_name(data, offset)
        rtype, _, _, rdlength = struct.unpack("!HHIH", data[offset:offset + 10])
        rdata = data[offset + 10:offset + 10 + rdlength]
        offset += 10 + rdlength
        if rtype != _QTYPES[qtype]:
            continue
        if rtype in (1, 28):
            answers.append(str(ipaddress.ip_address(rdata)))
        elif rtype == 16:
            parts, i = [], 0
            while i < len(rdata):
                parts.append(rdata[i + 1:i + 1 + rdata[i]].decode())
                i += 1 + rdata[i]
            answers.append("".join(parts))
        else:
            answers.append(rdata)
    return answers


def _skip_name(data, offset):
    while True:
        length = data[offset]
        if length == 0:
            return offset + 1
        if length & 0xC0 == 0xC0:  # compression pointer
            return offset + 2
        offset += 1 + length


@pytest.fixture
def start_pebble():
    started = []

    def start_one(*args, **kwargs):
        p = Pebble(*args, **kwargs)
        started.append(p)
        return p

    yield start_one
    for p in started:
        p.stop()


@pytest.fixture
def start_challtestsrv():
    started = []

    def start_one(**kwargs):
        c = ChallTestSrv(**kwargs)
        started.append(c)
        return c

    yield start_one
    for c in started:
        c.stop()
