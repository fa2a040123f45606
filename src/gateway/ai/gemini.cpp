#include "gateway/ai/gemini.h"

#include <chrono>
#include <map>

#include "gateway/ai/sigv4.h"
#include "gateway/ai/sse.h"

namespace causeway::gateway::ai {

namespace json = boost::json;

namespace {

const json::object* objectOf(const json::value* v) { return v && v->is_object() ? &v->get_object() : nullptr; }
const json::array* arrayOf(const json::value* v) { return v && v->is_array() ? &v->get_array() : nullptr; }

json::value parsedArguments(std::string_view arguments) {
  boost::system::error_code ec;
  json::value v = json::parse(arguments, ec);
  return !ec && v.is_object() ? v : json::value(json::object{});
}

// OpenAI content (a string or parts) as Gemini parts.
json::array partsOf(const json::value* content) {
  json::array parts;
  if (!content) return parts;
  if (content->is_string()) {
    if (!content->get_string().empty()) parts.push_back(json::object{{"text", content->get_string()}});
    return parts;
  }
  for (const json::value& p : arrayOf(content) ? *arrayOf(content) : json::array{}) {
    const json::object* part = objectOf(&p);
    if (!part) continue;
    std::string_view type = stringField(*part, "type");
    if (type == "text") {
      parts.push_back(json::object{{"text", stringField(*part, "text")}});
    } else if (type == "image_url") {
      const json::object* image = objectOf(part->if_contains("image_url"));
      std::string_view url = image ? stringField(*image, "url") : std::string_view();
      size_t comma = url.find(',');
      if (url.starts_with("data:") && comma != std::string_view::npos) {
        std::string_view meta = url.substr(5, comma - 5);
        parts.push_back(json::object{{"inlineData", json::object{{"mimeType", meta.substr(0, meta.find(';'))},
                                                                 {"data", url.substr(comma + 1)}}}});
      } else if (!url.empty()) {
        parts.push_back(json::object{{"fileData", json::object{{"fileUri", url}}}});
      }
    }
  }
  return parts;
}

std::string_view finishOf(std::string_view geminiReason) {
  if (geminiReason == "MAX_TOKENS") return "length";
  if (geminiReason == "SAFETY" || geminiReason == "RECITATION" || geminiReason == "BLOCKLIST" ||
      geminiReason == "PROHIBITED_CONTENT" || geminiReason == "SPII")
    return "content_filter";
  return "stop";
}

int64_t now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

std::string geminiPath(std::string_view model, bool stream) {
  // Percent-encoded: the model may come from the client and must not reach another path.
  std::string path = "/v1beta/models/" + uriEncode(model, false);
  return path + (stream ? ":streamGenerateContent?alt=sse" : ":generateContent");
}
namespace {

// A JSON Schema as Gemini's function declarations take it: an OpenAPI subset that refuses
// the keywords OpenAI tools commonly carry ($schema, $id, $comment, additionalProperties,
// strict), which are dropped at every level.
json::value geminiSchema(const json::value& schema) {
  if (schema.is_array()) {
    json::array out;
    for (const json::value& item : schema.get_array()) out.push_back(geminiSchema(item));
    return out;
  }
  if (!schema.is_object()) return schema;
  json::object out;
  for (const auto& [key, value] : schema.get_object()) {
    if (key == "$schema" || key == "$id" || key == "$comment" || key == "additionalProperties" || key == "strict")
      continue;
    if (key == "properties" && value.is_object()) {
      json::object properties;
      for (const auto& [name, property] : value.get_object()) properties[name] = geminiSchema(property);
      out[key] = std::move(properties);
    } else if (key == "items" || key == "anyOf") {
      out[key] = geminiSchema(value);
    } else {
      out[key] = value;
    }
  }
  return out;
}

}  // namespace

bool openAIToGeminiRequest(const json::object& in, json::object& out, std::string& error) {
  const json::array* messages = arrayOf(in.if_contains("messages"));
  if (!messages) {
    error = "'messages' is required and must be an array";
    return false;
  }
  std::map<std::string, std::string> functionOfCall;  // tool_call_id → function name
  json::array contents;
  std::string system;
  auto append = [&](std::string_view role, json::array parts) {
    if (parts.empty()) return;
    if (!contents.empty() && stringField(contents.back().as_object(), "role") == role) {
      json::array& existing = contents.back().as_object()["parts"].as_array();
      for (json::value& p : parts) existing.push_back(std::move(p));
      return;
    }
    contents.push_back(json::object{{"role", role}, {"parts", std::move(parts)}});
  };
  for (const json::value& m : *messages) {
    const json::object* message = objectOf(&m);
    if (!message) {
      error = "each message must be an object";
      return false;
    }
    std::string_view role = stringField(*message, "role");
    const json::value* content = message->if_contains("content");
    if (role == "system" || role == "developer") {
      for (const json::value& p : partsOf(content)) {
        if (!system.empty()) system += '\n';
        system += stringField(p.as_object(), "text");
      }
    } else if (role == "user") {
      append("user", partsOf(content));
    } else if (role == "assistant") {
      json::array parts = partsOf(content);
      for (const json::value& c : arrayOf(message->if_contains("tool_calls")) ? *arrayOf(message->if_contains("tool_calls"))
                                                                             : json::array{}) {
        const json::object* call = objectOf(&c);
        const json::object* function = call ? objectOf(call->if_contains("function")) : nullptr;
        if (!function) continue;
        functionOfCall[std::string(stringField(*call, "id"))] = std::string(stringField(*function, "name"));
        parts.push_back(json::object{{"functionCall", json::object{{"name", stringField(*function, "name")},
                                                                    {"args", parsedArguments(stringField(*function, "arguments"))}}}});
      }
      append("model", std::move(parts));
    } else if (role == "tool") {
      std::string id(stringField(*message, "tool_call_id"));
      std::string name = functionOfCall.count(id) ? functionOfCall[id] : id;
      std::string result;
      for (const json::value& p : partsOf(content)) result += stringField(p.as_object(), "text");
      boost::system::error_code ec;
      json::value parsed = json::parse(result, ec);
      json::object response = !ec && parsed.is_object() ? parsed.get_object() : json::object{{"result", result}};
      json::array parts;
      parts.push_back(json::object{{"functionResponse", json::object{{"name", name}, {"response", std::move(response)}}}});
      append("user", std::move(parts));
    } else {
      error = "unknown message role '" + std::string(role) + "'";
      return false;
    }
  }
  out["contents"] = std::move(contents);
  if (!system.empty()) out["systemInstruction"] = json::object{{"parts", json::array{json::object{{"text", system}}}}};
  json::object generation;
  if (const json::value* v = in.if_contains("temperature"); v && v->is_number()) generation["temperature"] = *v;
  if (const json::value* v = in.if_contains("top_p"); v && v->is_number()) generation["topP"] = *v;
  if (const json::value* v = in.if_contains("max_completion_tokens"); v && v->is_number()) generation["maxOutputTokens"] = *v;
  else if (const json::value* v = in.if_contains("max_tokens"); v && v->is_number()) generation["maxOutputTokens"] = *v;
  if (const json::value* v = in.if_contains("n"); v && v->is_number()) generation["candidateCount"] = *v;
  if (const json::value* stop = in.if_contains("stop"); stop && !stop->is_null())
    generation["stopSequences"] = stop->is_string() ? json::value(json::array{stop->get_string()}) : *stop;
  if (!generation.empty()) out["generationConfig"] = std::move(generation);
  if (const json::array* tools = arrayOf(in.if_contains("tools"))) {
    json::array declarations;
    for (const json::value& t : *tools) {
      const json::object* tool = objectOf(&t);
      const json::object* function = tool ? objectOf(tool->if_contains("function")) : nullptr;
      if (!function) continue;
      json::object d{{"name", stringField(*function, "name")}};
      if (const json::value* desc = function->if_contains("description")) d["description"] = *desc;
      if (const json::value* params = function->if_contains("parameters")) d["parameters"] = geminiSchema(*params);
      declarations.push_back(std::move(d));
    }
    if (!declarations.empty()) out["tools"] = json::array{json::object{{"functionDeclarations", std::move(declarations)}}};
  }
  if (const json::value* choice = in.if_contains("tool_choice"); choice && out.contains("tools")) {
    json::object config;
    if (choice->is_string()) {
      std::string_view c = choice->get_string();
      config["mode"] = c == "required" ? "ANY" : c == "none" ? "NONE" : "AUTO";
    } else if (const json::object* named = objectOf(choice)) {
      const json::object* function = objectOf(named->if_contains("function"));
      config["mode"] = "ANY";
      if (function) config["allowedFunctionNames"] = json::array{stringField(*function, "name")};
    }
    out["toolConfig"] = json::object{{"functionCallingConfig", std::move(config)}};
  }
  return true;
}

Usage geminiUsage(const json::value* usageMetadata) {
  Usage u;
  const json::object* m = objectOf(usageMetadata);
  if (!m) return u;
  auto number = [&](std::string_view key) -> int64_t {
    const json::value* v = m->if_contains(key);
    return tokenCountOf(v);
  };
  u.known = true;
  u.input = number("promptTokenCount");
  u.output = number("candidatesTokenCount") + number("thoughtsTokenCount");
  u.cachedInput = number("cachedContentTokenCount");
  return u;
}

namespace {

// The message (text and tool calls) of one Gemini candidate.
void candidateMessage(const json::object& candidate, std::string& text, json::array& calls, int& nextCall) {
  const json::object* content = objectOf(candidate.if_contains("content"));
  const json::array* parts = content ? arrayOf(content->if_contains("parts")) : nullptr;
  if (!parts) return;
  for (const json::value& p : *parts) {
    const json::object* part = objectOf(&p);
    if (!part) continue;
    if (part->if_contains("thought")) continue;  // thinking summaries are not the answer
    text += stringField(*part, "text");
    if (const json::object* call = objectOf(part->if_contains("functionCall"))) {
      const json::value* args = call->if_contains("args");
      std::string id(stringField(*call, "id"));
      if (id.empty()) id = "call_" + std::to_string(nextCall);
      calls.push_back(json::object{{"index", nextCall++},
                                   {"id", id},
                                   {"type", "function"},
                                   {"function", json::object{{"name", stringField(*call, "name")},
                                                             {"arguments", args ? json::serialize(*args) : "{}"}}}});
    }
  }
}

}  // namespace

json::object geminiToOpenAIResponse(const json::object& in, std::string_view model) {
  json::array choices;
  int index = 0;
  for (const json::value& c : arrayOf(in.if_contains("candidates")) ? *arrayOf(in.if_contains("candidates")) : json::array{}) {
    const json::object* candidate = objectOf(&c);
    if (!candidate) continue;
    std::string text;
    json::array calls;
    int nextCall = 0;
    candidateMessage(*candidate, text, calls, nextCall);
    for (json::value& call : calls) call.as_object().erase("index");
    json::object message{{"role", "assistant"}};
    message["content"] = text.empty() && !calls.empty() ? json::value(nullptr) : json::value(text);
    if (!calls.empty()) message["tool_calls"] = std::move(calls);
    message["refusal"] = nullptr;
    std::string_view finish = message.contains("tool_calls") ? "tool_calls" : finishOf(stringField(*candidate, "finishReason"));
    choices.push_back(json::object{{"index", index++}, {"message", std::move(message)}, {"logprobs", nullptr}, {"finish_reason", finish}});
  }
  Usage u = geminiUsage(in.if_contains("usageMetadata"));
  std::string_view version = stringField(in, "modelVersion");
  return json::object{{"id", stringField(in, "responseId")},
                      {"object", "chat.completion"},
                      {"created", now()},
                      {"model", version.empty() ? model : version},
                      {"choices", std::move(choices)},
                      {"usage", json::object{{"prompt_tokens", u.input},
                                             {"completion_tokens", u.output},
                                             {"total_tokens", u.input + u.output}}}};
}

namespace {

class GeminiToOpenAI final : public StreamTranslator {
 public:
  GeminiToOpenAI(std::string model, bool clientWantsUsage) : model_(std::move(model)), clientWantsUsage_(clientWantsUsage), created_(now()) {}

  bool onEvent(std::string_view, std::string_view data, std::string& out) override {
    if (ended) return true;
    boost::system::error_code ec;
    json::value v = json::parse(data, ec);
    if (ec || !v.is_object()) return false;
    const json::object& chunk = v.get_object();
    if (const json::object* error = objectOf(chunk.if_contains("error"))) {
      failed = true;
      appendEvent(out, {}, errorBody(Wire::OpenAIChat, 500, std::string(stringField(*error, "message"))));
      return true;
    }
    if (id_.empty()) id_ = stringField(chunk, "responseId");
    if (responseModel.empty()) {
      std::string_view version = stringField(chunk, "modelVersion");
      responseModel = version.empty() ? model_ : std::string(version);
    }
    if (chunk.if_contains("usageMetadata")) usage = geminiUsage(chunk.if_contains("usageMetadata"));
    if (!roleSent_) {
      roleSent_ = true;
      emit(out, json::object{{"role", "assistant"}, {"content", ""}}, nullptr);
    }
    const json::array* candidates = arrayOf(chunk.if_contains("candidates"));
    if (!candidates || candidates->empty() || !(*candidates)[0].is_object()) return true;
    const json::object& candidate = (*candidates)[0].get_object();
    std::string text;
    json::array calls;
    candidateMessage(candidate, text, calls, nextCall_);
    if (!text.empty()) {
      outputChars += text.size();
      sawContent = true;
      emit(out, json::object{{"content", text}}, nullptr);
    }
    if (!calls.empty()) {
      sawToolCall_ = true;
      sawContent = true;
      for (const json::value& c : calls)
        outputChars += stringField(c.as_object().at("function").as_object(), "arguments").size();
      emit(out, json::object{{"tool_calls", std::move(calls)}}, nullptr);
    }
    std::string_view reason = stringField(candidate, "finishReason");
    if (!reason.empty()) {
      finishReason = sawToolCall_ ? "tool_calls" : std::string(finishOf(reason));
      json::value f(finishReason);
      emit(out, json::object{}, &f);
    }
    return true;
  }

 protected:
  // Gemini ends a stream by ending the body: the end is clean once a finishReason came.
  void close(std::string& out) override {
    if (clientWantsUsage_) {
      json::object chunk = base();
      chunk["choices"] = json::array{};
      chunk["usage"] = json::object{{"prompt_tokens", usage.input},
                                    {"completion_tokens", usage.output},
                                    {"total_tokens", usage.input + usage.output}};
      appendEvent(out, {}, json::serialize(chunk));
    }
    appendEvent(out, {}, "[DONE]");
  }
  Wire clientWire() const override { return Wire::OpenAIChat; }

 private:
  json::object base() const {
    return json::object{{"id", id_}, {"object", "chat.completion.chunk"}, {"created", created_}, {"model", responseModel}};
  }
  void emit(std::string& out, json::object delta, const json::value* finish) {
    json::object chunk = base();
    chunk["choices"] = json::array{json::object{{"index", 0},
                                                {"delta", std::move(delta)},
                                                {"logprobs", nullptr},
                                                {"finish_reason", finish ? *finish : json::value(nullptr)}}};
    if (clientWantsUsage_) chunk["usage"] = nullptr;
    appendEvent(out, {}, json::serialize(chunk));
  }

  std::string model_;
  bool clientWantsUsage_;
  int64_t created_;
  std::string id_;
  bool roleSent_ = false;
  bool sawToolCall_ = false;
  int nextCall_ = 0;
};

// first's output is parsed again as events and fed to second; the outer translator reports
// the first's usage (the provider's) and the second's end state.
class Chain final : public StreamTranslator {
 public:
  Chain(std::unique_ptr<StreamTranslator> first, std::unique_ptr<StreamTranslator> second)
      : first_(std::move(first)), second_(std::move(second)) {}
  bool onEvent(std::string_view name, std::string_view data, std::string& out) override {
    std::string middle;
    if (!first_->onEvent(name, data, middle)) return false;
    bool ok = pass(middle, out);
    sync();
    return ok;
  }

 protected:
  void close(std::string& out) override {
    std::string middle;
    first_->finish(true, {}, middle);
    pass(middle, out);
    second_->finish(true, {}, out);
    sync();
  }
  Wire clientWire() const override { return Wire::AnthropicMessages; }

 public:
  void writeFailure(std::string_view reason, std::string& out) override { second_->writeFailure(reason, out); }

 private:
  bool pass(std::string_view middle, std::string& out) {
    return parser_.feed(middle, [&](std::string_view n, std::string_view d) { return second_->onEvent(n, d, out); });
  }
  void sync() {
    usage = first_->usage;
    responseModel = first_->responseModel;
    finishReason = second_->finishReason;
    outputChars = first_->outputChars;
    sawContent = first_->sawContent;
    if (second_->ended) ended = true;
    if (first_->failed || second_->failed) failed = true;
  }
  std::unique_ptr<StreamTranslator> first_, second_;
  SseParser parser_;
};

}  // namespace

std::unique_ptr<StreamTranslator> makeGeminiToOpenAIStream(std::string model, bool clientWantsUsage) {
  return std::make_unique<GeminiToOpenAI>(std::move(model), clientWantsUsage);
}

std::unique_ptr<StreamTranslator> chainStreams(std::unique_ptr<StreamTranslator> first,
                                               std::unique_ptr<StreamTranslator> second) {
  return std::make_unique<Chain>(std::move(first), std::move(second));
}

}  // namespace causeway::gateway::ai
