#include "gateway/ai/bedrock.h"

#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "gateway/ai/sigv4.h"

namespace causeway::gateway::ai {

namespace json = boost::json;

namespace {

const json::object* objectOf(const json::value* v) { return v && v->is_object() ? &v->get_object() : nullptr; }
const json::array* arrayOf(const json::value* v) { return v && v->is_array() ? &v->get_array() : nullptr; }

json::array blocksOf(const json::value* content) {
  json::array blocks;
  if (!content) return blocks;
  if (content->is_string()) {
    if (!content->get_string().empty()) blocks.push_back(json::object{{"text", content->get_string()}});
    return blocks;
  }
  for (const json::value& p : arrayOf(content) ? *arrayOf(content) : json::array{}) {
    const json::object* part = objectOf(&p);
    if (!part) continue;
    std::string_view type = stringField(*part, "type");
    if (type == "text") {
      blocks.push_back(json::object{{"text", stringField(*part, "text")}});
    } else if (type == "image_url") {
      const json::object* image = objectOf(part->if_contains("image_url"));
      std::string_view url = image ? stringField(*image, "url") : std::string_view();
      size_t comma = url.find(',');
      if (url.starts_with("data:image/") && comma != std::string_view::npos) {
        std::string_view meta = url.substr(11, comma - 11);  // png;base64
        blocks.push_back(json::object{{"image", json::object{{"format", meta.substr(0, meta.find(';'))},
                                                            {"source", json::object{{"bytes", url.substr(comma + 1)}}}}}});
      }
    }
  }
  return blocks;
}

std::string_view finishOf(std::string_view stop) {
  if (stop == "max_tokens" || stop == "model_context_window_exceeded") return "length";
  if (stop == "tool_use") return "tool_calls";
  if (stop == "guardrail_intervened" || stop == "content_filtered") return "content_filter";
  return "stop";
}

int64_t now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

uint32_t be32(const char* p) {
  return uint32_t(uint8_t(p[0])) << 24 | uint32_t(uint8_t(p[1])) << 16 | uint32_t(uint8_t(p[2])) << 8 | uint8_t(p[3]);
}

// A Converse request whose messages hold toolUse or toolResult blocks.
bool mentionsTools(const json::object& converse) {
  const json::array* messages = arrayOf(converse.if_contains("messages"));
  if (!messages) return false;
  for (const json::value& m : *messages) {
    const json::object* message = objectOf(&m);
    const json::array* content = message ? arrayOf(message->if_contains("content")) : nullptr;
    if (!content) continue;
    for (const json::value& block : *content)
      if (const json::object* b = objectOf(&block); b && (b->contains("toolUse") || b->contains("toolResult")))
        return true;
  }
  return false;
}

}  // namespace

std::string conversePath(std::string_view model, bool stream) {
  return "/model/" + uriEncode(model, false) + (stream ? "/converse-stream" : "/converse");
}

bool openAIToConverseRequest(const json::object& in, json::object& out, std::string& error) {
  const json::array* messages = arrayOf(in.if_contains("messages"));
  if (!messages) {
    error = "'messages' is required and must be an array";
    return false;
  }
  json::array turns, system;
  auto append = [&](std::string_view role, json::array blocks) {
    if (blocks.empty()) return;
    if (!turns.empty() && stringField(turns.back().as_object(), "role") == role) {
      json::array& existing = turns.back().as_object()["content"].as_array();
      for (json::value& b : blocks) existing.push_back(std::move(b));
      return;
    }
    turns.push_back(json::object{{"role", role}, {"content", std::move(blocks)}});
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
      for (json::value& b : blocksOf(content)) system.push_back(std::move(b));
    } else if (role == "user") {
      append("user", blocksOf(content));
    } else if (role == "assistant") {
      json::array blocks = blocksOf(content);
      for (const json::value& c : arrayOf(message->if_contains("tool_calls")) ? *arrayOf(message->if_contains("tool_calls"))
                                                                             : json::array{}) {
        const json::object* call = objectOf(&c);
        const json::object* function = call ? objectOf(call->if_contains("function")) : nullptr;
        if (!function) continue;
        boost::system::error_code ec;
        json::value input = json::parse(stringField(*function, "arguments"), ec);
        if (ec || !input.is_object()) input = json::object{};
        blocks.push_back(json::object{{"toolUse", json::object{{"toolUseId", stringField(*call, "id")},
                                                               {"name", stringField(*function, "name")},
                                                               {"input", std::move(input)}}}});
      }
      append("assistant", std::move(blocks));
    } else if (role == "tool") {
      std::string text;
      for (const json::value& b : blocksOf(content)) text += stringField(b.as_object(), "text");
      json::array blocks;
      blocks.push_back(json::object{{"toolResult", json::object{{"toolUseId", stringField(*message, "tool_call_id")},
                                                                {"content", json::array{json::object{{"text", text}}}}}}});
      append("user", std::move(blocks));
    } else {
      error = "unknown message role '" + std::string(role) + "'";
      return false;
    }
  }
  out["messages"] = std::move(turns);
  if (!system.empty()) out["system"] = std::move(system);
  json::object inference;
  if (const json::value* v = in.if_contains("max_completion_tokens"); v && v->is_number()) inference["maxTokens"] = *v;
  else if (const json::value* v = in.if_contains("max_tokens"); v && v->is_number()) inference["maxTokens"] = *v;
  if (const json::value* v = in.if_contains("temperature"); v && v->is_number()) inference["temperature"] = *v;
  if (const json::value* v = in.if_contains("top_p"); v && v->is_number()) inference["topP"] = *v;
  if (const json::value* stop = in.if_contains("stop"); stop && !stop->is_null())
    inference["stopSequences"] = stop->is_string() ? json::value(json::array{stop->get_string()}) : *stop;
  if (!inference.empty()) out["inferenceConfig"] = std::move(inference);
  if (const json::array* tools = arrayOf(in.if_contains("tools"))) {
    json::array specs;
    for (const json::value& t : *tools) {
      const json::object* tool = objectOf(&t);
      const json::object* function = tool ? objectOf(tool->if_contains("function")) : nullptr;
      if (!function) continue;
      json::object spec{{"name", stringField(*function, "name")}};
      if (const json::value* d = function->if_contains("description")) spec["description"] = *d;
      const json::value* params = function->if_contains("parameters");
      spec["inputSchema"] = json::object{{"json", params ? *params : json::value(json::object{{"type", "object"}})}};
      specs.push_back(json::object{{"toolSpec", std::move(spec)}});
    }
    // Converse has no "none": the tools are left out, unless the conversation already holds
    // tool calls or results (Converse then requires the tools; the model may call one).
    const json::value* choice = in.if_contains("tool_choice");
    bool none = choice && choice->is_string() && choice->get_string() == "none";
    if (none && !mentionsTools(out)) specs.clear();
    if (!specs.empty()) {
      json::object config{{"tools", std::move(specs)}};
      if (choice) {
        if (choice->is_string() && choice->get_string() == "required") config["toolChoice"] = json::object{{"any", json::object{}}};
        else if (choice->is_string() && choice->get_string() == "auto") config["toolChoice"] = json::object{{"auto", json::object{}}};
        else if (const json::object* named = objectOf(choice))
          if (const json::object* function = objectOf(named->if_contains("function")))
            config["toolChoice"] = json::object{{"tool", json::object{{"name", stringField(*function, "name")}}}};
      }
      out["toolConfig"] = std::move(config);
    }
  }
  return true;
}

Usage converseUsage(const json::value* usage) {
  Usage u;
  const json::object* o = objectOf(usage);
  if (!o) return u;
  auto number = [&](std::string_view key) -> int64_t {
    const json::value* v = o->if_contains(key);
    return tokenCountOf(v);
  };
  u.known = true;
  u.cachedInput = number("cacheReadInputTokens");
  u.input = number("inputTokens") + u.cachedInput + number("cacheWriteInputTokens");
  u.output = number("outputTokens");
  return u;
}

json::object converseToOpenAIResponse(const json::object& in, std::string_view model) {
  std::string text;
  json::array calls;
  const json::object* output = objectOf(in.if_contains("output"));
  const json::object* message = output ? objectOf(output->if_contains("message")) : nullptr;
  for (const json::value& b : message && arrayOf(message->if_contains("content")) ? *arrayOf(message->if_contains("content"))
                                                                                 : json::array{}) {
    const json::object* block = objectOf(&b);
    if (!block) continue;
    text += stringField(*block, "text");
    if (const json::object* use = objectOf(block->if_contains("toolUse"))) {
      const json::value* input = use->if_contains("input");
      calls.push_back(json::object{{"id", stringField(*use, "toolUseId")},
                                   {"type", "function"},
                                   {"function", json::object{{"name", stringField(*use, "name")},
                                                             {"arguments", input ? json::serialize(*input) : "{}"}}}});
    }
  }
  json::object reply{{"role", "assistant"}};
  reply["content"] = text.empty() && !calls.empty() ? json::value(nullptr) : json::value(text);
  if (!calls.empty()) reply["tool_calls"] = std::move(calls);
  reply["refusal"] = nullptr;
  Usage u = converseUsage(in.if_contains("usage"));
  return json::object{{"id", "chatcmpl-bedrock"},
                      {"object", "chat.completion"},
                      {"created", now()},
                      {"model", model},
                      {"choices", json::array{json::object{{"index", 0},
                                                           {"message", std::move(reply)},
                                                           {"logprobs", nullptr},
                                                           {"finish_reason", finishOf(stringField(in, "stopReason"))}}}},
                      {"usage", json::object{{"prompt_tokens", u.input},
                                             {"completion_tokens", u.output},
                                             {"total_tokens", u.input + u.output}}}};
}

bool AwsEventStreamParser::feed(std::string_view bytes, const OnEvent& onEvent) {
  buffer_.append(bytes);
  while (buffer_.size() >= 12) {
    uint32_t total = be32(buffer_.data());
    uint32_t headersLength = be32(buffer_.data() + 4);
    if (total < 16 || total > max_ || headersLength > total - 16) return false;
    if (crc32(0, reinterpret_cast<const Bytef*>(buffer_.data()), 8) != be32(buffer_.data() + 8)) return false;
    if (buffer_.size() < total) return true;
    if (crc32(0, reinterpret_cast<const Bytef*>(buffer_.data()), total - 4) != be32(buffer_.data() + total - 4))
      return false;
    std::string_view headers(buffer_.data() + 12, headersLength);
    std::string_view payload(buffer_.data() + 12 + headersLength, total - 16 - headersLength);
    std::string eventType, messageType, exceptionType, errorCode, errorMessage;
    for (size_t at = 0; at < headers.size();) {
      size_t nameLength = uint8_t(headers[at]);
      if (at + 1 + nameLength + 1 > headers.size()) return false;
      std::string_view name = headers.substr(at + 1, nameLength);
      uint8_t type = uint8_t(headers[at + 1 + nameLength]);
      at += 2 + nameLength;
      if (type != 7) return false;  // only string headers appear in Bedrock's streams
      if (at + 2 > headers.size()) return false;
      size_t valueLength = size_t(uint8_t(headers[at])) << 8 | uint8_t(headers[at + 1]);
      if (at + 2 + valueLength > headers.size()) return false;
      std::string_view value = headers.substr(at + 2, valueLength);
      at += 2 + valueLength;
      if (name == ":event-type") eventType = value;
      else if (name == ":message-type") messageType = value;
      else if (name == ":exception-type") exceptionType = value;
      else if (name == ":error-code") errorCode = value;
      else if (name == ":error-message") errorMessage = value;
    }
    bool ok;
    if (messageType == "event") {
      ok = onEvent(eventType, payload);
    } else {
      // An exception carries {"message": …} with its type in a header; an error frame has its
      // code and message in headers only. Both reach the translator as one "exception".
      std::string message = errorMessage;
      if (messageType == "exception") {
        boost::system::error_code ec;
        json::value v = json::parse(payload, ec);
        if (!ec && v.is_object()) message = stringField(v.get_object(), "message");
      }
      std::string_view kind = !exceptionType.empty() ? exceptionType : errorCode;
      if (message.empty()) message = "the provider's stream failed";
      if (!kind.empty()) message = std::string(kind) + ": " + message;
      ok = onEvent("exception", json::serialize(json::object{{"message", message}}));
    }
    buffer_.erase(0, total);
    if (!ok) return false;
  }
  return true;
}

namespace {

class ConverseToOpenAI final : public StreamTranslator {
 public:
  ConverseToOpenAI(std::string model, bool clientWantsUsage)
      : model_(std::move(model)), clientWantsUsage_(clientWantsUsage), created_(now()) {
    responseModel = model_;
  }

  bool onEvent(std::string_view name, std::string_view data, std::string& out) override {
    if (ended) return true;
    boost::system::error_code ec;
    json::value v = json::parse(data, ec);
    if (ec || !v.is_object()) return false;
    const json::object& event = v.get_object();
    if (name == "exception") {
      failed = true;
      appendEvent(out, {}, errorBody(Wire::OpenAIChat, 500, std::string(stringField(event, "message"))));
      return true;
    }
    if (name == "messageStart") {
      emit(out, json::object{{"role", "assistant"}, {"content", ""}}, nullptr);
    } else if (name == "contentBlockStart") {
      const json::object* start = objectOf(event.if_contains("start"));
      const json::object* use = start ? objectOf(start->if_contains("toolUse")) : nullptr;
      if (use) {
        int tool = nextTool_++;
        toolOfBlock_[blockIndex(event)] = tool;
        sawContent = true;
        outputChars += stringField(*use, "name").size();
        emit(out, json::object{{"tool_calls", json::array{json::object{
                                                  {"index", tool},
                                                  {"id", stringField(*use, "toolUseId")},
                                                  {"type", "function"},
                                                  {"function", json::object{{"name", stringField(*use, "name")}, {"arguments", ""}}}}}}},
             nullptr);
      }
    } else if (name == "contentBlockDelta") {
      const json::object* delta = objectOf(event.if_contains("delta"));
      if (!delta) return false;
      if (const json::value* text = delta->if_contains("text"); text && text->is_string()) {
        outputChars += text->get_string().size();
        sawContent = true;
        emit(out, json::object{{"content", text->get_string()}}, nullptr);
      } else if (const json::object* use = objectOf(delta->if_contains("toolUse"))) {
        auto it = toolOfBlock_.find(blockIndex(event));
        if (it == toolOfBlock_.end()) return true;
        std::string_view input = stringField(*use, "input");
        outputChars += input.size();
        emit(out, json::object{{"tool_calls", json::array{json::object{{"index", it->second},
                                                                       {"function", json::object{{"arguments", input}}}}}}},
             nullptr);
      }
    } else if (name == "messageStop") {
      finishReason = finishOf(stringField(event, "stopReason"));
      json::value f(finishReason);
      emit(out, json::object{}, &f);
    } else if (name == "metadata") {
      usage = converseUsage(event.if_contains("usage"));
    }
    return true;
  }

 protected:
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
  static int blockIndex(const json::object& event) {
    const json::value* v = event.if_contains("contentBlockIndex");
    return int(std::clamp<int64_t>(integerOf(v), 0, 1 << 20));
  }
  json::object base() const {
    return json::object{{"id", "chatcmpl-bedrock"}, {"object", "chat.completion.chunk"}, {"created", created_}, {"model", model_}};
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
  std::map<int, int> toolOfBlock_;
  int nextTool_ = 0;
};

}  // namespace

std::unique_ptr<StreamTranslator> makeConverseToOpenAIStream(std::string model, bool clientWantsUsage) {
  return std::make_unique<ConverseToOpenAI>(std::move(model), clientWantsUsage);
}

}  // namespace causeway::gateway::ai
