#include "gateway/ai/responses.h"

#include <algorithm>
#include <chrono>
#include <map>

#include "gateway/ai/translate.h"
#include "gateway/ai/wire.h"

namespace causeway::gateway::ai {

namespace json = boost::json;

namespace {

const json::object* objectOf(const json::value* v) { return v && v->is_object() ? &v->get_object() : nullptr; }

int64_t now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// A Responses content value as a Chat Completions one.
json::value chatContent(const json::value* content) {
  if (!content) return "";
  if (content->is_string()) return *content;
  json::array parts;
  bool onlyText = true;
  std::string text;
  if (content->is_array()) {
    for (const json::value& p : content->get_array()) {
      const json::object* part = objectOf(&p);
      if (!part) continue;
      std::string_view type = stringField(*part, "type");
      if (type == "input_text" || type == "output_text" || type == "text") {
        parts.push_back(json::object{{"type", "text"}, {"text", stringField(*part, "text")}});
        text += stringField(*part, "text");
      } else if (type == "input_image") {
        onlyText = false;
        parts.push_back(json::object{{"type", "image_url"}, {"image_url", json::object{{"url", stringField(*part, "image_url")}}}});
      }
    }
  }
  if (onlyText) return json::value(text);
  return parts;
}

}  // namespace

bool responsesToChatRequest(const json::object& in, json::object& out, std::string& error) {
  if (in.if_contains("previous_response_id") || in.if_contains("conversation")) {
    error = "previous_response_id and conversation need stored responses, which this gateway does not keep; send the whole input";
    return false;
  }
  const json::value* input = in.if_contains("input");
  if (!input || !(input->is_string() || input->is_array())) {
    error = "'input' is required: a string or an array of items";
    return false;
  }
  json::array messages;
  if (std::string_view instructions = stringField(in, "instructions"); !instructions.empty())
    messages.push_back(json::object{{"role", "system"}, {"content", instructions}});
  if (input->is_string()) {
    messages.push_back(json::object{{"role", "user"}, {"content", input->get_string()}});
  } else {
    for (const json::value& i : input->get_array()) {
      const json::object* item = objectOf(&i);
      if (!item) continue;
      std::string_view type = stringField(*item, "type");
      if (type == "function_call") {
        json::object call{{"id", stringField(*item, "call_id")},
                          {"type", "function"},
                          {"function", json::object{{"name", stringField(*item, "name")},
                                                    {"arguments", stringField(*item, "arguments")}}}};
        // Calls join the assistant message before them, or make one.
        if (!messages.empty() && stringField(messages.back().as_object(), "role") == "assistant") {
          json::object& last = messages.back().as_object();
          if (!last.contains("tool_calls")) last["tool_calls"] = json::array{};
          last["tool_calls"].as_array().push_back(std::move(call));
        } else {
          messages.push_back(json::object{{"role", "assistant"}, {"content", nullptr}, {"tool_calls", json::array{std::move(call)}}});
        }
      } else if (type == "function_call_output") {
        const json::value* output = item->if_contains("output");
        messages.push_back(json::object{{"role", "tool"},
                                        {"tool_call_id", stringField(*item, "call_id")},
                                        {"content", output && output->is_string() ? *output : json::value(output ? json::serialize(*output) : "")}});
      } else if (type.empty() || type == "message") {
        std::string_view role = stringField(*item, "role");
        if (role.empty()) role = "user";
        messages.push_back(json::object{{"role", role}, {"content", chatContent(item->if_contains("content"))}});
      } else {
        error = "input items of type '" + std::string(type) + "' are not supported";
        return false;
      }
    }
  }
  out["messages"] = std::move(messages);
  for (std::string_view key : {"model", "temperature", "top_p", "stream", "user", "parallel_tool_calls"})
    if (const json::value* v = in.if_contains(key)) out[key] = *v;
  if (const json::value* v = in.if_contains("max_output_tokens"); v && v->is_number()) out["max_completion_tokens"] = *v;
  if (const json::value* tools = in.if_contains("tools"); tools && tools->is_array()) {
    json::array functions;
    for (const json::value& t : tools->get_array()) {
      const json::object* tool = objectOf(&t);
      if (!tool || stringField(*tool, "type") != "function") continue;  // built-in tools have no counterpart
      json::object function{{"name", stringField(*tool, "name")}};
      for (std::string_view key : {"description", "parameters", "strict"})
        if (const json::value* v = tool->if_contains(key)) function[key] = *v;
      functions.push_back(json::object{{"type", "function"}, {"function", std::move(function)}});
    }
    if (!functions.empty()) out["tools"] = std::move(functions);
  }
  if (const json::value* choice = in.if_contains("tool_choice"); choice && out.contains("tools")) {
    if (choice->is_string()) out["tool_choice"] = *choice;
    else if (const json::object* named = objectOf(choice))
      out["tool_choice"] = json::object{{"type", "function"}, {"function", json::object{{"name", stringField(*named, "name")}}}};
  }
  return true;
}

json::object chatToResponsesResponse(const json::object& chat) {
  json::array output;
  std::string id(stringField(chat, "id"));
  const json::value* choices = chat.if_contains("choices");
  std::string status = "completed";
  if (choices && choices->is_array() && !choices->get_array().empty()) {
    const json::object* choice = objectOf(&choices->get_array()[0]);
    const json::object* message = choice ? objectOf(choice->if_contains("message")) : nullptr;
    if (choice && stringField(*choice, "finish_reason") == "length") status = "incomplete";
    if (message) {
      std::string text;
      if (const json::value* c = message->if_contains("content"); c && c->is_string()) text = c->get_string();
      if (!text.empty())
        output.push_back(json::object{{"type", "message"},
                                      {"id", "msg_" + id},
                                      {"status", "completed"},
                                      {"role", "assistant"},
                                      {"content", json::array{json::object{{"type", "output_text"}, {"text", text}, {"annotations", json::array{}}}}}});
      if (const json::value* calls = message->if_contains("tool_calls"); calls && calls->is_array()) {
        for (const json::value& c : calls->get_array()) {
          const json::object* call = objectOf(&c);
          const json::object* function = call ? objectOf(call->if_contains("function")) : nullptr;
          if (!function) continue;
          output.push_back(json::object{{"type", "function_call"},
                                        {"id", "fc_" + std::string(stringField(*call, "id"))},
                                        {"call_id", stringField(*call, "id")},
                                        {"name", stringField(*function, "name")},
                                        {"arguments", stringField(*function, "arguments")},
                                        {"status", "completed"}});
        }
      }
    }
  }
  Usage u = usageOf(Wire::OpenAIChat, chat.if_contains("usage"));
  return json::object{{"id", "resp_" + id},
                      {"object", "response"},
                      {"created_at", now()},
                      {"status", status},
                      {"model", stringField(chat, "model")},
                      {"output", std::move(output)},
                      {"usage", json::object{{"input_tokens", u.input},
                                             {"output_tokens", u.output},
                                             {"total_tokens", u.input + u.output}}}};
}

namespace {

class ChatToResponses final : public StreamTranslator {
 public:
  bool onEvent(std::string_view, std::string_view data, std::string& out) override {
    if (ended) return true;
    if (data == "[DONE]") {
      close(out);
      ended = true;
      return true;
    }
    boost::system::error_code ec;
    json::value v = json::parse(data, ec);
    if (ec || !v.is_object()) return false;
    const json::object& chunk = v.get_object();
    if (const json::object* error = objectOf(chunk.if_contains("error"))) {
      failed = true;
      fail(out, std::string(stringField(*error, "message")));
      return true;
    }
    if (!started_) {
      started_ = true;
      id_ = "resp_" + std::string(stringField(chunk, "id"));
      responseModel = stringField(chunk, "model");
      emit(out, "response.created", json::object{{"response", shell("in_progress")}});
      emit(out, "response.in_progress", json::object{{"response", shell("in_progress")}});
    }
    if (const json::value* u = chunk.if_contains("usage"); u && u->is_object()) usage = usageOf(Wire::OpenAIChat, u);
    const json::value* choices = chunk.if_contains("choices");
    if (!choices || !choices->is_array() || choices->get_array().empty()) return true;
    const json::object* choice = objectOf(&choices->get_array()[0]);
    if (!choice) return true;
    if (const json::object* delta = objectOf(choice->if_contains("delta"))) {
      std::string_view text = stringField(*delta, "content");
      if (!text.empty()) {
        if (!keep(out, text.size())) return true;
        if (!textOpen_) openText(out);
        text_ += text;
        outputChars += text.size();
        sawContent = true;
        emit(out, "response.output_text.delta",
             json::object{{"item_id", messageId()}, {"output_index", textIndex_}, {"content_index", 0}, {"delta", text}});
      }
      if (const json::value* calls = delta->if_contains("tool_calls"); calls && calls->is_array())
        for (const json::value& c : calls->get_array())
          if (!ended) toolCall(out, c);
    }
    if (std::string_view f = stringField(*choice, "finish_reason"); !f.empty()) finishReason = f;
    return true;
  }

 protected:
  void close(std::string& out) override {
    if (!started_) {
      started_ = true;
      emit(out, "response.created", json::object{{"response", shell("in_progress")}});
    }
    closeText(out);
    for (auto& [index, call] : calls_) {
      if (call.done) continue;
      call.done = true;
      emit(out, "response.function_call_arguments.done",
           json::object{{"item_id", call.itemId}, {"output_index", call.outputIndex}, {"arguments", call.arguments}});
      items_.push_back(callItem(call, "completed"));
      emit(out, "response.output_item.done", json::object{{"output_index", call.outputIndex}, {"item", callItem(call, "completed")}});
    }
    json::object response = shell(finishReason == "length" ? "incomplete" : "completed");
    response["output"] = items_;
    response["usage"] = json::object{{"input_tokens", usage.input},
                                     {"output_tokens", usage.output},
                                     {"total_tokens", usage.input + usage.output}};
    emit(out, "response.completed", json::object{{"response", std::move(response)}});
  }
  Wire clientWire() const override { return Wire::OpenAIResponses; }

 public:
  void writeFailure(std::string_view reason, std::string& out) override { fail(out, std::string(reason)); }

 private:
  struct Call {
    std::string itemId, callId, name, arguments;
    int outputIndex = 0;
    bool done = false;
  };

  // Each text item its own id: text after a tool call opens a new message.
  std::string messageId() const {
    return "msg_" + id_.substr(5) + (textItems_ > 1 ? "_" + std::to_string(textItems_) : std::string());
  }
  // The text and arguments kept for the closing events are bounded (kMaxKept bytes, kMaxCalls
  // calls): past them the stream fails instead of growing without end.
  static constexpr size_t kMaxKept = size_t(16) << 20;
  static constexpr size_t kMaxCalls = 128;
  bool keep(std::string& out, size_t bytes) {
    kept_ += bytes;
    if (kept_ <= kMaxKept) return true;
    failed = true;
    ended = true;
    fail(out, "the answer is larger than causeway keeps to translate a Responses stream");
    return false;
  }
  json::object shell(std::string_view status) const {
    return json::object{{"id", id_}, {"object", "response"}, {"created_at", created_}, {"status", status},
                        {"model", responseModel}, {"output", json::array{}}};
  }
  void emit(std::string& out, std::string_view type, json::object fields) {
    fields["type"] = type;
    fields["sequence_number"] = sequence_++;
    appendEvent(out, type, json::serialize(fields));
  }
  void fail(std::string& out, std::string message) {
    json::object response = shell("failed");
    response["error"] = json::object{{"code", "server_error"}, {"message", message}};
    emit(out, "response.failed", json::object{{"response", std::move(response)}});
  }
  void openText(std::string& out) {
    textOpen_ = true;
    textIndex_ = nextIndex_++;
    ++textItems_;
    text_.clear();
    json::object item{{"type", "message"}, {"id", messageId()}, {"status", "in_progress"}, {"role", "assistant"}, {"content", json::array{}}};
    emit(out, "response.output_item.added", json::object{{"output_index", textIndex_}, {"item", item}});
    emit(out, "response.content_part.added",
         json::object{{"item_id", messageId()}, {"output_index", textIndex_}, {"content_index", 0},
                      {"part", json::object{{"type", "output_text"}, {"text", ""}, {"annotations", json::array{}}}}});
  }
  void closeText(std::string& out) {
    if (!textOpen_) return;
    textOpen_ = false;
    json::object part{{"type", "output_text"}, {"text", text_}, {"annotations", json::array{}}};
    emit(out, "response.output_text.done",
         json::object{{"item_id", messageId()}, {"output_index", textIndex_}, {"content_index", 0}, {"text", text_}});
    emit(out, "response.content_part.done",
         json::object{{"item_id", messageId()}, {"output_index", textIndex_}, {"content_index", 0}, {"part", part}});
    json::object item{{"type", "message"}, {"id", messageId()}, {"status", "completed"}, {"role", "assistant"},
                      {"content", json::array{part}}};
    items_.push_back(item);
    emit(out, "response.output_item.done", json::object{{"output_index", textIndex_}, {"item", std::move(item)}});
    text_.clear();
  }
  json::object callItem(const Call& call, std::string_view status) const {
    return json::object{{"type", "function_call"}, {"id", call.itemId}, {"call_id", call.callId}, {"name", call.name},
                        {"arguments", call.arguments}, {"status", status}};
  }
  void toolCall(std::string& out, const json::value& c) {
    const json::object* call = objectOf(&c);
    if (!call) return;
    const json::value* indexValue = call->if_contains("index");
    int index = int(std::clamp<int64_t>(integerOf(indexValue), 0, 1 << 20));
    const json::object* function = objectOf(call->if_contains("function"));
    auto it = calls_.find(index);
    if (it == calls_.end()) {
      if (calls_.size() >= kMaxCalls) {
        keep(out, kMaxKept + 1);
        return;
      }
      closeText(out);
      Call fresh;
      fresh.callId = stringField(*call, "id");
      fresh.itemId = "fc_" + fresh.callId;
      fresh.name = function ? stringField(*function, "name") : std::string_view();
      fresh.outputIndex = nextIndex_++;
      it = calls_.emplace(index, std::move(fresh)).first;
      sawContent = true;
      emit(out, "response.output_item.added", json::object{{"output_index", it->second.outputIndex}, {"item", callItem(it->second, "in_progress")}});
    }
    std::string_view arguments = function ? stringField(*function, "arguments") : std::string_view();
    if (arguments.empty() || !keep(out, arguments.size())) return;
    it->second.arguments += arguments;
    outputChars += arguments.size();
    emit(out, "response.function_call_arguments.delta",
         json::object{{"item_id", it->second.itemId}, {"output_index", it->second.outputIndex}, {"delta", arguments}});
  }

  bool started_ = false;
  std::string id_ = "resp_";
  int64_t created_ = now();
  int64_t sequence_ = 0;
  int nextIndex_ = 0;
  bool textOpen_ = false;
  int textIndex_ = 0;
  int textItems_ = 0;
  size_t kept_ = 0;
  std::string text_;
  std::map<int, Call> calls_;
  json::array items_;
};

}  // namespace

std::unique_ptr<StreamTranslator> makeChatToResponsesStream() { return std::make_unique<ChatToResponses>(); }

}  // namespace causeway::gateway::ai
