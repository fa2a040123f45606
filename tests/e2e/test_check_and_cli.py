"""`causeway check`, the other commands, and where the static configuration comes from.

Reference: docs/compatibility.md (file, CLI flags, environment; search order; keys
case-insensitive), §1.4 (ping, healthcheck), design.md "Errors and limits" (errors say
file, line, element, what was expected; `causeway check` prints them without starting).
"""
import os
import re
import subprocess
import textwrap

import pytest

from harness import BIN, Process, curl, free_port, wait_for_port, wait_until

GOOD_DYNAMIC = textwrap.dedent("""\
    http:
      routers:
        app:
          rule: "Host(`app.test`)"
          service: app
      services:
        app:
          loadBalancer:
            servers:
              - url: "http://127.0.0.1:{port}"
    """)


def clean_env(home, **extra):
    """The environment without any CAUSEWAY_/TRAEFIK_ variable, with HOME elsewhere."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CAUSEWAY_", "TRAEFIK_")) and k != "XDG_CONFIG_HOME"}
    env["HOME"] = str(home)
    env.update(extra)
    return env


@pytest.fixture
def workdir(tmp_path):
    """An empty working directory, a separate HOME, and a dynamic directory."""
    (tmp_path / "cwd").mkdir()
    (tmp_path / "home").mkdir()
    (tmp_path / "dynamic").mkdir()
    return tmp_path


def run(args, cwd, env, timeout=20):
    return subprocess.run([BIN, *args], cwd=str(cwd), env=env, capture_output=True, text=True,
                          timeout=timeout)


def static_yaml(port, dynamic_dir, extra=""):
    return textwrap.dedent(f"""\
        entryPoints:
          web:
            address: "127.0.0.1:{port}"
        providers:
          file:
            directory: "{dynamic_dir}"
        """) + extra


def write_config(workdir, dynamic_text, name="app.yml", extra_static=""):
    port = free_port()
    (workdir / "dynamic" / name).write_text(dynamic_text)
    static = workdir / "static.yml"
    static.write_text(static_yaml(port, workdir / "dynamic", extra_static))
    return static


def check(workdir, static, *more):
    out = run(["check", f"--configFile={static}", *more], workdir / "cwd", clean_env(workdir / "home"))
    return out.returncode, out.stdout + out.stderr


def error_lines(output):
    return [line for line in output.splitlines() if line.startswith("error:")]


def line_col(line, filename):
    m = re.search(re.escape(filename) + r":(\d+):(\d+)", line)
    assert m, f"no {filename}:line:col in {line!r}"
    return int(m.group(1)), int(m.group(2))


# ---------------------------------------------------------------------------------------
# causeway check

def test_check_valid_configuration(workdir):
    static = write_config(workdir, GOOD_DYNAMIC.format(port=9))
    code, output = check(workdir, static)
    assert code == 0, output
    assert error_lines(output) == []
    assert re.search(r"1 enabled of 1", output), output


def test_check_yaml_syntax_error_names_file_and_line(workdir):
    text = textwrap.dedent("""\
        http:
          routers:
            app:
              rule: "Host(`app.test`)"
              service: app
             oops: [unclosed
        """)
    static = write_config(workdir, text, name="broken.yml")
    code, output = check(workdir, static)
    assert code == 1, output
    errors = error_lines(output)
    assert len(errors) == 1, output
    line, _ = line_col(errors[0], "broken.yml")
    assert line in (5, 6), errors[0]  # the error is at (or right after) the bad line


def test_check_unknown_router_key(workdir):
    text = textwrap.dedent("""\
        http:
          routers:
            myrouter:
              rul: "Host(`app.test`)"
              service: app
          services:
            app:
              loadBalancer:
                servers:
                  - url: "http://127.0.0.1:9"
        """)
    static = write_config(workdir, text, name="typo.yml")
    code, output = check(workdir, static)
    assert code == 1, output
    errors = [e for e in error_lines(output) if "rul" in e]
    assert len(errors) == 1, output
    error = errors[0]
    assert "http.routers.myrouter" in error
    assert "'rul'" in error or '"rul"' in error or " rul" in error
    assert line_col(error, "typo.yml")[0] == 4
    # It says what was expected.
    m = re.search(r"expected[^:]*:(.*)", error)
    assert m, error
    expected = [k.strip() for k in m.group(1).split(",")]
    for key in ["rule", "service", "entryPoints", "middlewares", "priority"]:
        assert key in expected, error


def test_check_bad_rule_shows_rule_and_caret(workdir):
    text = GOOD_DYNAMIC.format(port=9).replace("rule: \"Host(`app.test`)\"", "rule: \"Host(`app.test`) && Path(`/x`\"")
    static = write_config(workdir, text, name="rule.yml")
    code, output = check(workdir, static)
    assert code == 1, output
    lines = output.splitlines()
    error_index = next(i for i, line in enumerate(lines) if line.startswith("error:"))
    error = lines[error_index]
    assert "app" in error and line_col(error, "rule.yml")[0] in (3, 4)
    rule = "Host(`app.test`) && Path(`/x`"
    rule_index = next(i for i, line in enumerate(lines) if line.strip() == rule)
    caret_line = lines[rule_index + 1]
    assert caret_line.strip() == "^", caret_line
    caret = caret_line.index("^")
    rule_start = lines[rule_index].index(rule)
    # The caret points inside the rule, at or after where the unclosed Path call starts.
    assert rule_start + rule.index("Path") <= caret <= rule_start + len(rule), (lines[rule_index], caret_line)


def test_check_missing_service(workdir):
    text = GOOD_DYNAMIC.format(port=9).replace("service: app", "service: ghost")
    static = write_config(workdir, text, name="svc.yml")
    code, output = check(workdir, static)
    assert code == 1, output
    errors = error_lines(output)
    assert len(errors) == 1, output
    assert "does not exist" in errors[0]
    assert "ghost" in errors[0]
    assert "app" in errors[0]  # the router at fault
    assert line_col(errors[0], "svc.yml")[0] in (3, 5)


def test_check_missing_middleware(workdir):
    text = GOOD_DYNAMIC.format(port=9).replace("service: app\n", "service: app\n      middlewares: [nothere]\n", 1)
    static = write_config(workdir, text, name="mw.yml")
    code, output = check(workdir, static)
    assert code == 1, output
    errors = error_lines(output)
    assert len(errors) == 1 and "nothere" in errors[0] and "does not exist" in errors[0], output


def test_check_reports_every_error_and_keeps_good_routers(workdir):
    text = textwrap.dedent("""\
        http:
          routers:
            good:
              rule: "Host(`good.test`)"
              service: app
            bad1:
              rule: "Host(`bad.test`"
              service: app
            bad2:
              rule: "Host(`bad2.test`)"
              service: ghost
          services:
            app:
              loadBalancer:
                servers:
                  - url: "http://127.0.0.1:9"
        """)
    static = write_config(workdir, text)
    code, output = check(workdir, static)
    assert code == 1
    errors = error_lines(output)
    assert len(errors) == 2, output
    assert any("bad1" in e for e in errors) and any("bad2" in e for e in errors)
    assert "1 enabled of 3" in output


def test_check_static_unknown_top_level_key(workdir):
    static = workdir / "static.yml"
    static.write_text(static_yaml(free_port(), workdir / "dynamic", "entrypointz:\n  x: 1\n"))
    code, output = check(workdir, static)
    assert code == 1, output
    errors = error_lines(output)
    assert len(errors) == 1, output
    assert "entrypointz" in errors[0]
    assert line_col(errors[0], "static.yml")[0] == 7


def test_check_static_unknown_nested_key(workdir):
    static = workdir / "static.yml"
    static.write_text(static_yaml(free_port(), workdir / "dynamic").replace("    address:", "    adress:"))
    code, output = check(workdir, static)
    assert code == 1, output
    typo = [e for e in error_lines(output) if "adress" in e]
    assert len(typo) == 1, output
    assert "entryPoints.web" in typo[0]
    assert line_col(typo[0], "static.yml")[0] == 3
    assert "address" in typo[0].split("adress", 1)[1]  # the expected keys follow


def test_check_static_bad_duration(workdir):
    extra = "    transport:\n      respondingTimeouts:\n        readTimeout: 10parsecs\n"
    text = static_yaml(free_port(), workdir / "dynamic").replace("providers:", extra.rstrip("\n") + "\nproviders:")
    static = workdir / "static.yml"
    static.write_text(text)
    code, output = check(workdir, static)
    assert code == 1, output
    errors = error_lines(output)
    assert len(errors) == 1, output
    assert "readTimeout" in errors[0] and "10parsecs" in errors[0]
    assert line_col(errors[0], "static.yml")[0] == 6


def test_check_static_bare_integer_duration_is_seconds(workdir):
    extra = "    transport:\n      respondingTimeouts:\n        readTimeout: 42\n"
    text = static_yaml(free_port(), workdir / "dynamic").replace("providers:", extra.rstrip("\n") + "\nproviders:")
    static = workdir / "static.yml"
    static.write_text(text)
    code, output = check(workdir, static)
    assert code == 0, output


def test_check_missing_config_file(workdir):
    code, output = check(workdir, workdir / "does-not-exist.yml")
    assert code == 1, output
    assert "does-not-exist.yml" in output


# ---------------------------------------------------------------------------------------
# Serving from each static configuration source

def serve_and_route(start_whoami, args, cwd, env, port):
    w = start_whoami("cli")
    (cwd.parent / "dynamic" / "app.yml").write_text(GOOD_DYNAMIC.format(port=w.port))
    # `check` first: if this source were not read, serving would fall back to Traefik's
    # implicit entryPoint on :80 (all interfaces), which a test must never open.
    checked = run(["check", *args], cwd, env)
    assert checked.returncode == 0 and "1 enabled of 1" in checked.stdout, checked.stdout + checked.stderr
    proxy = Process([BIN, *args], cwd=str(cwd), env=env, name="causeway")
    try:
        wait_for_port(port, proc=proxy.proc)
        status, _, body = wait_until(
            lambda: (lambda r: r if r[0] == 200 else None)(curl(f"http://127.0.0.1:{port}/", host="app.test")),
            message="route through causeway")
        assert b"Name: cli" in body
    finally:
        proxy.stop()


def test_toml_static_file(workdir, start_whoami):
    port = free_port()
    toml = workdir / "static.toml"
    toml.write_text(textwrap.dedent(f"""\
        [entryPoints]
          [entryPoints.web]
            address = "127.0.0.1:{port}"

        [providers.file]
          directory = "{workdir / 'dynamic'}"

        [log]
          level = "DEBUG"
        """))
    cwd = workdir / "cwd"
    serve_and_route(start_whoami, [f"--configFile={toml}"], cwd, clean_env(workdir / "home"), port)


def test_toml_dynamic_file(workdir, start_whoami):
    w = start_whoami("toml")
    (workdir / "dynamic" / "app.toml").write_text(textwrap.dedent(f"""\
        [http.routers.app]
          rule = "Host(`app.test`)"
          service = "app"

        [http.services.app.loadBalancer]
          [[http.services.app.loadBalancer.servers]]
            url = "{w.url}"
        """))
    port = free_port()
    static = workdir / "static.yml"
    static.write_text(static_yaml(port, workdir / "dynamic"))
    proxy = Process([BIN, f"--configFile={static}"], cwd=str(workdir / "cwd"), env=clean_env(workdir / "home"),
                    name="causeway")
    try:
        wait_for_port(port, proc=proxy.proc)
        _, _, body = wait_until(
            lambda: (lambda r: r if r[0] == 200 else None)(curl(f"http://127.0.0.1:{port}/", host="app.test")),
            message="route from the TOML file")
        assert b"Name: toml" in body
    finally:
        proxy.stop()


def test_check_toml_dynamic_error_has_line(workdir):
    (workdir / "dynamic" / "app.toml").write_text(textwrap.dedent("""\
        [http.routers.app]
          rule = "Host(`app.test`)"
          service = "app"
          rul = "x"

        [http.services.app.loadBalancer]
          [[http.services.app.loadBalancer.servers]]
            url = "http://127.0.0.1:9"
        """))
    static = workdir / "static.yml"
    static.write_text(static_yaml(free_port(), workdir / "dynamic"))
    code, output = check(workdir, static)
    assert code == 1
    errors = error_lines(output)
    assert len(errors) == 1 and "http.routers.app" in errors[0], output
    assert line_col(errors[0], "app.toml")[0] == 4


def test_cli_flags_only(workdir, start_whoami):
    port = free_port()
    args = [f"--entryPoints.web.address=127.0.0.1:{port}", f"--providers.file.directory={workdir / 'dynamic'}"]
    serve_and_route(start_whoami, args, workdir / "cwd", clean_env(workdir / "home"), port)


def test_cli_flag_keys_case_insensitive(workdir, start_whoami):
    port = free_port()
    args = [f"--entrypoints.WEB.address=127.0.0.1:{port}", f"--PROVIDERS.File.directory={workdir / 'dynamic'}"]
    serve_and_route(start_whoami, args, workdir / "cwd", clean_env(workdir / "home"), port)


@pytest.mark.parametrize("prefix", ["CAUSEWAY_", "TRAEFIK_"])
def test_environment_only(workdir, start_whoami, prefix):
    port = free_port()
    env = clean_env(workdir / "home", **{f"{prefix}ENTRYPOINTS_WEB_ADDRESS": f"127.0.0.1:{port}",
                                        f"{prefix}PROVIDERS_FILE_DIRECTORY": str(workdir / "dynamic")})
    serve_and_route(start_whoami, [], workdir / "cwd", env, port)


def test_traefik_yml_in_working_directory(workdir, start_whoami):
    port = free_port()
    cwd = workdir / "cwd"
    (cwd / "traefik.yml").write_text(static_yaml(port, workdir / "dynamic"))
    serve_and_route(start_whoami, [], cwd, clean_env(workdir / "home"), port)


@pytest.mark.parametrize("where", ["home-config", "xdg-config-home"])
def test_traefik_yml_in_user_config_directory(workdir, start_whoami, where):
    port = free_port()
    if where == "home-config":
        directory, extra = workdir / "home" / ".config", {}
    else:
        directory = workdir / "xdg"
        extra = {"XDG_CONFIG_HOME": str(directory)}
    directory.mkdir()
    (directory / "traefik.yml").write_text(static_yaml(port, workdir / "dynamic"))
    serve_and_route(start_whoami, [], workdir / "cwd", clean_env(workdir / "home", **extra), port)


def test_check_reads_traefik_yml_in_working_directory(workdir):
    cwd = workdir / "cwd"
    (workdir / "dynamic" / "app.yml").write_text(GOOD_DYNAMIC.format(port=9).replace("service: app", "service: ghost"))
    (cwd / "traefik.yml").write_text(static_yaml(free_port(), workdir / "dynamic"))
    out = run(["check"], cwd, clean_env(workdir / "home"))
    assert out.returncode == 1, out.stdout + out.stderr
    assert "does not exist" in out.stdout + out.stderr


# ---------------------------------------------------------------------------------------
# healthcheck and version

def test_healthcheck_with_ping(start_causeway, workdir):
    cw = start_causeway(static_extra="ping:\n  entryPoint: web\n")
    wait_until(lambda: curl(cw.url("web", "/ping"))[0] == 200, message="ping")
    out = run(["healthcheck", f"--configFile={cw.static_path}"], workdir / "cwd", clean_env(workdir / "home"))
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.startswith("OK:"), out.stdout
    assert f":{cw.port()}/ping" in out.stdout


def test_healthcheck_when_proxy_is_down(workdir):
    port = free_port()
    static = workdir / "static.yml"
    static.write_text(static_yaml(port, workdir / "dynamic", "ping:\n  entryPoint: web\n"))
    out = run(["healthcheck", f"--configFile={static}"], workdir / "cwd", clean_env(workdir / "home"))
    assert out.returncode == 1
    assert "OK:" not in out.stdout


def test_healthcheck_without_ping(start_causeway, workdir):
    cw = start_causeway()
    out = run(["healthcheck", f"--configFile={cw.static_path}"], workdir / "cwd", clean_env(workdir / "home"))
    assert out.returncode == 1
    assert "OK:" not in out.stdout
    assert "ping" in (out.stdout + out.stderr).lower()


def test_version(workdir):
    out = run(["version"], workdir / "cwd", clean_env(workdir / "home"))
    assert out.returncode == 0
    assert re.search(r"^Version:\s+\S+", out.stdout, re.M), out.stdout
