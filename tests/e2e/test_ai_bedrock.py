"""The Bedrock provider: the official openai and @anthropic-ai/sdk clients call causeway, which
speaks the Converse API with an AWS SigV4 signature (or a Bedrock API key) to a FAKE Bedrock
(fake_bedrock.py) that checks the signature as AWS does and streams AWS's binary event stream:
plain, streamed, a tool round trip, a provider error, and a wrong key refused.

Reference: docs/ai-gateway.md, "Providers"."""
import json
import pathlib
import subprocess

import pytest

from fake_bedrock import FakeBedrock
from harness import Causeway, wait_until
from mwkit import wait_log

NODE_DIR = pathlib.Path(__file__).resolve().parent / "node"
MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0"  # the ':' must be encoded in the path and in the signature
WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}}}}


def run_ai(sdk, base_url, request, call="chat"):
    arg = {"sdk": sdk, "baseURL": base_url, "apiKey": "sk-client-key", "call": call, "request": request}
    out = subprocess.run(["node", "ai_client.js", json.dumps(arg)], cwd=NODE_DIR, capture_output=True, text=True,
                         timeout=60)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def setup():
    bedrock = FakeBedrock(api_key="bedrock-api-key")
    config = f"""
http:
  routers:
    oa: {{rule: "PathPrefix(`/oa/`)", service: bedrock, middlewares: [oa]}}
    an: {{rule: "PathPrefix(`/an/`)", service: bedrock, middlewares: [an]}}
    key: {{rule: "PathPrefix(`/key/`)", service: bedrock, middlewares: [key]}}
    wrong: {{rule: "PathPrefix(`/wrong/`)", service: bedrock, middlewares: [wrong]}}
  middlewares:
    oa: {{chat-completion: {{provider: bedrock, region: us-east-1, model: "{MODEL}"}}}}
    an: {{messages-api: {{provider: bedrock, region: us-east-1, model: "{MODEL}"}}}}
    key: {{chat-completion: {{provider: bedrock, region: us-east-1, model: "{MODEL}", token: "env:BEDROCK_KEY"}}}}
    wrong: {{chat-completion: {{provider: bedrock, region: us-east-1, model: "{MODEL}", awsSecretAccessKey: "env:WRONG_SECRET"}}}}
  services:
    bedrock: {{loadBalancer: {{servers: [{{url: "{bedrock.url}"}}]}}}}
"""
    env = {"AWS_ACCESS_KEY_ID": "AKIDFAKE", "AWS_SECRET_ACCESS_KEY": "fake-secret", "BEDROCK_KEY": "bedrock-api-key",
           "WRONG_SECRET": "not-the-secret"}
    cw = Causeway(dynamic={"ai.yml": config}, env=env)
    try:
        wait_log(cw, "configuration published")
        wait_until(lambda: run_ai("openai", cw.url("web", "/oa/v1"), {"model": "x", "messages": [
            {"role": "user", "content": "hi"}]})["ok"], message="the AI routers")
        yield cw, bedrock
    finally:
        cw.stop()
        bedrock.close()


def test_signed_plain_and_streamed_calls(setup):
    cw, bedrock = setup
    request = {"model": "x", "messages": [{"role": "system", "content": "be brief"},
                                          {"role": "user", "content": "hello there"}]}
    result = run_ai("openai", cw.url("web", "/oa/v1"), request)
    assert result["ok"], result
    assert result["response"]["choices"][0]["message"]["content"] == "echo: hello there"
    sent = bedrock.requests[-1]
    assert sent["path"] == f"/model/{MODEL}/converse"
    assert sent["headers"]["host"] == "bedrock-runtime.us-east-1.amazonaws.com"
    assert sent["headers"]["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDFAKE/")
    assert sent["json"]["system"] == [{"text": "be brief"}]
    streamed = run_ai("openai", cw.url("web", "/oa/v1"), {**request, "stream_options": {"include_usage": True}}, "stream")
    assert streamed["ok"], streamed
    assert streamed["text"] == "echo: hello there"
    assert streamed["usage"]["prompt_tokens"] == 2 and streamed["usage"]["completion_tokens"] == 3
    assert bedrock.requests[-1]["path"].endswith("/converse-stream")


def test_tool_round_trip_both_clients(setup):
    cw, bedrock = setup
    request = {"model": "x", "tools": [WEATHER], "messages": [{"role": "user", "content": "weather in Paris?"}]}
    first = run_ai("openai", cw.url("web", "/oa/v1"), request)
    message = first["response"]["choices"][0]["message"]
    call = message["tool_calls"][0]
    assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}
    follow = {**request, "messages": request["messages"] + [message, {"role": "tool", "tool_call_id": call["id"],
                                                                      "content": "18C"}]}
    second = run_ai("openai", cw.url("web", "/oa/v1"), follow)
    assert second["response"]["choices"][0]["message"]["content"] == "the tool said: 18C"
    streamed = run_ai("openai", cw.url("web", "/oa/v1"), request, "stream")
    assert streamed["toolCalls"][0]["name"] == "get_weather"
    assert json.loads(streamed["toolCalls"][0]["arguments"]) == {"city": "Paris"}
    anthropic = run_ai("anthropic", cw.url("web", "/an"), {
        "model": "x", "max_tokens": 50, "messages": [{"role": "user", "content": "weather?"}],
        "tools": [{"name": "get_weather", "input_schema": {"type": "object"}}]}, "stream")
    assert anthropic["ok"], anthropic
    assert json.loads(anthropic["toolCalls"][0]["arguments"]) == {"city": "Paris"}


def test_api_key_and_wrong_secret(setup):
    cw, bedrock = setup
    ok = run_ai("openai", cw.url("web", "/key/v1"), {"model": "x", "messages": [{"role": "user", "content": "hi"}]})
    assert ok["ok"], ok
    assert bedrock.requests[-1]["headers"]["authorization"] == "Bearer bedrock-api-key"
    refused = run_ai("openai", cw.url("web", "/wrong/v1"), {"model": "x", "messages": [{"role": "user", "content": "hi"}]})
    # The provider refused the gateway's own credentials: a 502 that says so, not the
    # provider's 403 (its message is about a key the client never sent).
    assert not refused["ok"] and refused["status"] == 502, refused
    assert "refused the gateway's credentials (403)" in json.dumps(refused)


def test_throttling_reaches_the_client_in_its_format(setup):
    cw, bedrock = setup
    bedrock.mode = "429"
    try:
        result = run_ai("anthropic", cw.url("web", "/an"), {"model": "x", "max_tokens": 10,
                                                            "messages": [{"role": "user", "content": "hi"}]})
    finally:
        bedrock.mode = None
    assert not result["ok"] and result["status"] == 429
    assert result["error"]["error"]["type"] == "rate_limit_error"
    assert "Too many requests" in result["error"]["error"]["message"]
