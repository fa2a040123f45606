"""Helpers for the developer portal's tests (test_portal_api.py, test_portal_browser.py): their
skip marks (the npm `oidc-provider`, Chromium) and the names of the APIs and catalog items they
configure, the IdP (node/oidc_idp.mjs) with the `portal` client, a sign-in through its
development pages with Chromium (test_api_oidc.py signs in with it too), and a small client of
the portal's JSON API that reuses the browser's cookies (the session and `hub-csrf-token`).

Reference: /work/notes/portal-contract.md (URLs under B = the path of trustedUrls[0], with a
trailing slash; `portal-api/...` needs the session; other methods than GET need the header
Hub-Csrf-Token with the value of the cookie hub-csrf-token)."""
import json
import shutil
import urllib.error
import urllib.parse
import urllib.request

from browser import NODE_DIR, Browser
import pytest

from harness import Process, wait_until

CSRF_COOKIE = "hub-csrf-token"
CSRF_HEADER = "Hub-Csrf-Token"

# pytestmark of the tests that sign in through the IdP with Chromium.
needs_idp_and_chromium = [
    pytest.mark.skipif(not (NODE_DIR / "node_modules" / "oidc-provider").exists(),
                       reason="npm package oidc-provider missing: scripts/npm-deps"),
    pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium missing: scripts/install-deps test"),
]

# The portal tests' APIs and catalog items (file provider): everyone's Bronze plan of the weather
# API, and the Gold plan of the orders API for group partners.
WEATHER = "weather@file"
ORDERS = "orders@file"
PUBLIC = "public-weather@file"
PARTNERS = "partners-only@file"


class PortalIdp(Process):
    """node/oidc_idp.mjs with client `portal` / `portal-secret` for each portal address in
    `portals` (its redirect URI is <address>/auth/callback); groups: {user: [group, ...]}."""

    def __init__(self, portals, groups=None):
        args = ["node", "oidc_idp.mjs", "--port", "0"]
        for url in portals:
            args += ["--portal-redirect", url.rstrip("/") + "/auth/callback"]
        for user, names in (groups or {}).items():
            args += ["--groups", f"{user}={','.join(names)}"]
        super().__init__(args, cwd=str(NODE_DIR), name="oidc-idp")
        wait_until(lambda: '"issuer"' in self.output() or self.proc.poll() is not None, timeout=30,
                   message="oidc-provider listening")
        line = next((l for l in self.output().splitlines() if l.startswith("{")), None)
        if line is None:
            raise RuntimeError("the IdP did not start:\n" + self.output())
        self.issuer = json.loads(line)["issuer"]


def portal_oidc(issuer, scopes=("openid", "profile", "email", "groups")):
    """An APIPortalAuth's `oidc` block for PortalIdp."""
    return {"issuerUrl": issuer, "clientId": "portal", "clientSecret": "portal-secret", "scopes": list(scopes),
            "claims": {"groups": "groups", "userId": "sub", "email": "email",
                       "firstname": "given_name", "lastname": "family_name"}}


def idp_login(b, user):
    """On the provider's development pages: sign in as `user` (unless the provider still has a
    session), then consent."""
    b.wait("button[type=submit]", timeout=15000)
    if b.count("input[name=login]"):
        b.fill("input[name=login]", user)
        b.fill("input[name=password]", "any")
        b.click("button[type=submit]")
        b.wait("button[type=submit]", timeout=15000)  # the consent page
    b.click("button[type=submit]")


def sign_in(portal, idp, user, browser=None):
    """Signs `user` in to the portal whose address (trustedUrls[0]) is `portal`, in a fresh
    Chromium (or `browser`): GET <portal>/portal-api/me sends it to the IdP, and after the
    login it comes back there. Returns a PortalClient with the browser's cookies."""
    base = portal.rstrip("/") + "/"

    def run(b):
        b.goto(base + "portal-api/me")
        if not b.call("url").startswith(idp.issuer):
            b.goto(base)  # the portal page itself sends a visitor without a session to the IdP
        assert b.call("url").startswith(idp.issuer), f"not sent to the IdP: {b.call('url')}"
        idp_login(b, user)
        wait_until(lambda: b.call("url").startswith(base), timeout=15, message="back at the portal")
        cookies = b.call("cookies")
        assert any(c["name"] == CSRF_COOKIE for c in cookies), cookies
        return PortalClient(base, cookies)

    if browser is not None:
        return run(browser)
    with Browser() as b:
        return run(b)


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    @property
    def json(self):
        return json.loads(self.body)

    def error(self):
        """The message of a JSON error `{"error": "..."}` (asserts the shape)."""
        data = json.loads(self.body)
        assert isinstance(data, dict) and isinstance(data.get("error"), str) and data["error"], self
        return data["error"]

    def __repr__(self):
        return f"<{self.status} {self.headers.get('content-type', '')} {self.body[:600]!r}>"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


class PortalClient:
    """The portal's JSON API (B portal-api/...) with a signed-in user's cookies. Redirects are
    not followed. csrf: True sends the header with the cookie's value, False none, a string
    that value."""

    def __init__(self, base, cookies):
        self.base = base
        self.cookies = cookies

    @property
    def csrf_token(self):
        return next(c["value"] for c in self.cookies if c["name"] == CSRF_COOKIE)

    def request(self, method, path, body=None, csrf=True, raw=None, headers=None, cookies=None):
        """path: under B portal-api/; body: JSON-encoded unless raw (bytes) is given."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + "portal-api/" + path, data=data, method=method)
        jar = self.cookies if cookies is None else cookies
        # As a browser would: only the cookies whose path covers the request's (the IdP's
        # interaction cookies live on the same host).
        path = urllib.parse.urlsplit(req.full_url).path
        jar = [c for c in jar if path.startswith(c.get("path") or "/")]
        if jar:
            req.add_header("Cookie", "; ".join(f"{c['name']}={c['value']}" for c in jar))
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if csrf is True:
            req.add_header(CSRF_HEADER, self.csrf_token)
        elif csrf:
            req.add_header(CSRF_HEADER, csrf)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with _opener.open(req, timeout=10) as r:
                return Response(r.status, {k.lower(): v for k, v in r.headers.items()}, r.read())
        except urllib.error.HTTPError as e:
            return Response(e.code, {k.lower(): v for k, v in e.headers.items()}, e.read())

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    # The contract's calls, each asserting its documented success status.
    def me(self):
        r = self.get("me")
        assert r.status == 200, r
        return r.json

    def catalog(self):
        r = self.get("catalog")
        assert r.status == 200, r
        return r.json

    def applications(self):
        r = self.get("applications")
        assert r.status == 200, r
        return r.json["applications"]

    def create_application(self, title):
        r = self.post("applications", {"title": title})
        assert r.status == 201, r
        return r.json

    def create_key(self, app_id, title="key"):
        r = self.post(f"applications/{app_id}/keys", {"title": title})
        assert r.status == 201, r
        return r.json

    def subscribe(self, app_id, catalog_item):
        r = self.post(f"applications/{app_id}/subscriptions", {"catalogItem": catalog_item})
        assert r.status == 201, r
        return r.json


def quote(name):
    return urllib.parse.quote(name, safe="")
