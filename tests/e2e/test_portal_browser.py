"""The developer portal in a browser (issue 21; /work/notes/portal-contract.md): one causeway
serves the portal's page (web/portal/, embedded in the binary) on PathPrefix(`/portal`) and
publishes the weather API on PathPrefix(`/weather`), whose OpenAPI document is a YAML file.
Debian's Chromium (playwright-core) opens the portal, is sent to the npm `oidc-provider` IdP
(node/oidc_idp.mjs, client `portal`) and signs in as alice; the catalog lists the weather API
but not the partners-only orders API (alice is not in group `partners`; bob is, and sees it).
Alice reads the weather API's documentation, creates an application and a key (shown once in
the page), subscribes the application to the Bronze plan (quota: 3 requests an hour) and calls
the API from the try-it console (200, the upstream's answer), then with curl and the same key,
until the quota answers 429 with Retry-After. After a reload the key is nowhere in the page
(only its prefix); revoked in the page, it gets 401 from curl. A key rotated in the page
replaces the old one; Unsubscribe and Delete take effect too. Signing out ends the session.

Reference: web/portal/src/main.jsx (the data-testid attributes), docs/api-management.md."""
import json
import time

import pytest

from browser import Browser, screenshot_dir
from harness import Causeway, curl, free_port, routed, to_yaml, wait_until
from mwkit import READY, lb
from portal_kit import ORDERS, PUBLIC, WEATHER, PortalClient, PortalIdp, idp_login, needs_idp_and_chromium, portal_oidc

pytestmark = needs_idp_and_chromium

# The weather API's document: relative server (the try-it console calls the page's origin +
# /weather), a GET with a query parameter and a PUT with a body, a shared schema.
WEATHER_YAML = """\
openapi: 3.0.3
info:
  title: Weather
  version: "2.0.0"
  description: Forecasts for **any** city.
servers:
  - url: /weather
tags:
  - {name: forecasts, description: What the sky will do}
paths:
  /forecast:
    get:
      operationId: getForecast
      tags: [forecasts]
      summary: Forecast for a city
      parameters:
        - {name: city, in: query, required: true, schema: {type: string}, example: Paris}
        - {name: days, in: query, schema: {type: integer, minimum: 1, maximum: 7}}
      responses:
        "200":
          description: The forecast
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Forecast"}
        "429": {description: Quota exceeded}
  /reports/{station}:
    put:
      operationId: putReport
      tags: [reports]
      summary: Report an observation
      parameters:
        - {name: station, in: path, required: true, schema: {type: string}}
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Forecast"}
      responses:
        "204": {description: Stored}
components:
  schemas:
    Forecast:
      type: object
      required: [city]
      properties:
        city: {type: string, description: The city's name}
        temperature: {type: number, format: float}
"""

ORDERS_DOC = {"openapi": "3.0.3", "info": {"title": "Orders", "version": "1"},
              "paths": {"/orders": {"get": {"operationId": "listOrders", "responses": {"200": {"description": "ok"}}},
                                    "post": {"responses": {"201": {"description": "created"}}}}}}


def portal_yaml(upstream, docs, portal_url, issuer):
    """The contract's configuration: the portal on PathPrefix(`/portal`), weather and orders APIs
    on their own path prefixes, plan bronze (quota 3 an hour) for everyone, gold for partners."""
    http = {
        "routers": {
            "sentinel": {"rule": f"Host(`{READY}`)", "service": "weather"},
            "portal": {"rule": "PathPrefix(`/portal`)", "service": "apiportal@internal"},
            "weather": {"rule": "PathPrefix(`/weather`)", "middlewares": ["weather-api"], "service": "weather"},
            "orders": {"rule": "PathPrefix(`/orders`)", "middlewares": ["orders-api"], "service": "weather"},
        },
        "middlewares": {"weather-api": {"api": {"name": "weather"}}, "orders-api": {"api": {"name": "orders"}}},
        "services": {"weather": lb(upstream)},
    }
    apim = {
        "apis": {
            "weather": {"title": "Weather API", "description": "Forecasts",
                        "openApiSpec": {"file": str(docs / "weather.yaml")}},
            "orders": {"title": "Orders API", "description": "Orders of our partners",
                       "openApiSpec": {"file": str(docs / "orders.json"),
                                       "operationSets": [{"name": "reads", "matchers": [{"methods": ["GET"]}]}]}},
        },
        "apiAuths": {"keys": {"isDefault": True, "apiKey": {}}},
        "apiPlans": {
            "bronze": {"title": "Bronze", "rateLimit": {"limit": 100, "period": "1s"},
                       "quota": {"limit": 3, "period": "1h"}},
            "gold": {"title": "Gold", "description": "For partners", "rateLimit": {"limit": 100, "period": "1s"}},
        },
        "apiCatalogItems": {
            "public-weather": {"everyone": True, "apis": [{"name": "weather"}], "apiPlan": {"name": "bronze"}},
            "partners-only": {"groups": ["partners"], "apis": [{"name": "orders"}], "apiPlan": {"name": "gold"},
                              "operationFilter": {"include": ["reads"]}},
        },
        "apiPortals": {"devportal": {"title": "Weather developer portal", "description": "Everything about our APIs",
                                     "trustedUrls": [portal_url], "ui": {"logoUrl": ""},
                                     "auth": {"name": "portal-oidc"}}},
        "apiPortalAuths": {"portal-oidc": {"oidc": portal_oidc(issuer)}},
        "contentItems": {
            "getting-started": {"title": "Getting started",
                                "content": "# Welcome\nSome **markdown** and <script>window.pwned = 1</script>",
                                "parentRef": {"kind": "APIPortal", "name": "devportal"}},
            "status-page": {"title": "Status", "link": {"href": "https://status.example.com"},
                            "parentRef": {"kind": "API", "name": "weather"}},
        },
    }
    return to_yaml({"http": http, "apiManagement": apim}) + "\n"


# ---------------------------------------------------------------------------------------
# Helpers

def by(testid, **attrs):
    """The selector of elements with data-testid `testid` and data-<name> attributes."""
    sel = f"[data-testid={testid}]"
    for name, value in attrs.items():
        sel += f"[data-{name.replace('_', '-')}='{value}']"
    return sel


def api_call(base, key, path="/weather/forecast?city=Lyon"):
    """curl (a subprocess) to the API through causeway with the key: (status, headers, body)."""
    return curl(base + path, headers=[f"Authorization: Bearer {key}"])


def eventually(base, key, status, timeout=5.0):
    """curl until the API answers `status` (a change made in the portal reaches the gateway
    within about a second); returns that answer."""
    last = []

    def attempt():
        last[:] = [api_call(base, key)]
        return last[0][0] == status

    try:
        wait_until(attempt, timeout=timeout, interval=0.2, message=f"the API answering {status}")
    except TimeoutError:
        raise AssertionError(f"expected {status}, last {last[0][0]} {last[0][2][:300]!r}") from None
    return last[0]


def page_errors(b, since=0):
    """What the portal's page logged as errors from the `since`-th one on (the IdP's login pages
    come before: they ask for a web font they cannot get offline), except the browser's own line
    for each 4xx answer the page asked for on purpose (409, 429, 401 in this journey)."""
    return [e for e in b.errors()[since:]
            if "Failed to load resource: the server responded with a status of" not in e]


def send_tryit(b, op, expect=None, attempts=15):
    """Clicks Send in operation `op`'s console; returns (status, response headers, body). With
    `expect`, sends again (for a moment) until that status comes."""
    for _ in range(attempts):
        b.click(op + " " + by("tryit-send"))
        b.wait(op + " " + by("tryit-status"), timeout=15000)
        status = int(b.text(op + " " + by("tryit-status")))
        if expect is None or status == expect:
            break
        time.sleep(0.3)
    return (status, b.text(op + " " + by("tryit-response-headers")), b.text(op + " " + by("tryit-response-body")))


def signed_in(b, base, idp, user):
    """Opens the portal in `b`: sent to the IdP, signs in as `user`, back on the catalog."""
    b.goto(base)
    assert b.call("url").startswith(idp.issuer), f"not sent to the IdP: {b.call('url')}"
    idp_login(b, user)
    wait_until(lambda: b.call("url").startswith(base), timeout=15, message="back at the portal")
    b.wait(by("catalog-page"), timeout=15000)
    b.wait(by("api-card", name=WEATHER), timeout=15000)
    return len(b.errors())


def shot(b, name):
    """A screenshot of the page when a step fails (in screenshot_dir())."""
    try:
        b.screenshot(screenshot_dir() / f"portal-{name}.png")
    except Exception:  # noqa: BLE001 - the browser may be gone
        pass


@pytest.fixture
def portal(start_whoami, tmp_path):
    """(origin, base, idp, causeway): the contract's configuration on a free port, live."""
    upstream = start_whoami(name="weather-upstream")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "weather.yaml").write_text(WEATHER_YAML)
    (docs / "orders.json").write_text(json.dumps(ORDERS_DOC))
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    idp = PortalIdp([origin + "/portal"], groups={"bob": ["partners"]})
    cw = None
    try:
        cw = Causeway(dynamic={"portal.yml": portal_yaml(upstream.url, docs, origin + "/portal", idp.issuer)},
                      ports={"web": port})
        try:
            routed(cw, READY)
            wait_until(lambda: curl(origin + "/portal/")[0] in (200, 302), timeout=10, message="the portal")
        except Exception:
            print(cw.output()[-8000:])
            raise
        yield origin, origin + "/portal/", idp, cw
    finally:
        if cw is not None:
            cw.stop()
        idp.stop()


def alice_journey(b, origin, base, idp):
    # Sign in: the portal sends the visitor to the IdP, and back to the catalog.
    seen = signed_in(b, base, idp, "alice")
    assert b.text(by("user-name")) == "Alice Tester"
    assert b.text(by("portal-title")) == "Weather developer portal"
    assert "Everything about our APIs" in b.text(by("portal-description"))
    card = b.text(by("api-card", name=WEATHER))
    assert "Weather API" in card and "Forecasts" in card and "Bronze" in card, card
    # Alice is not in group partners: the partners-only orders API is not listed.
    assert b.count(by("api-card")) == 1
    assert b.count(by("api-card", name=ORDERS)) == 0

    # The page's files are relative to it (assets/...) and need no session.
    assets = b.eval("[...document.querySelectorAll('script[src], link[rel=stylesheet]')].map(e => e.src || e.href)")
    assert len(assets) >= 2 and all(a.startswith(base + "assets/") for a in assets), assets
    for asset in assets:
        status, headers, _ = curl(asset)
        assert status == 200 and headers.get("content-type", "").split("/")[0] in ("text", "application"), \
            (asset, status, headers)

    # Content items: the portal's Markdown page of its own (HTML in it stays text); the weather
    # API's link is on that API's page, not in the catalog.
    assert b.count(by("content-item", name="status-page@file")) == 0
    b.click(by("content-item", name="getting-started@file"))
    b.wait(by("content-body"))
    assert b.text(by("content-body") + " h2") == "Welcome"
    assert b.text(by("content-body") + " strong") == "markdown"
    assert "<script>" in b.text(by("content-body"))
    assert b.count(by("content-body") + " script") == 0
    assert b.eval("window.pwned === undefined") is True

    # The weather API's documentation, read from its YAML document.
    b.click(by("nav-catalog"))
    b.click(by("api-card", name=WEATHER))
    b.wait(by("api-doc"), timeout=15000)
    assert b.text(by("api-title")) == "Weather API"
    link = "document.querySelector(\"[data-testid=content-item][data-name='status-page@file']\").href"
    assert b.eval(link) == "https://status.example.com/"
    assert b.text(by("doc-title")) == "Weather"
    assert b.text(by("api-base-url")) == origin + "/weather"
    assert b.count(by("doc-tag", tag="forecasts")) == 1 and b.count(by("doc-tag", tag="reports")) == 1
    get = by("doc-operation", operation_id="getForecast")
    put = by("doc-operation", operation_id="putReport")
    assert b.text(get + " " + by("op-method")) == "GET"
    assert b.text(get + " " + by("op-path")) == "/forecast"
    assert b.text(get + " " + by("op-summary")) == "Forecast for a city"
    assert b.count(get + " " + by("op-parameter", name="city", **{"in": "query"})) == 1
    assert b.count(get + " " + by("op-response", status="200") + " " + by("schema-property", name="city")) == 1
    assert b.count(put + " " + by("op-request-body") + " " + by("schema-property", name="temperature")) == 1
    offer = by("offer", catalog_item=PUBLIC)
    assert "Bronze" in b.text(offer) and "3 requests per 1h" in b.text(offer)

    # An application and a key, shown once.
    b.click(by("nav-applications"))
    b.wait(by("create-app-form"))
    b.fill(by("create-app-title"), "Weather dashboard")
    b.click(by("create-app-submit"))
    row = by("app-row", title="Weather dashboard")
    b.wait(row)
    app_id = b.eval(f"document.querySelector(\"{row}\").dataset.appId")
    assert app_id
    # The same title again: the server's 409 in the error banner.
    b.fill(by("create-app-title"), "Weather dashboard")
    b.click(by("create-app-submit"))
    b.wait(by("error-banner", status="409"))
    assert "Weather dashboard" in b.text(by("error-message")), b.text(by("error-message"))
    assert b.count(by("app-row")) == 1

    b.fill(row + " " + by("new-key-title"), "laptop")
    b.click(row + " " + by("new-key-submit"))
    key = b.wait(row + " " + by("shown-once-value")).strip()
    assert key.startswith("cw_") and len(key) >= 32, key
    assert "will not be shown again" in b.text(by("shown-once-note"))
    assert b.count(by("error-banner")) == 0
    b.wait(row + " " + by("key-row"))
    prefix = b.text(row + " " + by("key-prefix"))
    assert key.startswith(prefix) and len(prefix) < len(key), (prefix, key)

    # Subscribe the application to the Bronze plan, on the API's page.
    b.click(by("nav-catalog"))
    b.click(by("api-card", name=WEATHER))
    b.wait(offer + " " + by("subscribe-button"), timeout=15000)
    b.call("select", selector=offer + " " + by("subscribe-app"), value=app_id)
    b.click(offer + " " + by("subscribe-button"))
    b.wait(offer + " " + by("subscribe-done"))
    b.wait(offer + " " + by("offer-subscribed"), text="Weather dashboard")

    # The try-it console: the key created in this page session is already there.
    b.click(get + " " + by("tryit-toggle"))
    b.wait(get + " " + by("tryit-send"))
    assert b.value(get + " " + by("tryit-key")) == key
    assert b.count(get + " " + by("tryit-body")) == 0  # a GET has no body
    b.fill(get + " " + by("tryit-param", name="city"), "Paris")
    assert b.text(get + " " + by("tryit-url")).endswith(origin + "/weather/forecast?city=Paris")
    status, headers, body = send_tryit(b, get, expect=200)
    assert status == 200, body
    assert "Name: weather-upstream" in body, body
    assert "GET /weather/forecast?city=Paris HTTP/1.1" in body, body
    assert f"X-Api-Application: {app_id}" in body, body
    assert key not in body  # the api middleware keeps the key from the upstream
    # The PUT's console has a body, started from the schema.
    b.click(put + " " + by("tryit-toggle"))
    assert '"city"' in b.value(put + " " + by("tryit-body"))

    # The same key with curl: the quota (3 an hour) counts the console's call too.
    status, _, body = api_call(origin, key)
    assert status == 200 and b"GET /weather/forecast?city=Lyon" in body, body
    assert api_call(origin, key)[0] == 200
    status, hdrs, body = api_call(origin, key)
    assert status == 429, body
    assert 1200 <= int(hdrs["retry-after"]) <= 4800, hdrs  # a third of the sliding hour
    # ...and the console shows the 429 too.
    status, headers, _ = send_tryit(b, get)
    assert status == 429
    assert "retry-after" in headers.lower(), headers

    # A reload: the key itself is nowhere (only its prefix), not even in the console.
    b.goto("about:blank")
    b.goto(base + "#/applications")
    b.wait(row + " " + by("key-row"), timeout=15000)
    assert b.text(row + " " + by("key-prefix")) == prefix
    assert b.count(by("shown-once-key")) == 0
    assert key not in b.eval("document.documentElement.outerHTML")
    stored = b.eval("JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage), document.cookie])")
    assert key not in stored
    b.click(by("nav-catalog"))
    b.click(by("api-card", name=WEATHER))
    b.wait(get + " " + by("tryit-toggle"), timeout=15000)
    b.click(get + " " + by("tryit-toggle"))
    assert b.value(get + " " + by("tryit-key")) == ""

    # Revoke the key in the page: curl gets 401.
    b.click(by("nav-applications"))
    b.wait(row + " " + by("key-revoke"))
    b.click(row + " " + by("key-revoke"))
    b.click(row + " " + by("confirm-yes"))
    b.wait(row + " " + by("no-keys"))
    assert b.count(by("error-banner")) == 0
    status, _, body = eventually(origin, key, 401)
    assert key.encode() not in body

    # Rotate in the page: the new key is shown once and known (the subscription's quota is
    # spent: 429), the old one is refused (401). Then Unsubscribe (403: no plan covers the
    # API) and Delete (401).
    b.fill(row + " " + by("new-key-title"), "ci")
    b.click(row + " " + by("new-key-submit"))
    old = b.wait(row + " " + by("shown-once-value")).strip()
    b.click(row + " " + by("shown-once-dismiss"))
    b.click(row + " " + by("key-rotate"))
    b.click(row + " " + by("confirm-yes"))
    b.wait(row + " " + by("shown-once-key"), text="rotated")
    new = b.text(row + " " + by("shown-once-value")).strip()
    assert new.startswith("cw_") and new != old, (old, new)
    assert b.count(row + " " + by("key-row")) == 1
    assert new.startswith(b.text(row + " " + by("key-prefix")))
    eventually(origin, new, 429)
    eventually(origin, old, 401)
    b.click(row + " " + by("unsubscribe"))
    b.click(row + " " + by("confirm-yes"))
    b.wait(row + " " + by("no-subscriptions"))
    eventually(origin, new, 403)
    b.click(row + " " + by("delete-app"))
    b.click(row + " " + by("confirm-yes"))
    b.wait(by("no-apps"))
    eventually(origin, new, 401)
    assert b.count(by("error-banner")) == 0

    errors = page_errors(b, seen)
    assert errors == [], errors

    # Sign out: the session ends here and at the IdP (its end_session page); the portal then
    # sends the browser to log in again.
    b.click(by("sign-out"))
    wait_until(lambda: b.call("url").startswith(idp.issuer), timeout=15, message="at the IdP's end_session")
    if b.count("button[name=logout]"):
        b.click("button[name=logout]")
        wait_until(lambda: b.count("button[name=logout]") == 0, timeout=15, message="the IdP's logout done")
    b.goto(base)
    assert b.call("url").startswith(idp.issuer), b.call("url")
    b.wait("input[name=login]", timeout=15000)  # the IdP's session ended too
    assert PortalClient(base, b.call("cookies")).get("me").status != 200


def bob_journey(b, base, idp):
    # Bob is in group partners: he sees the orders API too, with its Gold plan.
    seen = signed_in(b, base, idp, "bob")
    assert b.text(by("user-name")) == "Bob Tester"
    b.wait(by("api-card", name=ORDERS))
    assert "Gold" in b.text(by("api-card", name=ORDERS))
    assert b.count(by("api-card")) == 2
    errors = page_errors(b, seen)
    assert errors == [], errors


def test_portal_journey_in_a_browser(portal):
    origin, base, idp, cw = portal
    for name, journey in (("alice", lambda b: alice_journey(b, origin, base, idp)),
                          ("bob", lambda b: bob_journey(b, base, idp))):
        with Browser() as b:
            try:
                journey(b)
            except Exception:
                shot(b, name)
                print(f"{name}'s journey failed at {b.call('url')}")
                print(cw.output()[-8000:])
                print(idp.output()[-3000:])
                raise
