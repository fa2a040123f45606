"""Runtime behaviours that used to differ from Traefik's, found by reproducing its integration
tests (each test names the Traefik test it mirrors):

- a server URL with a port out of range builds, and only its requests fail (502), as Go
  accepts the URL and fails when dialling (error-pages tests);
- `GET http://@/` (empty userinfo and host) routes on the Host field (TestMuxer);
- http.maxHeaderBytes leaves Go's 4 KiB of slack for the request line;
- routers that give one host different TLS options are in warning with Traefik's text, and the
  host gets the default options (TestRouterConfigErrors);
- rule and service errors use Traefik's words (TestWithDefaultRuleSyntax, TestServiceConfigErrors);
- weighted round robin is exact over short runs whatever worker serves them (TestWRR).
"""
import json
import textwrap

from harness import curl, raw_request, responses, wait_until

API = "api:\n  insecure: true\n"


def api(cw, path):
    status, _, body = curl(cw.url("traefik", path))
    return status, (json.loads(body) if status == 200 else body)


def test_out_of_range_server_port_fails_at_dial(start_causeway, start_whoami):
    who = start_whoami()
    cw = start_causeway(entrypoints=("web", "traefik"), static_extra=API, dynamic={"d.yml": textwrap.dedent(f"""\
        http:
          routers:
            bad: {{rule: "Path(`/bad`)", service: bad, entryPoints: [web]}}
            pages: {{rule: "Path(`/paged`)", service: bad, middlewares: [pages], entryPoints: [web]}}
          middlewares:
            pages:
              errors: {{status: ["500-599"], service: good, query: "/{{status}}"}}
          services:
            bad:
              loadBalancer:
                servers: [{{url: "http://127.0.0.1:8989474"}}]
            good:
              loadBalancer:
                servers: [{{url: "http://127.0.0.1:{who.port}"}}]
        """)})
    assert wait_until(lambda: curl(cw.url("web", "/bad"))[0] == 502, 5)
    status, _, body = curl(cw.url("web", "/paged"))
    assert status == 502 and b"GET /502" in body  # the error page came from `good`
    status, service = api(cw, "/api/http/services/bad@file")
    assert status == 200 and service["status"] == "enabled", service


def test_absolute_form_with_empty_host_routes_on_the_host_field(start_causeway, start_whoami):
    who = start_whoami()
    cw = start_causeway(dynamic={"d.yml": textwrap.dedent(f"""\
        http:
          routers:
            notest: {{rule: "!Host(`test.localhost`)", service: app}}
          services:
            app:
              loadBalancer:
                servers: [{{url: "http://127.0.0.1:{who.port}"}}]
        """)})
    for host, expected in (("test.localhost", 404), ("toto.localhost", 200)):
        out = responses(raw_request(cw.port(), f"GET http://@/ HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
                                    .encode()))
        assert out and out[0][0] == expected, (host, out)
    # Any other userinfo stays refused (docs/security.md, S40).
    out = responses(raw_request(cw.port(), b"GET http://u@toto.localhost/ HTTP/1.1\r\nHost: toto.localhost\r\n\r\n"))
    assert out and out[0][0] == 400


def test_max_header_bytes_has_go_slack(start_causeway, start_whoami):
    who = start_whoami()
    cw = start_causeway(entrypoint_extra={"web": "http:\n  maxHeaderBytes: 8192"}, dynamic={"d.yml": textwrap.dedent(f"""\
        http:
          routers:
            app: {{rule: "PathPrefix(`/`)", service: app}}
          services:
            app:
              loadBalancer:
                servers: [{{url: "http://127.0.0.1:{who.port}"}}]
        """)})
    def send(header_bytes):
        head = "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
        filler = "X-Fill: " + "a" * (header_bytes - len(head) - 10) + "\r\n"
        return responses(raw_request(cw.port(), (head + filler + "\r\n").encode()))[0][0]
    assert send(8192) == 200   # a head the size of the limit (Go: limit + 4096 of slack)
    assert send(12000) == 200
    assert send(12400) == 431  # past the slack


def test_tls_options_conflict_puts_routers_in_warning(start_causeway, start_whoami):
    who = start_whoami()
    cw = start_causeway(entrypoints=("web", "traefik"), static_extra=API, dynamic={"d.yml": textwrap.dedent(f"""\
        http:
          routers:
            r1: {{rule: "Host(`conflict.test`) && Path(`/a`)", service: app, entryPoints: [web], tls: {{options: tls12}}}}
            r2: {{rule: "Host(`conflict.test`) && Path(`/b`)", service: app, entryPoints: [web], tls: {{options: tls13}}}}
            r3: {{rule: "Host(`other.test`)", service: app, entryPoints: [web], tls: {{options: tls13}}}}
          services:
            app:
              loadBalancer:
                servers: [{{url: "http://127.0.0.1:{who.port}"}}]
        tls:
          options:
            tls12: {{minVersion: VersionTLS12}}
            tls13: {{minVersion: VersionTLS13}}
        """)})
    message = ("router's TLSOptions configuration is conflicting with other routers on the same entrypoint and host, "
               "default TLS options will be used instead")
    def router(name):
        return api(cw, f"/api/http/routers/{name}@file")[1]
    assert wait_until(lambda: isinstance(router("r1"), dict), 5)
    for name in ("r1", "r2"):
        r = router(name)
        assert r["status"] == "warning" and r["error"] == [message], r
    assert router("r3")["status"] == "enabled"


def test_errors_use_traefiks_words(start_causeway):
    cw = start_causeway(entrypoints=("web", "traefik"), static_extra=API, dynamic={"d.yml": textwrap.dedent("""\
        http:
          routers:
            r2: {rule: "QueryRegexp(`foo`, `bar`)", ruleSyntax: v2, service: s2, entryPoints: [web]}
            r3: {rule: "PathPrefix(`/foo`, `/bar`)", service: s2, entryPoints: [web]}
          services:
            s1: {}
            s2:
              loadBalancer:
                servers: [{url: "http://127.0.0.1:9"}]
        """)})
    assert wait_until(lambda: api(cw, "/api/http/routers/r2@file")[0] == 200, 5)
    r2 = api(cw, "/api/http/routers/r2@file")[1]
    assert "parsing rule QueryRegexp(`foo`, `bar`): unsupported function: QueryRegexp" in r2["error"][0]
    r3 = api(cw, "/api/http/routers/r3@file")[1]
    assert "adding rule PathPrefix: unexpected number of parameters; got 2, expected one of [1]" in r3["error"][0]
    s1 = api(cw, "/api/http/services/s1@file")[1]
    assert any('the service "s1@file" does not have any type defined' in e for e in s1["error"]), s1


def test_weighted_round_robin_is_exact_per_service(start_causeway, start_whoami):
    a, b = start_whoami("a"), start_whoami("b")
    cw = start_causeway(workers=2, dynamic={"d.yml": textwrap.dedent(f"""\
        http:
          routers:
            app: {{rule: "PathPrefix(`/`)", service: app}}
          services:
            app:
              loadBalancer:
                servers:
                  - {{url: "http://127.0.0.1:{a.port}", weight: 3}}
                  - {{url: "http://127.0.0.1:{b.port}", weight: 1}}
        """)})
    names = []
    for _ in range(20):  # a new connection each time: the kernel spreads them over both workers
        status, _, body = curl(cw.url("web", "/"), "-H", "Connection: close")
        assert status == 200
        names.append("a" if b"Hostname: a" in body or b"Name: a" in body else "b")
    for start in range(0, 20, 4):
        window = names[start:start + 4]
        assert window.count("a") == 3 and window.count("b") == 1, names
