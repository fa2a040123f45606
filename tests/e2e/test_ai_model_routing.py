"""Routing by model: ``Model(`pattern`)`` reads the JSON body's "model" before routing (and
replays the body to the chosen router), so one endpoint can send gpt-* to an OpenAI provider
and claude-* to an Anthropic one; a model no router takes is a 404 in the LLM client's own
error format; a body that is not JSON, or has no model, matches no Model() rule. Providers are
the FAKES of fake_llm.py.

Reference: docs/ai-gateway.md, "Routing by model"."""
import json
import socket
import urllib.request

import pytest

from fake_llm import FakeLLM
from harness import Causeway, wait_until
from mwkit import wait_log

KEY = "sk-provider-secret"


@pytest.fixture(scope="module")
def setup():
    openai, anthropic = FakeLLM("openai", expected_key=KEY), FakeLLM("anthropic", expected_key=KEY)
    config = f"""
http:
  routers:
    gpt: {{rule: "Path(`/v1/chat/completions`) && Model(`gpt-*`)", service: openai, middlewares: [oa]}}
    claude: {{rule: "Path(`/v1/chat/completions`) && Model(`claude-*`)", service: anthropic, middlewares: [an]}}
    claude-native: {{rule: "Path(`/v1/messages`) && Model(`claude-*`)", service: anthropic, middlewares: [native]}}
    upload: {{rule: "PathPrefix(`/upload`)", service: noop@internal, middlewares: [moved]}}
  middlewares:
    moved: {{redirectRegex: {{regex: "^(.*)/upload$", replacement: "${{1}}/elsewhere"}}}}
    oa: {{chat-completion: {{token: "env:CW_AI_KEY"}}}}
    an: {{chat-completion: {{provider: anthropic, token: "env:CW_AI_KEY"}}}}
    native: {{messages-api: {{provider: anthropic, token: "env:CW_AI_KEY"}}}}
  services:
    openai: {{loadBalancer: {{passHostHeader: false, servers: [{{url: "{openai.url}"}}]}}}}
    anthropic: {{loadBalancer: {{passHostHeader: false, servers: [{{url: "{anthropic.url}"}}]}}}}
"""
    cw = Causeway(dynamic={"ai.yml": config}, env={"CW_AI_KEY": KEY})
    try:
        wait_log(cw, "configuration published")
        wait_until(lambda: post(cw, "/v1/chat/completions", {"model": "gpt-4o", "messages": [
            {"role": "user", "content": "hi"}]})[0] == 200, message="the AI routers")
        yield cw, openai, anthropic
    finally:
        cw.stop()
        openai.close()
        anthropic.close()


def post(cw, path, body, headers=None):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(cw.url("web", path), data=data, method="POST",
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_each_model_goes_to_its_provider(setup):
    cw, openai, anthropic = setup
    messages = [{"role": "user", "content": "which provider"}]
    status, body = post(cw, "/v1/chat/completions", {"model": "gpt-4o-mini", "messages": messages})
    assert status == 200 and openai.requests[-1]["json"]["model"] == "gpt-4o-mini"
    status, body = post(cw, "/v1/chat/completions", {"messages": messages, "model": "claude-sonnet-4-5"})
    assert status == 200, body
    assert anthropic.requests[-1]["json"]["model"] == "claude-sonnet-4-5"
    assert json.loads(body)["object"] == "chat.completion"  # the body was replayed, then translated


def test_unknown_model_is_a_404_in_the_clients_format(setup):
    cw, _, _ = setup
    status, body = post(cw, "/v1/chat/completions", {"model": "llama-3", "messages": []})
    assert status == 404
    error = json.loads(body)["error"]
    assert error["code"] == "model_not_found" and "llama-3" in error["message"]
    status, body = post(cw, "/v1/messages", {"model": "llama-3", "max_tokens": 5, "messages": []},
                        {"anthropic-version": "2023-06-01"})
    assert status == 404
    assert json.loads(body)["error"]["type"] == "not_found_error"


def test_a_body_without_a_model_matches_no_model_rule(setup):
    cw, _, _ = setup
    assert post(cw, "/v1/chat/completions", b"{not json")[0] == 404
    assert post(cw, "/v1/chat/completions", {"messages": []})[0] == 404


def test_a_route_the_model_cannot_decide_is_not_held_for_the_body(setup):
    """Only a request the model could route is read before routing: a POST to another path gets
    its answer while its body is still on the way."""
    cw, _, _ = setup
    with socket.create_connection(("127.0.0.1", cw.port()), timeout=5) as s:
        s.sendall(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 10)
        s.settimeout(3)
        head = s.recv(4096)
    assert head.startswith(b"HTTP/1.1 30"), head
    assert b"/elsewhere" in head


def test_a_model_given_twice_matches_no_model_rule(setup):
    cw, openai, _ = setup
    before = len(openai.requests)
    body = b'{"model": "gpt-4o", "model": "claude-3-5-haiku", "messages": [{"role": "user", "content": "hi"}]}'
    status, _ = post(cw, "/v1/chat/completions", body)
    assert status == 404
    assert len(openai.requests) == before
