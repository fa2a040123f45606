"""AI gateway observability: the GenAI span attributes (gen_ai.*), the GenAI Prometheus metrics (gen_ai_client_token_usage,
gen_ai_client_operation_duration_seconds, gen_ai_server_time_to_first_token_seconds,
gen_ai_server_time_per_output_token_seconds, causeway_gen_ai_cost_usd_total) and the access
log's GenAI* fields, for a whole answer, a stream translated from Anthropic, and a stream the
provider cuts (its tokens still count). The provider is the FAKE of fake_llm.py.

Reference: docs/ai-gateway.md, "Observability"."""
import json
import time
import urllib.request

import pytest

from fake_llm import FakeLLM
from harness import Causeway, wait_until
from mwkit import wait_log
from otlp_collector_fake import FakeOtlpCollector

KEY = "sk-provider-secret"


def dynamic(openai, anthropic):
    return f"""
http:
  routers:
    oa: {{rule: "PathPrefix(`/oa/`)", service: openai, middlewares: [budget, oa-chat]}}
    an: {{rule: "PathPrefix(`/an/`)", service: anthropic, middlewares: [an-chat]}}
  middlewares:
    budget:
      ai-rate-limit:
        totalTokens: 100000
        costUsd: 100
        prices: {{"gpt-4o*": {{input: 2.5, output: 10}}}}
    oa-chat: {{chat-completion: {{token: "env:CW_AI_KEY", model: gpt-4o-mini}}}}
    an-chat: {{chat-completion: {{provider: anthropic, token: "env:CW_AI_KEY"}}}}
  services:
    openai: {{loadBalancer: {{passHostHeader: false, servers: [{{url: "{openai.url}"}}]}}}}
    anthropic: {{loadBalancer: {{passHostHeader: false, servers: [{{url: "{anthropic.url}"}}]}}}}
"""


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    log = tmp_path_factory.mktemp("ai-logs") / "access.log"
    openai, anthropic = FakeLLM("openai"), FakeLLM("anthropic")
    for fake in (openai, anthropic):
        fake.expected_key = KEY
    static = ("metrics:\n  prometheus:\n    addRoutersLabels: true\n"
              f"accessLog:\n  format: json\n  filePath: {log}\n  bufferingSize: 0\n")
    cw = Causeway(entrypoints=("web", "traefik"), dynamic={"ai.yml": dynamic(openai, anthropic)},
                  static_extra=static, env={"CW_AI_KEY": KEY})
    try:
        wait_log(cw, "configuration published")
        wait_until(lambda: post(cw, "/oa/v1/chat/completions", b"{")[0] == 400, message="the AI routers")
        yield cw, openai, anthropic, log
    finally:
        cw.stop()
        openai.close()
        anthropic.close()


def post(cw, path, body):
    req = urllib.request.Request(cw.url("web", path), data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (ConnectionError, urllib.error.URLError) as e:  # a cut stream
        return 0, str(e).encode()


def chat(cw, path, text, stream=False):
    body = {"model": "any", "messages": [{"role": "user", "content": text}], "stream": stream}
    return post(cw, path, json.dumps(body).encode())


def scrape(cw):
    with urllib.request.urlopen(cw.url("traefik", "/metrics"), timeout=5) as r:
        return r.read().decode()


def value(text, name, **labels):
    """The value of the first sample `name` whose labels include `labels`."""
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        head, _, number = line.rpartition(" ")
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            return float(number)
    return None


def log_lines(log):
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def test_whole_answer_counts_tokens_cost_and_duration(setup):
    cw, openai, _, log = setup
    status, body = chat(cw, "/oa/v1/chat/completions", "one two three four")
    assert status == 200, body
    usage = json.loads(body)["usage"]
    metrics = wait_until(lambda: (m := scrape(cw)) and "gen_ai_client_token_usage_sum" in m and m)
    labels = {"gen_ai_provider_name": "openai", "gen_ai_request_model": "gpt-4o-mini", "router": "oa@file"}
    assert value(metrics, "gen_ai_client_token_usage_sum", gen_ai_token_type="input", **labels) == usage["prompt_tokens"]
    assert value(metrics, "gen_ai_client_token_usage_sum", gen_ai_token_type="output", **labels) == usage["completion_tokens"]
    assert value(metrics, "gen_ai_client_operation_duration_seconds_count", **labels) >= 1
    cost = usage["prompt_tokens"] * 2.5e-6 + usage["completion_tokens"] * 10e-6
    assert value(metrics, "causeway_gen_ai_cost_usd_total", **labels) == pytest.approx(cost)
    entry = wait_until(lambda: [e for e in log_lines(log) if e.get("GenAIRequestModel") == "gpt-4o-mini"])[-1]
    assert entry["GenAIProvider"] == "openai"
    assert entry["GenAIInputTokens"] == usage["prompt_tokens"]
    assert entry["GenAIOutputTokens"] == usage["completion_tokens"]
    assert entry["GenAICostUSD"] == pytest.approx(cost)


def test_translated_stream_has_time_to_first_token(setup):
    cw, _, anthropic, log = setup
    status, body = chat(cw, "/an/v1/chat/completions", "alpha beta gamma delta", stream=True)
    assert status == 200 and b"[DONE]" in body
    labels = {"gen_ai_provider_name": "anthropic", "router": "an@file"}
    metrics = wait_until(lambda: (m := scrape(cw)) and value(m, "gen_ai_server_time_to_first_token_seconds_count", **labels) and m)
    assert value(metrics, "gen_ai_server_time_to_first_token_seconds_sum", **labels) > 0
    assert value(metrics, "gen_ai_server_time_per_output_token_seconds_count", **labels) >= 1
    assert value(metrics, "gen_ai_client_token_usage_sum", gen_ai_token_type="output", **labels) > 0
    entry = wait_until(lambda: [e for e in log_lines(log) if e.get("GenAIProvider") == "anthropic"])[-1]
    assert entry["GenAIOutputTokens"] > 0 and entry["DownstreamStatus"] == 200


def test_a_cut_stream_still_counts_what_went_out(setup):
    cw, openai, _, log = setup
    before = len([e for e in log_lines(log) if e.get("GenAIProvider") == "openai"])
    openai.mode = "cut"
    try:
        status, body = chat(cw, "/oa/v1/chat/completions", "please tell me a long story now", stream=True)
    finally:
        openai.mode = None
    assert status in (0, 200)
    if status == 200:
        assert b'"error"' in body  # the stream ends with an error event in the client's format
    labels = {"gen_ai_provider_name": "openai", "router": "oa@file", "error_type": "stream_cut"}
    metrics = wait_until(lambda: (m := scrape(cw)) and value(m, "gen_ai_client_operation_duration_seconds_count", **labels) and m)
    assert value(metrics, "gen_ai_client_operation_duration_seconds_count", **labels) == 1
    entries = wait_until(lambda: (e := [e for e in log_lines(log) if e.get("GenAIProvider") == "openai"])
                         and len(e) > before and e)
    cut = entries[before]
    assert cut["GenAIOutputTokens"] > 0  # estimated from the text that went out


def test_the_provider_call_span_has_gen_ai_attributes(tmp_path):
    openai = FakeLLM("openai", expected_key=KEY)
    anthropic = FakeLLM("anthropic", expected_key=KEY)
    collector = FakeOtlpCollector()
    static = f"tracing:\n  otlp:\n    http:\n      endpoint: {collector.endpoint}/v1/traces\n"
    cw = Causeway(dynamic={"ai.yml": dynamic(openai, anthropic)}, static_extra=static,
                  env={"CW_AI_KEY": KEY, "OTEL_BSP_SCHEDULE_DELAY": "100"})
    try:
        wait_log(cw, "configuration published")
        wait_until(lambda: post(cw, "/an/v1/chat/completions", b"{")[0] == 400, message="the AI routers")
        assert chat(cw, "/an/v1/chat/completions", "one two three")[0] == 200
        span = wait_until(lambda: [s for s in collector.spans()
                                   if s["name"] == "ReverseProxy" and "gen_ai.provider.name" in s["attrs"]])[-1]
        attrs = span["attrs"]
        assert span["name"] == "ReverseProxy"
        assert attrs["gen_ai.provider.name"] == "anthropic"
        assert attrs["gen_ai.operation.name"] == "chat"
        assert attrs["gen_ai.request.model"] == "any"
        assert int(attrs["gen_ai.usage.input_tokens"]) == 3
        assert int(attrs["gen_ai.usage.output_tokens"]) == 4
        assert attrs["gen_ai.response.finish_reasons"] == ["stop"]
    finally:
        cw.stop()
        collector.server.shutdown()
        openai.close()
        anthropic.close()


def test_hub_observability_levels_are_accepted_with_a_warning(tmp_path):
    """Traefik Hub's per-middleware `observability` block is not implemented: `causeway check`
    names it (exit status 3, options not supported yet) and the middleware still works."""
    import subprocess
    from harness import BIN
    dynamic_file = tmp_path / "dyn.yml"
    dynamic_file.write_text('http:\n  middlewares:\n    chat:\n      chat-completion:\n'
                            '        token: "env:CW_AI_KEY"\n        observability: {metrics: {level: detailed}}\n')
    static_file = tmp_path / "static.yml"
    static_file.write_text(f"providers:\n  file:\n    filename: {dynamic_file}\n")
    out = subprocess.run([BIN, "check", f"--configFile={static_file}"], capture_output=True, text=True,
                         env={"CW_AI_KEY": KEY, "PATH": "/usr/bin:/bin"}, timeout=30)
    assert out.returncode == 3, out.stdout + out.stderr
    text = out.stdout + out.stderr
    assert "not supported yet" in text and "dyn.yml:6" in text and "observability" in text
