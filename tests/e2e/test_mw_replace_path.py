"""replacePath and replacePathRegex: the new path is forwarded, the previous one is in
X-Replaced-Path; a result that changes under normalization is refused with 400; a result
that does not decode is a 500 with Go's error.

Reference: docs/compatibility.md (middlewares) (ReplacePath, ReplacePathRegex); Traefik
pkg/middlewares/replacepath, replacepathregex; docs/security.md T04."""
from harness import header_values, whoami_echo
from mwkit import request, start


def echo(cw, host, path):
    status, _, body = request(cw, host, path)
    assert status == 200, (host, path, body)
    line, headers, _ = whoami_echo(body)
    return line.split(" ")[1], header_values(headers, "X-Replaced-Path")


def test_replace_path(start_whoami, start_causeway):
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "rp": {"replacePath": {"path": "/new/place"}},
        "rp-space": {"replacePath": {"path": "/foo bar"}},
        "rp-encoded": {"replacePath": {"path": "/a%2Fb"}},
        "rp-invalid": {"replacePath": {"path": "/a%zz"}},
        "rp-dots": {"replacePath": {"path": "/a/../admin"}},
    }, routers={name: (f"Host(`{name}.test`)", [name]) for name in
                ["rp", "rp-space", "rp-encoded", "rp-invalid", "rp-dots"]})
    assert echo(cw, "rp.test", "/old/x?q=1") == ("/new/place?q=1", ["/old/x"])
    assert echo(cw, "rp.test", "/%C3%A9t%C3%A9") == ("/new/place", ["/%C3%A9t%C3%A9"])
    assert echo(cw, "rp-space.test", "/x") == ("/foo%20bar", ["/x"])
    assert echo(cw, "rp-encoded.test", "/x") == ("/a%2Fb", ["/x"])
    status, headers, body = request(cw, "rp-invalid.test", "/x")
    assert (status, body) == (500, b'invalid URL escape "%zz"\n')
    assert request(cw, "rp-dots.test", "/x")[0] == 400


def test_replace_path_regex(start_whoami, start_causeway):
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "rx": {"replacePathRegex": {"regex": "^/api/(v\\d+)/(.*)", "replacement": "/${2}/${1}"}},
        "rx-all": {"replacePathRegex": {"regex": "o", "replacement": "0"}},
        "rx-dots": {"replacePathRegex": {"regex": "^/up/(.*)", "replacement": "/base/../$1"}},
        "rx-slashes": {"replacePathRegex": {"regex": "^/s/(.*)", "replacement": "/a//$1"}},
        "rx-invalid": {"replacePathRegex": {"regex": "^/bad", "replacement": "/%zz"}},
        "rx-empty": {"replacePathRegex": {"regex": "^/gone$", "replacement": ""}},
        "rx-broken": {"replacePathRegex": {"regex": "([", "replacement": "/"}},
    }, routers={name: (f"Host(`{name}.test`)", [name]) for name in
                ["rx", "rx-all", "rx-dots", "rx-slashes", "rx-invalid", "rx-empty", "rx-broken"]})
    assert echo(cw, "rx.test", "/api/v2/users/7?x") == ("/users/7/v2?x", ["/api/v2/users/7"])
    assert echo(cw, "rx.test", "/other") == ("/other", [])  # no match: nothing changes
    assert echo(cw, "rx-all.test", "/foo/boo") == ("/f00/b00", ["/foo/boo"])
    assert request(cw, "rx-dots.test", "/up/admin")[0] == 400
    assert request(cw, "rx-slashes.test", "/s/x")[0] == 400
    status, _, body = request(cw, "rx-invalid.test", "/bad")
    assert (status, body) == (500, b'invalid URL escape "%zz"\n')
    assert echo(cw, "rx-empty.test", "/gone") == ("/", ["/gone"])
    assert request(cw, "rx-broken.test", "/")[0] == 404
