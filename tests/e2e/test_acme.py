"""ACME certificate resolvers (`certificatesResolvers.<name>.acme`) against Debian's pebble, a
real ACME server, with pebble-challtestsrv as its DNS (every name resolves to 127.0.0.1, so
pebble's validation reaches causeway's entryPoint).

What is shown (docs/acme.md):
- HTTP-01: a router with `tls.certResolver` gets a certificate for the names of its Host()
  rule, issued by pebble and served on the TLS entryPoint without a restart; pebble fetched
  /.well-known/acme-challenge/<token> from causeway's `httpChallenge.entryPoint`;
- /api/certificates lists it (provider acme, issuer, validity);
- acme.json is written in Traefik's format with mode 0600, and the next run serves the stored
  certificate with no CA at all (pebble stopped);
- `tls.domains` asks for one certificate with the main name and the SANs; an entryPoint's
  `http.tls.certResolver` applies to its routers;
- a CA refusing the order (a blocklisted name) is an error in /api/warnings, the routers keep
  serving with the default certificate;
- an acme.json open to other users is refused with Traefik's message, and a router naming a
  resolver that does not exist is in warning;
- TLS-ALPN-01: pebble's handshake with ALPN acme-tls/1 on the TLS entryPoint gets the
  challenge certificate, and the router its certificate;
- DNS-01 through an exec hook (a shell script setting the TXT record in pebble-challtestsrv):
  a wildcard certificate, the propagation check asking the configured resolver, and the
  record removed afterwards; a hook that fails is the router's warning and an "error" entry
  of /api/certificates with its output;
- preferredChain picks the alternate chain whose top issuer has that name;
- a CA answering malformed JSON (a fake, at the directory or the order) is an error in
  /api/certificates and the log, never a crash.
"""
import json
import os
import socket
import ssl
import stat
import subprocess

import pytest

from acme_peer import ChallTestSrv, Pebble, eab_key, needs_pebble
from admin_env import api_get
from dns_peer import needs_named, start_named  # noqa: F401 (a fixture)
from harness import BIN, Causeway, free_port, to_yaml, wait_until
from tls_certs import peer_certificate

pytestmark = needs_pebble


@pytest.fixture
def dns():
    server = ChallTestSrv()
    yield server
    server.stop()


def acme_static(pebble, storage, extra=""):
    return to_yaml({"certificatesResolvers": {"le": {"acme": {
        "email": "ops@example.test",
        "storage": str(storage),
        "caServer": pebble.directory_url,
        "caCertificates": [pebble.ca_bundle_path],
        "keyType": "EC256",
        "certificatesDuration": 2160,
        "httpChallenge": {"entryPoint": "web"},
    }}}}) + "\napi:\n  insecure: true\n" + extra


def routers(whoami_port, **tls):
    return {"app.yml": to_yaml({"http": {
        "routers": {"app": {"rule": "Host(`app.example.test`) || Host(`www.example.test`)",
                            "entryPoints": ["websecure"], "service": "who",
                            "tls": {"certResolver": "le", **tls}}},
        "services": {"who": {"loadBalancer": {"servers": [{"url": f"http://127.0.0.1:{whoami_port}"}]}}}}})}


def served_by_pebble(cw, sni):
    try:
        cert = peer_certificate(cw.port("websecure"), sni)
    except (OSError, ssl.SSLError):
        return None
    return cert if "Pebble" in cert.get("issuer", "") else None


def verify_chain(cw, sni, pebble, tmp_path):
    """The served chain verifies against pebble's root, for `sni`."""
    root, _ = pebble.write_chain_files(tmp_path)
    context = ssl.create_default_context(cafile=root)
    with socket.create_connection(("127.0.0.1", cw.port("websecure")), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=sni) as tls:
            tls.sendall(f"GET / HTTP/1.1\r\nHost: {sni}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := tls.recv(4096):
                data += chunk
    return data


def test_http01_issues_serves_stores_and_reuses(dns, start_whoami, tmp_path):
    who = start_whoami("app")
    web = free_port()
    pebble = Pebble(http_port=web, dns_port=dns.dns_port, env={"PEBBLE_AUTHZREUSE": "0"})
    storage = tmp_path / "acme.json"
    cw = Causeway(entrypoints=("web", "websecure", "traefik"), ports={"web": web},
                  static_extra=acme_static(pebble, storage), dynamic=routers(who.port))
    try:
        assert wait_until(lambda: served_by_pebble(cw, "app.example.test"), 60), cw.output()[-3000:]
        cert = served_by_pebble(cw, "www.example.test")
        assert cert, "one certificate covers both Host() names"
        body = verify_chain(cw, "app.example.test", pebble, tmp_path)
        assert b"200 OK" in body and b"Name: app" in body
        # acme.json: Traefik's layout, mode 0600.
        assert stat.S_IMODE(os.stat(storage).st_mode) == 0o600
        stored = json.loads(storage.read_text())
        account = stored["le"]["Account"]
        assert account["Email"] == "ops@example.test" and account["PrivateKey"] and account["KeyType"] == "P256"
        assert account["Registration"]["uri"].startswith("https://127.0.0.1")
        certificates = stored["le"]["Certificates"]
        assert [c["domain"]["main"] for c in certificates] == ["app.example.test"]
        assert certificates[0]["domain"]["sans"] == ["www.example.test"] and certificates[0]["Store"] == "default"
        # /api/certificates lists it, from the acme provider, with its issuer and validity.
        status, _, listed = api_get(cw, "/api/certificates")
        assert status == 200, listed
        acme = [c for c in listed if c["provider"] == "acme"]
        assert len(acme) == 1, listed
        assert sorted(acme[0]["domains"]) == ["app.example.test", "www.example.test"]
        assert acme[0]["issuer"].startswith("Pebble Intermediate") and acme[0]["status"] == "enabled", acme
        assert acme[0]["notAfter"] > acme[0]["notBefore"]
        assert acme[0]["serial"].lstrip("0") == cert["serial"], (acme[0], cert)
        # Nothing failed: no ACME warning.
        status, _, warnings = api_get(cw, "/api/warnings")
        assert status == 200 and not [w for w in warnings if "certificatesResolvers" in w["message"]], warnings
    finally:
        cw.stop()
        pebble.stop()

    # The next run serves the stored certificate at once, with no CA to ask.
    cw = Causeway(entrypoints=("web", "websecure", "traefik"), ports={"web": web},
                  static_extra=acme_static(pebble, storage), dynamic=routers(who.port))
    try:
        cert = served_by_pebble(cw, "app.example.test")
        assert cert, cw.output()[-3000:]
    finally:
        cw.stop()


def test_domains_and_entrypoint_default_resolver(dns, start_whoami, tmp_path):
    who = start_whoami("app")
    web = free_port()
    pebble = Pebble(http_port=web, dns_port=dns.dns_port, env={"PEBBLE_AUTHZREUSE": "0"})
    storage = tmp_path / "acme.json"
    dynamic = {"app.yml": to_yaml({"http": {
        "routers": {
            # tls.domains decides the certificate's names, not the rule.
            "pinned": {"rule": "Host(`pinned.example.test`)", "entryPoints": ["websecure"], "service": "who",
                       "tls": {"certResolver": "le",
                               "domains": [{"main": "main.example.test", "sans": ["pinned.example.test"]}]}},
            # No tls of its own: the entryPoint's http.tls.certResolver.
            "plain": {"rule": "Host(`plain.example.test`)", "entryPoints": ["websecure"], "service": "who"}},
        "services": {"who": {"loadBalancer": {"servers": [{"url": f"http://127.0.0.1:{who.port}"}]}}}}})}
    cw = Causeway(entrypoints=("web", "websecure", "traefik"), ports={"web": web},
                  entrypoint_extra={"websecure": {"http": {"tls": {"certResolver": "le"}}}},
                  static_extra=acme_static(pebble, storage), dynamic=dynamic)
    try:
        assert wait_until(lambda: served_by_pebble(cw, "pinned.example.test"), 60), cw.output()[-3000:]
        assert served_by_pebble(cw, "main.example.test")
        assert wait_until(lambda: served_by_pebble(cw, "plain.example.test"), 60), cw.output()[-3000:]
        mains = sorted(c["domain"]["main"] for c in json.loads(storage.read_text())["le"]["Certificates"])
        assert mains == ["main.example.test", "plain.example.test"]
    finally:
        cw.stop()
        pebble.stop()


def test_refused_order_is_reported_and_nothing_breaks(dns, start_whoami, tmp_path):
    who = start_whoami("app")
    web = free_port()
    pebble = Pebble(http_port=web, dns_port=dns.dns_port, blocklist=["example.test"])
    cw = Causeway(entrypoints=("web", "websecure", "traefik"), ports={"web": web},
                  static_extra=acme_static(pebble, tmp_path / "acme.json"), dynamic=routers(who.port))
    try:
        def acme_warning():
            status, _, warnings = api_get(cw, "/api/warnings")
            return [w for w in warnings if "certificatesResolvers.le" in w["message"]] if status == 200 else []
        assert wait_until(acme_warning, 60), cw.output()[-3000:]
        message = acme_warning()[0]["message"]
        assert "app.example.test" in message and "rejectedIdentifier" in message, message
        # The router still serves, with the default certificate.
        assert not served_by_pebble(cw, "app.example.test")
        assert "ACME certificate not obtained" in cw.output()
    finally:
        cw.stop()
        pebble.stop()


def test_storage_too_open_and_unknown_resolver(dns, tmp_path):
    pebble = Pebble(dns_port=dns.dns_port)
    storage = tmp_path / "acme.json"
    storage.write_text("{}")
    os.chmod(storage, 0o644)
    conf = tmp_path / "traefik.yml"
    conf.write_text(to_yaml({
        "entryPoints": {"web": {"address": f"127.0.0.1:{free_port()}"},
                        "websecure": {"address": f"127.0.0.1:{free_port()}"}},
        "providers": {"file": {"filename": str(tmp_path / "dyn.yml")}}}) + "\n" + acme_static(pebble, storage))
    (tmp_path / "dyn.yml").write_text(to_yaml({"http": {
        "routers": {"typo": {"rule": "Host(`a.example.test`)", "service": "noop@internal",
                             "tls": {"certResolver": "letsencrypt"}}}}}))
    try:
        out = subprocess.run([BIN, "check", f"--configFile={conf}"], capture_output=True, text=True, timeout=30,
                             cwd=str(tmp_path))
        assert "permissions 644 for " + str(storage) + " are too open, please use 600" in out.stdout + out.stderr, \
            out.stdout + out.stderr
        assert "nonexistent certificate resolver: letsencrypt" in out.stdout, out.stdout
    finally:
        pebble.stop()


def test_renewal_before_expiry(dns, start_whoami, tmp_path):
    """certificatesDuration: 1 (hour) renews 20 minutes before expiry (Traefik's schedule); pebble
    issues certificates valid for 20 min 5 s, so each falls due 5 s after it is issued: a new
    certificate (another serial) is served without a restart, and acme.json holds only it."""
    who = start_whoami("app")
    web = free_port()
    pebble = Pebble(http_port=web, dns_port=dns.dns_port, validity_seconds=1205, env={"PEBBLE_AUTHZREUSE": "0"})
    storage = tmp_path / "acme.json"
    static = acme_static(pebble, storage).replace("certificatesDuration: 2160", "certificatesDuration: 1")
    assert "certificatesDuration: 1\n" in static
    cw = Causeway(entrypoints=("web", "websecure", "traefik"), ports={"web": web}, static_extra=static,
                  dynamic=routers(who.port))
    try:
        first = wait_until(lambda: served_by_pebble(cw, "app.example.test"), 60)
        renewed = wait_until(lambda: (c := served_by_pebble(cw, "app.example.test")) and
                             c["serial"] != first["serial"] and c, 40)
        assert renewed["cn"] == "app.example.test"
        assert len(json.loads(storage.read_text())["le"]["Certificates"]) == 1
    finally:
        cw.stop()
        pebble.stop()


def test_external_account_binding(dns, start_whoami, tmp_path):
    """A CA that requires external account binding (pebble with externalAccountMACKeys): the
    resolver's `eab.kid` and `eab.hmacEncoded` register the account and the certificate is
    issued; a wrong MAC key is refused by the CA and shown in /api/warnings."""
    who = start_whoami("app")
    key = eab_key()
    for mac, works in ((key, True), (eab_key(), False)):
        web = free_port()
        pebble = Pebble(http_port=web, dns_port=dns.dns_port, eab={"kid-1": key}, env={"PEBBLE_AUTHZREUSE": "0"})
        static = acme_static(pebble, tmp_path / f"acme-{works}.json").replace(
            "certificatesResolvers:\n  le:\n    acme:\n",
            f"certificatesResolvers:\n  le:\n    acme:\n      eab:\n        kid: kid-1\n        hmacEncoded: \"{mac}\"\n")
        assert "hmacEncoded" in static
        cw = Causeway(entrypoints=("web", "websecure", "traefik"), ports={"web": web}, static_extra=static,
                      dynamic=routers(who.port))
        try:
            if works:
                assert wait_until(lambda: served_by_pebble(cw, "app.example.test"), 60), cw.output()[-3000:]
            else:
                def refused():
                    status, _, warnings = api_get(cw, "/api/warnings")
                    return [w for w in warnings if "registering the ACME account" in w["message"]]
                assert wait_until(refused, 60), cw.output()[-3000:]
                assert not served_by_pebble(cw, "app.example.test")
        finally:
            cw.stop()
            pebble.stop()


def resolver_static(pebble, storage, challenge):
    """A resolver `le` with only the given challenge (a dict of acme options)."""
    acme = {"email": "ops@example.test", "storage": str(storage), "caServer": pebble.directory_url,
            "caCertificates": [pebble.ca_bundle_path], "keyType": "EC256", **challenge}
    return to_yaml({"certificatesResolvers": {"le": {"acme": acme}}}) + "\napi:\n  insecure: true\n"


def certificate_entries(cw, resolver="le"):
    status, _, listed = api_get(cw, "/api/certificates")
    return [c for c in listed if c.get("resolver") == resolver] if status == 200 else []


def test_tls_alpn01(start_whoami, dns, tmp_path):
    """Only tlsChallenge: pebble validates with a TLS handshake (SNI the name, ALPN acme-tls/1)
    to the TLS entryPoint, where the challenge certificate answers; the router then serves
    pebble's certificate, and /api/certificates names its resolver."""
    who = start_whoami("app")
    websecure = free_port()
    pebble = Pebble(tls_port=websecure, dns_port=dns.dns_port, env={"PEBBLE_AUTHZREUSE": "0"})
    cw = Causeway(entrypoints=("web", "websecure", "traefik"), ports={"websecure": websecure},
                  static_extra=resolver_static(pebble, tmp_path / "acme.json", {"tlsChallenge": {}}),
                  dynamic=routers(who.port))
    try:
        assert wait_until(lambda: served_by_pebble(cw, "app.example.test"), 60), cw.output()[-3000:]
        assert b"Name: app" in verify_chain(cw, "www.example.test", pebble, tmp_path)
        entries = wait_until(lambda: [c for c in certificate_entries(cw) if c["status"] == "enabled"], 10)
        assert entries and entries[0]["lastError"] == "" and entries[0]["nextAttempt"] > entries[0]["notBefore"], entries
        # Without a challenge in progress, acme-tls/1 is not negotiated: an ordinary handshake.
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        context.set_alpn_protocols(["acme-tls/1", "http/1.1"])
        with socket.create_connection(("127.0.0.1", websecure), timeout=5) as raw:
            with context.wrap_socket(raw, server_hostname="app.example.test") as tls:
                assert tls.selected_alpn_protocol() == "http/1.1"
    finally:
        cw.stop()
        pebble.stop()


EXEC_HOOK = """#!/bin/sh
# lego's exec DNS provider protocol: $0 present|cleanup <fqdn> <value>
echo "$1 $2 $3" >> "{log}"
case "$1" in
  present) curl -sf -d "{{\\"host\\":\\"$2\\",\\"value\\":\\"$3\\"}}" {url}/set-txt ;;
  cleanup) curl -sf -d "{{\\"host\\":\\"$2\\"}}" {url}/clear-txt ;;
  *) exit 3 ;;
esac
"""


def exec_hook(tmp_path, dns, broken=False):
    script, log = tmp_path / "dns-hook.sh", tmp_path / "dns-hook.log"
    body = "#!/bin/sh\necho 'zone example.test is read-only' >&2\nexit 4\n" if broken else \
        EXEC_HOOK.format(log=log, url=dns.management_url)
    script.write_text(body)
    os.chmod(script, 0o755)
    return str(script), log


def wildcard_routers(whoami_port):
    return {"app.yml": to_yaml({"http": {
        "routers": {"wild": {"rule": "HostRegexp(`^.+\\.wild\\.example\\.test$`)", "entryPoints": ["websecure"],
                             "service": "who",
                             "tls": {"certResolver": "le",
                                     "domains": [{"main": "*.wild.example.test", "sans": ["wild.example.test"]}]}}},
        "services": {"who": {"loadBalancer": {"servers": [{"url": f"http://127.0.0.1:{whoami_port}"}]}}}}})}


def test_dns01_exec_hook_wildcard(start_whoami, dns, tmp_path):
    who = start_whoami("app")
    pebble = Pebble(dns_port=dns.dns_port, env={"PEBBLE_AUTHZREUSE": "0"})
    script, log = exec_hook(tmp_path, dns)
    challenge = {"dnsChallenge": {"provider": "exec", "resolvers": [dns.dns_address],
                                  "propagation": {"delayBeforeChecks": "100ms"}}}
    cw = Causeway(entrypoints=("web", "websecure", "traefik"),
                  static_extra=resolver_static(pebble, tmp_path / "acme.json", challenge),
                  dynamic=wildcard_routers(who.port),
                  env={"EXEC_PATH": script, "EXEC_POLLING_INTERVAL": "1"})
    try:
        cert = wait_until(lambda: served_by_pebble(cw, "any.wild.example.test"), 60)
        assert cert, cw.output()[-3000:]
        assert served_by_pebble(cw, "wild.example.test")
        # Both authorizations (the wildcard and its base) set and removed the same record name.
        calls = log.read_text().split("\n")
        presents = [c for c in calls if c.startswith("present _acme-challenge.wild.example.test. ")]
        cleanups = [c for c in calls if c.startswith("cleanup _acme-challenge.wild.example.test. ")]
        assert len(presents) == 2 and len(cleanups) == 2, calls
        assert dns.query("_acme-challenge.wild.example.test", "TXT") == []
        stored = json.loads((tmp_path / "acme.json").read_text())["le"]["Certificates"]
        assert stored[0]["domain"] == {"main": "*.wild.example.test", "sans": ["wild.example.test"]}
    finally:
        cw.stop()
        pebble.stop()


@needs_named
def test_dns01_rfc2136_updates_a_real_nameserver(start_named, start_whoami, tmp_path):
    """DNS-01 through RFC 2136: causeway finds the zone by an SOA query, sends TSIG-signed
    updates (hmac-sha256) to BIND's named, checks propagation there, and pebble (asking named)
    validates; the record is deleted afterwards. A wrong secret is refused by named (BADSIG),
    and that is the error shown."""
    who = start_whoami("app")
    named = start_named()
    pebble = Pebble(dns_port=named.port, env={"PEBBLE_AUTHZREUSE": "0"})
    challenge = {"dnsChallenge": {"provider": "rfc2136", "resolvers": [named.address]}}
    env = {"RFC2136_NAMESERVER": named.address, "RFC2136_TSIG_KEY": named.key_name,
           "RFC2136_TSIG_ALGORITHM": named.algorithm + ".", "RFC2136_TSIG_SECRET": named.secret,
           "RFC2136_POLLING_INTERVAL": "1"}
    try:
        cw = Causeway(entrypoints=("web", "websecure", "traefik"),
                      static_extra=resolver_static(pebble, tmp_path / "acme.json", challenge),
                      dynamic=wildcard_routers(who.port), env=env)
        try:
            assert wait_until(lambda: served_by_pebble(cw, "x.wild.example.test"), 60), cw.output()[-3000:]
            assert named.txt("_acme-challenge.wild.example.test") == []
        finally:
            cw.stop()
        # A secret named does not know: the update is refused, and that is what the API says.
        wrong = dict(env, RFC2136_TSIG_SECRET="c2VjcmV0LXRoYXQtbmFtZWQtZG9lcy1ub3Qta25vdw==")
        cw = Causeway(entrypoints=("web", "websecure", "traefik"),
                      static_extra=resolver_static(pebble, tmp_path / "acme-2.json", challenge),
                      dynamic=wildcard_routers(who.port), env=wrong)
        try:
            errors = wait_until(lambda: [c for c in certificate_entries(cw) if c["status"] == "error"], 60)
            assert errors and "refused by " + named.address in errors[0]["lastError"], cw.output()[-3000:]
            assert "NOTAUTH" in errors[0]["lastError"] or "BADSIG" in errors[0]["lastError"], errors
        finally:
            cw.stop()
    finally:
        pebble.stop()


def test_dns01_failing_hook_is_shown_on_the_router_and_in_the_api(start_whoami, dns, tmp_path):
    who = start_whoami("app")
    pebble = Pebble(dns_port=dns.dns_port, env={"PEBBLE_AUTHZREUSE": "0"})
    script, _ = exec_hook(tmp_path, dns, broken=True)
    cw = Causeway(entrypoints=("web", "websecure", "traefik"),
                  static_extra=resolver_static(pebble, tmp_path / "acme.json",
                                               {"dnsChallenge": {"provider": "exec"}}),
                  dynamic=wildcard_routers(who.port), env={"EXEC_PATH": script})
    try:
        errors = wait_until(lambda: [c for c in certificate_entries(cw) if c["status"] == "error"], 60)
        assert errors, cw.output()[-3000:]
        entry = errors[0]
        assert entry["domains"] == ["*.wild.example.test", "wild.example.test"] and entry["provider"] == "acme"
        assert "exit status 4" in entry["lastError"] and "zone example.test is read-only" in entry["lastError"], entry
        assert entry["nextAttempt"] and entry["issuer"] == "" and entry["notAfter"] == ""

        def router_warning():
            status, _, router = api_get(cw, "/api/http/routers/wild@file")
            return router if status == 200 and router.get("status") == "warning" else None
        router = wait_until(router_warning, 10)
        assert router, cw.output()[-2000:]
        assert any("certificate resolver le cannot obtain a certificate for *.wild.example.test" in e and
                   "exit status 4" in e for e in router["error"]), router
        # It still serves (with the default certificate).
        assert not served_by_pebble(cw, "a.wild.example.test")
    finally:
        cw.stop()
        pebble.stop()


def test_dns01_provider_not_configured_is_reported(tmp_path):
    conf = tmp_path / "traefik.yml"
    conf.write_text(to_yaml({
        "entryPoints": {"websecure": {"address": f"127.0.0.1:{free_port()}"}},
        "certificatesResolvers": {
            "ex": {"acme": {"storage": str(tmp_path / "a.json"), "dnsChallenge": {"provider": "exec"}}},
            "cf": {"acme": {"storage": str(tmp_path / "b.json"), "dnsChallenge": {"provider": "cloudflare"}}}}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXEC_")}
    out = subprocess.run([BIN, "check", f"--configFile={conf}"], capture_output=True, text=True, timeout=30,
                         cwd=str(tmp_path), env=env)
    text = out.stdout + out.stderr
    assert "the exec DNS provider needs EXEC_PATH" in text, text
    assert 'the DNS provider "cloudflare" is not supported yet' in text and "traefik.yml:" in text, text


def top_issuer(pem):
    """The common name of the issuer of a PEM chain's last certificate."""
    marker = "-----BEGIN CERTIFICATE-----"
    last = marker + pem.split(marker)[-1]
    out = subprocess.run(["openssl", "x509", "-noout", "-issuer", "-nameopt", "multiline"], input=last,
                         capture_output=True, text=True, check=True).stdout
    return [line.split("=", 1)[1].strip() for line in out.splitlines() if "commonName" in line][0]


def test_preferred_chain(start_whoami, dns, tmp_path):
    """Pebble with an alternate root: preferredChain names the alternate root's common name and
    the stored (and served) chain ends under it; the default chain ends under the first root."""
    import base64
    who = start_whoami("app")
    web = free_port()
    pebble = Pebble(http_port=web, dns_port=dns.dns_port, env={"PEBBLE_ALTERNATE_ROOTS": "1"})
    roots = [subprocess.run(["openssl", "x509", "-noout", "-subject", "-nameopt", "multiline"], input=pebble.root_pem(i),
                            capture_output=True, text=True, check=True).stdout for i in (0, 1)]
    names = [[line.split("=", 1)[1].strip() for line in r.splitlines() if "commonName" in line][0] for r in roots]
    assert names[0] != names[1]
    try:
        # The alternate root's name picks the alternate; a name no chain has leaves the default.
        for preferred, expected in ((names[1], names[1]), ("No Such Root", names[0])):
            storage = tmp_path / f"acme-{expected[-6:]}.json"
            static = resolver_static(pebble, storage, {"httpChallenge": {"entryPoint": "web"},
                                                       "preferredChain": preferred})
            cw = Causeway(entrypoints=("web", "websecure", "traefik"), ports={"web": web}, static_extra=static,
                          dynamic=routers(who.port))
            try:
                assert wait_until(lambda: served_by_pebble(cw, "app.example.test"), 60), cw.output()[-3000:]
                stored = json.loads(storage.read_text())["le"]["Certificates"][0]["certificate"]
                assert top_issuer(base64.b64decode(stored).decode()) == expected, (preferred, names)
            finally:
                cw.stop()
    finally:
        pebble.stop()


def test_tcp_router_certificate(dns, tmp_path):
    """A TCP router terminating TLS with tls.certResolver: the HostSNI name's certificate is
    ordered (HTTP-01 on the web entryPoint) and presented to TCP clients."""
    from tcp_peers import EchoServer
    echo = EchoServer().start()
    web = free_port()
    pebble = Pebble(http_port=web, dns_port=dns.dns_port, env={"PEBBLE_AUTHZREUSE": "0"})
    dynamic = {"tcp.yml": to_yaml({"tcp": {
        "routers": {"db": {"entryPoints": ["websecure"], "rule": "HostSNI(`db.example.test`)", "service": "echo",
                           "tls": {"certResolver": "le"}}},
        "services": {"echo": {"loadBalancer": {"servers": [{"address": f"127.0.0.1:{echo.port}"}]}}}}})}
    cw = Causeway(entrypoints=("web", "websecure", "traefik"), ports={"web": web},
                  static_extra=acme_static(pebble, tmp_path / "acme.json"), dynamic=dynamic)
    try:
        assert wait_until(lambda: served_by_pebble(cw, "db.example.test"), 60), cw.output()[-3000:]
    finally:
        cw.stop()
        pebble.stop()
        echo.stop()


class BrokenAcme:
    """A fake ACME server (plain HTTP, in a thread) that answers with malformed JSON: at the
    directory (`broken="directory"`), or with a valid directory, nonce and account but a
    garbage order (`broken="order"`). Counts the requests it got."""

    def __init__(self, broken):
        import http.server
        import threading
        outer = self
        self.requests = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, status, body, headers=()):
                self.send_response(status)
                self.send_header("Replay-Nonce", "nonce-1")
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_HEAD(self):
                outer.requests.append(("HEAD", self.path))
                self.reply(200, b"")

            def do_GET(self):
                outer.requests.append(("GET", self.path))
                base = f"http://127.0.0.1:{outer.port}"
                if broken == "directory":
                    self.reply(200, b'{"newNonce": "' + base.encode() + b'/nonce", "newAccount": \x00\xff')
                else:
                    self.reply(200, json.dumps({"newNonce": base + "/nonce", "newAccount": base + "/acct",
                                                "newOrder": base + "/order"}).encode())

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                outer.requests.append(("POST", self.path))
                if self.path == "/acct":
                    self.reply(201, b'{"status": "valid"', [("Location", f"http://127.0.0.1:{outer.port}/acct/1")])
                else:
                    self.reply(201, b"[[[{,,", [("Location", f"http://127.0.0.1:{outer.port}/order/1")])

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("broken", ["directory", "order"])
def test_malformed_json_from_the_ca_is_an_error_not_a_crash(broken, start_whoami, tmp_path):
    who = start_whoami("app")
    ca = BrokenAcme(broken)
    static = to_yaml({"certificatesResolvers": {"le": {"acme": {
        "email": "ops@example.test", "storage": str(tmp_path / "acme.json"),
        "caServer": f"http://127.0.0.1:{ca.port}/dir", "keyType": "EC256",
        "httpChallenge": {"entryPoint": "web"}}}}}) + "\napi:\n  insecure: true\n"
    cw = Causeway(entrypoints=("web", "websecure", "traefik"), static_extra=static, dynamic=routers(who.port))
    try:
        errors = wait_until(lambda: [c for c in certificate_entries(cw) if c["status"] == "error"], 60)
        assert errors, cw.output()[-3000:]
        message = errors[0]["lastError"]
        if broken == "directory":
            assert "not an ACME directory" in message, message
        else:
            assert ("POST", "/order") in ca.requests and message, (ca.requests, message)
        assert "ACME certificate not obtained" in cw.output()
        assert cw.proc.poll() is None
        # Still serving, with the default certificate.
        status, _, _ = api_get(cw, "/api/version")
        assert status == 200
    finally:
        cw.stop()
        ca.stop()
