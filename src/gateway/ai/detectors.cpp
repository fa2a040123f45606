#include "gateway/ai/detectors.h"

#include <re2/re2.h>

#include <algorithm>

#include "core/strings.h"

namespace causeway::gateway::ai {
namespace {

std::string digitsOf(std::string_view s) {
  std::string digits;
  for (char c : s)
    if (c >= '0' && c <= '9') digits += c;
  return digits;
}

bool luhn(std::string_view match) {
  std::string digits = digitsOf(match);
  if (digits.size() < 13 || digits.size() > 19) return false;
  int sum = 0;
  bool twice = false;
  for (size_t i = digits.size(); i-- > 0;) {
    int d = digits[i] - '0';
    if (twice) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    twice = !twice;
  }
  return sum % 10 == 0;
}

bool ibanChecksum(std::string_view match) {
  std::string compact;
  for (char c : match)
    if (c != ' ') compact += c;
  if (compact.size() < 15 || compact.size() > 34) return false;
  std::string rotated = compact.substr(4) + compact.substr(0, 4);
  int remainder = 0;
  for (char c : rotated) {
    int value = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'Z' ? c - 'A' + 10 : -1;
    if (value < 0) return false;
    remainder = value >= 10 ? (remainder * 100 + value) % 97 : (remainder * 10 + value) % 97;
  }
  return remainder == 1;
}

bool phoneDigits(std::string_view match) {
  size_t n = digitsOf(match).size();
  return n >= 9 && n <= 15;
}

struct BuiltIn {
  std::string_view name;
  std::string_view pattern;
  bool (*confirm)(std::string_view);
};

constexpr BuiltIn kBuiltIns[] = {
    {"email", R"([A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24})", nullptr},
    {"creditCard", R"(\b(?:\d[ -]?){12,18}\d\b)", luhn},
    {"iban", R"(\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b)", ibanChecksum},
    {"usSsn", R"(\b\d{3}-\d{2}-\d{4}\b)", nullptr},
    {"ukNino", R"(\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b)", nullptr},
    {"phone", R"((?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){2,5})", phoneDigits},
    {"ipAddress",
     R"(\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b|\b(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}\b)",
     nullptr},
    {"apiKey",
     R"(\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}|\bAKIA[0-9A-Z]{16}\b|\bgh[pousr]_[A-Za-z0-9]{36}\b|\bxox[abprs]-[A-Za-z0-9-]{10,}|\bAIza[0-9A-Za-z_-]{35}\b|-----BEGIN [A-Z ]*PRIVATE KEY-----)",
     nullptr},
};

std::shared_ptr<const re2::RE2> compile(std::string_view pattern, std::string& error) {
  re2::RE2::Options options;
  options.set_log_errors(false);
  auto regex = std::make_shared<const re2::RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!regex->ok()) {
    error = regex->error();
    return nullptr;
  }
  return regex;
}

}  // namespace

std::optional<Detector> builtInDetector(std::string_view name) {
  for (const BuiltIn& b : kBuiltIns) {
    if (!iequals(b.name, name)) continue;
    std::string error;
    auto regex = compile(b.pattern, error);
    if (!regex) return std::nullopt;  // our patterns compile (detectors_test checks each)
    return Detector{std::string(b.name), std::move(regex), b.confirm};
  }
  return std::nullopt;
}

std::vector<std::string_view> builtInDetectorNames() {
  std::vector<std::string_view> names;
  for (const BuiltIn& b : kBuiltIns) names.push_back(b.name);
  return names;
}

std::optional<Detector> customDetector(std::string name, const std::string& pattern, std::string& error) {
  auto regex = compile(pattern, error);
  if (!regex) return std::nullopt;
  return Detector{std::move(name), std::move(regex), nullptr};
}

std::vector<Finding> scan(const std::vector<Detector>& detectors, std::string_view text) {
  // `findings` stays sorted by offset and free of overlaps: each detector's matches (found in
  // increasing order, never overlapping each other) are checked against it by binary search and
  // merged in after the detector, so a text full of matches costs O(n log n), not O(n²).
  std::vector<Finding> findings;
  std::vector<Finding> mine;
  auto byOffset = [](const Finding& a, const Finding& b) { return a.offset < b.offset; };
  auto taken = [&](size_t offset, size_t length) {
    auto next = std::lower_bound(findings.begin(), findings.end(), Finding{offset, 0, nullptr}, byOffset);
    if (next != findings.end() && next->offset < offset + length) return true;
    return next != findings.begin() && std::prev(next)->offset + std::prev(next)->length > offset;
  };
  for (const Detector& d : detectors) {
    re2::StringPiece input(text.data(), text.size());
    re2::StringPiece match;
    size_t start = 0;
    mine.clear();
    while (start <= text.size() &&
           d.regex->Match(input, start, text.size(), re2::RE2::UNANCHORED, &match, 1)) {
      size_t offset = size_t(match.data() - text.data());
      size_t length = match.size();
      std::string_view found = text.substr(offset, length);
      if (length > 0 && !taken(offset, length) && (!d.confirm || d.confirm(found)))
        mine.push_back({offset, length, &d});
      start = offset + std::max<size_t>(length, 1);
    }
    size_t middle = findings.size();
    findings.insert(findings.end(), mine.begin(), mine.end());
    std::inplace_merge(findings.begin(), findings.begin() + std::ptrdiff_t(middle), findings.end(), byOffset);
  }
  return findings;
}

bool mask(const std::vector<Detector>&, std::string& text, const std::vector<Finding>& findings) {
  if (findings.empty()) return false;
  std::string out;
  size_t at = 0;
  for (const Finding& f : findings) {
    out.append(text, at, f.offset - at);
    out += "[REDACTED:" + f.detector->name + "]";
    at = f.offset + f.length;
  }
  out.append(text, at, std::string::npos);
  text = std::move(out);
  return true;
}

}  // namespace causeway::gateway::ai
