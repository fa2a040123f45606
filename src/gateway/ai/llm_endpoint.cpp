// The protocol middlewares of the AI gateway: a router becomes an LLM endpoint by carrying one.
//   chat-completion   the client speaks OpenAI Chat Completions
//   messages-api      the client speaks Anthropic Messages
//   responses-api     the client speaks the OpenAI Responses API (carried as Chat Completions,
//                     responses.h)
// Options (Traefik Hub's, plus the provider the service behind the router is):
//   provider            openai (default) | azureOpenai | anthropic | mistral | deepSeek |
//                       ollama | openaiCompatible: the provider's wire format and paths
//   token               env:NAME or file:PATH: the provider key, injected upstream
//   model               the model to use; with allowModelOverride false (the default when a
//                       model is set) it replaces the client's
//   allowModelOverride, allowParamsOverride, params {temperature, topP, maxTokens,
//                       frequencyPenalty, presencePenalty}: params replace the client's unless
//                       allowParamsOverride, then they only fill what the client left out
//   modelAliases        {alias: model}: a client's model name replaced before anything else
//   maxRequestBodySize  bytes of request read (default 1 MiB): 413 beyond
//   deploymentName, apiVersion (azureOpenai), anthropicVersion, defaultMaxTokens (anthropic)
//   region, host, awsAccessKeyId, awsSecretAccessKey, awsSessionToken (bedrock: SigV4 with the
//                       keys from env:AWS_ACCESS_KEY_ID … by default; `token` instead is a
//                       Bedrock API key, sent as a bearer token)
//   fallbacks           [{service, provider, token, model, …}]: when the provider answers 429
//                       or 5xx (a 502/504 of its own included: unreachable, timed out), the
//                       request goes to the next one, translated for it, with its key and model,
//                       through its own service (load balancing, health checks and circuit
//                       breakers apply). A 429's Retry-After puts that provider aside for that
//                       long (at most 10 min): the next requests start with the next one.
// The request body is read once, checked, rewritten for the provider (model, params, format)
// and sent with the provider's key in place of the client's credentials. The answer comes back
// in the client's format: whole answers are translated at once, streams event by event
// (stream_body.h). Errors, from causeway or from the provider, reach the client in its own
// format with the provider's status and Retry-After. docs/ai-gateway.md is the reference.
#include <algorithm>
#include <atomic>

#include <boost/json.hpp>

#include "core/log.h"
#include "core/strings.h"
#include "core/utf8.h"
#include "exchange/ai_record.h"
#include "exchange/middleware_options.h"
#include "gateway/ai/client_reply.h"
#include "gateway/ai/backend.h"
#include "gateway/ai/bedrock.h"
#include "gateway/ai/gemini.h"
#include "gateway/ai/responses.h"
#include "gateway/ai/stream_body.h"
#include "gateway/ai/translate.h"

namespace causeway::gateway::ai {
namespace {

namespace json = boost::json;
using exchange::Exchange;
using exchange::Handler;
using exchange::HandlerPtr;
using exchange::MiddlewareBuildContext;
using exchange::MiddlewareFactoryPtr;
using exchange::WrapContext;

constexpr int64_t kDefaultMaxRequestBody = 1 << 20;
constexpr int64_t kMaxResponseBody = 32 << 20;   // a whole (non-streamed) answer
constexpr int64_t kMaxErrorBody = 64 << 10;      // a provider's error answer
constexpr auto kMaxCooldown = std::chrono::minutes(10);

struct Params {
  std::optional<double> temperature;
  std::optional<double> topP;
  std::optional<int64_t> maxTokens;
  std::optional<double> frequencyPenalty;
  std::optional<double> presencePenalty;

  static void describe(auto& self, auto& v) {
    v("temperature", self.temperature);
    v("topP", self.topP);
    v("maxTokens", self.maxTokens);
    v("frequencyPenalty", self.frequencyPenalty);
    v("presencePenalty", self.presencePenalty);
  }
};

struct FallbackOptions : ProviderOptions {
  std::string service;
  static void describe(auto& self, auto& v) {
    v("service", self.service);
    ProviderOptions::describe(self, v);
  }
};

struct Options : ProviderOptions {
  std::optional<bool> allowModelOverride;
  bool allowParamsOverride = false;
  Params params;
  std::map<std::string, std::string> modelAliases;
  int64_t maxRequestBodySize = kDefaultMaxRequestBody;
  std::vector<FallbackOptions> fallbacks;
  std::optional<config::Node> observability;

  static void describe(auto& self, auto& v) {
    ProviderOptions::describe(self, v);
    v("observability", self.observability,
      config::NotYet{"observability levels of Traefik Hub's AI middlewares are not supported yet; the GenAI metrics, "
                     "spans and access-log fields are always recorded (docs/ai-gateway.md)"});
    v("allowModelOverride", self.allowModelOverride);
    v("allowParamsOverride", self.allowParamsOverride);
    v("params", self.params);
    v("modelAliases", self.modelAliases);
    v("maxRequestBodySize", self.maxRequestBodySize);
    v("fallbacks", self.fallbacks);
  }
};

// What a middleware compiled from its options.
struct Endpoint {
  Wire client = Wire::OpenAIChat;
  std::vector<Backend> backends;  // the primary first, then the fallbacks in order
  std::string model;
  bool allowModelOverride = true;
  bool allowParamsOverride = false;
  Params params;
  std::map<std::string, std::string> modelAliases;
  int64_t maxRequestBodySize = kDefaultMaxRequestBody;
};

std::optional<Endpoint> compile(const Options& o, Wire client, MiddlewareBuildContext& context) {
  Endpoint e;
  e.client = client;
  std::optional<Backend> primary = compileBackend(o, "", context);
  if (!primary) return std::nullopt;
  primary->name = "primary";
  primary->model.clear();  // the primary's model is the endpoint's, with overrides and aliases
  e.backends.push_back(std::move(*primary));
  for (size_t i = 0; i < o.fallbacks.size(); ++i) {
    const FallbackOptions& f = o.fallbacks[i];
    std::string where = "fallbacks[" + std::to_string(i) + "].";
    if (f.service.empty()) {
      context.error(where + "service: required (the service that reaches this provider)");
      return std::nullopt;
    }
    std::optional<Backend> b = compileBackend(f, where, context);
    if (!b) return std::nullopt;
    b->name = f.service;
    b->service = context.service(f.service);
    e.backends.push_back(std::move(*b));
  }
  if (o.maxRequestBodySize <= 0) {
    context.error("maxRequestBodySize: must be > 0");
    return std::nullopt;
  }
  e.model = o.model;
  // Traefik Hub's "auto": overrides are allowed when no model is configured.
  e.allowModelOverride = o.allowModelOverride.value_or(o.model.empty());
  e.allowParamsOverride = o.allowParamsOverride;
  e.params = o.params;
  e.modelAliases = o.modelAliases;
  e.maxRequestBodySize = o.maxRequestBodySize;
  return e;
}

// About 4 characters per token over the text a request carries (content strings and parts,
// the system prompt, tool arguments): the estimate used until the provider reports usage.
int64_t estimateTokens(const json::value& v) {
  size_t chars = 0;
  auto walk = [&](auto&& self, const json::value& x) -> void {
    if (x.is_string()) chars += x.get_string().size();
    else if (x.is_array()) for (const auto& item : x.get_array()) self(self, item);
    else if (x.is_object())
      for (const auto& [k, item] : x.get_object())
        if (k == "content" || k == "text" || k == "system" || k == "messages" || k == "arguments" || k == "input" ||
            k == "choices" || k == "message" || k == "tool_calls" || k == "function")
          self(self, item);
  };
  walk(walk, v);
  return int64_t((chars + 3) / 4);
}

int64_t steadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A Retry-After in seconds (the HTTP-date form is not used by LLM providers).
std::chrono::nanoseconds retryAfterOf(std::string_view value) {
  int64_t seconds = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::chrono::nanoseconds(0);
    seconds = std::min<int64_t>(seconds * 10 + (c - '0'), 3600);
  }
  return std::min<std::chrono::nanoseconds>(std::chrono::seconds(seconds), kMaxCooldown);
}

// The requests other than completions an AI endpoint passes to its provider: model lists and
// one model's description (GET/HEAD …/models[/id]), token counting and embeddings (POST).
bool readOnlyPassThrough(const exchange::Request& r) {
  if (r.method == "POST") return r.path.ends_with("/count_tokens") || r.path.ends_with("/embeddings");
  if (r.method != "GET" && r.method != "HEAD") return false;
  std::string_view path = r.path;
  if (path.ends_with("/models")) return true;
  size_t slash = path.rfind('/');
  return slash != std::string_view::npos && path.substr(0, slash).ends_with("/models") && slash + 1 < path.size();
}

class LlmEndpoint final : public Handler {
 public:
  LlmEndpoint(const Endpoint& e, HandlerPtr next, const WrapContext&)
      : e_(e), next_(std::move(next)), coolUntil_(e_.backends.size()) {}

  awaitable<void> handle(Exchange& ex) const override {
    const Backend& primary = e_.backends[0];
    if (ex.request.method != "POST" || ex.request.path.ends_with("/count_tokens") ||
        ex.request.path.ends_with("/embeddings")) {
      // A model list, token counting and embeddings go through as they are, with the
      // provider's key; they are not LLM calls for the metrics. Nothing else does: the gateway's
      // key must not delete files or read stored answers for whoever reaches a wide route.
      if (!readOnlyPassThrough(ex.request)) {
        bool read = ex.request.method == "GET" || ex.request.method == "HEAD";
        reject(ex, read ? 404 : 405,
               read ? "only model lists pass through this AI endpoint" : "this AI endpoint accepts POST requests only");
        if (!read) ex.response.headers.set("Allow", "GET, HEAD, POST");
        co_return;
      }
      swapCredentials(ex, primary);
      co_await next_->handle(ex);
      co_return;
    }
    auto* record = ex.arena.make<exchange::AiRecord>();
    record->provider = providerName(primary.target.kind);
    record->clientFormat = wireName(e_.client);
    ex.record.ai = record;

    // 1. The request body, read once (bounded).
    if (auto length = ex.request.body ? ex.request.body->length() : std::optional<uint64_t>(0);
        length && int64_t(*length) > e_.maxRequestBodySize) {
      co_return reject(ex, 413, "request body is larger than " + std::to_string(e_.maxRequestBodySize) + " bytes");
    }
    std::string body;
    if (ex.request.body) {
      exchange::ReadResult read = co_await exchange::readBody(*ex.request.body, body, e_.maxRequestBodySize);
      if (read == exchange::ReadResult::TooLarge)
        co_return reject(ex, 413, "request body is larger than " + std::to_string(e_.maxRequestBodySize) + " bytes");
      if (read == exchange::ReadResult::Failed) co_return reject(ex, 400, "the request body broke off");
    }
    boost::system::error_code ec;
    // The request's document lives in one monotonic block from the exchange's arena (then in
    // blocks of its own if it needs more): no allocation per node, nothing freed node by node.
    const size_t reserve = std::max<size_t>(4096, body.size() * 2);
    json::monotonic_resource memory(static_cast<unsigned char*>(ex.arena.allocate(reserve)), reserve);
    // UTF-8 is checked once, fast, instead of by the parser byte by byte (three times faster on
    // text that is not all ASCII; docs/benchmarks.md).
    if (!validUtf8(body)) co_return reject(ex, 400, "the request body is not valid UTF-8");
    json::parse_options parseOptions;
    parseOptions.allow_invalid_utf8 = true;
    json::value parsed = json::parse(body, ec, &memory, parseOptions);
    if (ec) co_return reject(ex, 400, "the request body is not valid JSON: " + ec.message());
    if (!parsed.is_object()) co_return reject(ex, 400, "the request body must be a JSON object");
    if (e_.client == Wire::OpenAIResponses) {
      // Carried as Chat Completions from here on.
      json::object chat;
      std::string error;
      if (!responsesToChatRequest(parsed.get_object(), chat, error)) co_return reject(ex, 400, error);
      parsed = std::move(chat);
    }
    json::object& request = parsed.get_object();
    if (!field(request, "messages") || !field(request, "messages")->is_array())
      co_return reject(ex, 400, e_.client == Wire::OpenAIChat ? "'messages' is required and must be an array"
                                                              : "messages: Field required");

    // 2. Model and parameters as the endpoint allows.
    std::string model(stringField(request, "model"));
    if (auto alias = e_.modelAliases.find(model); alias != e_.modelAliases.end()) model = alias->second;
    if (!e_.model.empty() && (!e_.allowModelOverride || model.empty())) model = e_.model;
    if (model.empty()) co_return reject(ex, 400, "'model' is required");
    request["model"] = model;
    applyParams(request);
    const bool stream = field(request, "stream") && field(request, "stream")->is_bool() &&
                        field(request, "stream")->get_bool();
    bool clientWantsUsage = false;
    if (const json::value* so = field(request, "stream_options"); so && so->is_object())
      if (const json::value* iu = field(so->get_object(), "include_usage"); iu && iu->is_bool())
        clientWantsUsage = iu->get_bool();
    record->stream = stream;
    int64_t estimatedInput = estimateTokens(parsed);
    record->inputTokens = estimatedInput;
    record->estimated = true;

    // 3. The providers in order, until one answers (or the last one fails).
    const std::string_view authority = ex.request.authority;
    const http::Headers clientHeaders = ex.request.headers;
    size_t last = e_.backends.size() - 1;
    int64_t now = steadyNanos();
    size_t first = 0;
    for (size_t i = first; i <= last; ++i) {
      // A provider set aside by its Retry-After is skipped, unless it is the last one left.
      if (i < last && coolUntil_[i].load(std::memory_order_relaxed) > now) continue;
      const Backend& b = e_.backends[i];
      std::string backendModel = b.model.empty() ? model : b.model;
      ex.request.headers = clientHeaders;
      std::string error;
      if (!prepareRequest(ex, b, carried(), request, backendModel, stream, authority, error))
        co_return reject(ex, 400, error);
      record->provider = providerName(b.target.kind);
      record->requestModel = ex.arena.copy(backendModel);
      const HandlerPtr& handler = b.service ? b.service->handler() : next_;
      co_await handler->handle(ex);
      int status = ex.response.status;
      bool retry = i < last && !ex.response.tunnel && (status == 429 || status >= 500);
      if (!retry) {
        co_await answer(ex, b, *record, backendModel, stream, clientWantsUsage, estimatedInput);
        co_return;
      }
      if (status == 429) {
        auto cooldown = retryAfterOf(ex.response.headers.get("Retry-After"));
        if (cooldown.count() > 0) coolUntil_[i].store(steadyNanos() + cooldown.count(), std::memory_order_relaxed);
      }
      log::info("AI provider failed; trying the next one",
                {{"provider", b.name}, {"status", std::to_string(status)}, {"next", e_.backends[i + 1].name}});
      co_await exchange::drainBody(ex.response.body, kMaxErrorBody);
      ex.response = exchange::Response{};
      ex.record.originStatus = 0;
    }
  }

 private:
  // The answer of backend `b` in the client's format.
  awaitable<void> answer(Exchange& ex, const Backend& b, exchange::AiRecord& record, const std::string& model,
                         bool stream, bool clientWantsUsage, int64_t estimatedInput) const {
    exchange::Response& r = ex.response;
    if (r.tunnel) co_return;
    // The provider account's identity is not the client's business.
    for (std::string_view name : {"openai-organization", "openai-project", "anthropic-organization-id"})
      r.headers.remove(name);
    if (r.status >= 400 || r.status < 200) {
      co_await providerError(ex, b);
      co_return;
    }
    std::string_view contentType = r.headers.get("Content-Type");
    bool awsEvents = contentType.starts_with(kAwsEventStreamType);
    if (stream && (contentType.starts_with(kEventStreamType) || awsEvents)) {
      std::unique_ptr<StreamTranslator> translator =
          e_.client == Wire::OpenAIResponses
              ? chainStreams(streamTranslatorFor(b, Wire::OpenAIChat, model, true), makeChatToResponsesStream())
              : streamTranslatorFor(b, e_.client, model, clientWantsUsage);
      r.body = ex.arena.make<TranslatedStream>(
          r.body, std::move(translator), record, estimatedInput,
          awsEvents ? std::make_unique<AwsEventStreamParser>() : std::unique_ptr<EventFramer>());
      r.headers.remove("Content-Length");
      r.headers.set("Content-Type", "text/event-stream; charset=utf-8");
      r.headers.set("Cache-Control", "no-cache");
      r.headers.set("X-Accel-Buffering", "no");
      co_return;
    }
    co_await wholeAnswer(ex, b, record);
  }

  void applyParams(json::object& request) const {
    const bool openAI = carried() == Wire::OpenAIChat;
    auto set = [&](std::string_view key, const json::value& value) {
      if (e_.allowParamsOverride && field(request, key) && !field(request, key)->is_null()) return;
      request[key] = value;
    };
    const Params& p = e_.params;
    if (p.temperature) set("temperature", *p.temperature);
    if (p.topP) set("top_p", *p.topP);
    if (p.maxTokens) {
      if (openAI && field(request, "max_completion_tokens") && !e_.allowParamsOverride)
        request["max_completion_tokens"] = *p.maxTokens;
      else set(openAI && field(request, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens", *p.maxTokens);
    }
    if (openAI && p.frequencyPenalty) set("frequency_penalty", *p.frequencyPenalty);
    if (openAI && p.presencePenalty) set("presence_penalty", *p.presencePenalty);
  }

  // An error in the client's format; nothing reaches the provider.
  void reject(Exchange& ex, int status, std::string_view message) const {
    ex.record.errorDetail = ex.arena.copy(message);
    jsonReply(ex, status, errorBody(e_.client, status, message));
  }

  // A failed answer: the provider's (translated when the formats differ) or causeway's own
  // (502/503/504 when the provider could not be reached).
  awaitable<void> providerError(Exchange& ex, const Backend& b) const {
    exchange::Response& r = ex.response;
    int status = r.status;
    std::string body;
    if (r.body) co_await exchange::readBody(*r.body, body, kMaxErrorBody);
    std::string_view retryAfter = r.headers.get("Retry-After");
    std::string_view requestId = r.headers.get("request-id");
    if (requestId.empty()) requestId = r.headers.get("x-request-id");
    const bool encoded = !r.headers.get("Content-Encoding").empty() && !iequals(r.headers.get("Content-Encoding"), "identity");
    if (ex.record.originStatus == 0) {
      // causeway answered (no server reachable, timeout …): say so in the client's format.
      std::string message = "the provider could not be reached: " + errorMessageOf(body);
      if (status < 400) status = 502;
      jsonReply(ex, status, errorBody(e_.client, status, message));
    } else if (status == 401 || status == 403) {
      // The provider refused the gateway's own key: its message may quote part of that key
      // and means nothing to the client, whose credentials never reached the provider.
      log::warn("AI provider refused the gateway's credentials", {{"provider", b.name}, {"status", std::to_string(status)}});
      ex.record.errorDetail = "the provider refused the gateway's credentials";
      jsonReply(ex, 502, errorBody(e_.client, 502, "the AI provider refused the gateway's credentials (" +
                                                       std::to_string(status) + "); see the gateway's log"));
    } else if (encoded) {
      jsonReply(ex, status, errorBody(e_.client, status, "the provider answered " + std::to_string(status)));
    } else if (b.wire == e_.client && !body.empty() && body.front() == '{') {
      r.headers.remove("Content-Length");
      r.headers.remove("Content-Encoding");
      r.body = ex.arena.make<exchange::OwnedBody>(std::move(body));
      co_return;
    } else {
      // The error types differ between the formats: the client's type for the status.
      int clientStatus = status == 529 && e_.client != Wire::AnthropicMessages ? 503 : status;
      jsonReply(ex, clientStatus, errorBody(e_.client, clientStatus, errorMessageOf(body)));
    }
    if (!retryAfter.empty()) r.headers.set("Retry-After", ex.arena.copy(retryAfter));
    if (!requestId.empty()) r.headers.set("request-id", ex.arena.copy(requestId));
  }

  // A whole answer: read (bounded), counted, translated when the formats differ.
  awaitable<void> wholeAnswer(Exchange& ex, const Backend& b, exchange::AiRecord& record) const {
    exchange::Response& r = ex.response;
    std::string body;
    if (r.body) {
      exchange::ReadResult read = co_await exchange::readBody(*r.body, body, kMaxResponseBody);
      if (read != exchange::ReadResult::Complete) {
        ex.record.errorDetail = "the provider's answer broke off or was too large";
        jsonReply(ex, 502, errorBody(e_.client, 502, "the provider's answer broke off or was too large"));
        co_return;
      }
    }
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec || !v.is_object()) {
      ex.record.errorDetail = "the provider's answer is not JSON";
      jsonReply(ex, 502, errorBody(e_.client, 502, "the provider's answer is not valid JSON"));
      co_return;
    }
    const json::object& answer = v.get_object();
    Usage usage = answerUsage(b, answer);
    if (usage.known) {
      record.inputTokens = usage.input;
      record.outputTokens = usage.output;
      record.usageKnown = true;
      record.estimated = false;
    } else {
      record.outputTokens = std::max<int64_t>(1, estimateTokens(v));  // a server that reports no usage
    }
    record.responseModel = ex.arena.copy(stringField(answer, "model"));
    record.finished = true;
    record.endAt = record.firstTokenAt = std::chrono::steady_clock::now();
    std::optional<json::object> translated = translateAnswer(b, carried(), answer, record.requestModel);
    if (e_.client == Wire::OpenAIResponses) {
      json::object chat = translated ? std::move(*translated) : answer;
      record.finishReason = ex.arena.copy(finishOf(chat, Wire::OpenAIChat));
      if (record.responseModel.empty()) record.responseModel = ex.arena.copy(stringField(chat, "model"));
      translated = chatToResponsesResponse(chat);
    } else if (!translated) {
      record.finishReason = ex.arena.copy(finishOf(answer, e_.client));
      r.headers.remove("Content-Length");
      r.body = ex.arena.make<exchange::OwnedBody>(std::move(body));
      co_return;
    }
    if (record.responseModel.empty()) record.responseModel = ex.arena.copy(stringField(*translated, "model"));
    if (e_.client != Wire::OpenAIResponses) record.finishReason = ex.arena.copy(finishOf(*translated, e_.client));
    r.headers.remove("Content-Length");
    r.headers.remove("Content-Encoding");
    r.headers.set("Content-Type", kJsonType);
    r.body = ex.arena.make<exchange::OwnedBody>(json::serialize(*translated));
  }

  // The format the request travels in: the client's, or Chat Completions for a Responses client.
  Wire carried() const { return e_.client == Wire::OpenAIResponses ? Wire::OpenAIChat : e_.client; }

  static std::string finishOf(const json::object& answer, Wire wire) {
    if (wire == Wire::AnthropicMessages) return std::string(stringField(answer, "stop_reason"));
    const json::value* choices = field(answer, "choices");
    if (!choices || !choices->is_array() || choices->get_array().empty() || !choices->get_array()[0].is_object())
      return {};
    return std::string(stringField(choices->get_array()[0].get_object(), "finish_reason"));
  }

  Endpoint e_;
  HandlerPtr next_;
  mutable std::vector<std::atomic<int64_t>> coolUntil_;  // per backend: set aside until (steady ns)
};

template <Wire client>
MiddlewareFactoryPtr create(const config::Node& node, MiddlewareBuildContext& context) {
  std::optional<Options> options = exchange::decodeOptions<Options>(node, context);
  if (!options) return nullptr;
  std::optional<Endpoint> endpoint = compile(*options, client, context);
  if (!endpoint) return nullptr;
  return exchange::factoryOf<LlmEndpoint>(std::move(*endpoint));
}

const exchange::MiddlewareRegistration kChatCompletion("chat-completion", create<Wire::OpenAIChat>, "ChatCompletion");
const exchange::MiddlewareRegistration kMessagesApi("messages-api", create<Wire::AnthropicMessages>, "MessagesAPI");
const exchange::MiddlewareRegistration kResponsesApi("responses-api", create<Wire::OpenAIResponses>, "ResponsesAPI");

}  // namespace
}  // namespace causeway::gateway::ai
