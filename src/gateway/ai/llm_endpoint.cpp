// The protocol middlewares of the AI gateway: a router becomes an LLM endpoint by carrying one.
//   chat-completion   the client speaks OpenAI Chat Completions
//   messages-api      the client speaks Anthropic Messages
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
// The request body is read once, checked, rewritten for the provider (model, params, format)
// and sent with the provider's key in place of the client's credentials. The answer comes back
// in the client's format: whole answers are translated at once, streams event by event
// (stream_body.h). Errors, from causeway or from the provider, reach the client in its own
// format with the provider's status and Retry-After. docs/ai-gateway.md is the reference.
#include <algorithm>

#include <boost/json.hpp>

#include "core/log.h"
#include "exchange/ai_record.h"
#include "gateway/ai/bedrock.h"
#include "gateway/ai/gemini.h"
#include "gateway/ai/sigv4.h"
#include "gateway/ai/provider.h"
#include "gateway/ai/secret.h"
#include "gateway/ai/stream_body.h"
#include "gateway/ai/translate.h"
#include "exchange/middleware_options.h"

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

struct Options {
  std::string provider = "openai";
  std::string token;
  std::string model;
  std::optional<bool> allowModelOverride;
  bool allowParamsOverride = false;
  Params params;
  std::map<std::string, std::string> modelAliases;
  int64_t maxRequestBodySize = kDefaultMaxRequestBody;
  std::string deploymentName;
  std::string apiVersion = "2024-10-21";
  std::string anthropicVersion = "2023-06-01";
  int64_t defaultMaxTokens = 4096;
  std::string region;
  std::string host;
  std::string awsAccessKeyId = "env:AWS_ACCESS_KEY_ID";
  std::string awsSecretAccessKey = "env:AWS_SECRET_ACCESS_KEY";
  std::string awsSessionToken = "env:AWS_SESSION_TOKEN";

  static void describe(auto& self, auto& v) {
    v("provider", self.provider);
    v("token", self.token);
    v("model", self.model);
    v("allowModelOverride", self.allowModelOverride);
    v("allowParamsOverride", self.allowParamsOverride);
    v("params", self.params);
    v("modelAliases", self.modelAliases);
    v("maxRequestBodySize", self.maxRequestBodySize);
    v("deploymentName", self.deploymentName);
    v("apiVersion", self.apiVersion);
    v("anthropicVersion", self.anthropicVersion);
    v("defaultMaxTokens", self.defaultMaxTokens);
    v("region", self.region);
    v("host", self.host);
    v("awsAccessKeyId", self.awsAccessKeyId);
    v("awsSecretAccessKey", self.awsSecretAccessKey);
    v("awsSessionToken", self.awsSessionToken);
  }
};

// What a middleware compiled from its options.
struct Endpoint {
  Wire client = Wire::OpenAIChat;
  ProviderTarget target;
  Wire providerWire = Wire::OpenAIChat;
  std::string path;
  std::string key;
  std::string model;
  bool allowModelOverride = true;
  bool allowParamsOverride = false;
  Params params;
  std::map<std::string, std::string> modelAliases;
  int64_t maxRequestBodySize = kDefaultMaxRequestBody;
  int64_t defaultMaxTokens = 4096;
  AwsCredentials aws;  // Bedrock without a token: SigV4
};

std::optional<Endpoint> compile(const Options& o, Wire client, MiddlewareBuildContext& context) {
  Endpoint e;
  e.client = client;
  std::optional<ProviderKind> kind = providerFromName(o.provider);
  if (!kind) {
    context.error("provider: unknown provider \"" + o.provider +
                  "\"; expected one of: openai, azureOpenai, anthropic, mistral, deepSeek, ollama, openaiCompatible, gemini, bedrock");
    return std::nullopt;
  }
  e.target.kind = *kind;
  e.target.deploymentName = o.deploymentName;
  e.target.apiVersion = o.apiVersion;
  e.target.anthropicVersion = o.anthropicVersion;
  if (*kind == ProviderKind::AzureOpenAI && o.deploymentName.empty()) {
    context.error("deploymentName: required with provider azureOpenai");
    return std::nullopt;
  }
  if (*kind == ProviderKind::Bedrock) {
    if (o.region.empty()) {
      context.error("region: required with provider bedrock (e.g. us-east-1)");
      return std::nullopt;
    }
    e.target.region = o.region;
    e.target.host = o.host.empty() ? "bedrock-runtime." + o.region + ".amazonaws.com" : o.host;
    if (o.token.empty()) {
      std::string error;
      auto id = resolveSecret(o.awsAccessKeyId, error);
      auto secret = id ? resolveSecret(o.awsSecretAccessKey, error) : std::nullopt;
      if (!id || !secret) {
        context.error("bedrock credentials: " + error + " (set awsAccessKeyId and awsSecretAccessKey, or token)");
        return std::nullopt;
      }
      e.aws.accessKeyId = *id;
      e.aws.secretAccessKey = *secret;
      std::string ignored;
      if (auto session = resolveSecret(o.awsSessionToken, ignored)) e.aws.sessionToken = *session;
    }
  }
  e.providerWire = providerWire(*kind);
  e.path = chatPath(e.target);
  if (!o.token.empty()) {
    std::string error;
    std::optional<std::string> key = resolveSecret(o.token, error);
    if (!key) {
      context.error("token: " + error);
      return std::nullopt;
    }
    e.key = std::move(*key);
  } else if (*kind != ProviderKind::Ollama && *kind != ProviderKind::OpenAICompatible && *kind != ProviderKind::Bedrock) {
    context.error("token: required with provider " + o.provider + " (env:NAME or file:PATH)");
    return std::nullopt;
  }
  if (o.maxRequestBodySize <= 0) {
    context.error("maxRequestBodySize: must be > 0");
    return std::nullopt;
  }
  if (o.defaultMaxTokens <= 0) {
    context.error("defaultMaxTokens: must be > 0");
    return std::nullopt;
  }
  e.model = o.model;
  // Traefik Hub's "auto": overrides are allowed when no model is configured.
  e.allowModelOverride = o.allowModelOverride.value_or(o.model.empty());
  e.allowParamsOverride = o.allowParamsOverride;
  e.params = o.params;
  e.modelAliases = o.modelAliases;
  e.maxRequestBodySize = o.maxRequestBodySize;
  e.defaultMaxTokens = o.defaultMaxTokens;
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

class LlmEndpoint final : public Handler {
 public:
  LlmEndpoint(const Endpoint& e, HandlerPtr next, const WrapContext&) : e_(e), next_(std::move(next)) {}

  awaitable<void> handle(Exchange& ex) const override {
    auto* record = ex.arena.make<exchange::AiRecord>();
    record->provider = providerName(e_.target.kind);
    record->clientFormat = wireName(e_.client);
    ex.record.ai = record;
    if (ex.request.method != "POST" || ex.request.path.ends_with("/count_tokens") ||
        ex.request.path.ends_with("/embeddings")) {
      // Anything but a completion (a model list, token counting, embeddings) goes through as
      // it is, with the provider's key.
      swapCredentials(ex);
      co_await next_->handle(ex);
      co_return;
    }

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
    json::value parsed = json::parse(body, ec);
    if (ec) co_return reject(ex, 400, "the request body is not valid JSON: " + ec.message());
    if (!parsed.is_object()) co_return reject(ex, 400, "the request body must be a JSON object");
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
    record->requestModel = ex.arena.copy(model);
    record->stream = stream;
    int64_t estimatedInput = estimateTokens(parsed);
    record->inputTokens = estimatedInput;
    record->estimated = true;

    // 3. The provider's format.
    json::object upstream;
    std::string error;
    RequestTranslation options{e_.defaultMaxTokens, e_.target.kind == ProviderKind::OpenAI ||
                                                        e_.target.kind == ProviderKind::AzureOpenAI};
    if (e_.providerWire == Wire::Gemini || e_.providerWire == Wire::BedrockConverse) {
      // Through Chat Completions: the client's request as OpenAI's, then as the provider's.
      json::object pivot;
      if (e_.client == Wire::OpenAIChat) pivot = std::move(request);
      else if (!anthropicToOpenAIRequest(request, pivot, options, error)) co_return reject(ex, 400, error);
      bool translated = e_.providerWire == Wire::Gemini ? openAIToGeminiRequest(pivot, upstream, error)
                                                        : openAIToConverseRequest(pivot, upstream, error);
      if (!translated) co_return reject(ex, 400, error);
    } else if (e_.client == e_.providerWire) {
      upstream = std::move(request);
    } else if (e_.client == Wire::OpenAIChat) {
      if (!openAIToAnthropicRequest(request, upstream, options, error)) co_return reject(ex, 400, error);
    } else {
      if (!anthropicToOpenAIRequest(request, upstream, options, error)) co_return reject(ex, 400, error);
    }
    if (e_.providerWire == Wire::OpenAIChat) {
      if (stream) {
        // Usage in every stream, so that tokens are counted; dropped again for a client that
        // did not ask for it (stream_translate.h).
        json::object so;
        if (const json::value* old = field(upstream, "stream_options"); old && old->is_object()) so = old->get_object();
        so["include_usage"] = true;
        upstream["stream_options"] = std::move(so);
      }
    } else if (e_.providerWire == Wire::AnthropicMessages) {
      if (!field(upstream, "max_tokens")) upstream["max_tokens"] = e_.defaultMaxTokens;
      upstream.erase("stream_options");
    }

    // 4. The request as the provider gets it.
    std::string_view path = e_.path;
    if (e_.providerWire == Wire::Gemini) path = ex.arena.copy(geminiPath(model, stream));
    if (e_.providerWire == Wire::BedrockConverse) path = ex.arena.copy(conversePath(model, stream));
    size_t q = path.find('?');
    ex.request.path = path.substr(0, q);
    ex.request.hasQuery = q != std::string_view::npos;
    ex.request.query = ex.request.hasQuery ? path.substr(q + 1) : std::string_view();
    std::string_view upstreamBody = ex.arena.copy(json::serialize(upstream));
    ex.request.body = ex.arena.make<exchange::MemoryBody>(upstreamBody);
    ex.request.headers.remove("Transfer-Encoding");
    ex.request.headers.remove("Accept-Encoding");  // the answer is read here
    ex.request.headers.set("Content-Type", kJsonType);
    ex.request.headers.set("Accept", stream ? (e_.providerWire == Wire::BedrockConverse ? kAwsEventStreamType : kEventStreamType)
                                            : kJsonType);
    swapCredentials(ex);
    if (e_.providerWire == Wire::BedrockConverse) signForBedrock(ex, upstreamBody);

    co_await next_->handle(ex);

    // 5. The answer in the client's format.
    exchange::Response& r = ex.response;
    if (r.tunnel) co_return;
    if (r.status >= 400 || r.status < 200) {
      co_await providerError(ex);
      co_return;
    }
    std::string_view contentType = r.headers.get("Content-Type");
    bool awsEvents = contentType.starts_with(kAwsEventStreamType);
    if (stream && (contentType.starts_with(kEventStreamType) || awsEvents)) {
      ex.response.body = ex.arena.make<TranslatedStream>(
          r.body, streamTranslator(model, clientWantsUsage), *record, estimatedInput,
          awsEvents ? std::make_unique<AwsEventStreamParser>() : std::unique_ptr<EventFramer>());
      r.headers.remove("Content-Length");
      r.headers.set("Content-Type", "text/event-stream; charset=utf-8");
      r.headers.set("Cache-Control", "no-cache");
      r.headers.set("X-Accel-Buffering", "no");
      co_return;
    }
    co_await wholeAnswer(ex, *record, stream, clientWantsUsage);
  }

 private:
  std::unique_ptr<StreamTranslator> streamTranslator(const std::string& model, bool clientWantsUsage) const {
    auto pivot = [&](bool wantsUsage) {
      return e_.providerWire == Wire::Gemini ? makeGeminiToOpenAIStream(model, wantsUsage)
                                             : makeConverseToOpenAIStream(model, wantsUsage);
    };
    if (e_.providerWire != Wire::Gemini && e_.providerWire != Wire::BedrockConverse)
      return makeStreamTranslator(e_.providerWire, e_.client, clientWantsUsage);
    if (e_.client == Wire::OpenAIChat) return pivot(clientWantsUsage);
    return chainStreams(pivot(true), makeStreamTranslator(Wire::OpenAIChat, Wire::AnthropicMessages, false));
  }

  // Bedrock: the Host it expects, and either its API key or a SigV4 signature over the body.
  void signForBedrock(Exchange& ex, std::string_view bytes) const {
    ex.request.authority = e_.target.host;
    http::Headers& h = ex.request.headers;
    if (!e_.key.empty()) {
      h.set("Authorization", ex.arena.concat({"Bearer ", e_.key}));
      return;
    }
    std::string query = ex.request.hasQuery ? std::string(ex.request.query) : std::string();
    SignedHeaders signature = signV4(e_.aws, e_.target.region, "bedrock", "POST", e_.target.host, ex.request.path,
                                     query, kJsonType, bytes, std::chrono::system_clock::now());
    h.set("X-Amz-Date", ex.arena.copy(signature.amzDate));
    if (!signature.securityToken.empty()) h.set("X-Amz-Security-Token", ex.arena.copy(signature.securityToken));
    h.set("Authorization", ex.arena.copy(signature.authorization));
  }

  void applyParams(json::object& request) const {
    const bool openAI = e_.client == Wire::OpenAIChat;
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

  // The client's credentials stay here; the provider gets its own key.
  void swapCredentials(Exchange& ex) const {
    http::Headers& h = ex.request.headers;
    h.remove("Authorization");
    h.remove("x-api-key");
    h.remove("api-key");
    h.remove("x-goog-api-key");
    if (e_.providerWire == Wire::AnthropicMessages) {
      if (!h.has("anthropic-version")) h.set("anthropic-version", e_.target.anthropicVersion);
      if (!e_.key.empty()) h.set("x-api-key", e_.key);
      return;
    }
    h.remove("anthropic-version");
    h.remove("anthropic-beta");
    if (e_.providerWire == Wire::Gemini) {
      if (!e_.key.empty()) h.set("x-goog-api-key", e_.key);
      return;
    }
    if (e_.providerWire == Wire::BedrockConverse) return;  // signForBedrock, once the body is final
    if (e_.key.empty()) return;
    if (e_.target.kind == ProviderKind::AzureOpenAI) h.set("api-key", e_.key);
    else h.set("Authorization", ex.arena.concat({"Bearer ", e_.key}));
  }

  // An error in the client's format; nothing reaches the provider.
  void reject(Exchange& ex, int status, std::string_view message) const {
    ex.record.errorDetail = ex.arena.copy(message);
    reply(ex, status, errorBody(e_.client, status, message));
  }

  static void reply(Exchange& ex, int status, std::string body) {
    exchange::Response& r = ex.response;
    r.status = status;
    r.reason = {};
    r.headers.clear();
    r.headers.add("Content-Type", kJsonType);
    r.body = ex.arena.make<exchange::OwnedBody>(std::move(body));
    r.tunnel = nullptr;
  }

  // A failed answer: the provider's (translated when the formats differ) or causeway's own
  // (502/503/504 when the provider could not be reached).
  awaitable<void> providerError(Exchange& ex) const {
    exchange::Response& r = ex.response;
    int status = r.status;
    std::string body;
    if (r.body) co_await exchange::readBody(*r.body, body, kMaxErrorBody);
    std::string_view retryAfter = r.headers.get("Retry-After");
    std::string_view requestId = r.headers.get("request-id");
    if (requestId.empty()) requestId = r.headers.get("x-request-id");
    if (ex.record.originStatus == 0) {
      // causeway answered (no server reachable, timeout …): say so in the client's format.
      std::string message = "the provider could not be reached: " + errorMessageOf(body);
      if (status < 400) status = 502;
      reply(ex, status, errorBody(e_.client, status, message));
    } else if (e_.providerWire == e_.client && !body.empty() && body.front() == '{') {
      r.headers.remove("Content-Length");
      r.headers.remove("Content-Encoding");
      r.body = ex.arena.make<exchange::OwnedBody>(std::move(body));
      co_return;
    } else {
      // The error types differ between the formats: the client's type for the status.
      int clientStatus = status == 529 && e_.client == Wire::OpenAIChat ? 503 : status;
      reply(ex, clientStatus, errorBody(e_.client, clientStatus, errorMessageOf(body)));
    }
    if (!retryAfter.empty()) r.headers.set("Retry-After", ex.arena.copy(retryAfter));
    if (!requestId.empty()) r.headers.set("request-id", ex.arena.copy(requestId));
  }

  // A whole answer: read (bounded), counted, translated when the formats differ.
  awaitable<void> wholeAnswer(Exchange& ex, exchange::AiRecord& record, bool stream, bool clientWantsUsage) const {
    exchange::Response& r = ex.response;
    std::string body;
    if (r.body) {
      exchange::ReadResult read = co_await exchange::readBody(*r.body, body, kMaxResponseBody);
      if (read != exchange::ReadResult::Complete) {
        ex.record.errorDetail = "the provider's answer broke off or was too large";
        reply(ex, 502, errorBody(e_.client, 502, "the provider's answer broke off or was too large"));
        ex.response.closeConnection = false;
        co_return;
      }
    }
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec || !v.is_object()) {
      ex.record.errorDetail = "the provider's answer is not JSON";
      reply(ex, 502, errorBody(e_.client, 502, "the provider's answer is not valid JSON"));
      co_return;
    }
    const json::object& answer = v.get_object();
    Usage usage = e_.providerWire == Wire::Gemini            ? geminiUsage(field(answer, "usageMetadata"))
                  : e_.providerWire == Wire::BedrockConverse ? converseUsage(field(answer, "usage"))
                                                             : usageOf(e_.providerWire, field(answer, "usage"));
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
    if (e_.providerWire == e_.client) {
      record.finishReason = ex.arena.copy(finishOf(answer, e_.client));
      r.headers.remove("Content-Length");
      r.body = ex.arena.make<exchange::OwnedBody>(std::move(body));
      co_return;
    }
    json::object translated;
    if (e_.providerWire == Wire::Gemini || e_.providerWire == Wire::BedrockConverse) {
      translated = e_.providerWire == Wire::Gemini ? geminiToOpenAIResponse(answer, record.requestModel)
                                                   : converseToOpenAIResponse(answer, record.requestModel);
      if (e_.client == Wire::AnthropicMessages) translated = openAIToAnthropicResponse(translated);
    } else {
      translated = e_.client == Wire::OpenAIChat ? anthropicToOpenAIResponse(answer) : openAIToAnthropicResponse(answer);
    }
    if (record.responseModel.empty()) record.responseModel = ex.arena.copy(stringField(translated, "model"));
    record.finishReason = ex.arena.copy(finishOf(translated, e_.client));
    r.headers.remove("Content-Length");
    r.headers.remove("Content-Encoding");
    r.headers.set("Content-Type", kJsonType);
    r.body = ex.arena.make<exchange::OwnedBody>(json::serialize(translated));
  }

  static std::string finishOf(const json::object& answer, Wire wire) {
    if (wire == Wire::AnthropicMessages) return std::string(stringField(answer, "stop_reason"));
    const json::value* choices = field(answer, "choices");
    if (!choices || !choices->is_array() || choices->get_array().empty() || !choices->get_array()[0].is_object())
      return {};
    return std::string(stringField(choices->get_array()[0].get_object(), "finish_reason"));
  }

  Endpoint e_;
  HandlerPtr next_;
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

}  // namespace
}  // namespace causeway::gateway::ai
