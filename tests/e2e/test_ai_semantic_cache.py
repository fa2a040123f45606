"""semantic-cache before an LLM route: the same question and a paraphrase are answered from
the cache without calling the provider, a different question is not, another caller does not
see a private entry, a hit on a streaming request is replayed as a stream, a streamed answer is
kept once it ended, readOnly never adds, a failing embeddings service leaves requests uncached
but answered, and two instances share one cache through a real redis-server. Embeddings come from a FAKE endpoint backed by real word vectors
(fake_embeddings.py); the provider is the FAKE of fake_llm.py.

Reference: docs/ai-gateway.md, "Semantic cache"."""
import json
import time
import urllib.request

import pytest

from fake_embeddings import FakeEmbeddings
from fake_llm import FakeLLM
from harness import Causeway, free_port, wait_until
from mwkit import wait_log
from redis_peer import needs_redis, start_redis  # noqa: F401 (fixture)

KEY = "sk-provider-secret"


@pytest.fixture(scope="module")
def setup():
    llm, embeddings = FakeLLM("openai", expected_key=KEY), FakeEmbeddings()
    config = f"""
http:
  routers:
    cached: {{rule: "PathPrefix(`/cached/`)", service: llm, middlewares: [cache, chat]}}
    readonly: {{rule: "PathPrefix(`/readonly/`)", service: llm, middlewares: [readonly, chat]}}
    broken: {{rule: "PathPrefix(`/broken/`)", service: llm, middlewares: [broken, chat]}}
  middlewares:
    cache: {{semantic-cache: {{embeddings: {{service: embeddings, model: glove-100d}}, maxDistance: 0.08}}}}
    readonly: {{semantic-cache: {{embeddings: {{service: embeddings}}, readOnly: true}}}}
    broken: {{semantic-cache: {{embeddings: {{service: nowhere}}}}}}
    chat: {{chat-completion: {{token: "env:CW_AI_KEY", model: gpt-4o-mini}}}}
  services:
    llm: {{loadBalancer: {{passHostHeader: false, servers: [{{url: "{llm.url}"}}]}}}}
    embeddings: {{loadBalancer: {{passHostHeader: false, servers: [{{url: "{embeddings.url}"}}]}}}}
    nowhere: {{loadBalancer: {{servers: [{{url: "http://127.0.0.1:{free_port()}"}}]}}}}
"""
    cw = Causeway(dynamic={"ai.yml": config}, env={"CW_AI_KEY": KEY})
    try:
        wait_log(cw, "configuration published")
        wait_until(lambda: ask(cw, "readonly", "warm up")[0] == 200, message="the AI routers")
        yield cw, llm, embeddings
    finally:
        cw.stop()
        llm.close()
        embeddings.close()


def ask(cw, route, text, stream=False, key="caller-1"):
    body = json.dumps({"model": "m", "stream": stream, "messages": [
        {"role": "system", "content": "answer briefly"}, {"role": "user", "content": text}]}).encode()
    req = urllib.request.Request(cw.url("web", f"/{route}/v1/chat/completions"), data=body, method="POST",
                                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers.get("X-Semantic-Cache"), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("X-Semantic-Cache"), e.read()


def content(body):
    return json.loads(body)["choices"][0]["message"]["content"]


def test_same_words_and_paraphrase_hit_other_questions_miss(setup):
    cw, llm, _ = setup
    status, cache, body = ask(cw, "cached", "What is the capital of France?")
    assert (status, cache) == (200, "miss")
    first = content(body)
    calls = len(llm.requests)
    assert ask(cw, "cached", "What is the capital of France?")[1] == "hit"
    status, cache, body = ask(cw, "cached", "Which city is the capital of France?")
    assert (status, cache) == (200, "hit")
    assert content(body) == first  # the answer to the first wording
    assert len(llm.requests) == calls  # the provider was not asked again
    assert ask(cw, "cached", "What is the capital of Germany?")[1] == "miss"
    assert ask(cw, "cached", "How do I bake chocolate cookies?")[1] == "miss"
    assert len(llm.requests) == calls + 2


def test_entries_are_private_to_their_caller(setup):
    cw, _, _ = setup
    ask(cw, "cached", "Tell me the main French town name", key="caller-a")
    assert ask(cw, "cached", "Tell me the main French town name", key="caller-a")[1] == "hit"
    assert ask(cw, "cached", "Tell me the main French town name", key="caller-b")[1] == "miss"


def test_a_hit_on_a_streaming_request_is_a_stream(setup):
    cw, _, _ = setup
    ask(cw, "cached", "best way to make biscuits at home")
    status, cache, body = ask(cw, "cached", "best way to make biscuits at home", stream=True)
    assert (status, cache) == (200, "hit")
    text = "".join(json.loads(line[6:])["choices"][0]["delta"].get("content") or ""
                   for line in body.decode().splitlines() if line.startswith("data: {"))
    assert text == "echo: best way to make biscuits at home"
    assert body.rstrip().endswith(b"data: [DONE]")


def test_a_streamed_answer_is_kept_once_it_ended(setup):
    cw, llm, _ = setup
    status, cache, _ = ask(cw, "cached", "oven recipe", stream=True)
    assert (status, cache) == (200, "miss")
    calls = len(llm.requests)
    status, cache, body = ask(cw, "cached", "oven recipe")
    assert (status, cache) == (200, "hit")
    assert content(body) == "echo: oven recipe"
    assert len(llm.requests) == calls


def test_read_only_never_adds_and_a_broken_embedder_leaves_requests_uncached(setup):
    cw, _, _ = setup
    assert ask(cw, "readonly", "paris berlin")[1] == "miss"
    assert ask(cw, "readonly", "paris berlin")[1] == "miss"
    status, cache, body = ask(cw, "broken", "paris")
    assert (status, cache) == (200, "error")
    assert content(body) == "echo: paris"


@needs_redis
def test_two_instances_share_the_cache_through_redis(start_redis):
    """An answer kept by one instance is a hit on the other, by the same words and by meaning."""
    redis = start_redis()
    llm, embeddings = FakeLLM("openai", expected_key=KEY), FakeEmbeddings()
    config = f"""
http:
  routers:
    cached: {{rule: "PathPrefix(`/cached/`)", service: llm, middlewares: [cache, chat]}}
  middlewares:
    cache:
      semantic-cache:
        embeddings: {{service: embeddings}}
        maxDistance: 0.08
        public: true
        redis: {{endpoints: ["127.0.0.1:{redis.port}"]}}
    chat: {{chat-completion: {{token: "env:CW_AI_KEY", model: gpt-4o-mini}}}}
  services:
    llm: {{loadBalancer: {{passHostHeader: false, servers: [{{url: "{llm.url}"}}]}}}}
    embeddings: {{loadBalancer: {{passHostHeader: false, servers: [{{url: "{embeddings.url}"}}]}}}}
"""
    a = Causeway(dynamic={"ai.yml": config}, env={"CW_AI_KEY": KEY})
    b = Causeway(dynamic={"ai.yml": config}, env={"CW_AI_KEY": KEY})
    try:
        for cw in (a, b):
            wait_log(cw, "configuration published")
            wait_until(lambda cw=cw: ask(cw, "cached", "paris berlin")[0] == 200, message="the AI routers")
        assert ask(a, "cached", "What is the capital of France?")[1] == "miss"
        calls = len(llm.requests)
        wait_until(lambda: redis.command("XLEN", "sc:cache@file") >= 2, message="a's answer in Redis")
        time.sleep(0.3)  # b reads the stream at most every 250 ms
        assert ask(b, "cached", "What is the capital of France?")[1] == "hit"
        assert ask(b, "cached", "Which city is the capital of France?")[1] == "hit"
        assert len(llm.requests) == calls
        assert redis.command("XLEN", "sc:cache@file") >= 2
    finally:
        a.stop()
        b.stop()
        llm.close()
        embeddings.close()
