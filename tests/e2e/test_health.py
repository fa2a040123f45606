"""Health of loadBalancer servers (reference docs/compatibility.md): active health checks
(options, once per process, state kept across reloads, transitions logged), failover driven
by health (switch within one interval, back again, chains), passive health checks, and an
upstream killed under load.

Upstreams: `causeway whoami` (its /health answers the status last POSTed to it), small
Python servers (service_upstreams.py), and Node peers (node/health_peer.js) for the HTTP/2
checks: a grpc.health.v1 server for `mode: grpc`, an h2c server for h2c:// servers. Short
intervals (100-200 ms) keep the file fast.
"""
import collections
import http.client
import json
import pathlib
import signal
import time

import pytest

from harness import Process, Whoami, curl, free_port, routed, wait_until
from service_upstreams import Load, get, hammer, name_of
from test_services import READY, default_cookie_name, dynamic, lb, post_health, router  # noqa: F401

CHECK = {"path": "/health", "interval": "200ms", "timeout": "150ms"}


def start(start_causeway, routers, services, sentinel, **kwargs):
    cw = start_causeway(dynamic=dynamic(routers, services, sentinel=sentinel), **kwargs)
    routed(cw, READY)
    return cw


def names_of(cw, host, n=20):
    return hammer(cw.port(), host, n, connections=1)[0]


# ---------------------------------------------------------------------------------------
# Active health checks

def test_unhealthy_server_leaves_rotation_and_comes_back(start_whoami, start_causeway):
    a, b = start_whoami("a"), start_whoami("b")
    cw = start(start_causeway, {"r": router("hc.test", "s")}, {"s": lb(a.url, b.url, healthCheck=CHECK)}, a.url)
    # Under a loaded machine one 150 ms check can time out and take b out for an interval;
    # what this test needs is a moment where both serve.
    wait_until(lambda: names_of(cw, "hc.test") == {"a": 10, "b": 10}, timeout=5)
    post_health(b, 500)
    wait_until(lambda: names_of(cw, "hc.test") == {"a": 20}, timeout=3)
    log = wait_until(lambda: cw.output() if "server is DOWN" in cw.output() else None, timeout=3)
    assert b.url in log and "received error status code: 500" in log
    post_health(b, 200)
    wait_until(lambda: names_of(cw, "hc.test").get("b", 0) == 10, timeout=3)
    assert "server is UP" in cw.output()


def test_all_servers_down_answers_503_no_available_server(start_whoami, start_causeway):
    a, b = start_whoami("a"), start_whoami("b")
    cw = start(start_causeway, {"r": router("down.test", "s")}, {"s": lb(a.url, b.url, healthCheck=CHECK)}, a.url)
    post_health(a, 500)
    post_health(b, 502)

    def answer():
        status, headers, body = curl(cw.url(), host="down.test")
        return (status, body) if status == 503 else None
    assert wait_until(answer, timeout=3) == (503, b"no available server\n")
    post_health(a, 200)
    wait_until(lambda: curl(cw.url(), host="down.test")[0] == 200, timeout=3)


def test_a_killed_server_is_taken_out_and_a_restarted_one_comes_back(start_whoami, start_causeway):
    a, b = start_whoami("a"), start_whoami("b")
    cw = start(start_causeway, {"r": router("kill.test", "s")}, {"s": lb(a.url, b.url, healthCheck=CHECK)}, a.url)
    port = b.port
    b.proc.send_signal(signal.SIGKILL)
    b.proc.wait()
    wait_until(lambda: names_of(cw, "kill.test") == {"a": 20}, timeout=3)
    restarted = Whoami("b", port=port)
    try:
        wait_until(lambda: names_of(cw, "kill.test").get("b", 0) == 10, timeout=3)
    finally:
        restarted.stop()


def test_health_check_options_reach_the_server(start_causeway, py_upstreams):
    served = py_upstreams("served")
    health = py_upstreams("health")  # the checks go to another port (healthCheck.port)
    check = {"path": "/status?deep=1", "interval": "100ms", "method": "POST", "hostname": "health.internal",
             "headers": {"X-Probe": "causeway", "authorization": "token"}, "port": health.port, "status": 200}
    cw = start(start_causeway, {"r": router("opts.test", "s")}, {"s": lb(served.url + "/base", healthCheck=check)},
               served.url)
    wait_until(lambda: health.count("/status") >= 2, timeout=3)
    method, path, headers, body = health.requests[0]
    assert (method, path, body) == ("POST", "/status?deep=1", b"")
    assert headers["Host"] == "health.internal"
    assert headers["X-Probe"] == "causeway" and headers["Authorization"] == "token"
    assert served.count("/status") == 0
    assert get(cw.port(), "opts.test")[0] == 200


def test_expected_status_and_redirects(start_whoami, start_causeway, py_upstreams):
    a = start_whoami("a")
    teapot = py_upstreams("teapot", status=418)
    moved = py_upstreams("moved", status=301)  # no Location: the 301 itself is judged
    services = {"expects": lb(teapot.url, healthCheck={**CHECK, "status": 418}),
                "wrong": lb(teapot.url, healthCheck=CHECK),
                "moved": lb(moved.url, healthCheck=CHECK)}
    routers = {"e": router("expects.test", "expects"), "w": router("wrong.test", "wrong"),
               "m": router("moved.test", "moved")}
    cw = start(start_causeway, routers, services, a.url)
    wait_until(lambda: get(cw.port(), "wrong.test")[0] == 503, timeout=3)
    time.sleep(0.5)
    assert get(cw.port(), "expects.test")[0] == 418  # healthy: its answers go through
    assert get(cw.port(), "moved.test")[0] == 301    # 3xx is healthy


def test_https_servers_are_checked_over_tls(start_whoami, start_causeway, py_upstreams, tmp_path):
    from tls_certs import Pki
    pki = Pki(tmp_path)
    leaf = pki.issue(pki.ca(), "localhost", dns=["localhost"])
    good, bad = py_upstreams("tls-good", tls=leaf), py_upstreams("tls-bad", status=500, tls=leaf)
    a = start_whoami("a")
    services = {"s": lb(good.url, bad.url, serversTransport="insecure", healthCheck={**CHECK, "interval": "100ms"})}
    cw = start_causeway(dynamic=dynamic({"r": router("tls.test", "s")}, services, sentinel=a.url,
                                        transports={"insecure": {"insecureSkipVerify": True}}))
    routed(cw, READY)
    wait_until(lambda: good.count("/health") >= 2 and bad.count("/health") >= 2, timeout=3)
    wait_until(lambda: names_of(cw, "tls.test", 10) == {"tls-good": 10}, timeout=3)


def test_health_checks_run_once_per_process_not_per_worker(start_causeway, py_upstreams):
    target = py_upstreams("target")
    check = {"path": "/health", "interval": "100ms"}
    cw = start(start_causeway, {"r": router("once.test", "s")}, {"s": lb(target.url, healthCheck=check)},
               target.url, workers=4)
    first = target.count("/health")
    time.sleep(2.0)
    checks = target.count("/health") - first
    print("health checks in 2 s with 4 workers and a 100 ms interval:", checks)
    assert 12 <= checks <= 24  # about 20; 4 workers checking would make about 80


def test_health_state_survives_a_reload(start_whoami, start_causeway):
    a, b = start_whoami("a"), start_whoami("b")
    slow_check = {"path": "/health", "interval": "200ms", "unhealthyInterval": "30s"}
    services = {"s": lb(a.url, b.url, healthCheck=slow_check)}
    cw = start(start_causeway, {"r": router("reload.test", "s")}, services, a.url)
    post_health(b, 500)
    wait_until(lambda: names_of(cw, "reload.test") == {"a": 20}, timeout=3)
    post_health(b, 200)  # healthy again, but the next check of a DOWN server is 30 s away
    # A reload (a new router) must not reset b to UP.
    routers = {"r": router("reload.test", "s"), "extra": router("extra.test", "s")}
    cw.write("routing.yml", dynamic(routers, services, sentinel=a.url)["routing.yml"])
    wait_until(lambda: get(cw.port(), "extra.test")[0] == 200, timeout=5)
    assert names_of(cw, "reload.test", 30) == {"a": 30}
    assert names_of(cw, "extra.test", 10) == {"a": 10}
    # Removing the server and adding it back starts it fresh (UP).
    without_b = {**routers, "gone": router("gone.test", "s")}
    cw.write("routing.yml", dynamic(without_b, {"s": lb(a.url, healthCheck=slow_check)}, sentinel=a.url)["routing.yml"])
    wait_until(lambda: get(cw.port(), "gone.test")[0] == 200, timeout=5)
    with_b = {**routers, "back": router("back.test", "s")}
    cw.write("routing.yml", dynamic(with_b, services, sentinel=a.url)["routing.yml"])
    wait_until(lambda: get(cw.port(), "back.test")[0] == 200, timeout=5)
    assert names_of(cw, "reload.test", 20) == {"a": 10, "b": 10}


# ---------------------------------------------------------------------------------------
# Failover driven by health

def test_failover_switches_within_one_interval_and_comes_back(start_whoami, start_causeway):
    main, fallback = start_whoami("main"), start_whoami("fallback")
    services = {"fo": {"failover": {"service": "M", "fallback": "F"}},
                "M": lb(main.url, healthCheck=CHECK), "F": lb(fallback.url)}
    cw = start(start_causeway, {"r": router("failover.test", "fo")}, services, main.url)
    assert names_of(cw, "failover.test", 5) == {"main": 5}

    def switch_time(expected):
        started = time.monotonic()
        while time.monotonic() - started < 3:
            if name_of(get(cw.port(), "failover.test")[2]) == expected:
                return time.monotonic() - started
            time.sleep(0.01)
        raise AssertionError(f"no switch to {expected}")
    post_health(main, 500)
    down = switch_time("fallback")
    post_health(main, 200)
    up = switch_time("main")
    print("failover switch %.0f ms, back %.0f ms (interval 200 ms)" % (down * 1000, up * 1000))
    # Within one interval, plus the check itself and scheduling slack.
    assert down < 0.2 + 0.15 + 0.1
    assert up < 0.2 + 0.15 + 0.1
    assert names_of(cw, "failover.test", 10) == {"main": 10}


def test_failover_chain_and_all_down(start_whoami, start_causeway):
    first, second, third = start_whoami("first"), start_whoami("second"), start_whoami("third")
    services = {"chain": {"failover": {"service": "A", "fallback": "tail"}},
                "tail": {"failover": {"service": "B", "fallback": "C", "healthCheck": {}}},
                "strict": {"failover": {"service": "A", "fallback": "tail", "healthCheck": {}}},
                "outer": {"failover": {"service": "strict", "fallback": "D"}},
                "A": lb(first.url, healthCheck=CHECK), "B": lb(second.url, healthCheck=CHECK),
                "C": lb(third.url, healthCheck=CHECK), "D": lb(first.url)}
    routers = {"c": router("chain.test", "chain"), "o": router("outer.test", "outer")}
    cw = start(start_causeway, routers, services, first.url)
    assert name_of(get(cw.port(), "chain.test")[2]) == "first"
    post_health(first, 500)
    wait_until(lambda: name_of(get(cw.port(), "chain.test")[2]) == "second", timeout=3)
    post_health(second, 500)
    wait_until(lambda: name_of(get(cw.port(), "chain.test")[2]) == "third", timeout=3)
    post_health(third, 500)
    # Main and fallback both down: 503.
    wait_until(lambda: get(cw.port(), "chain.test")[:3:2] == (503, b"Service Unavailable\n"), timeout=3)
    # `strict` (healthCheck: {}) reports DOWN to its parent once both sides are down.
    assert name_of(get(cw.port(), "outer.test")[2]) == "first"  # D has no health check


def test_failover_without_health_checks_on_main_is_an_error(start_whoami, start_causeway):
    a = start_whoami("a")
    services = {"fo": {"failover": {"service": "M", "fallback": "M"}}, "M": lb(a.url)}
    cw = start(start_causeway, {"r": router("bad.test", "fo")}, services, a.url)
    assert get(cw.port(), "bad.test")[0] == 404
    wait_until(lambda: "cannot register M as updater for fo@file" in cw.output(), timeout=3)


# ---------------------------------------------------------------------------------------
# Passive health checks

def test_passive_health_check_marks_a_failing_server_down(start_whoami, start_causeway, py_upstreams):
    good = start_whoami("good")
    bad = py_upstreams("bad", status=500)
    passive = {"maxFailedAttempts": 2, "failureWindow": "1500ms"}
    cw = start(start_causeway, {"r": router("passive.test", "s")},
               {"s": lb(good.url, bad.url, passiveHealthCheck=passive)}, good.url)
    names, statuses = hammer(cw.port(), "passive.test", 60, connections=1)
    print("passive: first 60 requests", dict(names))
    assert names["bad"] == 2 and statuses[500] == 2  # two failures in a row, then out
    assert "passive health check" in cw.output()
    time.sleep(1.6)  # the window is over: it gets traffic again (and fails again)
    names, _ = hammer(cw.port(), "passive.test", 20, connections=1)
    assert names["bad"] == 2


def test_passive_health_check_counts_unreachable_servers(start_whoami, start_causeway):
    good = start_whoami("good")
    gone = start_whoami("gone")
    passive = {"maxFailedAttempts": 1, "failureWindow": "10s"}
    cw = start(start_causeway, {"r": router("gone.test", "s")},
               {"s": lb(good.url, gone.url, passiveHealthCheck=passive)}, good.url)
    gone.stop()
    names, statuses = hammer(cw.port(), "gone.test", 30, connections=1)
    assert statuses[502] == 1 and statuses[200] == 29


@pytest.mark.parametrize("retry", [False, True])
def test_one_upstream_killed_mid_load(start_whoami, start_causeway, retry):
    a, b = start_whoami("a"), start_whoami("b")
    services = {"s": lb(a.url, b.url, passiveHealthCheck={"maxFailedAttempts": 1, "failureWindow": "10s"},
                        healthCheck={"path": "/health", "interval": "200ms"})}
    options = {"middlewares": ["retry"]} if retry else {}
    routers = {"r": router("load.test", "s", **options)}
    # Requests already written to the killed server are retried on their 502 (v3.7 status).
    middlewares = {"retry": {"retry": {"attempts": 3, "status": ["502-504"]}}}
    cw = start_causeway(dynamic=dynamic(routers, services, sentinel=a.url, middlewares=middlewares))
    routed(cw, READY)
    if retry and get(cw.port(), "load.test")[0] == 404:
        pytest.skip("no retry middleware in this build")
    clients = 8
    load = Load(cw.port(), "load.test", clients=clients, path="/?wait=20ms")
    time.sleep(1.0)
    killed_at = time.monotonic()
    b.proc.send_signal(signal.SIGKILL)
    time.sleep(1.5)
    results = load.stop()
    failures = [r for r in results if r[2] != 200]
    after = [r for r in results if r[0] > killed_at + 0.3]
    print(f"retry={retry}: {len(results)} requests, {len(failures)} failed:", [r[2] for r in failures])
    assert len(results) > 200
    assert all(r[2] == 200 and r[3] == "a" for r in after)
    if retry:
        assert failures == []
    else:
        # Only requests in flight on the killed server when it died (at most one per client).
        assert len(failures) <= clients
        assert all(r[0] <= killed_at + 0.05 for r in failures)


# ---------------------------------------------------------------------------------------
# HTTP/2 health checks: mode grpc (grpc.health.v1.Health/Check) and h2c:// servers

NODE_DIR = pathlib.Path(__file__).resolve().parent / "node"
needs_node = pytest.mark.skipif(not (NODE_DIR / "node_modules" / "@grpc" / "grpc-js").exists(),
                                reason="npm packages not installed (make test runs npm ci in tests/e2e/node)")


class NodePeer(Process):
    """tests/e2e/node/health_peer.js: a grpc.health.v1 server (status read from a file) or
    an h2c server answering "Name: <name>"."""

    def __init__(self, mode, name, *extra, port=None):
        self.port = port or free_port()
        self.name = name
        super().__init__(["node", str(NODE_DIR / "health_peer.js"), mode, str(self.port), name, *extra],
                         name=f"{mode}-{name}")
        wait_until(lambda: "listening" in self.output() or self.proc.poll() is not None,
                   message=f"{mode} peer {name} listening")
        assert self.proc.poll() is None, self.output()


@pytest.fixture
def node_peers():
    started = []

    def make(*args, **kwargs):
        peer = NodePeer(*args, **kwargs)
        started.append(peer)
        return peer

    yield make
    for peer in started:
        peer.stop()


def grpc_calls(cw, host, n=1):
    """`n` gRPC Health/Check calls through causeway on one keep-alive connection (HTTP/1.1 to
    causeway, HTTP/2 upstream): [(status, the upstream's x-served-by or the body)]."""
    conn = http.client.HTTPConnection("127.0.0.1", cw.port(), timeout=5)
    results = []
    try:
        for _ in range(n):
            conn.request("POST", "/grpc.health.v1.Health/Check", body=b"\0\0\0\0\0",
                         headers={"Host": host, "Content-Type": "application/grpc", "TE": "trailers"})
            response = conn.getresponse()
            body = response.read()
            results.append((response.status, response.getheader("x-served-by") or body))
            if response.will_close:
                conn.close()
    finally:
        conn.close()
    return results


def grpc_call(cw, host):
    return grpc_calls(cw, host)[0]


def set_status(status_file, status):
    tmp = status_file.with_suffix(".tmp")
    tmp.write_text(status)
    tmp.replace(status_file)


@needs_node
def test_grpc_mode_follows_the_serving_status(start_whoami, start_causeway, node_peers, tmp_path):
    status_a, status_b = tmp_path / "a.status", tmp_path / "b.status"
    a = node_peers("grpc", "ga", str(status_a))
    b = node_peers("grpc", "gb", str(status_b))
    plain = node_peers("grpc", "plain", str(tmp_path / "plain.status"))
    set_status(tmp_path / "plain.status", "UNIMPLEMENTED")  # answers like a server without the service
    sentinel = start_whoami("sentinel")
    check = {"mode": "grpc", "path": "/", "interval": "200ms", "timeout": "500ms",
             "hostname": "health.grpc", "headers": {"X-Probe": "causeway"}}
    services = {"g": lb(f"h2c://127.0.0.1:{a.port}", f"h2c://127.0.0.1:{b.port}", healthCheck=check),
                # an http:// URL: the gRPC check is still cleartext HTTP/2
                "h": lb(f"http://127.0.0.1:{b.port}", healthCheck=check),
                "p": lb(f"h2c://127.0.0.1:{plain.port}", healthCheck=check)}
    routers = {"g": router("grpc.test", "g"), "p": router("plain.test", "p")}
    cw = start(start_causeway, routers, services, sentinel.url)

    # The checks reach the servers with the hostname (:authority) and the headers (metadata).
    wait_until(lambda: a.output().count('"check"') >= 2, timeout=5)
    line = next(json.loads(l) for l in a.output().splitlines() if l.startswith('{"check"'))
    assert line["authority"] == "health.grpc"
    assert line["metadata"]["x-probe"] == "causeway"
    wait_until(lambda: b.output().count('"check"') >= 4, timeout=5)  # g and h both check b

    def served(n=10):
        return collections.Counter(served_by for _, served_by in grpc_calls(cw, "grpc.test", n))
    assert served() == {"ga": 5, "gb": 5}
    set_status(status_a, "NOT_SERVING")
    wait_until(lambda: served() == {"gb": 10}, timeout=3)
    log = wait_until(lambda: cw.output() if "received gRPC status code: NOT_SERVING" in cw.output() else None,
                     timeout=3)
    assert "server is DOWN" in log
    set_status(status_b, "NOT_SERVING")  # every server down: 503

    def unavailable():
        status, body = grpc_call(cw, "grpc.test")
        return (status, body) if status == 503 else None
    assert wait_until(unavailable, timeout=3) == (503, b"no available server\n")
    set_status(status_a, "SERVING")
    set_status(status_b, "SERVING")
    wait_until(lambda: served() == {"ga": 5, "gb": 5}, timeout=3)
    assert "server is UP" in cw.output()

    # A server without the health service stays out of rotation.
    assert grpc_call(cw, "plain.test")[0] == 503
    assert "gRPC server does not implement the health protocol" in cw.output()


@needs_node
def test_grpc_mode_over_tls(start_whoami, start_causeway, node_peers, tmp_path):
    from tls_certs import Pki
    pki = Pki(tmp_path)
    leaf = pki.issue(pki.ca(), "localhost", dns=["localhost"])
    status = tmp_path / "tls.status"
    peer = node_peers("grpc", "gtls", str(status), str(leaf.cert), str(leaf.key))
    sentinel = start_whoami("sentinel")
    check = {"mode": "grpc", "path": "/", "interval": "200ms", "timeout": "1s"}
    services = {"s": lb(f"https://127.0.0.1:{peer.port}", serversTransport="insecure", healthCheck=check)}
    cw = start_causeway(dynamic=dynamic({"r": router("grpctls.test", "s")}, services, sentinel=sentinel.url,
                                        transports={"insecure": {"insecureSkipVerify": True}}))
    routed(cw, READY)
    wait_until(lambda: peer.output().count('"check"') >= 2, timeout=5)
    assert grpc_call(cw, "grpctls.test") == (200, "gtls")
    set_status(status, "NOT_SERVING")
    wait_until(lambda: grpc_call(cw, "grpctls.test")[0] == 503, timeout=3)
    set_status(status, "SERVING")
    wait_until(lambda: grpc_call(cw, "grpctls.test") == (200, "gtls"), timeout=3)


@needs_node
def test_h2c_servers_are_checked_over_http2(start_whoami, start_causeway, node_peers):
    a, b = node_peers("h2c", "a"), node_peers("h2c", "b")
    sentinel = start_whoami("sentinel")
    services = {"s": lb(f"h2c://127.0.0.1:{a.port}", f"h2c://127.0.0.1:{b.port}", healthCheck=CHECK)}
    cw = start(start_causeway, {"r": router("h2c.test", "s")}, services, sentinel.url)
    wait_until(lambda: '"path":"/health"' in b.output(), timeout=3)  # the check arrived over HTTP/2
    assert names_of(cw, "h2c.test") == {"a": 10, "b": 10}
    port = b.port
    b.proc.send_signal(signal.SIGKILL)
    b.proc.wait()
    wait_until(lambda: names_of(cw, "h2c.test") == {"a": 20}, timeout=3)
    assert "server is DOWN" in cw.output()
    node_peers("h2c", "b", port=port)
    wait_until(lambda: names_of(cw, "h2c.test").get("b", 0) == 10, timeout=3)
    assert "server is UP" in cw.output()
