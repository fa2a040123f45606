"""forwardAuth against a real authentication server (a small Python HTTP server): the
sub-request's method, path and X-Forwarded-* headers; allow (2xx) with authResponseHeaders,
authResponseHeadersRegex and addAuthCookiesToResponse; deny with the server's status, headers
and body; Location handling, authSigninURL, forwardBody/maxBodySize, maxResponseBodySize,
authRequestHeaders, trustForwardHeader, and an unreachable server.

Reference: docs/compatibility.md (middleware ForwardAuth)."""
import http.server
import shutil
import ssl
import subprocess
import threading

import pytest

from harness import ScriptedUpstream, free_port, header_values, whoami_echo
from mwkit import request, start, values, wait_log

INSECURE = {"web": "forwardedHeaders:\n  insecure: true"}


class AuthServer:
    """Answers by path; records every request (method, path, headers, body)."""

    ROUTES = {
        "/allow": (200, [("X-Auth-User", "alice"), ("X-Auth-Role", "admin"), ("X-Auth-Role", "ops"),
                         ("X-Other", "not copied")], b"ignored"),
        "/deny": (403, [("X-Reason", "no entry"), ("Content-Type", "text/plain")], b"nope"),
        "/login": (302, [("Location", "/sso/login?next=1")], b""),
        "/unauthorized": (401, [("Www-Authenticate", "Bearer")], b"who are you"),
        "/cookies": (204, [("Set-Cookie", "session=from-auth; Path=/; HttpOnly"),
                           ("Set-Cookie", "tracking=auth")], b""),
        "/big": (200, [], b"x" * 2000),
    }

    def __init__(self):
        self.requests = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_one(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?")[0]
                outer.requests.append({"method": self.command, "path": self.path, "headers": list(self.headers.items()),
                                       "body": body})
                status, headers, payload = outer.ROUTES.get(path, (404, [], b"unknown"))
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = handle_one

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def last(self):
        return self.requests[-1]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def auth():
    s = AuthServer()
    yield s
    s.stop()


def fa(auth, path, **options):
    return {"forwardAuth": {"address": auth.url(path), **options}}


def header(req, name):
    return [v for k, v in req["headers"] if k.lower() == name.lower()]


def test_allow_copies_listed_headers(start_whoami, start_causeway, auth):
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "auth": fa(auth, "/allow?app=1", authResponseHeaders=["X-Auth-User"],
                   authResponseHeadersRegex="^X-Auth-R"),
    }, routers={"r": ("Host(`a.test`)", ["auth"])})
    status, _, body = request(cw, "a.test", path="/some/path?q=1", method="POST", body=b"payload",
                              headers={"Authorization": "Bearer token", "X-Auth-User": "spoofed",
                                       "X-Auth-Rank": "client", "Content-Type": "text/plain",
                                       "Proxy-Authorization": "Basic cHJveHk6cHc="})
    assert status == 200
    sub = auth.last()
    assert sub["method"] == "GET"
    assert sub["path"] == "/allow?app=1"
    assert sub["body"] == b""
    assert header(sub, "Host") == [f"127.0.0.1:{auth.port}"]
    assert header(sub, "Authorization") == ["Bearer token"]
    # Proxy-Authorization is for the authentication server (RFC 7235 §4.4), never the upstream.
    assert header(sub, "Proxy-Authorization") == ["Basic cHJveHk6cHc="]
    assert header(sub, "X-Forwarded-Method") == ["POST"]
    assert header(sub, "X-Forwarded-Proto") == ["http"]
    assert header(sub, "X-Forwarded-Host") == ["a.test"]
    assert header(sub, "X-Forwarded-Uri") == ["/some/path?q=1"]
    assert header(sub, "X-Forwarded-For") == ["127.0.0.1"]
    assert header(sub, "User-Agent") == ["Go-http-client/1.1"]  # legacy mode, client sent none
    request_line, echoed, own = whoami_echo(body)
    assert request_line == "POST /some/path?q=1 HTTP/1.1"
    assert own.get("Body-Length") in (None, "7")
    assert header_values(echoed, "X-Auth-User") == ["alice"]
    assert header_values(echoed, "X-Auth-Role") == ["admin", "ops"]
    assert header_values(echoed, "X-Auth-Rank") == []  # matched the regex: removed
    assert header_values(echoed, "X-Other") == []
    assert header_values(echoed, "Proxy-Authorization") == []


def test_deny_returns_the_auth_answer(start_whoami, start_causeway, auth):
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "deny": fa(auth, "/deny"),
        "login": fa(auth, "/login"),
        "keep": fa(auth, "/login", preserveLocationHeader=True),
        "signin": fa(auth, "/unauthorized", authSigninURL="https://sso.example/login?x=1"),
        "nosignin": fa(auth, "/unauthorized"),
    }, routers={"d": ("Host(`d.test`)", ["deny"]), "l": ("Host(`l.test`)", ["login"]),
                "k": ("Host(`k.test`)", ["keep"]), "s": ("Host(`s.test`)", ["signin"]),
                "n": ("Host(`n.test`)", ["nosignin"])})
    status, headers, body = request(cw, "d.test")
    assert (status, body) == (403, b"nope")
    assert values(headers, "X-Reason") == ["no entry"]
    assert values(headers, "Content-Type") == ["text/plain"]
    assert values(headers, "Content-Length") == ["4"]
    status, headers, _ = request(cw, "l.test")
    assert status == 302
    assert values(headers, "Location") == [f"http://127.0.0.1:{auth.port}/sso/login?next=1"]
    status, headers, _ = request(cw, "k.test")
    assert values(headers, "Location") == ["/sso/login?next=1"]
    status, headers, body = request(cw, "s.test")
    assert status == 302
    assert values(headers, "Location") == ["https://sso.example/login?x=1"]
    assert body == b'<a href="https://sso.example/login?x=1">Found</a>.\n\n'
    status, headers, body = request(cw, "n.test")
    assert (status, body) == (401, b"who are you")
    assert values(headers, "Www-Authenticate") == ["Bearer"]


def test_auth_cookies_added_to_response(start_causeway, auth):
    def backend(conn, head, rest, upstream, index):
        conn.sendall(b"HTTP/1.1 200 OK\r\nSet-Cookie: session=from-backend\r\nSet-Cookie: backend=1\r\n"
                     b"Content-Length: 2\r\n\r\nok")
    up = ScriptedUpstream(backend)
    try:
        cw = start(start_causeway, up.url, middlewares={
            "cookies": fa(auth, "/cookies", addAuthCookiesToResponse=["session"]),
        }, routers={"r": ("Host(`a.test`)", ["cookies"])})
        status, headers, body = request(cw, "a.test")
        assert (status, body) == (200, b"ok")
        assert values(headers, "Set-Cookie") == ["backend=1", "session=from-auth; Path=/; HttpOnly"]
    finally:
        up.stop()


def test_forward_body_and_limits(start_whoami, start_causeway, auth):
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "body": fa(auth, "/allow", forwardBody=True, maxBodySize=10),
        "method": fa(auth, "/allow", preserveRequestMethod=True),
        "small": fa(auth, "/big", maxResponseBodySize=100),
        "large": fa(auth, "/big", maxResponseBodySize=5000),
    }, routers={"b": ("Host(`b.test`)", ["body"]), "m": ("Host(`m.test`)", ["method"]),
                "s": ("Host(`s.test`)", ["small"]), "l": ("Host(`l.test`)", ["large"])})
    status, _, body = request(cw, "b.test", method="POST", body=b"0123456789")
    assert status == 200
    assert auth.last()["body"] == b"0123456789"
    assert auth.last()["method"] == "GET"
    _, _, own = whoami_echo(body)
    assert b"0123456789" in body or own.get("Body-Length") == "10"
    count = len(auth.requests)
    status, headers, body = request(cw, "b.test", method="POST", body=b"01234567890")
    assert (status, body) == (401, b"")
    assert len(auth.requests) == count  # never sent
    request(cw, "m.test", method="DELETE")
    assert auth.last()["method"] == "DELETE"
    status, _, body = request(cw, "s.test")
    assert (status, body) == (401, b"")
    assert request(cw, "l.test")[0] == 200


def test_request_headers_filter_and_trust(start_whoami, start_causeway, auth):
    w = start_whoami()
    cw = start(start_causeway, w.url, entrypoint_extra=INSECURE, middlewares={
        "filtered": fa(auth, "/allow", authRequestHeaders=["X-Keep"]),
        "trusted": fa(auth, "/allow", trustForwardHeader=True),
        "untrusted": fa(auth, "/allow", trustForwardHeader=False),
        "trustedfiltered": fa(auth, "/allow", trustForwardHeader=True, authRequestHeaders=["X-Keep"]),
    }, routers={"f": ("Host(`f.test`)", ["filtered"]), "t": ("Host(`t.test`)", ["trusted"]),
                "u": ("Host(`u.test`)", ["untrusted"]), "x": ("Host(`x.test`)", ["trustedfiltered"])})
    client = {"X-Keep": "yes", "X-Drop": "no", "X-Forwarded-Host": "client.example",
              "X-Forwarded-For": "10.9.8.7", "X-Forwarded-Prefix": "/p", "User-Agent": "tester"}
    request(cw, "f.test", headers=client)
    sub = auth.last()
    assert header(sub, "X-Keep") == ["yes"]
    assert header(sub, "X-Drop") == []
    assert header(sub, "X-Forwarded-Prefix") == []
    assert header(sub, "X-Forwarded-Host") == ["f.test"]
    assert header(sub, "User-Agent") == ["Go-http-client/1.1"]  # filtered out: Go's default

    request(cw, "t.test", headers=client)
    sub = auth.last()
    assert header(sub, "X-Forwarded-Host") == ["client.example"]
    assert header(sub, "X-Forwarded-For") == ["10.9.8.7, 127.0.0.1"]
    assert header(sub, "X-Forwarded-Prefix") == ["/p"]
    assert header(sub, "X-Forwarded-Port") == ["80"]
    assert header(sub, "User-Agent") == ["tester"]

    request(cw, "u.test", headers=client)
    sub = auth.last()
    assert header(sub, "X-Forwarded-Host") == ["u.test"]
    assert header(sub, "X-Forwarded-For") == ["127.0.0.1"]
    assert header(sub, "X-Forwarded-Prefix") == []
    assert header(sub, "X-Forwarded-Uri") == ["/"]

    request(cw, "x.test", headers=client)
    sub = auth.last()
    assert header(sub, "X-Keep") == ["yes"]
    assert header(sub, "X-Drop") == []
    assert header(sub, "X-Forwarded-Host") == ["client.example"]  # X-headers stay listed


def test_unreachable_server_and_configuration_errors(start_whoami, start_causeway, tmp_path):
    w = start_whoami()
    dead = f"http://127.0.0.1:{free_port()}/auth"
    cw = start(start_causeway, w.url, middlewares={
        "dead": {"forwardAuth": {"address": dead}},
        "scheme": {"forwardAuth": {"address": "ftp://127.0.0.1:1/auth"}},
        "noaddress": {"forwardAuth": {"trustForwardHeader": True}},
        "regex": {"forwardAuth": {"address": dead, "authResponseHeadersRegex": "("}},
        "badca": {"forwardAuth": {"address": "https://127.0.0.1:1/", "tls": {"ca": str(tmp_path / "none.pem")}}},
    }, routers={name: (f"Host(`{name}.test`)", [name]) for name in ["dead", "scheme", "noaddress", "regex", "badca"]})
    status, headers, body = request(cw, "dead.test")
    assert (status, body) == (500, b"")
    assert values(headers, "Content-Type") == []
    wait_log(cw, 'unknown scheme "ftp"')
    wait_log(cw, "forwardAuth: address is required")
    wait_log(cw, "error compiling regular expression (")
    wait_log(cw, "unable to create client TLS configuration")
    for name in ["scheme", "noaddress", "regex", "badca"]:
        assert request(cw, f"{name}.test")[0] == 404, name


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_https_auth_server(start_whoami, start_causeway, tmp_path):
    cert, key = tmp_path / "auth.pem", tmp_path / "auth.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=auth",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    auth = AuthServer()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    auth.server.socket = context.wrap_socket(auth.server.socket, server_side=True)
    try:
        w = start_whoami()
        address = f"https://127.0.0.1:{auth.port}/allow"
        cw = start(start_causeway, w.url, middlewares={
            "skip": {"forwardAuth": {"address": address, "tls": {"insecureSkipVerify": True},
                                     "authResponseHeaders": ["X-Auth-User"]}},
            "ca": {"forwardAuth": {"address": address, "tls": {"ca": str(cert)}}},
            "system": {"forwardAuth": {"address": address}},
        }, routers={"s": ("Host(`s.test`)", ["skip"]), "c": ("Host(`c.test`)", ["ca"]),
                    "y": ("Host(`y.test`)", ["system"])})
        status, _, body = request(cw, "s.test")
        assert status == 200
        _, echoed, _ = whoami_echo(body)
        assert header_values(echoed, "X-Auth-User") == ["alice"]
        assert request(cw, "c.test")[0] == 200
        # A self-signed certificate is not trusted by the system roots.
        assert request(cw, "y.test")[:3:2] == (500, b"")
    finally:
        auth.stop()
