"""The dashboard's UDP pages (reference docs/tcp-udp.md, Traefik's dashboard), in Debian's
Chromium through playwright-core: the UDP section of the navigation (routers and services, no
middlewares), the UDP routers list with each router's status and error (no rule, TLS or priority
column), a router's detail with its service link, the service's server address UP and who uses it,
a weighted service's children, and the overview's UDP counts and problems. Screenshots are saved
(see browser.screenshot_dir()).

The configuration: `dns` to the loadBalancer service `lb` (a local UDP port: nothing needs to
answer for the pages), `split` to the weighted service `mix` (`lb` and `lb2`) on a second UDP
entryPoint (one serves a single router), and `broken` to the service `missing` (disabled, with
Traefik's error; a disabled router takes no entryPoint).
"""
import pytest

from admin_env import api_get
from browser import dashboard, no_errors, row, screenshot_dir
from harness import Causeway, free_udp_port, to_yaml, wait_until

SERVER = f"127.0.0.1:{free_udp_port()}"
SERVER2 = f"127.0.0.1:{free_udp_port()}"


def dynamic_config():
    def router(service, entrypoint="dns"):
        return {"entryPoints": [entrypoint], "service": service}

    udp = {
        "routers": {"dns": router("lb"), "split": router("mix", "games"), "broken": router("missing")},
        "services": {
            "lb": {"loadBalancer": {"servers": [{"address": SERVER}]}},
            "lb2": {"loadBalancer": {"servers": [{"address": SERVER2}]}},
            "mix": {"weighted": {"services": [{"name": "lb", "weight": 3}, {"name": "lb2", "weight": 1}]}},
        },
    }
    return {"udp.yml": to_yaml({"udp": udp}) + "\n"}


@pytest.fixture(scope="module")
def cw():
    """causeway with the API and dashboard on the `traefik` entryPoint."""
    cw = Causeway(entrypoints=("web", "traefik"), udp=("dns", "games"), dynamic=dynamic_config(),
                  static_extra="api:\n  insecure: true\n")
    try:
        wait_until(lambda: api_get(cw, "/api/udp/routers/broken@file")[0] == 200, message="the UDP routers in the API")
        yield cw
    finally:
        cw.stop()


def test_udp_routers_list_shows_status_and_errors(cw, browser):
    browser.goto(dashboard(cw))
    # The navigation's UDP section leads to the UDP lists; UDP has no middlewares.
    assert browser.texts("[data-testid=nav-udp] a") == ["Routers", "Services"]
    browser.click("[data-testid=nav-udp-routers]")
    browser.wait("[data-testid=list-routers][data-protocol=udp]")
    assert browser.text("h1") == "UDP Routers"
    assert browser.count("[data-testid=nav-udp-routers].active") == 1
    browser.wait(row("broken@file"))
    assert browser.count("[data-testid=row]") == 3
    assert browser.count(row("dns@file") + " [data-status=enabled]") == 1
    assert browser.count(row("split@file") + " [data-status=enabled]") == 1
    assert browser.count(row("broken@file") + " [data-status=disabled]") == 1
    headers = browser.texts("[data-testid=list-routers] th")
    assert headers == ["Status", "Entrypoints", "Name", "Service", "Provider"], headers
    assert browser.text(row("dns@file") + " td:nth-child(2)") == "dns"
    assert browser.text(row("split@file") + " td:nth-child(2)") == "games"
    error = browser.wait("[data-testid=row-error]", text="missing")
    assert "does not exist" in error
    browser.screenshot(screenshot_dir() / "udp-routers.png")
    # The status filter is the API's.
    browser.call("select", selector="[data-testid=status-filter]", value="disabled")
    browser.wait(row("broken@file"))
    wait_until(lambda: browser.count("[data-testid=row]") == 1, timeout=5, message="only the disabled router")
    no_errors(browser)


def test_router_detail_links_to_its_service(cw, browser):
    browser.goto(dashboard(cw, "#/udp/routers"))
    browser.click(row("dns@file") + " a")
    browser.wait("[data-testid=router-detail][data-protocol=udp]")
    assert browser.text("h1 .kind") == "UDP router"
    assert browser.text("h1 ~ [data-testid=status]") == "Success"
    assert "dns" in browser.text("[data-testid=entrypoints]")
    # No rule, TLS or middlewares for UDP.
    for absent in ("rule", "tls", "tls-mode", "middleware-chain"):
        assert browser.count(f"[data-testid={absent}]") == 0, absent
    service = browser.wait("[data-testid=router-service]", text="UP")
    assert "lb@file" in service and SERVER in service
    browser.screenshot(screenshot_dir() / "udp-router.png")
    browser.click("[data-testid=router-service] a.strong")
    browser.wait("[data-testid=service-detail][data-protocol=udp]")
    assert browser.call("url").endswith("#/udp/services/lb%40file")
    no_errors(browser)


def test_broken_router_shows_its_error(cw, browser):
    browser.goto(dashboard(cw, "#/udp/routers/broken%40file"))
    browser.wait("[data-testid=router-detail][data-protocol=udp]")
    assert browser.text("h1 ~ [data-testid=status]") == "Error"
    assert "missing" in browser.text("[data-testid=errors]")
    assert "does not exist" in browser.wait("[data-testid=router-service]", text="does not exist")
    browser.screenshot(screenshot_dir() / "udp-router-broken.png")
    no_errors(browser)


def test_service_shows_its_server_up_and_who_uses_it(cw, browser):
    browser.goto(dashboard(cw, "#/udp/services"))
    browser.wait("[data-testid=list-services][data-protocol=udp] " + row("lb@file"))
    assert browser.text(row("lb@file") + " td:nth-child(3)") == "loadbalancer"
    assert browser.text(row("mix@file") + " td:nth-child(3)") == "weighted"
    browser.click(row("lb@file") + " a")
    browser.wait("[data-testid=service-detail][data-protocol=udp]")
    assert browser.text("h1 .kind") == "UDP service"
    server = f"[data-testid=server-row][data-address='{SERVER}']"
    browser.wait(server + " [data-health=UP]")
    assert SERVER in browser.text(server)
    assert browser.text("[data-testid=servers] th:nth-child(2)") == "Address"
    used_by = browser.texts("[data-testid=used-by] a.chip")
    assert used_by == ["dns@file", "mix@file"], used_by
    # The weighted service above it links to the services, the router to the routers.
    assert browser.count("[data-testid=used-by] a.chip[href$='/udp/services/mix%40file']") == 1
    browser.screenshot(screenshot_dir() / "udp-service.png")
    browser.click("[data-testid=used-by] a.chip[href$='/udp/routers/dns%40file']")
    browser.wait("[data-testid=router-detail][data-protocol=udp]")
    assert browser.call("url").endswith("#/udp/routers/dns%40file")
    no_errors(browser)


def test_weighted_service_shows_its_children(cw, browser):
    browser.goto(dashboard(cw, "#/udp/services/mix%40file"))
    browser.wait("[data-testid=service-detail][data-protocol=udp]")
    browser.wait("[data-testid=children]", text="lb2@file")
    assert browser.text("[data-testid=children] .card-title").lower() == "weighted services"
    assert browser.texts("[data-testid=children] td a") == ["lb@file", "lb2@file"]
    assert browser.texts("[data-testid=children] td.col-num") == ["3", "1"]
    assert browser.count("[data-testid=servers]") == 0
    assert browser.texts("[data-testid=used-by] a.chip") == ["split@file"]
    browser.screenshot(screenshot_dir() / "udp-service-weighted.png")
    browser.click("[data-testid=children] a[href$='lb2%40file']")
    browser.wait(f"[data-testid=server-row][data-address='{SERVER2}'] [data-health=UP]")
    assert browser.call("url").endswith("#/udp/services/lb2%40file")
    no_errors(browser)


def test_overview_shows_the_udp_counts(cw, browser):
    browser.goto(dashboard(cw))
    card = "[data-testid=overview-udp-routers]"
    browser.wait(card + " [data-testid=total]", text="3")
    assert browser.text(card + " [data-testid=success]") == "2"
    assert browser.text(card + " [data-testid=errors-count]") == "1"
    assert browser.text(card + " [data-testid=warnings]") == "0"
    assert browser.text("[data-testid=overview-udp-services] [data-testid=total]") == "3"
    assert browser.count("[data-testid=overview-udp-middlewares]") == 0
    # The broken UDP router is among the problems, linked to its UDP page.
    problems = browser.wait("[data-testid=problems]", text="broken@file")
    assert "UDP router" in problems and "missing" in problems
    browser.screenshot(screenshot_dir() / "udp-overview.png")
    browser.click("[data-testid=problems] [data-protocol=udp] a")
    browser.wait("[data-testid=router-detail][data-protocol=udp]")
    assert browser.call("url").endswith("#/udp/routers/broken%40file")
    browser.goto(dashboard(cw))
    browser.click("[data-testid=overview-udp-services]")
    browser.wait("[data-testid=list-services][data-protocol=udp] " + row("mix@file"))
    no_errors(browser)
