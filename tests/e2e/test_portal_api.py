"""The developer portal's JSON API end to end (issue 21; /work/notes/portal-contract.md), against
the real binary: users sign in through the npm `oidc-provider` IdP (node/oidc_idp.mjs, client
`portal`) with Chromium, then the tests drive `<portal>/portal-api/...` with the browser's
cookies (portal_kit.PortalClient): who the user is, the catalog each one's groups allow, the
API documents (YAML served as JSON), applications, keys shown once, subscriptions, and what the
`api` middleware does with those keys (the upstream sees the application; quota → 429; a
revoked, rotated-out or deleted application's key → 401). Bad input gets a JSON 4xx and changes
nothing. Two instances share portal state and quotas through a real redis-server, which also
keeps it across a restart. The admin export (api@internal) is a file-provider file whose keys
still work in a causeway without the portal. `causeway check` names missing references of
catalog items and portals with file and line."""
import hashlib
import json
import time

import pytest
import yaml

from browser import Browser
from admin_env import api_get
from harness import Causeway, Whoami, curl, free_port, routed, to_yaml, wait_until, whoami_echo, header_values
from mwkit import READY, lb
from portal_kit import (ORDERS, PARTNERS, PUBLIC, WEATHER, PortalIdp, needs_idp_and_chromium, portal_oidc, quote,
                        sign_in)
import redis_peer
from redis_peer import needs_redis
from test_api_management import check, checked_file, errors_of, position

start_redis = redis_peer.start_redis  # the fixture

pytestmark = needs_idp_and_chromium

API_HOST = "api.test"        # router publishing API weather
ORDERS_HOST = "orders.test"  # router publishing API orders

WEATHER_YAML = """\
# The weather API's contract, in YAML: the portal serves it as JSON.
openapi: 3.0.3
info:
  title: Weather
  version: "2.0.0"
  description: |
    Forecasts for a city.
    Two lines.
paths:
  /forecast:
    get:
      summary: Forecast for a city
      parameters:
        - {name: city, in: query, required: true, schema: {type: string, maxLength: 64}}
      responses:
        "200": {description: ok}
"""

ORDERS_DOC = {"openapi": "3.0.3", "info": {"title": "Orders", "version": "1"},
              "paths": {"/orders": {"get": {"responses": {"200": {"description": "ok"}}},
                                    "post": {"responses": {"201": {"description": "created"}}}}}}

BRONZE = {"title": "Bronze", "rateLimit": {"limit": 100, "period": "1s"}, "quota": {"limit": 3, "period": "1h"}}
GOLD = {"title": "Gold", "description": "For partners", "rateLimit": {"limit": 100, "period": "1s"}}


# ---------------------------------------------------------------------------------------
# Configuration

def base_http(upstream, portal=True):
    routers = {"sentinel": {"rule": f"Host(`{READY}`)", "service": "up"},
               "weather": {"rule": f"Host(`{API_HOST}`)", "service": "up", "middlewares": ["weather-api"]},
               "orders": {"rule": f"Host(`{ORDERS_HOST}`)", "service": "up", "middlewares": ["orders-api"]}}
    if portal:
        routers["portal"] = {"rule": "PathPrefix(`/portal`)", "service": "apiportal@internal"}
    return {"routers": routers,
            "middlewares": {"weather-api": {"api": {"name": "weather"}}, "orders-api": {"api": {"name": "orders"}}},
            "services": {"up": lb(upstream)}}


def base_apis(docs):
    """APIs, the default APIAuth and the plans: what a causeway needs to enforce exported keys."""
    return {
        "apis": {"weather": {"title": "Weather API", "description": "Forecasts",
                             "openApiSpec": {"file": str(docs / "weather.yaml")}},
                 "orders": {"title": "Orders API", "description": "Orders of our partners",
                            "openApiSpec": {"file": str(docs / "orders.json"),
                                            "operationSets": [{"name": "reads", "matchers": [{"methods": ["GET"]}]}]}},
                 # In no catalog item: nobody sees it in the portal.
                 "internal": {"title": "Internal API", "openApiSpec": {"file": str(docs / "orders.json")}}},
        "apiAuths": {"keys": {"isDefault": True, "apiKey": {}}},
        "apiPlans": {"bronze": BRONZE, "gold": GOLD},
    }


def portal_config(upstream, docs, portal_url, issuer, store=None):
    am = base_apis(docs)
    am.update({
        "apiCatalogItems": {
            "public-weather": {"everyone": True, "apis": [{"name": "weather"}], "apiPlan": {"name": "bronze"}},
            "partners-only": {"groups": ["partners"], "apis": [{"name": "orders"}], "apiPlan": {"name": "gold"},
                              "operationFilter": {"include": ["reads"]}}},
        "apiPortals": {"devportal": {"title": "Weather developer portal", "description": "Everything about our APIs",
                                     "trustedUrls": [portal_url], "ui": {"logoUrl": ""},
                                     "auth": {"name": "portal-oidc"}}},
        "apiPortalAuths": {"portal-oidc": {"oidc": portal_oidc(issuer)}},
        "contentItems": {
            "getting-started": {"title": "Getting started", "content": "# Welcome\nSome **markdown**", "order": 2,
                                "parentRef": {"kind": "APIPortal", "name": "devportal"}},
            "status-page": {"title": "Status", "link": {"href": "https://status.example.com"}, "order": 1,
                            "parentRef": {"kind": "API", "name": "weather"}},
            "orders-guide": {"title": "Orders guide", "content": "Partners only",
                             "parentRef": {"kind": "API", "name": "orders"}}},
    })
    if store:
        am["store"] = store
    return to_yaml({"http": base_http(upstream), "apiManagement": am}) + "\n"


def write_docs(directory):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "weather.yaml").write_text(WEATHER_YAML)
    (directory / "orders.json").write_text(json.dumps(ORDERS_DOC))
    return directory


def start_portal(upstream, docs, port, issuer, store=None, **kwargs):
    """A causeway serving the portal at http://127.0.0.1:<port>/portal, once it is live."""
    portal_url = f"http://127.0.0.1:{port}/portal"
    cw = Causeway(dynamic={"portal.yml": portal_config(upstream, docs, portal_url, issuer, store)},
                  ports={"web": port, **kwargs.pop("ports", {})}, **kwargs)
    try:
        routed(cw, READY)
        # The portal answers (a visitor without a session is sent to sign in).
        wait_until(lambda: curl(cw.url("web", "/portal/"))[0] in (200, 302), timeout=10, message="the portal")
    except Exception:
        print(cw.output()[-4000:])
        cw.stop()
        raise
    return cw


# ---------------------------------------------------------------------------------------
# Calls to the APIs with a key

def call(cw, key, host=API_HOST, path="/forecast", method=None):
    hdrs = [f"Authorization: Bearer {key}"] if key is not None else []
    return curl(cw.url("web", path), host=host, method=method, headers=hdrs)


def eventually(cw, key, status, timeout=3.0, host=API_HOST, method=None):
    """Calls until the API answers `status` (a change made in the portal may take a moment to
    reach the gateway); returns (status, headers, body) of that answer."""
    last = []

    def attempt():
        last[:] = [call(cw, key, host=host, method=method)]
        return last[0][0] == status

    try:
        wait_until(attempt, timeout=timeout, interval=0.1, message=f"{host} answering {status}")
    except TimeoutError:
        raise AssertionError(f"{host} with key {key[:10]}...: expected {status}, last {last[0][0]} "
                             f"{last[0][2][:300]!r}") from None
    return last[0]


def upstream_application(body):
    return header_values(whoami_echo(body)[1], "X-Api-Application")


def limits(block):
    """(limit, period) of an offer's rateLimit or quota (more fields, such as bucket, may follow)."""
    return block["limit"], block["period"]


def json_error(r, status):
    """A 4xx answer of the portal API: the status, a JSON content type and {"error": "..."}."""
    assert r.status == status, r
    assert r.headers.get("content-type", "").startswith("application/json"), r
    return r.error()


# ---------------------------------------------------------------------------------------
# One portal for the JSON API tests: alice (groups: staff) and bob (groups: partners)

class Site:
    pass


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    s = Site()
    docs = write_docs(tmp_path_factory.mktemp("portal-docs"))
    port = free_port()
    s.portal = f"http://127.0.0.1:{port}/portal"
    started = []
    try:
        s.whoami = Whoami(name="api-upstream")
        started.append(s.whoami)
        s.idp = PortalIdp([s.portal], groups={"bob": ["partners"]})
        started.append(s.idp)
        s.cw = start_portal(s.whoami.url, docs, port, s.idp.issuer, entrypoints=("web", "traefik"),
                            static_extra="api:\n  insecure: true\n")
        started.append(s.cw)
        s.docs = docs
        with Browser() as b:
            s.alice = sign_in(s.portal, s.idp, "alice", browser=b)
        with Browser() as b:
            s.bob = sign_in(s.portal, s.idp, "bob", browser=b)
        yield s
    finally:
        for p in reversed(started):
            p.stop()


def test_me_catalog_and_documents(site):
    alice, bob = site.alice, site.bob
    me = alice.me()
    assert me["user"]["id"] == "alice" and me["user"]["email"] == "alice@example.com", me
    assert me["user"]["name"] == "Alice Tester", me  # firstname, lastname claims
    assert "staff" in me["user"]["groups"] and "partners" not in me["user"]["groups"], me
    expected = {"name": "devportal@file", "title": "Weather developer portal",
                "description": "Everything about our APIs", "logoUrl": ""}
    assert {k: me["portal"].get(k) for k in expected} == expected, me
    assert {k: me["csrf"].get(k) for k in ("cookie", "header")} == \
        {"cookie": "hub-csrf-token", "header": "Hub-Csrf-Token"}, me
    assert bob.me()["user"]["id"] == "bob" and "partners" in bob.me()["user"]["groups"]

    # The catalog: weather (everyone) for alice; weather and orders (group partners) for bob.
    # Nobody sees `internal`, which no catalog item lists.
    catalog = alice.catalog()
    assert [a["name"] for a in catalog["apis"]] == [WEATHER], catalog
    weather = catalog["apis"][0]
    assert (weather["title"], weather["description"], weather["hasDocument"]) == ("Weather API", "Forecasts", True)
    assert len(weather["offers"]) == 1, weather
    offer = weather["offers"][0]
    assert (offer["catalogItem"], offer["plan"], offer["planTitle"]) == (PUBLIC, "bronze@file", "Bronze"), offer
    assert limits(offer["rateLimit"]) == (100, "1s") and limits(offer["quota"]) == (3, "1h"), offer
    assert offer["operationSets"] == [], offer
    # The portal's pages and those of the APIs alice sees (not the orders API's), by `order`.
    assert [c["name"] for c in catalog["content"]] == ["status-page@file", "getting-started@file"], catalog
    content = {c["name"]: c for c in catalog["content"]}
    assert content["getting-started@file"]["title"] == "Getting started", content
    assert content["getting-started@file"]["content"] == "# Welcome\nSome **markdown**", content
    assert content["getting-started@file"]["parent"] == {"kind": "APIPortal", "name": "devportal@file"}, content
    assert content["status-page@file"]["link"] == "https://status.example.com", content
    assert content["status-page@file"]["apis"] == [WEATHER], content

    apis = {a["name"]: a for a in bob.catalog()["apis"]}
    assert sorted(apis) == [ORDERS, WEATHER], apis
    offer = apis[ORDERS]["offers"][0]
    assert (offer["catalogItem"], offer["plan"], offer["planTitle"]) == (PARTNERS, "gold@file", "Gold"), offer
    assert offer["planDescription"] == "For partners" and offer["quota"] is None, offer
    assert "reads" in json.dumps(offer["operationSets"]), offer

    # Documents: YAML served as JSON; none for an API outside the user's catalog.
    r = alice.get(f"apis/{quote(WEATHER)}/openapi")
    assert r.status == 200 and r.headers.get("content-type", "").startswith("application/json"), r
    assert r.json == yaml.safe_load(WEATHER_YAML), r
    assert bob.get(f"apis/{quote(ORDERS)}/openapi").json == ORDERS_DOC
    json_error(alice.get(f"apis/{quote(ORDERS)}/openapi"), 404)
    for client in (alice, bob):
        json_error(client.get(f"apis/{quote('internal@file')}/openapi"), 404)
        json_error(client.get(f"apis/{quote('nosuch@file')}/openapi"), 404)


def test_applications_keys_subscriptions_and_calls(site):
    alice, cw = site.alice, site.cw
    before = time.time()
    app = alice.create_application("Weather dashboard")
    app_id = app["appId"]
    assert isinstance(app_id, str) and app_id, app
    assert (app["title"], app["managed"], app["keys"], app["subscriptions"]) == ("Weather dashboard", False, [], []), app
    assert before - 5 <= app["createdAt"] <= time.time() + 5, app
    assert [a for a in alice.applications() if a["appId"] == app_id] == [app]

    s = alice.subscribe(app_id, PUBLIC)
    assert (s["catalogItem"], s["plan"], s["apis"]) == (PUBLIC, "bronze@file", [WEATHER]), s
    json_error(alice.post(f"applications/{app_id}/subscriptions", {"catalogItem": PUBLIC}), 409)

    created = alice.create_key(app_id, "laptop")
    key = created["key"]
    assert created["title"] == "laptop" and created["id"] and created["prefix"].startswith("cw_"), created
    assert key.startswith(created["prefix"]) and len(key) >= 32, created
    # The key is shown once: the list has its prefix only.
    r = alice.get("applications")
    assert key.encode() not in r.body, r
    listed = next(a for a in r.json["applications"] if a["appId"] == app_id)
    assert len(listed["keys"]) == 1 and "key" not in listed["keys"][0], listed
    assert {k: listed["keys"][0].get(k) for k in ("id", "title", "prefix", "createdAt")} == \
        {k: created[k] for k in ("id", "title", "prefix", "createdAt")}, (listed, created)
    assert [(x["catalogItem"], x["plan"]) for x in listed["subscriptions"]] == [(PUBLIC, "bronze@file")], listed

    # The key calls the API through causeway: the upstream sees the application; the plan's
    # quota (3 an hour) is counted.
    status, headers, body = eventually(cw, key, 200)
    assert upstream_application(body) == [app_id], body
    assert key.encode() not in body
    assert [call(cw, key)[0] for _ in range(2)] == [200, 200]
    status, headers, body = call(cw, key)
    assert status == 429, body
    # The quota is a sliding window: the three calls must slide a third of the way out (at least
    # 20 min after the fixed window they fall in ends), whenever in that window they came.
    assert 1200 <= int(headers["retry-after"]) <= 4800, headers
    assert call(cw, key, host=ORDERS_HOST)[0] == 403  # no subscription covers orders

    # Revoked: 401 (the key is unknown, whatever its quota).
    r = alice.delete(f"applications/{app_id}/keys/{created['id']}")
    assert r.status == 204, r
    eventually(cw, key, 401)
    assert next(a for a in alice.applications() if a["appId"] == app_id)["keys"] == []

    # Rotation: a new key, the old one revoked.
    other = alice.create_application("Mobile app")
    alice.subscribe(other["appId"], PUBLIC)
    old = alice.create_key(other["appId"], "phone")
    eventually(cw, old["key"], 200)
    r = alice.post(f"applications/{other['appId']}/keys/{old['id']}/rotate", {})
    assert r.status == 201, r
    new = r.json
    assert new["key"] != old["key"] and new["key"].startswith(new["prefix"]), new
    status, _, body = eventually(cw, new["key"], 200)
    assert upstream_application(body) == [other["appId"]]
    eventually(cw, old["key"], 401)
    keys = next(a for a in alice.applications() if a["appId"] == other["appId"])["keys"]
    assert [k["prefix"] for k in keys] == [new["prefix"]], keys

    # The subscription ends: the key is known, but covers nothing (403); then the
    # application is deleted: its key is unknown (401).
    r = alice.delete(f"applications/{other['appId']}/subscriptions/{quote(PUBLIC)}")
    assert r.status == 204, r
    eventually(cw, new["key"], 403)
    assert next(a for a in alice.applications() if a["appId"] == other["appId"])["subscriptions"] == []
    r = alice.delete(f"applications/{other['appId']}")
    assert r.status == 204, r
    eventually(cw, new["key"], 401)
    assert other["appId"] not in [a["appId"] for a in alice.applications()]


def test_partners_item_covers_its_operations_only(site):
    bob, cw = site.bob, site.cw
    app = bob.create_application("Partner shop")
    s = bob.subscribe(app["appId"], PARTNERS)
    assert (s["catalogItem"], s["plan"], s["apis"]) == (PARTNERS, "gold@file", [ORDERS]), s
    key = bob.create_key(app["appId"])["key"]
    status, _, body = eventually(cw, key, 200, host=ORDERS_HOST)
    assert upstream_application(body) == [app["appId"]]
    assert call(cw, key, host=ORDERS_HOST, method="POST")[0] == 403  # operationFilter: reads only
    assert call(cw, key, host=API_HOST)[0] == 403                    # not subscribed to weather


def test_bad_input_is_refused_and_changes_nothing(site):
    alice, bob = site.alice, site.bob
    mine = alice.create_application("Bad input app")
    theirs = bob.create_application("Bob's app")
    bob.subscribe(theirs["appId"], PUBLIC)
    bob_key = bob.create_key(theirs["appId"], "bob-key")
    alice_before, bob_before = alice.applications(), bob.applications()

    # CSRF: no header, a forged one, on each method other than GET.
    forged = alice.csrf_token[:-2] + ("xy" if not alice.csrf_token.endswith("xy") else "zw")
    for csrf in (False, forged):
        json_error(alice.post("applications", {"title": "Forged"}, csrf=csrf), 403)
        json_error(alice.post(f"applications/{mine['appId']}/keys", {"title": "forged"}, csrf=csrf), 403)
        json_error(alice.post(f"applications/{mine['appId']}/subscriptions", {"catalogItem": PUBLIC}, csrf=csrf), 403)
        json_error(alice.delete(f"applications/{mine['appId']}", csrf=csrf), 403)
    # Another user's CSRF token is no token for alice.
    json_error(alice.post("applications", {"title": "Forged"}, csrf=bob.csrf_token), 403)
    # No session: nothing happens.
    r = alice.post("applications", {"title": "Anonymous"}, cookies=[])
    assert r.status in (401, 403), r
    r.error()  # a JSON error too
    r = alice.get("me", cookies=[])
    assert r.status in (302, 401) and b"alice" not in r.body, r
    assert alice.applications() == alice_before

    # Bad bodies.
    json_error(alice.post("applications", raw=b'{"title": "Unclosed'), 400)
    json_error(alice.post("applications", raw=b"title=Form"), 400)
    json_error(alice.post("applications", {"title": ""}), 400)
    json_error(alice.post("applications", {"title": "x" * 101}), 400)
    json_error(alice.post(f"applications/{mine['appId']}/keys", raw=b"{nope"), 400)
    json_error(alice.post(f"applications/{mine['appId']}/subscriptions", raw=b"[}"), 400)
    assert alice.applications() == alice_before

    # The same form posted twice: one application.
    twice = alice.create_application("Posted twice")
    json_error(alice.post("applications", {"title": "Posted twice"}), 409)
    apps = alice.applications()
    assert [a["title"] for a in apps].count("Posted twice") == 1, apps
    assert [a for a in apps if a["appId"] != twice["appId"]] == alice_before
    # 100 characters is still a title; another user may use the same title.
    longest = alice.create_application("y" * 100)
    assert bob.create_application("Posted twice")["title"] == "Posted twice"
    bob_before = bob.applications()
    alice_before = alice.applications()
    assert len(alice_before) == len(apps) + 1 and longest["appId"] in [a["appId"] for a in alice_before]

    # A catalog item alice cannot see (a group's), or that does not exist.
    for item in (PARTNERS, "nosuch@file"):
        r = alice.post(f"applications/{mine['appId']}/subscriptions", {"catalogItem": item})
        assert r.status in (403, 404), r
        r.error()
    # Another user's application, key or subscription: as if it did not exist.
    bob_app = theirs["appId"]
    for r in (alice.post(f"applications/{bob_app}/keys", {"title": "stolen"}),
              alice.post(f"applications/{bob_app}/subscriptions", {"catalogItem": PUBLIC}),
              alice.post(f"applications/{bob_app}/keys/{bob_key['id']}/rotate", {}),
              alice.delete(f"applications/{bob_app}/keys/{bob_key['id']}"),
              alice.delete(f"applications/{bob_app}/subscriptions/{quote(PUBLIC)}"),
              alice.delete(f"applications/{bob_app}")):
        json_error(r, 404)
    # Unknown applications and keys.
    for r in (alice.post("applications/no-such-app/keys", {"title": "k"}),
              alice.post("applications/no-such-app/subscriptions", {"catalogItem": PUBLIC}),
              alice.delete("applications/no-such-app"),
              alice.delete(f"applications/{mine['appId']}/keys/no-such-key"),
              alice.post(f"applications/{mine['appId']}/keys/no-such-key/rotate", {})):
        json_error(r, 404)

    assert alice.applications() == alice_before
    assert bob.applications() == bob_before
    assert eventually(site.cw, bob_key["key"], 200)  # bob's key is untouched


# ---------------------------------------------------------------------------------------
# Admin export: a file-provider file, whose keys work in a causeway without the portal

def test_admin_export_is_a_working_file_provider_file(site, start_causeway):
    alice, cw = site.alice, site.cw
    app = alice.create_application("Exported app")
    alice.subscribe(app["appId"], PUBLIC)
    key = alice.create_key(app["appId"], "ci")["key"]
    revoked = alice.create_key(app["appId"], "gone")
    assert alice.delete(f"applications/{app['appId']}/keys/{revoked['id']}").status == 204
    eventually(cw, key, 200)
    # bob's subscription through the partners' item covers its operation set only (reads).
    partner = site.bob.create_application("Exported partner app")
    site.bob.subscribe(partner["appId"], PARTNERS)
    partner_key = site.bob.create_key(partner["appId"], "ci")["key"]
    eventually(cw, partner_key, 200, host=ORDERS_HOST)

    status, headers, body = curl(cw.url("traefik", "/api/apimanagement/portal/export"))
    assert status == 200, body
    assert headers.get("content-type", "").startswith("application/yaml"), headers
    text = body.decode()
    assert key not in text and revoked["key"] not in text
    doc = yaml.safe_load(text)
    am = doc["apiManagement"]
    digest = hashlib.sha256(key.encode()).hexdigest()
    mine = {name: a for name, a in am["managedApplications"].items()
            if any(str(k.get("sha256", "")).lower() == digest for k in a.get("apiKeys") or [])}
    assert len(mine) == 1, text
    name, exported = next(iter(mine.items()))
    assert exported.get("appId", name) == app["appId"], exported
    assert all(set(k) <= {"sha256", "title", "suspended"} and "value" not in k for k in exported["apiKeys"]), exported
    gone = hashlib.sha256(revoked["key"].encode()).hexdigest()
    assert gone not in text or any(k.get("sha256", "").lower() == gone and k.get("suspended")
                                   for k in exported["apiKeys"]), exported
    subs = [s for s in am["managedSubscriptions"].values()
            if name in [a["name"].split("@")[0] for a in s["managedApplications"]]]
    assert len(subs) == 1, text
    assert subs[0]["apiPlan"]["name"].split("@")[0] == "bronze", subs
    assert [a["name"].split("@")[0] for a in subs[0]["apis"]] == ["weather"], subs
    # Every user's applications are in the export (bob's partner app from other tests or not,
    # at least alice's and the subscription above): nothing of a session or a raw key.
    assert "hub-csrf-token" not in text

    # GitOps: the export as a file beside the APIs and plans, in a causeway without the
    # portal and without its store.
    docs = site.docs
    fresh = start_causeway(dynamic={
        "apis.yml": to_yaml({"http": base_http(site.whoami.url, portal=False), "apiManagement": base_apis(docs)}) + "\n",
        "portal-export.yml": text}, entrypoints=("web", "traefik"), static_extra="api:\n  insecure: true\n")
    routed(fresh, READY)
    status, _, body = eventually(fresh, key, 200, timeout=5)
    assert upstream_application(body) == [app["appId"]], body
    assert call(fresh, revoked["key"])[0] in (401, 403)
    # The exported subscription is no wider than the portal's: reads of orders only.
    status, _, body = eventually(fresh, partner_key, 200, host=ORDERS_HOST)
    assert upstream_application(body) == [partner["appId"]], body
    assert call(fresh, partner_key, host=ORDERS_HOST, method="POST")[0] == 403
    assert call(fresh, partner_key, host=API_HOST)[0] == 403
    assert call(fresh, "cw_not-a-key")[0] == 401
    # Every exported resource is valid there.
    for kind in ("managedApplications", "managedSubscriptions"):
        status, _, listed = api_get(fresh, f"/api/apimanagement/{kind}")
        assert status == 200 and listed, (kind, listed)
        assert all(x["status"] == "enabled" for x in listed), (kind, listed)


# ---------------------------------------------------------------------------------------
# Two instances sharing a real redis-server; a restart

@needs_redis
def test_two_instances_share_portal_state_in_redis(start_redis, tmp_path):
    redis = start_redis()
    store = {"redis": {"endpoints": [f"127.0.0.1:{redis.port}"], "timeout": "1s"}, "keyPrefix": "cw:"}
    docs = write_docs(tmp_path / "docs")
    port_a, port_b = free_port(), free_port()
    started = []
    try:
        w = Whoami(name="api-upstream")
        started.append(w)
        idp = PortalIdp([f"http://127.0.0.1:{port_a}/portal"])
        started.append(idp)
        a = start_portal(w.url, docs, port_a, idp.issuer, store)
        started.append(a)
        b = start_portal(w.url, docs, port_b, idp.issuer, store)  # its own portal address, never signed in to
        started.append(b)
        alice = sign_in(f"http://127.0.0.1:{port_a}/portal", idp, "alice")

        app = alice.create_application("Shared app")
        alice.subscribe(app["appId"], PUBLIC)
        key = alice.create_key(app["appId"])["key"]
        # Created on A, accepted by B within a few seconds.
        t0 = time.time()
        status, _, body = eventually(b, key, 200, timeout=5)
        took = time.time() - t0
        assert upstream_application(body) == [app["appId"]], body
        # One quota (3 an hour) for both: B 1, A 2, B 3, then refused on both.
        got = [call(x, key)[0] for x in (a, b, a, b)]
        assert got == [200, 200, 429, 429], got
        assert all(k.startswith("cw:") for k in redis.command("KEYS", "*")), redis.command("KEYS", "*")
        assert not any(key in k for k in redis.command("KEYS", "*"))

        # A survivor for the restart, then a revoke on A seen by B.
        survivor = alice.create_application("Survivor")
        alice.subscribe(survivor["appId"], PUBLIC)
        kept = alice.create_key(survivor["appId"])["key"]
        eventually(b, kept, 200, timeout=5)
        key_id = next(x for x in alice.applications() if x["appId"] == app["appId"])["keys"][0]["id"]
        assert alice.delete(f"applications/{app['appId']}/keys/{key_id}").status == 204
        eventually(b, key, 401, timeout=5)

        # A restarts: the keys are still there (in Redis), and so is the revocation.
        a.stop()
        started.remove(a)
        a = start_portal(w.url, docs, port_a, idp.issuer, store)
        started.append(a)
        status, _, body = eventually(a, kept, 200, timeout=5)
        assert upstream_application(body) == [survivor["appId"]]
        assert call(a, key)[0] == 401
        # ... and the quota counted before the restart: 1 on B + 1 on A so far, 1 left.
        assert [call(a, kept)[0], call(b, kept)[0]] == [200, 429]
        print(f"key seen by the other instance after {took:.2f}s")
    finally:
        for p in reversed(started):
            p.stop()


# ---------------------------------------------------------------------------------------
# causeway check

CHECKED = checked_file("""\
  apiPlans:
    bronze: {quota: {limit: 3, period: 1h}}
  apiCatalogItems:
    good-item: {everyone: true, apis: [{name: weather}], apiPlan: {name: bronze}}
    no-plan: {everyone: true, apis: [{name: weather}], apiPlan: {name: gold}}
    no-api: {groups: [partners], apis: [{name: nowhere}], apiPlan: {name: bronze}}
  apiPortals:
    devportal: {title: Dev, trustedUrls: ["http://127.0.0.1:1/portal"], auth: {name: missing-auth}}
""", routers='    portal: {rule: "PathPrefix(`/portal`)", service: apiportal@internal}\n')


def test_check_names_missing_references_of_catalog_items_and_portals(tmp_path):
    code, output, app = check(tmp_path, CHECKED)
    assert code != 0, output
    errors = errors_of(output)

    def reported(marker, token, *words):
        line, _ = position(CHECKED, marker, token)
        found = [e for e in errors if f"{app}:{line}:" in e and all(w in e for w in words)]
        assert found, (marker, token, line, errors)

    reported("no-plan:", "gold", "no-plan@file", "gold@file")
    reported("no-api:", "nowhere", "no-api@file", "nowhere@file")
    reported("devportal:", "missing-auth", "devportal@file", "missing-auth@file")
    assert not [e for e in errors if "good-item" in e], errors
    assert "not supported yet" not in output, output

    # The same file without the broken references passes.
    good = "\n".join(line for line in CHECKED.splitlines() if "no-plan:" not in line and "no-api:" not in line)
    good = good.replace("missing-auth", "portal-oidc") + (
        "\n  apiPortalAuths:\n    portal-oidc: {oidc: {issuerUrl: \"http://127.0.0.1:1\", clientId: portal, "
        "clientSecret: portal-secret}}\n")
    code, output, _ = check(tmp_path, good)
    assert code == 0 and errors_of(output) == [], output
