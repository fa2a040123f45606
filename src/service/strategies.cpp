#include "service/strategies.h"

#include <openssl/evp.h>

#include <charconv>
#include <cmath>
#include <limits>

#include "core/strings.h"

namespace causeway::service {

EdfSchedule::EdfSchedule(std::span<const int> weights) : deadlines_(weights.size(), 0) {
  for (size_t i = 0; i < weights.size(); ++i) {
    if (weights[i] <= 0) continue;
    current_ += 1.0 / weights[i];
    deadlines_[i] = current_;
  }
}

size_t EdfSchedule::pick(std::span<const size_t> candidates, std::span<const int> weights) {
  size_t selected = candidates[0];
  double earliest = std::numeric_limits<double>::max();
  for (size_t index : candidates) {
    if (deadlines_[index] < earliest) {
      earliest = deadlines_[index];
      selected = index;
    }
  }
  double next = earliest + 1.0 / std::max(weights[selected], 1);
  deadlines_[selected] = next;
  current_ = std::max(current_, next);
  return selected;
}

uint64_t fnv1Hash64(std::string_view data) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : data) {
    hash *= 1099511628211ull;
    hash ^= c;
  }
  return hash;
}

uint64_t fnv1aHash64(std::string_view data) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : data) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

double hrwScore(std::string_view key, std::string_view name, double weight) {
  uint64_t hash = 14695981039346656037ull;
  for (std::string_view part : {key, name}) {
    for (unsigned char c : part) {
      hash ^= c;
      hash *= 1099511628211ull;
    }
  }
  double score = double(hash) / 18446744073709551616.0;  // 2^64
  double logScore = 1.0 / -std::log(score);
  return logScore * weight;
}

namespace {

std::string digestHex(const EVP_MD* md, std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, md, nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(size_t(length) * 2, '0');
  for (unsigned int i = 0; i < length; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 15];
  }
  return out;
}

}  // namespace

std::string sha1Hex(std::string_view data) {
  return digestHex(EVP_sha1(), data);
}
std::string sha256Hex(std::string_view data) {
  return digestHex(EVP_sha256(), data);
}

std::string hexNumber(uint64_t value) {
  char buf[20];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, 16);
  return std::string(buf, size_t(end - buf));
}

}  // namespace causeway::service
