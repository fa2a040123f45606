// AWS Signature Version 4 for one HTTP request (docs.aws.amazon.com, "Create a signed AWS API
// request"): what Bedrock requires when it is called with IAM credentials. The canonical
// request signs the method, the path (each segment URI-encoded once more, as every service but
// S3 expects), the sorted query, the host, content-type, x-amz-date and x-amz-security-token
// headers, and the SHA-256 of the body.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace causeway::gateway::ai {

struct AwsCredentials {
  std::string accessKeyId;
  std::string secretAccessKey;
  std::string sessionToken;  // empty for long-term keys
};

struct SignedHeaders {
  std::string amzDate;        // X-Amz-Date: 20260101T000000Z
  std::string securityToken;  // X-Amz-Security-Token (empty: none)
  std::string authorization;  // Authorization
};

// `path` as sent (already percent-encoded), `query` without '?'.
SignedHeaders signV4(const AwsCredentials& credentials, std::string_view region, std::string_view service,
                     std::string_view method, std::string_view host, std::string_view path, std::string_view query,
                     std::string_view contentType, std::string_view body, std::chrono::system_clock::time_point now);

// RFC 3986 percent-encoding of everything but unreserved characters (and '/' when keepSlash).
std::string uriEncode(std::string_view text, bool keepSlash);

}  // namespace causeway::gateway::ai
