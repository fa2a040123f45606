// OTLP JSON → protobuf (observe/otlp_protobuf.h): field numbers, wire types, hex ids, 64-bit
// strings, packed repeated fields, and errors.
#include "observe/otlp_protobuf.h"

#include <gtest/gtest.h>

#include <string>

using causeway::observe::OtlpSignal;
using causeway::observe::otlpJsonToProtobuf;

namespace {

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(char(v));
  return out;
}

}  // namespace

TEST(OtlpProtobuf, SpanFields) {
  std::string out, error;
  ASSERT_TRUE(otlpJsonToProtobuf(
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102","name":"a","kind":2,"startTimeUnixNano":"1","unknown":true}]}]}]})",
      OtlpSignal::Traces, out, error))
      << error;
  std::string span = bytes({0x0a, 2, 1, 2, 0x2a, 1, 'a', 0x30, 2, 0x39, 1, 0, 0, 0, 0, 0, 0, 0});
  std::string scopeSpans = bytes({0x12, int(span.size())}) + span;
  std::string resourceSpans = bytes({0x12, int(scopeSpans.size())}) + scopeSpans;
  EXPECT_EQ(out, bytes({0x0a, int(resourceSpans.size())}) + resourceSpans);
}

TEST(OtlpProtobuf, PackedHistogramAndLogs) {
  std::string out, error;
  ASSERT_TRUE(otlpJsonToProtobuf(
      R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"histogram":{"dataPoints":[{"bucketCounts":["1","2"],"explicitBounds":[0.5]}]}}]}]}]})",
      OtlpSignal::Metrics, out, error))
      << error;
  // bucket_counts: field 6, packed fixed64 (16 bytes); explicit_bounds: field 7, packed double.
  EXPECT_NE(out.find(bytes({0x32, 16, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0})), std::string::npos);
  EXPECT_NE(out.find(bytes({0x3a, 8, 0, 0, 0, 0, 0, 0, 0xe0, 0x3f})), std::string::npos);
  ASSERT_TRUE(otlpJsonToProtobuf(
      R"({"resourceLogs":[{"scopeLogs":[{"logRecords":[{"severityNumber":17,"body":{"stringValue":"x"}}]}]}]})",
      OtlpSignal::Logs, out, error))
      << error;
  EXPECT_NE(out.find(bytes({0x10, 17, 0x2a, 3, 0x0a, 1, 'x'})), std::string::npos);
}

TEST(OtlpProtobuf, Errors) {
  std::string out, error;
  EXPECT_FALSE(otlpJsonToProtobuf("{", OtlpSignal::Traces, out, error));
  EXPECT_FALSE(otlpJsonToProtobuf(R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]})",
                                  OtlpSignal::Traces, out, error));
  EXPECT_FALSE(otlpJsonToProtobuf(R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"name":5}]}]}]})",
                                  OtlpSignal::Traces, out, error));
  EXPECT_EQ(error, "name: unexpected JSON type");
}
