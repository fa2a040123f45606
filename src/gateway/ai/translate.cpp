// OpenAI Chat Completions ⇄ Anthropic Messages, whole messages. The mapping (docs/ai-gateway.md):
//   system/developer messages ⇄ top-level system; tool role messages ⇄ tool_result blocks in a
//   user turn; assistant tool_calls ⇄ tool_use blocks (arguments string ⇄ input object);
//   image_url parts ⇄ image blocks (data: URLs ⇄ base64 sources); stop ⇄ stop_sequences;
//   max_completion_tokens/max_tokens ⇄ max_tokens (Anthropic requires one: a default is used);
//   tools[].function.parameters ⇄ input_schema; tool_choice required ⇄ any;
//   parallel_tool_calls=false ⇄ disable_parallel_tool_use; user ⇄ metadata.user_id.
#include "gateway/ai/translate.h"

#include <algorithm>
#include <chrono>

namespace causeway::gateway::ai {

namespace json = boost::json;

int64_t integerOf(const json::value* v) {
  if (!v) return 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return v->get_uint64() > uint64_t(INT64_MAX) ? INT64_MAX : int64_t(v->get_uint64());
  if (v->is_double()) {
    double d = v->get_double();
    if (!(d == d)) return 0;  // NaN
    if (d >= 9.2e18) return INT64_MAX;
    if (d <= -9.2e18) return INT64_MIN;
    return int64_t(d);
  }
  return 0;
}

int64_t tokenCountOf(const json::value* v) {
  return std::clamp<int64_t>(integerOf(v), 0, 1'000'000'000'000);
}

const json::value* field(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it == o.end() ? nullptr : &it->value();
}

std::string_view stringField(const json::object& o, std::string_view key) {
  const json::value* v = field(o, key);
  if (!v || !v->is_string()) return {};
  return v->get_string();
}

namespace {

const json::object* objectField(const json::object& o, std::string_view key) {
  const json::value* v = field(o, key);
  return v && v->is_object() ? &v->get_object() : nullptr;
}

const json::array* arrayField(const json::object& o, std::string_view key) {
  const json::value* v = field(o, key);
  return v && v->is_array() ? &v->get_array() : nullptr;
}


void copyIf(const json::object& in, std::string_view from, json::object& out, std::string_view to) {
  if (const json::value* v = field(in, from); v && !v->is_null()) out[to] = *v;
}

// The text of an OpenAI content value: a string, or the text parts of an array.
std::string openAIText(const json::value* content) {
  if (!content) return {};
  if (content->is_string()) return std::string(content->get_string());
  std::string text;
  if (content->is_array()) {
    for (const json::value& part : content->get_array()) {
      if (!part.is_object()) continue;
      if (stringField(part.get_object(), "type") == "text") {
        if (!text.empty()) text += '\n';
        text += stringField(part.get_object(), "text");
      }
    }
  }
  return text;
}

// The text of an Anthropic content value (a string or blocks).
std::string anthropicText(const json::value* content) {
  return openAIText(content);  // same shapes: a string, or blocks with type "text"
}

// An OpenAI image_url part as an Anthropic image block.
json::object imageBlock(std::string_view url) {
  json::object source;
  constexpr std::string_view kData = "data:";
  size_t comma = url.find(',');
  if (url.substr(0, kData.size()) == kData && comma != std::string_view::npos) {
    std::string_view meta = url.substr(kData.size(), comma - kData.size());  // image/png;base64
    size_t semi = meta.find(';');
    source["type"] = "base64";
    source["media_type"] = meta.substr(0, semi);
    source["data"] = url.substr(comma + 1);
  } else {
    source["type"] = "url";
    source["url"] = url;
  }
  return json::object{{"type", "image"}, {"source", std::move(source)}};
}

// OpenAI user/assistant content → Anthropic blocks.
json::array anthropicBlocks(const json::value* content) {
  json::array blocks;
  if (!content) return blocks;
  if (content->is_string()) {
    if (!content->get_string().empty())
      blocks.push_back(json::object{{"type", "text"}, {"text", content->get_string()}});
    return blocks;
  }
  if (!content->is_array()) return blocks;
  for (const json::value& part : content->get_array()) {
    if (!part.is_object()) continue;
    const json::object& p = part.get_object();
    std::string_view type = stringField(p, "type");
    if (type == "text") {
      blocks.push_back(json::object{{"type", "text"}, {"text", stringField(p, "text")}});
    } else if (type == "image_url") {
      const json::object* image = objectField(p, "image_url");
      if (image) blocks.push_back(imageBlock(stringField(*image, "url")));
    }
  }
  return blocks;
}

// Appends `blocks` to the last message if it has `role`, else starts a new message: Anthropic
// wants user and assistant turns to alternate.
void appendTurn(json::array& messages, std::string_view role, json::array blocks) {
  if (blocks.empty()) return;
  if (!messages.empty()) {
    json::object& last = messages.back().as_object();
    if (stringField(last, "role") == role) {
      json::array& existing = last["content"].as_array();
      for (json::value& b : blocks) existing.push_back(std::move(b));
      return;
    }
  }
  messages.push_back(json::object{{"role", role}, {"content", std::move(blocks)}});
}

json::value parseArguments(std::string_view arguments) {
  boost::system::error_code ec;
  json::value v = json::parse(arguments, ec);
  if (ec || !v.is_object()) return json::object{};
  return v;
}

}  // namespace

bool openAIToAnthropicRequest(const json::object& in, json::object& out,
                              const RequestTranslation& options, std::string& error) {
  const json::array* messages = arrayField(in, "messages");
  if (!messages) {
    error = "'messages' is required and must be an array";
    return false;
  }
  copyIf(in, "model", out, "model");
  std::string system;
  json::array turns;
  for (const json::value& m : *messages) {
    if (!m.is_object()) {
      error = "each message must be an object";
      return false;
    }
    const json::object& message = m.get_object();
    std::string_view role = stringField(message, "role");
    const json::value* content = field(message, "content");
    if (role == "system" || role == "developer") {
      if (!system.empty()) system += '\n';
      system += openAIText(content);
    } else if (role == "user") {
      appendTurn(turns, "user", anthropicBlocks(content));
    } else if (role == "assistant") {
      json::array blocks = anthropicBlocks(content);
      if (const json::array* calls = arrayField(message, "tool_calls")) {
        for (const json::value& c : *calls) {
          if (!c.is_object()) continue;
          const json::object* function = objectField(c.get_object(), "function");
          if (!function) continue;
          blocks.push_back(json::object{{"type", "tool_use"},
                                        {"id", stringField(c.get_object(), "id")},
                                        {"name", stringField(*function, "name")},
                                        {"input", parseArguments(stringField(*function, "arguments"))}});
        }
      }
      appendTurn(turns, "assistant", std::move(blocks));
    } else if (role == "tool" || role == "function") {
      json::array blocks;
      blocks.push_back(json::object{{"type", "tool_result"},
                                    {"tool_use_id", stringField(message, "tool_call_id")},
                                    {"content", openAIText(content)}});
      appendTurn(turns, "user", std::move(blocks));
    } else {
      error = "unknown message role '" + std::string(role) + "'";
      return false;
    }
  }
  if (!system.empty()) out["system"] = system;
  out["messages"] = std::move(turns);

  int64_t maxTokens = options.defaultMaxTokens;
  if (const json::value* v = field(in, "max_completion_tokens"); v && !v->is_null()) maxTokens = integerOf(v);
  else if (const json::value* v = field(in, "max_tokens"); v && !v->is_null()) maxTokens = integerOf(v);
  out["max_tokens"] = maxTokens;

  if (const json::value* stop = field(in, "stop"); stop && !stop->is_null()) {
    if (stop->is_string()) out["stop_sequences"] = json::array{stop->get_string()};
    else if (stop->is_array()) out["stop_sequences"] = stop->get_array();
  }
  if (const json::value* t = field(in, "temperature"); t && t->is_number()) {
    double temperature = t->to_number<double>();
    out["temperature"] = temperature > 1.0 ? 1.0 : temperature;  // Anthropic's range is 0..1
  }
  copyIf(in, "top_p", out, "top_p");
  copyIf(in, "stream", out, "stream");
  if (std::string_view user = stringField(in, "user"); !user.empty())
    out["metadata"] = json::object{{"user_id", user}};

  if (const json::array* tools = arrayField(in, "tools")) {
    json::array converted;
    for (const json::value& t : *tools) {
      if (!t.is_object()) continue;
      const json::object* function = objectField(t.get_object(), "function");
      if (!function) continue;
      json::object tool{{"name", stringField(*function, "name")}};
      if (const json::value* d = field(*function, "description"); d && d->is_string()) tool["description"] = *d;
      const json::value* parameters = field(*function, "parameters");
      tool["input_schema"] = parameters && parameters->is_object()
                                 ? *parameters
                                 : json::value(json::object{{"type", "object"}, {"properties", json::object{}}});
      converted.push_back(std::move(tool));
    }
    if (!converted.empty()) out["tools"] = std::move(converted);
  }
  json::object choice;
  if (const json::value* c = field(in, "tool_choice"); c && !c->is_null()) {
    if (c->is_string()) {
      std::string_view s = c->get_string();
      choice["type"] = s == "required" ? "any" : s == "none" ? "none" : "auto";
    } else if (c->is_object()) {
      const json::object* function = objectField(c->get_object(), "function");
      choice["type"] = "tool";
      choice["name"] = function ? stringField(*function, "name") : std::string_view();
    }
  }
  if (const json::value* p = field(in, "parallel_tool_calls"); p && p->is_bool() && !p->get_bool()) {
    if (choice.empty()) choice["type"] = "auto";
    choice["disable_parallel_tool_use"] = true;
  }
  if (!choice.empty() && out.contains("tools")) out["tool_choice"] = std::move(choice);
  return true;
}

bool anthropicToOpenAIRequest(const json::object& in, json::object& out,
                              const RequestTranslation& options, std::string& error) {
  const json::array* messages = arrayField(in, "messages");
  if (!messages) {
    error = "messages: Field required";
    return false;
  }
  copyIf(in, "model", out, "model");
  json::array converted;
  if (const json::value* system = field(in, "system"); system && !system->is_null()) {
    std::string text = anthropicText(system);
    if (!text.empty()) converted.push_back(json::object{{"role", "system"}, {"content", text}});
  }
  for (const json::value& m : *messages) {
    if (!m.is_object()) {
      error = "each message must be an object";
      return false;
    }
    const json::object& message = m.get_object();
    std::string_view role = stringField(message, "role");
    if (role != "user" && role != "assistant") {
      error = "messages: roles must be 'user' or 'assistant', got '" + std::string(role) + "'";
      return false;
    }
    const json::value* content = field(message, "content");
    if (content && content->is_string()) {
      converted.push_back(json::object{{"role", role}, {"content", content->get_string()}});
      continue;
    }
    if (!content || !content->is_array()) continue;
    json::array parts;
    std::string assistantText;
    json::array toolCalls;
    for (const json::value& b : content->get_array()) {
      if (!b.is_object()) continue;
      const json::object& block = b.get_object();
      std::string_view type = stringField(block, "type");
      if (type == "text") {
        if (role == "assistant") assistantText += stringField(block, "text");
        else parts.push_back(json::object{{"type", "text"}, {"text", stringField(block, "text")}});
      } else if (type == "image") {
        const json::object* source = objectField(block, "source");
        if (!source) continue;
        std::string url = stringField(*source, "type") == "base64"
                              ? "data:" + std::string(stringField(*source, "media_type")) + ";base64," +
                                    std::string(stringField(*source, "data"))
                              : std::string(stringField(*source, "url"));
        parts.push_back(json::object{{"type", "image_url"}, {"image_url", json::object{{"url", url}}}});
      } else if (type == "tool_use") {
        const json::value* input = field(block, "input");
        toolCalls.push_back(json::object{
            {"id", stringField(block, "id")},
            {"type", "function"},
            {"function", json::object{{"name", stringField(block, "name")},
                                      {"arguments", input ? json::serialize(*input) : std::string("{}")}}}});
      } else if (type == "tool_result") {
        // Tool results are their own messages in OpenAI's format, before the rest of the turn.
        converted.push_back(json::object{{"role", "tool"},
                                         {"tool_call_id", stringField(block, "tool_use_id")},
                                         {"content", anthropicText(field(block, "content"))}});
      }
      // thinking and redacted_thinking blocks have no OpenAI counterpart and are dropped.
    }
    if (role == "assistant") {
      if (assistantText.empty() && toolCalls.empty()) continue;
      json::object a{{"role", "assistant"}};
      a["content"] = assistantText.empty() ? json::value(nullptr) : json::value(assistantText);
      if (!toolCalls.empty()) a["tool_calls"] = std::move(toolCalls);
      converted.push_back(std::move(a));
    } else if (!parts.empty()) {
      bool onlyText = parts.size() == 1 && stringField(parts[0].get_object(), "type") == "text";
      converted.push_back(json::object{
          {"role", "user"}, {"content", onlyText ? parts[0].get_object()["text"] : json::value(std::move(parts))}});
    }
  }
  out["messages"] = std::move(converted);
  if (const json::value* v = field(in, "max_tokens"); v && !v->is_null())
    out[options.maxCompletionTokens ? "max_completion_tokens" : "max_tokens"] = integerOf(v);
  copyIf(in, "stop_sequences", out, "stop");
  copyIf(in, "temperature", out, "temperature");
  copyIf(in, "top_p", out, "top_p");
  copyIf(in, "stream", out, "stream");
  if (const json::object* metadata = objectField(in, "metadata")) copyIf(*metadata, "user_id", out, "user");
  if (const json::array* tools = arrayField(in, "tools")) {
    json::array functions;
    for (const json::value& t : *tools) {
      if (!t.is_object()) continue;
      const json::object& tool = t.get_object();
      if (!field(tool, "input_schema")) continue;  // server tools (web_search …) have no counterpart
      json::object function{{"name", stringField(tool, "name")}};
      copyIf(tool, "description", function, "description");
      copyIf(tool, "input_schema", function, "parameters");
      functions.push_back(json::object{{"type", "function"}, {"function", std::move(function)}});
    }
    if (!functions.empty()) out["tools"] = std::move(functions);
  }
  if (const json::object* choice = objectField(in, "tool_choice")) {
    std::string_view type = stringField(*choice, "type");
    if (type == "any") out["tool_choice"] = "required";
    else if (type == "none") out["tool_choice"] = "none";
    else if (type == "tool")
      out["tool_choice"] = json::object{{"type", "function"},
                                        {"function", json::object{{"name", stringField(*choice, "name")}}}};
    else out["tool_choice"] = "auto";
    if (const json::value* d = field(*choice, "disable_parallel_tool_use"); d && d->is_bool() && d->get_bool() &&
                                                                         out.contains("tools"))
      out["parallel_tool_calls"] = false;
    if (!out.contains("tools")) out.erase("tool_choice");
  }
  return true;
}

std::string_view openAIFinishReason(std::string_view stop) {
  if (stop == "max_tokens" || stop == "model_context_window_exceeded") return "length";
  if (stop == "tool_use") return "tool_calls";
  if (stop == "refusal") return "content_filter";
  return "stop";  // end_turn, stop_sequence, pause_turn
}

std::string_view anthropicStopReason(std::string_view finish) {
  if (finish == "length") return "max_tokens";
  if (finish == "tool_calls" || finish == "function_call") return "tool_use";
  if (finish == "content_filter") return "refusal";
  return "end_turn";
}

Usage usageOf(Wire wire, const json::value* usage) {
  Usage u;
  if (!usage || !usage->is_object()) return u;
  const json::object& o = usage->get_object();
  u.known = true;
  if (wire == Wire::OpenAIChat) {
    u.input = tokenCountOf(field(o, "prompt_tokens"));
    u.output = tokenCountOf(field(o, "completion_tokens"));
    if (const json::object* details = objectField(o, "prompt_tokens_details"))
      u.cachedInput = tokenCountOf(field(*details, "cached_tokens"));
  } else {
    u.cachedInput = tokenCountOf(field(o, "cache_read_input_tokens"));
    u.input = tokenCountOf(field(o, "input_tokens")) + u.cachedInput + tokenCountOf(field(o, "cache_creation_input_tokens"));
    u.output = tokenCountOf(field(o, "output_tokens"));
  }
  return u;
}

json::object anthropicToOpenAIResponse(const json::object& in) {
  std::string text;
  json::array toolCalls;
  if (const json::array* content = arrayField(in, "content")) {
    for (const json::value& b : *content) {
      if (!b.is_object()) continue;
      const json::object& block = b.get_object();
      std::string_view type = stringField(block, "type");
      if (type == "text") {
        text += stringField(block, "text");
      } else if (type == "tool_use") {
        const json::value* input = field(block, "input");
        toolCalls.push_back(json::object{
            {"id", stringField(block, "id")},
            {"type", "function"},
            {"function", json::object{{"name", stringField(block, "name")},
                                      {"arguments", input ? json::serialize(*input) : std::string("{}")}}}});
      }
    }
  }
  json::object message{{"role", "assistant"}};
  message["content"] = text.empty() && !toolCalls.empty() ? json::value(nullptr) : json::value(text);
  if (!toolCalls.empty()) message["tool_calls"] = std::move(toolCalls);
  message["refusal"] = nullptr;
  json::object choice{{"index", 0},
                      {"message", std::move(message)},
                      {"logprobs", nullptr},
                      {"finish_reason", openAIFinishReason(stringField(in, "stop_reason"))}};
  Usage u = usageOf(Wire::AnthropicMessages, field(in, "usage"));
  json::object usage{{"prompt_tokens", u.input},
                     {"completion_tokens", u.output},
                     {"total_tokens", u.input + u.output}};
  if (u.cachedInput > 0) usage["prompt_tokens_details"] = json::object{{"cached_tokens", u.cachedInput}};
  int64_t created = std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch()).count();
  return json::object{{"id", stringField(in, "id")},
                      {"object", "chat.completion"},
                      {"created", created},
                      {"model", stringField(in, "model")},
                      {"choices", json::array{std::move(choice)}},
                      {"usage", std::move(usage)}};
}

json::object openAIToAnthropicResponse(const json::object& in) {
  json::array content;
  std::string_view finish = "stop";
  if (const json::array* choices = arrayField(in, "choices"); choices && !choices->empty() &&
                                                              (*choices)[0].is_object()) {
    const json::object& choice = (*choices)[0].get_object();
    finish = stringField(choice, "finish_reason");
    if (const json::object* message = objectField(choice, "message")) {
      std::string text = openAIText(field(*message, "content"));
      if (!text.empty()) content.push_back(json::object{{"type", "text"}, {"text", text}});
      if (const json::array* calls = arrayField(*message, "tool_calls")) {
        for (const json::value& c : *calls) {
          if (!c.is_object()) continue;
          const json::object* function = objectField(c.get_object(), "function");
          if (!function) continue;
          content.push_back(json::object{{"type", "tool_use"},
                                         {"id", stringField(c.get_object(), "id")},
                                         {"name", stringField(*function, "name")},
                                         {"input", parseArguments(stringField(*function, "arguments"))}});
        }
      }
    }
  }
  Usage u = usageOf(Wire::OpenAIChat, field(in, "usage"));
  std::string id(stringField(in, "id"));
  if (id.rfind("msg_", 0) != 0) id = "msg_" + id;
  return json::object{{"id", id},
                      {"type", "message"},
                      {"role", "assistant"},
                      {"model", stringField(in, "model")},
                      {"content", std::move(content)},
                      {"stop_reason", anthropicStopReason(finish)},
                      {"stop_sequence", nullptr},
                      {"usage", json::object{{"input_tokens", u.input}, {"output_tokens", u.output}}}};
}

std::string errorMessageOf(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (!ec && v.is_object()) {
    if (const json::object* error = objectField(v.get_object(), "error")) {
      std::string_view message = stringField(*error, "message");
      if (!message.empty()) return std::string(message);
    }
    std::string_view message = stringField(v.get_object(), "message");
    if (!message.empty()) return std::string(message);
  }
  std::string text(body.substr(0, 512));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

}  // namespace causeway::gateway::ai
