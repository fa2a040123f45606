"""A causeway for the API and dashboard tests (test_api.py, test_dashboard.py): the API on the
`traefik` entryPoint (api.insecure) and a dynamic configuration with working and broken
routers, services and middlewares, whose service `app` has two whoami servers under an active
health check (so a killed server goes DOWN within a few hundred milliseconds).
"""
import json

from harness import curl, to_yaml, wait_until

CHECK = {"path": "/health", "interval": "200ms", "timeout": "150ms"}

# Expected counts (user elements + causeway's own: routers api@internal, dashboard@internal;
# services api@internal, dashboard@internal, noop@internal; middlewares dashboard_redirect@internal,
# dashboard_stripprefix@internal).
ROUTERS_TOTAL, ROUTERS_ERRORS, ROUTERS_WARNINGS = 8, 3, 1
SERVICES_TOTAL, SERVICES_ERRORS = 6, 1
MIDDLEWARES_TOTAL, MIDDLEWARES_ERRORS = 5, 1


def dynamic_config(a_url, b_url):
    routers = {
        "good": {"rule": "Host(`good.test`)", "service": "app", "middlewares": ["add-prefix", "hdr"]},
        "broken-service": {"rule": "Host(`b1.test`)", "service": "missing"},
        "broken-rule": {"rule": "Host(`unclosed.test`", "service": "app"},
        "broken-middleware": {"rule": "Host(`b2.test`)", "service": "app", "middlewares": ["nope"]},
        "warn-ep": {"rule": "Host(`w.test`)", "service": "app", "entryPoints": ["web", "nowhere"]},
        "secure": {"rule": "Host(`tls.test`)", "service": "canary", "tls": {}},
    }
    services = {
        "app": {"loadBalancer": {"servers": [{"url": a_url}, {"url": b_url}], "healthCheck": CHECK}},
        "canary": {"weighted": {"services": [{"name": "app", "weight": 3}]}},
        "bad-url": {"loadBalancer": {"servers": [{"url": "http://[::1"}]}},
    }
    middlewares = {
        "add-prefix": {"addPrefix": {"prefix": "/p"}},
        "hdr": {"headers": {"customRequestHeaders": {"X-A": "1"}}},
        "bogus": {"noSuchMiddleware": {"x": 1}},
    }
    return {"api.yml": to_yaml({"http": {"routers": routers, "services": services,
                                          "middlewares": middlewares}}) + "\n"}


def start_admin(start_causeway, start_whoami, static_extra="api:\n  insecure: true\n"):
    """(causeway, whoami a, whoami b) with the configuration above, once it is live."""
    a, b = start_whoami("a"), start_whoami("b")
    cw = start_causeway(entrypoints=("web", "traefik"), dynamic=dynamic_config(a.url, b.url),
                        static_extra=static_extra)
    wait_until(lambda: api_get(cw, "/api/http/routers/good@file")[0] == 200, message="the API")
    return cw, a, b


def api_get(cw, path, entrypoint="traefik"):
    """(status, headers, parsed JSON or raw body)."""
    status, headers, body = curl(cw.url(entrypoint, path))
    try:
        return status, headers, json.loads(body)
    except ValueError:
        return status, headers, body
