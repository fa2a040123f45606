"""Certificates shared by every replica (`certificatesResolvers.<name>.acme.sharedStorage`,
causeway's own; docs/acme.md), against pebble, with a real redis-server and a real etcd.

Two causeway instances, one resolver each, the same router. Pebble validates HTTP-01 on the
web port of instance A only (as a load balancer would send the CA to one replica). Instance B
starts first and takes the lock in the store; A finds the lock held, waits, and answers B's
HTTP-01 challenge from the store when pebble asks it. B stores the certificate; A serves the
same certificate (same serial) without ordering one itself; pebble issued exactly one.
A third instance started afterwards serves it from the store at once, with pebble stopped.
"""
import json

from acme_peer import ChallTestSrv, Pebble, needs_pebble
from admin_env import api_get
from etcd_peer import start_etcd  # noqa: F401 (a fixture)
from harness import Causeway, free_port, to_yaml, wait_until
from redis_peer import start_redis  # noqa: F401 (a fixture)
from tls_certs import peer_certificate

pytestmark = needs_pebble


def static(pebble, storage, shared):
    return to_yaml({"certificatesResolvers": {"le": {"acme": {
        "email": "ops@example.test", "storage": str(storage), "caServer": pebble.directory_url,
        "caCertificates": [pebble.ca_bundle_path], "keyType": "EC256",
        "httpChallenge": {"entryPoint": "web"},
        "sharedStorage": {**shared, "prefix": "cw-test/acme", "lockTTL": "1m"}}}}}) + "\napi:\n  insecure: true\n"


def dynamic(whoami_port):
    return {"app.yml": to_yaml({"http": {
        "routers": {"app": {"rule": "Host(`shared.example.test`)", "entryPoints": ["websecure"], "service": "who",
                            "tls": {"certResolver": "le"}}},
        "services": {"who": {"loadBalancer": {"servers": [{"url": f"http://127.0.0.1:{whoami_port}"}]}}}}})}


def pebble_serial(cw):
    try:
        cert = peer_certificate(cw.port("websecure"), "shared.example.test")
    except OSError:
        return None
    return cert["serial"] if "Pebble" in cert.get("issuer", "") else None


def run_two_replicas(tmp_path, who, shared, lock_held):
    dns = ChallTestSrv()
    web_a = free_port()
    pebble = Pebble(http_port=web_a, dns_port=dns.dns_port, env={"PEBBLE_AUTHZREUSE": "0"})
    started = []
    try:
        b = Causeway(entrypoints=("web", "websecure", "traefik"),
                     static_extra=static(pebble, tmp_path / "b.json", shared), dynamic=dynamic(who.port))
        started.append(b)
        assert wait_until(lambda: lock_held() or b.proc.poll() is not None, 30) and b.proc.poll() is None, \
            b.output()[-3000:]
        a = Causeway(entrypoints=("web", "websecure", "traefik"), ports={"web": web_a},
                     static_extra=static(pebble, tmp_path / "a.json", shared), dynamic=dynamic(who.port))
        started.append(a)
        serial_b = wait_until(lambda: pebble_serial(b), 60)
        assert serial_b, b.output()[-3000:] + a.output()[-3000:]
        serial_a = wait_until(lambda: pebble_serial(a), 20)
        assert serial_a == serial_b, (serial_a, serial_b)
        assert "ACME certificate not obtained" not in a.output() + b.output()
        # Both acme.json files hold it; both APIs name the resolver.
        for name, cw in (("a", a), ("b", b)):
            certificates = json.loads((tmp_path / f"{name}.json").read_text())["le"]["Certificates"]
            assert [c["domain"]["main"] for c in certificates] == ["shared.example.test"]
            _, _, listed = api_get(cw, "/api/certificates")
            assert [c["resolver"] for c in listed if c["provider"] == "acme"] == ["le"], listed
        pebble.stop()
        # A new replica serves it from the store, with no CA to ask.
        c = Causeway(entrypoints=("web", "websecure", "traefik"),
                     static_extra=static(pebble, tmp_path / "c.json", shared), dynamic=dynamic(who.port))
        started.append(c)
        assert wait_until(lambda: pebble_serial(c), 20) == serial_b, c.output()[-3000:]
        return serial_b
    finally:
        for cw in started:
            cw.stop()
        pebble.stop()
        dns.stop()


def test_two_replicas_share_one_certificate_through_redis(start_redis, start_whoami, tmp_path):
    redis = start_redis()
    who = start_whoami("app")

    def lock_held():
        return redis.command("KEYS", "cw-test/acme/le/locks/*")
    run_two_replicas(tmp_path, who, {"redis": {"endpoints": [f"127.0.0.1:{redis.port}"]}}, lock_held)
    keys = sorted(k if isinstance(k, str) else k.decode() for k in redis.command("KEYS", "cw-test/acme/*"))
    assert keys == ["cw-test/acme/le/account", "cw-test/acme/le/certificates/shared.example.test"], keys


def test_two_replicas_share_one_certificate_through_etcd(start_etcd, start_whoami, tmp_path):
    etcd = start_etcd()
    who = start_whoami("app")

    def lock_held():
        return etcd.ctl("get", "--prefix", "--keys-only", "cw-test/acme/le/locks/")
    run_two_replicas(tmp_path, who, {"etcd": {"endpoints": [f"127.0.0.1:{etcd.port}"]}}, lock_held)
    keys = sorted(k for k in etcd.ctl("get", "--prefix", "--keys-only", "cw-test/acme/").split("\n") if k)
    assert keys == ["cw-test/acme/le/account", "cw-test/acme/le/certificates/shared.example.test"], keys


def test_unreachable_store_is_an_error_on_the_router(start_whoami, tmp_path):
    dns = ChallTestSrv()
    pebble = Pebble(dns_port=dns.dns_port)
    who = start_whoami("app")
    cw = Causeway(entrypoints=("web", "websecure", "traefik"),
                  static_extra=static(pebble, tmp_path / "a.json", {"redis": {"endpoints": [f"127.0.0.1:{free_port()}"],
                                                                              "dialTimeout": "1s"}}),
                  dynamic=dynamic(who.port))
    try:
        def failed():
            _, _, listed = api_get(cw, "/api/certificates")
            return [c for c in listed if c["status"] == "error"]
        entries = wait_until(failed, 30)
        assert entries and "redis 127.0.0.1" in entries[0]["lastError"], cw.output()[-2000:]
    finally:
        cw.stop()
        pebble.stop()
        dns.stop()
