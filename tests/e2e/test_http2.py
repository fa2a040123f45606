"""HTTP/2 on both sides (docs/compatibility.md http2.*, §2.3 serversTransports, §9.3).

Downstream: nghttp (-nv shows the SETTINGS causeway sends) over TLS (h2 by ALPN) and h2c with
prior knowledge, many streams on one connection (h2probe.py), a 1 MiB upload with curl, and
an h2load smoke run. Upstream: Debian's nghttpd as an h2c and an https (ALPN h2) server, and
a small Python TLS server that records the SNI and ALPN it saw, for serversTransports
(rootCAs, insecureSkipVerify, serverName, disableHTTP2). gRPC is in test_grpc.py.
"""
import re
import subprocess

import pytest

from h2probe import H2Client
from harness import Causeway, Process, Whoami, free_port, rss_kib, to_yaml, wait_for_port, wait_until, whoami_echo
from tls_certs import Pki, curl_tls
from tls_upstream import TlsUpstream


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    p = Pki(tmp_path_factory.mktemp("pki"))
    p.ca_cert = p.ca("causeway test CA")
    p.other_ca = p.ca("another CA")
    p.front = p.issue(p.ca_cert, "a.test", dns=["a.test"])
    p.backend = p.issue(p.ca_cert, "backend.internal", dns=["backend.internal"], ips=["127.0.0.1"])
    p.backend_name_only = p.issue(p.ca_cert, "backend.internal", dns=["backend.internal"])
    p.self_signed = p.issue(None, "selfsigned.internal", dns=["selfsigned.internal"], ips=["127.0.0.1"])
    return p


@pytest.fixture(scope="module")
def whoami():
    w = Whoami("h2")
    yield w
    w.stop()


def lb(url, transport=None):
    out = {"loadBalancer": {"servers": [{"url": url}]}}
    if transport:
        out["loadBalancer"]["serversTransport"] = transport
    return out


def dynamic(pki, service, transports=None):
    """Host a.test over TLS and anything over cleartext → `service`."""
    out = {"http": {
        "routers": {"tls": {"rule": "PathPrefix(`/`)", "service": "s", "tls": {}},
                    "plain": {"rule": "PathPrefix(`/`)", "service": "s"}},
        "services": {"s": service}},
        "tls": {"certificates": [{"certFile": pki.front.cert, "keyFile": pki.front.key}]}}
    if transports:
        out["http"]["serversTransports"] = transports
    return {"h2.yml": to_yaml(out) + "\n"}


def ready(cw, pki, status=200):
    return wait_until(lambda: curl_tls(cw.port(), "a.test", ca=pki.ca_cert).status == status,
                      message=f"https://a.test → {status}")


@pytest.fixture(scope="module")
def proxy(pki, whoami):
    cw = Causeway(dynamic=dynamic(pki, lb(whoami.url)))
    try:
        ready(cw, pki)
        yield cw
    finally:
        cw.stop()


def nghttp(url, *args, timeout=15):
    out = subprocess.run(["nghttp", "-nv", *args, url], capture_output=True, text=True, timeout=timeout)
    return out.returncode, out.stdout + out.stderr


def received_settings(output):
    """{name: value} of the first SETTINGS frame nghttp received."""
    m = re.search(r"recv SETTINGS frame <length=\d+, flags=0x00, stream_id=0>\n\s*\(niv=\d+\)\n((?:\s*\[.*\]\n)*)",
                  output)
    assert m, output
    return {k: int(v) for k, v in re.findall(r"\[(SETTINGS_[A-Z_]+)\(0x[0-9a-f]+\):(\d+)\]", m.group(1))}


# ---------------------------------------------------------------------------------------
# Downstream HTTP/2

@pytest.mark.parametrize("scheme", ["https", "http"])
def test_nghttp_sees_default_settings(proxy, scheme):
    rc, out = nghttp(f"{scheme}://127.0.0.1:{proxy.port()}/nghttp", "-H", ":authority: a.test")
    assert rc == 0, out
    if scheme == "https":
        assert "The negotiated protocol: h2" in out, out
    settings = received_settings(out)
    assert settings["SETTINGS_MAX_CONCURRENT_STREAMS"] == 250, settings  # Traefik's default
    assert ":status: 200" in out and "GET /nghttp HTTP/2.0" not in out
    assert "recv DATA frame" in out and "END_STREAM" in out


@pytest.mark.parametrize("scheme", ["https", "http"])
def test_configured_max_concurrent_streams_is_advertised(pki, whoami, start_causeway, scheme):
    cw = start_causeway(dynamic=dynamic(pki, lb(whoami.url)),
                        entrypoint_extra={"web": {"http2": {"maxConcurrentStreams": 7}}})
    ready(cw, pki)
    rc, out = nghttp(f"{scheme}://127.0.0.1:{cw.port()}/", "-H", ":authority: a.test")
    assert rc == 0, out
    assert received_settings(out)["SETTINGS_MAX_CONCURRENT_STREAMS"] == 7, out


@pytest.mark.parametrize("tls", [True, False], ids=["h2", "h2c"])
def test_many_concurrent_streams_on_one_connection(proxy, tls):
    with H2Client(proxy.port(), tls=tls, sni="a.test") as c:
        sids = {c.request(authority="a.test", path=f"/stream/{i}", scheme="https" if tls else "http"): i
                for i in range(200)}
        assert c.wait(lambda: all(c.streams[s].done for s in sids) or c.closed, timeout=15)
        for sid, i in sids.items():
            s = c.streams[sid]
            assert s.status == 200 and s.reset is None, s
            request_line, _, _ = whoami_echo(bytes(s.body))
            assert request_line == f"GET /stream/{i} HTTP/1.1", (i, bytes(s.body)[:200])


@pytest.mark.parametrize("http", ["2", "2-prior"], ids=["h2", "h2c"])
def test_one_mebibyte_post(proxy, pki, http):
    body = bytes(range(256)) * 4096
    r = curl_tls(proxy.port(), "a.test", "/upload", ca=pki.ca_cert, http=http, data=body,
                 scheme="https" if http == "2" else "http", headers=["Content-Type: application/octet-stream"])
    assert r.status == 200 and r.version == "2", r
    request_line, _, own = whoami_echo(r.body)
    assert request_line == "POST /upload HTTP/1.1"
    assert own.get("Body-Length") == str(len(body)), own


@pytest.mark.parametrize("scheme", ["https", "http"])
def test_h2load_smoke(proxy, scheme):
    out = subprocess.run(["h2load", "-n", "2000", "-c", "4", "-m", "10", f"{scheme}://127.0.0.1:{proxy.port()}/"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed, 0 errored, 0 timeout" \
        in out.stdout, out.stdout
    assert "status codes: 2000 2xx" in out.stdout, out.stdout
    if scheme == "https":
        assert "Application protocol: h2" in out.stdout


@pytest.mark.parametrize("size", [6, 900, 4096, 16384, 20000])
def test_small_responses_reach_a_client_with_a_tiny_window(proxy, size):
    # A response's last piece up to 16 KiB is copied into its stream and the handler ends
    # without waiting for the writer (its upstream connection goes back to the pool). With
    # the client's stream window at 1,023 bytes the writer frames that copy a window at a time
    # long after the handler has gone: every byte must still arrive, unchanged (whoami's
    # /data is a 36-character pattern). Before, DATA waited for the client's whole window and
    # could hang: nghttp2 settled at 959 of its 1,023 bytes (a frame consumed in pieces).
    pattern = "abcdefghijklmnopqrstuvwxyz0123456789"
    expected = (pattern * (size // len(pattern) + 1))[:size]
    url = f"https://127.0.0.1:{proxy.port()}/data?size={size}"
    out = subprocess.run(["nghttp", "-H", ":authority: a.test", "-w", "10", url], capture_output=True, text=True,
                         timeout=15)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout == expected, (len(out.stdout), out.stdout[:200])
    # Eight at once on one connection (their bodies interleave on stdout: count the bytes).
    rc, verbose = nghttp(url, "-H", ":authority: a.test", "-w", "10", "-m", "8")
    assert rc == 0, verbose[-2000:]
    assert sum(int(n) for n in re.findall(r"recv DATA frame <length=(\d+)", verbose)) == 8 * size, verbose[-2000:]


def test_a_client_at_the_stream_limit_is_never_refused(pki, whoami):
    # h2load keeps exactly maxConcurrentStreams streams in flight on each connection, opening
    # the next as soon as one ends: a handler still finishing after its stream ended must not
    # make the new stream look like one too many (it waits for the handler instead).
    cw = Causeway(dynamic=dynamic(pki, lb(whoami.url)), entrypoint_extra={"web": {"http2": {"maxConcurrentStreams": 10}}})
    try:
        ready(cw, pki)
        out = subprocess.run(["h2load", "-n", "20000", "-c", "4", "-m", "10", f"https://127.0.0.1:{cw.port()}/"],
                             capture_output=True, text=True, timeout=120)
        assert "20000 succeeded, 0 failed, 0 errored" in out.stdout, out.stdout
    finally:
        cw.stop()


def denying_proxy(pki):
    """One worker; every request over TLS is answered 403 by the proxy itself (ipAllowList)."""
    routers = {"http": {"routers": {"deny": {"rule": "PathPrefix(`/`)", "service": "s", "tls": {},
                                             "middlewares": ["nobody"]}},
                        "middlewares": {"nobody": {"ipAllowList": {"sourceRange": ["192.0.2.1/32"]}}},
                        "services": {"s": lb("http://127.0.0.1:9")}},
               "tls": {"certificates": [{"certFile": pki.front.cert, "keyFile": pki.front.key}]}}
    cw = Causeway(dynamic={"h2.yml": to_yaml(routers) + "\n"}, workers=1)
    ready(cw, pki, status=403)
    return cw


def test_long_connections_do_not_keep_their_closed_streams(pki):
    # nghttp2 keeps closed streams for RFC 7540 priorities, as many as a local stream limit it
    # is never told: 200,000 streams on 4 connections (answered 403 by the proxy itself) must
    # not grow the process by their number (about 250 bytes each when they were kept).
    cw = denying_proxy(pki)
    try:
        url = f"https://127.0.0.1:{cw.port()}/"

        def load(n):
            out = subprocess.run(["h2load", "-n", str(n), "-c", "4", "-m", "100", url], capture_output=True, text=True,
                                 timeout=120)
            assert f"status codes: 0 2xx, 0 3xx, {n} 4xx" in out.stdout, out.stdout

        load(40000)  # buffers, pools and caches at their working size
        before = rss_kib(cw.pid)
        load(200000)
        growth = rss_kib(cw.pid) - before
        assert growth < 12 * 1024, f"{growth} KiB for 200,000 streams"
    finally:
        cw.stop()


def test_unread_upload_bodies_give_the_connection_window_back(pki, tmp_path):
    # 600 uploads of 1 MiB on one connection, each answered 403 before its body is read: once
    # the answer is framed the client is stopped (RST_STREAM NO_ERROR) and what arrived for
    # nobody goes back to the connection's window. Before, the handler waited for the stream
    # to close while the client waited for window: the first upload hung until readTimeout.
    cw = denying_proxy(pki)
    try:
        body = tmp_path / "upload"
        body.write_bytes(b"u" * (1 << 20))
        out = subprocess.run(["h2load", "-n", "600", "-c", "1", "-m", "1", "-d", str(body),
                              f"https://127.0.0.1:{cw.port()}/"], capture_output=True, text=True, timeout=60)
        assert "status codes: 0 2xx, 0 3xx, 600 4xx" in out.stdout, out.stdout
    finally:
        cw.stop()


# ---------------------------------------------------------------------------------------
# Upstream HTTP/2: nghttpd (h2c and https with ALPN h2)

class Nghttpd(Process):
    """Debian's nghttpd serving `htdocs`; -v output (line-buffered) in output()."""

    def __init__(self, htdocs, cert=None, trailer=None):
        self.port = free_port()
        args = ["stdbuf", "-oL", "nghttpd", "-v", "-a", "127.0.0.1", "-d", str(htdocs)]
        for t in ([trailer] if isinstance(trailer, str) else trailer or []):
            args.append(f"--trailer={t}")
        args += [str(self.port), cert.key, cert.cert] if cert else ["--no-tls", str(self.port)]
        super().__init__(args, name="nghttpd")
        wait_for_port(self.port, proc=self.proc)

    def requests(self, path):
        return self.output().count(f":path: {path}\n")

    def connections(self, with_requests=False):
        """Ids of the connections nghttpd accepted (with_requests: that carried a request)."""
        pattern = r"^\[id=(\d+)\].*recv \(stream_id=\d+\) :path:" if with_requests else r"^\[id=(\d+)\]"
        return set(re.findall(pattern, self.output(), re.M))


@pytest.fixture
def htdocs(tmp_path):
    d = tmp_path / "htdocs"
    d.mkdir()
    (d / "file.txt").write_text("hello from nghttpd\n")
    (d / "big.bin").write_bytes(bytes(range(256)) * 4096)
    return d


@pytest.fixture
def nghttpd(htdocs):
    started = []

    def start(**kwargs):
        n = Nghttpd(htdocs, **kwargs)
        started.append(n)
        return n

    yield start
    for n in started:
        n.stop()


@pytest.mark.parametrize("client", ["http1.1", "h2", "h2c"])
def test_h2c_upstream(pki, nghttpd, start_causeway, client):
    upstream = nghttpd()
    cw = start_causeway(dynamic=dynamic(pki, lb(f"h2c://127.0.0.1:{upstream.port}")))
    wait_until(lambda: curl_tls(cw.port(), "a.test", "/file.txt", ca=pki.ca_cert).status == 200,
               message="route to nghttpd")
    http, scheme = {"http1.1": ("1.1", "https"), "h2": ("2", "https"), "h2c": ("2-prior", "http")}[client]
    r = curl_tls(cw.port(), "a.test", "/file.txt", ca=pki.ca_cert, http=http, scheme=scheme)
    assert r.status == 200 and r.body == b"hello from nghttpd\n", r
    r = curl_tls(cw.port(), "a.test", "/big.bin", ca=pki.ca_cert, http=http, scheme=scheme)
    assert r.status == 200 and r.body == bytes(range(256)) * 4096, r
    assert wait_until(lambda: upstream.requests("/big.bin") >= 1, message="nghttpd saw the request")
    assert "recv HEADERS frame" in upstream.output()  # HTTP/2 frames, not an HTTP/1.1 upgrade


def h2load(port, path, n, c, m):
    out = subprocess.run(["h2load", "-n", str(n), "-c", str(c), "-m", str(m), f"https://127.0.0.1:{port}{path}"],
                         capture_output=True, text=True, timeout=60)
    assert f"{n} succeeded, 0 failed" in out.stdout, out.stdout
    return out.stdout


def test_h2c_upstream_streams_are_multiplexed(pki, nghttpd, start_causeway):
    upstream = nghttpd()
    cw = start_causeway(dynamic=dynamic(pki, lb(f"h2c://127.0.0.1:{upstream.port}")), workers=2)
    wait_until(lambda: curl_tls(cw.port(), "a.test", "/file.txt", ca=pki.ca_cert).status == 200,
               message="route to nghttpd")
    h2load(cw.port(), "/file.txt?warm", 200, 8, 10)
    wait_until(lambda: upstream.requests("/file.txt?warm") >= 200, message="warm-up requests seen")
    before = upstream.connections(with_requests=True)
    h2load(cw.port(), "/file.txt?burst", 800, 8, 10)
    wait_until(lambda: upstream.requests("/file.txt?burst") >= 800, message="every request seen")
    # 8 client connections × 10 streams, 800 requests: carried by the upstream connections
    # already open, no new ones.
    assert upstream.connections(with_requests=True) == before, (before, upstream.connections(with_requests=True))


def test_h2c_upstream_cold_burst_shares_one_connection_per_worker(pki, whoami, nghttpd, start_causeway):
    upstream = nghttpd()
    out = {"http": {
        "routers": {"h2c": {"rule": "PathPrefix(`/`)", "service": "h2c", "tls": {}},
                    "ready": {"rule": "Host(`ready.test`)", "service": "ready"}},
        "services": {"h2c": lb(f"h2c://127.0.0.1:{upstream.port}"), "ready": lb(whoami.url)}},
        "tls": {"certificates": [{"certFile": pki.front.cert, "keyFile": pki.front.key}]}}
    cw = start_causeway(dynamic={"h2.yml": to_yaml(out) + "\n"}, workers=2)
    wait_until(lambda: curl_tls(cw.port(), "ready.test", scheme="http").status == 200, message="routes ready")
    h2load(cw.port(), "/file.txt?cold", 400, 8, 10)
    wait_until(lambda: upstream.requests("/file.txt?cold") >= 400, message="every request seen")
    assert len(upstream.connections(with_requests=True)) <= 2, upstream.connections(with_requests=True)


@pytest.mark.parametrize("client", ["http1.1", "h2"])
def test_https_upstream_with_alpn_h2_and_root_ca(pki, nghttpd, start_causeway, client):
    upstream = nghttpd(cert=pki.backend)
    transports = {"tr": {"rootCAs": [pki.ca_cert.cert]}}
    cw = start_causeway(dynamic=dynamic(pki, lb(f"https://127.0.0.1:{upstream.port}", "tr"), transports))
    wait_until(lambda: curl_tls(cw.port(), "a.test", "/file.txt", ca=pki.ca_cert).status == 200,
               message="route to nghttpd over TLS")
    r = curl_tls(cw.port(), "a.test", "/file.txt", ca=pki.ca_cert, http="1.1" if client == "http1.1" else "2")
    assert r.status == 200 and r.body == b"hello from nghttpd\n", r
    assert upstream.requests("/file.txt") >= 2


def test_https_upstream_insecure_skip_verify(pki, nghttpd, start_causeway):
    upstream = nghttpd(cert=pki.self_signed)
    transports = {"insecure": {"insecureSkipVerify": True}, "strict": {"rootCAs": [pki.ca_cert.cert]}}
    out = {"http": {
        "routers": {"insecure": {"rule": "Host(`insecure.test`)", "service": "insecure"},
                    "strict": {"rule": "Host(`strict.test`)", "service": "strict"},
                    "default": {"rule": "Host(`default.test`)", "service": "default"}},
        "services": {"insecure": lb(f"https://127.0.0.1:{upstream.port}", "insecure"),
                     "strict": lb(f"https://127.0.0.1:{upstream.port}", "strict"),
                     "default": lb(f"https://127.0.0.1:{upstream.port}")},
        "serversTransports": transports}}
    cw = start_causeway(dynamic={"h2.yml": to_yaml(out) + "\n"})
    wait_until(lambda: curl_tls(cw.port(), "insecure.test", "/file.txt", scheme="http").status == 200,
               message="insecureSkipVerify route")
    r = curl_tls(cw.port(), "insecure.test", "/file.txt", scheme="http")
    assert r.status == 200 and r.body == b"hello from nghttpd\n", r
    # The same self-signed upstream fails verification with a CA, or with the system roots.
    assert curl_tls(cw.port(), "strict.test", "/file.txt", scheme="http").status == 502
    assert curl_tls(cw.port(), "default.test", "/file.txt", scheme="http").status == 502


def test_https_upstream_signed_by_another_ca_is_502(pki, nghttpd, start_causeway):
    upstream = nghttpd(cert=pki.backend)
    transports = {"tr": {"rootCAs": [pki.other_ca.cert]}}
    cw = start_causeway(dynamic=dynamic(pki, lb(f"https://127.0.0.1:{upstream.port}", "tr"), transports))
    ready(cw, pki, status=502)
    for http in ("1.1", "2"):
        r = curl_tls(cw.port(), "a.test", "/file.txt", ca=pki.ca_cert, http=http)
        assert r.status == 502, r
    assert upstream.requests("/file.txt") == 0


@pytest.mark.parametrize("scheme", ["https", "http"])
def test_trailers_from_h2_upstream_reach_h2_client(pki, nghttpd, start_causeway, scheme):
    # Set-Cookie is no trailer field (RFC 9110 §6.5.1; reliability S10): it is dropped.
    upstream = nghttpd(cert=pki.backend if scheme == "https" else None,
                       trailer=["x-upstream-trailer: yes", "set-cookie: evil=1"])
    url = f"https://127.0.0.1:{upstream.port}" if scheme == "https" else f"h2c://127.0.0.1:{upstream.port}"
    transports = {"tr": {"rootCAs": [pki.ca_cert.cert]}}
    cw = start_causeway(dynamic=dynamic(pki, lb(url, "tr" if scheme == "https" else None), transports))
    wait_until(lambda: curl_tls(cw.port(), "a.test", "/file.txt", ca=pki.ca_cert).status == 200,
               message="route to nghttpd")
    client_scheme = "https" if scheme == "https" else "http"
    rc, out = nghttp(f"{client_scheme}://127.0.0.1:{cw.port()}/file.txt", "-H", ":authority: a.test")
    assert rc == 0, out
    data_at = out.find("recv DATA frame")
    trailer_at = out.find("recv (stream_id=13) x-upstream-trailer: yes")
    assert data_at >= 0 and trailer_at > data_at, out  # a trailer: after the body
    assert re.search(r"recv HEADERS frame <length=\d+, flags=0x05, stream_id=13>", out[trailer_at:]), out
    assert "evil=1" not in out, out


# ---------------------------------------------------------------------------------------
# serversTransports: SNI and ALPN seen by the upstream (tls_upstream.py)

@pytest.fixture
def tls_recorder():
    started = []

    def start(cert, **kwargs):
        r = TlsUpstream(cert, **kwargs)
        started.append(r)
        return r

    yield start
    for r in started:
        r.stop()


def test_disable_http2_makes_the_https_upstream_use_http11(pki, tls_recorder, start_causeway):
    upstream = tls_recorder(pki.backend)
    transports = {"h1": {"rootCAs": [pki.ca_cert.cert], "disableHTTP2": True},
                  "h2": {"rootCAs": [pki.ca_cert.cert]}}
    out = {"http": {
        "routers": {"h1": {"rule": "Host(`h1.test`)", "service": "h1"},
                    "h2": {"rule": "Host(`h2.test`)", "service": "h2"}},
        "services": {"h1": lb(f"https://127.0.0.1:{upstream.port}", "h1"),
                     "h2": lb(f"https://127.0.0.1:{upstream.port}", "h2")},
        "serversTransports": transports}}
    cw = start_causeway(dynamic={"h2.yml": to_yaml(out) + "\n"})
    wait_until(lambda: curl_tls(cw.port(), "h1.test", scheme="http").status == 200, message="h1 route")
    r = curl_tls(cw.port(), "h1.test", scheme="http", http="2-prior")
    assert r.status == 200 and r.body.startswith(b"sni=None alpn=http/1.1 "), r
    assert {(c.sni, c.alpn) for c in upstream.connections} == {(None, "http/1.1")}, upstream.connections
    # Without disableHTTP2 the same upstream is offered h2 and picks it.
    del upstream.connections[:]
    curl_tls(cw.port(), "h2.test", scheme="http")
    assert upstream.connections and (upstream.connections[0].sni, upstream.connections[0].alpn) == (None, "h2"), \
        upstream.connections


def test_server_name_sets_the_upstream_sni(pki, tls_recorder, start_causeway):
    upstream = tls_recorder(pki.backend_name_only, alpn=("http/1.1",))
    transports = {"named": {"rootCAs": [pki.ca_cert.cert], "serverName": "backend.internal"},
                  "unnamed": {"rootCAs": [pki.ca_cert.cert]}}
    out = {"http": {
        "routers": {"named": {"rule": "Host(`named.test`)", "service": "named"},
                    "unnamed": {"rule": "Host(`unnamed.test`)", "service": "unnamed"}},
        "services": {"named": lb(f"https://127.0.0.1:{upstream.port}", "named"),
                     "unnamed": lb(f"https://127.0.0.1:{upstream.port}", "unnamed")},
        "serversTransports": transports}}
    cw = start_causeway(dynamic={"h2.yml": to_yaml(out) + "\n"})
    wait_until(lambda: curl_tls(cw.port(), "named.test", scheme="http").status == 200, message="named route")
    r = curl_tls(cw.port(), "named.test", scheme="http")
    assert r.status == 200 and r.body.startswith(b"sni=backend.internal alpn=http/1.1 "), r
    # Without serverName: no SNI for an IP address, and the certificate (backend.internal
    # only) does not match 127.0.0.1.
    del upstream.connections[:]
    assert curl_tls(cw.port(), "unnamed.test", scheme="http").status == 502
    assert upstream.connections and upstream.connections[0].sni is None, upstream.connections
    assert upstream.connections[0].requests == 0
