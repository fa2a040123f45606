// Evaluation of one leaf matcher against a request (the semantics of Traefik's
// pkg/muxer/http/matcher.go and matcher_v2.go, re-expressed over MatchInput).

#include <re2/re2.h>

#include "core/strings.h"
#include "router/query_string.h"
#include "router/rule.h"
#include "router/rule_program.h"

namespace causeway::router::detail {

namespace {

bool regexFinds(const re2::RE2& regex, std::string_view text) {
  return re2::RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), regex);
}

// Go's net/http moves the Host field into Request.Host and removes it from Request.Header,
// so Traefik's Header matchers never see it.
bool isHostField(std::string_view name) {
  return iequals(name, "host");
}

bool headerEquals(const http::Headers* headers, std::string_view name, std::string_view value) {
  if (headers == nullptr || isHostField(name)) return false;
  for (const auto& field : *headers)
    if (field.value == value && iequals(field.name, name)) return true;
  return false;
}

bool headerFinds(const http::Headers* headers, std::string_view name, const re2::RE2& regex) {
  if (headers == nullptr || isHostField(name)) return false;
  for (const auto& field : *headers)
    if (iequals(field.name, name) && regexFinds(regex, field.value)) return true;
  return false;
}

// The host minus its first label, including the dot (".example.com" for "a.example.com"),
// or "" when the host has a single label. Go's DomainMatchHostExpression replaces the first
// label with '*' and compares, which is the same as comparing this with the expression
// minus its '*'.
std::string_view afterFirstLabel(std::string_view host) {
  size_t dot = host.find('.');
  return dot == std::string_view::npos ? std::string_view() : host.substr(dot);
}

bool queryEquals(std::string_view rawQuery, std::string_view key, std::string_view value) {
  return forEachQueryPair(rawQuery, [&](std::string_view rawKey, std::string_view rawValue) {
    return queryUnescapedEquals(rawKey, key) && queryUnescapedEquals(rawValue, value);
  });
}

bool queryFinds(std::string_view rawQuery, std::string_view key, const re2::RE2& regex) {
  std::string decoded;
  return forEachQueryPair(rawQuery, [&](std::string_view rawKey, std::string_view rawValue) {
    if (!queryUnescapedEquals(rawKey, key)) return false;
    if (!needsQueryUnescape(rawValue)) return regexFinds(regex, rawValue);
    decoded.clear();
    appendQueryUnescaped(rawValue, decoded);
    return regexFinds(regex, decoded);
  });
}

// '*' matches any run of characters (also none); everything else matches itself.
bool globMatches(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// gorilla/mux Queries: only the first value of the key counts, matched as "key=value".
bool queryTemplateFinds(std::string_view rawQuery, std::string_view key, const re2::RE2& regex) {
  bool matched = false;
  forEachQueryPair(rawQuery, [&](std::string_view rawKey, std::string_view rawValue) {
    if (!queryUnescapedEquals(rawKey, key)) return false;
    std::string text;
    text.reserve(key.size() + 1 + rawValue.size());
    text.append(key).push_back('=');
    appendQueryUnescaped(rawValue, text);
    matched = regexFinds(regex, text);
    return true;
  });
  return matched;
}

} // namespace

bool Matcher::matches(const MatchInput& input) const {
  switch (kind) {
  case MatcherKind::Always:
    return true;
  case MatcherKind::HostExact:
    return !input.host.empty() && input.host == value;
  case MatcherKind::HostWildcard:
    return !input.host.empty() && afterFirstLabel(input.host) == value;
  case MatcherKind::HostPattern:
    return regexFinds(regex(), input.host);
  case MatcherKind::Path:
    return input.path == value;
  case MatcherKind::PathPrefix:
    return input.path.starts_with(value);
  case MatcherKind::PathPattern:
    return regexFinds(regex(), input.path);
  case MatcherKind::Method:
    return input.method == value;
  case MatcherKind::Header:
    return headerEquals(input.headers, key(), value);
  case MatcherKind::HeaderPattern:
    return headerFinds(input.headers, key(), regex());
  case MatcherKind::Query:
    return queryEquals(input.rawQuery, key(), value);
  case MatcherKind::QueryPattern:
    return queryFinds(input.rawQuery, key(), regex());
  case MatcherKind::QueryTemplate:
    return queryTemplateFinds(input.rawQuery, key(), regex());
  case MatcherKind::ClientIp:
    return input.clientIp != nullptr && extra->network.contains(*input.clientIp);
  case MatcherKind::Model:
    return input.modelUnread || (!input.model.empty() && globMatches(value, input.model));
  case MatcherKind::Alpn:
    if (input.alpn)
      for (const std::string& protocol : *input.alpn)
        if (protocol == value) return true;
    return false;
  }
  return false;
}

} // namespace causeway::router::detail
