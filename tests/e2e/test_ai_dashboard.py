"""The AI gateway in the API (GET /api/ai) and on the dashboard's AI page, in Chromium: each AI
router with its provider, model, calls, tokens, cost, semantic-cache results and what the
guards and token limits refused. The provider is the FAKE of fake_llm.py.

Reference: docs/ai-gateway.md, "Observability"."""
import json
import urllib.request

import pytest

from browser import Browser, screenshot_dir
from fake_llm import FakeLLM
from harness import Causeway, wait_until
from mwkit import wait_log

KEY = "sk-provider-secret"


@pytest.fixture(scope="module")
def setup():
    llm = FakeLLM("openai", expected_key=KEY)
    config = f"""
http:
  routers:
    chat: {{rule: "PathPrefix(`/chat/`)", service: llm, middlewares: [guard, budget, chat]}}
  middlewares:
    guard: {{content-guard: {{detectors: [email]}}}}
    budget:
      ai-rate-limit:
        totalTokens: 100000
        costUsd: 10
        prices: {{"gpt-4o-mini": {{input: 150, output: 600}}}}
    chat: {{chat-completion: {{token: "env:CW_AI_KEY", model: gpt-4o-mini}}}}
  services:
    llm: {{loadBalancer: {{passHostHeader: false, servers: [{{url: "{llm.url}"}}]}}}}
"""
    cw = Causeway(entrypoints=("web", "traefik"), dynamic={"ai.yml": config}, env={"CW_AI_KEY": KEY},
                  static_extra="api:\n  insecure: true\n")
    try:
        wait_log(cw, "configuration published")
        wait_until(lambda: ask(cw, "warm up")[0] == 200, message="the AI routers")
        yield cw
    finally:
        cw.stop()
        llm.close()


def ask(cw, text):
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": text}]}).encode()
    req = urllib.request.Request(cw.url("web", "/chat/v1/chat/completions"), data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def api_ai(cw):
    with urllib.request.urlopen(cw.url("traefik", "/api/ai"), timeout=5) as r:
        return json.loads(r.read())


def test_api_and_dashboard_show_the_ai_route(setup):
    cw = setup
    assert ask(cw, "one two three")[0] == 200
    assert ask(cw, "mail me at jane@example.com")[0] == 400  # refused by content-guard
    router = wait_until(lambda: [r for r in api_ai(cw)["routers"] if r["name"] == "chat@file" and r["calls"] >= 3])[0]
    assert router["provider"] == "openai" and router["model"] == "gpt-4o-mini"
    assert router["errors"] == 1
    assert router["refusals"] == {"content-guard": 1}
    assert router["inputTokens"] > 0 and router["outputTokens"] > 0
    assert router["costUsd"] > 0
    with Browser() as browser:
        browser.goto(cw.url("traefik", "/dashboard/#/ai"))
        row = "[data-testid=ai-router][data-name='chat@file']"
        browser.wait(row)
        assert browser.text(row + " [data-testid=calls]") == str(router["calls"])
        assert browser.text(row + " [data-testid=refused]") == "content-guard: 1"
        assert browser.text(row + " [data-testid=input-tokens]") == f"{router['inputTokens']:,}"
        browser.screenshot(screenshot_dir() / "ai.png")
        assert browser.errors() == []
