"""AI gateway end to end: the official SDKs (openai, @anthropic-ai/sdk, driven by
node/ai_client.js) → causeway's chat-completion / messages-api / ai-rate-limit middlewares →
FAKE providers (fake_llm.py: OpenAI, Anthropic, Azure OpenAI, Ollama wire formats).

What is checked:
  * the provider key (env:CW_AI_KEY) goes upstream in the provider's header and the client's key
    never reaches a provider;
  * same-format and cross-format calls (OpenAI client ↔ Anthropic provider, Anthropic client ↔
    OpenAI provider), plain, streamed and with a tool round trip;
  * Azure OpenAI and Ollama / OpenAI-compatible providers;
  * every error in the CLIENT's wire format: invalid JSON, body too large, provider down,
    provider 429 (Retry-After kept) and 500, malformed and cut streams;
  * ai-rate-limit: a token budget per source, spent from the usage the provider reports.

The first tests ("fake ...") run the SDKs straight against the fakes, without causeway: they
prove the fakes speak what the real SDKs expect.
"""
import http.client
import json
import pathlib
import subprocess
import time
import uuid
from dataclasses import dataclass

import pytest

from fake_llm import AZURE_MODEL, FakeLLM
from harness import Causeway, free_port, to_yaml, wait_until
from mwkit import wait_log

NODE_DIR = pathlib.Path(__file__).resolve().parent / "node"
pytestmark = pytest.mark.skipif(
    not ((NODE_DIR / "node_modules" / "openai").exists()
         and (NODE_DIR / "node_modules" / "@anthropic-ai" / "sdk").exists()),
    reason="npm packages not installed (make test runs npm ci in tests/e2e/node)")

PROVIDER_KEY = "sk-provider-secret"  # what causeway injects (env CW_AI_KEY)
CLIENT_KEY = "sk-client-key"         # what the clients send; no provider may see it
MODELS = {"openai": "gpt-4o-mini", "azure": "gpt-4o-mini", "anthropic": "claude-sonnet-4-5",
          "ollama": "llama3.2"}

WEATHER_OPENAI = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather of a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
WEATHER_ANTHROPIC = {"name": "get_weather", "description": "Current weather of a city",
                     "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                                      "required": ["city"]}}
TOOL_OUTPUT = "18C and sunny"


# ---- SDK client ------------------------------------------------------------------------------

def run_ai(sdk, base_url, request, call="chat", api_key=CLIENT_KEY, headers=None, **extra):
    """Runs node/ai_client.js once: its JSON answer ({ok, ...}, see that file)."""
    arg = {"sdk": sdk, "baseURL": base_url, "apiKey": api_key, "call": call, "request": request,
           "headers": headers or {}, **extra}
    out = subprocess.run(["node", "ai_client.js", json.dumps(arg)], cwd=NODE_DIR, capture_output=True,
                         text=True, timeout=90)
    lines = out.stdout.strip().splitlines()
    assert out.returncode == 0 and lines, f"ai_client.js failed ({out.returncode}): {out.stdout}{out.stderr}"
    return json.loads(lines[-1])


def chat_request(sdk, text, model, system=None, **extra):
    """A minimal request in the client's format."""
    if sdk == "anthropic":
        req = {"model": model, "max_tokens": 256, "messages": [{"role": "user", "content": text}]}
        if system:
            req["system"] = system
    else:
        messages = [{"role": "system", "content": system}] if system else []
        req = {"model": model, "messages": messages + [{"role": "user", "content": text}]}
    req.update(extra)
    return req


def text_of(sdk, response):
    if sdk == "anthropic":
        return "".join(b["text"] for b in response["content"] if b["type"] == "text")
    return response["choices"][0]["message"]["content"]


def tool_turn(sdk, response):
    """The assistant's tool call (from `response`) and the tool's answer, in the client's format."""
    if sdk == "anthropic":
        (use,) = [b for b in response["content"] if b["type"] == "tool_use"]
        return [{"role": "assistant", "content": response["content"]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use["id"],
                                              "content": TOOL_OUTPUT}]}]
    message = response["choices"][0]["message"]
    (tool_call,) = message["tool_calls"]
    return [{"role": "assistant", "content": message.get("content"), "tool_calls": message["tool_calls"]},
            {"role": "tool", "tool_call_id": tool_call["id"], "content": TOOL_OUTPUT}]


# ---- the causeway under test -----------------------------------------------------------------

@dataclass(frozen=True)
class Route:
    """A path prefix on causeway: the client's format, and the fake provider behind it."""
    prefix: str
    sdk: str   # the client's format: "openai" or "anthropic"
    fake: str  # the fake provider's kind

    def base_url(self, cw):
        return cw.url("web", f"/{self.prefix}/v1" if self.sdk == "openai" else f"/{self.prefix}")

    @property
    def path(self):
        return f"/{self.prefix}/v1/chat/completions" if self.sdk == "openai" else f"/{self.prefix}/v1/messages"

    @property
    def model(self):
        return MODELS[self.fake]

    def __str__(self):
        return f"{self.sdk}_client_to_{self.fake}"


OA = Route("oa", "openai", "openai")
AN = Route("an", "anthropic", "anthropic")
AN_VIA_OA = Route("an-oa", "anthropic", "openai")
OA_VIA_AN = Route("oa-an", "openai", "anthropic")
OA_MODEL = Route("oa-model", "openai", "openai")
AZ = Route("az", "openai", "azure")
OL = Route("ol", "openai", "ollama")
OLC = Route("olc", "openai", "ollama")
OA_SMALL = Route("oa-small", "openai", "openai")
AN_SMALL = Route("an-small", "anthropic", "anthropic")
OA_DOWN = Route("oa-down", "openai", "openai")
AN_DOWN = Route("an-down", "anthropic", "anthropic")
OA_BUDGET = Route("oa-budget", "openai", "openai")
AN_BUDGET = Route("an-budget", "anthropic", "anthropic")
PROTOCOL_ROUTES = [OA, AN, AN_VIA_OA, OA_VIA_AN]
DEFAULT_MAX_TOKENS = 1234
BUDGET = 40
DEBIT_GRACE = 0.2  # seconds: the debit happens when the response ends, maybe just after the client has it


def gateway_config(fakes):
    key = "env:CW_AI_KEY"

    def service(url):
        return {"loadBalancer": {"passHostHeader": False, "servers": [{"url": url}]}}

    def router(route, middlewares, service_name=None):
        return {"rule": f"PathPrefix(`/{route.prefix}/`)", "service": service_name or route.fake,
                "middlewares": middlewares}

    middlewares = {
        "oa-chat": {"chat-completion": {"provider": "openai", "token": key}},
        "oa-model": {"chat-completion": {"provider": "openai", "token": key, "model": "gpt-4o-mini",
                                         "allowModelOverride": False, "allowParamsOverride": False,
                                         "params": {"temperature": 0.2}}},
        "an-msg": {"messages-api": {"provider": "anthropic", "token": key}},
        "an-via-openai": {"messages-api": {"provider": "openai", "token": key}},
        "oa-via-anthropic": {"chat-completion": {"provider": "anthropic", "token": key,
                                                 "defaultMaxTokens": DEFAULT_MAX_TOKENS}},
        "az-chat": {"chat-completion": {"provider": "azureOpenai", "token": key, "deploymentName": "dep1",
                                        "apiVersion": "2024-10-21"}},
        "ol-chat": {"chat-completion": {"provider": "ollama"}},
        "olc-chat": {"chat-completion": {"provider": "openaiCompatible", "token": key}},
        "oa-small": {"chat-completion": {"provider": "openai", "token": key, "maxRequestBodySize": 2048}},
        "an-small": {"messages-api": {"provider": "anthropic", "token": key, "maxRequestBodySize": 2048}},
        "oa-budget": {"ai-rate-limit": {"totalTokens": BUDGET, "period": "1h",
                                        "sourceCriterion": {"requestHeaderName": "X-User"}}},
        "an-budget": {"ai-rate-limit": {"totalTokens": BUDGET, "period": "1h",
                                        "sourceCriterion": {"requestHeaderName": "X-User"}}},
    }
    routers = {
        "oa": router(OA, ["oa-chat"]),
        "an": router(AN, ["an-msg"]),
        "an-oa": router(AN_VIA_OA, ["an-via-openai"]),
        "oa-an": router(OA_VIA_AN, ["oa-via-anthropic"]),
        "oa-model": router(OA_MODEL, ["oa-model"]),
        "az": router(AZ, ["az-chat"]),
        "ol": router(OL, ["ol-chat"]),
        "olc": router(OLC, ["olc-chat"]),
        "oa-small": router(OA_SMALL, ["oa-small"]),
        "an-small": router(AN_SMALL, ["an-small"]),
        "oa-down": router(OA_DOWN, ["oa-chat"], "down"),
        "an-down": router(AN_DOWN, ["an-msg"], "down"),
        "oa-budget": router(OA_BUDGET, ["oa-budget", "oa-chat"]),
        "an-budget": router(AN_BUDGET, ["an-budget", "an-msg"]),
    }
    services = {kind: service(fake.url) for kind, fake in fakes.items()}
    services["down"] = service(f"http://127.0.0.1:{free_port()}")  # nothing listens there
    return {"ai.yml": to_yaml({"http": {"routers": routers, "middlewares": middlewares,
                                        "services": services}}) + "\n"}


@pytest.fixture(scope="module")
def fakes():
    started = {kind: FakeLLM(kind, expected_key=PROVIDER_KEY) for kind in ("openai", "anthropic", "azure", "ollama")}
    yield started
    for fake in started.values():
        fake.close()


@pytest.fixture(autouse=True)
def fresh_fakes(fakes):
    """Each test starts with normal fakes and no recorded request, and ends with the proof that
    no provider ever saw the client's key."""
    for fake in fakes.values():
        fake.reset()
    yield
    for kind, fake in fakes.items():
        for req in fake.requests:
            assert CLIENT_KEY not in json.dumps(req["headers"]), (kind, req["headers"])
            assert CLIENT_KEY.encode() not in req["raw"], kind


@pytest.fixture(scope="module")
def cw(fakes):
    proxy = Causeway(dynamic=gateway_config(fakes), env={"CW_AI_KEY": PROVIDER_KEY})
    try:
        wait_log(proxy, "configuration published")
        # Live once the routers are: a broken body on /oa/ is then the middleware's 400, not a 404.
        wait_until(lambda: post(proxy, OA, b"{")[0] != 404, message="the AI routers")
        yield proxy
    finally:
        proxy.stop()


def call(cw, route, request, call="chat", **kwargs):
    return run_ai(route.sdk, route.base_url(cw), request, call=call, **kwargs)


def ok(result):
    assert result["ok"], result
    return result


def assert_provider_auth(req, kind):
    """The provider key in the provider's own header, and no other credential."""
    h = req["headers"]
    if kind == "anthropic":
        assert h.get("x-api-key") == PROVIDER_KEY
        assert "authorization" not in h and "api-key" not in h
    elif kind == "azure":
        assert h.get("api-key") == PROVIDER_KEY
        assert "authorization" not in h and "x-api-key" not in h
    else:
        assert h.get("authorization") == f"Bearer {PROVIDER_KEY}"
        assert "x-api-key" not in h and "api-key" not in h


# ---- raw HTTP, for exact error bodies --------------------------------------------------------

def client_headers(sdk):
    if sdk == "anthropic":
        return {"x-api-key": CLIENT_KEY, "anthropic-version": "2023-06-01", "Content-Type": "application/json"}
    return {"Authorization": f"Bearer {CLIENT_KEY}", "Content-Type": "application/json"}


def post(cw, route, body, headers=None, timeout=20):
    """POSTs `body` (bytes, or JSON-able) to the route as its client would: (status, headers, body)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    conn = http.client.HTTPConnection("127.0.0.1", cw.port(), timeout=timeout)
    try:
        conn.request("POST", route.path, body=data, headers={**client_headers(route.sdk), **(headers or {})})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def assert_client_error(sdk, headers, body, error_type=None):
    """The error body is in the client's wire format; returns the inner error object."""
    assert headers.get("content-type", "").startswith("application/json"), headers
    doc = json.loads(body)
    if sdk == "anthropic":
        # {"type": "error", "error": {"type": ..., "message": ...}}
        assert doc.get("type") == "error", doc
        assert isinstance(doc["error"]["type"], str) and isinstance(doc["error"]["message"], str), doc
    else:
        # {"error": {"message": ..., "type": ..., "param": ..., "code": ...}}
        assert "type" not in doc, doc
        assert isinstance(doc["error"]["message"], str) and isinstance(doc["error"]["type"], str), doc
    if error_type:
        assert doc["error"]["type"] == error_type, doc
    return doc["error"]


# ==== the fakes against the real SDKs, without causeway ========================================

def fake_sdk_args(fake):
    """(sdk, baseURL, extra ai_client arguments) to call a fake directly with its own SDK."""
    if fake.kind == "anthropic":
        return "anthropic", fake.url, {}
    if fake.kind == "azure":
        return "azure", fake.url, {"deployment": "dep1", "apiVersion": "2024-10-21"}
    return "openai", fake.url + "/v1", {}


@pytest.mark.parametrize("kind", ["openai", "anthropic", "azure", "ollama"])
def test_fake_answers_its_sdk(fakes, kind):
    fake = fakes[kind]
    sdk, base, extra = fake_sdk_args(fake)
    model = MODELS[kind]
    r = ok(run_ai(sdk, base, chat_request(sdk, "hello there", model, system="be brief"), api_key=PROVIDER_KEY,
                  **extra))
    assert text_of(sdk, r["response"]) == "echo: hello there"
    usage = r["response"]["usage"]
    if sdk == "anthropic":
        assert (usage["input_tokens"], usage["output_tokens"]) == (4, 3)
        assert r["headers"]["request-id"].startswith("req_")
    else:
        assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (4, 3, 7)
        assert r["response"]["model"] == (AZURE_MODEL if kind == "azure" else model)
    if kind != "ollama":
        assert_provider_auth(fake.last, kind)
    if kind == "azure":
        assert fake.last["path"] == "/openai/deployments/dep1/chat/completions"
        assert fake.last["query"] == {"api-version": "2024-10-21"}


@pytest.mark.parametrize("kind", ["openai", "anthropic", "azure", "ollama"])
def test_fake_streams_to_its_sdk(fakes, kind):
    fake = fakes[kind]
    sdk, base, extra = fake_sdk_args(fake)
    req = chat_request(sdk, "hello streaming world", MODELS[kind])
    if sdk != "anthropic":
        req["stream_options"] = {"include_usage": True}
    r = ok(run_ai(sdk, base, req, call="stream", api_key=PROVIDER_KEY, **extra))
    assert r["text"] == "echo: hello streaming world"
    assert r["finishReason"] == ("end_turn" if sdk == "anthropic" else "stop")
    if sdk == "anthropic":
        assert [c["type"] for c in r["chunks"]] == (
            ["message_start", "content_block_start"] + ["content_block_delta"] * 4
            + ["content_block_stop", "message_delta", "message_stop"])
        assert (r["usage"]["input_tokens"], r["usage"]["output_tokens"]) == (3, 4)
    else:
        assert (r["usage"]["prompt_tokens"], r["usage"]["completion_tokens"]) == (3, 4)
        assert r["chunks"][-1]["choices"] == [] and r["chunks"][-1]["usage"]["total_tokens"] == 7
        # Only the usage chunk (and Azure's first, content-filter chunk) has no choices.
        assert sum(1 for c in r["chunks"] if not c["choices"]) == (2 if kind == "azure" else 1)


@pytest.mark.parametrize("kind", ["openai", "anthropic", "ollama"])
@pytest.mark.parametrize("call_kind", ["chat", "stream"])
def test_fake_tool_round_trip_with_its_sdk(fakes, kind, call_kind):
    fake = fakes[kind]
    sdk, base, extra = fake_sdk_args(fake)
    first = chat_request(sdk, "what is the weather in Paris", MODELS[kind],
                         tools=[WEATHER_ANTHROPIC if sdk == "anthropic" else WEATHER_OPENAI])
    r = ok(run_ai(sdk, base, first, call=call_kind, api_key=PROVIDER_KEY, **extra))
    if call_kind == "stream":
        (tool,) = r["toolCalls"]
        assert (tool["name"], json.loads(tool["arguments"])) == ("get_weather", {"city": "Paris"})
        return
    second = dict(first, messages=first["messages"] + tool_turn(sdk, r["response"]))
    r2 = ok(run_ai(sdk, base, second, api_key=PROVIDER_KEY, **extra))
    assert text_of(sdk, r2["response"]) == f"the tool said: {TOOL_OUTPUT}"


@pytest.mark.parametrize("kind", ["openai", "anthropic", "azure"])
def test_fake_errors_reach_its_sdk(fakes, kind):
    fake = fakes[kind]
    sdk, base, extra = fake_sdk_args(fake)
    req = chat_request(sdk, "hi", MODELS[kind])
    r = run_ai(sdk, base, req, api_key="sk-wrong", **extra)
    assert (r["ok"], r["status"]) == (False, 401)
    fake.mode = "429"
    r = run_ai(sdk, base, req, api_key=PROVIDER_KEY, **extra)
    assert (r["ok"], r["status"], r["headers"]["retry-after"]) == (False, 429, "7")
    assert r["errorType"] == {"anthropic": "rate_limit_error", "openai": "requests", "azure": None}[kind]
    fake.mode = "500"
    r = run_ai(sdk, base, req, api_key=PROVIDER_KEY, **extra)
    assert (r["ok"], r["status"]) == (False, 500)


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
@pytest.mark.parametrize("mode", ["malformed_sse", "cut"])
def test_fake_broken_streams_break_its_sdk(fakes, kind, mode):
    fake = fakes[kind]
    sdk, base, extra = fake_sdk_args(fake)
    fake.mode = mode
    r = run_ai(sdk, base, chat_request(sdk, "one two three four", MODELS[kind]), call="stream",
               api_key=PROVIDER_KEY, **extra)
    assert not r["ok"], r
    expected_text = {"malformed_sse": "", "cut": "echo: one "}[mode]
    assert r["partial"]["text"] == expected_text


# ==== OpenAI client → OpenAI provider ===========================================================

def test_openai_chat_reaches_provider_with_provider_key(cw, fakes):
    r = ok(call(cw, OA, chat_request("openai", "hello gateway", "gpt-4o-mini")))
    assert text_of("openai", r["response"]) == "echo: hello gateway"
    assert r["response"]["model"] == "gpt-4o-mini"
    assert r["response"]["usage"]["total_tokens"] == 2 + 3
    (req,) = fakes["openai"].requests
    assert (req["method"], req["path"]) == ("POST", "/v1/chat/completions")
    assert req["json"]["messages"] == [{"role": "user", "content": "hello gateway"}]
    assert_provider_auth(req, "openai")


def test_openai_stream_meters_usage_without_showing_it(cw, fakes):
    # The client did not ask for usage: causeway asks the provider for it (to count tokens) and
    # keeps the usage-only chunk from the client.
    r = ok(call(cw, OA, chat_request("openai", "stream me please", "gpt-4o-mini"), call="stream"))
    assert r["text"] == "echo: stream me please"
    assert r["finishReason"] == "stop"
    assert all(c["choices"] for c in r["chunks"]), r["chunks"]
    assert all(c.get("usage") is None for c in r["chunks"])
    (req,) = fakes["openai"].requests
    assert req["json"]["stream"] is True
    assert req["json"]["stream_options"]["include_usage"] is True


def test_openai_stream_keeps_usage_the_client_asked_for(cw, fakes):
    r = ok(call(cw, OA, chat_request("openai", "count my tokens", "gpt-4o-mini",
                                     stream_options={"include_usage": True}), call="stream"))
    assert r["text"] == "echo: count my tokens"
    assert (r["usage"]["prompt_tokens"], r["usage"]["completion_tokens"]) == (3, 4)
    assert r["chunks"][-1]["choices"] == []


def test_configured_model_replaces_the_clients(cw, fakes):
    r = ok(call(cw, OA_MODEL, chat_request("openai", "which model", "gpt-4.1")))
    assert fakes["openai"].last["json"]["model"] == "gpt-4o-mini"
    assert r["response"]["model"] == "gpt-4o-mini"


def test_configured_params_replace_the_clients_when_overrides_are_off(cw, fakes):
    ok(call(cw, OA_MODEL, chat_request("openai", "be creative", "gpt-4o-mini", temperature=0.9)))
    assert fakes["openai"].last["json"]["temperature"] == 0.2


def test_configured_params_fill_in_missing_ones(cw, fakes):
    ok(call(cw, OA_MODEL, chat_request("openai", "defaults please", "gpt-4o-mini")))
    assert fakes["openai"].last["json"]["temperature"] == 0.2


def test_openai_tool_round_trip(cw, fakes):
    first = chat_request("openai", "what is the weather in Paris", "gpt-4o-mini", tools=[WEATHER_OPENAI])
    r = ok(call(cw, OA, first))
    choice = r["response"]["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    (tool_call,) = choice["message"]["tool_calls"]
    assert tool_call["function"]["name"] == "get_weather"
    assert json.loads(tool_call["function"]["arguments"]) == {"city": "Paris"}
    r2 = ok(call(cw, OA, dict(first, messages=first["messages"] + tool_turn("openai", r["response"]))))
    assert text_of("openai", r2["response"]) == f"the tool said: {TOOL_OUTPUT}"
    assert fakes["openai"].last["json"]["messages"][-1]["role"] == "tool"


# ==== Anthropic client → Anthropic provider =====================================================

def test_anthropic_messages_reach_provider_with_provider_key(cw, fakes):
    r = ok(call(cw, AN, chat_request("anthropic", "hello claude", "claude-sonnet-4-5")))
    assert r["response"]["content"] == [{"type": "text", "text": "echo: hello claude"}]
    assert r["response"]["stop_reason"] == "end_turn"
    assert (r["response"]["usage"]["input_tokens"], r["response"]["usage"]["output_tokens"]) == (2, 3)
    (req,) = fakes["anthropic"].requests
    assert (req["method"], req["path"]) == ("POST", "/v1/messages")
    assert req["headers"]["anthropic-version"] == "2023-06-01"
    assert_provider_auth(req, "anthropic")


def test_anthropic_stream(cw, fakes):
    r = ok(call(cw, AN, chat_request("anthropic", "stream for me", "claude-sonnet-4-5"), call="stream"))
    assert r["text"] == "echo: stream for me"
    assert r["finishReason"] == "end_turn"
    assert (r["usage"]["input_tokens"], r["usage"]["output_tokens"]) == (3, 4)
    types = [c["type"] for c in r["chunks"]]
    assert types[0] == "message_start" and types[-2:] == ["message_delta", "message_stop"]
    assert fakes["anthropic"].last["headers"]["anthropic-version"] == "2023-06-01"


def test_anthropic_tool_round_trip(cw, fakes):
    first = chat_request("anthropic", "what is the weather in Paris", "claude-sonnet-4-5", tools=[WEATHER_ANTHROPIC])
    r = ok(call(cw, AN, first))
    assert r["response"]["stop_reason"] == "tool_use"
    r2 = ok(call(cw, AN, dict(first, messages=first["messages"] + tool_turn("anthropic", r["response"]))))
    assert text_of("anthropic", r2["response"]) == f"the tool said: {TOOL_OUTPUT}"


# ==== Anthropic client → OpenAI provider ========================================================

def test_anthropic_client_via_openai_provider(cw, fakes):
    r = ok(call(cw, AN_VIA_OA, chat_request("anthropic", "hello across", "gpt-4o-mini", system="be brief")))
    resp = r["response"]
    assert resp["type"] == "message" and resp["role"] == "assistant"
    assert resp["content"] == [{"type": "text", "text": "echo: hello across"}]
    assert resp["stop_reason"] == "end_turn"
    assert (resp["usage"]["input_tokens"], resp["usage"]["output_tokens"]) == (4, 3)
    (req,) = fakes["openai"].requests
    assert req["path"] == "/v1/chat/completions"
    assert_provider_auth(req, "openai")
    messages = req["json"]["messages"]
    assert messages[0]["role"] in ("system", "developer") and "be brief" in json.dumps(messages[0]["content"])
    assert messages[-1]["role"] == "user" and "hello across" in json.dumps(messages[-1]["content"])


def test_anthropic_client_via_openai_provider_stream(cw, fakes):
    r = ok(call(cw, AN_VIA_OA, chat_request("anthropic", "stream across formats", "gpt-4o-mini"), call="stream"))
    assert r["text"] == "echo: stream across formats"
    assert r["finishReason"] == "end_turn"
    types = [c["type"] for c in r["chunks"]]
    assert types[0] == "message_start" and types[-1] == "message_stop"
    assert "content_block_start" in types and "content_block_stop" in types
    assert r["usage"]["output_tokens"] == 4


def test_anthropic_client_via_openai_provider_tools(cw, fakes):
    first = chat_request("anthropic", "what is the weather in Paris", "gpt-4o-mini", tools=[WEATHER_ANTHROPIC])
    r = ok(call(cw, AN_VIA_OA, first))
    resp = r["response"]
    assert resp["stop_reason"] == "tool_use"
    (use,) = [b for b in resp["content"] if b["type"] == "tool_use"]
    assert (use["name"], use["input"]) == ("get_weather", {"city": "Paris"})
    sent_tools = fakes["openai"].last["json"]["tools"]
    assert sent_tools[0]["type"] == "function" and sent_tools[0]["function"]["name"] == "get_weather"
    assert sent_tools[0]["function"]["parameters"] == WEATHER_ANTHROPIC["input_schema"]
    r2 = ok(call(cw, AN_VIA_OA, dict(first, messages=first["messages"] + tool_turn("anthropic", resp))))
    assert text_of("anthropic", r2["response"]) == f"the tool said: {TOOL_OUTPUT}"


def test_anthropic_client_via_openai_provider_streamed_tool_call(cw, fakes):
    req = chat_request("anthropic", "what is the weather in Paris", "gpt-4o-mini", tools=[WEATHER_ANTHROPIC])
    r = ok(call(cw, AN_VIA_OA, req, call="stream"))
    (tool,) = r["toolCalls"]
    assert (tool["name"], json.loads(tool["arguments"])) == ("get_weather", {"city": "Paris"})
    assert r["finishReason"] == "tool_use"


# ==== OpenAI client → Anthropic provider ========================================================

def test_openai_client_via_anthropic_provider(cw, fakes):
    r = ok(call(cw, OA_VIA_AN, chat_request("openai", "hello across", "claude-sonnet-4-5", system="be brief")))
    resp = r["response"]
    assert resp["object"] == "chat.completion"
    assert text_of("openai", resp) == "echo: hello across"
    assert resp["choices"][0]["finish_reason"] == "stop"
    assert (resp["usage"]["prompt_tokens"], resp["usage"]["completion_tokens"], resp["usage"]["total_tokens"]) == \
        (4, 3, 7)
    (req,) = fakes["anthropic"].requests
    assert req["path"] == "/v1/messages"
    assert req["headers"]["anthropic-version"] == "2023-06-01"
    assert_provider_auth(req, "anthropic")
    body = req["json"]
    assert body["max_tokens"] == DEFAULT_MAX_TOKENS
    system = body["system"]
    assert (system if isinstance(system, str) else "".join(b["text"] for b in system)) == "be brief"
    assert [m["role"] for m in body["messages"]] == ["user"]


def test_openai_client_via_anthropic_provider_keeps_max_tokens(cw, fakes):
    ok(call(cw, OA_VIA_AN, chat_request("openai", "short answer", "claude-sonnet-4-5", max_tokens=50)))
    assert fakes["anthropic"].last["json"]["max_tokens"] == 50


def test_openai_client_via_anthropic_provider_stream_with_usage(cw, fakes):
    req = chat_request("openai", "hello across", "claude-sonnet-4-5", system="be brief",
                       stream_options={"include_usage": True})
    r = ok(call(cw, OA_VIA_AN, req, call="stream"))
    assert r["text"] == "echo: hello across"
    assert r["finishReason"] == "stop"
    assert (r["usage"]["prompt_tokens"], r["usage"]["completion_tokens"]) == (4, 3)
    usage_chunks = [c for c in r["chunks"] if c["choices"] == []]
    assert len(usage_chunks) == 1 and usage_chunks[0]["usage"]["total_tokens"] == 7
    assert all(c["object"] == "chat.completion.chunk" for c in r["chunks"])


def test_openai_client_via_anthropic_provider_tools(cw, fakes):
    first = chat_request("openai", "what is the weather in Paris", "claude-sonnet-4-5", tools=[WEATHER_OPENAI])
    r = ok(call(cw, OA_VIA_AN, first))
    choice = r["response"]["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    (tool_call,) = choice["message"]["tool_calls"]
    assert tool_call["type"] == "function" and tool_call["function"]["name"] == "get_weather"
    assert json.loads(tool_call["function"]["arguments"]) == {"city": "Paris"}
    sent_tools = fakes["anthropic"].last["json"]["tools"]
    assert sent_tools[0]["name"] == "get_weather"
    assert sent_tools[0]["input_schema"] == WEATHER_OPENAI["function"]["parameters"]
    r2 = ok(call(cw, OA_VIA_AN, dict(first, messages=first["messages"] + tool_turn("openai", r["response"]))))
    assert text_of("openai", r2["response"]) == f"the tool said: {TOOL_OUTPUT}"


def test_openai_client_via_anthropic_provider_streamed_tool_call(cw, fakes):
    req = chat_request("openai", "what is the weather in Paris", "claude-sonnet-4-5", tools=[WEATHER_OPENAI])
    r = ok(call(cw, OA_VIA_AN, req, call="stream"))
    (tool,) = r["toolCalls"]
    assert tool["id"] and tool["name"] == "get_weather"
    assert json.loads(tool["arguments"]) == {"city": "Paris"}
    assert r["finishReason"] == "tool_calls"


# ==== Azure OpenAI, Ollama, OpenAI-compatible ===================================================

def test_azure_provider_gets_deployment_path_and_api_key(cw, fakes):
    r = ok(call(cw, AZ, chat_request("openai", "hello azure", "gpt-4o-mini")))
    assert text_of("openai", r["response"]) == "echo: hello azure"
    (req,) = fakes["azure"].requests
    assert req["path"] == "/openai/deployments/dep1/chat/completions"
    assert req["query"] == {"api-version": "2024-10-21"}
    assert_provider_auth(req, "azure")


def test_azure_provider_stream(cw, fakes):
    # Azure's first chunk has no choices (content-filter results only); the text still adds up.
    r = ok(call(cw, AZ, chat_request("openai", "stream from azure", "gpt-4o-mini"), call="stream"))
    assert r["text"] == "echo: stream from azure"
    assert r["finishReason"] == "stop"


def test_ollama_provider(cw, fakes):
    r = ok(call(cw, OL, chat_request("openai", "hello llama", "llama3.2")))
    assert text_of("openai", r["response"]) == "echo: hello llama"
    (req,) = fakes["ollama"].requests
    assert req["path"] == "/v1/chat/completions"
    assert req["json"]["model"] == "llama3.2"


def test_ollama_provider_stream(cw, fakes):
    r = ok(call(cw, OL, chat_request("openai", "stream from llama", "llama3.2"), call="stream"))
    assert r["text"] == "echo: stream from llama"


def test_openai_compatible_provider_sends_bearer_token(cw, fakes):
    r = ok(call(cw, OLC, chat_request("openai", "hello compatible", "llama3.2")))
    assert text_of("openai", r["response"]) == "echo: hello compatible"
    (req,) = fakes["ollama"].requests
    assert req["path"] == "/v1/chat/completions"
    assert_provider_auth(req, "openai")


# ==== errors, in the client's format ============================================================

@pytest.mark.parametrize("route", [OA, AN], ids=str)
def test_invalid_json_is_400(cw, fakes, route):
    status, headers, body = post(cw, route, b'{"model": "x", "messages": [')
    assert status == 400
    assert_client_error(route.sdk, headers, body, "invalid_request_error")
    assert fakes[route.fake].requests == []


@pytest.mark.parametrize("route", [OA_SMALL, AN_SMALL], ids=str)
def test_body_over_max_size_is_413(cw, fakes, route):
    status, headers, body = post(cw, route, chat_request(route.sdk, "x" * 3000, route.model))
    assert status == 413
    assert_client_error(route.sdk, headers, body, "request_too_large" if route.sdk == "anthropic" else None)
    assert fakes[route.fake].requests == []


@pytest.mark.parametrize("route", [OA_SMALL, AN_SMALL], ids=str)
def test_body_under_max_size_passes(cw, fakes, route):
    status, _, body = post(cw, route, chat_request(route.sdk, "small enough", route.model))
    assert status == 200, body
    assert len(fakes[route.fake].requests) == 1


@pytest.mark.parametrize("route", [OA_DOWN, AN_DOWN], ids=str)
def test_provider_down_is_502(cw, route):
    status, headers, body = post(cw, route, chat_request(route.sdk, "anyone there", route.model))
    assert status == 502
    assert_client_error(route.sdk, headers, body, "api_error" if route.sdk == "anthropic" else None)


@pytest.mark.parametrize("route", PROTOCOL_ROUTES, ids=str)
def test_provider_429_keeps_retry_after(cw, fakes, route):
    fakes[route.fake].mode = "429"
    status, headers, body = post(cw, route, chat_request(route.sdk, "too fast", route.model))
    assert status == 429
    assert headers.get("retry-after") == "7"
    assert_client_error(route.sdk, headers, body, "rate_limit_error" if route.sdk == "anthropic" else None)


@pytest.mark.parametrize("route", PROTOCOL_ROUTES, ids=str)
def test_provider_429_reaches_the_sdk(cw, fakes, route):
    fakes[route.fake].mode = "429"
    r = call(cw, route, chat_request(route.sdk, "too fast", route.model))
    assert (r["ok"], r["status"], r["headers"].get("retry-after")) == (False, 429, "7"), r
    if route.sdk == "anthropic":
        assert r["errorType"] == "rate_limit_error"


@pytest.mark.parametrize("route", PROTOCOL_ROUTES, ids=str)
def test_provider_500_is_a_server_error(cw, fakes, route):
    fakes[route.fake].mode = "500"
    status, headers, body = post(cw, route, chat_request(route.sdk, "break please", route.model))
    assert 500 <= status < 600
    assert_client_error(route.sdk, headers, body, "api_error" if route.sdk == "anthropic" else None)


@pytest.mark.parametrize("route", PROTOCOL_ROUTES, ids=str)
@pytest.mark.parametrize("mode", ["malformed_sse", "cut"])
def test_broken_provider_stream_ends_client_stream(cw, fakes, route, mode):
    # The client's stream fails (the SDK raises) or stops without a finish reason; never a
    # stream that looks complete. Causeway then serves the next request normally.
    fakes[route.fake].mode = mode
    r = call(cw, route, chat_request(route.sdk, "one two three four five", route.model), call="stream")
    assert not r["ok"] or r["finishReason"] is None, r
    text = r["text"] if r["ok"] else r["partial"]["text"]
    assert text != "echo: one two three four five"
    fakes[route.fake].mode = None
    r = ok(call(cw, route, chat_request(route.sdk, "all good again", route.model), call="stream"))
    assert r["text"] == "echo: all good again"
    assert cw.proc.poll() is None


# ==== ai-rate-limit =============================================================================

def spend_budget(cw, route, user):
    """One request worth more than the whole budget (30 words in, 31 out)."""
    r = ok(call(cw, route, chat_request(route.sdk, " ".join(["word"] * 30), route.model),
                headers={"X-User": user}))
    time.sleep(DEBIT_GRACE)
    return r


@pytest.mark.parametrize("route", [OA_BUDGET, AN_BUDGET], ids=str)
def test_budget_spent_refuses_next_request_in_client_format(cw, fakes, route):
    user = uuid.uuid4().hex
    spend_budget(cw, route, user)
    assert len(fakes[route.fake].requests) == 1
    status, headers, body = post(cw, route, chat_request(route.sdk, "one more", route.model),
                                 headers={"X-User": user})
    assert status == 429
    assert int(headers["retry-after"]) >= 1
    assert_client_error(route.sdk, headers, body, "rate_limit_error" if route.sdk == "anthropic" else None)
    assert len(fakes[route.fake].requests) == 1  # the provider never saw it


@pytest.mark.parametrize("route", [OA_BUDGET, AN_BUDGET], ids=str)
def test_budget_refusal_reaches_the_sdk(cw, fakes, route):
    user = uuid.uuid4().hex
    spend_budget(cw, route, user)
    r = call(cw, route, chat_request(route.sdk, "one more", route.model), headers={"X-User": user})
    assert (r["ok"], r["status"]) == (False, 429), r
    assert int(r["headers"]["retry-after"]) >= 1


def test_budget_is_per_source(cw, fakes):
    spend_budget(cw, OA_BUDGET, uuid.uuid4().hex)
    r = ok(call(cw, OA_BUDGET, chat_request("openai", "my own budget", "gpt-4o-mini"),
                headers={"X-User": uuid.uuid4().hex}))
    assert text_of("openai", r["response"]) == "echo: my own budget"


def test_budget_small_requests_pass_until_spent(cw, fakes):
    # 2 words in, 3 out: 5 tokens a request, so the 40-token budget takes 8 of them; a 9th may
    # pass on the crumb refilled since (40 tokens an hour), the rest are refused.
    user = uuid.uuid4().hex
    statuses = []
    for _ in range(11):
        statuses.append(post(cw, OA_BUDGET, chat_request("openai", "tiny request", "gpt-4o-mini"),
                             headers={"X-User": user})[0])
        time.sleep(DEBIT_GRACE)
    admitted = statuses.count(200)
    assert admitted in (8, 9) and statuses == [200] * admitted + [429] * (11 - admitted), statuses
    assert len(fakes["openai"].requests) == admitted


def test_budget_counts_streamed_usage(cw, fakes):
    # The client asks for no usage: causeway still counts what the provider reports.
    user = uuid.uuid4().hex
    r = ok(call(cw, OA_BUDGET, chat_request("openai", " ".join(["word"] * 30), "gpt-4o-mini"), call="stream",
                headers={"X-User": user}))
    assert r["finishReason"] == "stop"
    time.sleep(DEBIT_GRACE)
    status, headers, body = post(cw, OA_BUDGET, chat_request("openai", "one more", "gpt-4o-mini"),
                                 headers={"X-User": user})
    assert status == 429, body


def test_budget_counts_tokens_of_a_cut_stream(cw, fakes):
    # Anthropic reports the input tokens in message_start: 45 of them are counted even though
    # the stream is cut after two deltas.
    user = uuid.uuid4().hex
    fakes["anthropic"].mode = "cut"
    call(cw, AN_BUDGET, chat_request("anthropic", " ".join(["word"] * 45), "claude-sonnet-4-5"), call="stream",
         headers={"X-User": user})
    fakes["anthropic"].mode = None
    time.sleep(DEBIT_GRACE)
    status, headers, body = post(cw, AN_BUDGET, chat_request("anthropic", "one more", "claude-sonnet-4-5"),
                                 headers={"X-User": user})
    assert status == 429, body
    assert_client_error("anthropic", headers, body, "rate_limit_error")


# ---- what passes through besides completions -------------------------------------------------

def raw_request(cw, method, path, headers=None, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", cw.port(), timeout=20)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def test_model_list_passes_with_the_provider_key_and_without_the_clients(cw, fakes):
    fake = fakes["openai"]
    status, _, _ = raw_request(cw, "GET", "/oa/v1/models?key=AIza-client-secret&limit=2",
                               {"Authorization": f"Bearer {CLIENT_KEY}", "x-goog-api-key": CLIENT_KEY})
    assert status == 404  # the fake lists no models; what matters is what it received
    (req,) = fake.requests
    assert req["method"] == "GET" and req["path"] == "/oa/v1/models"
    assert req["query"] == {"limit": "2"}, "the client's key= query parameter reached the provider"
    assert_provider_auth(req, "openai")
    assert "x-goog-api-key" not in req["headers"]


@pytest.mark.parametrize("method, path, status", [("DELETE", "/oa/v1/files/file-1", 405),
                                                  ("PUT", "/oa/v1/files/file-1", 405),
                                                  ("GET", "/oa/v1/files", 404),
                                                  ("GET", "/oa/v1/responses/resp_1", 404)])
def test_other_requests_never_reach_the_provider_with_its_key(cw, fakes, method, path, status):
    got, headers, body = raw_request(cw, method, path, {"Authorization": f"Bearer {CLIENT_KEY}"},
                                     body=b"" if method == "PUT" else None)
    assert got == status, body
    assert json.loads(body)["error"]["message"]
    if status == 405:
        assert "POST" in headers["allow"]
    assert not fakes["openai"].requests
