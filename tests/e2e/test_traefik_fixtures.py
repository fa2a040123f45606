"""Traefik's own configuration examples load in causeway as they load in Traefik.

tests/fixtures/traefik/ holds 200 configuration files from Traefik's repository (its
integration-test fixtures and the v3 reference documentation; README.md there). For each,
`causeway check` must agree with tests/fixtures/traefik/expected.json:
  - "load": no error at all, or exactly the listed errors (those Traefik reports too: a
    deliberately broken router, an unreadable certificate path from the documentation...);
    warnings about options causeway does not implement yet are allowed (exit status 3);
  - "fail": the configuration is refused, for the listed reason.
Certificate files the fixtures name by relative path (Traefik's test certificates) are made
here with openssl, one key per name.

Set CAUSEWAY_RECORD_FIXTURES=path to write what causeway printed for every fixture.
"""
import json
import os
import pathlib
import re
import shutil
import subprocess
import tomllib

import pytest
import yaml

from harness import BIN

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "traefik"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())
CERT_PATH = re.compile(r"(?<![\w/.-])((?:fixtures|resources|integration|tests)/[\w./-]+\.(?:crt|cert|pem|key))\b")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A copy of the fixtures at their repository path, with the certificates they name."""
    work = tmp_path_factory.mktemp("traefik-fixtures")
    shutil.copytree(FIXTURES, work / "tests" / "fixtures" / "traefik")
    names = set()
    for path in FIXTURES.rglob("*"):
        if path.suffix in (".toml", ".yml", ".yaml"):
            names.update(CERT_PATH.findall(path.read_text(errors="replace")))
    for name in sorted(names):
        stem = re.sub(r"\.(crt|cert|pem|key)$", "", name)
        key, cert = work / (stem + ".key.generated"), work / (stem + ".cert.generated")
        if not key.exists():
            key.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                            "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "30", "-subj",
                            "/CN=" + pathlib.Path(stem).name, "-addext",
                            "subjectAltName=DNS:" + pathlib.Path(stem).name.replace("wildcard.", "*.")],
                           check=True, capture_output=True)
        target = work / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(key if name.endswith(".key") else cert, target)
    return work


def load_any(path):
    text = path.read_text()
    return tomllib.loads(text) if path.suffix == ".toml" else (yaml.safe_load(text) or {})


def entry_points_of(config):
    """The entryPoint names the routers of a dynamic configuration use."""
    names = set()
    for section in ("http", "tcp", "udp"):
        for router in ((config.get(section) or {}).get("routers") or {}).values():
            names.update((router or {}).get("entryPoints") or [])
    return names or {"web"}


def check(workdir, rel, kind):
    path = workdir / rel
    args = [BIN, "check", "--acceptUnsupported"]
    if kind == "dynamic":
        static = path.with_name(path.name + ".static.yml")
        eps = "".join(f"  {n}:\n    address: \"127.0.0.1:{9100 + i}\"\n"
                      for i, n in enumerate(sorted(entry_points_of(load_any(path)))))
        static.write_text(f"entryPoints:\n{eps}providers:\n  file:\n    filename: \"{path}\"\n")
        args.append(f"--configFile={static}")
    else:
        args.append(f"--configFile={path}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAUSEWAY_", "TRAEFIK_"))}
    env["HOME"] = str(workdir)
    out = subprocess.run(args, cwd=str(workdir), env=env, capture_output=True, text=True, timeout=30)
    return out.returncode, (out.stdout + out.stderr).splitlines()


def test_every_fixture_is_listed():
    on_disk = {str(p.relative_to(ROOT)) for p in FIXTURES.rglob("*")
               if p.suffix in (".toml", ".yml", ".yaml")}
    assert on_disk == set(EXPECTED), sorted(on_disk ^ set(EXPECTED))


@pytest.mark.parametrize("rel", sorted(EXPECTED))
def test_fixture(workdir, rel, record):
    spec = EXPECTED[rel]
    status, lines = check(workdir, rel, spec["kind"])
    errors = [l[len("error: "):] for l in lines if l.startswith("error: ")]
    record[rel] = {"status": status, "errors": errors}
    expected = spec.get("errors", [])
    if spec["expect"] == "fail":
        assert status == 1, lines
        assert any(e in line for e in expected for line in errors), (expected, errors)
        return
    if not expected:
        assert status == 0, "\n".join(lines)
        return
    assert status == 1, lines
    unexplained = [line for line in errors if not any(e in line for e in expected)]
    assert unexplained == [], unexplained
    missing = [e for e in expected if not any(e in line for line in errors)]
    assert missing == [], (missing, errors)


@pytest.fixture(scope="module")
def record():
    seen = {}
    yield seen
    if os.environ.get("CAUSEWAY_RECORD_FIXTURES"):
        pathlib.Path(os.environ["CAUSEWAY_RECORD_FIXTURES"]).write_text(json.dumps(seen, indent=1, sort_keys=True))
