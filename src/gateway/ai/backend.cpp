#include "gateway/ai/backend.h"

#include <algorithm>
#include <cstring>

#include "gateway/ai/bedrock.h"
#include "gateway/ai/gemini.h"
#include "gateway/ai/secret.h"
#include "gateway/ai/wire.h"

namespace causeway::gateway::ai {

namespace json = boost::json;

std::optional<Backend> compileBackend(const ProviderOptions& o, const std::string& where,
                                      exchange::MiddlewareBuildContext& context) {
  Backend b;
  std::optional<ProviderKind> kind = providerFromName(o.provider);
  if (!kind) {
    context.error(where + "provider: unknown provider \"" + o.provider +
                  "\"; expected one of: openai, azureOpenai, anthropic, mistral, deepSeek, ollama, "
                  "openaiCompatible, gemini, bedrock");
    return std::nullopt;
  }
  b.target.kind = *kind;
  b.target.deploymentName = o.deploymentName;
  b.target.apiVersion = o.apiVersion;
  b.target.anthropicVersion = o.anthropicVersion;
  if (*kind == ProviderKind::AzureOpenAI && o.deploymentName.empty()) {
    context.error(where + "deploymentName: required with provider azureOpenai");
    return std::nullopt;
  }
  if (*kind == ProviderKind::Bedrock) {
    if (o.region.empty()) {
      context.error(where + "region: required with provider bedrock (e.g. us-east-1)");
      return std::nullopt;
    }
    b.target.region = o.region;
    b.target.host = o.host.empty() ? "bedrock-runtime." + o.region + ".amazonaws.com" : o.host;
    if (o.token.empty()) {
      std::string error;
      auto id = resolveSecret(o.awsAccessKeyId, error);
      auto secret = id ? resolveSecret(o.awsSecretAccessKey, error) : std::nullopt;
      if (!id || !secret) {
        context.error(where + "bedrock credentials: " + error + " (set awsAccessKeyId and awsSecretAccessKey, or token)");
        return std::nullopt;
      }
      b.aws.accessKeyId = *id;
      b.aws.secretAccessKey = *secret;
      std::string ignored;
      if (auto session = resolveSecret(o.awsSessionToken, ignored)) b.aws.sessionToken = *session;
    }
  }
  b.wire = providerWire(*kind);
  b.path = chatPath(b.target);
  if (!o.token.empty()) {
    std::string error;
    std::optional<std::string> key = resolveSecret(o.token, error);
    if (!key) {
      context.error(where + "token: " + error);
      return std::nullopt;
    }
    b.key = std::move(*key);
  } else if (*kind != ProviderKind::Ollama && *kind != ProviderKind::OpenAICompatible && *kind != ProviderKind::Bedrock) {
    context.error(where + "token: required with provider " + o.provider + " (env:NAME or file:PATH)");
    return std::nullopt;
  }
  if (o.defaultMaxTokens <= 0) {
    context.error(where + "defaultMaxTokens: must be > 0");
    return std::nullopt;
  }
  b.defaultMaxTokens = o.defaultMaxTokens;
  b.model = o.model;
  return b;
}

namespace {

// `v` serialized straight into the arena (no std::string grown and zero-filled on the way).
std::string_view serializeInto(Arena& arena, const json::object& v, size_t sizeHint) {
  json::serializer out;
  out.reset(&v);
  size_t capacity = std::max<size_t>(sizeHint, 1024), size = 0;
  char* buffer = static_cast<char*>(arena.allocate(capacity, 1));
  while (!out.done()) {
    if (size == capacity) {
      char* bigger = static_cast<char*>(arena.allocate(capacity * 2, 1));
      std::memcpy(bigger, buffer, size);
      buffer = bigger;
      capacity *= 2;
    }
    size += out.read(buffer + size, capacity - size).size();
  }
  return {buffer, size};
}

// The query without its `key=` parameters (Gemini's and Google's key in the URL).
void dropQueryKey(exchange::Exchange& ex) {
  if (!ex.request.hasQuery || ex.request.query.find("key=") == std::string_view::npos) return;
  std::string kept;
  std::string_view rest = ex.request.query;
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view part = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (part == "key" || part.starts_with("key=")) continue;
    if (!kept.empty()) kept += '&';
    kept += part;
  }
  ex.request.query = ex.arena.copy(kept);
  ex.request.hasQuery = !kept.empty();
}

}  // namespace

void swapCredentials(exchange::Exchange& ex, const Backend& b) {
  dropQueryKey(ex);
  http::Headers& h = ex.request.headers;
  for (std::string_view name : {"Authorization", "x-api-key", "api-key", "x-goog-api-key", "X-Amz-Date",
                                "X-Amz-Security-Token"})
    h.remove(name);
  if (b.wire == Wire::AnthropicMessages) {
    if (!h.has("anthropic-version")) h.set("anthropic-version", b.target.anthropicVersion);
    if (!b.key.empty()) h.set("x-api-key", b.key);
    return;
  }
  h.remove("anthropic-version");
  h.remove("anthropic-beta");
  if (b.wire == Wire::Gemini) {
    if (!b.key.empty()) h.set("x-goog-api-key", b.key);
    return;
  }
  if (b.wire == Wire::BedrockConverse) return;  // signForBedrock, once the body is final
  if (b.key.empty()) return;
  if (b.target.kind == ProviderKind::AzureOpenAI) h.set("api-key", b.key);
  else h.set("Authorization", ex.arena.concat({"Bearer ", b.key}));
}

namespace {

// Bedrock: the Host it expects, and either its API key or a SigV4 signature over the body.
void signForBedrock(exchange::Exchange& ex, const Backend& b, std::string_view bytes) {
  ex.request.authority = b.target.host;
  http::Headers& h = ex.request.headers;
  if (!b.key.empty()) {
    h.set("Authorization", ex.arena.concat({"Bearer ", b.key}));
    return;
  }
  std::string query = ex.request.hasQuery ? std::string(ex.request.query) : std::string();
  SignedHeaders signature = signV4(b.aws, b.target.region, "bedrock", "POST", b.target.host, ex.request.path, query,
                                   kJsonType, bytes, std::chrono::system_clock::now());
  h.set("X-Amz-Date", ex.arena.copy(signature.amzDate));
  if (!signature.securityToken.empty()) h.set("X-Amz-Security-Token", ex.arena.copy(signature.securityToken));
  h.set("Authorization", ex.arena.copy(signature.authorization));
}

}  // namespace

bool prepareRequest(exchange::Exchange& ex, const Backend& b, Wire client, json::object& clientRequest,
                    const std::string& model, bool stream, std::string_view originalAuthority, std::string& error) {
  // The model is set on the client's request itself: a later provider of the failover list
  // sets its own. The translators read it without copying it.
  clientRequest["model"] = model;
  json::object translated;
  json::object& upstream = client == b.wire ? clientRequest : translated;
  RequestTranslation options{b.defaultMaxTokens,
                             b.target.kind == ProviderKind::OpenAI || b.target.kind == ProviderKind::AzureOpenAI};
  if (b.wire == Wire::Gemini || b.wire == Wire::BedrockConverse) {
    // Through Chat Completions: the client's request as OpenAI's, then as the provider's.
    json::object converted;
    const json::object* pivot = &clientRequest;
    if (client != Wire::OpenAIChat) {
      if (!anthropicToOpenAIRequest(clientRequest, converted, options, error)) return false;
      pivot = &converted;
    }
    bool ok = b.wire == Wire::Gemini ? openAIToGeminiRequest(*pivot, upstream, error)
                                     : openAIToConverseRequest(*pivot, upstream, error);
    if (!ok) return false;
  } else if (client != b.wire) {
    bool ok = client == Wire::OpenAIChat ? openAIToAnthropicRequest(clientRequest, upstream, options, error)
                                         : anthropicToOpenAIRequest(clientRequest, upstream, options, error);
    if (!ok) return false;
  }
  if (b.wire == Wire::OpenAIChat) {
    if (stream) {
      // Usage in every stream, so that tokens are counted; dropped again for a client that did
      // not ask for it (stream_translate.h).
      json::value& so = upstream["stream_options"];
      if (!so.is_object()) so = json::object(so.storage());
      so.get_object()["include_usage"] = true;
    }
  } else if (b.wire == Wire::AnthropicMessages) {
    if (!field(upstream, "max_tokens")) upstream["max_tokens"] = b.defaultMaxTokens;
    upstream.erase("stream_options");
  }

  std::string_view path = b.path;
  if (b.wire == Wire::Gemini) path = ex.arena.copy(geminiPath(model, stream));
  if (b.wire == Wire::BedrockConverse) path = ex.arena.copy(conversePath(model, stream));
  size_t q = path.find('?');
  exchange::Request& r = ex.request;
  r.path = path.substr(0, q);
  r.hasQuery = q != std::string_view::npos;
  r.query = r.hasQuery ? path.substr(q + 1) : std::string_view();
  r.authority = originalAuthority;
  // About the client's body's size (its declared length), when known.
  std::optional<uint64_t> clientLength = ex.request.body ? ex.request.body->length() : std::nullopt;
  std::string_view body = serializeInto(ex.arena, upstream, clientLength ? size_t(std::min<uint64_t>(*clientLength, 16 << 20)) + 512 : 4096);
  r.body = ex.arena.make<exchange::MemoryBody>(body);
  r.headers.remove("Transfer-Encoding");
  r.headers.remove("Accept-Encoding");  // the answer is read here
  r.headers.set("Content-Type", kJsonType);
  r.headers.set("Accept", stream ? (b.wire == Wire::BedrockConverse ? kAwsEventStreamType : kEventStreamType) : kJsonType);
  swapCredentials(ex, b);
  if (b.wire == Wire::BedrockConverse) signForBedrock(ex, b, body);
  return true;
}

std::unique_ptr<StreamTranslator> streamTranslatorFor(const Backend& b, Wire client, const std::string& model,
                                                      bool clientWantsUsage) {
  auto pivot = [&](bool wantsUsage) {
    return b.wire == Wire::Gemini ? makeGeminiToOpenAIStream(model, wantsUsage)
                                  : makeConverseToOpenAIStream(model, wantsUsage);
  };
  if (b.wire != Wire::Gemini && b.wire != Wire::BedrockConverse)
    return makeStreamTranslator(b.wire, client, clientWantsUsage);
  if (client == Wire::OpenAIChat) return pivot(clientWantsUsage);
  return chainStreams(pivot(true), makeStreamTranslator(Wire::OpenAIChat, Wire::AnthropicMessages, false));
}

Usage answerUsage(const Backend& b, const json::object& answer) {
  if (b.wire == Wire::Gemini) return geminiUsage(field(answer, "usageMetadata"));
  if (b.wire == Wire::BedrockConverse) return converseUsage(field(answer, "usage"));
  return usageOf(b.wire, field(answer, "usage"));
}

std::optional<json::object> translateAnswer(const Backend& b, Wire client, const json::object& answer,
                                            std::string_view model) {
  if (b.wire == client) return std::nullopt;
  if (b.wire == Wire::Gemini || b.wire == Wire::BedrockConverse) {
    json::object openai = b.wire == Wire::Gemini ? geminiToOpenAIResponse(answer, model)
                                                 : converseToOpenAIResponse(answer, model);
    if (client == Wire::AnthropicMessages) return openAIToAnthropicResponse(openai);
    return openai;
  }
  return client == Wire::OpenAIChat ? anthropicToOpenAIResponse(answer) : openAIToAnthropicResponse(answer);
}

}  // namespace causeway::gateway::ai
