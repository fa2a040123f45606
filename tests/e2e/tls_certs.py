"""Test certificate authorities and certificates made with the openssl CLI, plus TLS probes.

    pki = Pki(tmp_path)
    ca = pki.ca("Test CA")
    leaf = pki.issue(ca, "a.example.test", dns=["a.example.test"])      # server certificate
    client = pki.issue(ca, "alice", client=True)                        # client certificate
    leaf.cert, leaf.key, leaf.serial                                     # paths, serial (lower hex)

`peer_certificate(port, sni)` returns what a server presents for an SNI (None: no SNI);
`s_client(port, ...)` runs `openssl s_client` and returns a parsed SClient.
Keys are ECDSA P-256 unless `rsa=True`; everything lives under the given directory.
"""
import os
import pathlib
import re
import socket
import ssl
import subprocess


def _run(args, **kwargs):
    out = subprocess.run(args, capture_output=True, timeout=30, **kwargs)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))} failed: {out.stderr.decode(errors='replace')}")
    return out.stdout


class Cert:
    def __init__(self, cert, key, name, serial):
        self.cert = str(cert)
        self.key = str(key)
        self.name = name
        self.serial = serial

    def pem(self):
        return pathlib.Path(self.cert).read_text()

    def key_pem(self):
        return pathlib.Path(self.key).read_text()

    def __repr__(self):
        return f"<Cert {self.name} serial={self.serial}>"


class Pki:
    def __init__(self, directory):
        self.dir = pathlib.Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def _key(self, path, rsa=False):
        if rsa:
            _run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(path)])
        else:
            _run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(path)])

    def _stem(self, name):
        self.count += 1
        return self.dir / f"{self.count:03d}-{re.sub(r'[^A-Za-z0-9.-]', '_', name)}"

    def ca(self, name="causeway test CA", rsa=False):
        stem = self._stem(name)
        key, cert = stem.with_suffix(".key"), stem.with_suffix(".crt")
        self._key(key, rsa)
        _run(["openssl", "req", "-x509", "-new", "-key", str(key), "-subj", f"/CN={name}", "-days", "3",
              "-out", str(cert), "-addext", "basicConstraints=critical,CA:TRUE",
              "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        return Cert(cert, key, name, serial_of(cert))

    def issue(self, ca, cn, dns=(), ips=(), client=False, rsa=False, days=3, path=None):
        """A certificate signed by `ca` (a Cert from ca()); ca=None makes it self-signed.
        `path`: write cert/key to path.crt / path.key (e.g. to replace files in place)."""
        stem = pathlib.Path(path) if path else self._stem(cn)
        key, cert, csr = (stem.parent / (stem.name + ".key"), stem.parent / (stem.name + ".crt"),
                          stem.parent / (stem.name + ".csr"))
        ext = stem.parent / (stem.name + ".ext")
        self._key(key, rsa)
        _run(["openssl", "req", "-new", "-key", str(key), "-subj", f"/CN={cn}", "-out", str(csr)])
        sans = [f"DNS:{d}" for d in dns] + [f"IP:{i}" for i in ips]
        lines = ["basicConstraints=CA:FALSE",
                 "keyUsage=critical,digitalSignature" + (",keyEncipherment" if rsa else ""),
                 "extendedKeyUsage=" + ("clientAuth" if client else "serverAuth")]
        if sans:
            lines.append("subjectAltName=" + ",".join(sans))
        ext.write_text("\n".join(lines) + "\n")
        serial = os.urandom(8).hex()
        signer = ["-CA", ca.cert, "-CAkey", ca.key] if ca else ["-signkey", str(key)]
        _run(["openssl", "x509", "-req", "-in", str(csr), *signer, "-set_serial", "0x" + serial,
              "-days", str(days), "-extfile", str(ext), "-out", str(cert)])
        csr.unlink()
        ext.unlink()
        return Cert(cert, key, cn, serial_of(cert))


def serial_of(cert_path):
    text = _run(["openssl", "x509", "-noout", "-serial", "-in", str(cert_path)]).decode()
    return text.strip().split("=", 1)[1].lower().lstrip("0")


def describe_der(der):
    """{"subject": "CN = ...", "issuer": ..., "serial": lower hex without leading zeros}."""
    text = _run(["openssl", "x509", "-inform", "DER", "-noout", "-subject", "-issuer", "-serial",
                 "-nameopt", "oneline"], input=der).decode()
    out = {}
    for line in text.splitlines():
        k, _, v = line.partition("=")
        out[k.strip()] = v.strip()
    out["serial"] = out.get("serial", "").lower().lstrip("0")
    m = re.search(r"CN\s*=\s*([^,/]+)", out.get("subject", ""))
    out["cn"] = m.group(1).strip() if m else ""
    return out


def peer_certificate(port, sni=None, host="127.0.0.1", alpn=None, timeout=5):
    """The certificate the server presents for `sni` (None: no SNI), described by describe_der."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(alpn)
    with socket.create_connection((host, port), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname=sni) as s:
            return describe_der(s.getpeercert(binary_form=True))


def client_context(ca=None, alpn=None, cert=None):
    """An ssl client context trusting `ca` (a Cert or path) or nothing (no verification)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca is None:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    else:
        ctx.load_verify_locations(ca.cert if isinstance(ca, Cert) else str(ca))
    if alpn:
        ctx.set_alpn_protocols(alpn)
    if cert is not None:
        ctx.load_cert_chain(cert.cert, cert.key)
    return ctx


ALERTS = {40: "handshake failure", 42: "bad certificate", 46: "certificate unknown", 48: "unknown ca",
          70: "protocol version", 71: "insufficient security", 80: "internal error", 112: "unrecognized name",
          116: "certificate required", 120: "no application protocol"}


class SClient:
    """The outcome of one `openssl s_client` run."""

    def __init__(self, proc):
        self.returncode = proc.returncode
        self.stdout = proc.stdout.decode("latin-1")
        self.stderr = proc.stderr.decode("latin-1")
        self.text = self.stdout + "\n" + self.stderr
        m = re.search(r"^(New|Reused), (\S+), Cipher is (\S+)", self.stdout, re.M)
        self.session = m.group(1) if m else None
        self.cipher = m.group(3) if m else None
        # The negotiated version ("TLSv1.3"); None when the handshake did not complete. The
        # "New, ..." line names the cipher's first version (TLSv1.0 for a CBC suite under
        # TLS 1.1), so the session's "Protocol :" line is preferred.
        self.protocol = m.group(2) if m and m.group(2) != "(NONE)" else None
        if self.protocol:
            p = re.search(r"^\s+Protocol\s*:\s*(\S+)", self.stdout, re.M)
            if p:
                self.protocol = p.group(1)
        m = re.search(r"^Server Temp Key: (.*)$", self.stdout, re.M)
        self.temp_key = m.group(1).strip() if m else None
        m = re.search(r"^ALPN protocol: (\S+)", self.stdout, re.M)
        self.alpn = m.group(1) if m else None
        m = re.search(r"^subject=(.*)$", self.stdout, re.M)
        self.subject = m.group(1).strip() if m else None

    @property
    def connected(self):
        """A completed handshake with an agreed cipher."""
        return self.cipher is not None and self.cipher != "(NONE)"

    def alerts(self):
        """Alert descriptions received (e.g. "unrecognized name", "protocol version")."""
        found = re.findall(r"(?:sslv3|tlsv1|tlsv13) (?:alert )?([a-z ]+?):", self.text)
        found += [ALERTS.get(int(n), n) for n in re.findall(r"SSL alert number (\d+)", self.text)]
        return sorted(set(found))

    def __repr__(self):
        return (f"<SClient rc={self.returncode} protocol={self.protocol} session={self.session} "
                f"cipher={self.cipher} alpn={self.alpn}>\n{self.text[-3000:]}")


def s_client(port, *args, servername=None, stdin=b"", host="127.0.0.1", timeout=15):
    """Runs `openssl s_client -connect host:port [args]` with `stdin` as input.
    servername=None sends no SNI; pass a name to send it."""
    cmd = ["openssl", "s_client", "-connect", f"{host}:{port}"]
    cmd += ["-servername", servername] if servername else ["-noservername"]
    cmd += list(args)
    proc = subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout)
    return SClient(proc)


class CurlResult:
    def __init__(self, rc, status, headers, body, version, stderr):
        self.rc, self.status, self.headers, self.body = rc, status, headers, body
        self.version, self.stderr = version, stderr

    @property
    def ok(self):
        return self.rc == 0

    def __repr__(self):
        return f"<curl rc={self.rc} status={self.status} http={self.version} {self.stderr.strip()[:300]!r}>"


def curl_tls(port, name, path="/", ca=None, http="1.1", headers=(), args=(), data=None, timeout=10,
             scheme="https", resolve=()):
    """curl {scheme}://name:port/path with `name` resolved to 127.0.0.1 (--resolve), trusting
    `ca` (a Cert; None: -k). http: "1.1", "2" (ALPN, may fall back) or "2-prior" (h2c).
    `resolve`: more (name, port) pairs to resolve to 127.0.0.1 (for redirects).
    Returns a CurlResult (rc != 0 and status None when no response came)."""
    import tempfile
    with tempfile.NamedTemporaryFile() as body_file:
        cmd = ["curl", "-sS", "--max-time", str(timeout), "-D", "-", "-o", body_file.name,
               "-w", "\n%{http_version}", "--resolve", f"{name}:{port}:127.0.0.1"]
        for other_name, other_port in resolve:
            cmd += ["--resolve", f"{other_name}:{other_port}:127.0.0.1"]
        cmd += {"1.1": ["--http1.1"], "2": ["--http2"], "2-prior": ["--http2-prior-knowledge"]}[http]
        cmd += ["--cacert", ca.cert] if ca is not None else ["-k"]
        for h in headers:
            cmd += ["-H", h]
        if data is not None:
            cmd += ["--data-binary", "@-"]
        cmd += list(args) + [f"{scheme}://{name}:{port}{path}"]
        out = subprocess.run(cmd, input=data, capture_output=True, timeout=timeout + 5)
        body = pathlib.Path(body_file.name).read_bytes()
    text = out.stdout.decode("latin-1")
    head, _, version = text.rpartition("\n")
    # The last response head (after interim and redirect responses).
    blocks = [b for b in head.replace("\r\n", "\n").split("\n\n") if b.strip()]
    status, hdrs = None, {}
    if blocks:
        lines = blocks[-1].split("\n")
        parts = lines[0].split(" ")
        if len(parts) >= 2 and parts[1].isdigit():
            status = int(parts[1])
        for line in lines[1:]:
            k, _, v = line.partition(":")
            hdrs.setdefault(k.strip().lower(), []).append(v.strip())
    return CurlResult(out.returncode, status, {k: ", ".join(v) for k, v in hdrs.items()}, body,
                      version.strip(), out.stderr.decode("latin-1"))
