// Whole requests and answers between OpenAI Chat Completions and Anthropic Messages
// (docs/ai-gateway.md, "Translation").
#include <gtest/gtest.h>

#include "gateway/ai/translate.h"

namespace causeway::gateway::ai {
namespace {

namespace json = boost::json;

json::object parseObject(std::string_view text) { return json::parse(text).as_object(); }

TEST(TranslateTest, OpenAIRequestBecomesAnthropic) {
  json::object in = parseObject(R"({
    "model": "m", "max_completion_tokens": 50, "stop": "END", "temperature": 1.5, "user": "u1",
    "messages": [
      {"role": "system", "content": "be brief"},
      {"role": "developer", "content": "no emoji"},
      {"role": "user", "content": [{"type": "text", "text": "look"},
                                   {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]},
      {"role": "assistant", "content": null,
       "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}}]},
      {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
      {"role": "user", "content": "thanks"}
    ],
    "tools": [{"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}],
    "tool_choice": "required", "parallel_tool_calls": false})");
  json::object out;
  std::string error;
  ASSERT_TRUE(openAIToAnthropicRequest(in, out, {}, error)) << error;
  EXPECT_EQ(out["system"], "be brief\nno emoji");
  EXPECT_EQ(out["max_tokens"], 50);
  EXPECT_EQ(out["stop_sequences"], json::array{"END"});
  EXPECT_EQ(out["temperature"], 1.0);
  EXPECT_EQ(out["metadata"].as_object()["user_id"], "u1");
  json::array& messages = out["messages"].as_array();
  ASSERT_EQ(messages.size(), 3u);  // user, assistant, user (tool result + "thanks" merged)
  json::array& first = messages[0].as_object()["content"].as_array();
  EXPECT_EQ(first[1].as_object()["source"].as_object()["media_type"], "image/png");
  json::object& toolUse = messages[1].as_object()["content"].as_array()[0].as_object();
  EXPECT_EQ(toolUse["type"], "tool_use");
  EXPECT_EQ(toolUse["input"].as_object()["city"], "Paris");
  json::array& last = messages[2].as_object()["content"].as_array();
  ASSERT_EQ(last.size(), 2u);
  EXPECT_EQ(last[0].as_object()["type"], "tool_result");
  EXPECT_EQ(last[0].as_object()["tool_use_id"], "call_1");
  EXPECT_EQ(last[1].as_object()["text"], "thanks");
  EXPECT_EQ(out["tools"].as_array()[0].as_object()["input_schema"].as_object()["type"], "object");
  EXPECT_EQ(out["tool_choice"].as_object()["type"], "any");
  EXPECT_EQ(out["tool_choice"].as_object()["disable_parallel_tool_use"], true);
}

TEST(TranslateTest, AnthropicRequestBecomesOpenAI) {
  json::object in = parseObject(R"({
    "model": "m", "max_tokens": 20, "system": [{"type": "text", "text": "sys"}], "stop_sequences": ["x"],
    "messages": [
      {"role": "user", "content": "hi"},
      {"role": "assistant", "content": [{"type": "text", "text": "calling"},
                                        {"type": "tool_use", "id": "t1", "name": "f", "input": {"a": 1}}]},
      {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": "42"}]}]}
    ],
    "tools": [{"name": "f", "input_schema": {"type": "object"}}],
    "tool_choice": {"type": "tool", "name": "f"}})");
  json::object out;
  std::string error;
  ASSERT_TRUE(anthropicToOpenAIRequest(in, out, {}, error)) << error;
  json::array& messages = out["messages"].as_array();
  ASSERT_EQ(messages.size(), 4u);
  EXPECT_EQ(messages[0].as_object()["role"], "system");
  EXPECT_EQ(messages[1].as_object()["content"], "hi");
  json::object& assistant = messages[2].as_object();
  EXPECT_EQ(assistant["content"], "calling");
  EXPECT_EQ(assistant["tool_calls"].as_array()[0].as_object()["function"].as_object()["arguments"], "{\"a\":1}");
  EXPECT_EQ(messages[3].as_object()["role"], "tool");
  EXPECT_EQ(messages[3].as_object()["content"], "42");
  EXPECT_EQ(out["max_completion_tokens"], 20);
  EXPECT_EQ(out["stop"], json::array{"x"});
  EXPECT_EQ(out["tool_choice"].as_object()["function"].as_object()["name"], "f");
}

TEST(TranslateTest, MissingMessagesIsAnError) {
  json::object out;
  std::string error;
  EXPECT_FALSE(openAIToAnthropicRequest(parseObject(R"({"model":"m"})"), out, {}, error));
  EXPECT_FALSE(error.empty());
  EXPECT_FALSE(anthropicToOpenAIRequest(parseObject(R"({"messages":[{"role":"system","content":"x"}]})"), out, {}, error));
}

TEST(TranslateTest, AnswersBothWays) {
  json::object anthropic = parseObject(R"({"id": "msg_1", "type": "message", "model": "c", "stop_reason": "tool_use",
    "content": [{"type": "text", "text": "ok"}, {"type": "tool_use", "id": "t", "name": "f", "input": {"x": true}}],
    "usage": {"input_tokens": 3, "output_tokens": 4, "cache_read_input_tokens": 2}})");
  json::object openai = anthropicToOpenAIResponse(anthropic);
  json::object& choice = openai["choices"].as_array()[0].as_object();
  EXPECT_EQ(choice["finish_reason"], "tool_calls");
  EXPECT_EQ(choice["message"].as_object()["content"], "ok");
  EXPECT_EQ(openai["usage"].as_object()["prompt_tokens"], 5);
  EXPECT_EQ(openai["usage"].as_object()["total_tokens"], 9);

  json::object back = openAIToAnthropicResponse(openai);
  EXPECT_EQ(back["stop_reason"], "tool_use");
  EXPECT_EQ(back["content"].as_array()[1].as_object()["input"].as_object()["x"], true);
  EXPECT_EQ(back["usage"].as_object()["output_tokens"], 4);
}

TEST(TranslateTest, StopReasonsMap) {
  EXPECT_EQ(openAIFinishReason("end_turn"), "stop");
  EXPECT_EQ(openAIFinishReason("max_tokens"), "length");
  EXPECT_EQ(openAIFinishReason("refusal"), "content_filter");
  EXPECT_EQ(anthropicStopReason("length"), "max_tokens");
  EXPECT_EQ(anthropicStopReason("tool_calls"), "tool_use");
}

TEST(TranslateTest, ErrorMessages) {
  EXPECT_EQ(errorMessageOf(R"({"error":{"message":"slow down","type":"x"}})"), "slow down");
  EXPECT_EQ(errorMessageOf(R"({"type":"error","error":{"type":"x","message":"busy"}})"), "busy");
  EXPECT_EQ(errorMessageOf("Bad Gateway\n"), "Bad Gateway");
}

}  // namespace
}  // namespace causeway::gateway::ai
