#include "gateway/ai/stream_translate.h"

#include <chrono>
#include <map>

#include "core/clock.h"

namespace causeway::gateway::ai {

namespace json = boost::json;

namespace {

const json::object* asObject(const json::value* v) { return v && v->is_object() ? &v->get_object() : nullptr; }

bool parseObject(std::string_view data, json::value& v) {
  boost::system::error_code ec;
  v = json::parse(data, ec);
  return !ec && v.is_object();
}

void appendJson(std::string& out, std::string_view name, const json::object& o) {
  appendEvent(out, name, json::serialize(o));
}

// The message of a provider's error event ({"error":{"message"}} in both formats).
std::string errorText(const json::object& o) {
  if (const json::object* error = asObject(field(o, "error"))) {
    std::string_view message = stringField(*error, "message");
    if (!message.empty()) return std::string(message);
  }
  return "the provider reported an error";
}

// Counts what an OpenAI chunk carries for the client (text and tool arguments).
void countOpenAIDelta(const json::object& chunk, StreamTranslator& t, bool translateFinish) {
  const json::value* choices = field(chunk, "choices");
  if (!choices || !choices->is_array()) return;
  for (const json::value& c : choices->get_array()) {
    const json::object* choice = asObject(&c);
    if (!choice) continue;
    if (const json::object* delta = asObject(field(*choice, "delta"))) {
      size_t n = stringField(*delta, "content").size();
      if (const json::value* calls = field(*delta, "tool_calls"); calls && calls->is_array()) {
        for (const json::value& call : calls->get_array())
          if (const json::object* function = asObject(call.is_object() ? field(call.get_object(), "function") : nullptr))
            n += stringField(*function, "arguments").size() + stringField(*function, "name").size();
      }
      t.outputChars += n;
      if (n > 0) t.sawContent = true;
    }
    std::string_view finish = stringField(*choice, "finish_reason");
    if (!finish.empty()) t.finishReason = translateFinish ? anthropicStopReason(finish) : finish;
  }
}

class OpenAIPassthrough final : public StreamTranslator {
 public:
  explicit OpenAIPassthrough(bool clientWantsUsage) : clientWantsUsage_(clientWantsUsage) {}
  bool onEvent(std::string_view, std::string_view data, std::string& out) override {
    if (ended) return true;
    if (data == "[DONE]") {
      ended = true;
      appendEvent(out, {}, data);
      return true;
    }
    json::value v;
    if (!parseObject(data, v)) return false;
    const json::object& chunk = v.get_object();
    if (field(chunk, "error")) {
      failed = true;
      appendEvent(out, {}, data);
      return true;
    }
    if (responseModel.empty()) responseModel = stringField(chunk, "model");
    const json::value* u = field(chunk, "usage");
    if (u && u->is_object()) usage = usageOf(Wire::OpenAIChat, u);
    const json::value* choices = field(chunk, "choices");
    bool usageOnly = u && u->is_object() && (!choices || !choices->is_array() || choices->get_array().empty());
    if (usageOnly && !clientWantsUsage_) return true;
    countOpenAIDelta(chunk, *this, false);
    appendEvent(out, {}, data);
    return true;
  }

 protected:
  void close(std::string& out) override { appendEvent(out, {}, "[DONE]"); }
  Wire clientWire() const override { return Wire::OpenAIChat; }

 private:
  bool clientWantsUsage_;
};

class AnthropicPassthrough final : public StreamTranslator {
 public:
  bool onEvent(std::string_view name, std::string_view data, std::string& out) override {
    if (ended) return true;
    json::value v;
    if (!parseObject(data, v)) return false;
    const json::object& event = v.get_object();
    std::string_view type = stringField(event, "type");
    if (type == "message_start") {
      if (const json::object* message = asObject(field(event, "message"))) {
        responseModel = stringField(*message, "model");
        usage = usageOf(Wire::AnthropicMessages, field(*message, "usage"));
      }
    } else if (type == "content_block_delta") {
      if (const json::object* delta = asObject(field(event, "delta"))) {
        size_t n = stringField(*delta, "text").size() + stringField(*delta, "partial_json").size();
        outputChars += n;
        if (n > 0) sawContent = true;
      }
    } else if (type == "message_delta") {
      if (const json::object* delta = asObject(field(event, "delta")))
        if (std::string_view stop = stringField(*delta, "stop_reason"); !stop.empty()) finishReason = stop;
      mergeDeltaUsage(event);
    } else if (type == "message_stop") {
      ended = true;
    } else if (type == "error") {
      failed = true;
    }
    appendEvent(out, name.empty() ? type : name, data);
    return true;
  }

  // message_delta's usage is cumulative: output_tokens (and, lately, the input counts).
  void mergeDeltaUsage(const json::object& event) {
    const json::object* u = asObject(field(event, "usage"));
    if (!u) return;
    Usage delta = usageOf(Wire::AnthropicMessages, field(event, "usage"));
    usage.output = delta.output;
    if (field(*u, "input_tokens")) {
      usage.input = delta.input;
      usage.cachedInput = delta.cachedInput;
    }
    usage.known = true;
  }

 protected:
  void close(std::string& out) override {}  // an Anthropic stream has no end sentinel to add
  Wire clientWire() const override { return Wire::AnthropicMessages; }
};

class AnthropicToOpenAI final : public StreamTranslator {
 public:
  explicit AnthropicToOpenAI(bool clientWantsUsage) : clientWantsUsage_(clientWantsUsage), created_(unixSeconds()) {}

  bool onEvent(std::string_view name, std::string_view data, std::string& out) override {
    if (ended) return true;
    json::value v;
    if (!parseObject(data, v)) return false;
    const json::object& event = v.get_object();
    std::string_view type = stringField(event, "type");
    if (type.empty()) type = name;
    if (type == "message_start") {
      if (const json::object* message = asObject(field(event, "message"))) {
        id_ = stringField(*message, "id");
        responseModel = stringField(*message, "model");
        usage = usageOf(Wire::AnthropicMessages, field(*message, "usage"));
      }
      emit(out, json::object{{"role", "assistant"}, {"content", ""}}, nullptr);
    } else if (type == "content_block_start") {
      const json::object* block = asObject(field(event, "content_block"));
      if (block && stringField(*block, "type") == "tool_use") {
        int index = int(intField(event, "index"));
        int tool = nextTool_++;
        toolOfBlock_[index] = tool;
        std::string_view toolName = stringField(*block, "name");
        outputChars += toolName.size();
        sawContent = true;
        json::object call{{"index", tool},
                          {"id", stringField(*block, "id")},
                          {"type", "function"},
                          {"function", json::object{{"name", toolName}, {"arguments", ""}}}};
        emit(out, json::object{{"tool_calls", json::array{std::move(call)}}}, nullptr);
      }
    } else if (type == "content_block_delta") {
      const json::object* delta = asObject(field(event, "delta"));
      if (!delta) return false;
      std::string_view kind = stringField(*delta, "type");
      if (kind == "text_delta") {
        std::string_view text = stringField(*delta, "text");
        outputChars += text.size();
        sawContent = true;
        emit(out, json::object{{"content", text}}, nullptr);
      } else if (kind == "input_json_delta") {
        auto it = toolOfBlock_.find(int(intField(event, "index")));
        if (it == toolOfBlock_.end()) return true;
        std::string_view partial = stringField(*delta, "partial_json");
        outputChars += partial.size();
        json::object call{{"index", it->second}, {"function", json::object{{"arguments", partial}}}};
        emit(out, json::object{{"tool_calls", json::array{std::move(call)}}}, nullptr);
      }
      // thinking_delta and signature_delta have no Chat Completions counterpart.
    } else if (type == "message_delta") {
      if (const json::object* delta = asObject(field(event, "delta")))
        finishReason = openAIFinishReason(stringField(*delta, "stop_reason"));
      if (const json::object* u = asObject(field(event, "usage"))) {
        Usage d = usageOf(Wire::AnthropicMessages, field(event, "usage"));
        usage.output = d.output;
        if (field(*u, "input_tokens")) usage.input = d.input;
        usage.known = true;
      }
      json::value reason(finishReason.empty() ? std::string_view("stop") : std::string_view(finishReason));
      emit(out, json::object{}, &reason);
    } else if (type == "message_stop") {
      close(out);
      ended = true;
    } else if (type == "error") {
      failed = true;
      // Anthropic's error types are not OpenAI's: an overloaded provider is a 503, the rest a 500.
      int status = 500;
      if (const json::object* error = asObject(field(event, "error")); error && stringField(*error, "type") == "overloaded_error")
        status = 503;
      appendEvent(out, {}, errorBody(Wire::OpenAIChat, status, errorText(event)));
    }
    // ping and unknown events are dropped.
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
      appendJson(out, {}, chunk);
    }
    appendEvent(out, {}, "[DONE]");
  }
  Wire clientWire() const override { return Wire::OpenAIChat; }

 private:
  static int64_t intField(const json::object& o, std::string_view key) {
    const json::value* v = field(o, key);
    return v && v->is_int64() ? v->get_int64() : v && v->is_uint64() ? int64_t(v->get_uint64()) : 0;
  }
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
    appendJson(out, {}, chunk);
  }

  bool clientWantsUsage_;
  int64_t created_;
  std::string id_;
  std::map<int, int> toolOfBlock_;  // Anthropic content block index → OpenAI tool call index
  int nextTool_ = 0;
};

class OpenAIToAnthropic final : public StreamTranslator {
 public:
  bool onEvent(std::string_view, std::string_view data, std::string& out) override {
    if (ended) return true;
    if (data == "[DONE]") {
      close(out);
      ended = true;
      return true;
    }
    json::value v;
    if (!parseObject(data, v)) return false;
    const json::object& chunk = v.get_object();
    if (field(chunk, "error")) {
      failed = true;
      const json::object* error = asObject(field(chunk, "error"));
      std::string_view type = error ? stringField(*error, "type") : std::string_view();
      appendEvent(out, "error", errorBody(Wire::AnthropicMessages, 500, errorText(chunk),
                                          type.empty() || type == "server_error" ? "api_error" : type));
      return true;
    }
    if (!started_) start(out, stringField(chunk, "id"), stringField(chunk, "model"));
    if (const json::value* u = field(chunk, "usage"); u && u->is_object()) usage = usageOf(Wire::OpenAIChat, u);
    const json::value* choices = field(chunk, "choices");
    if (!choices || !choices->is_array()) return true;
    for (const json::value& c : choices->get_array()) {
      const json::object* choice = asObject(&c);
      if (!choice) continue;
      if (const json::object* delta = asObject(field(*choice, "delta"))) {
        std::string_view text = stringField(*delta, "content");
        if (!text.empty()) {
          if (openKind_ != Kind::Text) {
            closeBlock(out);
            openBlock(out, Kind::Text, json::object{{"type", "text"}, {"text", ""}});
          }
          outputChars += text.size();
          sawContent = true;
          delta_(out, json::object{{"type", "text_delta"}, {"text", text}}, openIndex_);
        }
        if (const json::value* calls = field(*delta, "tool_calls"); calls && calls->is_array()) {
          for (const json::value& call : calls->get_array()) toolCall(out, call);
        }
      }
      std::string_view finish = stringField(*choice, "finish_reason");
      if (!finish.empty()) finishReason = anthropicStopReason(finish);
    }
    return true;
  }

 protected:
  void close(std::string& out) override {
    if (!started_) start(out, {}, responseModel);
    closeBlock(out);
    json::object usageObject{{"output_tokens", usage.output}};
    if (usage.known) usageObject["input_tokens"] = usage.input;
    appendJson(out, "message_delta",
               json::object{{"type", "message_delta"},
                            {"delta", json::object{{"stop_reason", finishReason.empty() ? "end_turn" : finishReason},
                                                   {"stop_sequence", nullptr}}},
                            {"usage", std::move(usageObject)}});
    appendJson(out, "message_stop", json::object{{"type", "message_stop"}});
  }
  Wire clientWire() const override { return Wire::AnthropicMessages; }

 private:
  enum class Kind { None, Text, Tool };

  void start(std::string& out, std::string_view id, std::string_view model) {
    started_ = true;
    responseModel = model;
    std::string messageId(id);
    if (messageId.rfind("msg_", 0) != 0) messageId = "msg_" + messageId;
    json::object message{{"id", messageId},
                         {"type", "message"},
                         {"role", "assistant"},
                         {"model", model},
                         {"content", json::array{}},
                         {"stop_reason", nullptr},
                         {"stop_sequence", nullptr},
                         {"usage", json::object{{"input_tokens", 0}, {"output_tokens", 0}}}};
    appendJson(out, "message_start", json::object{{"type", "message_start"}, {"message", std::move(message)}});
  }
  void openBlock(std::string& out, Kind kind, json::object block) {
    openIndex_ = nextBlock_++;
    openKind_ = kind;
    appendJson(out, "content_block_start",
               json::object{{"type", "content_block_start"}, {"index", openIndex_}, {"content_block", std::move(block)}});
  }
  void closeBlock(std::string& out) {
    if (openKind_ == Kind::None) return;
    appendJson(out, "content_block_stop", json::object{{"type", "content_block_stop"}, {"index", openIndex_}});
    openKind_ = Kind::None;
  }
  void delta_(std::string& out, json::object delta, int index) {
    appendJson(out, "content_block_delta",
               json::object{{"type", "content_block_delta"}, {"index", index}, {"delta", std::move(delta)}});
  }
  void toolCall(std::string& out, const json::value& call) {
    const json::object* c = asObject(&call);
    if (!c) return;
    const json::value* indexValue = field(*c, "index");
    int index = indexValue && indexValue->is_int64() ? int(indexValue->get_int64()) : 0;
    const json::object* function = asObject(field(*c, "function"));
    auto it = blockOfTool_.find(index);
    if (it == blockOfTool_.end() || !stringField(*c, "id").empty()) {
      closeBlock(out);
      std::string_view name = function ? stringField(*function, "name") : std::string_view();
      outputChars += name.size();
      sawContent = true;
      openBlock(out, Kind::Tool,
                json::object{{"type", "tool_use"}, {"id", stringField(*c, "id")}, {"name", name}, {"input", json::object{}}});
      it = blockOfTool_.insert_or_assign(index, openIndex_).first;
    }
    std::string_view arguments = function ? stringField(*function, "arguments") : std::string_view();
    if (arguments.empty()) return;
    outputChars += arguments.size();
    delta_(out, json::object{{"type", "input_json_delta"}, {"partial_json", arguments}}, it->second);
  }

  bool started_ = false;
  Kind openKind_ = Kind::None;
  int openIndex_ = 0;
  int nextBlock_ = 0;
  std::map<int, int> blockOfTool_;  // OpenAI tool call index → Anthropic content block index
};

}  // namespace

void StreamTranslator::finish(bool clean, std::string_view reason, std::string& out) {
  if (clean) {
    if (!ended && !failed) close(out);
    ended = true;
  } else if (!failed) {
    failed = true;
    writeFailure(reason, out);
  }
  // A stream cut short never got its final usage (or only message_start's): what went out is
  // counted at about 4 characters per token.
  int64_t estimate = int64_t((outputChars + 3) / 4);
  if ((!usage.known || !clean) && estimate > usage.output) {
    usage.output = estimate;
    estimated = true;
  }
}

void StreamTranslator::writeFailure(std::string_view reason, std::string& out) {
  if (clientWire() == Wire::AnthropicMessages) appendEvent(out, "error", errorBody(Wire::AnthropicMessages, 502, reason, "api_error"));
  else appendEvent(out, {}, errorBody(Wire::OpenAIChat, 502, reason));
}

std::unique_ptr<StreamTranslator> makeStreamTranslator(Wire provider, Wire client, bool clientWantsUsage) {
  if (provider == client) {
    if (client == Wire::OpenAIChat) return std::make_unique<OpenAIPassthrough>(clientWantsUsage);
    return std::make_unique<AnthropicPassthrough>();
  }
  if (provider == Wire::AnthropicMessages) return std::make_unique<AnthropicToOpenAI>(clientWantsUsage);
  return std::make_unique<OpenAIToAnthropic>();
}

}  // namespace causeway::gateway::ai
