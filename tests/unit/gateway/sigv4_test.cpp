// AWS Signature Version 4 against AWS's own worked example ("Create a signed AWS API request",
// the IAM ListUsers request of 2015-08-30), and the path encoding Bedrock's model ids need.
#include <gtest/gtest.h>

#include "gateway/ai/sigv4.h"

namespace causeway::gateway::ai {
namespace {

std::chrono::system_clock::time_point at20150830T123600Z() {
  std::tm t{};
  t.tm_year = 2015 - 1900;
  t.tm_mon = 7;
  t.tm_mday = 30;
  t.tm_hour = 12;
  t.tm_min = 36;
  return std::chrono::system_clock::from_time_t(timegm(&t));
}

TEST(SigV4Test, AwsDocumentedExample) {
  AwsCredentials credentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
  SignedHeaders s = signV4(credentials, "us-east-1", "iam", "GET", "iam.amazonaws.com", "/",
                           "Version=2010-05-08&Action=ListUsers", "application/x-www-form-urlencoded; charset=utf-8", "",
                           at20150830T123600Z());
  EXPECT_EQ(s.amzDate, "20150830T123600Z");
  EXPECT_EQ(s.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date, "
            "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
}

TEST(SigV4Test, SessionTokenIsSigned) {
  AwsCredentials credentials{"AKID", "secret", "token"};
  SignedHeaders s = signV4(credentials, "us-east-1", "bedrock", "POST", "h", "/", "", "application/json", "{}",
                           at20150830T123600Z());
  EXPECT_EQ(s.securityToken, "token");
  EXPECT_NE(s.authorization.find("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token"), std::string::npos);
}

TEST(SigV4Test, UriEncoding) {
  EXPECT_EQ(uriEncode("anthropic.claude-v1:0", false), "anthropic.claude-v1%3A0");
  EXPECT_EQ(uriEncode("/model/a%3A0/converse", true), "/model/a%253A0/converse");  // encoded once more
}

}  // namespace
}  // namespace causeway::gateway::ai
