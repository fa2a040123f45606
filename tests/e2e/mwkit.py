"""Helpers for the middleware end-to-end tests (test_mw_*.py): one dynamic file with routers
that use the middlewares under test, a sentinel router to know when it is live, and small
HTTP helpers on top of harness.curl."""
import http.client
import socket
from collections import Counter

from harness import curl, routed, to_yaml, wait_until

READY = "ready.sentinel"


def lb(*urls):
    return {"loadBalancer": {"servers": [{"url": u} for u in urls]}}


def dynamic(upstream, middlewares=None, routers=None, services=None):
    """routers: {name: (rule, [middlewares])} or full router dicts; every router goes to `app`
    (the upstream) unless it names a service."""
    http = {"routers": {"sentinel": {"rule": f"Host(`{READY}`)", "service": "app"}},
            "services": {"app": lb(upstream)}}
    for name, router in (routers or {}).items():
        if isinstance(router, tuple):
            rule, mws = router
            router = {"rule": rule, "service": "app"}
            if mws:
                router["middlewares"] = list(mws)
        http["routers"][name] = router
    http["services"].update(services or {})
    if middlewares:
        http["middlewares"] = middlewares
    return {"routing.yml": to_yaml({"http": http}) + "\n"}


def start(start_causeway, upstream, middlewares=None, routers=None, services=None, **kwargs):
    cw = start_causeway(dynamic=dynamic(upstream, middlewares, routers, services), **kwargs)
    routed(cw, READY)
    return cw


def get(cw, host, path="/", method=None, headers=(), data=None, args=()):
    return curl(cw.url("web", path), *args, host=host, method=method, headers=headers, data=data)


def answered_by(cw, host, path="/", headers=(), n=8):
    """Which whoami (its Name) answered each of n requests; the status for the others."""
    seen = Counter()
    for _ in range(n):
        status, _, body = get(cw, host, path, headers=headers)
        name = [line.split(":", 1)[1].strip() for line in body.decode(errors="replace").splitlines()
                if line.startswith("Name:")]
        seen[name[0] if status == 200 and name else status] += 1
    return seen


def request(cw, host, path="/", method="GET", headers=None, body=None, timeout=10):
    """http.client request: (status, [(name, value)] in order, body). Keeps repeated fields."""
    conn = http.client.HTTPConnection("127.0.0.1", cw.port("web"), timeout=timeout)
    try:
        hdrs = {"Host": host}
        hdrs.update(headers or {})
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        return resp.status, resp.getheaders(), resp.read()
    finally:
        conn.close()


def values(headers, name):
    return [v for k, v in headers if k.lower() == name.lower()]


def wait_log(cw, text, timeout=10.0):
    return wait_until(lambda: text in cw.output(), timeout=timeout, message=f"{text!r} in causeway's log")


def free_loopback_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
