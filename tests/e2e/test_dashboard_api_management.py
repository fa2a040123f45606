"""The dashboard's API management page (#/apimanagement) and /api/apimanagement/<kind> (reference
docs/api-management.md), in Debian's Chromium through playwright-core: one table per kind (APIs,
plans, applications, subscriptions, bundles, auths, and the developer portal's catalog items,
portals, sign-ins and content items), each resource with its status, the facts of
its kind, who uses it and its errors, filtered by the search and the status; the page follows a
configuration change by itself. Screenshots are saved (see browser.screenshot_dir()).

The configuration (apim.yml): the API `weather` (published by the router `weather` through the
`api` middleware `weather-api`), the default APIAuth `keys`, the plan `basic` (rate limit 2 per
10s per subscription, quota 3 per hour per application), the applications `billing` (two keys,
one suspended) and `mobile` (one key), the subscription `billing-basic` (billing → weather on
basic, weight 5) and `mobile-gold` (mobile → weather on the plan `gold`, which does not exist:
disabled, with the error at the reference's file and line). No bundle. The router's service is
on a closed port: no request is made.
"""
import re

import pytest

from admin_env import api_get
from browser import dashboard, no_errors, screenshot_dir
from harness import Causeway, free_port, to_yaml, wait_until

MISSING_PLAN = 'apiPlans "gold@file" does not exist'


def dynamic_config(dead_port, plans=None):
    """apim.yml; `plans` replaces the plans (the test adds `gold` at the end)."""
    http = {
        "routers": {"weather": {"rule": "Host(`weather.test`)", "entryPoints": ["web"], "service": "app",
                                "middlewares": ["weather-api"]}},
        "middlewares": {"weather-api": {"api": {"name": "weather"}}},
        "services": {"app": {"loadBalancer": {"servers": [{"url": f"http://127.0.0.1:{dead_port}"}]}}},
    }
    api_management = {
        "apis": {"weather": {"title": "Weather API", "description": "Forecasts by city"}},
        "apiAuths": {"keys": {"isDefault": True, "apiKey": {}}},
        "apiPlans": plans or {"basic": {"title": "Basic", "rateLimit": {"limit": 2, "period": "10s"},
                                        "quota": {"limit": 3, "period": "1h", "bucket": "application"}}},
        "managedApplications": {
            "billing": {"appId": "billing-app", "owner": "alice", "apiKeys": [
                {"title": "current", "value": "billing-key-1"},
                {"title": "leaked", "value": "billing-key-0", "suspended": True},
            ]},
            "mobile": {"appId": "mobile-app", "owner": "bob", "apiKeys": [{"title": "phone", "value": "mobile-key-1"}]},
        },
        "managedSubscriptions": {
            "billing-basic": {"managedApplications": [{"name": "billing"}], "apis": [{"name": "weather"}],
                              "apiPlan": {"name": "basic"}, "weight": 5},
            "mobile-gold": {"managedApplications": [{"name": "mobile"}], "apis": [{"name": "weather"}],
                            "apiPlan": {"name": "gold"}},
        },
        # The developer portal's resources (never signed in to here: the issuer is a closed port).
        "apiCatalogItems": {"partners-weather": {"groups": ["partners"], "apis": [{"name": "weather"}],
                                                 "apiPlan": {"name": "basic"}}},
        "apiPortals": {"devportal": {"title": "Weather developers", "trustedUrls": ["http://portal.test/"],
                                     "auth": {"name": "sso"}}},
        "apiPortalAuths": {"sso": {"oidc": {"issuerUrl": f"http://127.0.0.1:{dead_port}", "clientId": "portal",
                                            "clientSecret": "portal-secret"}}},
        "contentItems": {"start": {"title": "Getting started", "content": "# Hello",
                                   "parentRef": {"kind": "APIPortal", "name": "devportal"}}},
    }
    return to_yaml({"http": http, "apiManagement": api_management}) + "\n"


@pytest.fixture(scope="module")
def setup():
    """(causeway, the closed port of the router's service): the API and dashboard on `traefik`."""
    dead_port = free_port()  # nothing listens there
    cw = Causeway(entrypoints=("web", "traefik"), static_extra="api:\n  insecure: true\n  dashboard: true\n",
                  dynamic={"apim.yml": dynamic_config(dead_port)})
    try:
        wait_until(lambda: len(resources(cw, "managedSubscriptions")) == 2, message="the subscriptions in the API")
        yield cw, dead_port
    finally:
        cw.stop()


def resources(cw, kind, query=""):
    status, _, listed = api_get(cw, f"/api/apimanagement/{kind}{query}")
    assert status == 200, listed
    return listed


def by_name(listed):
    return {r["name"]: r for r in listed}


def resource_row(kind, name):
    """The selector of the API management page's row for the resource `name` of `kind`."""
    return f"[data-testid=resource-row][data-kind={kind}][data-name='{name}']"


def test_api_lists_the_resources_with_their_status_and_errors(setup):
    cw, _ = setup
    subscriptions = by_name(resources(cw, "managedSubscriptions"))
    good, broken = subscriptions["billing-basic@file"], subscriptions["mobile-gold@file"]
    assert good["status"] == "enabled" and "error" not in good, good
    assert good["kind"] == "managedSubscriptions" and good["provider"] == "file", good
    assert good["spec"]["apiPlan"] == {"name": "basic"} and good["spec"]["weight"] == 5, good
    assert broken["status"] == "disabled", broken
    assert len(broken["error"]) == 1 and MISSING_PLAN in broken["error"][0], broken
    assert re.match(r".*apim\.yml:\d+", broken["error"][0]), broken

    apis = resources(cw, "apis")
    assert [a["name"] for a in apis] == ["weather@file"], apis
    assert apis[0]["status"] == "enabled" and apis[0]["spec"]["title"] == "Weather API", apis
    assert "weather-api@file" in apis[0]["usedBy"] and "billing-basic@file" in apis[0]["usedBy"], apis

    plan = by_name(resources(cw, "apiPlans"))["basic@file"]
    assert plan["spec"]["rateLimit"] == {"limit": 2, "period": "10s", "bucket": "subscription"}, plan
    assert plan["spec"]["quota"]["bucket"] == "application" and plan["usedBy"] == ["billing-basic@file", "partners-weather@file"], plan

    # The keys themselves never leave causeway: each shows its title and whether it is suspended.
    billing = by_name(resources(cw, "managedApplications"))["billing@file"]
    assert billing["spec"]["apiKeys"] == [{"title": "current"}, {"title": "leaked", "suspended": True}], billing
    assert billing["spec"]["appId"] == "billing-app" and billing["spec"]["owner"] == "alice", billing

    assert resources(cw, "apiBundles") == []
    # The portal's resources, its client secret redacted.
    portal = by_name(resources(cw, "apiPortals"))["devportal@file"]
    assert portal["status"] == "enabled" and portal["spec"]["trustedUrls"] == ["http://portal.test/"], portal
    auth = by_name(resources(cw, "apiPortalAuths"))["sso@file"]
    assert auth["spec"]["oidc"]["clientSecret"] == "<redacted>" and auth["usedBy"] == ["devportal@file"], auth
    item = by_name(resources(cw, "apiCatalogItems"))["partners-weather@file"]
    assert item["spec"]["groups"] == ["partners"] and item["status"] == "enabled", item
    assert by_name(resources(cw, "contentItems"))["start@file"]["spec"]["title"] == "Getting started"
    # The API's own search and status filter.
    assert [r["name"] for r in resources(cw, "managedSubscriptions", "?status=disabled")] == ["mobile-gold@file"]
    assert [r["name"] for r in resources(cw, "managedApplications", "?search=billing")] == ["billing@file"]


def test_api_management_page_shows_every_kind_and_the_broken_subscription(setup, browser):
    cw, dead_port = setup
    browser.goto(dashboard(cw))
    browser.click("[data-testid=nav-apimanagement]")
    browser.wait("[data-testid=list-managedSubscriptions]")
    assert browser.call("url").endswith("#/apimanagement")
    assert browser.text("h1") == "API management"
    assert browser.count("[data-testid=nav-apimanagement].active") == 1
    # One section per kind (the headings are shown in capitals).
    sections = [t.lower() for t in browser.texts("[data-testid=apimanagement-page] h2")]
    assert sections == ["apis", "versions", "plans", "applications", "subscriptions", "bundles", "auths",
                        "catalog items", "portals", "portal sign-ins", "content items"], sections
    portal = resource_row("apiPortals", "devportal@file")
    browser.wait(portal)
    assert browser.text(portal + " [data-testid=title]") == "Weather developers"
    assert browser.text(portal + " [data-testid=auth]") == "sso"
    item = resource_row("apiCatalogItems", "partners-weather@file")
    assert browser.text(item + " [data-testid=plan]") == "basic"
    assert "partners" in browser.text(item + " [data-testid=shown-to]")
    headers = browser.texts("[data-testid=list-apiPlans] th")
    assert headers == ["Status", "Name", "Title", "Rate limit", "Quota", "Used by"], headers

    # The API: its title, enabled, used by its middleware and its subscriptions.
    api = resource_row("apis", "weather@file")
    browser.wait(api)
    assert browser.text(api + " [data-testid=title]") == "Weather API"
    assert browser.text(api + " [data-testid=description]") == "Forecasts by city"
    assert browser.count(api + " [data-testid=status][data-status=enabled]") == 1
    assert browser.text(api + " [data-testid=status]") == "Success"
    used_by = browser.texts(api + " [data-testid=used-by] .chip")
    assert "weather-api@file" in used_by and "billing-basic@file" in used_by, used_by

    # The plan: "limit / period" and the bucket each counts on.
    plan = resource_row("apiPlans", "basic@file")
    assert browser.text(plan + " [data-testid=title]") == "Basic"
    assert browser.text(plan + " [data-testid=rate-limit] [data-testid=limit]") == "2 / 10s"
    assert browser.text(plan + " [data-testid=rate-limit] [data-testid=bucket]") == "per subscription"
    assert browser.text(plan + " [data-testid=quota] [data-testid=limit]") == "3 / 1h"
    assert browser.text(plan + " [data-testid=quota] [data-testid=bucket]") == "per application"
    assert browser.texts(plan + " [data-testid=used-by] .chip") == ["billing-basic@file", "partners-weather@file"]

    # The applications: appId, owner, their keys and how many are suspended.
    billing = resource_row("managedApplications", "billing@file")
    assert browser.text(billing + " [data-testid=app-id]") == "billing-app"
    assert browser.text(billing + " [data-testid=owner]") == "alice"
    assert browser.text(billing + " [data-testid=keys]") == "2 keys, 1 suspended"
    assert browser.count(billing + " [data-testid=keys][data-keys='2'][data-suspended='1']") == 1
    mobile = resource_row("managedApplications", "mobile@file")
    assert browser.text(mobile + " [data-testid=app-id]") == "mobile-app"
    assert browser.text(mobile + " [data-testid=owner]") == "bob"
    assert browser.text(mobile + " [data-testid=keys]") == "1 key"

    # The good subscription: billing → weather on basic, weight 5.
    good = resource_row("managedSubscriptions", "billing-basic@file")
    assert browser.count(good + " [data-testid=status][data-status=enabled]") == 1
    assert browser.texts(good + " [data-testid=applications] .chip") == ["billing"]
    assert browser.texts(good + " [data-testid=apis] .chip") == ["weather"]
    assert browser.text(good + " [data-testid=plan]") == "basic"
    assert browser.text(good + " [data-testid=weight]") == "5"
    assert browser.count("[data-testid=resource-error][data-name='billing-basic@file']") == 0

    # The subscription to a plan that does not exist: disabled, the error (file and line) below it.
    broken = resource_row("managedSubscriptions", "mobile-gold@file")
    assert browser.count(broken + " .badge-disabled[data-status=disabled]") == 1
    assert browser.text(broken + " [data-testid=status]") == "Error"
    assert browser.text(broken + " [data-testid=plan]") == "gold"
    assert browser.text(broken + " [data-testid=weight]") == "0"
    error = browser.wait("[data-testid=resource-error][data-name='mobile-gold@file'] [data-testid=error]",
                         text=MISSING_PLAN)
    assert re.match(r".*apim\.yml:\d+", error), error
    assert browser.count("[data-testid=resource-error]") == 1

    # Every kind is listed; the empty one says so.
    assert browser.count("[data-testid=resource-row]") == 11
    assert browser.text("[data-testid=list-apiBundles] [data-testid=empty]") == "No bundles."
    auth = resource_row("apiAuths", "keys@file")
    assert browser.text(auth + " [data-testid=default]") == "default"
    assert browser.text(auth + " [data-testid=method]").startswith("API key")
    browser.screenshot(screenshot_dir() / "api-management.png")

    # The search filters every section (by name, the API's search).
    browser.fill("[data-testid=search]", "billing")
    wait_until(lambda: browser.count("[data-testid=resource-row]") == 2, timeout=5, message="only billing's")
    assert browser.count(resource_row("managedApplications", "billing@file")) == 1
    assert browser.count(good) == 1
    assert browser.text("[data-testid=list-apis] [data-testid=empty]") == "Nothing to show."
    browser.fill("[data-testid=search]", "gold")
    wait_until(lambda: browser.count("[data-testid=resource-row]") == 1, timeout=5, message="only mobile-gold")
    assert browser.count(broken) == 1
    assert browser.count("[data-testid=resource-error][data-name='mobile-gold@file']") == 1
    # So does the status filter.
    browser.fill("[data-testid=search]", "")
    # The search applies after a short pause: every resource is back before the filter is tried.
    wait_until(lambda: browser.count("[data-testid=resource-row]") == 11, timeout=5, message="search cleared")
    browser.call("select", selector="[data-testid=status-filter]", value="disabled")
    wait_until(lambda: browser.count("[data-testid=resource-row]") == 1, timeout=5, message="only the disabled")
    assert browser.count(broken) == 1
    browser.call("select", selector="[data-testid=status-filter]", value="")
    wait_until(lambda: browser.count("[data-testid=resource-row]") == 11, timeout=5, message="every resource")

    # The page polls: once the plan `gold` exists, the subscription is enabled without a reload.
    cw.write("apim.yml", dynamic_config(dead_port, plans={
        "basic": {"title": "Basic", "rateLimit": {"limit": 2, "period": "10s"}},
        "gold": {"title": "Gold", "quota": {"limit": 1000, "period": "24h"}},
    }))
    browser.wait(broken + "[data-status=enabled]", timeout=15000)
    gold = resource_row("apiPlans", "gold@file")
    browser.wait(gold)
    assert browser.text(gold + " [data-testid=quota] [data-testid=limit]") == "1000 / 24h"
    assert browser.text(gold + " [data-testid=rate-limit]") == "—"
    assert browser.count("[data-testid=resource-error]") == 0
    no_errors(browser)
