"""The dashboard's Certificates page (#/certificates) and /api/certificates (reference docs/acme.md),
in Debian's Chromium through playwright-core: every certificate of the TLS store with its domains,
issuer, validity and days left, provider and status, and a certificate a router wants from an ACME
resolver that could not be obtained: in error, with its resolver, last error and next attempt.
Screenshots are saved (see browser.screenshot_dir()).

The configuration: two file-provider certificates, `a.example.test` (valid for a year: enabled)
and `soon.example.test` (10 days: warning, it expires within 30), and the router `secure`
(Host(`b.example.test`), `tls.certResolver: le`) on the entryPoint `websecure`. The resolver `le`
(HTTP-01 on `web`) has a caServer on a closed port, so every order fails at once (connection
refused) and is retried after a minute: no CA is needed.
"""
import datetime
import re

import pytest

from admin_env import api_get
from browser import dashboard, no_errors, screenshot_dir
from harness import Causeway, free_port, to_yaml, wait_until
from tls_certs import Pki

CA_NAME = "Certificates Test CA"
WANTED = "b.example.test"


def static_config(storage, ca_server):
    return to_yaml({"certificatesResolvers": {"le": {"acme": {
        "email": "ops@example.test",
        "storage": str(storage),
        "caServer": ca_server,
        "httpChallenge": {"entryPoint": "web"},
    }}}}) + "\napi:\n  insecure: true\n"


def dynamic_config(certificates, dead_port):
    http = {
        "routers": {"secure": {"rule": f"Host(`{WANTED}`)", "entryPoints": ["websecure"], "service": "app",
                               "tls": {"certResolver": "le"}}},
        "services": {"app": {"loadBalancer": {"servers": [{"url": f"http://127.0.0.1:{dead_port}"}]}}},
    }
    tls = {"certificates": [{"certFile": c.cert, "keyFile": c.key} for c in certificates]}
    return {"certs.yml": to_yaml({"http": http, "tls": tls}) + "\n"}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """(causeway, {domain: Cert}, the caServer's port): the API and dashboard on `traefik`."""
    pki = Pki(tmp_path_factory.mktemp("pki"))
    ca = pki.ca(CA_NAME)
    certs = {
        "a.example.test": pki.issue(ca, "a.example.test", dns=["a.example.test"], days=365),
        "soon.example.test": pki.issue(ca, "soon.example.test", dns=["soon.example.test"], days=10),
    }
    ca_port = free_port()  # nothing listens there
    storage = tmp_path_factory.mktemp("acme") / "acme.json"
    cw = Causeway(entrypoints=("web", "websecure", "traefik"),
                  static_extra=static_config(storage, f"https://127.0.0.1:{ca_port}/dir"),
                  dynamic=dynamic_config(certs.values(), free_port()))
    try:
        wait_until(lambda: len(certificates(cw)) >= 2, message="the file certificates in the API")
        yield cw, certs, ca_port
    finally:
        cw.stop()


def certificates(cw):
    status, _, listed = api_get(cw, "/api/certificates")
    assert status == 200, listed
    return listed


def find(listed, domain):
    found = [c for c in listed if domain in c["domains"]]
    assert len(found) == 1, listed
    return found[0]


def failed_order(cw):
    """The item of the certificate the router wants, once its first order has failed (it is
    "pending" before). Generating the account key comes first: allow for a slow machine."""
    def failed():
        item = find(certificates(cw), WANTED)
        return item if item["status"] == "error" else None
    try:
        return wait_until(failed, timeout=60, interval=0.2, message="the failed ACME order in /api/certificates")
    except TimeoutError:
        raise AssertionError(cw.output()[-3000:])


def parse_time(text):
    """An RFC 3339 time of the API (UTC, "Z", up to nanoseconds) as an aware datetime."""
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z", text), text
    return datetime.datetime.fromisoformat(re.sub(r"\.\d+", "", text[:-1]) + "+00:00")


def cert_row(domain):
    """The selector of the Certificates page's row for the certificate of `domain` (one name)."""
    return f"[data-testid=certificate-row][data-domains='{domain}']"


def test_api_lists_file_certificates_and_the_failed_order(setup):
    cw, certs, ca_port = setup
    item = failed_order(cw)
    assert item["provider"] == "acme" and item["resolver"] == "le", item
    assert item["domains"] == [WANTED], item
    for empty in ("commonName", "issuer", "serial", "notBefore", "notAfter"):
        assert item[empty] == "", (empty, item)
    # The CA could not be reached: the error names its directory.
    assert f"127.0.0.1:{ca_port}" in item["lastError"], item
    # Retried after a minute (doubling): the next attempt is ahead, within the hour.
    now = datetime.datetime.now(datetime.timezone.utc)
    ahead = (parse_time(item["nextAttempt"]) - now).total_seconds()
    assert -30 < ahead <= 3600 + 30, (item, now)

    listed = certificates(cw)
    assert len(listed) == 3, listed
    good = find(listed, "a.example.test")
    assert good["provider"] == "file" and good["status"] == "enabled", good
    assert good["issuer"] == CA_NAME and good["commonName"] == "a.example.test", good
    assert good["serial"].lstrip("0") == certs["a.example.test"].serial, good
    assert parse_time(good["notAfter"]) > now + datetime.timedelta(days=360), good
    assert parse_time(good["notBefore"]) < now, good
    # Not from a resolver: no resolver, error or next attempt.
    assert (good["resolver"], good["lastError"], good["nextAttempt"]) == ("", "", ""), good
    soon = find(listed, "soon.example.test")
    assert soon["provider"] == "file" and soon["status"] == "warning", soon
    assert (soon["resolver"], soon["lastError"], soon["nextAttempt"]) == ("", "", ""), soon


def test_certificates_page_shows_certificates_and_the_failed_order(setup, browser):
    cw, _, ca_port = setup
    failed_order(cw)
    browser.goto(dashboard(cw))
    browser.click("[data-testid=nav-certificates]")
    browser.wait("[data-testid=list-certificates]")
    assert browser.call("url").endswith("#/certificates")
    assert browser.text("h1") == "Certificates"
    assert browser.count("[data-testid=nav-certificates].active") == 1
    headers = browser.texts("[data-testid=list-certificates] th")
    assert headers == ["Status", "Domains", "Issuer", "Valid until", "Provider", "Resolver", "Next attempt"], headers

    # The file certificate: its issuer, domain, validity, provider; valid.
    good = cert_row("a.example.test")
    browser.wait(good)
    assert browser.texts(good + " [data-testid=domains] .chip") == ["a.example.test"]
    assert browser.text(good + " [data-testid=issuer]") == CA_NAME
    assert browser.text(good + " [data-testid=provider]") == "file"
    assert browser.count(good + " [data-testid=status][data-status=enabled]") == 1
    assert browser.text(good + " [data-testid=status]") == "Valid"
    assert browser.text(good + " [data-testid=not-after]")
    days = re.fullmatch(r"\((\d+) days left\)", browser.text(good + " [data-testid=days-left]"))
    assert days and 360 <= int(days.group(1)) <= 365, days
    assert browser.text(good + " [data-testid=resolver]") == "—"
    assert browser.text(good + " [data-testid=next-attempt]") == "—"

    # The one expiring within 30 days is in warning.
    soon = cert_row("soon.example.test")
    assert browser.count(soon + " [data-testid=status][data-status=warning]") == 1
    assert browser.text(soon + " [data-testid=status]") == "Expiring"
    days = re.fullmatch(r"\((\d+) days left\)", browser.text(soon + " [data-testid=days-left]"))
    assert days and 8 <= int(days.group(1)) <= 10, days

    # The certificate that could not be obtained: in error (red), its resolver, the CA's failure
    # below it and the next attempt.
    failed = cert_row(WANTED)
    browser.wait(failed + "[data-status=error]", timeout=15000)
    assert browser.count(failed + " .badge-error[data-status=error]") == 1
    assert browser.text(failed + " [data-testid=status]") == "Error"
    assert browser.text(failed + " [data-testid=resolver]") == "le"
    assert browser.text(failed + " [data-testid=provider]") == "acme"
    assert browser.text(failed + " [data-testid=issuer]") == "—"
    assert browser.text(failed + " [data-testid=valid-until]") == "—"
    next_attempt = browser.text(failed + " [data-testid=next-attempt]")
    assert re.search(r"\((in \d+ (s|min|h|days)|due)\)$", next_attempt), next_attempt
    browser.wait(f"[data-testid=certificate-error][data-domains='{WANTED}'] [data-testid=last-error]",
                 text=f"127.0.0.1:{ca_port}")
    assert browser.count("[data-testid=certificate-error]") == 1
    assert browser.count("[data-testid=certificate-row]") == 3
    browser.screenshot(screenshot_dir() / "certificates.png")

    # The status filter and the search are the page's own (the API returns every certificate).
    browser.call("select", selector="[data-testid=status-filter]", value="error")
    wait_until(lambda: browser.count("[data-testid=certificate-row]") == 1, timeout=5, message="only the error")
    assert browser.count(failed) == 1
    browser.call("select", selector="[data-testid=status-filter]", value="")
    browser.fill("[data-testid=search]", "soon.example")
    wait_until(lambda: browser.count("[data-testid=certificate-row]") == 1, timeout=5, message="only soon")
    assert browser.count(soon) == 1
    no_errors(browser)
