#include "service/sticky_cookie.h"

#include "core/strings.h"
#include "http/h1/char_class.h"
#include "service/strategies.h"

namespace causeway::service {
namespace {

bool isToken(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (!http::chars::isTchar(char(c))) return false;
  return true;
}

// Traefik's sanitizeName: RFC 2616 token characters are kept, everything else becomes '_'.
// (It works on runes: a multi-byte UTF-8 character becomes one '_'.)
std::string sanitizeName(std::string_view name) {
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    if (c >= 0x80) {
      size_t length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
      i += length - 1;
      out += '_';
      continue;
    }
    bool kept = http::chars::isTchar(char(c));  // '_' stays '_' either way
    out += kept ? char(c) : '_';
  }
  return out;
}

// Go's isCookieDomainName.
bool isCookieDomainName(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  if (s[0] == '.') s.remove_prefix(1);
  char last = '.';
  bool ok = false;
  int partLength = 0;
  for (char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {  // no '_' (unlike package net)
      ok = true;
      ++partLength;
    } else if (c >= '0' && c <= '9') {
      ++partLength;
    } else if (c == '-') {
      if (last == '.') return false;
      ++partLength;
    } else if (c == '.') {
      if (last == '.' || last == '-') return false;
      if (partLength > 63 || partLength == 0) return false;
      partLength = 0;
    } else {
      return false;
    }
    last = c;
  }
  return last != '-' && partLength <= 63 && ok;
}

bool isIpv4Literal(std::string_view s) {
  int parts = 0, digits = 0;
  for (char c : s) {
    if (c == '.') {
      if (digits == 0) return false;
      ++parts;
      digits = 0;
    } else if (c >= '0' && c <= '9') {
      if (++digits > 3) return false;
    } else {
      return false;
    }
  }
  return parts == 3 && digits > 0;
}

bool validCookieValueByte(unsigned char b) {
  return b >= 0x20 && b < 0x7f && b != '"' && b != ';' && b != '\\';
}

// Go's parseCookieValue with allowDoubleQuote: strips one pair of quotes.
std::optional<std::string_view> parseCookieValue(std::string_view raw) {
  if (raw.size() > 1 && raw.front() == '"' && raw.back() == '"')
    raw = raw.substr(1, raw.size() - 2);
  for (unsigned char c : raw)
    if (!validCookieValueByte(c)) return std::nullopt;
  return raw;
}

std::string_view trimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

std::string defaultStickyCookieName(std::string_view qualifiedService) {
  std::string data = "_TRAEFIK_BACKEND_";
  data.append(qualifiedService);
  return ("_" + sha1Hex(data)).substr(0, 6);
}

std::string stickyCookieName(std::string_view configured, std::string_view qualifiedService) {
  if (!configured.empty()) return sanitizeName(configured);
  return defaultStickyCookieName(qualifiedService);
}

std::string stickyCookieValue(std::string_view childName) {
  return sha256Hex(childName).substr(0, 16);
}

StickyCookieOptions StickyCookieOptions::from(const config::Cookie& cookie,
                                              std::string_view qualifiedService) {
  StickyCookieOptions options;
  options.name = stickyCookieName(cookie.name, qualifiedService);
  options.path = cookie.path;
  options.domain = cookie.domain;
  options.maxAge = cookie.maxAge;
  options.secure = cookie.secure;
  options.httpOnly = cookie.httpOnly;
  options.sameSite = cookie.sameSite;
  return options;
}

std::string StickyCookieOptions::render(std::string_view value) const {
  if (!isToken(name)) return {};
  std::string out = name;
  out += '=';
  for (unsigned char c : value)
    if (validCookieValueByte(c)) out += char(c);
  if (!path.empty()) {
    std::string clean;
    for (unsigned char c : path)
      if (c >= 0x20 && c < 0x7f && c != ';') clean += char(c);
    out += "; Path=" + clean;
  }
  if (!domain.empty() && (isCookieDomainName(domain) || isIpv4Literal(domain))) {
    out += "; Domain=";
    out.append(domain[0] == '.' ? std::string_view(domain).substr(1) : std::string_view(domain));
  }
  if (maxAge > 0)
    out += "; Max-Age=" + std::to_string(maxAge);
  else if (maxAge < 0)
    out += "; Max-Age=0";
  if (httpOnly) out += "; HttpOnly";
  if (secure) out += "; Secure";
  if (iequals(sameSite, "none"))
    out += "; SameSite=None";
  else if (iequals(sameSite, "lax"))
    out += "; SameSite=Lax";
  else if (iequals(sameSite, "strict"))
    out += "; SameSite=Strict";
  return out;
}

std::optional<std::string_view> findCookie(const http::Headers& headers, std::string_view name) {
  for (const auto& field : headers) {
    if (!iequals(field.name, "Cookie")) continue;
    std::string_view line = trimSpaces(field.value);
    while (!line.empty()) {
      size_t semicolon = line.find(';');
      std::string_view part = trimSpaces(line.substr(0, semicolon));
      line = semicolon == std::string_view::npos ? std::string_view() : line.substr(semicolon + 1);
      if (part.empty()) continue;
      size_t equals = part.find('=');
      std::string_view cookieName = trimSpaces(part.substr(0, equals));
      if (cookieName != name || !isToken(cookieName)) continue;
      std::string_view raw =
          equals == std::string_view::npos ? std::string_view() : part.substr(equals + 1);
      if (auto value = parseCookieValue(raw)) return value;
    }
  }
  return std::nullopt;
}

std::string StickyTable::add(std::string_view childName, size_t index) {
  std::string value = stickyCookieValue(childName);
  current_.emplace(value, index);
  compatible_.emplace(std::string(childName), index);
  std::string fnv = hexNumber(fnv1Hash64(childName));
  compatible_.emplace(hexNumber(fnv1Hash64(fnv)), index);
  compatible_.emplace(std::move(fnv), index);
  return options_.render(value);
}

std::optional<StickyTable::Match> StickyTable::find(const http::Headers& headers) const {
  auto value = findCookie(headers, options_.name);
  if (!value) return std::nullopt;
  if (auto it = current_.find(*value); it != current_.end()) return Match{it->second, false};
  if (auto it = compatible_.find(*value); it != compatible_.end()) return Match{it->second, true};
  return std::nullopt;
}

}  // namespace causeway::service
