"""A headless Debian Chromium driven through playwright-core (node/browser_driver.js), one
JSON command per line. Used by the dashboard tests; loopback pages only.

    with Browser() as b:
        b.goto(url); b.wait("[data-testid=row]", text="good@file"); b.text("h1")
"""
import json
import os
import pathlib
import select
import subprocess
import time

NODE_DIR = pathlib.Path(__file__).resolve().parent / "node"


class BrowserError(AssertionError):
    pass


class Browser:
    def __init__(self, timeout=60):
        self.timeout = timeout
        self.proc = subprocess.Popen(["node", str(NODE_DIR / "browser_driver.js")], cwd=str(NODE_DIR),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True, bufsize=1)

    def call(self, op, **args):
        self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.proc.stdin.flush()
        deadline = time.time() + self.timeout
        while time.time() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if ready:
                line = self.proc.stdout.readline()
                if not line:
                    raise BrowserError(f"the browser driver exited during {op}")
                reply = json.loads(line)
                if not reply["ok"]:
                    raise BrowserError(f"{op} {args}: {reply['error']}")
                return reply["value"]
        raise BrowserError(f"{op} {args}: no answer within {self.timeout}s")

    def goto(self, url):
        return self.call("goto", url=url)

    def text(self, selector):
        return self.call("text", selector=selector)

    def texts(self, selector):
        return self.call("texts", selector=selector)

    def count(self, selector):
        return self.call("count", selector=selector)

    def fill(self, selector, value):
        return self.call("fill", selector=selector, value=value)

    def click(self, selector):
        return self.call("click", selector=selector)

    def wait(self, selector, text=None, timeout=10000):
        return self.call("wait", selector=selector, text=text, timeout=timeout)

    def value(self, selector):
        """The current value of an input or textarea."""
        return self.call("value", selector=selector)

    def eval(self, expression):
        """A JavaScript expression evaluated in the page (its JSON-serializable value)."""
        return self.call("eval", expression=expression)

    def screenshot(self, path):
        return self.call("screenshot", path=str(path))

    def errors(self):
        return self.call("errors")

    def close(self):
        if self.proc.poll() is None:
            try:
                self.call("close")
            except (BrowserError, OSError, ValueError):
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def screenshot_dir():
    """Where screenshots go: $CAUSEWAY_SCREENSHOTS, else a directory in the test output."""
    path = pathlib.Path(os.environ.get("CAUSEWAY_SCREENSHOTS") or
                        pathlib.Path(os.environ.get("TMPDIR", "/tmp")) / "causeway-dashboard-screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


# Shared by the dashboard tests (test_dashboard*.py).
def dashboard(cw, fragment=""):
    """The dashboard's URL on causeway's `traefik` entryPoint, with a `#/...` fragment."""
    return cw.url("traefik", "/dashboard/") + fragment


def no_errors(browser):
    """The page logged no error (console or uncaught)."""
    errors = browser.errors()
    assert errors == [], errors


def row(name):
    """The selector of a list page's row for element `name`."""
    return f"[data-testid=row][data-name='{name}']"

