"""Traefik configurations load as Traefik loads them, and nothing is ignored in silence.

- One file may hold the static and the dynamic configuration (Traefik's loaders each take their
  own root keys): `causeway` serves it with the file provider pointing at itself.
- The static configuration comes from one source (file, else flags, else environment), as in
  Traefik; what another source sets is a warning; --configLayering combines them.
- Flags parse as Traefik's parser does: `--key value`, `-key=value`, bare booleans.
- An option Traefik has and causeway does not implement is a warning with its file:line in
  `causeway check` (exit status 3, 0 with --acceptUnsupported), in the log at start, in
  /api/warnings and on the dashboard.
- Error texts: did-you-mean hints, the location printed once, every error of a router.
- --help for the program and each command; `version` prints the commit.
docs/compatibility.md lists what is supported.
"""
import json
import os
import subprocess
import textwrap

import pytest

from browser import Browser
from harness import BIN, Causeway, curl, free_port, wait_for_port, wait_log, wait_until


def run(args, cwd, env=None, timeout=20):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CAUSEWAY_", "TRAEFIK_"))}
    base["HOME"] = str(cwd)
    base.update(env or {})
    return subprocess.run([BIN, *args], cwd=str(cwd), env=base, capture_output=True, text=True, timeout=timeout)


def combined_file(path, port, whoami_port, extra_static="", extra_dynamic=""):
    path.write_text(textwrap.dedent(f"""\
        entryPoints:
          web:
            address: "127.0.0.1:{port}"
        providers:
          file:
            filename: "{path}"
        api:
          insecure: false
        """) + extra_static + textwrap.dedent(f"""\
        http:
          routers:
            app:
              rule: "PathPrefix(`/`)"
              service: app
          services:
            app:
              loadBalancer:
                servers:
                  - url: "http://127.0.0.1:{whoami_port}"
        """) + extra_dynamic)


def test_one_file_holds_static_and_dynamic_configuration(tmp_path, start_whoami):
    who = start_whoami()
    port = free_port()
    conf = tmp_path / "traefik.yml"
    combined_file(conf, port, who.port)
    out = run(["check", f"--configFile={conf}"], tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert not [l for l in out.stdout.splitlines() if l.startswith(("error:", "warning"))], out.stdout
    proc = subprocess.Popen([BIN, f"--configFile={conf}"], cwd=str(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_port(port)
        assert wait_until(lambda: curl(f"http://127.0.0.1:{port}/x")[0] == 200, 5)
    finally:
        proc.terminate()
        proc.wait(10)


def test_static_configuration_comes_from_one_source(tmp_path):
    conf = tmp_path / "traefik.yml"
    conf.write_text("entryPoints:\n  web:\n    address: ':8081'\nlog:\n  level: INFO\n")
    # A file exists: flags and variables are ignored, and said so.
    out = run(["check", "--log.level", "DEBUG"], tmp_path, {"TRAEFIK_LOG_FORMAT": "json"})
    assert out.returncode == 0, out.stdout
    assert "command line --log.level: log: ignored: the static configuration comes from" in out.stdout
    assert "environment TRAEFIK_LOG_FORMAT" in out.stdout and "--configLayering" in out.stdout
    # No file: flags (with Traefik's "--key value" and "-key=value" forms).
    conf.unlink()
    out = run(["check", "--entryPoints.web.address", "127.0.0.1:8082", "-log.level=DEBUG", "--ping"], tmp_path,
              {"TRAEFIK_LOG_LEVEL": "WARN"})
    assert out.returncode == 0, out.stdout
    assert "environment TRAEFIK_LOG_LEVEL: log: ignored: the static configuration comes from the command line" \
        in out.stdout
    # --configLayering combines them (file < environment < flags).
    conf.write_text("entryPoints:\n  web:\n    address: ':8081'\n")
    out = run(["check", "--configLayering", "--log.level=DEBUG"], tmp_path, {"TRAEFIK_LOG_LEVEL": "WARN"})
    assert out.returncode == 0, out.stdout
    assert "ignored" not in out.stdout


UNSUPPORTED_STATIC = textwrap.dedent("""\
    certificatesResolvers:
      ts:
        tailscale: {}
    """)


def test_unsupported_options_are_named_with_their_line(tmp_path):
    conf = tmp_path / "traefik.yml"
    combined_file(conf, free_port(), free_port(), UNSUPPORTED_STATIC,
                  "tls:\n  stores:\n    default:\n      defaultGeneratedCert:\n        resolver: le\n")
    text = conf.read_text().splitlines()
    resolvers_line = next(i for i, line in enumerate(text) if "tailscale:" in line) + 1
    generated_line = next(i for i, line in enumerate(text) if "defaultGeneratedCert:" in line) + 1
    out = run(["check", f"--configFile={conf}"], tmp_path)
    assert out.returncode == 3, out.stdout
    assert f"warning (not supported yet): {conf}:{resolvers_line}:" in out.stdout
    assert "certificatesResolvers.ts.tailscale: the Tailscale certificate resolver is not supported yet" in out.stdout
    assert f"{conf}:{generated_line}:" in out.stdout and "defaultGeneratedCert needs a certificate resolver" in out.stdout
    assert "exit status 3" in out.stdout
    out = run(["check", f"--configFile={conf}", "--acceptUnsupported"], tmp_path)
    assert out.returncode == 0, out.stdout


def test_unsupported_options_reach_the_log_the_api_and_the_dashboard(start_causeway, start_whoami):
    who = start_whoami()
    cw = start_causeway(entrypoints=("web", "traefik"), static_extra="api:\n  insecure: true\n" + UNSUPPORTED_STATIC,
                        dynamic={"app.yml": textwrap.dedent(f"""\
                            http:
                              routers:
                                app: {{rule: "PathPrefix(`/`)", service: app, entryPoints: [web]}}
                              services:
                                app:
                                  loadBalancer:
                                    servers: [{{url: "http://127.0.0.1:{who.port}"}}]
                            tls:
                              stores:
                                default:
                                  defaultGeneratedCert:
                                    resolver: le
                            """)})
    wait_log(cw, "the Tailscale certificate resolver is not supported yet")
    def warnings():
        status, _, body = curl(cw.url("traefik", "/api/warnings"))
        return json.loads(body) if status == 200 else []
    assert wait_until(lambda: len(warnings()) == 2, 5), warnings()
    by_message = {w["message"].split(":")[0]: w for w in warnings()}
    tailscale = by_message["certificatesResolvers.ts.tailscale"]
    assert tailscale["notSupportedYet"] is True
    tailscale_line = next(i for i, line in enumerate(cw.static_path.read_text().splitlines()) if "tailscale:" in line) + 1
    assert f"causeway.yml:{tailscale_line}:" in tailscale["location"], tailscale
    generated_line = next(i for i, line in enumerate((cw.dynamic_dir / "app.yml").read_text().splitlines())
                          if "defaultGeneratedCert:" in line) + 1
    generated = next(w for w in warnings() if "defaultGeneratedCert" in w["message"])
    assert generated["notSupportedYet"] is True
    assert f"app.yml:{generated_line}:" in generated["location"], generated
    with Browser() as browser:
        browser.goto(cw.url("traefik", "/dashboard/"))
        browser.wait("[data-testid=config-warnings]")
        text = browser.text("[data-testid=config-warnings]")
        assert "certificatesResolvers" in text and "not supported yet" in text
        assert browser.errors() == []


def test_error_texts_name_the_place_once_and_hint(tmp_path):
    conf = tmp_path / "traefik.yml"
    port = free_port()
    combined_file(conf, port, free_port(),
                  extra_dynamic="  middlewares:\n    hdrs:\n      headers:\n        stsSecond: 3\n")
    out = run(["check", f"--configFile={conf}"], tmp_path)
    assert out.returncode == 1
    line = next(l for l in out.stdout.splitlines() if "stsSecond" in l)
    assert line.count(str(conf)) == 1, line
    assert "did you mean 'stsSeconds'?" in line


@pytest.mark.parametrize("command", ["", "check", "healthcheck", "version", "whoami"])
def test_help_for_every_command(tmp_path, command):
    out = run(([command] if command else []) + ["--help"], tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "unknown key" not in out.stdout + out.stderr
    if command in ("", "check", "healthcheck"):
        assert "--entryPoints.<name>.transport.respondingTimeouts.idleTimeout" in out.stdout
        assert '(Default: "ERROR")' in out.stdout  # log.level
        assert "--certificatesResolvers.<name>.acme.email" in out.stdout
        assert "--certificatesResolvers.<name>.tailscale" in out.stdout and "(not supported yet)" in out.stdout


def test_version_prints_the_commit(tmp_path):
    out = run(["version"], tmp_path)
    assert out.returncode == 0
    commit = [l for l in out.stdout.splitlines() if l.startswith("Commit:")]
    assert commit and commit[0].split()[1] != "", out.stdout
