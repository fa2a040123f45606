"""content-guard in front of an LLM route: a request carrying personal data is blocked (400 in
the client's format, the provider never sees it) or masked before it leaves; an answer is
blocked (403) or masked, whole or streamed, and in a stream a payment card split over several
events is still found (the fake streams one word per event). The provider is the FAKE of
fake_llm.py, which echoes the last user message.

Reference: docs/ai-gateway.md, "Content guard"."""
import json
import urllib.request

import pytest

from fake_llm import TOOL_ARGUMENTS, FakeLLM
from harness import Causeway, wait_until
from mwkit import wait_log

KEY = "sk-provider-secret"
CARD = "4111 1111 1111 1111"


def dynamic(fake, ollama):
    routes = {
        "req-block": "{detectors: [email, creditCard]}",
        "req-mask": "{detectors: [email, creditCard], action: mask}",
        "resp-block": "{detectors: [creditCard], request: false, response: true}",
        "resp-mask": "{detectors: [creditCard], patterns: {ticket: 'TCK-[0-9]+'}, request: false, response: true, action: mask}",
    }
    lines = ["http:", "  routers:"]
    for name in routes:
        lines.append(f'    {name}: {{rule: "PathPrefix(`/{name}/`)", service: llm, middlewares: [{name}, chat]}}')
    # The same masking guard before an Ollama provider, which streams a tool call whole, in one
    # event carrying its id and name with the arguments.
    lines.append('    resp-mask-ol: {rule: "PathPrefix(`/resp-mask-ol/`)", service: ollama, middlewares: [resp-mask, chat-ol]}')
    lines.append("  middlewares:")
    for name, options in routes.items():
        lines.append(f"    {name}: {{content-guard: {options}}}")
    lines.append('    chat: {chat-completion: {token: "env:CW_AI_KEY", model: gpt-4o-mini}}')
    lines.append('    chat-ol: {chat-completion: {provider: ollama, model: llama3.2}}')
    lines.append("  services:")
    lines.append(f'    llm: {{loadBalancer: {{passHostHeader: false, servers: [{{url: "{fake.url}"}}]}}}}')
    lines.append(f'    ollama: {{loadBalancer: {{passHostHeader: false, servers: [{{url: "{ollama.url}"}}]}}}}')
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def setup():
    fake, ollama = FakeLLM("openai", expected_key=KEY), FakeLLM("ollama")
    cw = Causeway(dynamic={"ai.yml": dynamic(fake, ollama)}, env={"CW_AI_KEY": KEY})
    try:
        wait_log(cw, "configuration published")
        wait_until(lambda: chat(cw, "req-mask", "hello")[0] == 200, message="the AI routers")
        yield cw, fake
    finally:
        cw.stop()
        fake.close()
        ollama.close()


def chat(cw, route, text, stream=False, anthropic=False, tools=None):
    request = {"model": "m", "stream": stream, "messages": [{"role": "user", "content": text}]}
    if tools:
        request["tools"] = tools
    body = json.dumps(request).encode()
    headers = {"Content-Type": "application/json"}
    if anthropic:
        headers["anthropic-version"] = "2023-06-01"
    req = urllib.request.Request(cw.url("web", f"/{route}/v1/chat/completions"), data=body, headers=headers,
                                 method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def stream_text(body):
    """The text of an OpenAI event stream, and its error event if any."""
    text, error = "", None
    for line in body.decode().splitlines():
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        event = json.loads(line[6:])
        if "error" in event:
            error = event["error"]
            continue
        for choice in event.get("choices", []):
            text += choice.get("delta", {}).get("content") or ""
    return text, error


def test_request_with_personal_data_is_blocked_before_the_provider(setup):
    cw, fake = setup
    before = len(fake.requests)
    status, body = chat(cw, "req-block", "my mail is jane@example.com")
    assert status == 400
    error = json.loads(body)["error"]
    assert error["type"] == "invalid_request_error" and "email" in error["message"]
    assert "jane@example.com" not in error["message"]
    assert len(fake.requests) == before
    status, body = chat(cw, "req-block", f"card {CARD}", anthropic=True)
    assert status == 400 and json.loads(body)["type"] == "error"
    assert chat(cw, "req-block", "nothing personal")[0] == 200


def test_request_is_masked_before_it_leaves(setup):
    cw, fake = setup
    status, body = chat(cw, "req-mask", f"mail jane@example.com card {CARD}")
    assert status == 200, body
    sent = fake.requests[-1]["json"]["messages"][-1]["content"]
    assert sent == "mail [REDACTED:email] card [REDACTED:creditCard]"


def test_answer_is_blocked_or_masked(setup):
    cw, _ = setup
    status, body = chat(cw, "resp-block", f"repeat {CARD}")
    assert status == 403 and "creditCard" in json.loads(body)["error"]["message"]
    status, body = chat(cw, "resp-mask", f"repeat {CARD} for TCK-77")
    assert status == 200
    content = json.loads(body)["choices"][0]["message"]["content"]
    assert content == "echo: repeat [REDACTED:creditCard] for [REDACTED:ticket]"


def test_streamed_answer_finds_a_card_split_over_events(setup):
    cw, _ = setup
    status, body = chat(cw, "resp-mask", f"repeat {CARD} please", stream=True)
    assert status == 200
    text, error = stream_text(body)
    assert error is None
    assert text == "echo: repeat [REDACTED:creditCard] please"
    assert b"1111" not in body
    status, body = chat(cw, "resp-block", f"repeat {CARD} please", stream=True)
    text, error = stream_text(body)
    assert error is not None and "creditCard" in error["message"]
    assert "1111" not in text


WEATHER_TOOL = {"type": "function", "function": {"name": "get_weather", "description": "weather of a city",
                                                 "parameters": {"type": "object",
                                                                "properties": {"city": {"type": "string"}}}}}


@pytest.mark.parametrize("route", ["resp-mask", "resp-mask-ol"])
def test_streamed_tool_call_passes_whole_through_the_hold_back(setup, route):
    cw, _ = setup
    status, body = chat(cw, route, "what is the weather in Paris", stream=True, tools=[WEATHER_TOOL])
    assert status == 200, body
    calls, finish = {}, None
    for line in body.decode().splitlines():
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        for choice in json.loads(line[6:]).get("choices", []):
            finish = choice.get("finish_reason") or finish
            for call in choice.get("delta", {}).get("tool_calls") or []:
                entry = calls.setdefault(call["index"], {"ids": [], "names": [], "arguments": ""})
                if call.get("id"):
                    entry["ids"].append(call["id"])
                function = call.get("function") or {}
                if function.get("name"):
                    entry["names"].append(function["name"])
                entry["arguments"] += function.get("arguments") or ""
    # One call, its id and name sent once, its arguments whole and in order.
    assert list(calls) == [0], body
    assert len(calls[0]["ids"]) == 1 and calls[0]["names"] == ["get_weather"], calls
    assert json.loads(calls[0]["arguments"]) == json.loads(TOOL_ARGUMENTS)
    assert finish == "tool_calls"


def test_unknown_detector_is_a_configuration_error(tmp_path):
    cw = Causeway(dynamic={"bad.yml": 'http:\n  middlewares:\n    g: {content-guard: {detectors: [passport]}}\n'})
    try:
        wait_log(cw, 'unknown detector "passport"')
    finally:
        cw.stop()
