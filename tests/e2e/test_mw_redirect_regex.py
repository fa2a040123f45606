"""redirectRegex: the regex runs on scheme://host[:port]/path?query; a different result is
a redirect (302 for GET, 307 otherwise; 301/308 when permanent) with the status text as body
and no Content-Type; the same URL passes through; a replacement that is not a URL is a 500.

Reference: docs/compatibility.md (middleware RedirectRegex); Traefik pkg/middlewares/redirect."""
from mwkit import request, start, values


def test_redirect_regex(start_whoami, start_causeway):
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "temp": {"redirectRegex": {"regex": r"^http://old\.test/(.*)", "replacement": "https://new.test/${1}"}},
        "perm": {"redirectRegex": {"regex": r"^http://perm\.test/(.*)", "replacement": "https://new.test/$1",
                                   "permanent": True}},
        "same": {"redirectRegex": {"regex": r"^(http://same\.test/.*)", "replacement": "${1}"}},
        "port": {"redirectRegex": {"regex": r"^http://port\.test:(\d+)/(?P<rest>.*)",
                                   "replacement": "http://port.test:1${1}/${rest}"}},
        "bad": {"redirectRegex": {"regex": r"^http://bad\.test/(.*)", "replacement": "http://x:port/"}},
        "broken": {"redirectRegex": {"regex": "(", "replacement": "x"}},
    }, routers={name: (f"Host(`{name}.test`)", [name]) for name in ["temp", "perm", "same", "bad", "broken"]}
        | {"old": ("Host(`old.test`)", ["temp"]), "port": ("Host(`port.test`)", ["port"])})

    status, headers, body = request(cw, "old.test", "/a/b?x=1&y=%20")
    assert (status, body) == (302, b"Found")
    assert values(headers, "Location") == ["https://new.test/a/b?x=1&y=%20"]
    assert values(headers, "Content-Type") == []
    for method, code in (("POST", 307), ("PUT", 307), ("HEAD", 307), ("DELETE", 307)):
        status, headers, _ = request(cw, "old.test", "/p", method=method)
        assert status == code, method
        assert values(headers, "Location") == ["https://new.test/p"]
    status, headers, body = request(cw, "perm.test", "/p")
    assert (status, body) == (301, b"Moved Permanently")
    assert values(headers, "Location") == ["https://new.test/p"]
    assert request(cw, "perm.test", "/p", method="POST")[0] == 308
    # The regex sees the normalized path.
    status, headers, _ = request(cw, "old.test", "/x/../y/%7Ez")
    assert values(headers, "Location") == ["https://new.test/y/~z"]
    # Same URL: passes through to the service.
    status, _, body = request(cw, "same.test", "/kept?q")
    assert status == 200 and b"GET /kept?q HTTP/1.1" in body
    # The Host's port is part of the URL.
    status, headers, _ = request(cw, "port.test:8080", "/r")
    assert values(headers, "Location") == ["http://port.test:18080/r"]
    # No match: untouched.
    assert request(cw, "temp.test", "/")[0] == 200
    # A replacement that does not parse as a URL.
    status, headers, body = request(cw, "bad.test", "/")
    assert (status, body) == (500, b"Internal Server Error")
    # A regex that does not compile disables the router.
    assert request(cw, "broken.test", "/")[0] == 404
