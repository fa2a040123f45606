"""chain: a reusable, ordered group of middlewares; chains nest; a missing member or a loop
disables the routers that use the chain.

Reference: docs/compatibility.md (middleware Chain); Traefik pkg/middlewares/chain."""
from harness import header_values, whoami_echo
from mwkit import request, start


def test_chain(start_whoami, start_causeway):
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "strip": {"stripPrefix": {"prefixes": ["/public"]}},
        "add": {"addPrefix": {"prefix": "/internal"}},
        "tag": {"headers": {"customRequestHeaders": {"X-Chain": "yes"}}},
        "inner": {"chain": {"middlewares": ["strip", "add"]}},
        "outer": {"chain": {"middlewares": ["inner", "tag"]}},
        "reversed": {"chain": {"middlewares": ["add", "strip"]}},
        "missing": {"chain": {"middlewares": ["strip", "nope"]}},
        "loop-a": {"chain": {"middlewares": ["loop-b"]}},
        "loop-b": {"chain": {"middlewares": ["loop-a"]}},
    }, routers={"outer": ("Host(`outer.test`)", ["outer"]), "reversed": ("Host(`reversed.test`)", ["reversed"]),
                "missing": ("Host(`missing.test`)", ["missing"]), "loop": ("Host(`loop.test`)", ["loop-a"])})
    status, _, body = request(cw, "outer.test", "/public/page")
    assert status == 200
    line, headers, _ = whoami_echo(body)
    assert line.split(" ")[1] == "/internal/page"  # strip, then add
    assert header_values(headers, "X-Chain") == ["yes"]
    assert header_values(headers, "X-Forwarded-Prefix") == ["/public"]
    # Order matters: adding first leaves nothing to strip.
    status, _, body = request(cw, "reversed.test", "/public/page")
    assert whoami_echo(body)[0].split(" ")[1] == "/internal/public/page"
    assert request(cw, "missing.test", "/public/x")[0] == 404
    assert request(cw, "loop.test", "/")[0] == 404
