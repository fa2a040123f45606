"""The oidc middleware end to end: Debian's Chromium (playwright-core) logs in through the npm
package `oidc-provider` (node/oidc_idp.mjs, its development login pages) with PKCE; the session
cookie carries the user to the upstream as headers; the access token is refreshed; a tampered
cookie starts a new login; CSRF is enforced on POST; logout ends the session at the provider,
whose back-channel logout also ends a copy of the session kept elsewhere. With
`session.store.redis`, two instances share sessions through a real redis-server, and a
back-channel logout received by one ends the session on the other.

Reference: docs/api-gateway.md ("oidc")."""
import json
import time
import urllib.error
import urllib.request

from browser import Browser
from harness import free_port, wait_until
from mcp_peer import NODE_DIR
from mwkit import start
from portal_kit import idp_login, needs_idp_and_chromium
from redis_peer import needs_redis, start_redis  # noqa: F401 (fixture)
from test_api_oauth import Idp as BaseIdp

pytestmark = needs_idp_and_chromium


class Idp(BaseIdp):
    def __init__(self, *extra):
        from harness import Process
        Process.__init__(self, ["node", "oidc_idp.mjs", "--port", "0", *extra], cwd=str(NODE_DIR), name="oidc-idp")
        wait_until(lambda: '"issuer"' in self.output() or self.proc.poll() is not None, timeout=30,
                   message="oidc-provider listening")
        line = next(l for l in self.output().splitlines() if l.startswith("{"))
        self.issuer = json.loads(line)["issuer"]


def cookie(b, name):
    return next((c for c in b.call("cookies") if c["name"] == name), None)


def http(method, url, cookies, headers=None, body=None):
    req = urllib.request.Request(url, data=body, method=method)
    req.add_header("Cookie", "; ".join(f"{c['name']}={c['value']}" for c in cookies))
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def head(method, url, cookies):
    """(status, Location) without following redirects."""
    opener = urllib.request.build_opener(NoRedirect)
    req = urllib.request.Request(url, method=method)
    req.add_header("Cookie", "; ".join(f"{c['name']}={c['value']}" for c in cookies))
    try:
        with opener.open(req, timeout=10) as r:
            return r.status, r.headers.get("Location", "")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Location", "")


def test_login_session_refresh_csrf_and_logout(start_whoami, start_causeway):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    idp = Idp("--redirect", base + "/oauth2/callback", "--post-logout", base + "/bye",
              "--backchannel", base + "/oauth2/backchannel", "--access-ttl", "4")
    try:
        w = start_whoami()
        cw = start(start_causeway, w.url, middlewares={"login": {"oidc": {
            "issuer": idp.issuer, "clientId": "app", "clientSecret": "app-secret",
            "redirectUrl": base + "/oauth2/callback", "secret": "a-long-secret-shared-by-replicas", "pkce": True,
            "scopes": ["openid", "email", "groups", "offline_access"], "authParams": {"prompt": "consent"},
            "logoutUrl": "/logout", "postLogoutRedirectUrl": base + "/bye", "backchannelLogoutUrl": "/oauth2/backchannel",
            "discoveryParams": {"ui_locales": "en"}, "backchannelLogoutSessionsRequired": True,
            "session": {"secure": False}, "stateCookie": {"secure": False}, "csrf": {},
            "forwardHeaders": {"X-User-Email": "email", "X-Groups": "groups"}, "usernameClaim": "sub",
            "claims": "Contains(`groups`, `staff`)"}}},
            routers={"app": ("PathPrefix(`/`)", ["login"]),
                     "bye": {"rule": "Path(`/bye`)", "service": "app", "priority": 1000}},
            ports={"web": port})
        with Browser() as b:
            # Login: the provider's pages, then back to the page first asked for.
            b.goto(base + "/hello?x=1")
            assert b.call("url").startswith(idp.issuer)
            idp_login(b, "alice")
            wait_until(lambda: b.call("url").startswith(base + "/hello"), timeout=15, message="back at the app")
            page = b.text("body")
            assert "GET /hello?x=1 HTTP/1.1" in page
            assert "X-User-Email: alice@example.com" in page and "X-Groups: staff" in page
            assert "login-session" not in page  # the session cookie stays with the gateway
            session = cookie(b, "login-session")
            csrf = cookie(b, "hub-csrf-token")
            assert session and session["httpOnly"] and csrf and not csrf["httpOnly"]
            assert cookie(b, "login-state")["value"] == "" if cookie(b, "login-state") else True

            # The access token expires after 4 s: the next request refreshes it without a login.
            time.sleep(5)
            b.goto(base + "/again")
            assert b.call("url") == base + "/again"
            assert "X-User-Email: alice@example.com" in b.text("body")
            refreshed = cookie(b, "login-session")
            assert refreshed["value"] != session["value"]

            # CSRF: a POST with the session but without the header is refused.
            jar = b.call("cookies")
            status, _ = http("POST", base + "/submit", jar, body=b"x=1")
            assert status == 403
            status, body = http("POST", base + "/submit", jar, {"Hub-Csrf-Token": csrf["value"]}, b"x=1")
            assert status == 200 and b"POST /submit" in body
            # Without a session, a POST is not redirected to a login page.
            assert http("POST", base + "/submit", [], body=b"x")[0] == 401

            # A tampered session cookie is no session: a new login starts.
            tampered = dict(refreshed)
            middle = len(tampered["value"]) // 2
            tampered["value"] = tampered["value"][:middle] + ("A" if tampered["value"][middle] != "A" else "B") + \
                tampered["value"][middle + 1:]
            status, location = head("GET", base + "/private", [tampered])
            assert status == 302 and location.startswith(idp.issuer)
            status, location = head("GET", base + "/private", [refreshed])
            assert status == 200

            # Logout: the session ends here and at the provider (RP-initiated), which then tells
            # causeway through the back channel; a copy of the old cookie is no longer a session.
            saved = cookie(b, "login-session")
            b.goto(base + "/logout")
            b.wait("button[name=logout]", timeout=15000)
            b.click("button[name=logout]")
            wait_until(lambda: b.call("url").startswith(base + "/bye"), timeout=15, message="after logout")
            assert not cookie(b, "login-session") or cookie(b, "login-session")["value"] == ""
            try:
                wait_until(lambda: "back-channel logout" in cw.output(), timeout=15, message="back-channel logout")
            except TimeoutError:
                print(cw.output()[-3000:])
                print(idp.output()[-3000:])
                raise
            status, location = head("GET", base + "/private", [saved])
            assert status == 302 and location.startswith(idp.issuer)  # sent to log in again
        assert "a-long-secret" not in cw.output()
    finally:
        idp.stop()


@needs_redis
def test_sessions_in_redis_shared_by_two_instances(start_whoami, start_causeway, start_redis):
    redis = start_redis()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    idp = Idp("--redirect", base + "/oauth2/callback", "--backchannel", base + "/oauth2/backchannel")
    try:
        w = start_whoami()
        mws = {"login": {"oidc": {
            "issuer": idp.issuer, "clientId": "app", "clientSecret": "app-secret",
            "redirectUrl": base + "/oauth2/callback", "secret": "a-long-secret-shared-by-replicas",
            "scopes": ["openid", "email"], "backchannelLogoutUrl": "/oauth2/backchannel",
            "forwardHeaders": {"X-User-Email": "email"},
            "session": {"secure": False, "store": {"redis": {"endpoints": [f"127.0.0.1:{redis.port}"], "timeout": "1s"},
                                                   "keyPrefix": "sessions:"}},
            "stateCookie": {"secure": False}}}}
        routers = {"app": ("PathPrefix(`/`)", ["login"])}
        a = start(start_causeway, w.url, middlewares=mws, routers=routers, ports={"web": port})
        b = start(start_causeway, w.url, middlewares=mws, routers=routers)
        other = b.url("web", "/")[:-1]
        with Browser() as br:
            br.goto(base + "/hello")
            idp_login(br, "alice")
            wait_until(lambda: br.call("url").startswith(base + "/hello"), timeout=15, message="back at the app")
            assert "X-User-Email: alice@example.com" in br.text("body")
            session = cookie(br, "login-session")
            # The cookie carries only a sealed id; the session is in Redis, sealed too.
            assert len(session["value"]) < 200, len(session["value"])
            keys = [k for k in redis.command("KEYS", "sessions:*") if ":sid:" not in k and ":sub:" not in k]
            assert len(keys) == 1, keys
            kept = redis.command("GET", keys[0])
            assert "alice@example.com" not in kept and kept.startswith("cw1.")
            assert 0 < int(redis.command("PTTL", keys[0])) <= 86400 * 1000
            assert int(redis.command("SCARD", "sessions:sub:alice")) == 1

            # Browsers send cookies to every port of a host: the other instance finds the session.
            br.goto(other + "/there")
            assert "GET /there HTTP/1.1" in br.text("body")
            assert "X-User-Email: alice@example.com" in br.text("body")

            # The provider ends the session (its own logout page): the back-channel logout goes to
            # instance A only, and the session ends for B as well.
            br.goto(idp.issuer + "/session/end")
            br.wait("button[name=logout]", timeout=15000)
            br.click("button[name=logout]")
            wait_until(lambda: "back-channel logout" in a.output(), timeout=15, message="back-channel logout")
            status, location = head("GET", other + "/private", [session])
            assert status == 302 and location.startswith(idp.issuer)
            assert redis.command("EXISTS", keys[0]) == 0

            # Redis stopped: a request with a session cookie gets 503, not a login loop.
            redis.stop()
            status, _ = head("GET", other + "/private", [session])
            assert status == 503
            wait_until(lambda: "the session store cannot be used" in b.output(), timeout=10, message="store warning")
        for cw in (a, b):
            assert "a-long-secret" not in cw.output()
    finally:
        idp.stop()


def test_disable_login_and_configuration_errors(start_whoami, start_causeway):
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "api": {"oidc": {"issuer": "http://127.0.0.1:1", "clientId": "a", "clientSecret": "s",
                         "redirectUrl": "/cb", "disableLogin": True, "secret": "k"}},
        "broken": {"oidc": {"issuer": "http://127.0.0.1:1", "clientId": "a"}},
    }, routers={"a": ("Host(`a.test`)", ["api"]), "b": ("Host(`b.test`)", ["broken"])})
    from mwkit import get
    assert get(cw, "a.test")[0] == 401
    assert "issuer, clientId, clientSecret and redirectUrl are required" in cw.output()
    assert get(cw, "b.test")[0] == 404
    # A session store needs a shared `secret`, and a usable redis block.
    cw2 = start(start_causeway, w.url, middlewares={
        "nosecret": {"oidc": {"issuer": "http://127.0.0.1:1", "clientId": "a", "clientSecret": "s", "redirectUrl": "/cb",
                              "session": {"store": {"redis": {"endpoints": ["127.0.0.1:1"]}}}}},
        "both": {"oidc": {"issuer": "http://127.0.0.1:1", "clientId": "a", "clientSecret": "s", "redirectUrl": "/cb",
                          "secret": "k", "session": {"store": {"redis": {"endpoints": ["127.0.0.1:1"], "cluster": {},
                                                                         "sentinel": {"masterSet": "m"}}}}}},
    }, routers={"a": ("Host(`a.test`)", ["nosecret"]), "b": ("Host(`b.test`)", ["both"])})
    assert "a session store needs `secret`" in cw2.output()
    assert "session.store.redis: cluster and sentinel cannot both be set" in cw2.output()
