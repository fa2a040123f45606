import pytest

import harness
from browser import Browser
from harness import Causeway, Whoami
from service_upstreams import PyUpstream


def pytest_runtest_setup(item):
    harness.forget_processes()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing test's report carries the output of the processes it started (harness.Process):
    in CI that output is all there is to go on."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and report.when in ("setup", "call"):
        for title, text in harness.process_outputs():
            report.sections.append((f"output of {title}", text))


@pytest.fixture
def start_whoami():
    started = []

    def start(name="whoami", port=None, host="127.0.0.1"):
        w = Whoami(name=name, port=port, host=host)
        started.append(w)
        return w

    yield start
    for w in started:
        w.stop()


@pytest.fixture
def start_causeway():
    started = []

    def start(**kwargs):
        c = Causeway(**kwargs)
        started.append(c)
        return c

    yield start
    for c in started:
        c.stop()


@pytest.fixture
def py_upstreams():
    """make(*args) → a PyUpstream (service_upstreams.py), stopped after the test."""
    started = []

    def make(*args, **kwargs):
        u = PyUpstream(*args, **kwargs)
        started.append(u)
        return u

    yield make
    for u in started:
        u.stop()


@pytest.fixture
def browser():
    """A headless Chromium (browser.Browser), closed after the test."""
    with Browser() as b:
        yield b
