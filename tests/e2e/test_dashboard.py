"""The web dashboard (reference docs/compatibility.md), driven in Debian's Chromium through
playwright-core: pages load with no console error and nothing fetched from elsewhere, the
overview shows the counts, a broken router's error is visible, the search filters the list, a
router's detail shows its middleware chain in order, and a server whose upstream is killed
shows DOWN on its service page within one automatic refresh. Screenshots are saved (see
browser.screenshot_dir()).
"""
import signal
import time

from admin_env import (MIDDLEWARES_TOTAL, ROUTERS_ERRORS, ROUTERS_TOTAL, ROUTERS_WARNINGS, SERVICES_TOTAL,
                       start_admin)
from browser import dashboard, no_errors, screenshot_dir


def test_overview_shows_entrypoints_and_counts(start_causeway, start_whoami, browser):
    cw, _, _ = start_admin(start_causeway, start_whoami)
    browser.goto(cw.url("traefik", "/"))  # redirected to /dashboard/
    browser.wait("[data-testid=overview-routers] [data-testid=total]", text=str(ROUTERS_TOTAL))
    assert browser.text("[data-testid=overview-routers] [data-testid=errors-count]") == str(ROUTERS_ERRORS)
    assert browser.text("[data-testid=overview-routers] [data-testid=warnings]") == str(ROUTERS_WARNINGS)
    assert browser.text("[data-testid=overview-services] [data-testid=total]") == str(SERVICES_TOTAL)
    assert browser.text("[data-testid=overview-middlewares] [data-testid=total]") == str(MIDDLEWARES_TOTAL)
    entrypoints = browser.texts("[data-testid=entrypoint]")
    assert any("web" in e and f"127.0.0.1:{cw.port('web')}" in e for e in entrypoints)
    assert any("traefik" in e for e in entrypoints)
    # Problems are listed on the overview with their errors.
    problems = browser.wait("[data-testid=problems]")
    assert "broken-service@file" in problems and 'the service "missing@file" does not exist' in problems
    # Each provider's last update and status.
    row = browser.wait("[data-provider=file]")
    assert "file" in row and "ok" in row and "T" in row  # an RFC 3339 time
    browser.screenshot(screenshot_dir() / "overview.png")
    no_errors(browser)


def test_broken_router_shows_its_error(start_causeway, start_whoami, browser):
    cw, _, _ = start_admin(start_causeway, start_whoami)
    browser.goto(dashboard(cw, "#/http/routers"))
    error = browser.wait("[data-testid=row-error]", text="missing@file")
    assert 'the service "missing@file" does not exist' in error
    browser.screenshot(screenshot_dir() / "routers.png")
    browser.click("[data-testid=row][data-name='broken-service@file'] a")
    browser.wait("[data-testid=router-detail]")
    assert browser.text("h1 ~ [data-testid=status]") == "Error"
    assert 'the service "missing@file" does not exist' in browser.text("[data-testid=errors]")
    browser.screenshot(screenshot_dir() / "router-broken.png")
    no_errors(browser)


def test_search_filters_the_list(start_causeway, start_whoami, browser):
    cw, _, _ = start_admin(start_causeway, start_whoami)
    browser.goto(dashboard(cw, "#/http/routers"))
    browser.wait("[data-testid=row][data-name='good@file']")
    assert browser.count("[data-testid=row]") == ROUTERS_TOTAL
    browser.fill("[data-testid=search]", "broken")
    browser.wait("[data-testid=list-routers]")
    wait_rows(browser, 3)
    names = sorted(browser.texts("[data-testid=row] td:nth-child(5)"))  # the Name column
    assert names == ["broken-middleware@file", "broken-rule@file", "broken-service@file"]
    browser.fill("[data-testid=search]", "no such router")
    browser.wait("[data-testid=empty]")
    browser.goto(dashboard(cw, "#/http/services"))
    browser.wait("[data-testid=row][data-name='app@file']")
    browser.fill("[data-testid=search]", "canary")
    wait_rows(browser, 1)
    assert browser.texts("[data-testid=row] td:nth-child(2)") == ["canary@file"]
    no_errors(browser)


def wait_rows(browser, n, timeout=5.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if browser.count("[data-testid=row]") == n:
            return
        time.sleep(0.1)
    raise AssertionError(f"expected {n} rows, got {browser.count('[data-testid=row]')}")


def test_router_detail_shows_the_middleware_chain_in_order(start_causeway, start_whoami, browser):
    cw, _, _ = start_admin(start_causeway, start_whoami)
    browser.goto(dashboard(cw, "#/http/routers/good%40file"))
    browser.wait("[data-testid=chain-item]", text="hdr@file")
    chain = browser.texts("[data-testid=chain-item] .chain-name")
    assert chain == ["add-prefix@file", "hdr@file"]
    types = browser.texts("[data-testid=chain-item] .chain-meta .chip")
    assert types == ["addprefix", "headers"]
    assert browser.text("[data-testid=rule]").endswith("Host(`good.test`)")
    assert "web" in browser.text("[data-testid=entrypoints]")
    assert "No TLS" in browser.text("[data-testid=tls]")
    assert "app@file" in browser.wait("[data-testid=router-service]", text="UP")
    browser.screenshot(screenshot_dir() / "router-detail.png")
    browser.goto(dashboard(cw, "#/http/routers/secure%40file"))
    assert "default" in browser.wait("[data-testid=tls]", text="Options")
    no_errors(browser)


def test_service_page_shows_a_killed_server_down(start_causeway, start_whoami, browser):
    cw, a, b = start_admin(start_causeway, start_whoami)
    browser.goto(dashboard(cw, "#/http/services/app%40file"))
    browser.wait(f"[data-testid=server-row][data-url='{b.url}'] [data-health=UP]")
    browser.wait(f"[data-testid=server-row][data-url='{a.url}'] [data-health=UP]")
    b.proc.send_signal(signal.SIGKILL)
    b.proc.wait()
    # Health checks every 200 ms, the page refreshes every 2 s: DOWN within one refresh.
    browser.wait(f"[data-testid=server-row][data-url='{b.url}'] [data-health=DOWN]", timeout=6000)
    assert browser.count(f"[data-testid=server-row][data-url='{a.url}'] [data-health=UP]") == 1
    browser.screenshot(screenshot_dir() / "service-down.png")
    no_errors(browser)
