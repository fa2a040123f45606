// The event-stream parser: events split anywhere, CRLF and CR line ends, comments, and the bound.
#include <gtest/gtest.h>

#include <vector>

#include "gateway/ai/sse.h"

namespace causeway::gateway::ai {
namespace {

std::vector<std::pair<std::string, std::string>> parse(const std::vector<std::string>& pieces, bool* ok = nullptr) {
  SseParser parser(64);
  std::vector<std::pair<std::string, std::string>> events;
  bool good = true;
  for (const auto& p : pieces)
    good = good && parser.feed(p, [&](std::string_view name, std::string_view data) {
      events.emplace_back(std::string(name), std::string(data));
      return true;
    });
  if (ok) *ok = good;
  return events;
}

TEST(SseParserTest, EventsSplitAtAnyByte) {
  std::string stream = "event: message_start\ndata: {\"a\":1}\n\n: keep-alive\n\ndata: [DONE]\n\n";
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    auto events = parse({stream.substr(0, cut), stream.substr(cut)});
    ASSERT_EQ(events.size(), 2u) << cut;
    EXPECT_EQ(events[0].first, "message_start");
    EXPECT_EQ(events[0].second, "{\"a\":1}");
    EXPECT_EQ(events[1].first, "");
    EXPECT_EQ(events[1].second, "[DONE]");
  }
}

TEST(SseParserTest, CrLfAndCrLineEndsAndMultiLineData) {
  auto events = parse({"data: one\r\ndata: two\r\n\r\ndata:three\r\r"});
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].second, "one\ntwo");
  EXPECT_EQ(events[1].second, "three");
}

TEST(SseParserTest, AnEventThatNeverEndsIsAnError) {
  bool ok = true;
  parse({"data: " + std::string(100, 'x')}, &ok);
  EXPECT_FALSE(ok);
}

}  // namespace
}  // namespace causeway::gateway::ai
