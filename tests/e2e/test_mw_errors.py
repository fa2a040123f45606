"""errors: on a status in `status`, the page `query` ({status}, {originalStatus}, {url}) is
fetched from `service` with the client's Host and headers (or only errorRequestHeaders) and
returned with the original or rewritten (statusRewrites) status; other statuses pass.

Reference: docs/compatibility.md (middleware Errors); Traefik pkg/middlewares/customerrors."""
import urllib.parse

import pytest

from mw_upstream import Reply, start_upstream  # noqa: F401 (fixture)
from mwkit import request, start, values


def app(req):
    """/status/<code> answers <code> with its own body and headers."""
    if req.path.startswith("/status/"):
        code = int(req.path.rsplit("/", 1)[1])
        return Reply(code, f"original body {code}".encode(), {"Content-Type": "text/plain", "X-Original": "yes"})
    return Reply(200, b"ok", {"Content-Type": "text/plain"})


def pages(req):
    return Reply(200, f"<h1>page {req.path}</h1>".encode(), {"Content-Type": "text/html; charset=utf-8",
                                                           "X-Page": "1"})


@pytest.fixture
def setup(start_upstream, start_causeway):
    up = start_upstream(app)
    errs = start_upstream(pages)
    base = {"service": "errpages", "query": "/errors/{status}.html?orig={originalStatus}&u={url}"}
    cw = start(start_causeway, up.url, middlewares={
        "errors": {"errors": {**base, "status": ["500-599", "404", "418"], "statusRewrites": {"418": 410, "502-504": 500}}},
        "only": {"errors": {**base, "status": ["500"], "errorRequestHeaders": ["X-Keep"]}},
        "none": {"errors": {**base, "status": ["500"], "errorRequestHeaders": []}},
        "noquery": {"errors": {"service": "errpages", "status": ["500"]}},
        "missing": {"errors": {"service": "nowhere", "status": ["500"]}},
        "badstatus": {"errors": {"service": "errpages", "status": ["5xx"]}},
    }, routers={name: (f"Host(`{name}.test`)", [name]) for name in
                ["errors", "only", "none", "noquery", "missing", "badstatus"]},
        services={"errpages": {"loadBalancer": {"servers": [{"url": errs.url}]}}})
    return cw, up, errs


def test_error_page_with_the_original_status(setup):
    cw, up, errs = setup
    status, headers, body = request(cw, "errors.test", "/status/500?x=1", headers={"X-Custom": "abc"})
    assert status == 500
    assert body == b"<h1>page /errors/500.html</h1>"
    assert values(headers, "Content-Type") == ["text/html; charset=utf-8"]
    assert values(headers, "X-Page") == ["1"]
    assert values(headers, "X-Original") == []  # the original response is gone
    page = errs.requests[-1]
    assert page.method == "GET"
    assert page.header("Host") == "errors.test"
    assert page.header("X-Custom") == "abc"
    query = urllib.parse.parse_qs(page.query)
    assert query["orig"] == ["500"]
    assert query["u"] == ["http://errors.test/status/500?x=1"]
    assert "u=http%3A%2F%2Ferrors.test%2Fstatus%2F500%3Fx%3D1" in page.query


def test_status_rewrites(setup):
    cw, up, errs = setup
    status, _, body = request(cw, "errors.test", "/status/418")
    assert (status, body) == (410, b"<h1>page /errors/410.html</h1>")
    assert urllib.parse.parse_qs(errs.requests[-1].query)["orig"] == ["418"]
    status, _, body = request(cw, "errors.test", "/status/503")
    assert (status, body) == (500, b"<h1>page /errors/500.html</h1>")
    assert urllib.parse.parse_qs(errs.requests[-1].query)["orig"] == ["503"]
    status, _, body = request(cw, "errors.test", "/status/404")
    assert (status, body) == (404, b"<h1>page /errors/404.html</h1>")


def test_other_statuses_pass_through(setup):
    cw, up, errs = setup
    before = len(errs.requests)
    status, headers, body = request(cw, "errors.test", "/status/403")
    assert (status, body) == (403, b"original body 403")
    assert values(headers, "X-Original") == ["yes"]
    assert request(cw, "errors.test", "/status/200")[2] == b"original body 200"
    assert len(errs.requests) == before


def test_error_request_headers(setup):
    cw, up, errs = setup
    hdrs = {"X-Keep": "k", "X-Drop": "d", "Authorization": "Bearer secret"}
    assert request(cw, "only.test", "/status/500", headers=hdrs)[0] == 500
    page = errs.requests[-1]
    assert page.header("X-Keep") == "k"
    assert page.header("X-Drop") is None and page.header("Authorization") is None
    assert request(cw, "none.test", "/status/500", headers=hdrs)[0] == 500
    page = errs.requests[-1]
    assert page.header("X-Keep") is None and page.header("Authorization") is None
    assert page.header("Host") == "none.test"
    # Unset: every header goes, credentials included (Traefik's default).
    assert request(cw, "errors.test", "/status/500", headers=hdrs)[0] == 500
    page = errs.requests[-1]
    assert page.header("Authorization") == "Bearer secret" and page.header("X-Drop") == "d"


def test_without_query_the_root_is_fetched(setup):
    cw, up, errs = setup
    status, _, body = request(cw, "noquery.test", "/status/500")
    assert (status, body) == (500, b"<h1>page /</h1>")


def test_broken_configurations_disable_the_router(setup):
    cw, up, errs = setup
    assert request(cw, "missing.test", "/status/500")[0] == 404
    assert request(cw, "badstatus.test", "/status/500")[0] == 404
