#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "observe/access_log.h"
#include "observe/access_log_format.h"

namespace causeway::observe {
namespace {

namespace json = boost::json;

LogRecord sampleRecord(std::vector<LogHeader>* requestHeaders = nullptr) {
  LogRecord r;
  r.startUnixNanos = 1709211845123456789;  // 2024-02-29T13:04:05.123456789Z
  r.nowUnixNanos = r.startUnixNanos + 12345678;
  r.durationNanos = 12345678;
  r.entryPointName = "web";
  r.routerName = "whoami@file";
  r.serviceName = "whoami@file";
  r.serviceUrl = "http://10.0.0.7:8080";
  r.serviceAddr = "10.0.0.7:8080";
  r.clientAddr = "192.0.2.1:54321";
  r.clientHost = "192.0.2.1";
  r.clientPort = "54321";
  r.clientUsername = "alice";
  r.requestAddr = "example.com:8000";
  r.requestHost = "example.com";
  r.requestPort = "8000";
  r.requestMethod = "GET";
  r.requestPath = "/a/b?x=1";
  r.requestProtocol = "HTTP/1.1";
  r.requestScheme = "http";
  r.requestContentSize = 3;
  r.originDurationNanos = 10000000;
  r.originContentSize = 42;
  r.originStatus = 200;
  r.downstreamStatus = 200;
  r.downstreamContentSize = 42;
  r.requestCount = 7;
  r.overheadNanos = 2345678;
  r.retryAttempts = 1;
  r.requestHeaders = requestHeaders;
  return r;
}

TEST(AccessLogFormatTest, CommonLineIsTraefiks) {
  std::vector<LogHeader> headers = {{"Referer", "http://ref.example/"}, {"User-Agent", "curl/8 \"x\""}};
  std::string out;
  formatCommon(sampleRecord(&headers), kAllFields, out);
  EXPECT_EQ(out,
            "192.0.2.1 - alice [29/Feb/2024:13:04:05 +0000] \"GET /a/b?x=1 HTTP/1.1\" 200 42 "
            "\"http://ref.example/\" \"curl/8 \\\"x\\\"\" 7 \"whoami@file\" \"http://10.0.0.7:8080\" 12ms\n");
}

TEST(AccessLogFormatTest, CommonLineWithoutHeadersRouterOrService) {
  LogRecord r = sampleRecord();
  r.routerName = {};
  r.serviceName = r.serviceUrl = r.serviceAddr = {};
  r.clientUsername = "-";
  std::string out;
  formatCommon(r, kAllFields, out);
  EXPECT_EQ(out,
            "192.0.2.1 - - [29/Feb/2024:13:04:05 +0000] \"GET /a/b?x=1 HTTP/1.1\" 200 42 \"-\" \"-\" 7 \"-\" \"-\" "
            "12ms\n");
}

TEST(AccessLogFormatTest, GenericClfStopsAfterUserAgent) {
  std::vector<LogHeader> headers = {{"User-Agent", "ua"}};
  std::string out;
  formatGenericClf(sampleRecord(&headers), kAllFields, out);
  EXPECT_EQ(out, "192.0.2.1 - alice [29/Feb/2024:13:04:05 +0000] \"GET /a/b?x=1 HTTP/1.1\" 200 42 \"-\" \"ua\"\n");
}

TEST(AccessLogFormatTest, DroppedFieldsShowAsDashes) {
  FieldMask keep = kAllFields & ~bit(LogField::ClientHost) & ~bit(LogField::StartUTC) & ~bit(LogField::StartLocal) &
                   ~bit(LogField::Duration) & ~bit(LogField::DownstreamStatus) & ~bit(LogField::RouterName);
  std::string out;
  formatCommon(sampleRecord(), keep, out);
  EXPECT_EQ(out, "- - alice [-] \"GET /a/b?x=1 HTTP/1.1\" - 42 \"-\" \"-\" 7 \"-\" \"http://10.0.0.7:8080\" 0ms\n");
}

TEST(AccessLogFormatTest, ControlCharactersNeverBreakTheLine) {
  LogRecord r = sampleRecord();
  r.clientUsername = "evil\nFAKE LINE\x1b[2J";
  std::string out;
  formatCommon(r, kAllFields, out);
  EXPECT_EQ(out.find('\n'), out.size() - 1);
  EXPECT_NE(out.find("evil\\nFAKE LINE\\x1b[2J"), std::string::npos);
}

TEST(AccessLogFormatTest, JsonHasTraefiksFieldsSortedAndTyped) {
  std::vector<LogHeader> request = {{"Authorization", "REDACTED"}, {"User-Agent", "ua"}};
  std::vector<LogHeader> response = {{"Content-Type", "text/plain"}};
  LogRecord r = sampleRecord(&request);
  r.downstreamHeaders = &response;
  r.tls = true;
  r.tlsVersion = "1.3";
  r.tlsCipher = "TLS_AES_128_GCM_SHA256";
  r.traceId = "0af7651916cd43dd8448eb211c80319c";
  r.spanId = "b7ad6b7169203331";
  std::string out;
  formatJson(r, kAllFields, out);
  ASSERT_EQ(out.back(), '\n');
  json::object o = json::parse(out).as_object();
  EXPECT_EQ(o.at("ClientHost").as_string(), "192.0.2.1");
  EXPECT_EQ(o.at("ClientPort").as_string(), "54321");
  EXPECT_EQ(o.at("DownstreamStatus").as_int64(), 200);
  EXPECT_EQ(o.at("Duration").as_int64(), 12345678);
  EXPECT_EQ(o.at("OriginStatus").as_int64(), 200);
  EXPECT_EQ(o.at("RouterName").as_string(), "whoami@file");
  EXPECT_EQ(o.at("ServiceName").as_string(), "whoami@file");
  EXPECT_EQ(o.at("ServiceAddr").as_string(), "10.0.0.7:8080");
  EXPECT_EQ(o.at("RequestPath").as_string(), "/a/b?x=1");
  EXPECT_EQ(o.at("RequestPort").as_string(), "8000");
  EXPECT_EQ(o.at("RetryAttempts").as_int64(), 1);
  EXPECT_EQ(o.at("StartUTC").as_string(), "2024-02-29T13:04:05.123456789Z");
  EXPECT_EQ(o.at("TLSVersion").as_string(), "1.3");
  EXPECT_EQ(o.at("TraceId").as_string(), "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(o.at("trace_id").as_string(), "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(o.at("span_id").as_string(), "b7ad6b7169203331");
  EXPECT_EQ(o.at("entryPointName").as_string(), "web");
  EXPECT_EQ(o.at("request_Authorization").as_string(), "REDACTED");
  EXPECT_EQ(o.at("downstream_Content-Type").as_string(), "text/plain");
  EXPECT_EQ(o.at("level").as_string(), "info");
  EXPECT_EQ(o.at("msg").as_string(), "");
  EXPECT_EQ(o.at("time").as_string(), "2024-02-29T13:04:05Z");
  EXPECT_FALSE(o.contains("GzipRatio"));
  EXPECT_FALSE(o.contains("TLSClientSubject"));
  // Keys in byte order, as Go's encoding/json writes a map.
  std::string previous;
  for (const auto& entry : o) {
    std::string key(entry.key());
    EXPECT_LT(previous, key);
    previous = key;
  }
}

TEST(AccessLogFormatTest, JsonDropsFieldsByMode) {
  FieldMask keep = bit(LogField::RequestPath) | bit(LogField::DownstreamStatus);
  std::string out;
  formatJson(sampleRecord(), keep, out);
  json::object o = json::parse(out).as_object();
  EXPECT_EQ(o.size(), 5u);  // the two kept, plus level, msg and time
  EXPECT_TRUE(o.contains("RequestPath"));
  EXPECT_TRUE(o.contains("DownstreamStatus"));
}

TEST(AccessLogOptionsTest, FieldsAndHeaderModesFromConfiguration) {
  config::AccessLog c;
  c.format = "json";
  c.fields.defaultMode = "drop";
  c.fields.names = {{"requestpath", "keep"}, {"ClientHost", "keep"}, {"NotAField", "keep"}};
  c.fields.headers.defaultMode = "keep";
  c.fields.headers.names = {{"user-agent", "redact"}, {"X-Secret", "drop"}};
  std::vector<std::string> warnings;
  AccessLogOptions o = AccessLogOptions::from(c, warnings);
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(o.format, LogFormat::Json);
  EXPECT_EQ(o.keep, bit(LogField::RequestPath) | bit(LogField::ClientHost));
  EXPECT_EQ(o.modeOf("User-Agent"), HeaderMode::Redact);
  EXPECT_EQ(o.modeOf("X-Secret"), HeaderMode::Drop);
  EXPECT_EQ(o.modeOf("Accept"), HeaderMode::Keep);

  c.format = "apache";
  AccessLogOptions fallback = AccessLogOptions::from(c, warnings);
  EXPECT_EQ(fallback.format, LogFormat::Common);
  ASSERT_EQ(warnings.size(), 1u);
}

TEST(AccessLogOptionsTest, FiltersAreOred) {
  config::AccessLog c;
  c.filters.emplace();
  c.filters->statusCodes = {"200", "300-302", " 404 "};
  c.filters->retryAttempts = true;
  c.filters->minDuration = std::chrono::milliseconds(100);
  std::vector<std::string> warnings;
  AccessLogOptions o = AccessLogOptions::from(c, warnings);
  EXPECT_TRUE(o.keepLine(200, 0, 0));
  EXPECT_TRUE(o.keepLine(301, 0, 0));
  EXPECT_TRUE(o.keepLine(404, 0, 0));
  EXPECT_FALSE(o.keepLine(303, 0, 0));
  EXPECT_TRUE(o.keepLine(500, 2, 0));
  EXPECT_TRUE(o.keepLine(500, 0, 200'000'000));
  EXPECT_FALSE(o.keepLine(500, 0, 100'000'000));  // "slower than": strictly
  config::AccessLog none;
  none.filters.emplace();  // `filters: {}` keeps everything
  EXPECT_TRUE(AccessLogOptions::from(none, warnings).keepLine(500, 0, 0));
}

TEST(AccessLogOptionsTest, StatusRanges) {
  std::vector<std::pair<int, int>> ranges;
  std::string error;
  EXPECT_TRUE(parseStatusRanges({"200", "500-599"}, ranges, error));
  EXPECT_EQ(ranges, (std::vector<std::pair<int, int>>{{200, 200}, {500, 599}}));
  EXPECT_FALSE(parseStatusRanges({"2xx"}, ranges, error));
  EXPECT_FALSE(parseStatusRanges({"200-"}, ranges, error));
  EXPECT_FALSE(parseStatusRanges({"1-2-3"}, ranges, error));
  EXPECT_TRUE(ranges.empty());
}

}  // namespace
}  // namespace causeway::observe
