"""ipAllowList (and the deprecated ipWhiteList): sourceRange, ipStrategy (depth,
excludedIPs), rejectStatusCode; rejected requests get the status text as body.

Reference: docs/compatibility.md (middlewares) (IPAllowList, shared ipStrategy)."""
from mwkit import get, request, start, values, wait_log

INSECURE = {"web": "forwardedHeaders:\n  insecure: true"}


def test_peer_address_in_or_out_of_range(start_whoami, start_causeway):
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "local": {"ipAllowList": {"sourceRange": ["10.0.0.0/8", "127.0.0.1"]}},
        "remote": {"ipAllowList": {"sourceRange": ["10.0.0.0/8", "::1"]}},
        "teapot": {"ipAllowList": {"sourceRange": ["192.0.2.0/24"], "rejectStatusCode": 404}},
        "legacy": {"ipWhiteList": {"sourceRange": ["192.0.2.0/24"]}},
    }, routers={"a": ("Host(`a.test`)", ["local"]), "b": ("Host(`b.test`)", ["remote"]),
                "c": ("Host(`c.test`)", ["teapot"]), "d": ("Host(`d.test`)", ["legacy"])})
    assert get(cw, "a.test")[0] == 200
    status, headers, body = request(cw, "b.test")
    assert status == 403
    assert body == b"Forbidden"
    assert values(headers, "Content-Type") == ["text/plain; charset=utf-8"]
    assert values(headers, "X-Content-Type-Options") == []
    status, _, body = request(cw, "c.test")
    assert (status, body) == (404, b"Not Found")
    status, _, body = request(cw, "d.test")
    assert (status, body) == (403, b"Forbidden")
    # Forwarded headers from an untrusted peer do not matter without an ipStrategy.
    assert get(cw, "b.test", headers=["X-Forwarded-For: 10.1.2.3"])[0] == 403


def test_ip_strategy_depth_and_excluded_ips(start_whoami, start_causeway):
    w = start_whoami()
    cw = start(start_causeway, w.url, entrypoint_extra=INSECURE, middlewares={
        "depth": {"ipAllowList": {"sourceRange": ["10.0.0.0/8"], "ipStrategy": {"depth": 2}}},
        "excluded": {"ipAllowList": {"sourceRange": ["10.0.0.0/8"],
                                     "ipStrategy": {"excludedIPs": ["192.0.2.0/24", "198.51.100.7"]}}},
        "plain": {"ipAllowList": {"sourceRange": ["127.0.0.1"], "ipStrategy": {}}},
    }, routers={"a": ("Host(`a.test`)", ["depth"]), "b": ("Host(`b.test`)", ["excluded"]),
                "c": ("Host(`c.test`)", ["plain"])})
    xff = lambda v: [f"X-Forwarded-For: {v}"]  # noqa: E731
    assert get(cw, "a.test", headers=xff("1.1.1.1, 10.0.0.5, 192.0.2.1"))[0] == 200
    assert get(cw, "a.test", headers=xff("10.0.0.5, 1.1.1.1, 192.0.2.1"))[0] == 403
    assert get(cw, "a.test", headers=xff("10.0.0.5"))[0] == 403  # too short: no client IP
    assert get(cw, "a.test")[0] == 403
    assert get(cw, "b.test", headers=xff("1.1.1.1, 10.9.9.9, 198.51.100.7, 192.0.2.44"))[0] == 200
    assert get(cw, "b.test", headers=xff("10.9.9.9, 1.1.1.1, 192.0.2.44"))[0] == 403
    assert get(cw, "b.test", headers=xff("192.0.2.44"))[0] == 403  # everything excluded
    # An empty ipStrategy is the peer address.
    assert get(cw, "c.test", headers=xff("8.8.8.8"))[0] == 200


def test_configuration_errors(start_whoami, start_causeway):
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "empty": {"ipAllowList": {"ipStrategy": {"depth": 1}}},
        "bad": {"ipAllowList": {"sourceRange": ["10.0.0.0/8", "not-an-ip"]}},
        "status": {"ipAllowList": {"sourceRange": ["10.0.0.0/8"], "rejectStatusCode": 999}},
        "subnet": {"ipAllowList": {"sourceRange": ["10.0.0.0/8"], "ipStrategy": {"ipv6Subnet": 300}}},
        "legacy": {"ipWhiteList": {"sourceRange": ["10.0.0.0/8"], "rejectStatusCode": 404}},
    }, routers={name: (f"Host(`{name}.test`)", [name]) for name in ["empty", "bad", "status", "subnet", "legacy"]})
    wait_log(cw, "sourceRange is empty")
    wait_log(cw, "not-an-ip")
    wait_log(cw, "invalid HTTP status code 999")
    wait_log(cw, "invalid IPv6 subnet 300")
    wait_log(cw, "rejectStatusCode")
    for name in ["empty", "bad", "status", "subnet", "legacy"]:
        assert get(cw, f"{name}.test")[0] == 404, name
