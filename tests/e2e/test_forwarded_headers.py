"""X-Forwarded-* and hop-by-hop handling on the way to the upstream.

Reference: docs/compatibility.md (forwardedHeaders.*) and §9.1, Traefik's
pkg/middlewares/forwardedheaders/forwarded_header.go and pkg/proxy/httputil/proxy.go
(Go's ReverseProxy), docs/security.md S37, S60–S62. whoami echoes the headers it received.
"""
import socket

import pytest

from harness import curl, header_values, routed, to_yaml, whoami_echo

HOSTNAME = socket.gethostname()

MANAGED = ["X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Port",
           "X-Forwarded-Server", "X-Forwarded-Prefix", "X-Forwarded-Uri", "X-Forwarded-Method",
           "X-Forwarded-Scheme", "X-Scheme", "X-Real-Ip"]

SPOOFED = [
    "X-Forwarded-For: 6.6.6.6",
    "X-Forwarded-Proto: https",
    "X-Forwarded-Host: evil.test",
    "X-Forwarded-Port: 6666",
    "X-Forwarded-Server: evil-server",
    "X-Forwarded-Prefix: /evil",
    "X-Forwarded-Uri: /evil",
    "X-Forwarded-Method: DELETE",
    "X-Forwarded-Scheme: https",
    "X-Scheme: https",
    "X-Real-Ip: 6.6.6.6",
    "X_Forwarded_For: 7.7.7.7",
    "X_Forwarded_Proto: https",
    "X_Forwarded_Host: evil.test",
    "X_Real_Ip: 7.7.7.7",
    "x_forwarded_prefix: /evil",
    "x-forwarded-proto: https",
    "X-FORWARDED-HOST: evil.test",
    "x-real-ip: 6.6.6.6",
    "X-Forwarded-Tls-Client-Cert: evil",
    "X-Forwarded-Tls-Client-Cert-Info: evil",
    "X-Forwarded-For: 8.8.8.8",
]


def config(w, extra_routers=None, extra_services=None):
    routers = {"all": {"rule": "PathPrefix(`/`)", "service": "s"}, **(extra_routers or {})}
    services = {"s": {"loadBalancer": {"servers": [{"url": w.url}]}}, **(extra_services or {})}
    return {"fh.yml": to_yaml({"http": {"routers": routers, "services": services}}) + "\n"}


def echo(cw, host="app.test", headers=(), iface=None, path="/"):
    args = ["--interface", iface] if iface else []
    status, _, body = curl(cw.url("web", path), *args, host=host, headers=headers)
    assert status == 200, body
    return whoami_echo(body)[1]


def one(headers, name):
    values = header_values(headers, name)
    assert len(values) == 1, (name, headers)
    return values[0]


def names(headers):
    return {k.lower() for k, _ in headers}


@pytest.fixture
def proxy(start_whoami, start_causeway):
    """causeway trusting X-Forwarded-* from 127.0.0.1 only."""
    def start(forwarded=None, routers=None, services=None):
        w = start_whoami("fh")
        extra = {"web": {"forwardedHeaders": forwarded}} if forwarded else None
        cw = start_causeway(dynamic=config(w, routers, services), entrypoint_extra=extra)
        routed(cw, "app.test")
        return cw
    return start


# ---------------------------------------------------------------------------------------
# Untrusted peers

@pytest.mark.parametrize("setup", ["no-trusted-ips", "other-ip-trusted"])
def test_untrusted_peer_cannot_spoof(proxy, setup):
    forwarded = {"trustedIPs": ["127.0.0.1"]} if setup == "other-ip-trusted" else None
    cw = proxy(forwarded)
    headers = echo(cw, host="app.test", headers=SPOOFED, iface="127.0.0.2")
    assert one(headers, "X-Forwarded-For") == "127.0.0.2"
    assert one(headers, "X-Real-Ip") == "127.0.0.2"
    assert one(headers, "X-Forwarded-Proto") == "http"
    assert one(headers, "X-Forwarded-Host") == "app.test"
    assert one(headers, "X-Forwarded-Port") == "80"
    assert one(headers, "X-Forwarded-Server") == HOSTNAME
    for name in ["X-Forwarded-Prefix", "X-Forwarded-Uri", "X-Forwarded-Method", "X-Forwarded-Scheme",
                 "X-Scheme", "X-Forwarded-Tls-Client-Cert", "X-Forwarded-Tls-Client-Cert-Info"]:
        assert header_values(headers, name) == [], name
    underscored = [k for k, _ in headers if "_" in k]
    assert underscored == []
    assert b"evil" not in repr(headers).encode()
    for spoofed in ("6.6.6.6", "7.7.7.7", "8.8.8.8"):
        assert spoofed not in repr(headers)


def test_unmanaged_headers_pass_untouched(proxy):
    cw = proxy()
    headers = echo(cw, headers=["X-Custom: 1", "X-Forwarded-Whatever: 2", "Accept-Language: fr"],
                   iface="127.0.0.2")
    assert one(headers, "X-Custom") == "1"
    assert one(headers, "X-Forwarded-Whatever") == "2"
    assert one(headers, "Accept-Language") == "fr"


# ---------------------------------------------------------------------------------------
# Values set when absent

def test_values_set_when_absent(proxy):
    cw = proxy()
    headers = echo(cw, host="app.test", iface="127.0.0.2")
    assert one(headers, "X-Forwarded-Proto") == "http"
    assert one(headers, "X-Forwarded-Port") == "80"
    assert one(headers, "X-Forwarded-Host") == "app.test"
    assert one(headers, "X-Real-Ip") == "127.0.0.2"
    assert one(headers, "X-Forwarded-For") == "127.0.0.2"
    assert one(headers, "X-Forwarded-Server") == HOSTNAME
    assert one(headers, "Host") == "app.test"


def test_forwarded_port_from_host(proxy):
    cw = proxy()
    headers = echo(cw, host="app.test:8443")
    assert one(headers, "X-Forwarded-Port") == "8443"
    assert one(headers, "X-Forwarded-Host") == "app.test:8443"


# ---------------------------------------------------------------------------------------
# Trusted peers

TRUSTED_INPUT = [
    "X-Forwarded-For: 203.0.113.7",
    "X-Forwarded-Proto: https",
    "X-Forwarded-Host: front.example",
    "X-Real-Ip: 203.0.113.7",
    "X-Forwarded-Prefix: /front",
    "X-Forwarded-Server: front-server",
]


def assert_trusted(headers, peer):
    assert one(headers, "X-Forwarded-For") == f"203.0.113.7, {peer}"
    assert one(headers, "X-Forwarded-Proto") == "https"
    assert one(headers, "X-Forwarded-Host") == "front.example"
    assert one(headers, "X-Real-Ip") == "203.0.113.7"
    assert one(headers, "X-Forwarded-Prefix") == "/front"
    # No X-Forwarded-Port came in and Host has no port: 443 because the (trusted) proto is https.
    assert one(headers, "X-Forwarded-Port") == "443"
    # X-Forwarded-Server is always this proxy's name.
    assert one(headers, "X-Forwarded-Server") == HOSTNAME


def test_trusted_peer_keeps_values(proxy):
    cw = proxy({"trustedIPs": ["127.0.0.1"]})
    assert_trusted(echo(cw, headers=TRUSTED_INPUT), "127.0.0.1")


def test_trusted_cidr(proxy):
    cw = proxy({"trustedIPs": ["10.0.0.0/8", "127.0.0.0/30"]})
    assert_trusted(echo(cw, headers=TRUSTED_INPUT, iface="127.0.0.2"), "127.0.0.2")
    # 127.0.0.5 is outside 127.0.0.0/30.
    headers = echo(cw, headers=TRUSTED_INPUT, iface="127.0.0.5")
    assert one(headers, "X-Forwarded-For") == "127.0.0.5"
    assert one(headers, "X-Forwarded-Proto") == "http"


def test_insecure_trusts_everyone(proxy):
    cw = proxy({"insecure": True})
    assert_trusted(echo(cw, headers=TRUSTED_INPUT, iface="127.0.0.2"), "127.0.0.2")


def test_trusted_peer_port_kept(proxy):
    cw = proxy({"trustedIPs": ["127.0.0.1"]})
    headers = echo(cw, host="app.test", headers=["X-Forwarded-Port: 8443"])
    assert one(headers, "X-Forwarded-Port") == "8443"


def test_several_xff_lines_are_folded(proxy):
    cw = proxy({"trustedIPs": ["127.0.0.1"]})
    headers = echo(cw, headers=["X-Forwarded-For: 192.0.2.1", "X-Forwarded-For: 192.0.2.2, 192.0.2.3"])
    assert header_values(headers, "X-Forwarded-For") == ["192.0.2.1, 192.0.2.2, 192.0.2.3, 127.0.0.1"]


# ---------------------------------------------------------------------------------------
# Connection-nominated and hop-by-hop fields (reliability S60, S61, S62)

def test_connection_nominated_header_removed(proxy):
    cw = proxy()
    headers = echo(cw, headers=["Connection: close, X-Foo", "X-Foo: 1", "X-Bar: 2"])
    assert "x-foo" not in names(headers)
    assert one(headers, "X-Bar") == "2"
    assert "connection" not in names(headers) or header_values(headers, "Connection") == ["keep-alive"]


def test_connection_cannot_remove_proxy_headers(proxy):
    cw = proxy()
    headers = echo(cw, headers=["Connection: X-Forwarded-For, X-Real-Ip, X-Forwarded-Host, X-Forwarded-Proto",
                                "X-Forwarded-For: 6.6.6.6"], iface="127.0.0.2")
    assert one(headers, "X-Forwarded-For") == "127.0.0.2"
    assert one(headers, "X-Real-Ip") == "127.0.0.2"
    assert one(headers, "X-Forwarded-Host") == "app.test"
    assert one(headers, "X-Forwarded-Proto") == "http"


def test_connection_cannot_remove_trusted_forwarded_values(proxy):
    cw = proxy({"trustedIPs": ["127.0.0.1"]})
    headers = echo(cw, headers=["Connection: X-Forwarded-For, X-Forwarded-Proto",
                                "X-Forwarded-For: 203.0.113.7", "X-Forwarded-Proto: https"])
    assert one(headers, "X-Forwarded-For") == "203.0.113.7, 127.0.0.1"
    assert one(headers, "X-Forwarded-Proto") == "https"


def test_connection_cannot_remove_host(proxy):
    cw = proxy()
    headers = echo(cw, host="app.test", headers=["Connection: Host"])
    assert one(headers, "Host") == "app.test"


@pytest.mark.parametrize("header", [
    "Keep-Alive: timeout=5",
    "Proxy-Connection: keep-alive",
    "TE: gzip",
    "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA",
    "Proxy-Authorization: Basic dXNlcjpwYXNz",
])
def test_hop_by_hop_not_forwarded(proxy, header):
    cw = proxy()
    headers = echo(cw, headers=[header, "X-Sentinel: 1"])
    assert header.split(":")[0].lower() not in names(headers)
    assert one(headers, "X-Sentinel") == "1"


def test_te_trailers_is_forwarded(proxy):
    cw = proxy()
    headers = echo(cw, headers=["TE: trailers"])
    assert header_values(headers, "TE") == ["trailers"]


def test_te_trailers_kept_alone_from_a_list(proxy):
    cw = proxy()
    headers = echo(cw, headers=["TE: gzip, trailers"])
    assert header_values(headers, "TE") == ["trailers"]


def test_h2c_upgrade_never_reaches_upstream(proxy):
    cw = proxy()
    headers = echo(cw, headers=["Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c",
                                "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA"])
    assert "upgrade" not in names(headers)
    assert "http2-settings" not in names(headers)
    assert not any("upgrade" in v.lower() for v in header_values(headers, "Connection"))


def test_forwarded_headers_connection_option_keeps_header_for_routing(start_whoami, start_causeway):
    keep, plain = start_whoami("keep-router"), start_whoami("catch-all")
    routers = {"keep": {"rule": "Header(`X-Keep`, `1`)", "service": "k"},
               "all": {"rule": "PathPrefix(`/`)", "service": "p"}}
    services = {"k": {"loadBalancer": {"servers": [{"url": keep.url}]}},
                "p": {"loadBalancer": {"servers": [{"url": plain.url}]}}}
    dyn = {"fh.yml": to_yaml({"http": {"routers": routers, "services": services}}) + "\n"}
    cw = start_causeway(dynamic=dyn)
    routed(cw, "app.test")
    _, _, body = curl(cw.url("web", "/"), host="app.test", headers=["Connection: X-Keep", "X-Keep: 1"])
    assert b"Name: catch-all" in body
    _, _, body = curl(cw.url("web", "/"), host="app.test", headers=["X-Keep: 1"])
    assert b"Name: keep-router" in body

    cw2 = start_causeway(dynamic=dyn, entrypoint_extra={"web": {"forwardedHeaders": {"connection": ["X-Keep"]}}})
    routed(cw2, "app.test")
    _, _, body = curl(cw2.url("web", "/"), host="app.test", headers=["Connection: X-Keep", "X-Keep: 1"])
    assert b"Name: keep-router" in body


def test_forwarded_headers_connection_option_does_not_forward_upstream(proxy):
    cw = proxy({"connection": ["X-Keep"]})
    headers = echo(cw, headers=["Connection: X-Keep", "X-Keep: 1", "X-Other: 2"])
    assert one(headers, "X-Other") == "2"
    assert "x-keep" not in names(headers)
