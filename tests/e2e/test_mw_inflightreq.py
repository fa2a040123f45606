"""inFlightReq: `amount` requests in flight per source for the whole process (two workers),
429 "max connections reached: N" beyond; the source is the request Host by default.

Reference: docs/compatibility.md (middleware InFlightReq)."""
import threading
import time

from mwkit import get, request, start, values, wait_log


def concurrent(cw, calls):
    """Runs request() calls (kwargs dicts) at the same time, each on its own connection."""
    results = [None] * len(calls)

    def run(i, kwargs):
        results[i] = request(cw, **kwargs)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


def test_limit_holds_across_workers(start_whoami, start_causeway):
    w = start_whoami()
    cw = start(start_causeway, w.url, workers=2, middlewares={"limit": {"inFlightReq": {"amount": 2}}},
               routers={"r": ("Host(`a.test`)", ["limit"])})
    started = time.time()
    results = concurrent(cw, [dict(host="a.test", path="/?wait=1500ms")] * 6)
    statuses = sorted(r[0] for r in results)
    assert statuses == [200, 200, 429, 429, 429, 429], statuses
    rejected = [r for r in results if r[0] == 429]
    for _, headers, body in rejected:
        assert body == b"max connections reached: 2"
        assert values(headers, "Content-Type") == ["text/plain; charset=utf-8"]
    assert time.time() - started < 10
    # Slots come back when the requests end.
    results = concurrent(cw, [dict(host="a.test", path="/?wait=200ms")] * 2)
    assert [r[0] for r in results] == [200, 200]


def test_default_source_is_the_host_and_header_criterion(start_whoami, start_causeway):
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "byhost": {"inFlightReq": {"amount": 1}},
        "byheader": {"inFlightReq": {"amount": 1, "sourceCriterion": {"requestHeaderName": "X-Tenant"}}},
        "byip": {"inFlightReq": {"amount": 1, "sourceCriterion": {"ipStrategy": {}}}},
    }, routers={"h": ("HostRegexp(`^(a|b)\\.host$`)", ["byhost"]), "t": ("Host(`t.test`)", ["byheader"]),
                "i": ("HostRegexp(`^(a|b)\\.ip$`)", ["byip"])})
    slow = "/?wait=1s"
    # Different hosts count separately, the same host does not.
    results = concurrent(cw, [dict(host="a.host", path=slow), dict(host="b.host", path=slow)])
    assert [r[0] for r in results] == [200, 200]
    results = concurrent(cw, [dict(host="a.host", path=slow), dict(host="a.host", path=slow)])
    assert sorted(r[0] for r in results) == [200, 429]
    # By header value.
    results = concurrent(cw, [dict(host="t.test", path=slow, headers={"X-Tenant": "one"}),
                              dict(host="t.test", path=slow, headers={"X-Tenant": "two"})])
    assert [r[0] for r in results] == [200, 200]
    results = concurrent(cw, [dict(host="t.test", path=slow, headers={"X-Tenant": "one"}),
                              dict(host="t.test", path=slow, headers={"X-Tenant": "one"})])
    assert sorted(r[0] for r in results) == [200, 429]
    # By client IP: both come from 127.0.0.1 whatever the Host.
    results = concurrent(cw, [dict(host="a.ip", path=slow), dict(host="b.ip", path=slow)])
    assert sorted(r[0] for r in results) == [200, 429]


def test_amount_zero_and_errors(start_whoami, start_causeway):
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "zero": {"inFlightReq": {}},
        "both": {"inFlightReq": {"amount": 1, "sourceCriterion": {"requestHost": True, "requestHeaderName": "X"}}},
    }, routers={"z": ("Host(`z.test`)", ["zero"]), "b": ("Host(`b.test`)", ["both"])})
    status, _, body = request(cw, "z.test")
    assert (status, body) == (429, b"max connections reached: 0")
    wait_log(cw, "requestHost and RequestHeaderName are mutually exclusive")
    assert get(cw, "b.test")[0] == 404
