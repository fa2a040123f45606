"""The REST API (reference docs/compatibility.md; Traefik pkg/api): routes, JSON shapes
(names qualified name@provider, status, error, using, usedBy, serverStatus, type), live
server health, pagination (page, per_page, X-Next-Page), filters (search, status,
serviceName, middlewareName), 404s, api.basePath with a user router to api@internal, the
dashboard's files, and no API at all unless `api` is configured.

Shapes are compared with Traefik's documented fields (pkg/api/testdata/*.json).
"""
import datetime
import signal

from admin_env import (MIDDLEWARES_ERRORS, MIDDLEWARES_TOTAL, ROUTERS_ERRORS, ROUTERS_TOTAL,
                       ROUTERS_WARNINGS, SERVICES_ERRORS, SERVICES_TOTAL, api_get, start_admin)
from harness import curl, to_yaml, wait_until

ROUTER_KEYS = {"entryPoints", "rule", "service", "status", "name", "provider", "using", "priorityStr"}
SERVICE_KEYS = {"status", "name", "provider", "usedBy", "type"}
SECTION_KEYS = {"total", "warnings", "errors"}


def by_name(items):
    return {item["name"]: item for item in items}


def test_overview_counts_features_and_providers(start_causeway, start_whoami):
    cw, _, _ = start_admin(start_causeway, start_whoami)
    status, headers, o = api_get(cw, "/api/overview")
    assert status == 200 and headers["content-type"] == "application/json"
    assert set(o) == {"http", "tcp", "udp", "features", "providers", "providerStatus"}  # the last: causeway's
    assert o["http"]["routers"] == {"total": ROUTERS_TOTAL, "warnings": ROUTERS_WARNINGS, "errors": ROUTERS_ERRORS}
    assert o["http"]["services"] == {"total": SERVICES_TOTAL, "warnings": 0, "errors": SERVICES_ERRORS}
    assert o["http"]["middlewares"] == {"total": MIDDLEWARES_TOTAL, "warnings": 0, "errors": MIDDLEWARES_ERRORS}
    assert set(o["tcp"]) == {"routers", "services", "middlewares"} and set(o["udp"]) == {"routers", "services"}
    for section in list(o["tcp"].values()) + list(o["udp"].values()):
        assert set(section) == SECTION_KEYS
    assert o["features"] == {"tracing": "", "metrics": "", "accessLog": False}
    assert o["providers"] == ["File"]


def test_router_shapes_using_and_tls(start_causeway, start_whoami):
    cw, _, _ = start_admin(start_causeway, start_whoami)
    status, _, r = api_get(cw, "/api/http/routers/good@file")
    assert status == 200
    assert ROUTER_KEYS <= set(r) and "error" not in r
    assert r["name"] == "good@file" and r["provider"] == "file" and r["status"] == "enabled"
    assert r["rule"] == "Host(`good.test`)" and r["service"] == "app"
    assert r["middlewares"] == ["add-prefix", "hdr"]  # as configured, in order
    assert r["entryPoints"] == ["web"] and r["using"] == ["web"]  # default entryPoints filled in
    assert r["priorityStr"] == "0"
    _, _, secure = api_get(cw, "/api/http/routers/secure@file")
    assert secure["tls"] == {"options": "default"}
    _, _, internal = api_get(cw, "/api/http/routers/api@internal")
    assert internal["rule"] == "PathPrefix(`/api`)" and internal["service"] == "api@internal"
    assert internal["priorityStr"] == str(2**63 - 2) and internal["using"] == ["traefik"]
    _, _, dashboard = api_get(cw, "/api/http/routers/dashboard@internal")
    assert dashboard["middlewares"] == ["dashboard_redirect@internal", "dashboard_stripprefix@internal"]
    assert dashboard["priorityStr"] == str(2**63 - 3)


def test_broken_routers_are_disabled_with_their_error(start_causeway, start_whoami):
    cw, _, _ = start_admin(start_causeway, start_whoami)
    routers = by_name(api_get(cw, "/api/http/routers")[2])
    missing = routers["broken-service@file"]
    assert missing["status"] == "disabled"
    assert any('the service "missing@file" does not exist' in e for e in missing["error"])
    assert routers["broken-rule@file"]["status"] == "disabled"
    assert any("rule" in e for e in routers["broken-rule@file"]["error"])
    mw = routers["broken-middleware@file"]
    assert mw["status"] == "disabled" and any('middleware "nope@file" does not exist' in e for e in mw["error"])
    warn = routers["warn-ep@file"]
    assert warn["status"] == "warning"
    assert warn["entryPoints"] == ["web", "nowhere"] and warn["using"] == ["web"]
    assert any('"nowhere"' in e for e in warn["error"])
    # A disabled router is not mounted; the enabled ones serve.
    assert curl(cw.url("web", "/"), host="b1.test")[0] == 404
    assert curl(cw.url("web", "/"), host="good.test")[0] == 200


def test_services_used_by_type_and_live_server_status(start_causeway, start_whoami):
    cw, a, b = start_admin(start_causeway, start_whoami)
    status, _, app = api_get(cw, "/api/http/services/app@file")
    assert status == 200 and SERVICE_KEYS <= set(app)
    assert app["type"] == "loadbalancer" and app["status"] == "enabled" and app["provider"] == "file"
    assert [s["url"] for s in app["loadBalancer"]["servers"]] == [a.url, b.url]
    assert app["loadBalancer"]["passHostHeader"] is True
    assert app["loadBalancer"]["healthCheck"]["path"] == "/health"
    assert app["loadBalancer"]["healthCheck"]["interval"] == "200ms"
    # The routers that resolved it (sorted, as Traefik); a router whose rule does not compile
    # never got that far.
    assert app["usedBy"] == ["broken-middleware@file", "good@file", "warn-ep@file"]
    assert app["serverStatus"] == {a.url: "UP", b.url: "UP"}

    b.proc.send_signal(signal.SIGKILL)
    b.proc.wait()
    down = wait_until(lambda: (s := api_get(cw, "/api/http/services/app@file")[2]["serverStatus"])[b.url] == "DOWN"
                      and s, timeout=5, message="b DOWN in serverStatus")
    assert down[a.url] == "UP"
    raw = api_get(cw, "/api/rawdata")[2]
    assert raw["services"]["app@file"]["serverStatus"][b.url] == "DOWN"

    _, _, canary = api_get(cw, "/api/http/services/canary@file")
    assert canary["type"] == "weighted" and canary["weighted"]["services"] == [{"name": "app", "weight": 3}]
    assert canary["usedBy"] == ["secure@file"] and "serverStatus" not in canary
    _, _, bad = api_get(cw, "/api/http/services/bad-url@file")
    assert bad["status"] == "disabled" and bad["error"] and "usedBy" not in bad
    _, _, api_service = api_get(cw, "/api/http/services/api@internal")
    assert api_service == {"name": "api@internal", "provider": "internal", "status": "enabled",
                           "usedBy": ["api@internal"]}


def test_middlewares_type_options_and_errors(start_causeway, start_whoami):
    cw, _, _ = start_admin(start_causeway, start_whoami)
    middlewares = by_name(api_get(cw, "/api/http/middlewares")[2])
    prefix = middlewares["add-prefix@file"]
    assert prefix["type"] == "addprefix" and prefix["addPrefix"] == {"prefix": "/p"}
    assert prefix["usedBy"] == ["good@file"] and prefix["status"] == "enabled"
    assert middlewares["hdr@file"]["headers"] == {"customRequestHeaders": {"X-A": "1"}}
    bogus = middlewares["bogus@file"]
    assert bogus["status"] == "disabled" and bogus["error"] and bogus["type"] == "nosuchmiddleware"
    redirect = middlewares["dashboard_redirect@internal"]
    assert redirect["type"] == "redirectregex" and redirect["redirectRegex"]["replacement"] == "${1}/dashboard/"
    assert middlewares["dashboard_stripprefix@internal"]["stripPrefix"] == {"prefixes": ["/dashboard/", "/dashboard"]}


def test_pagination(start_causeway, start_whoami):
    cw, _, _ = start_admin(start_causeway, start_whoami)
    everything = api_get(cw, "/api/http/routers")[2]
    assert len(everything) == ROUTERS_TOTAL
    assert [r["name"] for r in everything] == sorted(r["name"] for r in everything)
    status, headers, first = api_get(cw, "/api/http/routers?per_page=3")
    assert status == 200 and len(first) == 3 and headers["x-next-page"] == "2"
    _, headers, last = api_get(cw, "/api/http/routers?per_page=3&page=3")
    assert len(last) == 2 and headers["x-next-page"] == "1"
    assert [r["name"] for r in first + api_get(cw, "/api/http/routers?per_page=3&page=2")[2] + last] == \
        [r["name"] for r in everything]
    assert api_get(cw, "/api/http/routers")[1]["x-next-page"] == "1"
    status, headers, body = api_get(cw, "/api/http/routers?per_page=3&page=4")
    assert status == 400 and body == {"message": "invalid request: page: 4, per_page: 3"}
    assert api_get(cw, "/api/http/services?per_page=0")[2] == {"message": "invalid request: per_page: 0"}
    assert api_get(cw, "/api/http/middlewares?page=x")[2] == {"message": "invalid request: page: 0"}
    _, headers, eps = api_get(cw, "/api/entrypoints?per_page=1")
    assert [e["name"] for e in eps] == ["traefik"] and headers["x-next-page"] == "2"


def test_filters_and_sorting(start_causeway, start_whoami):
    cw, _, _ = start_admin(start_causeway, start_whoami)
    names = lambda path: [r["name"] for r in api_get(cw, path)[2]]  # noqa: E731
    assert names("/api/http/routers?search=broken") == ["broken-middleware@file", "broken-rule@file",
                                                        "broken-service@file"]
    assert names("/api/http/routers?search=TLS.TEST") == ["secure@file"]  # the rule, ignoring case
    assert names("/api/http/routers?status=disabled") == ["broken-middleware@file", "broken-rule@file",
                                                          "broken-service@file"]
    assert names("/api/http/routers?status=warning") == ["warn-ep@file"]
    assert names("/api/http/routers?serviceName=canary@file") == ["secure@file"]
    assert names("/api/http/routers?serviceName=api@internal") == ["api@internal"]
    assert names("/api/http/routers?middlewareName=hdr") == ["good@file"]
    assert names("/api/http/routers?middlewareName=hdr@file") == ["good@file"]
    assert names("/api/http/services?status=disabled") == ["bad-url@file"]
    assert names("/api/http/services?search=canary") == ["canary@file"]
    assert names("/api/http/middlewares?search=prefix") == ["add-prefix@file", "dashboard_stripprefix@internal"]
    assert names("/api/http/middlewares?status=disabled") == ["bogus@file"]
    assert names("/api/http/routers?search=nothing-like-this") == []
    desc = names("/api/http/routers?direction=desc")
    assert desc == sorted(desc, reverse=True)
    by_status = [r["status"] for r in api_get(cw, "/api/http/routers?sortBy=status")[2]]
    assert by_status == sorted(by_status)


def test_not_found_and_methods(start_causeway, start_whoami):
    cw, _, _ = start_admin(start_causeway, start_whoami)
    for path, message in [("/api/http/routers/nope@file", "router not found: nope@file"),
                          ("/api/http/services/nope@file", "service not found: nope@file"),
                          ("/api/http/middlewares/nope@file", "middleware not found: nope@file"),
                          ("/api/entrypoints/nope", "entry point not found: nope")]:
        status, headers, body = api_get(cw, path)
        assert (status, body) == (404, {"message": message}), path
        assert headers["content-type"] == "text/plain; charset=utf-8"
    status, _, body = api_get(cw, "/api/nothing")
    assert (status, body) == (404, b"404 page not found\n")
    assert curl(cw.url("traefik", "/api/overview"), method="POST")[0] == 405
    # Names are path segments: escaped characters are decoded.
    assert api_get(cw, "/api/http/routers/good%40file")[0] == 200
    assert api_get(cw, "/api/tcp/routers") [2] == [] and api_get(cw, "/api/udp/services")[2] == []


def test_entrypoints_rawdata_and_version(start_causeway, start_whoami):
    cw, _, _ = start_admin(start_causeway, start_whoami)
    eps = api_get(cw, "/api/entrypoints")[2]
    assert [e["name"] for e in eps] == ["traefik", "web"]
    web = api_get(cw, "/api/entrypoints/web")[2]
    assert web["address"] == f"127.0.0.1:{cw.port('web')}" and web["name"] == "web"
    assert web["transport"]["respondingTimeouts"]["readTimeout"] == "1m0s"
    raw = api_get(cw, "/api/rawdata")[2]
    assert set(raw) == {"routers", "services", "middlewares"}
    assert raw["routers"]["good@file"]["status"] == "enabled" and "name" not in raw["routers"]["good@file"]
    assert raw["routers"]["broken-service@file"]["error"]
    assert raw["middlewares"]["bogus@file"]["status"] == "disabled"
    status, headers, version = api_get(cw, "/api/version")
    assert status == 200 and headers["content-type"].startswith("application/json")
    assert set(version) >= {"Version", "Codename", "startDate"}
    started = datetime.datetime.fromisoformat(version["startDate"].replace("Z", "+00:00")[:26] + "+00:00")
    assert abs((datetime.datetime.now(datetime.timezone.utc) - started).total_seconds()) < 120


def test_dashboard_files_and_redirects(start_causeway, start_whoami):
    cw, _, _ = start_admin(start_causeway, start_whoami)
    status, headers, _ = curl(cw.url("traefik", "/"))
    assert status == 301 and headers["location"].endswith("/dashboard/")
    status, headers, _ = curl(cw.url("traefik", "/dashboard"))
    assert status == 302 and headers["location"] == "/dashboard/"
    status, headers, html = curl(cw.url("traefik", "/dashboard/"))
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    assert b'<div id="root">' in html and b"http" not in html.split(b"<body>")[1]  # nothing from elsewhere
    script = html.split(b'src="./')[1].split(b'"')[0].decode()
    status, headers, js = curl(cw.url("traefik", "/dashboard/" + script))
    assert status == 200 and headers["content-type"] == "text/javascript; charset=utf-8" and len(js) > 1000
    assert "immutable" in headers["cache-control"]
    status, _, _ = curl(cw.url("traefik", "/dashboard/" + script), headers=[f"If-None-Match: {headers['etag']}"])
    assert status == 304
    assert curl(cw.url("traefik", "/dashboard/missing.js"))[0] == 404


def test_api_routed_by_a_user_router_under_a_base_path(start_causeway):
    routing = {"http": {"routers": {"admin": {"rule": "PathPrefix(`/admin`)", "service": "api@internal"}}}}
    cw = start_causeway(dynamic={"r.yml": to_yaml(routing) + "\n"}, static_extra="api:\n  basePath: /admin\n")
    wait_until(lambda: curl(cw.url("web", "/admin/api/overview"))[0] == 200, message="the API under /admin")
    routers = by_name(api_get(cw, "/admin/api/http/routers", entrypoint="web")[2])
    assert set(routers) == {"admin@file"} and routers["admin@file"]["service"] == "api@internal"
    status, headers, _ = curl(cw.url("web", "/admin"))
    assert status == 302 and headers["location"] == "/admin/dashboard/"
    assert curl(cw.url("web", "/admin/dashboard/"))[0] == 200
    assert curl(cw.url("web", "/api/overview"))[0] == 404  # only under the base path


def test_no_api_unless_configured(start_causeway):
    routing = {"http": {"routers": {"r": {"rule": "PathPrefix(`/`)", "service": "api@internal"}}}}
    cw = start_causeway(dynamic={"r.yml": to_yaml(routing) + "\n"}, static_extra="ping:\n  entryPoint: web\n")
    wait_until(lambda: curl(cw.url("web", "/ping"))[0] == 200, message="ping")
    for path in ("/api/overview", "/api/http/routers", "/dashboard/", "/"):
        assert curl(cw.url("web", path))[0] == 404, path
    assert "api@internal" in cw.output() and "does not exist" in cw.output()


def test_ping_answers_any_method_as_traefik_v3(start_causeway):
    cw = start_causeway(static_extra="ping:\n  entryPoint: web\n")
    wait_until(lambda: curl(cw.url("web", "/ping"))[0] == 200, message="ping")
    for method in ("GET", "POST", "PUT"):
        status, headers, body = curl(cw.url("web", "/ping"), method=method)
        assert (status, body) == (200, b"OK") and headers["content-type"] == "text/plain; charset=utf-8"
    assert curl(cw.url("web", "/ping"), "-I")[0] == 200
