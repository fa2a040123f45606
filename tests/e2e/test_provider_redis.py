"""providers.redis end to end: a real redis-server holds the dynamic configuration in Traefik's KV
layout, written with redis-cli; causeway serves it, follows changes (under wrk load, without a
failed request), keeps the last good configuration while Redis is gone and reads again when it is
back; through Redis Sentinel, across a failover; a malformed key or an unknown field is an error
naming the key, and the rest keeps serving.

Reference: docs/providers.md ("Redis")."""
import shutil
import subprocess

from harness import Causeway, provider_outage, to_yaml, wait_until
from mwkit import get
from redis_peer import Sentinel, needs_redis, needs_sentinel, start_redis  # noqa: F401 (fixture)

pytestmark = needs_redis


def cli(redis, *args):
    out = subprocess.run(["redis-cli", "-p", str(redis.port), *args], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def write(redis, pairs):
    for key, value in pairs.items():
        cli(redis, "SET", key, value)


def app_keys(upstream, rule="Host(`app.test`)"):
    return {
        "traefik/http/routers/app/rule": rule,
        "traefik/http/routers/app/service": "app",
        "traefik/http/routers/app/entryPoints/0": "web",
        "traefik/http/routers/app/middlewares/0": "tag",
        "traefik/http/middlewares/tag/headers/customResponseHeaders/X-From": "redis",
        "traefik/http/services/app/loadBalancer/servers/0/url": upstream,
    }


def start(redis, dynamic=None):
    providers = {"redis": {"endpoints": [f"127.0.0.1:{redis.port}"], "pollInterval": "200ms"}}
    return Causeway(dynamic=dynamic or {}, providers_extra=providers, entrypoints=("web", "traefik"),
                    static_extra="api:\n  insecure: true\n")


def test_serves_follows_and_survives(start_whoami, start_redis):
    redis = start_redis()
    w = start_whoami()
    write(redis, app_keys(w.url))
    # A file router may name the Redis service, qualified as Traefik does.
    cw = start(redis, {"f.yml": to_yaml({"http": {"routers": {"viafile": {
        "rule": "Host(`file.test`)", "service": "app@redis"}}}})})
    try:
        wait_until(lambda: get(cw, "app.test")[0] == 200, timeout=10, message="served from redis")
        status, headers, _ = get(cw, "app.test")
        assert headers.get("x-from") == "redis"
        assert get(cw, "file.test")[0] == 200

        # A change is served within a few polls; the old rule stops.
        cli(redis, "SET", "traefik/http/routers/app/rule", "Host(`app2.test`)")
        wait_until(lambda: get(cw, "app2.test")[0] == 200, timeout=10, message="change served")
        assert get(cw, "app.test")[0] == 404

        # Changes under load: wrk sees no failed request while routers come and go.
        if shutil.which("wrk"):
            load = subprocess.Popen(["wrk", "-t1", "-c8", "-d3s", "-H", "Host: app2.test", cw.url()],
                                    stdout=subprocess.PIPE, text=True)
            for i in range(5):
                write(redis, {f"traefik/http/routers/extra{i}/rule": f"Host(`e{i}.test`)",
                              f"traefik/http/routers/extra{i}/service": "app"})
                cli(redis, "DEL", f"traefik/http/routers/extra{i - 1}/rule")
            out, _ = load.communicate(timeout=30)
            assert "requests in" in out and "Non-2xx" not in out and "Socket errors" not in out, out

        # Redis gone: the last good configuration keeps serving, and the error is said once.
        port = redis.port
        redis.stop()
        wait_until(lambda: "cannot read the configuration" in cw.output(), timeout=10, message="store error")
        assert get(cw, "app2.test")[0] == 200
        assert cw.output().count("cannot read the configuration") == 1
        # …and shown as a warning in the API (and so the dashboard) while it lasts.
        wait_until(lambda: provider_outage(cw),
                   timeout=10, message="provider warning in the API")
        # Back (empty, as a restarted Redis without persistence is): the keys written again are read.
        again = start_redis(port=port)
        write(again, app_keys(w.url, "Host(`app3.test`)"))
        wait_until(lambda: get(cw, "app3.test")[0] == 200, timeout=10, message="store back")
        assert "the store answers again" in cw.output()
        wait_until(lambda: not provider_outage(cw),
                   timeout=10, message="provider warning cleared")
    finally:
        cw.stop()


def test_keyspace_notifications_make_changes_immediate(start_whoami, start_redis):
    """With the server's keyspace notifications on, a change is read at once, not at the next
    poll (here a minute away)."""
    redis = start_redis(extra=["--notify-keyspace-events", "KA"])
    w = start_whoami()
    write(redis, app_keys(w.url))
    cw = Causeway(providers_extra={"redis": {"endpoints": [f"127.0.0.1:{redis.port}"], "pollInterval": "60s"}})
    try:
        wait_until(lambda: get(cw, "app.test")[0] == 200, timeout=10, message="first read")
        wait_until(lambda: int(redis.command("PUBSUB", "NUMPAT")) == 1, timeout=10, message="subscribed")
        cli(redis, "SET", "traefik/http/routers/app/rule", "Host(`now.test`)")
        wait_until(lambda: get(cw, "now.test")[0] == 200, timeout=10, message="change read at once")
    finally:
        cw.stop()


@needs_sentinel
def test_through_sentinel_across_a_failover(start_whoami, start_redis):
    master = start_redis()
    replica = start_redis(replicaof=master.port)
    sentinel = Sentinel(master.port)
    try:
        w = start_whoami()
        write(master, app_keys(w.url))
        providers = {"redis": {"endpoints": [f"127.0.0.1:{sentinel.port}"], "pollInterval": "200ms",
                               "sentinel": {"masterName": "mymaster"}}}
        cw = Causeway(providers_extra=providers)
        try:
            wait_until(lambda: get(cw, "app.test")[0] == 200, timeout=10, message="served through sentinel")
            wait_until(lambda: "master_link_status:up" in replica.command("INFO", "replication"), timeout=15,
                       message="replica in sync")
            master.stop()
            wait_until(lambda: sentinel.master() == replica.port, timeout=30, interval=0.2, message="failover")
            # Written to the new master: the provider follows the sentinels there.
            cli(replica, "SET", "traefik/http/routers/app/rule", "Host(`after.test`)")
            wait_until(lambda: get(cw, "after.test")[0] == 200, timeout=15, message="new master read")
            assert get(cw, "app.test")[0] == 404
        finally:
            cw.stop()
    finally:
        sentinel.stop()


def test_bad_keys_are_errors_on_their_element(start_whoami, start_redis):
    redis = start_redis()
    w = start_whoami()
    write(redis, app_keys(w.url))
    write(redis, {"traefik/http//broken": "x",
                  "traefik/http/routers/bad/rule": "Host(`bad.test`)",
                  "traefik/http/routers/bad/service": "app",
                  "traefik/http/routers/bad/bogusOption": "1",
                  "other/http/routers/ignored/rule": "Host(`ignored.test`)"})
    cw = start(redis)
    try:
        wait_until(lambda: get(cw, "app.test")[0] == 200, timeout=10, message="served from redis")
        out = cw.output()
        assert "traefik/http//broken" in out and "without empty segments" in out
        assert "bogusOption" in out and "traefik/http/routers/bad/bogusOption" in out
        assert get(cw, "ignored.test")[0] == 404  # outside rootKey
    finally:
        cw.stop()


def test_check_reads_the_store(start_redis, tmp_path):
    """`causeway check` loads the keys once, with the same messages, without serving."""
    import os
    redis = start_redis()
    write(redis, {"traefik/http/routers/r/rule": "Host(`x`)", "traefik/http/routers/r/service": "missing"})
    static = tmp_path / "causeway.yml"
    static.write_text(to_yaml({"entryPoints": {"web": {"address": "127.0.0.1:1"}},
                               "providers": {"redis": {"endpoints": [f"127.0.0.1:{redis.port}"]}}}) + "\n")
    out = subprocess.run([os.environ.get("CAUSEWAY_BIN", "causeway"), "check", f"--configFile={static}"],
                         capture_output=True, text=True, timeout=30)
    assert "missing" in out.stdout + out.stderr, out


def test_api_management_from_the_store(start_whoami, start_redis):
    """API management resources in Traefik's KV layout (apiManagement/...): an API, its plan, an
    application's key and a subscription read from Redis; the api middleware enforces them."""
    redis = start_redis()
    w = start_whoami()
    am = "traefik/apiManagement/"
    write(redis, {
        "traefik/http/routers/api/rule": "Host(`api.test`)",
        "traefik/http/routers/api/service": "app",
        "traefik/http/routers/api/middlewares/0": "pub",
        "traefik/http/middlewares/pub/api/name": "weather",
        "traefik/http/services/app/loadBalancer/servers/0/url": w.url,
        am + "apis/weather/title": "Weather",
        am + "apiAuths/keys/isDefault": "true",
        am + "apiAuths/keys/apiKey/keySource/query": "key",
        am + "apiPlans/one/quota/limit": "1",
        am + "apiPlans/one/quota/period": "1h",
        am + "managedApplications/shop/apiKeys/0/value": "key-shop",
        am + "managedSubscriptions/s/managedApplications/0/name": "shop",
        am + "managedSubscriptions/s/apis/0/name": "weather",
        am + "managedSubscriptions/s/apiPlan/name": "one",
    })
    cw = start(redis)
    try:
        wait_until(lambda: get(cw, "api.test")[0] == 401, timeout=10, message="the API served from redis")
        assert get(cw, "api.test", "/?key=key-shop")[0] == 200
        assert get(cw, "api.test", "/?key=key-shop")[0] == 429
        assert get(cw, "api.test", "/?key=other")[0] == 401
    finally:
        cw.stop()
