"""basicAuth with users files made by Debian's htpasswd (bcrypt, SHA-1, Apache MD5), realm,
headerField, removeHeader; the 401 as Traefik (go-http-auth) writes it.

Reference: docs/compatibility.md (middlewares) (BasicAuth: 401 + WWW-Authenticate; empty users → error)."""
import base64
import shutil
import subprocess

import pytest

from harness import header_values, whoami_echo
from mwkit import get, request, start, values, wait_log

pytestmark = pytest.mark.skipif(shutil.which("htpasswd") is None,
                                reason="htpasswd (apache2-utils) is not installed: scripts/install-deps test")


def htpasswd(*args):
    out = subprocess.run(["htpasswd", *args], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def basic(user, password):
    return "Authorization: Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def users_file(tmp_path):
    lines = [
        htpasswd("-nbB", "bcrypt", "b-pass"),
        htpasswd("-nbs", "sha", "s-pass"),
        htpasswd("-nbm", "md5", "m-pass"),
        "# a comment line",
        "",
    ]
    assert lines[0].startswith("bcrypt:$2y$") and lines[1].startswith("sha:{SHA}") and lines[2].startswith("md5:$apr1$")
    path = tmp_path / "users.htpasswd"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_users_file_in_all_three_formats(start_whoami, start_causeway, users_file):
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "auth": {"basicAuth": {"usersFile": str(users_file), "headerField": "X-WebAuth-User"}},
    }, routers={"r": ("Host(`a.test`)", ["auth"])})
    for user, password in [("bcrypt", "b-pass"), ("sha", "s-pass"), ("md5", "m-pass")]:
        status, _, body = get(cw, "a.test", headers=[basic(user, password)])
        assert status == 200, user
        _, headers, _ = whoami_echo(body)
        assert header_values(headers, "X-WebAuth-User") == [user]
        # Authorization goes on unless removeHeader.
        assert len(header_values(headers, "Authorization")) == 1
        status, headers, body = get(cw, "a.test", headers=[basic(user, password + "x")])
        assert status == 401, user
        assert body == b"401 Unauthorized\n"


def test_unauthorized_answer(start_whoami, start_causeway, users_file):
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "auth": {"basicAuth": {"usersFile": str(users_file)}},
        "realm": {"basicAuth": {"usersFile": str(users_file), "realm": "my realm"}},
    }, routers={"r": ("Host(`a.test`)", ["auth"]), "s": ("Host(`b.test`)", ["realm"])})
    status, headers, body = request(cw, "a.test")
    assert status == 401
    assert values(headers, "Www-Authenticate") == ['Basic realm="traefik"']
    assert values(headers, "Content-Type") == ["text/plain"]
    assert body == b"401 Unauthorized\n"
    assert values(headers, "X-Content-Type-Options") == []
    status, headers, _ = request(cw, "b.test")
    assert status == 401
    assert values(headers, "Www-Authenticate") == ['Basic realm="my realm"']
    # Unknown user, malformed header, other scheme.
    for header in [basic("nobody", "b-pass"), "Authorization: Basic !!!", "Authorization: Bearer x"]:
        status, _, _ = get(cw, "a.test", headers=[header])
        assert status == 401, header


def test_inline_users_remove_header_and_client_header_overwritten(start_whoami, start_causeway, users_file):
    inline = htpasswd("-nbm", "inline", "i-pass")
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "auth": {"basicAuth": {"users": [inline], "usersFile": str(users_file), "removeHeader": True,
                               "headerField": "X-User"}},
    }, routers={"r": ("Host(`a.test`)", ["auth"])})
    status, _, body = get(cw, "a.test", headers=[basic("inline", "i-pass"), "X-User: spoofed"])
    assert status == 200
    _, headers, _ = whoami_echo(body)
    assert header_values(headers, "Authorization") == []
    assert header_values(headers, "X-User") == ["inline"]
    status, _, _ = get(cw, "a.test", headers=[basic("sha", "s-pass")])
    assert status == 200  # the file's users too


def test_concurrent_bcrypt_checks_do_not_block_other_requests(start_whoami, start_causeway, tmp_path):
    # Cost 12 takes a noticeable time; other routers on the same workers keep answering.
    import threading
    import time
    line = htpasswd("-nbB", "-C", "12", "slow", "pw")
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={"auth": {"basicAuth": {"users": [line]}}},
               routers={"r": ("Host(`a.test`)", ["auth"]), "free": ("Host(`free.test`)", [])})
    results = []
    threads = [threading.Thread(target=lambda: results.append(get(cw, "a.test", headers=[basic("slow", "pw")])[0]))
               for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.05)
    started = time.time()
    status, _, _ = request(cw, "free.test")
    assert status == 200
    assert time.time() - started < 0.5
    for t in threads:
        t.join()
    assert results == [200] * 4


def test_no_users_is_an_error(start_whoami, start_causeway, tmp_path):
    empty = tmp_path / "empty.htpasswd"
    empty.write_text("# nobody\n\n")
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "none": {"basicAuth": {"usersFile": str(empty)}},
        "missing": {"basicAuth": {"usersFile": str(tmp_path / "missing")}},
        "malformed": {"basicAuth": {"users": ["no-colon-here"]}},
    }, routers={"r": ("Host(`a.test`)", ["none"]), "m": ("Host(`m.test`)", ["missing"]),
                "x": ("Host(`x.test`)", ["malformed"])})
    wait_log(cw, "no users found in " + str(empty))
    wait_log(cw, "error parsing BasicUser: no-colon-here")
    for host in ["a.test", "m.test", "x.test"]:
        assert get(cw, host)[0] == 404, host
