"""digestAuth: RFC 2617 MD5 with qop=auth as Traefik (go-http-auth) does it: challenge,
response check, nonce counts (replay refused, older count → stale), nonces valid on every
worker, headerField and removeHeader.

Reference: docs/compatibility.md (middleware DigestAuth)."""
import hashlib
import http.client
import re
import shutil
import subprocess

import pytest

from harness import header_values, whoami_echo
from mwkit import request, start, values, wait_log


def md5(text):
    return hashlib.md5(text.encode()).hexdigest()


def user_line(user, realm, password):
    return f"{user}:{realm}:{md5(f'{user}:{realm}:{password}')}"


def challenge(cw, host, path="/"):
    status, headers, body = request(cw, host, path=path)
    assert status == 401
    (value,) = values(headers, "Www-Authenticate")
    params = dict(re.findall(r'(\w+)="([^"]*)"', value))
    return value, params, headers, body


def authorization(user, realm, password, params, method="GET", uri="/", nc=1, cnonce="0a4f113b"):
    ha1 = md5(f"{user}:{realm}:{password}")
    ha2 = md5(f"{method}:{uri}")
    nc_text = f"{nc:08x}"
    response = md5(f"{ha1}:{params['nonce']}:{nc_text}:{cnonce}:auth:{ha2}")
    return (f'Digest username="{user}", realm="{realm}", nonce="{params["nonce"]}", uri="{uri}", '
            f'algorithm=MD5, qop=auth, nc={nc_text}, cnonce="{cnonce}", response="{response}", '
            f'opaque="{params["opaque"]}"')


def test_challenge_and_login(start_whoami, start_causeway):
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "digest": {"digestAuth": {"users": [user_line("alice", "traefik", "secret")], "headerField": "X-User"}},
    }, routers={"r": ("Host(`a.test`)", ["digest"])})
    value, params, headers, body = challenge(cw, "a.test")
    assert re.fullmatch(r'Digest realm="traefik", nonce="[A-Za-z0-9+/]{16}", opaque="[A-Za-z0-9+/]{16}", '
                        r'algorithm="MD5", qop="auth"', value), value
    assert values(headers, "Content-Type") == ["text/plain"]
    assert body == b"401 Unauthorized\n"

    status, _, body = request(cw, "a.test", headers={"Authorization": authorization("alice", "traefik", "secret", params)})
    assert status == 200
    _, echoed, _ = whoami_echo(body)
    assert header_values(echoed, "X-User") == ["alice"]
    assert len(header_values(echoed, "Authorization")) == 1

    # The same nonce count again is a replay.
    status, _, _ = request(cw, "a.test", headers={"Authorization": authorization("alice", "traefik", "secret", params)})
    assert status == 401
    # A higher count is fine; going back gets a stale challenge.
    status, _, _ = request(cw, "a.test", headers={
        "Authorization": authorization("alice", "traefik", "secret", params, nc=5)})
    assert status == 200
    status, headers, _ = request(cw, "a.test", headers={
        "Authorization": authorization("alice", "traefik", "secret", params, nc=3)})
    assert status == 401
    (stale,) = values(headers, "Www-Authenticate")
    assert 'stale="true", algorithm="MD5", qop="auth"' in stale

    # Wrong password, unknown nonce, wrong opaque.
    _, fresh, _, _ = challenge(cw, "a.test")
    for auth in [authorization("alice", "traefik", "wrong", fresh),
                 authorization("alice", "traefik", "secret", dict(fresh, nonce="AAAAAAAAAAAAAAAA")),
                 authorization("alice", "traefik", "secret", dict(fresh, opaque="nope"))]:
        assert request(cw, "a.test", headers={"Authorization": auth})[0] == 401


def test_nonce_works_on_every_worker(start_whoami, start_causeway):
    # Each request on a new connection: with two workers, both see the same nonce table.
    w = start_whoami()
    cw = start(start_causeway, w.url, workers=2, middlewares={
        "digest": {"digestAuth": {"users": [user_line("bob", "traefik", "pw")]}},
    }, routers={"r": ("Host(`a.test`)", ["digest"])})
    _, params, _, _ = challenge(cw, "a.test")
    for nc in range(1, 21):
        status, _, _ = request(cw, "a.test", headers={"Authorization": authorization("bob", "traefik", "pw", params, nc=nc)})
        assert status == 200, nc


def test_uri_query_realm_users_file_and_remove_header(start_whoami, start_causeway, tmp_path):
    users = tmp_path / "digest.users"
    users.write_text(user_line("carol", "other", "pw") + "\n" + user_line("dave", "private", "pw") + "\n")
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "digest": {"digestAuth": {"usersFile": str(users), "realm": "private", "removeHeader": True}},
        "broken": {"digestAuth": {"users": ["only:two"]}},
    }, routers={"r": ("Host(`a.test`)", ["digest"]), "b": ("Host(`b.test`)", ["broken"])})
    value, params, _, _ = challenge(cw, "a.test", path="/x?y=1")
    assert value.startswith('Digest realm="private"')
    auth = authorization("dave", "private", "pw", params, uri="/x?y=1")
    status, _, body = request(cw, "a.test", path="/x?y=1", headers={"Authorization": auth})
    assert status == 200
    _, echoed, _ = whoami_echo(body)
    assert header_values(echoed, "Authorization") == []
    # A user of another realm is not a user of this one.
    auth = authorization("carol", "private", "pw", params, uri="/x?y=1", nc=2)
    assert request(cw, "a.test", path="/x?y=1", headers={"Authorization": auth})[0] == 401
    # The uri must match the request (a path prefix is tolerated, as go-http-auth does).
    auth = authorization("dave", "private", "pw", params, uri="/other", nc=3)
    assert request(cw, "a.test", path="/x", headers={"Authorization": auth})[0] == 401
    auth = authorization("dave", "private", "pw", params, uri="/x", nc=4)
    assert request(cw, "a.test", path="/x/deeper", headers={"Authorization": auth})[0] == 200
    wait_log(cw, "error parsing DigestUser: only:two")
    assert request(cw, "b.test")[0] == 404


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_digest_client(start_whoami, start_causeway):
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "digest": {"digestAuth": {"users": [user_line("eve", "traefik", "curl-pw")]}},
    }, routers={"r": ("Host(`a.test`)", ["digest"])})
    url = cw.url("web", "/path?q=1")
    ok = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--digest", "-u", "eve:curl-pw",
                         "-H", "Host: a.test", url], capture_output=True, text=True, timeout=10)
    assert ok.stdout == "200"
    bad = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--digest", "-u", "eve:nope",
                          "-H", "Host: a.test", url], capture_output=True, text=True, timeout=10)
    assert bad.stdout == "401"
