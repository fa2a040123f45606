
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "observe/text_format.h"

namespace causeway::observe {
namespace {

std::string goFloat(double v) {
  std::string out;
  appendGoFloat(out, v);
  return out;
}

std::string jsonFloat(double v) {
  std::string out;
  appendJsonFloat(out, v);
  return out;
}

std::string json(std::string_view s) {
  std::string out;
  appendJsonString(out, s);
  return out;
}

// strconv.FormatFloat(v, 'g', -1, 64), as the Prometheus Go client prints samples and `le`.
TEST(TextFormatTest, GoFloatMatchesStrconvShortestG) {
  EXPECT_EQ(goFloat(0), "0");
  EXPECT_EQ(goFloat(1), "1");
  EXPECT_EQ(goFloat(3), "3");
  EXPECT_EQ(goFloat(0.1), "0.1");
  EXPECT_EQ(goFloat(0.3), "0.3");
  EXPECT_EQ(goFloat(1.2), "1.2");
  EXPECT_EQ(goFloat(5), "5");
  EXPECT_EQ(goFloat(123456), "123456");
  EXPECT_EQ(goFloat(1e6), "1e+06");
  EXPECT_EQ(goFloat(1234567), "1.234567e+06");
  EXPECT_EQ(goFloat(1.795778176e9), "1.795778176e+09");
  EXPECT_EQ(goFloat(0.0001), "0.0001");
  EXPECT_EQ(goFloat(0.00001), "1e-05");
  EXPECT_EQ(goFloat(0.001735437), "0.001735437");
  EXPECT_EQ(goFloat(-2.5), "-2.5");
  EXPECT_EQ(goFloat(1e21), "1e+21");
  EXPECT_EQ(goFloat(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(goFloat(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(goFloat(std::nan("")), "NaN");
}

// encoding/json: 'f' unless < 1e-6 or >= 1e21, exponent without leading zero.
TEST(TextFormatTest, JsonFloatMatchesEncodingJson) {
  EXPECT_EQ(jsonFloat(0), "0");
  EXPECT_EQ(jsonFloat(1.5), "1.5");
  EXPECT_EQ(jsonFloat(2), "2");
  EXPECT_EQ(jsonFloat(1234567), "1234567");
  EXPECT_EQ(jsonFloat(1e20), "100000000000000000000");
  EXPECT_EQ(jsonFloat(1e21), "1e+21");
  EXPECT_EQ(jsonFloat(0.0000001), "1e-7");
  EXPECT_EQ(jsonFloat(0.000001), "0.000001");
}

TEST(TextFormatTest, JsonStringEscapesLikeGo) {
  EXPECT_EQ(json("plain"), "\"plain\"");
  EXPECT_EQ(json("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(json("l1\nl2\r\t"), "\"l1\\nl2\\r\\t\"");
  EXPECT_EQ(json(std::string_view("\x1b[31m\0", 6)), "\"\\u001b[31m\\u0000\"");
  EXPECT_EQ(json("<a href=x>&"), "\"\\u003ca href=x\\u003e\\u0026\"");
  EXPECT_EQ(json("caf\xc3\xa9"), "\"caf\xc3\xa9\"");            // valid UTF-8 kept
  EXPECT_EQ(json("bad\xff\xfe"), "\"bad\\ufffd\\ufffd\"");      // invalid bytes replaced
  EXPECT_EQ(json("\xe2\x80\xa8"), "\"\\u2028\"");
  EXPECT_EQ(json("\xc0\x80"), "\"\\ufffd\\ufffd\"");           // overlong NUL
}

TEST(TextFormatTest, LogTextEscapesControlCharacters) {
  std::string out;
  appendLogText(out, "GET / HTTP/1.1\r\nInjected: 1\x1b[0m", false);
  EXPECT_EQ(out, "GET / HTTP/1.1\\r\\nInjected: 1\\x1b[0m");
  out.clear();
  appendLogText(out, "say \"hi\"\n", true);
  EXPECT_EQ(out, "say \\\"hi\\\"\\n");
  EXPECT_EQ(out.find('\n'), std::string::npos);
}

TEST(TextFormatTest, PrometheusEscaping) {
  std::string out;
  appendLabelValue(out, "a\\b\"c\nd");
  EXPECT_EQ(out, "a\\\\b\\\"c\\nd");
  out.clear();
  appendHelpText(out, "x\\y\nz\"");
  EXPECT_EQ(out, "x\\\\y\\nz\"");
}

TEST(TextFormatTest, GoTimeLayouts) {
  // 2024-02-29T13:04:05.123456789Z
  const int64_t t = 1709211845123456789;
  std::string out;
  appendClfTime(out, t, 0);
  EXPECT_EQ(out, "29/Feb/2024:13:04:05 +0000");
  out.clear();
  appendClfTime(out, t, -5 * 3600 - 30 * 60);
  EXPECT_EQ(out, "29/Feb/2024:07:34:05 -0530");
  out.clear();
  appendRfc3339Nano(out, t, 0);
  EXPECT_EQ(out, "2024-02-29T13:04:05.123456789Z");
  out.clear();
  appendRfc3339Nano(out, 1709211845120000000, 3600);
  EXPECT_EQ(out, "2024-02-29T14:04:05.12+01:00");
  out.clear();
  appendRfc3339Nano(out, 1709211845000000000, 0);
  EXPECT_EQ(out, "2024-02-29T13:04:05Z");
  out.clear();
  appendRfc3339(out, t, 0);
  EXPECT_EQ(out, "2024-02-29T13:04:05Z");
  out.clear();
  appendClfTime(out, 0, 0);
  EXPECT_EQ(out, "01/Jan/1970:00:00:00 +0000");
}
}  // namespace
}  // namespace causeway::observe
