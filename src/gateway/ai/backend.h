// One provider an LLM endpoint can send to (the primary, or a fallback): who it is, where its
// chat requests go and with what key, and the per-provider steps of a call: the request in the
// provider's format, the answer (whole or streamed) back in the client's.
#pragma once

#include <boost/json.hpp>
#include <memory>
#include <optional>
#include <string>

#include "config/duration.h"
#include "exchange/exchange.h"
#include "exchange/middleware_registry.h"
#include "gateway/ai/provider.h"
#include "gateway/ai/sigv4.h"
#include "gateway/ai/stream_translate.h"
#include "gateway/ai/translate.h"

namespace causeway::gateway::ai {

// The options that name a provider (top level of chat-completion / messages-api, and each
// entry of `fallbacks`, which also names its `service`).
struct ProviderOptions {
  std::string provider = "openai";
  std::string token;
  std::string model;
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

struct Backend {
  std::string name;  // "primary" or the fallback's service
  ProviderTarget target;
  Wire wire = Wire::OpenAIChat;
  std::string path;
  std::string key;
  std::string model;  // the model this provider gets (empty: the request's)
  AwsCredentials aws;  // Bedrock without a token: SigV4
  int64_t defaultMaxTokens = 4096;
  exchange::ServiceRefPtr service;  // null: the router's own service
};

// nullopt after reporting to `context`; `where` prefixes the option names ("fallbacks[0].").
std::optional<Backend> compileBackend(const ProviderOptions& o, const std::string& where,
                                      exchange::MiddlewareBuildContext& context);

// The client's credentials (Authorization, x-api-key, api-key, x-goog-api-key, AWS headers,
// and Gemini's `key` query parameter) replaced by `b`'s key in `b`'s header. Bedrock is signed
// by prepareRequest, once the body is final; here it only loses the client's credentials.
void swapCredentials(exchange::Exchange& ex, const Backend& b);

// Sets up ex.request for `b`: the client's request (already with params) translated to the
// provider's format, its path, body, key and (Bedrock) signature. False with `error` when the
// request cannot be expressed for this provider. `clientRequest` gets `model`; when the provider
// speaks the client's format it is also edited in place (stream_options or max_tokens) rather
// than copied. A later provider of the failover list sets its own model again.
bool prepareRequest(exchange::Exchange& ex, const Backend& b, Wire client, boost::json::object& clientRequest,
                    const std::string& model, bool stream, std::string_view originalAuthority, std::string& error);

// The translator of `b`'s streamed answer into the client's format.
std::unique_ptr<StreamTranslator> streamTranslatorFor(const Backend& b, Wire client, const std::string& model,
                                                      bool clientWantsUsage);
// A whole answer of `b`: its usage, and the answer in the client's format (nullopt when the
// formats are the same and the bytes can go as they are).
Usage answerUsage(const Backend& b, const boost::json::object& answer);
std::optional<boost::json::object> translateAnswer(const Backend& b, Wire client, const boost::json::object& answer,
                                                   std::string_view model);

}  // namespace causeway::gateway::ai
