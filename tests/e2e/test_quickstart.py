"""The README's promise: the quickstart configuration routes whoami.localhost to whoami."""
import pathlib
import subprocess

from harness import BIN, Process, curl, free_port, wait_for_port, wait_until

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_quickstart_routes_to_whoami(tmp_path):
    # The quickstart files with the ports moved out of the way of anything running locally.
    web, upstream, admin = free_port(), free_port(), free_port()
    static = (ROOT / "examples/quickstart.yml").read_text().replace(":8080", f"127.0.0.1:{web}")
    static = static.replace("127.0.0.1:8082", f"127.0.0.1:{admin}")
    dynamic = (ROOT / "examples/quickstart-dynamic.yml").read_text().replace("8081", str(upstream))
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples/quickstart.yml").write_text(static)
    (tmp_path / "examples/quickstart-dynamic.yml").write_text(dynamic)
    whoami = Process([BIN, "whoami", "--port", str(upstream), "--name", "quickstart"], name="whoami")
    proxy = Process([BIN, "--configFile=examples/quickstart.yml"], cwd=str(tmp_path), name="causeway")
    try:
        wait_for_port(upstream, proc=whoami.proc)
        wait_for_port(web, proc=proxy.proc)
        status, _, body = wait_until(lambda: curl(f"http://127.0.0.1:{web}/", host="whoami.localhost"))
        assert status == 200
        assert b"Name: quickstart" in body
        assert b"Host: whoami.localhost" in body
        status, _, body = curl(f"http://127.0.0.1:{web}/", host="other.localhost")
        assert status == 404
        assert body == b"404 page not found\n"
        # The dashboard, the API and the metrics the README points at.
        wait_for_port(admin, proc=proxy.proc)
        status, _, body = curl(f"http://127.0.0.1:{admin}/api/http/routers/whoami@file")
        assert status == 200 and b'"status":"enabled"' in body, body
        status, _, body = curl(f"http://127.0.0.1:{admin}/dashboard/")
        assert status == 200 and b"<html" in body.lower()
        status, _, body = curl(f"http://127.0.0.1:{admin}/metrics")
        assert status == 200 and b'traefik_entrypoint_requests_total{code="200",entrypoint="web"' in body, body
    finally:
        proxy.stop()
        whoami.stop()


def test_version_command():
    out = subprocess.run([BIN, "version"], capture_output=True, text=True, check=True)
    assert "Version:" in out.stdout
