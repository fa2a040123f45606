"""retry: network errors (the upstream never got the request) are retried on the next
server, for any method; status retries (v3.7 `status`) only for idempotent methods unless
retryNonIdempotentMethod, and only for bodies up to maxRequestBodyBytes; attempts, backoff
(initialInterval) and timeout bound the retries.

Reference: docs/compatibility.md (middleware Retry); Traefik pkg/middlewares/retry/retry.go."""
import threading
import time

import pytest

from harness import Whoami, free_port, whoami_echo
from mw_upstream import Reply, start_upstream  # noqa: F401 (fixture)
from mwkit import request, start


class Flaky:
    """Answers `status` to the first `failures` requests on /work, then 200."""

    def __init__(self, failures, status=503):
        self.failures = failures
        self.status = status
        self.calls = 0
        self.bodies = []
        self.times = []
        self.lock = threading.Lock()

    def __call__(self, req):
        if req.path != "/work":
            return Reply(200, b"ok")
        with self.lock:
            self.calls += 1
            self.bodies.append(req.body)
            self.times.append(time.time())
            failing = self.calls <= self.failures
        if failing:
            return Reply(self.status, f"failure {self.calls}".encode())
        return Reply(200, f"success {self.calls}".encode())


def test_network_errors_go_to_the_next_server(start_whoami, start_causeway):
    alive = start_whoami("alive")
    dead = f"http://127.0.0.1:{free_port()}"
    cw = start(start_causeway, alive.url, middlewares={"retry": {"retry": {"attempts": 2}}},
               routers={"r": {"rule": "Host(`r.test`)", "service": "pair", "middlewares": ["retry"]},
                        "n": {"rule": "Host(`n.test`)", "service": "pair"}},
               services={"pair": {"loadBalancer": {"servers": [{"url": dead}, {"url": alive.url}]}}})
    for _ in range(10):
        status, _, body = request(cw, "r.test", "/", method="POST", body=b"0123456789")
        assert status == 200
        # Nothing reached the dead server, so even a POST is retried, with its body.
        assert whoami_echo(body)[2]["Body-Length"] == "10"
    assert 502 in [request(cw, "n.test")[0] for _ in range(6)]


def test_no_failed_request_when_an_upstream_dies(start_causeway):
    a, b = Whoami("a"), Whoami("b")
    try:
        cw = start(start_causeway, a.url, middlewares={"retry": {"retry": {"attempts": 3}}},
                   routers={"r": {"rule": "Host(`r.test`)", "service": "pair", "middlewares": ["retry"]}},
                   services={"pair": {"loadBalancer": {"servers": [{"url": a.url}, {"url": b.url}]}}})
        names = set()
        for i in range(30):
            if i == 10:
                b.stop()
            status, _, body = request(cw, "r.test")
            assert status == 200, (i, body)
            names.add(whoami_echo(body)[2]["Name"])
        assert names == {"a", "b"}
    finally:
        a.stop()
        b.stop()


@pytest.fixture
def flaky_proxy(start_upstream, start_causeway):
    def make(flaky, retry):
        up = start_upstream(flaky)
        return start(start_causeway, up.url, middlewares={"retry": {"retry": retry}},
                     routers={"r": ("Host(`r.test`)", ["retry"])})
    return make


def test_status_retry_for_idempotent_methods(flaky_proxy):
    flaky = Flaky(failures=2)
    cw = flaky_proxy(flaky, {"attempts": 3, "status": ["500-503"]})
    status, _, body = request(cw, "r.test", "/work", method="PUT", body=b"payload")
    assert (status, body) == (200, b"success 3")
    assert flaky.bodies == [b"payload"] * 3  # the buffered body is replayed


def test_non_idempotent_methods_are_not_retried_by_default(flaky_proxy):
    flaky = Flaky(failures=1)
    cw = flaky_proxy(flaky, {"attempts": 3, "status": ["503"]})
    for method in ("POST", "PATCH", "LOCK"):
        flaky.calls, flaky.failures = 0, 1
        status, _, body = request(cw, "r.test", "/work", method=method, body=b"x")
        assert (status, body) == (503, b"failure 1"), method
        assert flaky.calls == 1


def test_retry_non_idempotent_method(flaky_proxy):
    flaky = Flaky(failures=1)
    cw = flaky_proxy(flaky, {"attempts": 3, "status": ["503"], "retryNonIdempotentMethod": True})
    status, _, body = request(cw, "r.test", "/work", method="POST", body=b"form=1")
    assert (status, body) == (200, b"success 2")
    assert flaky.bodies == [b"form=1", b"form=1"]


def test_attempts_bound_the_tries(flaky_proxy):
    flaky = Flaky(failures=100)
    cw = flaky_proxy(flaky, {"attempts": 4, "status": ["503"]})
    status, _, body = request(cw, "r.test", "/work")
    assert (status, body) == (503, b"failure 4")
    assert flaky.calls == 4


def test_large_bodies_are_not_status_retried(flaky_proxy):
    flaky = Flaky(failures=1)
    cw = flaky_proxy(flaky, {"attempts": 3, "status": ["503"], "maxRequestBodyBytes": 1000})
    status, _, body = request(cw, "r.test", "/work", method="PUT", body=b"b" * 1001)
    assert (status, body) == (503, b"failure 1")
    assert flaky.bodies == [b"b" * 1001]  # still forwarded whole
    flaky.calls = 0
    status, _, body = request(cw, "r.test", "/work", method="PUT", body=b"b" * 1000)
    assert (status, body) == (200, b"success 2")


def test_backoff_and_timeout(flaky_proxy):
    flaky = Flaky(failures=2)
    cw = flaky_proxy(flaky, {"attempts": 3, "status": ["503"], "initialInterval": "200ms"})
    assert request(cw, "r.test", "/work")[0] == 200
    waits = [b - a for a, b in zip(flaky.times, flaky.times[1:])]
    # ±50% around 200 ms, then around 200·√2 ms.
    assert 0.09 <= waits[0] <= 1.0, waits
    assert 0.13 <= waits[1] <= 1.2, waits


def test_timeout_stops_retrying(flaky_proxy):
    flaky = Flaky(failures=100)
    cw = flaky_proxy(flaky, {"attempts": 50, "status": ["503"], "initialInterval": "100ms", "timeout": "400ms"})
    started = time.time()
    status, _, body = request(cw, "r.test", "/work")
    elapsed = time.time() - started
    assert status == 503
    assert 3 <= flaky.calls < 15, flaky.calls
    assert elapsed < 2.5


def test_invalid_configurations(start_upstream, start_causeway):
    up = start_upstream(lambda req: Reply(200, b"ok"))
    cw = start(start_causeway, up.url, middlewares={
        "zero": {"retry": {"attempts": 0}},
        "nothing": {"retry": {"attempts": 2, "disableRetryOnNetworkError": True}},
        "badstatus": {"retry": {"attempts": 2, "status": ["50x"]}},
        "one": {"retry": {"attempts": 1}},
    }, routers={name: (f"Host(`{name}.test`)", [name]) for name in ["zero", "nothing", "badstatus", "one"]})
    assert request(cw, "zero.test")[0] == 404
    assert request(cw, "nothing.test")[0] == 404
    assert request(cw, "badstatus.test")[0] == 404
    assert request(cw, "one.test")[0] == 200
