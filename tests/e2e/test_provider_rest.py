"""providers.rest end to end: the dynamic configuration PUT to /api/providers/rest (rest@internal
on the `traefik` entryPoint with `insecure`), as Traefik's REST provider takes it; a second PUT
replaces the first; another provider name, another method and a body that does not parse are
refused with the reason, and the configuration in place keeps serving.

Reference: docs/providers.md ("REST")."""
import json

from harness import Causeway, curl, wait_until
from mwkit import get


def put(cw, body, provider="rest"):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return curl(cw.url("traefik", f"/api/providers/{provider}"), method="PUT", data=data,
                headers=["Content-Type: application/json"])


def config(upstream, host):
    return {"http": {"routers": {"app": {"rule": f"Host(`{host}`)", "service": "app", "entryPoints": ["web"]}},
                     "services": {"app": {"loadBalancer": {"servers": [{"url": upstream}]}}}}}


def test_put_serves_replaces_and_refuses(start_whoami):
    w = start_whoami()
    cw = Causeway(entrypoints=("web", "traefik"), providers_extra={"rest": {"insecure": True}})
    try:
        assert get(cw, "app.test")[0] == 404
        status, _, body = put(cw, config(w.url, "app.test"))
        assert status == 200, body
        wait_until(lambda: get(cw, "app.test")[0] == 200, timeout=10, message="PUT configuration served")

        # A second PUT replaces the whole configuration of the provider.
        assert put(cw, config(w.url, "app2.test"))[0] == 200
        wait_until(lambda: get(cw, "app2.test")[0] == 200, timeout=10, message="replaced")
        assert get(cw, "app.test")[0] == 404

        # Refusals, with what is wrong; the configuration in place keeps serving.
        status, _, body = put(cw, config(w.url, "x.test"), provider="file")
        assert status == 400 and b"Only 'rest' provider can be updated" in body
        status, _, body = put(cw, b'{"http": {"routers": ')
        assert status == 400 and b"rest request" in body, body
        status, headers, _ = curl(cw.url("traefik", "/api/providers/rest"))
        assert status == 405 and headers.get("allow") == "PUT"
        # An element with an unknown option is that element's error, as from any provider.
        bad = config(w.url, "bad.test")
        bad["http"]["routers"]["app"]["bogusOption"] = 1
        assert put(cw, bad)[0] == 200
        wait_until(lambda: "bogusOption" in cw.output(), timeout=10, message="element error logged")
        assert get(cw, "app2.test")[0] == 404  # replaced by the PUT, whose router is disabled
    finally:
        cw.stop()
