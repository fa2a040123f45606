"""openApiSpec: requests checked against the Petstore 3.0 document (YAML, a file) and a Swagger 2
document (JSON, served over HTTP and refreshed): undeclared paths and methods, parameters,
content types, valid and invalid JSON bodies with the failing JSON path, and a contract that
changes while causeway runs.

Reference: docs/api-gateway.md ("openApiSpec")."""
import json
import pathlib
import shutil
import sys

import pytest

from harness import Process, free_port, wait_for_port, wait_until, whoami_echo
from mwkit import get, request, start, values

FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "openapi"


def pet(**extra):
    body = {"id": 10, "name": "doggie", "category": {"id": 1, "name": "Dogs"}, "photoUrls": ["https://x/1.png"],
            "tags": [{"id": 1, "name": "good"}], "status": "available"}
    body.update(extra)
    return json.dumps(body).encode()


def post(cw, host, path, body, content_type="application/json"):
    return request(cw, host, path, method="POST", headers={"Content-Type": content_type}, body=body)


def test_petstore_three_from_a_yaml_file(start_whoami, start_causeway):
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "contract": {"openApiSpec": {"file": str(FIXTURES / "petstore3.yaml")}},
        "paths-only": {"openApiSpec": {"file": str(FIXTURES / "petstore3.yaml"), "validateRequestBodySchema": False}},
    }, routers={"api": ("Host(`api.test`)", ["contract"]), "loose": ("Host(`loose.test`)", ["paths-only"])})

    # Declared operations pass, with their bodies intact.
    status, _, body = post(cw, "api.test", "/v3/pet", pet())
    assert status == 200, body
    assert whoami_echo(body)[2]["Body-Length"] == str(len(pet()))
    assert get(cw, "api.test", "/v3/pet/10")[0] == 200
    assert get(cw, "api.test", "/v3/pet/findByStatus?status=sold")[0] == 200
    assert get(cw, "api.test", "/v3/pet/findByTags?tags=a&tags=b")[0] == 200
    assert get(cw, "api.test", "/v3/store/inventory")[0] == 200

    def refused(result, status, error, location=None):
        got, headers, body = result
        assert got == status, body
        assert values(headers, "Content-Type") == ["application/json"]
        answer = json.loads(body)
        assert error in answer["error"], answer
        if location is not None:
            assert answer.get("location") == location, answer

    refused(request(cw, "api.test", "/v3/pets"), 404, "no such path", "/v3/pets")
    refused(request(cw, "api.test", "/pet/10"), 404, "no such path")
    result = request(cw, "api.test", "/v3/pet/10", method="PATCH")
    refused(result, 405, "does not accept this method")
    assert values(result[1], "Allow") == ["GET, POST, DELETE"]
    refused(request(cw, "api.test", "/v3/pet/ten"), 400, "expected integer, got string", "path parameter petId")
    refused(request(cw, "api.test", "/v3/pet/findByStatus?status=lost"), 400, "not one of the allowed values",
            "query parameter status")
    # Bodies: the failing JSON path, missing required properties, wrong types, not JSON at all.
    refused(post(cw, "api.test", "/v3/pet", pet(tags=[{"id": 1, "name": 7}])), 400, "expected string", "$.tags[0].name")
    refused(post(cw, "api.test", "/v3/pet", json.dumps({"photoUrls": []}).encode()), 400,
            "missing required property \"name\"", "$")
    refused(post(cw, "api.test", "/v3/pet", pet(status="lost")), 400, "not one of the allowed values", "$.status")
    refused(post(cw, "api.test", "/v3/pet", pet(id="ten")), 400, "expected integer", "$.id")
    refused(post(cw, "api.test", "/v3/pet", b'{"name": "doggie", '), 400, "not JSON")
    refused(request(cw, "api.test", "/v3/pet", method="POST"), 400, "body is required")
    refused(post(cw, "api.test", "/v3/pet", b"name: doggie", "text/yaml"), 415, "content type", "text/yaml")
    # A declared non-JSON media type passes unparsed.
    assert post(cw, "api.test", "/v3/pet", b"<pet/>", "application/xml")[0] == 200
    assert post(cw, "api.test", "/v3/store/order", json.dumps({"quantity": 2, "status": "placed"}).encode())[0] == 200
    refused(post(cw, "api.test", "/v3/store/order", json.dumps({"shipDate": "yesterday"}).encode()), 400,
            "format", "$.shipDate")
    # validateRequestBodySchema: false checks paths and parameters only.
    assert post(cw, "loose.test", "/v3/pet", pet(status="lost"))[0] == 200
    assert get(cw, "loose.test", "/v3/nothing")[0] == 404


class StaticServer(Process):
    """python3 -m http.server over a directory, on a loopback port."""

    def __init__(self, directory):
        self.port = free_port()
        super().__init__([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory", str(directory),
                          str(self.port)], name="static")
        wait_for_port(self.port, proc=self.proc)


def test_swagger_two_from_a_url_refreshed(start_whoami, start_causeway, tmp_path):
    doc = json.loads((FIXTURES / "petstore2.json").read_text())
    (tmp_path / "spec.json").write_text(json.dumps(doc))
    server = StaticServer(tmp_path)
    try:
        w = start_whoami()
        cw = start(start_causeway, w.url, middlewares={
            "contract": {"openApiSpec": {"url": f"http://127.0.0.1:{server.port}/spec.json", "refreshInterval": "1s"}},
        }, routers={"api": ("Host(`api.test`)", ["contract"])})
        good = json.dumps({"name": "rex", "photoUrls": []}).encode()
        assert post(cw, "api.test", "/v2/pet", good)[0] == 200
        status, _, body = post(cw, "api.test", "/v2/pet", json.dumps({"name": 1, "photoUrls": []}).encode())
        assert status == 400 and json.loads(body)["location"] == "$.name"
        assert get(cw, "api.test", "/v2/pet/findByStatus?status=sold&status=pending")[0] == 200
        status, _, body = get(cw, "api.test", "/v2/pet/findByStatus")
        assert status == 400 and b"required parameter is missing" in body
        assert get(cw, "api.test", "/v2/pet/0")[0] == 400  # minimum: 1
        status, _, body = request(cw, "api.test", "/v2/pet/5", method="DELETE")
        assert status == 400 and json.loads(body)["location"] == "header parameter api_key"
        assert request(cw, "api.test", "/v2/pet/5", method="DELETE", headers={"api_key": "k"})[0] == 200
        assert get(cw, "api.test", "/v2/store/inventory")[0] == 404

        # The document changes: a new path appears once the contract is refreshed.
        doc["paths"]["/store/inventory"] = {"get": {"responses": {"200": {"description": "ok"}}}}
        (tmp_path / "spec.json").write_text(json.dumps(doc))
        wait_until(lambda: get(cw, "api.test", "/v2/store/inventory")[0] == 200, timeout=15, message="refreshed")
        # The server goes away: the last good contract stays in use.
        server.stop()
        for _ in range(3):
            assert get(cw, "api.test", "/v2/store/inventory")[0] == 200
            assert post(cw, "api.test", "/v2/pet", good)[0] == 200
        # A refresh is due a second later, started by the next request.
        wait_until(lambda: get(cw, "api.test", "/v2/store/inventory")[0] == 200 and "cannot load the contract" in
                   cw.output(), timeout=15, interval=0.3, message="refresh failure logged")
    finally:
        server.stop()


def test_configuration_errors(start_whoami, start_causeway, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("openapi: 3.0.0\npaths:\n  /a:\n    post:\n      requestBody:\n        content:\n"
                   "          application/json:\n            schema:\n              $ref: '#/components/schemas/Missing'\n")
    w = start_whoami()
    cw = start(start_causeway, w.url, middlewares={
        "none": {"openApiSpec": {}},
        "missing": {"openApiSpec": {"file": str(tmp_path / "nope.yaml")}},
        "dangling": {"openApiSpec": {"file": str(bad)}},
    }, routers={"a": ("Host(`a.test`)", ["none"]), "b": ("Host(`b.test`)", ["missing"]),
                "c": ("Host(`c.test`)", ["dangling"])})
    out = cw.output()
    assert "exactly one of file and url must be set" in out
    assert "cannot read" in out
    assert "paths./a.post: requestBody: $ref #/components/schemas/Missing does not point into this document" in out
    for host in ("a.test", "b.test", "c.test"):
        assert get(cw, host)[0] == 404
