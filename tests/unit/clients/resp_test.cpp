// RESP2 parsing and command encoding for the Redis client.
#include <gtest/gtest.h>

#include "clients/redis/resp_protocol.h"

namespace causeway::clients::redis::resp {
namespace {

Status parseAll(std::string_view data, Value& v, size_t& consumed) {
  std::string error;
  return parse(data, v, consumed, error);
}

TEST(RespTest, ScalarReplies) {
  Value v;
  size_t n = 0;
  ASSERT_EQ(parseAll("+OK\r\n", v, n), Status::Complete);
  EXPECT_EQ(v.type, Value::Type::Simple);
  EXPECT_EQ(v.text, "OK");
  EXPECT_EQ(n, 5u);
  ASSERT_EQ(parseAll("-NOSCRIPT No matching script\r\n", v, n), Status::Complete);
  EXPECT_TRUE(v.isError());
  EXPECT_EQ(v.text, "NOSCRIPT No matching script");
  ASSERT_EQ(parseAll(":-42\r\n", v, n), Status::Complete);
  EXPECT_EQ(v.integer, -42);
  ASSERT_EQ(parseAll("$5\r\nhe\r\no\r\n", v, n), Status::Complete);  // binary-safe bulk
  EXPECT_EQ(v.text, "he\r\no");
  ASSERT_EQ(parseAll("$0\r\n\r\n", v, n), Status::Complete);
  EXPECT_EQ(v.type, Value::Type::Bulk);
  EXPECT_EQ(v.text, "");
  ASSERT_EQ(parseAll("$-1\r\n", v, n), Status::Complete);
  EXPECT_EQ(v.type, Value::Type::Nil);
}

TEST(RespTest, ArraysAndPipelinedReplies) {
  std::string data = "*3\r\n$4\r\ntrue\r\n$6\r\n199999\r\n$2\r\n-1\r\n+PONG\r\n";
  Value v;
  size_t n = 0;
  ASSERT_EQ(parseAll(data, v, n), Status::Complete);
  ASSERT_EQ(v.type, Value::Type::Array);
  ASSERT_EQ(v.items.size(), 3u);
  EXPECT_EQ(v.items[0].text, "true");
  EXPECT_EQ(v.items[1].text, "199999");
  EXPECT_EQ(data.substr(n), "+PONG\r\n");
  ASSERT_EQ(parseAll("*2\r\n*1\r\n:1\r\n*-1\r\n", v, n), Status::Complete);
  EXPECT_EQ(v.items[0].items[0].integer, 1);
  EXPECT_EQ(v.items[1].type, Value::Type::Nil);
}

TEST(RespTest, IncompleteAtEveryCut) {
  std::string data = "*2\r\n$4\r\ntrue\r\n:17\r\n";
  for (size_t cut = 0; cut < data.size(); ++cut) {
    Value v;
    size_t n = 0;
    EXPECT_EQ(parseAll(data.substr(0, cut), v, n), Status::Incomplete) << cut;
  }
}

TEST(RespTest, MalformedIsAnError) {
  for (std::string bad : {"?what\r\n", ":12a\r\n", "$-2\r\n", "$3\r\nabcd\r\n", "*-5\r\n", "+OK\n",
                          "+O\rK\r\n", "$99999999999\r\n", "*1\r\n?x\r\n"}) {
    Value v;
    size_t n = 0;
    std::string error;
    EXPECT_EQ(parse(bad, v, n, error), Status::Error) << bad;
    EXPECT_FALSE(error.empty());
  }
  std::string deep;
  for (int i = 0; i < 20; ++i)
    deep += "*1\r\n";
  deep += ":1\r\n";
  Value v;
  size_t n = 0;
  std::string error;
  EXPECT_EQ(parse(deep, v, n, error), Status::Error);
}

TEST(RespTest, EncodesCommands) {
  std::vector<std::string> args{"EVALSHA", "abc", "1", "rate:x", ""};
  EXPECT_EQ(encodeCommand(args),
            "*5\r\n$7\r\nEVALSHA\r\n$3\r\nabc\r\n$1\r\n1\r\n$6\r\nrate:x\r\n$0\r\n\r\n");
}

}  // namespace
}  // namespace causeway::clients::redis::resp
