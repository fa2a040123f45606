"""encodedCharacters: the per-router check of percent-encoded characters in the path; every
allow* option defaults to false here; a refused path gets 400 with an empty body.

Reference: docs/compatibility.md (middleware EncodedCharacters); Traefik pkg/middlewares/encodedcharacters."""
from mwkit import request, start, values

ENCODED = {"%2F": "allowEncodedSlash", "%2f": "allowEncodedSlash", "%5C": "allowEncodedBackSlash",
           "%3B": "allowEncodedSemicolon", "%25": "allowEncodedPercent", "%3F": "allowEncodedQuestionMark",
           "%23": "allowEncodedHash"}


def test_encoded_characters(start_whoami, start_causeway):
    w = start_whoami()
    options = sorted(set(ENCODED.values()))
    middlewares = {"strict": {"encodedCharacters": {}}}
    for option in options:
        middlewares[option] = {"encodedCharacters": {option: True}}
    cw = start(start_causeway, w.url, middlewares=middlewares,
               routers={name: (f"Host(`{name.lower()}.test`)", [name]) for name in middlewares}
               | {"open": ("Host(`open.test`)", [])})
    for code, option in ENCODED.items():
        path = f"/a{code}b"
        status, headers, body = request(cw, "strict.test", path)
        assert (status, body) == (400, b""), path
        assert values(headers, "Content-Type") == []
        assert values(headers, "Content-Length") == ["0"]
        assert request(cw, f"{option.lower()}.test", path)[0] == 200, (path, option)
        # Only the option for that character allows it.
        other = next(o for o in options if o != option)
        assert request(cw, f"{other.lower()}.test", path)[0] == 400, (path, other)
        # Without the middleware the entryPoint (allowing everything by default) lets it through.
        assert request(cw, "open.test", path)[0] == 200
    # Other escapes are fine.
    assert request(cw, "strict.test", "/caf%C3%A9%20x")[0] == 200
    assert request(cw, "strict.test", "/plain")[0] == 200
