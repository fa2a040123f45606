"""addPrefix: the prefix is prepended to the path (with a leading '/' added when missing);
the query is kept; characters that cannot stay raw in a path are escaped.

Reference: docs/compatibility.md (middleware AddPrefix); Traefik pkg/middlewares/addprefix."""
from harness import whoami_echo
from mwkit import request, start


def forwarded(cw, host, path):
    status, _, body = request(cw, host, path)
    assert status == 200, body
    return whoami_echo(body)[0].split(" ")[1]


def test_add_prefix(start_whoami, start_causeway):
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "ap": {"addPrefix": {"prefix": "/api"}},
        "ap-noslash": {"addPrefix": {"prefix": "v1"}},
        "ap-space": {"addPrefix": {"prefix": "/my app"}},
        "ap-empty": {"addPrefix": {"prefix": ""}},
    }, routers={name: (f"Host(`{name}.test`)", [name]) for name in ["ap", "ap-noslash", "ap-space", "ap-empty"]})
    assert forwarded(cw, "ap.test", "/users?x=1") == "/api/users?x=1"
    assert forwarded(cw, "ap.test", "/") == "/api/"
    assert forwarded(cw, "ap.test", "/a%2Fb") == "/api/a%2Fb"
    assert forwarded(cw, "ap-noslash.test", "/x") == "/v1/x"
    assert forwarded(cw, "ap-space.test", "/x") == "/my%20app/x"
    assert request(cw, "ap-empty.test", "/")[0] == 404
