#include "gateway/ai/wire.h"

#include <boost/json.hpp>

namespace causeway::gateway::ai {

std::string_view wireName(Wire wire) {
  switch (wire) {
  case Wire::OpenAIChat: return "openai";
  case Wire::AnthropicMessages: return "anthropic";
  case Wire::Gemini: return "gemini";
  case Wire::BedrockConverse: return "bedrock";
  case Wire::OpenAIResponses: return "openai.responses";
  }
  return "openai";
}

std::string_view errorType(Wire wire, int status) {
  const bool anthropic = wire == Wire::AnthropicMessages;
  switch (status) {
  case 400: return "invalid_request_error";
  case 401: return "authentication_error";
  case 403: return "permission_error";
  case 404: return anthropic ? "not_found_error" : "invalid_request_error";
  case 413: return anthropic ? "request_too_large" : "invalid_request_error";
  case 429: return "rate_limit_error";
  case 503:
  case 529: return anthropic ? "overloaded_error" : "api_error";
  default: return status >= 500 ? "api_error" : "invalid_request_error";
  }
}

std::string errorBody(Wire wire, int status, std::string_view message, std::string_view type) {
  if (type.empty()) type = errorType(wire, status);
  boost::json::object error;
  if (wire != Wire::AnthropicMessages) {
    error["message"] = message;
    error["type"] = type;
    error["param"] = nullptr;
    error["code"] = nullptr;
    return boost::json::serialize(boost::json::object{{"error", std::move(error)}});
  }
  error["type"] = type;
  error["message"] = message;
  return boost::json::serialize(boost::json::object{{"type", "error"}, {"error", std::move(error)}});
}

void appendEvent(std::string& out, std::string_view name, std::string_view data) {
  if (!name.empty()) {
    out += "event: ";
    out += name;
    out += '\n';
  }
  out += "data: ";
  out += data;
  out += "\n\n";
}

}  // namespace causeway::gateway::ai
