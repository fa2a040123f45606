"""distributedRateLimit: two causeway instances share limits through a real redis-server (token
bucket and sliding window, X-RateLimit-* headers, sources, a rate limit with a quota as API plans
have them), Redis stopped under denyOnError
true and false, and a Sentinel failover (Debian's redis-sentinel) in the middle of traffic.

Reference: docs/api-gateway.md ("distributedRateLimit")."""
import subprocess
import time

import pytest

from harness import free_port, to_yaml, wait_until
from mwkit import READY, get, lb
from harness import routed
from redis_peer import Sentinel, needs_redis, needs_sentinel, start_redis  # noqa: F401 (fixture)

pytestmark = needs_redis


def config(upstream, middlewares):
    routers = {"sentinel": {"rule": f"Host(`{READY}`)", "service": "app"}}
    for name in middlewares:
        routers[name] = {"rule": f"Host(`{name}.test`)", "service": "app", "middlewares": [name]}
    return {"routing.yml": to_yaml({"http": {"routers": routers, "middlewares": middlewares,
                                             "services": {"app": lb(upstream)}}}) + "\n"}


def instances(start_causeway, upstream, middlewares, count=2):
    out = []
    for _ in range(count):
        cw = start_causeway(dynamic=config(upstream, middlewares))
        routed(cw, READY)
        out.append(cw)
    return out


def store(redis, **extra):
    return {"redis": {"endpoints": [f"127.0.0.1:{redis.port}"], "timeout": "1s", **extra}}


def test_two_instances_share_a_token_bucket(start_whoami, start_causeway, start_redis):
    redis = start_redis()
    w = start_whoami()
    mws = {"bucket": {"distributedRateLimit": {
        "limit": 5, "period": "1m", "burst": 5, "responseHeaders": True,
        "sourceCriterion": {"requestHeaderName": "X-Client"}, "store": store(redis)}}}
    a, b = instances(start_causeway, w.url, mws)
    statuses, remaining = [], []
    for i in range(7):
        cw = (a, b)[i % 2]
        status, headers, _ = get(cw, "bucket.test", headers=["X-Client: alice"])
        statuses.append(status)
        remaining.append(headers.get("x-ratelimit-remaining"))
        if status == 200:
            assert headers["x-ratelimit-limit"] == "5"
        else:
            assert int(headers["retry-after"]) >= 1
            assert int(headers["x-ratelimit-reset"]) >= 1
    assert statuses == [200] * 5 + [429] * 2, statuses
    assert remaining[:5] == ["4", "3", "2", "1", "0"], remaining
    # Another source has its own bucket, on either instance.
    assert get(b, "bucket.test", headers=["X-Client: bob"])[0] == 200
    keys = redis.command("KEYS", "causeway:drl:*")
    assert sorted(keys) == ["causeway:drl:bucket@file:alice", "causeway:drl:bucket@file:bob"], keys
    assert 0 < redis.command("PTTL", "causeway:drl:bucket@file:alice") <= 182000


def test_sliding_window(start_whoami, start_causeway, start_redis):
    redis = start_redis()
    w = start_whoami()
    mws = {"window": {"distributedRateLimit": {
        "limit": 3, "period": "2s", "algorithm": "slidingWindow", "responseHeaders": True,
        "store": store(redis, database=2)}}}
    a, b = instances(start_causeway, w.url, mws)
    # Start right after a window boundary, so the three fit in one window.
    time.sleep(2 - (time.time() % 2) + 0.05)
    got = [get((a, b)[i % 2], "window.test")[0] for i in range(5)]
    assert got == [200, 200, 200, 429, 429], got
    assert redis.command("KEYS", "*") == []  # database 2, not 0
    assert len(redis.command("KEYS", "*", db=2)) == 1
    # Two windows later everything the sliding window saw has aged out.
    time.sleep(4.1)
    assert get(a, "window.test")[0] == 200


def test_rate_limit_and_quota(start_whoami, start_causeway, start_redis):
    """A plan: 1 request/s with a burst of 2, and 3 requests per hour. A request one of them
    refuses costs neither; the quota's 429 says when the hour's window lets one more in."""
    redis = start_redis()
    w = start_whoami()
    mws = {"plan": {"distributedRateLimit": {
        "limit": 1, "period": "1s", "burst": 2, "quota": {"limit": 3, "period": "1h"},
        "responseHeaders": True, "sourceCriterion": {"requestHeaderName": "X-App"}, "store": store(redis)}}}
    a, b = instances(start_causeway, w.url, mws)

    def call(cw):
        status, headers, _ = get(cw, "plan.test", headers=["X-App: shop"])
        return status, headers

    s1, h1 = call(a)
    s2, h2 = call(b)
    assert (s1, s2) == (200, 200)
    assert (h1["x-quota-limit"], h1["x-quota-remaining"], h2["x-quota-remaining"]) == ("3", "2", "1")
    assert 0 < int(h2["x-quota-reset"]) <= 3600
    # The burst is spent: the rate limit refuses, and the quota keeps its last request.
    s3, h3 = call(a)
    assert s3 == 429 and h3["x-quota-remaining"] == "1" and int(h3["retry-after"]) <= 2
    time.sleep(1.1)
    s4, h4 = call(b)
    assert s4 == 200 and h4["x-quota-remaining"] == "0"
    time.sleep(1.1)
    # A token is back, but the quota is spent for the hour; the rate limit is not charged.
    before = redis.command("HGETALL", "causeway:drl:plan@file:shop")
    s5, h5 = call(a)
    assert s5 == 429 and h5["x-quota-remaining"] == "0" and int(h5["retry-after"]) > 60, h5
    assert int(h5["x-ratelimit-remaining"]) >= 1
    assert redis.command("HGETALL", "causeway:drl:plan@file:shop") == before
    # Another application has its own plan counters.
    assert get(b, "plan.test", headers=["X-App: blog"])[0] == 200
    assert redis.command("HGET", "causeway:drl:plan@file:shop", "q2") == "3"


def test_redis_stopped_deny_or_allow(start_whoami, start_causeway, start_redis):
    redis = start_redis()
    port = redis.port
    w = start_whoami()
    mws = {"closed": {"distributedRateLimit": {"limit": 100, "period": "1s", "burst": 100, "store": store(redis)}},
           "open": {"distributedRateLimit": {"limit": 100, "period": "1s", "burst": 100, "denyOnError": False,
                                             "store": store(redis)}}}
    (cw,) = instances(start_causeway, w.url, mws, count=1)
    assert get(cw, "closed.test")[0] == 200 and get(cw, "open.test")[0] == 200
    redis.stop()
    for _ in range(3):
        status, _, body = get(cw, "closed.test")
        assert status == 503, body
        assert get(cw, "open.test")[0] == 200
    assert "distributedRateLimit: the store cannot be used" in cw.output()
    assert cw.output().count("the store cannot be used") <= 2  # not one line per request
    # Redis comes back on the same port: limits work again.
    again = start_redis(port=port)
    wait_until(lambda: get(cw, "closed.test")[0] == 200, timeout=10, message="store back")
    assert again.command("KEYS", "causeway:drl:*")
    assert cw.proc.poll() is None


@needs_sentinel
def test_sentinel_failover(start_whoami, start_causeway, start_redis):
    master = start_redis()
    replica = start_redis(replicaof=master.port)
    sentinel = Sentinel(master.port)
    try:
        wait_until(lambda: replica.command("INFO", "replication").find("master_link_status:up") >= 0,
                   timeout=15, message="replica in sync")
        w = start_whoami()
        mws = {"ha": {"distributedRateLimit": {
            "limit": 1000, "period": "1s", "burst": 1000,
            "store": {"redis": {"endpoints": [f"127.0.0.1:{sentinel.port}"], "timeout": "500ms",
                                "sentinel": {"masterSet": "mymaster"}}}}}}
        a, b = instances(start_causeway, w.url, mws)
        assert get(a, "ha.test")[0] == 200 and get(b, "ha.test")[0] == 200
        assert master.command("KEYS", "causeway:drl:*")
        master.stop()
        wait_until(lambda: sentinel.master() == replica.port, timeout=30, interval=0.2, message="failover")
        # After the failover both instances find the new master (a few 503s may come first).
        for cw in (a, b):
            wait_until(lambda: get(cw, "ha.test")[0] == 200, timeout=15, interval=0.2, message="new master used")
        assert replica.command("KEYS", "causeway:drl:*")
        assert "master of the sentinel set" in a.output()
        assert a.proc.poll() is None and b.proc.poll() is None
    finally:
        sentinel.stop()


def test_redis_cluster(start_whoami, start_causeway, start_redis, tmp_path):
    """Three masters made into a Redis Cluster with redis-cli; causeway knows one of them. Keys of
    many sources spread over the nodes; each limit still holds, and after its first MOVED a key's
    script goes straight to its node."""
    nodes = []
    for i in range(3):
        d = tmp_path / f"node{i}"
        d.mkdir()
        # The cluster bus port is a free one too (by default it is the port + 10000).
        nodes.append(start_redis(extra=["--cluster-enabled", "yes", "--cluster-port", str(free_port()),
                                        "--dir", str(d), "--cluster-config-file", str(d / "nodes.conf")]))
    made = subprocess.run(["redis-cli", "--cluster", "create", *[f"127.0.0.1:{n.port}" for n in nodes],
                           "--cluster-replicas", "0", "--cluster-yes"], capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stdout + made.stderr
    wait_until(lambda: all("cluster_state:ok" in n.command("CLUSTER", "INFO") for n in nodes), timeout=20,
               message="cluster ready")
    w = start_whoami()
    mws = {"spread": {"distributedRateLimit": {
        "limit": 2, "period": "1m", "burst": 2, "sourceCriterion": {"requestHeaderName": "X-Client"},
        "store": {"redis": {"endpoints": [f"127.0.0.1:{nodes[0].port}"], "timeout": "1s", "cluster": {}}}}}}
    a, b = instances(start_causeway, w.url, mws)
    clients = [f"c{i}" for i in range(12)]
    rounds = 10
    for round_ in range(rounds):
        for i, c in enumerate(clients):
            status = get((a, b)[(i + round_) % 2], "spread.test", headers=[f"X-Client: {c}"])[0]
            assert status == (200 if round_ < 2 else 429), (c, round_, status)
    per_node = [len(n.command("KEYS", "causeway:drl:*")) for n in nodes]
    assert sum(per_node) == len(clients) and sum(1 for k in per_node if k) >= 2, per_node
    # Keys away from the node causeway was given cost a MOVED until each worker (2 instances × 2)
    # has learned their node, not on every request.
    away = len(clients) - per_node[0]
    assert moved_answers(nodes) <= away * 4 < away * rounds


def moved_answers(nodes):
    """How many commands the nodes answered with MOVED (INFO errorstats), summed."""
    total = 0
    for n in nodes:
        for line in n.command("INFO", "errorstats").splitlines():
            if line.startswith("errorstat_MOVED:"):
                total += int(line.split("count=")[1].split(",")[0])
    return total


def test_configuration_errors(start_whoami, start_causeway):
    w = start_whoami()
    mws = {"nolimit": {"distributedRateLimit": {"store": {"redis": {"endpoints": ["127.0.0.1:1"]}}}},
           "nostore": {"distributedRateLimit": {"limit": 5}},
           "algo": {"distributedRateLimit": {"limit": 5, "algorithm": "leaky",
                                             "store": {"redis": {"endpoints": ["127.0.0.1:1"]}}}},
           "both": {"distributedRateLimit": {"limit": 5, "store": {"redis": {
               "endpoints": ["127.0.0.1:1"], "cluster": {}, "sentinel": {"masterSet": "m"}}}}},
           "quota": {"distributedRateLimit": {"limit": 5, "quota": {"limit": 10, "period": "10000h"},
                                              "store": {"redis": {"endpoints": ["127.0.0.1:1"]}}}}}
    cw = start_causeway(dynamic=config(w.url, mws))
    routed(cw, READY)
    out = cw.output()
    assert "limit must be positive" in out
    assert "store.redis.endpoints is required" in out
    assert "algorithm must be tokenBucket or slidingWindow" in out
    assert "cluster and sentinel cannot both be set" in out
    assert "quota needs a positive limit and a period from 1s to 9999h" in out
    for name in mws:
        assert get(cw, f"{name}.test")[0] == 404
