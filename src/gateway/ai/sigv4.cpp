#include "gateway/ai/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <ctime>

namespace causeway::gateway::ai {
namespace {

std::string hex(const unsigned char* data, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 15];
  }
  return out;
}

std::string sha256Hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return hex(digest, sizeof digest);
}

std::string hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), key.data(), int(key.size()), reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &n);
  return std::string(reinterpret_cast<const char*>(out), n);
}

}  // namespace

std::string uriEncode(std::string_view text, bool keepSlash) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '_' || c == '.' || c == '~' || (keepSlash && c == '/');
    if (unreserved) {
      out += char(c);
    } else {
      out += '%';
      out += kDigits[c >> 4];
      out += kDigits[c & 15];
    }
  }
  return out;
}

SignedHeaders signV4(const AwsCredentials& credentials, std::string_view region, std::string_view service,
                     std::string_view method, std::string_view host, std::string_view path, std::string_view query,
                     std::string_view contentType, std::string_view body, std::chrono::system_clock::time_point now) {
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char amzDate[17], date[9];
  std::strftime(amzDate, sizeof amzDate, "%Y%m%dT%H%M%SZ", &utc);
  std::strftime(date, sizeof date, "%Y%m%d", &utc);

  // Query parameters sorted by name, each encoded (they arrive encoded: decode nothing, as the
  // callers here send only unreserved characters).
  std::vector<std::string_view> params;
  for (size_t at = 0; at < query.size();) {
    size_t amp = query.find('&', at);
    if (amp == std::string_view::npos) amp = query.size();
    if (amp > at) params.push_back(query.substr(at, amp - at));
    at = amp + 1;
  }
  std::sort(params.begin(), params.end());
  std::string canonicalQuery;
  for (std::string_view p : params) {
    if (!canonicalQuery.empty()) canonicalQuery += '&';
    canonicalQuery += p;
    if (p.find('=') == std::string_view::npos) canonicalQuery += '=';
  }

  SignedHeaders out;
  out.amzDate = amzDate;
  out.securityToken = credentials.sessionToken;
  std::string canonicalHeaders = "content-type:" + std::string(contentType) + "\nhost:" + std::string(host) +
                                 "\nx-amz-date:" + out.amzDate + "\n";
  std::string signedHeaders = "content-type;host;x-amz-date";
  if (!credentials.sessionToken.empty()) {
    canonicalHeaders += "x-amz-security-token:" + credentials.sessionToken + "\n";
    signedHeaders += ";x-amz-security-token";
  }
  std::string canonicalRequest = std::string(method) + "\n" + uriEncode(path, true) + "\n" + canonicalQuery + "\n" +
                                 canonicalHeaders + "\n" + signedHeaders + "\n" + sha256Hex(body);
  std::string scope = std::string(date) + "/" + std::string(region) + "/" + std::string(service) + "/aws4_request";
  std::string toSign = "AWS4-HMAC-SHA256\n" + out.amzDate + "\n" + scope + "\n" + sha256Hex(canonicalRequest);
  std::string key = hmac("AWS4" + credentials.secretAccessKey, date);
  key = hmac(key, region);
  key = hmac(key, service);
  key = hmac(key, "aws4_request");
  std::string signature = hmac(key, toSign);
  out.authorization = "AWS4-HMAC-SHA256 Credential=" + credentials.accessKeyId + "/" + scope +
                      ", SignedHeaders=" + signedHeaders +
                      ", Signature=" + hex(reinterpret_cast<const unsigned char*>(signature.data()), signature.size());
  return out;
}

}  // namespace causeway::gateway::ai
