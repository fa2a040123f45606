"""passTLSClientCert: the client certificate of a mutual-TLS connection reaches the upstream
in Traefik's encoding (PEM body without delimiters; URL-escaped info fields)."""
import subprocess
import urllib.parse

from tls_certs import Pki
from harness import curl


def start_mtls(start_causeway, start_whoami, tmp_path, middleware):
    pki = Pki(tmp_path / "pki")
    ca = pki.ca("client CA")
    server = pki.issue(None, "mtls.test", dns=["mtls.test"])
    client = pki.issue(ca, "alice", client=True)
    w = start_whoami()
    dynamic = f"""
http:
  routers:
    r:
      rule: Host(`mtls.test`)
      service: w
      middlewares: [pass]
      tls: {{options: mtls}}
  middlewares:
    pass:
      passTLSClientCert:
{middleware}
  services:
    w:
      loadBalancer:
        servers: [{{url: "{w.url}"}}]
tls:
  certificates:
    - {{certFile: "{server.cert}", keyFile: "{server.key}"}}
  options:
    mtls:
      clientAuth:
        caFiles: ["{ca.cert}"]
        clientAuthType: VerifyClientCertIfGiven
"""
    cw = start_causeway(dynamic={"d.yml": dynamic})
    return cw, client, server


def request(cw, server, client=None):
    args = ["curl", "-sS", "--resolve", f"mtls.test:{cw.port()}:127.0.0.1", "-k", "--http1.1",
            f"https://mtls.test:{cw.port()}/"]
    if client:
        args += ["--cert", client.cert, "--key", client.key]
    return subprocess.run(args, capture_output=True, text=True, timeout=15).stdout


def header(body, name):
    for line in body.splitlines():
        if line.lower().startswith(name.lower() + ":"):
            return line.split(":", 1)[1].strip()
    return None


def test_pem_is_the_certificate_body_without_delimiters(start_causeway, start_whoami, tmp_path):
    cw, client, server = start_mtls(start_causeway, start_whoami, tmp_path, "        pem: true")
    body = request(cw, server, client)
    value = header(body, "X-Forwarded-Tls-Client-Cert")
    expected = "".join(line for line in client.pem().splitlines() if not line.startswith("-----"))
    assert value == expected
    # Without a client certificate nothing is added.
    assert header(request(cw, server), "X-Forwarded-Tls-Client-Cert") is None


def test_info_fields_in_traefik_order_and_escaping(start_causeway, start_whoami, tmp_path):
    cw, client, server = start_mtls(start_causeway, start_whoami, tmp_path, """        info:
          notAfter: true
          notBefore: true
          serialNumber: true
          subject: {commonName: true}
          issuer: {commonName: true}""")
    body = request(cw, server, client)
    raw = header(body, "X-Forwarded-Tls-Client-Cert-Info")
    assert raw is not None and '"' not in raw  # URL-escaped
    info = urllib.parse.unquote_plus(raw)
    serial = str(int(client.serial, 16))
    assert info.startswith(f'Subject="CN=alice";Issuer="CN=client CA";SerialNumber="{serial}";NB="'), info
    assert ';NA="' in info
