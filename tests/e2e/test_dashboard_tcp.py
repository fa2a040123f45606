"""The dashboard's TCP pages (reference docs/tcp-udp.md, Traefik's dashboard), in Debian's
Chromium through playwright-core: the TCP section of the navigation, the TCP routers list with
each router's status, TLS mode and error, a passthrough router's detail with its service link,
the service's server address UP and who uses it, the ipAllowList middleware with its options,
and the overview's TCP counts and problems. Screenshots are saved (see
browser.screenshot_dir()).

The configuration: `pass` (HostSNI, TLS passthrough), `plain` (HostSNI(`*`), no TLS, through
the ipAllowList middleware `allow`) and `bad` (HostSNI(`a.com`) without TLS: disabled, with
Traefik's error), all to the loadBalancer service `echo` (an EchoServer of tcp_peers.py).
"""
import pytest

from admin_env import api_get
from browser import dashboard, no_errors, row, screenshot_dir
from harness import Causeway, to_yaml, wait_until
from tcp_peers import EchoServer


def dynamic_config(address):
    def router(rule, entrypoint, **more):
        return {"entryPoints": [entrypoint], "rule": rule, "service": "echo", **more}

    tcp = {
        "routers": {
            "pass": router("HostSNI(`pass.example.com`)", "web", tls={"passthrough": True}),
            "plain": router("HostSNI(`*`)", "plain", middlewares=["allow"]),
            "bad": router("HostSNI(`a.com`)", "web"),
        },
        "services": {"echo": {"loadBalancer": {"servers": [{"address": address}]}}},
        "middlewares": {"allow": {"ipAllowList": {"sourceRange": ["127.0.0.1/32"]}}},
    }
    return {"tcp.yml": to_yaml({"tcp": tcp}) + "\n"}


@pytest.fixture(scope="module")
def setup():
    """(causeway, echo server): the API and dashboard on the `traefik` entryPoint."""
    echo = EchoServer().start()
    cw = None
    try:
        cw = Causeway(entrypoints=("web", "plain", "traefik"), dynamic=dynamic_config(echo.address),
                      static_extra="api:\n  insecure: true\n")
        wait_until(lambda: api_get(cw, "/api/tcp/routers/pass@file")[0] == 200, message="the TCP routers in the API")
        yield cw, echo
    finally:
        if cw is not None:
            cw.stop()
        echo.stop()


def test_tcp_routers_list_shows_status_tls_and_errors(setup, browser):
    cw, _ = setup
    browser.goto(dashboard(cw))
    # The navigation's TCP section leads to the TCP lists.
    assert browser.texts("[data-testid=nav-tcp] a") == ["Routers", "Services", "Middlewares"]
    browser.click("[data-testid=nav-tcp-routers]")
    browser.wait("[data-testid=list-routers][data-protocol=tcp]")
    assert browser.text("h1") == "TCP Routers"
    assert browser.count("[data-testid=nav-tcp-routers].active") == 1
    browser.wait(row("bad@file"))
    assert browser.count("[data-testid=row]") == 3
    assert browser.count(row("pass@file") + " [data-status=enabled]") == 1
    assert browser.count(row("plain@file") + " [data-status=enabled]") == 1
    assert browser.count(row("bad@file") + " [data-status=disabled]") == 1
    assert browser.text(row("pass@file") + " [data-testid=tls-mode]") == "passthrough"
    assert browser.count(row("plain@file") + " [data-testid=tls-mode]") == 0
    assert browser.text(row("plain@file") + " .rule") == "HostSNI(`*`)"
    error = browser.wait("[data-testid=row-error]", text="HostSNI")
    assert "no TLS on router" in error
    browser.screenshot(screenshot_dir() / "tcp-routers.png")
    # The status filter is the API's.
    browser.call("select", selector="[data-testid=status-filter]", value="disabled")
    browser.wait(row("bad@file"))
    wait_until(lambda: browser.count("[data-testid=row]") == 1, timeout=5, message="only the disabled router")
    no_errors(browser)


def test_passthrough_router_detail_links_to_its_service(setup, browser):
    cw, echo = setup
    browser.goto(dashboard(cw, "#/tcp/routers"))
    browser.click(row("pass@file") + " a")
    browser.wait("[data-testid=router-detail][data-protocol=tcp]")
    assert browser.text("h1 ~ [data-testid=status]") == "Success"
    assert browser.text("h1 ~ [data-testid=tls-mode]") == "passthrough"
    assert browser.text("[data-testid=rule]").endswith("HostSNI(`pass.example.com`)")
    assert "web" in browser.text("[data-testid=entrypoints]")
    assert "yes" in browser.text("[data-testid=tls] [data-testid=passthrough]")
    service = browser.wait("[data-testid=router-service]", text="UP")
    assert "echo@file" in service and echo.address in service
    browser.screenshot(screenshot_dir() / "tcp-router-passthrough.png")
    browser.click("[data-testid=router-service] a.strong")
    browser.wait("[data-testid=service-detail][data-protocol=tcp]")
    assert browser.call("url").endswith("#/tcp/services/echo%40file")
    no_errors(browser)


def test_router_with_middleware_and_broken_router(setup, browser):
    cw, _ = setup
    browser.goto(dashboard(cw, "#/tcp/routers/plain%40file"))
    browser.wait("[data-testid=chain-item]", text="ipallowlist")
    assert browser.texts("[data-testid=chain-item] .chain-name") == ["allow@file"]
    assert "No TLS" in browser.text("[data-testid=tls]")
    assert "plain" in browser.text("[data-testid=entrypoints]")
    browser.goto(dashboard(cw, "#/tcp/routers/bad%40file"))
    browser.wait("[data-testid=router-detail]")
    assert browser.text("h1 ~ [data-testid=status]") == "Error"
    assert "no TLS on router" in browser.text("[data-testid=errors]")
    browser.screenshot(screenshot_dir() / "tcp-router-broken.png")
    no_errors(browser)


def test_service_shows_its_server_up_and_who_uses_it(setup, browser):
    cw, echo = setup
    browser.goto(dashboard(cw, "#/tcp/services"))
    browser.wait("[data-testid=list-services][data-protocol=tcp] " + row("echo@file"))
    assert browser.text(row("echo@file") + " td:nth-child(3)") == "loadbalancer"
    browser.click(row("echo@file") + " a")
    server = f"[data-testid=server-row][data-address='{echo.address}']"
    browser.wait(server + " [data-health=UP]")
    assert echo.address in browser.text(server)
    assert browser.text("[data-testid=servers] th:nth-child(2)") == "Address"
    used_by = browser.texts("[data-testid=used-by] a.chip")
    assert used_by == ["pass@file", "plain@file"], used_by
    browser.screenshot(screenshot_dir() / "tcp-service.png")
    browser.click("[data-testid=used-by] a.chip")
    browser.wait("[data-testid=router-detail][data-protocol=tcp]")
    assert browser.call("url").endswith("#/tcp/routers/pass%40file")
    no_errors(browser)


def test_middleware_shows_ipallowlist(setup, browser):
    cw, _ = setup
    browser.goto(dashboard(cw, "#/tcp/middlewares"))
    browser.wait("[data-testid=list-middlewares][data-protocol=tcp] " + row("allow@file"))
    browser.click(row("allow@file") + " a")
    browser.wait("[data-testid=middleware-detail][data-protocol=tcp]")
    assert browser.text("h1 ~ [data-testid=type]") == "ipallowlist"
    options = browser.text("[data-testid=options]")
    assert "ipAllowList" in options and "127.0.0.1/32" in options
    assert browser.texts("[data-testid=used-by] a.chip") == ["plain@file"]
    browser.screenshot(screenshot_dir() / "tcp-middleware.png")
    no_errors(browser)


def test_overview_shows_the_tcp_counts(setup, browser):
    cw, _ = setup
    browser.goto(dashboard(cw))
    card = "[data-testid=overview-tcp-routers]"
    browser.wait(card + " [data-testid=total]", text="3")
    assert browser.text(card + " [data-testid=success]") == "2"
    assert browser.text(card + " [data-testid=errors-count]") == "1"
    assert browser.text(card + " [data-testid=warnings]") == "0"
    assert browser.text("[data-testid=overview-tcp-services] [data-testid=total]") == "1"
    assert browser.text("[data-testid=overview-tcp-middlewares] [data-testid=total]") == "1"
    # The HTTP cards stay where they were (causeway's own routers only).
    assert browser.count("[data-testid=overview-routers]") == 1
    # The broken TCP router is among the problems, linked to its TCP page.
    problems = browser.wait("[data-testid=problems]", text="bad@file")
    assert "TCP router" in problems and "no TLS on router" in problems
    browser.screenshot(screenshot_dir() / "tcp-overview.png")
    browser.click("[data-testid=problems] [data-protocol=tcp] a")
    browser.wait("[data-testid=router-detail][data-protocol=tcp]")
    assert browser.call("url").endswith("#/tcp/routers/bad%40file")
    browser.goto(dashboard(cw))
    browser.click("[data-testid=overview-tcp-services]")
    browser.wait("[data-testid=list-services][data-protocol=tcp] " + row("echo@file"))
    no_errors(browser)
