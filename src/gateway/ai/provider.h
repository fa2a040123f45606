// The model providers a protocol middleware can send to: which wire format each speaks, the
// path a chat request goes to, and how the provider key travels. The service behind the
// router holds the provider's address (https://api.openai.com, http://127.0.0.1:11434 …);
// the middleware sets the path, the key and the body.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "gateway/ai/wire.h"

namespace causeway::gateway::ai {

enum class ProviderKind {
  OpenAI,            // POST /v1/chat/completions, Authorization: Bearer
  AzureOpenAI,       // POST /openai/deployments/{deployment}/chat/completions?api-version=…, api-key
  Anthropic,         // POST /v1/messages, x-api-key + anthropic-version
  Mistral,           // OpenAI format at /v1/chat/completions
  DeepSeek,          // OpenAI format at /chat/completions (also served under /v1)
  Ollama,            // Ollama's OpenAI-compatible endpoint, /v1/chat/completions
  OpenAICompatible,  // vLLM, llama.cpp server, LM Studio …: /v1/chat/completions
  Gemini,            // POST /v1beta/models/{model}:generateContent (streams: streamGenerateContent), x-goog-api-key
  Bedrock,           // POST /model/{model}/converse (streams: converse-stream), SigV4 or a Bedrock API key
};

// From the configuration's name ("openai", "azureOpenai", "anthropic", "mistral",
// "deepSeek", "ollama", "openaiCompatible", "gemini"; case-insensitive).
std::optional<ProviderKind> providerFromName(std::string_view name);
std::string_view providerName(ProviderKind kind);  // gen_ai.provider.name
Wire providerWire(ProviderKind kind);

struct ProviderTarget {
  ProviderKind kind = ProviderKind::OpenAI;
  std::string deploymentName;  // Azure
  std::string apiVersion = "2024-10-21";  // Azure
  std::string anthropicVersion = "2023-06-01";
  std::string region;  // Bedrock
  std::string host;    // Bedrock: the Host signed and sent (bedrock-runtime.<region>.amazonaws.com)
};

// The path (with query, if any) a chat request is sent to (Gemini's depends on the model and
// on streaming: gemini.h, geminiPath).
std::string chatPath(const ProviderTarget& target);

}  // namespace causeway::gateway::ai
