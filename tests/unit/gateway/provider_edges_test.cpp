// Edges of the provider translations found in review: Gemini's schema subset, Converse without a
// "none" tool choice, Bedrock's error frames, a Responses stream whose text resumes after a tool
// call, token counts a provider sends absurdly large, and the detectors' overlap rule at scale.
#include <gtest/gtest.h>
#include <zlib.h>

#include <boost/json.hpp>

#include "gateway/ai/bedrock.h"
#include "gateway/ai/detectors.h"
#include "gateway/ai/gemini.h"
#include "gateway/ai/responses.h"
#include "gateway/ai/stream_translate.h"
#include "gateway/ai/translate.h"

namespace causeway::gateway::ai {
namespace {

namespace json = boost::json;

json::object parse(std::string_view text) { return json::parse(text).as_object(); }

const char* kToolRequest = R"({"model": "m", "messages": [{"role": "user", "content": "weather?"}],
  "tools": [{"type": "function", "function": {"name": "get_weather", "strict": true, "parameters": {
    "$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "additionalProperties": false,
    "properties": {"city": {"type": "string"}, "days": {"type": "array", "items": {"type": "object",
      "additionalProperties": false, "properties": {"d": {"type": "integer"}}}}},
    "required": ["city"]}}}]})";

TEST(ProviderEdgesTest, GeminiGetsTheSchemaSubsetItAccepts) {
  json::object out;
  std::string error;
  ASSERT_TRUE(openAIToGeminiRequest(parse(kToolRequest), out, error)) << error;
  std::string text = json::serialize(out);
  EXPECT_EQ(text.find("additionalProperties"), std::string::npos) << text;
  EXPECT_EQ(text.find("$schema"), std::string::npos) << text;
  EXPECT_EQ(text.find("strict"), std::string::npos) << text;
  const json::value& parameters = out.at("tools").at(0).at("functionDeclarations").at(0).at("parameters");
  EXPECT_EQ(parameters.at("required"), json::parse(R"(["city"])"));
  EXPECT_EQ(parameters.at("properties").at("days").at("items").at("properties").at("d").at("type"), "integer");
}

TEST(ProviderEdgesTest, ConverseLeavesToolsOutForToolChoiceNone) {
  json::object request = parse(kToolRequest);
  request["tool_choice"] = "none";
  json::object out;
  std::string error;
  ASSERT_TRUE(openAIToConverseRequest(request, out, error)) << error;
  EXPECT_FALSE(out.contains("toolConfig"));
  // With a tool call already in the conversation Converse needs the tools: they stay (auto).
  request["messages"] = json::parse(R"([{"role": "user", "content": "weather?"},
    {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
      "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
    {"role": "tool", "tool_call_id": "c1", "content": "sunny"}])");
  out.clear();
  ASSERT_TRUE(openAIToConverseRequest(request, out, error)) << error;
  ASSERT_TRUE(out.contains("toolConfig"));
  EXPECT_FALSE(out.at("toolConfig").as_object().contains("toolChoice"));
}

void putBe32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += char((v >> shift) & 0xff);
}

// One AWS event-stream frame with string headers.
std::string frame(const std::vector<std::pair<std::string, std::string>>& headers, std::string_view payload) {
  std::string h;
  for (const auto& [name, value] : headers) {
    h += char(name.size());
    h += name;
    h += char(7);
    h += char(value.size() >> 8);
    h += char(value.size() & 0xff);
    h += value;
  }
  std::string out;
  putBe32(out, uint32_t(16 + h.size() + payload.size()));
  putBe32(out, uint32_t(h.size()));
  putBe32(out, uint32_t(crc32(0, reinterpret_cast<const Bytef*>(out.data()), 8)));
  out += h;
  out += payload;
  putBe32(out, uint32_t(crc32(0, reinterpret_cast<const Bytef*>(out.data()), uInt(out.size()))));
  return out;
}

TEST(ProviderEdgesTest, BedrockErrorAndExceptionFramesReachTheTranslator) {
  AwsEventStreamParser parser;
  std::vector<std::pair<std::string, std::string>> seen;
  auto onEvent = [&](std::string_view name, std::string_view data) {
    seen.emplace_back(name, data);
    return true;
  };
  std::string bytes = frame({{":message-type", "error"}, {":error-code", "InternalFailure"},
                             {":error-message", "something broke"}}, "");
  bytes += frame({{":message-type", "exception"}, {":exception-type", "throttlingException"}},
                 R"({"message":"Too many requests"})");
  ASSERT_TRUE(parser.feed(bytes, onEvent));
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].first, "exception");
  EXPECT_EQ(json::parse(seen[0].second).at("message"), "InternalFailure: something broke");
  EXPECT_EQ(json::parse(seen[1].second).at("message"), "throttlingException: Too many requests");
  // The translator turns it into the client's error event.
  auto translator = makeConverseToOpenAIStream("m", false);
  std::string out;
  EXPECT_TRUE(translator->onEvent(seen[0].first, seen[0].second, out));
  EXPECT_NE(out.find("InternalFailure: something broke"), std::string::npos) << out;
  EXPECT_TRUE(translator->failed);
}

TEST(ProviderEdgesTest, ResponsesTextAfterAToolCallIsANewMessage) {
  auto t = makeChatToResponsesStream();
  std::string out;
  auto chunk = [&](std::string_view delta) {
    std::string data = R"({"id":"c1","model":"m","choices":[{"index":0,"delta":)" + std::string(delta) + "}]}";
    ASSERT_TRUE(t->onEvent({}, data, out));
  };
  chunk(R"({"content":"first"})");
  chunk(R"({"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]})");
  chunk(R"({"content":"second"})");
  ASSERT_TRUE(t->onEvent({}, "[DONE]", out));
  std::vector<json::value> done;
  for (size_t at = out.find("data: "); at != std::string::npos; at = out.find("data: ", at + 1)) {
    json::value v = json::parse(std::string_view(out).substr(at + 6, out.find('\n', at) - at - 6));
    if (v.at("type") == "response.output_text.done") done.push_back(v);
  }
  ASSERT_EQ(done.size(), 2u) << out;
  EXPECT_EQ(done[0].at("text"), "first");
  EXPECT_EQ(done[1].at("text"), "second");  // not "firstsecond"
  EXPECT_NE(done[0].at("item_id"), done[1].at("item_id"));
}

TEST(ProviderEdgesTest, AbsurdTokenCountsAreClamped) {
  json::value usage = json::parse(R"({"prompt_tokens": 9.9e300, "completion_tokens": 18446744073709551615})");
  Usage u = usageOf(Wire::OpenAIChat, &usage);
  EXPECT_EQ(u.input, 1'000'000'000'000);
  EXPECT_EQ(u.output, 1'000'000'000'000);
  json::value negative = json::parse(R"({"input_tokens": -5, "output_tokens": 3})");
  u = usageOf(Wire::AnthropicMessages, &negative);
  EXPECT_EQ(u.input, 0);
  EXPECT_EQ(u.output, 3);
}

TEST(ProviderEdgesTest, DetectorsKeepTheFirstFindingOfOverlapsAtScale) {
  std::string error;
  std::vector<Detector> detectors{*builtInDetector("email"), *builtInDetector("ipAddress")};
  // Matches inside every email: a later detector loses every overlap.
  detectors.push_back(*customDetector("domain", "[a-z]+\\.io", error));
  ASSERT_TRUE(error.empty()) << error;
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "a" + std::to_string(i) + "@x.io 10.0.0." + std::to_string(i % 250) + " ";
  auto findings = scan(detectors, text);
  EXPECT_EQ(findings.size(), 40000u);
  for (size_t i = 1; i < findings.size(); ++i)
    EXPECT_GE(findings[i].offset, findings[i - 1].offset + findings[i - 1].length);
}

}  // namespace
}  // namespace causeway::gateway::ai
