"""The responses-api middleware: the official openai client's Responses API
(client.responses.create, plain and streamed, with a function call round trip) served by an
OpenAI Chat Completions provider and by an Anthropic one (both FAKES of fake_llm.py); stored
conversations (previous_response_id) are refused with a clear 400.

Reference: docs/ai-gateway.md, "Client formats"."""
import json
import pathlib
import subprocess

import pytest

from fake_llm import FakeLLM
from harness import Causeway, wait_until
from mwkit import wait_log

NODE_DIR = pathlib.Path(__file__).resolve().parent / "node"
KEY = "sk-provider-secret"
WEATHER = {"type": "function", "name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


def run_ai(base_url, request, call="chat"):
    arg = {"sdk": "responses", "baseURL": base_url, "apiKey": "sk-client-key", "call": call, "request": request}
    out = subprocess.run(["node", "ai_client.js", json.dumps(arg)], cwd=NODE_DIR, capture_output=True, text=True,
                         timeout=60)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def setup():
    openai, anthropic = FakeLLM("openai", expected_key=KEY), FakeLLM("anthropic", expected_key=KEY)
    config = f"""
http:
  routers:
    oa: {{rule: "PathPrefix(`/oa/`)", service: openai, middlewares: [oa]}}
    an: {{rule: "PathPrefix(`/an/`)", service: anthropic, middlewares: [an]}}
  middlewares:
    oa: {{responses-api: {{token: "env:CW_AI_KEY", model: gpt-4o-mini}}}}
    an: {{responses-api: {{provider: anthropic, token: "env:CW_AI_KEY", model: claude-sonnet-4-5}}}}
  services:
    openai: {{loadBalancer: {{passHostHeader: false, servers: [{{url: "{openai.url}"}}]}}}}
    anthropic: {{loadBalancer: {{passHostHeader: false, servers: [{{url: "{anthropic.url}"}}]}}}}
"""
    cw = Causeway(dynamic={"ai.yml": config}, env={"CW_AI_KEY": KEY})
    try:
        wait_log(cw, "configuration published")
        wait_until(lambda: run_ai(cw.url("web", "/oa/v1"), {"model": "x", "input": "hi"})["ok"], message="the AI routers")
        yield cw, openai, anthropic
    finally:
        cw.stop()
        openai.close()
        anthropic.close()


@pytest.mark.parametrize("route", ["oa", "an"])
def test_plain_and_streamed(setup, route):
    cw, openai, anthropic = setup
    request = {"model": "x", "instructions": "be brief", "input": "hello there"}
    result = run_ai(cw.url("web", f"/{route}/v1"), request)
    assert result["ok"], result
    response = result["response"]
    assert response["object"] == "response" and response["status"] == "completed"
    assert response["output"][0]["content"][0]["text"] == "echo: hello there"
    assert response["usage"]["input_tokens"] > 0 and response["usage"]["output_tokens"] == 3
    streamed = run_ai(cw.url("web", f"/{route}/v1"), request, "stream")
    assert streamed["ok"], streamed
    assert streamed["text"] == "echo: hello there"
    assert streamed["finishReason"] == "completed"
    assert streamed["usage"]["output_tokens"] == 3
    sent = (openai if route == "oa" else anthropic).requests[-1]["json"]
    if route == "oa":
        assert sent["messages"][0] == {"role": "system", "content": "be brief"}
    else:
        assert sent["system"] == "be brief"


def test_function_call_round_trip(setup):
    cw, _, _ = setup
    request = {"model": "x", "tools": [WEATHER], "input": "weather in Paris?"}
    first = run_ai(cw.url("web", "/an/v1"), request)
    call = [item for item in first["response"]["output"] if item["type"] == "function_call"][0]
    assert call["name"] == "get_weather" and json.loads(call["arguments"]) == {"city": "Paris"}
    follow = {**request, "input": [{"role": "user", "content": "weather in Paris?"}, call,
                                   {"type": "function_call_output", "call_id": call["call_id"], "output": "18C"}]}
    second = run_ai(cw.url("web", "/an/v1"), follow)
    assert second["ok"], second
    assert second["response"]["output"][0]["content"][0]["text"] == "the tool said: 18C"
    streamed = run_ai(cw.url("web", "/oa/v1"), request, "stream")
    assert streamed["toolCalls"][0]["name"] == "get_weather"


def test_stored_conversations_are_refused(setup):
    cw, _, _ = setup
    result = run_ai(cw.url("web", "/oa/v1"), {"model": "x", "input": "more", "previous_response_id": "resp_1"})
    assert not result["ok"] and result["status"] == 400
    assert "previous_response_id" in result["message"]
