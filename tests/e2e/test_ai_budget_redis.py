"""ai-rate-limit and ai-quota with `redis`: two causeway instances share one token budget
through a real redis-server. Tokens spent through one instance are refused by the other, with
429 and Retry-After in the client's format; without Redis each instance keeps its own budget.
The LLM provider is the FAKE of fake_llm.py (usage = words in, words out).

Reference: docs/ai-gateway.md, "Token limits"."""
import json
import time
import urllib.request

import pytest

from fake_llm import FakeLLM
from harness import Causeway, wait_until
from mwkit import wait_log
from redis_peer import needs_redis, start_redis  # noqa: F401 (fixture)

KEY = "sk-provider-secret"
PROMPT = "one two three"  # 3 tokens in, "echo: one two three" = 4 tokens out: 7 per call


def config(fake, limit, redis_port):
    redis = f", redis: {{endpoints: [\"127.0.0.1:{redis_port}\"]}}" if redis_port else ""
    return f"""
http:
  routers:
    bucket: {{rule: "PathPrefix(`/bucket/`)", service: llm, middlewares: [bucket, chat]}}
    quota: {{rule: "PathPrefix(`/quota/`)", service: llm, middlewares: [quota, chat]}}
    ready: {{rule: "PathPrefix(`/ready/`)", service: llm, middlewares: [chat]}}
  middlewares:
    bucket: {{ai-rate-limit: {{totalTokens: {limit}, period: 1h{redis}}}}}
    quota: {{ai-quota: {{totalTokens: {limit}, period: 1h{redis}}}}}
    chat: {{chat-completion: {{token: "env:CW_AI_KEY", model: gpt-4o-mini}}}}
  services:
    llm: {{loadBalancer: {{passHostHeader: false, servers: [{{url: "{fake.url}"}}]}}}}
"""


def chat(cw, prefix, anthropic=False):
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": PROMPT}]}).encode()
    headers = {"Content-Type": "application/json"}
    if anthropic:
        headers["anthropic-version"] = "2023-06-01"
    req = urllib.request.Request(cw.url("web", f"/{prefix}/v1/chat/completions"), data=body, headers=headers,
                                 method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def spend_until_refused(cw, prefix, most=20):
    """Calls until the budget refuses; returns how many calls got through."""
    for admitted in range(most):
        status, headers, body = chat(cw, prefix)
        if status == 429:
            return admitted
        assert status == 200, body
        time.sleep(0.1)  # the debit is taken when the answer ends (in Redis, just after)
    raise AssertionError("the budget never refused")


@pytest.fixture
def fake():
    f = FakeLLM("openai", expected_key=KEY)
    yield f
    f.close()


def start(fake, limit, redis_port):
    cw = Causeway(dynamic={"ai.yml": config(fake, limit, redis_port)}, env={"CW_AI_KEY": KEY})
    wait_log(cw, "configuration published")
    wait_until(lambda: chat(cw, "ready")[0] == 200, message="the AI routers")
    return cw


@needs_redis
@pytest.mark.parametrize("prefix", ["bucket", "quota"])
def test_two_instances_share_one_budget(fake, start_redis, prefix):
    redis = start_redis()
    # 30 tokens: 7 per call, so 5 calls get through (the 5th while 2 are left) and the 6th is refused.
    a = start(fake, 30, redis.port)
    b = start(fake, 30, redis.port)
    try:
        assert spend_until_refused(a, prefix) == 5
        before = len(fake.requests)
        status, headers, body = chat(b, prefix, anthropic=True)
        assert status == 429, body
        assert int(headers["Retry-After"]) >= 1
        error = json.loads(body)
        assert error["type"] == "error" and error["error"]["type"] == "rate_limit_error"
        assert len(fake.requests) == before  # the provider never saw it
        assert any(k.startswith(f"ai:{'bucket' if prefix == 'bucket' else 'window'}:")
                   for k in redis.command("KEYS", "ai:*"))
    finally:
        a.stop()
        b.stop()


def test_without_redis_each_instance_has_its_own_budget(fake):
    a = start(fake, 30, None)
    b = start(fake, 30, None)
    try:
        assert spend_until_refused(a, "quota") == 5
        assert chat(b, "quota")[0] == 200
    finally:
        a.stop()
        b.stop()


@needs_redis
def test_redis_down_refuses_with_a_clear_error(fake):
    from harness import free_port
    cw = Causeway(dynamic={"ai.yml": config(fake, 30, free_port())}, env={"CW_AI_KEY": KEY})
    try:
        wait_log(cw, "configuration published")
        status, _, body = wait_until(lambda: (r := chat(cw, "quota")) and r[0] != 404 and r)
        assert status == 500
        assert "token budget" in json.loads(body)["error"]["message"]
        assert fake.requests == []
    finally:
        cw.stop()


def test_a_reload_keeps_the_budget_spent(fake):
    """An unrelated configuration change rebuilds the handlers; the in-memory budget stays spent."""
    cw = start(fake, 30, None)
    try:
        assert spend_until_refused(cw, "quota") == 5
        published = cw.output().count("configuration published")
        (cw.dynamic_dir / "other.yml").write_text(
            'http:\n  routers:\n    other: {rule: "PathPrefix(`/other/`)", service: llm}\n')
        wait_until(lambda: cw.output().count("configuration published") > published, message="the reload")
        assert chat(cw, "quota")[0] == 429
    finally:
        cw.stop()
