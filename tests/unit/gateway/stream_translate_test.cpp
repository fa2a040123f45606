// Streams translated event by event: what the client receives from each provider stream,
// the usage gathered, and how a stream cut short ends.
#include <gtest/gtest.h>

#include "gateway/ai/sse.h"
#include "gateway/ai/stream_translate.h"

namespace causeway::gateway::ai {
namespace {

namespace json = boost::json;

struct Event {
  std::string name;
  json::value data;
};

// Feeds `events` (name, data) to a translator and parses what the client gets.
std::vector<Event> run(StreamTranslator& t, const std::vector<std::pair<std::string, std::string>>& events,
                       bool clean = true) {
  std::string out;
  for (const auto& [name, data] : events) EXPECT_TRUE(t.onEvent(name, data, out)) << data;
  t.finish(clean, "cut", out);
  std::vector<Event> result;
  SseParser parser;
  parser.feed(out, [&](std::string_view name, std::string_view data) {
    result.push_back({std::string(name), data == "[DONE]" ? json::value("[DONE]") : json::parse(data)});
    return true;
  });
  return result;
}

const std::vector<std::pair<std::string, std::string>> kAnthropicStream = {
    {"message_start", R"({"type":"message_start","message":{"id":"msg_1","model":"c","usage":{"input_tokens":7,"output_tokens":1}}})"},
    {"content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"},
    {"ping", R"({"type":"ping"})"},
    {"content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}})"},
    {"content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"lo"}})"},
    {"content_block_stop", R"({"type":"content_block_stop","index":0})"},
    {"content_block_start", R"({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t1","name":"f","input":{}}})"},
    {"content_block_delta", R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}})"},
    {"content_block_delta", R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"1}"}})"},
    {"content_block_stop", R"({"type":"content_block_stop","index":1})"},
    {"message_delta", R"({"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}})"},
    {"message_stop", R"({"type":"message_stop"})"},
};

TEST(StreamTranslateTest, AnthropicToOpenAIChunks) {
  auto t = makeStreamTranslator(Wire::AnthropicMessages, Wire::OpenAIChat, true);
  auto events = run(*t, kAnthropicStream);
  std::string text, arguments, finish;
  std::string toolName;
  bool usageChunk = false;
  for (const Event& e : events) {
    if (e.data.is_string()) continue;
    const json::object& chunk = e.data.as_object();
    const json::array& choices = chunk.at("choices").as_array();
    if (choices.empty()) {
      usageChunk = true;
      EXPECT_EQ(chunk.at("usage").as_object().at("prompt_tokens"), 7);
      EXPECT_EQ(chunk.at("usage").as_object().at("completion_tokens"), 9);
      continue;
    }
    const json::object& delta = choices[0].as_object().at("delta").as_object();
    if (auto* c = delta.if_contains("content")) text += c->as_string();
    if (auto* calls = delta.if_contains("tool_calls")) {
      const json::object& function = calls->as_array()[0].as_object().at("function").as_object();
      if (auto* n = function.if_contains("name")) toolName = n->as_string();
      arguments += function.at("arguments").as_string();
    }
    if (auto& f = choices[0].as_object().at("finish_reason"); f.is_string()) finish = f.as_string();
  }
  EXPECT_EQ(text, "Hello");
  EXPECT_EQ(toolName, "f");
  EXPECT_EQ(arguments, "{\"a\":1}");
  EXPECT_EQ(finish, "tool_calls");
  EXPECT_TRUE(usageChunk);
  EXPECT_TRUE(events.back().data.is_string());  // [DONE]
  EXPECT_EQ(t->usage.input, 7);
  EXPECT_EQ(t->usage.output, 9);
}

TEST(StreamTranslateTest, OpenAIToAnthropicEvents) {
  auto t = makeStreamTranslator(Wire::OpenAIChat, Wire::AnthropicMessages, false);
  auto events = run(*t, {
      {"", R"({"id":"c1","model":"g","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]})"},
      {"", R"({"id":"c1","model":"g","choices":[{"index":0,"delta":{"content":"Hi"}}]})"},
      {"", R"({"id":"c1","model":"g","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":""}}]}}]})"},
      {"", R"({"id":"c1","model":"g","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}}]})"},
      {"", R"({"id":"c1","model":"g","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})"},
      {"", R"({"id":"c1","model":"g","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}})"},
      {"", "[DONE]"},
  });
  std::vector<std::string> names;
  for (const Event& e : events) names.push_back(e.name);
  std::vector<std::string> expected = {"message_start", "content_block_start", "content_block_delta",
                                       "content_block_stop", "content_block_start", "content_block_delta",
                                       "content_block_stop", "message_delta", "message_stop"};
  EXPECT_EQ(names, expected);
  const json::object& delta = events[7].data.as_object();
  EXPECT_EQ(delta.at("delta").as_object().at("stop_reason"), "tool_use");
  EXPECT_EQ(delta.at("usage").as_object().at("output_tokens"), 4);
  EXPECT_EQ(events[4].data.as_object().at("content_block").as_object().at("name"), "f");
}

TEST(StreamTranslateTest, InjectedUsageChunkIsDroppedUnlessAsked) {
  std::vector<std::pair<std::string, std::string>> stream = {
      {"", R"({"id":"c","choices":[{"index":0,"delta":{"content":"x"}}]})"},
      {"", R"({"id":"c","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}})"},
      {"", "[DONE]"}};
  auto quiet = makeStreamTranslator(Wire::OpenAIChat, Wire::OpenAIChat, false);
  EXPECT_EQ(run(*quiet, stream).size(), 2u);
  EXPECT_EQ(quiet->usage.output, 2);
  auto asked = makeStreamTranslator(Wire::OpenAIChat, Wire::OpenAIChat, true);
  EXPECT_EQ(run(*asked, stream).size(), 3u);
}

TEST(StreamTranslateTest, ACutStreamEndsWithAnErrorAndCountsWhatWentOut) {
  auto t = makeStreamTranslator(Wire::AnthropicMessages, Wire::AnthropicMessages, false);
  std::vector<std::pair<std::string, std::string>> partial(kAnthropicStream.begin(), kAnthropicStream.begin() + 5);
  auto events = run(*t, partial, false);
  EXPECT_EQ(events.back().name, "error");
  EXPECT_EQ(events.back().data.as_object().at("error").as_object().at("type"), "api_error");
  EXPECT_TRUE(t->estimated);
  EXPECT_EQ(t->usage.output, 2);  // "Hello": 5 characters
  auto openai = makeStreamTranslator(Wire::OpenAIChat, Wire::OpenAIChat, false);
  auto cut = run(*openai, {{"", R"({"id":"c","choices":[{"index":0,"delta":{"content":"abcdefgh"}}]})"}}, false);
  EXPECT_TRUE(cut.back().data.as_object().contains("error"));
  EXPECT_EQ(openai->usage.output, 2);
}

TEST(StreamTranslateTest, MalformedEventIsRefused) {
  auto t = makeStreamTranslator(Wire::OpenAIChat, Wire::AnthropicMessages, false);
  std::string out;
  EXPECT_FALSE(t->onEvent("", "{not json", out));
}

}  // namespace
}  // namespace causeway::gateway::ai
