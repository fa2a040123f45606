"""The Gemini provider: the official openai and @anthropic-ai/sdk clients call causeway, which
speaks Gemini's native generateContent / streamGenerateContent to a FAKE Gemini (fake_gemini.py):
plain, streamed, a tool round trip, and a provider error, in both client formats.

Reference: docs/ai-gateway.md, "Providers"."""
import json
import pathlib
import subprocess

import pytest

from fake_gemini import FakeGemini
from harness import Causeway, wait_until
from mwkit import wait_log

NODE_DIR = pathlib.Path(__file__).resolve().parent / "node"
KEY = "sk-provider-secret"
WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}}}}
WEATHER_ANTHROPIC = {"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}


def run_ai(sdk, base_url, request, call="chat"):
    arg = {"sdk": sdk, "baseURL": base_url, "apiKey": "sk-client-key", "call": call, "request": request}
    out = subprocess.run(["node", "ai_client.js", json.dumps(arg)], cwd=NODE_DIR, capture_output=True, text=True,
                         timeout=60)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def setup():
    gemini = FakeGemini(KEY)
    config = f"""
http:
  routers:
    oa: {{rule: "PathPrefix(`/oa/`)", service: gemini, middlewares: [oa]}}
    an: {{rule: "PathPrefix(`/an/`)", service: gemini, middlewares: [an]}}
  middlewares:
    oa: {{chat-completion: {{provider: gemini, token: "env:CW_AI_KEY", model: gemini-2.0-flash}}}}
    an: {{messages-api: {{provider: gemini, token: "env:CW_AI_KEY", model: gemini-2.0-flash}}}}
  services:
    gemini: {{loadBalancer: {{passHostHeader: false, servers: [{{url: "{gemini.url}"}}]}}}}
"""
    cw = Causeway(dynamic={"ai.yml": config}, env={"CW_AI_KEY": KEY})
    try:
        wait_log(cw, "configuration published")
        wait_until(lambda: run_ai("openai", cw.url("web", "/oa/v1"), {"model": "x", "messages": [
            {"role": "user", "content": "hi"}]})["ok"], message="the AI routers")
        yield cw, gemini
    finally:
        cw.stop()
        gemini.close()


def test_openai_client_plain_and_stream(setup):
    cw, gemini = setup
    request = {"model": "x", "messages": [{"role": "system", "content": "be brief"},
                                          {"role": "user", "content": "hello there"}]}
    result = run_ai("openai", cw.url("web", "/oa/v1"), request)
    assert result["ok"], result
    assert result["response"]["choices"][0]["message"]["content"] == "echo: hello there"
    assert result["response"]["usage"]["prompt_tokens"] == 2
    sent = gemini.requests[-1]
    assert sent["path"] == "/v1beta/models/gemini-2.0-flash:generateContent"
    assert sent["json"]["systemInstruction"] == {"parts": [{"text": "be brief"}]}
    assert "authorization" not in sent["headers"] and sent["headers"]["x-goog-api-key"] == KEY
    streamed = run_ai("openai", cw.url("web", "/oa/v1"), {**request, "stream_options": {"include_usage": True}}, "stream")
    assert streamed["ok"], streamed
    assert streamed["text"] == "echo: hello there"
    assert streamed["usage"]["completion_tokens"] == 3
    assert gemini.requests[-1]["path"].endswith(":streamGenerateContent")
    assert gemini.requests[-1]["query"] == "alt=sse"


def test_openai_client_tool_round_trip(setup):
    cw, gemini = setup
    request = {"model": "x", "tools": [WEATHER], "messages": [{"role": "user", "content": "weather in Paris?"}]}
    first = run_ai("openai", cw.url("web", "/oa/v1"), request)
    message = first["response"]["choices"][0]["message"]
    assert first["response"]["choices"][0]["finish_reason"] == "tool_calls"
    call = message["tool_calls"][0]
    assert call["function"]["name"] == "get_weather" and json.loads(call["function"]["arguments"]) == {"city": "Paris"}
    follow = {**request, "messages": request["messages"] + [message, {"role": "tool", "tool_call_id": call["id"],
                                                                      "content": "{\"temp\": 18}"}]}
    second = run_ai("openai", cw.url("web", "/oa/v1"), follow)
    assert second["response"]["choices"][0]["message"]["content"] == 'the tool said: {"temp": 18}'
    sent = gemini.requests[-1]["json"]["contents"][-1]["parts"][0]["functionResponse"]
    assert sent == {"name": "get_weather", "response": {"temp": 18}}
    streamed = run_ai("openai", cw.url("web", "/oa/v1"), request, "stream")
    assert streamed["toolCalls"][0]["name"] == "get_weather"
    assert json.loads(streamed["toolCalls"][0]["arguments"]) == {"city": "Paris"}


def test_anthropic_client_plain_stream_and_tools(setup):
    cw, _ = setup
    request = {"model": "x", "max_tokens": 100, "system": "be brief", "messages": [{"role": "user", "content": "good day"}]}
    result = run_ai("anthropic", cw.url("web", "/an"), request)
    assert result["ok"], result
    assert result["response"]["content"][0]["text"] == "echo: good day"
    assert result["response"]["stop_reason"] == "end_turn"
    streamed = run_ai("anthropic", cw.url("web", "/an"), request, "stream")
    assert streamed["ok"], streamed
    assert streamed["text"] == "echo: good day"
    tools = run_ai("anthropic", cw.url("web", "/an"), {**request, "tools": [WEATHER_ANTHROPIC],
                                                        "messages": [{"role": "user", "content": "weather?"}]})
    block = [b for b in tools["response"]["content"] if b["type"] == "tool_use"][0]
    assert block["name"] == "get_weather" and block["input"] == {"city": "Paris"}
    assert tools["response"]["stop_reason"] == "tool_use"


def test_provider_error_in_the_clients_format(setup):
    cw, gemini = setup
    gemini.mode = "429"
    try:
        openai = run_ai("openai", cw.url("web", "/oa/v1"), {"model": "x", "messages": [{"role": "user", "content": "hi"}]})
        anthropic = run_ai("anthropic", cw.url("web", "/an"), {"model": "x", "max_tokens": 10,
                                                               "messages": [{"role": "user", "content": "hi"}]})
    finally:
        gemini.mode = None
    assert not openai["ok"] and openai["status"] == 429 and "exhausted" in openai["message"]
    assert not anthropic["ok"] and anthropic["status"] == 429
    assert anthropic["error"]["error"]["type"] == "rate_limit_error"
