#include "gateway/ai/provider.h"

#include "core/strings.h"

namespace causeway::gateway::ai {

namespace {
struct Entry {
  std::string_view name;
  ProviderKind kind;
};
constexpr Entry kProviders[] = {
    {"openai", ProviderKind::OpenAI},       {"azureOpenai", ProviderKind::AzureOpenAI},
    {"anthropic", ProviderKind::Anthropic}, {"mistral", ProviderKind::Mistral},
    {"deepSeek", ProviderKind::DeepSeek},   {"ollama", ProviderKind::Ollama},
    {"openaiCompatible", ProviderKind::OpenAICompatible}, {"gemini", ProviderKind::Gemini},
    {"bedrock", ProviderKind::Bedrock},
};
}  // namespace

std::optional<ProviderKind> providerFromName(std::string_view name) {
  for (const Entry& e : kProviders)
    if (iequals(e.name, name)) return e.kind;
  return std::nullopt;
}

std::string_view providerName(ProviderKind kind) {
  switch (kind) {
  case ProviderKind::OpenAI: return "openai";
  case ProviderKind::AzureOpenAI: return "azure.ai.openai";
  case ProviderKind::Anthropic: return "anthropic";
  case ProviderKind::Mistral: return "mistral_ai";
  case ProviderKind::DeepSeek: return "deepseek";
  case ProviderKind::Ollama: return "ollama";
  case ProviderKind::OpenAICompatible: return "openai_compatible";
  case ProviderKind::Gemini: return "gcp.gemini";
  case ProviderKind::Bedrock: return "aws.bedrock";
  }
  return "openai";
}

Wire providerWire(ProviderKind kind) {
  if (kind == ProviderKind::Anthropic) return Wire::AnthropicMessages;
  if (kind == ProviderKind::Gemini) return Wire::Gemini;
  if (kind == ProviderKind::Bedrock) return Wire::BedrockConverse;
  return Wire::OpenAIChat;
}

std::string chatPath(const ProviderTarget& target) {
  switch (target.kind) {
  case ProviderKind::AzureOpenAI:
    return "/openai/deployments/" + target.deploymentName + "/chat/completions?api-version=" +
           target.apiVersion;
  case ProviderKind::Anthropic: return "/v1/messages";
  case ProviderKind::DeepSeek: return "/chat/completions";
  default: return "/v1/chat/completions";
  }
}

}  // namespace causeway::gateway::ai
