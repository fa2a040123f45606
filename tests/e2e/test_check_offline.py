"""`causeway check` validates a KV store's dump and `docker inspect` output offline, with the
messages a live provider would give: --kvDump (a JSON object of keys, etcdctl's
`get --prefix -w json`, `consul kv export`) stands for the configured KV provider, and
--dockerInspect for the docker provider.

Reference: docs/providers.md."""
import base64
import json
import subprocess

from docker_fake import DockerFake
from harness import BIN, to_yaml


def b64(s):
    return base64.b64encode(s.encode()).decode()


def check(tmp_path, providers, *extra):
    static = tmp_path / "static.yml"
    static.write_text(to_yaml({"entryPoints": {"web": {"address": "127.0.0.1:0"}}, "providers": providers}))
    out = subprocess.run([BIN, "check", f"--configFile={static}", *extra], capture_output=True, text=True, timeout=30)
    return out.returncode, out.stdout + out.stderr


KEYS = {"traefik/http/routers/app/rule": "Host(`app.test`)",
        "traefik/http/routers/app/service": "app",
        "traefik/http/routers/bad/rule": "Host(`x`",
        "traefik/http/routers/bad/service": "app",
        "traefik/http/services/app/loadBalancer/servers/0/url": "http://127.0.0.1:1"}


def test_kv_dumps_in_three_formats(tmp_path):
    formats = {
        "plain.json": KEYS,
        "etcdctl.json": {"header": {"revision": "9"}, "kvs": [{"key": b64(k), "value": b64(v), "mod_revision": "9"}
                                                                for k, v in KEYS.items()], "count": str(len(KEYS))},
        "consul.json": [{"key": k, "flags": 0, "value": b64(v)} for k, v in KEYS.items()] + [{"key": "traefik/", "flags": 0, "value": None}],
    }
    # The live store is not there: the dump stands for it (no connection is tried).
    providers = {"etcd": {"endpoints": ["127.0.0.1:1"]}}
    for name, content in formats.items():
        (tmp_path / name).write_text(json.dumps(content))
        code, out = check(tmp_path, providers, f"--kvDump={tmp_path / name}")
        assert code == 1, out
        assert "router bad@etcd" in out and "routers: 1 enabled of 2" in out, (name, out)
        assert "cannot read" not in out
    (tmp_path / "junk.json").write_text("[1, 2")
    code, out = check(tmp_path, providers, f"--kvDump={tmp_path / 'junk.json'}")
    assert code == 1 and "not JSON" in out
    code, out = check(tmp_path, {}, f"--kvDump={tmp_path / 'plain.json'}")
    assert code == 1 and "configure the KV provider" in out


def test_docker_inspect(tmp_path):
    fake = DockerFake(str(tmp_path / "docker.sock"))
    try:
        fake.add("web-1", {"traefik.http.routers.web.rule": "Host(`web.test`)"}, ports=[8080])
        fake.add("broken-1", {"traefik.http.routers.b.rule": "Host(`b`"}, ports=[8080])
        inspect = list(fake.containers.values())
    finally:
        fake.close()
    (tmp_path / "inspect.json").write_text(json.dumps(inspect))
    code, out = check(tmp_path, {"docker": {"endpoint": "unix:///nonexistent.sock"}},
                      f"--dockerInspect={tmp_path / 'inspect.json'}")
    assert code == 1, out
    assert "router b@docker" in out and "routers: 1 enabled of 2" in out, out
