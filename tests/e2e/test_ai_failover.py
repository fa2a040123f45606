"""AI failover: chat-completion with `fallbacks`. When the primary provider answers 429 or 5xx
(or cannot be reached), the request goes to the next provider translated for it, with its own
key and model, through its own service; a 429's Retry-After sets the primary aside so the next
requests start with the fallback; when every provider fails the client gets the last error in
its own format. Providers are the FAKES of fake_llm.py (OpenAI primary, Anthropic fallback).

Reference: docs/ai-gateway.md, "Failover"."""
import json
import urllib.request

import pytest

from fake_llm import FakeLLM
from harness import Causeway, free_port, wait_until
from mwkit import wait_log


def config(primary, fallback, dead_port):
    return f"""
http:
  routers:
    chat: {{rule: "PathPrefix(`/chat/`)", service: primary, middlewares: [chat]}}
    dead: {{rule: "PathPrefix(`/dead/`)", service: dead, middlewares: [dead]}}
  middlewares:
    chat:
      chat-completion:
        token: "env:OPENAI_KEY"
        model: gpt-4o-mini
        fallbacks:
          - {{service: claude, provider: anthropic, token: "env:ANTHROPIC_KEY", model: claude-sonnet-4-5}}
    dead:
      chat-completion:
        token: "env:OPENAI_KEY"
        model: gpt-4o-mini
        fallbacks:
          - {{service: claude, provider: anthropic, token: "env:ANTHROPIC_KEY", model: claude-sonnet-4-5}}
  services:
    primary: {{loadBalancer: {{passHostHeader: false, servers: [{{url: "{primary.url}"}}]}}}}
    claude: {{loadBalancer: {{passHostHeader: false, servers: [{{url: "{fallback.url}"}}]}}}}
    dead: {{loadBalancer: {{passHostHeader: false, servers: [{{url: "http://127.0.0.1:{dead_port}"}}]}}}}
"""


@pytest.fixture
def setup():
    primary = FakeLLM("openai", expected_key="sk-openai")
    fallback = FakeLLM("anthropic", expected_key="sk-anthropic")
    cw = Causeway(dynamic={"ai.yml": config(primary, fallback, free_port())},
                  env={"OPENAI_KEY": "sk-openai", "ANTHROPIC_KEY": "sk-anthropic"})
    try:
        wait_log(cw, "configuration published")
        wait_until(lambda: chat(cw, "chat")[0] == 200, message="the AI routers")
        yield cw, primary, fallback
    finally:
        cw.stop()
        primary.close()
        fallback.close()


def chat(cw, route, stream=False):
    body = json.dumps({"model": "m", "stream": stream, "messages": [{"role": "user", "content": "hello"}]}).encode()
    req = urllib.request.Request(cw.url("web", f"/{route}/v1/chat/completions"), data=body,
                                 headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_429_fails_over_and_sets_the_primary_aside(setup):
    cw, primary, fallback = setup
    primary.mode = "429"  # with Retry-After: 7
    status, body = chat(cw, "chat")
    assert status == 200, body
    answer = json.loads(body)
    assert answer["object"] == "chat.completion"  # translated from Anthropic's answer
    assert answer["choices"][0]["message"]["content"] == "echo: hello"
    sent = fallback.requests[-1]
    assert sent["json"]["model"] == "claude-sonnet-4-5"
    assert sent["headers"]["x-api-key"] == "sk-anthropic" and "authorization" not in sent["headers"]
    seen = len(primary.requests)
    primary.mode = None
    assert chat(cw, "chat")[0] == 200
    assert len(primary.requests) == seen  # still set aside: Retry-After has not passed


def test_5xx_fails_over_for_a_stream_too(setup):
    cw, primary, fallback = setup
    primary.mode = "500"
    status, body = chat(cw, "chat", stream=True)
    assert status == 200
    text = ""
    for line in body.decode().splitlines():
        if line.startswith("data: {"):
            for choice in json.loads(line[6:]).get("choices", []):
                text += choice["delta"].get("content") or ""
    assert text == "echo: hello"
    assert body.rstrip().endswith(b"data: [DONE]")
    assert fallback.requests[-1]["json"]["stream"] is True


def test_unreachable_primary_fails_over(setup):
    cw, _, fallback = setup
    before = len(fallback.requests)
    assert chat(cw, "dead")[0] == 200
    assert len(fallback.requests) == before + 1


def test_when_every_provider_fails_the_client_gets_the_last_error(setup):
    cw, primary, fallback = setup
    primary.mode = "500"
    fallback.mode = "429"
    status, body = chat(cw, "chat")
    assert status == 429
    error = json.loads(body)["error"]
    assert error["type"] == "rate_limit_error"
