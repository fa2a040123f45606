"""apiKey (hashes made by Debian's htpasswd and openssl: bcrypt, SHA-1, MD5; header with a
scheme, query parameter, cookie; the key removed before the upstream) and hmac (signatures
computed here as draft-cavage-http-signatures describes; digest, replay window, enforced
headers, Proxy-Authorization).

Reference: docs/api-gateway.md ("apiKey", "hmac"), docs/security.md (G07, G08)."""
import base64
import hashlib
import hmac as hmaclib
import shutil
import subprocess
import time

import pytest

from harness import header_values, whoami_echo
from mwkit import get, request, start, values


def b64(data):
    return base64.b64encode(data if isinstance(data, bytes) else data.encode()).decode()


def htpasswd_hash(flag, secret):
    out = subprocess.run(["htpasswd", "-nb" + flag, "u", secret], capture_output=True, text=True, check=True)
    return out.stdout.strip().split(":", 1)[1]


@pytest.mark.skipif(shutil.which("htpasswd") is None, reason="htpasswd (apache2-utils) missing: scripts/install-deps")
def test_api_keys_from_header_query_and_cookie(start_whoami, start_causeway):
    bcrypt_key, sha_key, md5_key = "k-bcrypt-1", "k-sha-2", "k-md5-3"
    bcrypt = htpasswd_hash("B", bcrypt_key)
    md5 = subprocess.run(["openssl", "passwd", "-apr1", md5_key], capture_output=True, text=True,
                         check=True).stdout.strip()
    sha = "{SHA}" + b64(hashlib.sha1(sha_key.encode()).digest())
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "bearer": {"apiKey": {"keySource": {"header": "Authorization", "headerAuthScheme": "Bearer"},
                              "secretValues": [b64(bcrypt), b64(sha), b64(md5)]}},
        "query": {"apiKey": {"keySource": {"query": "api_key", "cookie": "apikey"},
                             "secretValues": [sha], "secretNonBase64Encoded": True}},
        "plain": {"apiKey": {"keySource": {"header": "X-Api-Key"}, "secretValues": [b64(md5)]}},
    }, routers={"b": ("Host(`b.test`)", ["bearer"]), "q": ("Host(`q.test`)", ["query"]),
                "p": ("Host(`p.test`)", ["plain"])})

    for key in (bcrypt_key, sha_key, md5_key, bcrypt_key):
        status, _, body = get(cw, "b.test", headers=[f"Authorization: Bearer {key}"])
        assert status == 200, key
        assert header_values(whoami_echo(body)[1], "Authorization") == []
    status, headers, body = get(cw, "b.test", headers=["Authorization: Bearer wrong"])
    assert status == 401 and headers["www-authenticate"] == 'Bearer realm="causeway"'
    assert b"wrong" not in body
    assert get(cw, "b.test", headers=["Authorization: Basic " + b64("u:" + sha_key)])[0] == 401
    assert get(cw, "b.test")[0] == 401

    status, _, body = get(cw, "q.test", path=f"/x?a=1&api_key={sha_key}&b=2")
    assert status == 200
    line = whoami_echo(body)[0]
    assert "api_key" not in line and "a=1&b=2" in line
    assert get(cw, "q.test", path="/x?api_key=nope")[0] == 401
    status, _, body = get(cw, "q.test", headers=[f"Cookie: theme=dark; apikey={sha_key}; lang=en"])
    assert status == 200
    assert header_values(whoami_echo(body)[1], "Cookie") == ["theme=dark; lang=en"]

    status, _, body = get(cw, "p.test", headers=[f"X-Api-Key: {md5_key}"])
    assert status == 200 and header_values(whoami_echo(body)[1], "X-Api-Key") == []
    status, headers, _ = get(cw, "p.test", headers=["X-Api-Key: k-md5-4"])
    assert status == 401 and "www-authenticate" not in headers
    assert sha_key not in cw.output() and md5_key not in cw.output()


def test_api_key_configuration_errors(start_whoami, start_causeway):
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "nosource": {"apiKey": {"secretValues": ["e1NIQX14"]}},
        "plainkey": {"apiKey": {"keySource": {"header": "X-Key"}, "secretValues": ["my-key"],
                                "secretNonBase64Encoded": True}},
    }, routers={"a": ("Host(`a.test`)", ["nosource"]), "b": ("Host(`b.test`)", ["plainkey"])})
    out = cw.output()
    assert "keySource needs at least one of header, query, cookie" in out
    assert "secretValues[0] is not a bcrypt" in out
    assert get(cw, "a.test")[0] == 404 and get(cw, "b.test", headers=["X-Key: my-key"])[0] == 404


def sign(secret, names, method, target, host, headers, created=None, expires=None, algorithm="hmac-sha256",
         key_id="k1"):
    lines = []
    for name in names:
        if name == "(request-target)":
            lines.append(f"{name}: {method.lower()} {target}")
        elif name == "(created)":
            lines.append(f"{name}: {created}")
        elif name == "(expires)":
            lines.append(f"{name}: {expires}")
        elif name == "host":
            lines.append(f"host: {host}")
        else:
            lines.append(f"{name}: {headers[name]}")
    digest = {"hmac-sha1": hashlib.sha1, "hmac-sha256": hashlib.sha256, "hmac-sha512": hashlib.sha512}[algorithm]
    signature = b64(hmaclib.new(secret.encode(), "\n".join(lines).encode(), digest).digest())
    params = [f'keyId="{key_id}"', f'algorithm="{algorithm}"', f'headers="{" ".join(names)}"',
              f'signature="{signature}"']
    if created is not None:
        params.append(f'created="{created}"')
    if expires is not None:
        params.append(f'expires="{expires}"')
    return "Hmac " + ",".join(params)


def test_hmac_signatures(start_whoami, start_causeway):
    secret = "shared-hmac-secret"
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "sig": {"hmac": {"keys": [{"id": "k1", "key": secret}, {"id": "k2", "key": "other"}],
                         "enforcedHeaders": ["(request-target)", "(created)", "host"],
                         "maxSignatureAgeSeconds": 60}},
    }, routers={"s": ("Host(`s.test`)", ["sig"])})
    names = ["(request-target)", "(created)", "host", "digest"]

    def call(body=b'{"amount":10}', target="/pay?x=1", created=None, expires=None, sign_target=None,
             sign_body=None, names=names, algorithm="hmac-sha256", key_id="k1", header="Authorization",
             digest=True):
        now = int(time.time()) if created is None else created
        hdrs = {}
        signed_body = body if sign_body is None else sign_body
        if digest:
            hdrs["Digest"] = "SHA-256=" + b64(hashlib.sha256(signed_body).digest())
        auth = sign(secret, names, "POST", sign_target or target, "s.test", {"digest": hdrs.get("Digest", "")},
                    created=now, expires=expires, algorithm=algorithm, key_id=key_id)
        hdrs[header] = auth
        return request(cw, "s.test", target, method="POST", headers=hdrs, body=body)

    status, headers, body = call()
    assert status == 200, body
    _, seen, own = whoami_echo(body)
    assert header_values(seen, "Authorization") == [] and own["Body-Length"] == "13"
    assert call(algorithm="hmac-sha512")[0] == 200
    assert call(header="Proxy-Authorization")[0] == 200
    now = int(time.time())
    assert call(expires=now + 30, names=names + ["(expires)"])[0] == 200

    # Tampering with the body, the path, or the signed digest.
    assert call(sign_body=b'{"amount":1000}')[0] == 401
    assert call(sign_target="/pay?x=2")[0] == 401
    assert call(key_id="k2")[0] == 401
    assert call(key_id="nobody")[0] == 401
    # Time: expired, too old for the replay window, from the future.
    assert call(expires=now - 5, names=names + ["(expires)"])[0] == 401
    assert call(created=now - 120)[0] == 401
    assert call(created=now + 600)[0] == 401
    # Enforced headers must be signed; a body needs a signed digest.
    status, headers, _ = call(names=["(request-target)", "(created)", "digest"])
    assert status == 401 and values(headers, "WWW-Authenticate") == \
        ['Hmac realm="causeway", headers="(request-target) (created) host"']
    assert call(names=["(request-target)", "(created)", "host"])[0] == 401
    assert call(digest=False, names=["(request-target)", "(created)", "host"])[0] == 401
    # No signature at all.
    assert request(cw, "s.test", "/pay", method="POST", body=b"x")[0] == 401
    # A body over the digest check's bound.
    big = b"x" * (4 * 1024 * 1024 + 1)
    assert call(body=big)[0] == 413
