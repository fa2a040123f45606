"""redirectScheme: redirects to the same URL with another scheme and port unless that is the
URL already; X-Forwarded-Proto (http/ws, https/wss) counts as the current scheme; default
ports are omitted; 302/307 (301/308 when permanent) with the status text as body.

Reference: docs/compatibility.md (middleware RedirectScheme); Traefik pkg/middlewares/redirect."""
from mwkit import request, start, values

INSECURE = {"web": "forwardedHeaders:\n  insecure: true"}


def test_redirect_scheme(start_whoami, start_causeway):
    w = start_whoami()
    cw = start(start_causeway, w.url, entrypoint_extra=INSECURE, middlewares={
        "https": {"redirectScheme": {"scheme": "https"}},
        "https-port": {"redirectScheme": {"scheme": "https", "port": "8443", "permanent": True}},
        "https-443": {"redirectScheme": {"scheme": "https", "port": "443"}},
        "http-80": {"redirectScheme": {"scheme": "http", "port": "80"}},
        "noscheme": {"redirectScheme": {"port": "443"}},
    }, routers={name: (f"Host(`{name}.test`)", [name]) for name in
                ["https", "https-port", "https-443", "http-80", "noscheme"]})

    status, headers, body = request(cw, "https.test", "/a?b=c")
    assert (status, body) == (302, b"Found")
    assert values(headers, "Location") == ["https://https.test/a?b=c"]
    assert values(headers, "Content-Type") == []
    # Without a port option the request's port is dropped, as in Traefik.
    status, headers, _ = request(cw, "https.test:8080", "/a")
    assert values(headers, "Location") == ["https://https.test/a"]
    assert request(cw, "https.test", "/a", method="POST")[0] == 307
    assert request(cw, "https.test", "/a", method="HEAD")[0] == 307
    # Already https by X-Forwarded-Proto (trusted here): no redirect.
    assert request(cw, "https.test", "/a", headers={"X-Forwarded-Proto": "https"})[0] == 200
    assert request(cw, "https.test", "/a", headers={"X-Forwarded-Proto": "wss"})[0] == 200
    assert request(cw, "https.test", "/a", headers={"X-Forwarded-Proto": "ws"})[0] == 302

    status, headers, body = request(cw, "https-port.test", "/p")
    assert (status, body) == (301, b"Moved Permanently")
    assert values(headers, "Location") == ["https://https-port.test:8443/p"]
    assert request(cw, "https-port.test", "/p", method="PUT")[0] == 308
    # https on 443 but the target port is 8443: still a redirect (the URL differs).
    status, headers, _ = request(cw, "https-port.test:443", "/p", headers={"X-Forwarded-Proto": "https"})
    assert values(headers, "Location") == ["https://https-port.test:8443/p"]
    assert request(cw, "https-port.test:8443", "/p", headers={"X-Forwarded-Proto": "https"})[0] == 200

    status, headers, _ = request(cw, "https-443.test", "/p")
    assert values(headers, "Location") == ["https://https-443.test/p"]
    # Same URL: http://host/p → http://host/p passes through; with a port it would change.
    assert request(cw, "http-80.test", "/p")[0] == 200
    assert request(cw, "http-80.test:80", "/p")[0] == 200
    status, headers, _ = request(cw, "http-80.test:8080", "/p")
    assert (status, values(headers, "Location")) == (302, ["http://http-80.test/p"])
    # A scheme is required.
    assert request(cw, "noscheme.test", "/")[0] == 404
