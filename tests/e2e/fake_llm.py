"""FAKE LLM providers for the AI-gateway end-to-end tests: a small HTTP server on loopback that
speaks the documented wire format of one provider, answers deterministically and records every
request it receives. It never calls a real provider and holds no real model.

    fake = FakeLLM("openai")      # or "anthropic", "azure", "ollama"
    fake.url                      # http://127.0.0.1:PORT
    fake.requests                 # [{method, path, query, headers (lower-case), json, raw}]
    fake.mode = "429"             # None | "429" | "500" | "malformed_sse" | "cut" | "slow"
    fake.close()

Kinds and what each one checks, as the real service does:
  openai     POST /v1/chat/completions, `Authorization: Bearer <expected_key>` (401
             invalid_api_key otherwise); rejects unknown top-level fields, stream_options
             without stream, tools that are not {type: function, function: {name}}, a `tool`
             message that does not answer a preceding assistant tool_calls, and tool-call
             arguments that are not a JSON string.
  azure      the OpenAI format under /openai/deployments/<dep>/chat/completions?api-version=…,
             `api-key: <expected_key>`; Azure's error bodies ({"error": {"code", "message"}},
             no `type`), content-filter annotations and the first stream chunk with empty
             `choices` and `prompt_filter_results`; the reply's model is the deployment's
             model (AZURE_MODEL), whatever the request says.
  ollama     OpenAI-compatible POST /v1/chat/completions, no authentication, lenient about
             fields; streams a tool call in one chunk, as Ollama does.
  anthropic  POST /v1/messages, `x-api-key: <expected_key>` (401 authentication_error) and an
             `anthropic-version` header (400 invalid_request_error, as the API answers);
             max_tokens/model/messages required, extra top-level fields rejected ("Extra
             inputs are not permitted"), roles only user/assistant, non-empty content except a
             final assistant message, tool_result blocks must answer a tool_use of the previous
             assistant message, tools need name + input_schema, temperature in [0, 1]. Named
             SSE events exactly as documented (message_start … message_stop, with a ping).

Deterministic answer: "echo: " + the text of the last user message; with tools and "weather"
in that text, one tool call (OpenAI id "call_1" / Anthropic id "toolu_1", the first tool's name,
arguments {"city":"Paris"}); when the last message is a tool result, "the tool said: <content>".
Token counts are whitespace-separated words: input = every message text (system included, tool
results included, assistant tool calls not), output = words of the reply (1 for a tool call).

Modes (after authentication; every endpoint):
  "429"            429, `retry-after: 7`, the provider's rate-limit error body
  "500"            500, the provider's server-error body
  "malformed_sse"  200 text/event-stream: one good event, then `data: {not json`, then a clean
                   end of the body (non-streaming request: a 200 JSON body that is not JSON)
  "cut"            200 text/event-stream: the first two content deltas, then the socket is
                   closed without the last chunk (non-streaming request: half the body)
  "slow"           sleeps SLOW_SECONDS, then answers normally
"""
import http.server
import json
import socket
import threading
import time
import urllib.parse
import uuid

KINDS = ("openai", "anthropic", "azure", "ollama")
AZURE_MODEL = "gpt-4o-mini-2024-07-18"
SLOW_SECONDS = 3.0
EVENT_GAP = 0.005  # seconds between two streamed events

OPENAI_FIELDS = {
    "model", "messages", "audio", "frequency_penalty", "function_call", "functions", "logit_bias",
    "logprobs", "max_completion_tokens", "max_tokens", "metadata", "modalities", "n",
    "parallel_tool_calls", "prediction", "presence_penalty", "prompt_cache_key",
    "prompt_cache_retention", "reasoning_effort", "response_format", "safety_identifier", "seed",
    "service_tier", "stop", "store", "stream", "stream_options", "temperature", "tool_choice",
    "tools", "top_logprobs", "top_p", "user", "verbosity", "web_search_options",
}
AZURE_FIELDS = OPENAI_FIELDS | {"data_sources"}
ANTHROPIC_FIELDS = {
    "model", "messages", "max_tokens", "container", "context_management", "mcp_servers", "metadata",
    "service_tier", "stop_sequences", "stream", "system", "temperature", "thinking", "tool_choice",
    "tools", "top_k", "top_p",
}
TOOL_ARGUMENTS = '{"city":"Paris"}'
TOOL_ARGUMENT_PIECES = ['{"city":', '"Paris"', '}']


class ProviderError(Exception):
    """An error answer: HTTP status, JSON body, extra headers."""

    def __init__(self, status, body, headers=None):
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def words(text):
    return len(text.split()) if text else 0


def _parts_text(content):
    """Text of an OpenAI content (string or parts) or Anthropic content (string or blocks)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content
                        if isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str))
    return ""


class Reply:
    """What the fake answers: a text or one tool call, and its token counts."""

    def __init__(self, text=None, tool_name=None, input_tokens=0):
        self.text, self.tool_name, self.input_tokens = text, tool_name, input_tokens

    @property
    def is_tool(self):
        return self.tool_name is not None

    @property
    def output_tokens(self):
        return 1 if self.is_tool else words(self.text)

    def pieces(self):
        """The reply text as streamed: one piece per word, a space after all but the last."""
        ws = self.text.split(" ") if self.text else [""]
        return [w + (" " if i < len(ws) - 1 else "") for i, w in enumerate(ws)]


def openai_reply(body):
    messages = body.get("messages") or []
    input_tokens = sum(words(_parts_text(m.get("content"))) for m in messages if isinstance(m, dict))
    if messages and isinstance(messages[-1], dict) and messages[-1].get("role") == "tool":
        return Reply(text="the tool said: " + _parts_text(messages[-1].get("content")), input_tokens=input_tokens)
    last_user = next((m for m in reversed(messages) if isinstance(m, dict) and m.get("role") == "user"), {})
    text = _parts_text(last_user.get("content"))
    tools = body.get("tools") or []
    if tools and "weather" in text:
        return Reply(tool_name=tools[0]["function"]["name"], input_tokens=input_tokens)
    return Reply(text="echo: " + text, input_tokens=input_tokens)


def anthropic_reply(body):
    messages = body.get("messages") or []
    input_tokens = words(_parts_text(body.get("system")))
    for m in messages:
        content = m.get("content")
        input_tokens += words(_parts_text(content))
        if isinstance(content, list):
            input_tokens += sum(words(_parts_text(b.get("content"))) for b in content
                                if isinstance(b, dict) and b.get("type") == "tool_result")
    last = messages[-1] if messages else {}
    if last.get("role") == "user" and isinstance(last.get("content"), list):
        results = [b for b in last["content"] if isinstance(b, dict) and b.get("type") == "tool_result"]
        if results:
            return Reply(text="the tool said: " + _parts_text(results[-1].get("content")), input_tokens=input_tokens)
    last_user = next((m for m in reversed(messages) if m.get("role") == "user"), {})
    text = _parts_text(last_user.get("content"))
    tools = body.get("tools") or []
    if tools and "weather" in text:
        return Reply(tool_name=tools[0]["name"], input_tokens=input_tokens)
    return Reply(text="echo: " + text, input_tokens=input_tokens)


class FakeLLM:
    """A FAKE provider of one kind (see the module docstring), serving in a thread."""

    def __init__(self, kind, expected_key="sk-provider-secret"):
        if kind not in KINDS:
            raise ValueError(f"unknown fake provider kind {kind!r}")
        self.kind = kind
        self.expected_key = expected_key
        self.mode = None
        self.requests = []
        self._lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                outer._handle(self)

            do_GET = do_PUT = do_DELETE = do_POST

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def last(self):
        return self.requests[-1] if self.requests else None

    def reset(self):
        """Back to normal mode with no recorded request."""
        self.mode = None
        with self._lock:
            self.requests.clear()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    # ---- request handling -------------------------------------------------------------------

    def _handle(self, h):
        raw = self._read_body(h)
        parsed = urllib.parse.urlsplit(h.path)
        headers = {k.lower(): v for k, v in h.headers.items()}
        body = None
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            pass
        with self._lock:
            self.requests.append({"method": h.command, "path": parsed.path,
                                  "query": dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True)),
                                  "headers": headers, "json": body, "raw": raw})
        mode = self.mode
        try:
            self._route(h, parsed, headers, raw)
            if mode == "slow":
                time.sleep(SLOW_SECONDS)
            self._modes(mode)
            self._answer(h, self._validate(raw), mode)
        except ProviderError as e:
            self._send_json(h, e.status, e.body, e.headers)
        except (BrokenPipeError, ConnectionResetError):
            h.close_connection = True

    @staticmethod
    def _read_body(h):
        if h.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(h.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while h.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += h.rfile.read(size)
                h.rfile.readline()
        length = int(h.headers.get("Content-Length") or 0)
        return h.rfile.read(length) if length else b""

    def _route(self, h, parsed, headers, raw):
        """Checks method, path and authentication; raises the provider's error."""
        kind = self.kind
        if kind == "anthropic":
            if h.command != "POST" or parsed.path != "/v1/messages":
                raise ProviderError(404, self._anthropic_error("not_found_error", "Not Found"))
            key = headers.get("x-api-key")
            if not key:
                raise ProviderError(401, self._anthropic_error("authentication_error", "x-api-key header is required"))
            if key != self.expected_key:
                raise ProviderError(401, self._anthropic_error("authentication_error", "invalid x-api-key"))
            if not headers.get("anthropic-version"):
                raise ProviderError(400, self._anthropic_error("invalid_request_error",
                                                               "anthropic-version: header is required"))
            return
        if kind == "azure":
            prefix, suffix = "/openai/deployments/", "/chat/completions"
            path = parsed.path
            if (h.command != "POST" or not path.startswith(prefix) or not path.endswith(suffix)
                    or "/" in path[len(prefix):-len(suffix)] or not path[len(prefix):-len(suffix)]):
                raise ProviderError(404, {"error": {"code": "404", "message": "Resource not found"}})
            if headers.get("api-key") != self.expected_key:
                raise ProviderError(401, {"error": {"code": "401", "message": (
                    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to "
                    "provide a valid key for an active subscription and use a correct regional API "
                    "endpoint for your resource.")}})
            if not urllib.parse.parse_qs(parsed.query).get("api-version"):
                raise ProviderError(404, {"error": {"code": "404", "message": "Resource not found"}})
            return
        if h.command != "POST" or parsed.path != "/v1/chat/completions":
            raise ProviderError(404, self._openai_error(f"Invalid URL ({h.command} {parsed.path})",
                                                        "invalid_request_error"))
        if kind == "openai":
            auth = headers.get("authorization", "")
            if auth != f"Bearer {self.expected_key}":
                shown = auth[len("Bearer "):] if auth.startswith("Bearer ") else ""
                message = ("You didn't provide an API key. You need to provide your API key in an "
                           "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
                           if not shown else
                           f"Incorrect API key provided: {shown[:3]}***{shown[-4:]}. You can find your "
                           "API key at https://platform.openai.com/account/api-keys.")
                raise ProviderError(401, self._openai_error(message, "invalid_request_error",
                                                            code="invalid_api_key" if shown else None))

    def _modes(self, mode):
        if mode == "429":
            if self.kind == "anthropic":
                body = self._anthropic_error("rate_limit_error", "Number of request tokens has exceeded "
                                             "your per-minute rate limit (https://docs.claude.com/en/api/rate-limits); "
                                             "see the response headers for current usage.")
            elif self.kind == "azure":
                body = {"error": {"code": "429", "message": (
                    "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version "
                    "2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier. "
                    "Please retry after 7 seconds.")}}
            else:
                body = self._openai_error("Rate limit reached for gpt-4o-mini in organization org-fake on "
                                          "requests per min (RPM): Limit 3, Used 3, Requested 1. Please try "
                                          "again in 7s.", "requests", code="rate_limit_exceeded")
            raise ProviderError(429, body, {"retry-after": "7"})
        if mode == "500":
            if self.kind == "anthropic":
                body = self._anthropic_error("api_error", "Internal server error")
            elif self.kind == "azure":
                body = {"error": {"code": "InternalServerError", "message": (
                    "The service is temporarily unable to process your request. Please try again later.")}}
            else:
                body = self._openai_error("The server had an error while processing your request. Sorry "
                                          "about that!", "server_error")
            raise ProviderError(500, body)

    # ---- validation -------------------------------------------------------------------------

    def _validate(self, raw):
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if self.kind == "anthropic":
            if not isinstance(body, dict):
                raise ProviderError(400, self._anthropic_error(
                    "invalid_request_error", "There was an issue with your request body: invalid JSON"))
            self._validate_anthropic(body)
            return body
        if not isinstance(body, dict):
            raise self._bad(
                "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
                "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was "
                "sent was not valid JSON. If you have trouble figuring out how to fix this, please "
                "contact us through our help center at help.openai.com.)")
        self._validate_openai(body)
        return body

    def _bad(self, message, param=None, code=None):
        if self.kind == "azure":
            return ProviderError(400, {"error": {"message": message, "type": "invalid_request_error",
                                                 "param": param, "code": code}})
        return ProviderError(400, self._openai_error(message, "invalid_request_error", param, code))

    def _validate_openai(self, body):
        lenient = self.kind == "ollama"
        if "model" not in body and self.kind != "azure":
            raise self._bad("you must provide a model parameter")
        if not isinstance(body.get("messages"), list):
            raise self._bad("Missing required parameter: 'messages'.", "messages", "missing_required_parameter")
        if not lenient:
            known = AZURE_FIELDS if self.kind == "azure" else OPENAI_FIELDS
            for name in body:
                if name not in known:
                    raise self._bad(f"Unrecognized request argument supplied: {name}")
            if body.get("stream_options") is not None and not body.get("stream"):
                raise self._bad("The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                                "stream_options", "invalid_value")
            temperature = body.get("temperature")
            if temperature is not None and not (0 <= temperature <= 2):
                raise self._bad(f"Invalid 'temperature': decimal above maximum value. Expected a value <= 2, "
                                f"but got {temperature} instead.", "temperature", "decimal_above_max_value")
        for i, tool in enumerate(body.get("tools") or []):
            if (not isinstance(tool, dict) or tool.get("type") != "function"
                    or not isinstance(tool.get("function"), dict) or not tool["function"].get("name")):
                raise self._bad(f"Missing required parameter: 'tools[{i}].function'.", f"tools[{i}].function",
                                "missing_required_parameter")
        pending = set()
        for i, m in enumerate(body["messages"]):
            if not isinstance(m, dict) or m.get("role") not in ("system", "developer", "user", "assistant", "tool",
                                                                  "function"):
                raise self._bad(f"Invalid value for 'messages[{i}].role'.", f"messages[{i}].role", "invalid_value")
            if m["role"] == "tool":
                if m.get("tool_call_id") not in pending:
                    raise self._bad("Invalid parameter: messages with role 'tool' must be a response to a preceeding "
                                    "message with 'tool_calls'.", f"messages.[{i}].role")
                continue
            pending = set()
            for j, call in enumerate(m.get("tool_calls") or [] if m["role"] == "assistant" else []):
                args = (call.get("function") or {}).get("arguments")
                if not isinstance(args, str):
                    got = "an object" if isinstance(args, dict) else type(args).__name__
                    raise self._bad(f"Invalid type for 'messages[{i}].tool_calls[{j}].function.arguments': expected "
                                    f"a string, but got {got} instead.",
                                    f"messages[{i}].tool_calls[{j}].function.arguments", "invalid_type")
                pending.add(call.get("id"))

    def _validate_anthropic(self, body):
        def bad(message):
            return ProviderError(400, self._anthropic_error("invalid_request_error", message))

        for name in ("model", "messages", "max_tokens"):
            if name not in body:
                raise bad(f"{name}: Field required")
        for name in body:
            if name not in ANTHROPIC_FIELDS:
                raise bad(f"{name}: Extra inputs are not permitted")
        if not isinstance(body["max_tokens"], int) or body["max_tokens"] < 1:
            raise bad("max_tokens: Input should be greater than or equal to 1")
        temperature = body.get("temperature")
        if temperature is not None and not (0 <= temperature <= 1):
            raise bad("temperature: Input should be less than or equal to 1")
        for i, tool in enumerate(body.get("tools") or []):
            if not isinstance(tool, dict) or not tool.get("name"):
                raise bad(f"tools.{i}.custom.name: Field required")
            if tool.get("type") not in (None, "custom") and not str(tool.get("type", "")).count("_20"):
                raise bad(f"tools.{i}: Input tag '{tool.get('type')}' found using 'type' does not match any of "
                          f"the expected tags")
            if tool.get("type") in (None, "custom") and not isinstance(tool.get("input_schema"), dict):
                raise bad(f"tools.{i}.custom.input_schema: Field required")
        system = body.get("system")
        if system is not None and not isinstance(system, (str, list)):
            raise bad("system: Input should be a valid string")
        messages = body["messages"]
        if not isinstance(messages, list):
            raise bad("messages: Input should be a valid list")
        previous_tool_uses = set()
        for i, m in enumerate(messages):
            role = m.get("role") if isinstance(m, dict) else None
            if role == "system":
                raise bad('messages: Unexpected role "system". The Messages API accepts a top-level `system` '
                          'parameter, not "system" as an input message role.')
            if role not in ("user", "assistant"):
                raise bad(f"messages.{i}.role: Input should be 'user' or 'assistant'")
            content = m.get("content")
            final_assistant = role == "assistant" and i == len(messages) - 1
            if not final_assistant and (content in ("", None, []) or
                                        (isinstance(content, str) and not content.strip())):
                raise bad(f"messages.{i}: all messages must have non-empty content except for the optional "
                          f"final assistant message")
            blocks = content if isinstance(content, list) else []
            for j, b in enumerate(blocks):
                btype = b.get("type") if isinstance(b, dict) else None
                if btype == "text" and not b.get("text"):
                    raise bad(f"messages.{i}.content.{j}.text: text content blocks must be non-empty")
                if btype == "tool_use" and (role != "assistant" or not b.get("id") or not b.get("name")
                                            or not isinstance(b.get("input"), dict)):
                    raise bad(f"messages.{i}.content.{j}.tool_use: invalid tool_use block")
                if btype == "tool_result":
                    if role != "user" or b.get("tool_use_id") not in previous_tool_uses:
                        raise bad(f"messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` "
                                  f"blocks: {b.get('tool_use_id')}. Each `tool_result` block must have a "
                                  f"corresponding `tool_use` block in the previous message.")
            previous_tool_uses = {b.get("id") for b in blocks if isinstance(b, dict) and b.get("type") == "tool_use"}

    # ---- answers ----------------------------------------------------------------------------

    def _answer(self, h, body, mode):
        stream = bool(body.get("stream"))
        if self.kind == "anthropic":
            reply = anthropic_reply(body)
            if stream:
                self._stream(h, self._anthropic_events(body, reply), mode, anthropic=True)
            else:
                self._send_json(h, 200, self._anthropic_message(body, reply), broken=mode)
            return
        reply = openai_reply(body)
        if stream:
            self._stream(h, self._openai_events(body, reply), mode, anthropic=False)
        else:
            self._send_json(h, 200, self._openai_completion(body, reply), broken=mode)

    def _model(self, body):
        return AZURE_MODEL if self.kind == "azure" else body.get("model")

    def _openai_completion(self, body, reply):
        message = {"role": "assistant", "content": None if reply.is_tool else reply.text}
        if reply.is_tool:
            message["tool_calls"] = [{"id": "call_1", "type": "function",
                                      "function": {"name": reply.tool_name, "arguments": TOOL_ARGUMENTS}}]
        if self.kind != "ollama":
            message["refusal"] = None
            message["annotations"] = []
        choice = {"index": 0, "message": message, "logprobs": None,
                  "finish_reason": "tool_calls" if reply.is_tool else "stop"}
        usage = {"prompt_tokens": reply.input_tokens, "completion_tokens": reply.output_tokens,
                 "total_tokens": reply.input_tokens + reply.output_tokens}
        out = {"id": "chatcmpl-" + uuid.uuid4().hex[:24], "object": "chat.completion", "created": int(time.time()),
               "model": self._model(body), "choices": [choice], "usage": usage}
        if self.kind == "ollama":
            out["system_fingerprint"] = "fp_ollama"
            return out
        usage["prompt_tokens_details"] = {"cached_tokens": 0, "audio_tokens": 0}
        usage["completion_tokens_details"] = {"reasoning_tokens": 0, "audio_tokens": 0,
                                              "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
        out["system_fingerprint"] = "fp_fake0001"
        if self.kind == "azure":
            choice["content_filter_results"] = _azure_filter_results()
            out["prompt_filter_results"] = [{"prompt_index": 0, "content_filter_results": _azure_filter_results()}]
        else:
            out["service_tier"] = "default"
        return out

    def _openai_events(self, body, reply):
        """[(sse text, is content delta)] of a streamed chat completion."""
        options = body.get("stream_options") or {}
        include_usage = bool(options.get("include_usage"))
        ident, created, model = "chatcmpl-" + uuid.uuid4().hex[:24], int(time.time()), self._model(body)
        obfuscate = self.kind == "openai" and options.get("include_obfuscation", True)
        events = []

        def chunk(delta, finish_reason=None, choices=None):
            c = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model}
            if self.kind == "openai":
                c["service_tier"] = "default"
            c["system_fingerprint"] = "fp_ollama" if self.kind == "ollama" else "fp_fake0001"
            if choices is None:
                choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
                if self.kind == "azure":
                    choice["content_filter_results"] = _azure_filter_results() if delta.get("content") else {}
                choices = [choice]
            c["choices"] = choices
            if include_usage:
                c["usage"] = None
            if obfuscate and choices:
                c["obfuscation"] = uuid.uuid4().hex[:8]
            return c

        if self.kind == "azure":
            # Azure's first chunk: no choices, the prompt's content-filter results.
            events.append(({"id": "", "object": "", "created": 0, "model": "", "choices": [],
                            "prompt_filter_results": [{"prompt_index": 0,
                                                       "content_filter_results": _azure_filter_results()}]}, False))
        if reply.is_tool:
            events.append((chunk({"role": "assistant", "content": None, "refusal": None}), False))
            first = {"index": 0, "id": "call_1", "type": "function",
                     "function": {"name": reply.tool_name, "arguments": ""}}
            if self.kind == "ollama":  # Ollama sends the whole call at once
                first["function"]["arguments"] = TOOL_ARGUMENTS
                events.append((chunk({"tool_calls": [first]}), True))
            else:
                events.append((chunk({"tool_calls": [first]}), True))
                for piece in TOOL_ARGUMENT_PIECES:
                    events.append((chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}), True))
            events.append((chunk({}, "tool_calls"), False))
        else:
            role = {"role": "assistant", "content": ""}
            if self.kind != "ollama":
                role["refusal"] = None
            events.append((chunk(role), False))
            for piece in reply.pieces():
                events.append((chunk({"content": piece}), True))
            events.append((chunk({}, "stop"), False))
        if include_usage:
            usage = {"prompt_tokens": reply.input_tokens, "completion_tokens": reply.output_tokens,
                     "total_tokens": reply.input_tokens + reply.output_tokens}
            if self.kind != "ollama":
                usage["prompt_tokens_details"] = {"cached_tokens": 0, "audio_tokens": 0}
                usage["completion_tokens_details"] = {"reasoning_tokens": 0, "audio_tokens": 0,
                                                      "accepted_prediction_tokens": 0,
                                                      "rejected_prediction_tokens": 0}
            last = chunk({}, choices=[])
            last["usage"] = usage
            events.append((last, False))
        out = [(f"data: {json.dumps(c, separators=(',', ':'))}\n\n", delta) for c, delta in events]
        out.append(("data: [DONE]\n\n", False))
        return out

    def _anthropic_message(self, body, reply):
        if reply.is_tool:
            content = [{"type": "tool_use", "id": "toolu_1", "name": reply.tool_name, "input": {"city": "Paris"}}]
        else:
            content = [{"type": "text", "text": reply.text}]
        return {"id": "msg_" + uuid.uuid4().hex[:24], "type": "message", "role": "assistant",
                "model": body.get("model"), "content": content,
                "stop_reason": "tool_use" if reply.is_tool else "end_turn", "stop_sequence": None,
                "usage": {"input_tokens": reply.input_tokens, "cache_creation_input_tokens": 0,
                          "cache_read_input_tokens": 0, "output_tokens": reply.output_tokens,
                          "service_tier": "standard"}}

    def _anthropic_events(self, body, reply):
        shell = self._anthropic_message(body, reply)
        shell["content"] = []
        shell["stop_reason"] = None
        shell["usage"] = dict(shell["usage"], output_tokens=1)
        events = [("message_start", {"type": "message_start", "message": shell}, False)]
        if reply.is_tool:
            events.append(("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {
                "type": "tool_use", "id": "toolu_1", "name": reply.tool_name, "input": {}}}, False))
            events.append(("ping", {"type": "ping"}, False))
            for piece in TOOL_ARGUMENT_PIECES:
                events.append(("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {
                    "type": "input_json_delta", "partial_json": piece}}, True))
        else:
            events.append(("content_block_start", {"type": "content_block_start", "index": 0,
                                                   "content_block": {"type": "text", "text": ""}}, False))
            events.append(("ping", {"type": "ping"}, False))
            for piece in reply.pieces():
                events.append(("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                       "delta": {"type": "text_delta", "text": piece}}, True))
        events.append(("content_block_stop", {"type": "content_block_stop", "index": 0}, False))
        events.append(("message_delta", {"type": "message_delta", "delta": {
            "stop_reason": "tool_use" if reply.is_tool else "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": reply.output_tokens}}, False))
        events.append(("message_stop", {"type": "message_stop"}, False))
        return [(f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n", delta)
                for name, data, delta in events]

    # ---- writing ----------------------------------------------------------------------------

    def _common_headers(self, h):
        rid = "req_" + uuid.uuid4().hex[:24]
        if self.kind == "anthropic":
            h.send_header("request-id", rid)
        elif self.kind == "azure":
            h.send_header("apim-request-id", str(uuid.uuid4()))
            h.send_header("x-request-id", str(uuid.uuid4()))
        elif self.kind == "openai":
            h.send_header("x-request-id", rid)
            h.send_header("openai-version", "2020-10-01")
            h.send_header("openai-processing-ms", "12")

    def _send_json(self, h, status, body, headers=None, broken=None):
        data = json.dumps(body).encode()
        if broken == "malformed_sse":
            data = b"{not json"
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        self._common_headers(h)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        if broken == "cut":
            h.wfile.write(data[:len(data) // 2])
            self._cut(h)
            return
        h.wfile.write(data)

    @staticmethod
    def _cut(h):
        """Closes the connection at once, in the middle of the response body."""
        h.close_connection = True
        try:
            h.wfile.flush()
            h.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _stream(self, h, events, mode, anthropic):
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream; charset=utf-8")
        h.send_header("Cache-Control", "no-cache")
        self._common_headers(h)
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()

        def send(text):
            data = text.encode()
            h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            h.wfile.flush()
            time.sleep(EVENT_GAP)

        if mode == "malformed_sse":
            send(events[0][0])
            send("event: content_block_delta\ndata: {not json\n\n" if anthropic else "data: {not json\n\n")
            h.wfile.write(b"0\r\n\r\n")
            return
        deltas = 0
        for text, is_delta in events:
            send(text)
            deltas += is_delta
            if mode == "cut" and deltas == 2:
                self._cut(h)
                return
        h.wfile.write(b"0\r\n\r\n")

    # ---- error bodies -----------------------------------------------------------------------

    @staticmethod
    def _openai_error(message, type_, param=None, code=None):
        return {"error": {"message": message, "type": type_, "param": param, "code": code}}

    @staticmethod
    def _anthropic_error(type_, message):
        return {"type": "error", "error": {"type": type_, "message": message},
                "request_id": "req_" + uuid.uuid4().hex[:24]}


def _azure_filter_results():
    return {category: {"filtered": False, "severity": "safe"}
            for category in ("hate", "self_harm", "sexual", "violence")}
