import pytest

from browser import Browser
from harness import Causeway, Whoami
from service_upstreams import PyUpstream


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
