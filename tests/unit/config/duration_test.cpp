
#include <gtest/gtest.h>

#include "config/duration.h"

namespace causeway::config {
namespace {

using namespace std::chrono_literals;

std::chrono::nanoseconds parsed(std::string_view text) {
  auto d = Duration::parse(text);
  EXPECT_TRUE(d.has_value()) << text;
  return d ? d->value : std::chrono::nanoseconds(-999);
}

TEST(Duration, GoForms) {
  EXPECT_EQ(parsed("10s"), 10s);
  EXPECT_EQ(parsed("1m30s"), 90s);
  EXPECT_EQ(parsed("100ms"), 100ms);
  EXPECT_EQ(parsed("1.5h"), 90min);
  EXPECT_EQ(parsed("300us"), 300us);
  EXPECT_EQ(parsed("300\xC2\xB5s"), 300us); // micro sign
  EXPECT_EQ(parsed("300\xCE\xBCs"), 300us); // Greek mu
  EXPECT_EQ(parsed("42ns"), 42ns);
  EXPECT_EQ(parsed("-1s"), -1s);
  EXPECT_EQ(parsed("+2s"), 2s);
  EXPECT_EQ(parsed("0"), 0s);
  EXPECT_EQ(parsed("0s"), 0s);
  EXPECT_EQ(parsed(".5s"), 500ms);
  EXPECT_EQ(parsed("1.s"), 1s);
  EXPECT_EQ(parsed("2h45m10.5s"), 2h + 45min + 10500ms);
  EXPECT_EQ(parsed(" 5s "), 5s);
}

TEST(Duration, BareIntegersAreSeconds) {
  EXPECT_EQ(parsed("60"), 60s);
  EXPECT_EQ(parsed("-1"), -1s);
  EXPECT_EQ(parsed("0"), 0s);
}

TEST(Duration, Errors) {
  std::string error;
  EXPECT_FALSE(Duration::parse("", &error));
  EXPECT_FALSE(Duration::parse("1.5", &error)); // a fraction needs a unit
  EXPECT_NE(error.find("missing unit"), std::string::npos) << error;
  EXPECT_FALSE(Duration::parse("10x", &error));
  EXPECT_NE(error.find("unknown unit 'x'"), std::string::npos) << error;
  EXPECT_FALSE(Duration::parse("s", &error));
  EXPECT_FALSE(Duration::parse("abc", &error));
  EXPECT_FALSE(Duration::parse("1s2", &error));
  EXPECT_FALSE(Duration::parse("--1s", &error));
  EXPECT_FALSE(Duration::parse("9999999999999999999h", &error));
  EXPECT_NE(error.find("out of range"), std::string::npos) << error;
  EXPECT_FALSE(Duration::parse("99999999999999999999", &error));
  EXPECT_FALSE(Duration::parse("3000000h", &error)); // > 292 years
}

TEST(Duration, ToStringMatchesGo) {
  EXPECT_EQ(Duration(0s).toString(), "0s");
  EXPECT_EQ(Duration(90s).toString(), "1m30s");
  EXPECT_EQ(Duration(1h).toString(), "1h0m0s");
  EXPECT_EQ(Duration(100ms).toString(), "100ms");
  EXPECT_EQ(Duration(1500us).toString(), "1.5ms");
  EXPECT_EQ(Duration(300us).toString(), "300\xC2\xB5s");
  EXPECT_EQ(Duration(42ns).toString(), "42ns");
  EXPECT_EQ(Duration(-1s).toString(), "-1s");
  EXPECT_EQ(Duration(10500ms).toString(), "10.5s");
}

TEST(Duration, RoundTrip) {
  for (const char* text : {"1h2m3s", "250ms", "1.5s", "-3m"})
    EXPECT_EQ(parsed(Duration::parse(text)->toString()), parsed(text)) << text;
}

} // namespace
} // namespace causeway::config
