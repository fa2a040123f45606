"""Dynamic files are Go templates, as in Traefik's file provider: `env` and `range` (with Sprig's
`until`) generate routers; a template error names the file and its line, and the configuration
in place keeps serving; `debugLogGeneratedTemplate` logs the rendered text; `causeway check`
reports the same error.

Reference: docs/go-templates.md."""
import subprocess

from harness import BIN, Causeway, wait_until
from mwkit import get

TEMPLATE = """http:
  routers:
{{- range $i := until 3 }}
    r{{ $i }}:
      rule: "Host(`r{{ $i }}.{{ env "CW_DOMAIN" }}`)"
      service: s
{{- end }}
  services:
    s:
      loadBalancer:
        servers:
          - url: {{ env "CW_UPSTREAM" | quote }}
"""

BROKEN = """http:
  routers:
    x:
      rule: "Host(`{{ nosuch "a" }}`)"
"""


def test_templates_render_and_errors_name_the_line(start_whoami, tmp_path):
    w = start_whoami()
    cw = Causeway(dynamic={"gen.yml": TEMPLATE}, env={"CW_DOMAIN": "example.test", "CW_UPSTREAM": w.url},
                  file_provider={"directory": ".", "debugLogGeneratedTemplate": True})
    try:
        for i in range(3):
            wait_until(lambda: get(cw, f"r{i}.example.test")[0] == 200, timeout=10, message=f"router r{i}")
        assert "generated template" in cw.output() and "r2.example.test" in cw.output()

        # A template error: the file's error at its line; what was served keeps serving.
        cw.write("gen.yml", TEMPLATE.replace('{{ env "CW_DOMAIN" }}', '{{ env "CW_DOMAIN" }}{{ nosuch }}'))
        wait_until(lambda: 'function \\"nosuch\\" not defined' in cw.output()
                   or 'function "nosuch" not defined' in cw.output(), timeout=10, message="template error")
        assert "gen.yml:5" in cw.output()
        assert get(cw, "r1.example.test")[0] == 200
    finally:
        cw.stop()

    static = tmp_path / "static.yml"
    (tmp_path / "dyn").mkdir()
    (tmp_path / "dyn" / "broken.yml").write_text(BROKEN)
    static.write_text(f"entryPoints:\n  web:\n    address: 127.0.0.1:0\nproviders:\n  file:\n"
                      f"    directory: {tmp_path / 'dyn'}\n")
    out = subprocess.run([BIN, "check", f"--configFile={static}"], capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert "broken.yml:4" in out.stdout and "nosuch" in out.stdout, out.stdout + out.stderr
