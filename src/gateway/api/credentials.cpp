#include "gateway/api/credentials.h"

#include <openssl/sha.h>

#include <boost/json.hpp>

#include "core/strings.h"
#include "exchange/body.h"
#include "exchange/exchange.h"
#include "gateway/ai/secret.h"
#include "http/go_text.h"
#include "http/uri.h"

namespace causeway::gateway::api {
namespace {

constexpr int64_t kMaxForm = 1 << 20;

// Calls `each(key, rawPair)` for the pairs of a query or form body; stops when it returns true.
template <class F> void eachPair(std::string_view text, F each) {
  while (!text.empty()) {
    size_t amp = text.find('&');
    std::string_view pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
    if (pair.empty()) continue;
    std::string key;
    if (!http::queryUnescape(pair.substr(0, pair.find('=')), key)) continue;
    if (each(key, pair)) return;
  }
}

std::optional<std::string> parameter(std::string_view text, std::string_view name) {
  std::optional<std::string> found;
  eachPair(text, [&](const std::string& key, std::string_view pair) {
    if (key != name) return false;
    size_t eq = pair.find('=');
    std::string value;
    if (eq != std::string_view::npos && !http::queryUnescape(pair.substr(eq + 1), value))
      return false;
    found = std::move(value);
    return true;
  });
  return found;
}

}  // namespace

std::optional<std::string_view> schemeCredential(const exchange::Exchange& ex,
                                                 std::string_view scheme) {
  const auto& headers = ex.request.headers;
  if (headers.count("Authorization") != 1) return std::nullopt;
  std::string_view value = headers.get("Authorization");
  if (value.size() <= scheme.size() || !istartsWith(value, scheme) || value[scheme.size()] != ' ')
    return std::nullopt;
  return trim(value.substr(scheme.size() + 1));
}

std::optional<std::string> queryParameter(std::string_view query, std::string_view name) {
  return parameter(query, name);
}

std::string withoutParameter(std::string_view query, std::string_view name) {
  std::string out;
  std::string_view rest = query;
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    std::string key;
    if (!pair.empty() && http::queryUnescape(pair.substr(0, pair.find('=')), key) && key == name)
      continue;
    if (pair.empty()) continue;
    if (!out.empty()) out += '&';
    out += pair;
  }
  return out;
}

void removeQueryParameter(exchange::Exchange& ex, std::string_view name) {
  auto& r = ex.request;
  if (!r.hasQuery) return;
  std::string query = withoutParameter(r.query, name);
  r.query = ex.arena.copy(query);
  r.hasQuery = !query.empty();
}

std::optional<std::string_view> cookieValue(const exchange::Exchange& ex, std::string_view name) {
  for (const auto& f : ex.request.headers) {
    if (!iequals(f.name, "Cookie")) continue;
    for (std::string_view part : splitTrimmed(f.value, ';')) {
      size_t eq = part.find('=');
      if (eq == std::string_view::npos || trim(part.substr(0, eq)) != name) continue;
      std::string_view value = trim(part.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
        value = value.substr(1, value.size() - 2);
      return value;
    }
  }
  return std::nullopt;
}

void removeCookie(exchange::Exchange& ex, std::string_view name) {
  auto& headers = ex.request.headers;
  std::vector<std::string_view> kept;
  bool changed = false;
  for (const auto& f : headers) {
    if (!iequals(f.name, "Cookie")) continue;
    std::string value;
    for (std::string_view part : splitTrimmed(f.value, ';')) {
      size_t eq = part.find('=');
      if (eq != std::string_view::npos && trim(part.substr(0, eq)) == name) {
        changed = true;
        continue;
      }
      if (part.empty()) continue;
      if (!value.empty()) value += "; ";
      value += part;
    }
    if (!value.empty()) kept.push_back(ex.arena.copy(value));
  }
  if (!changed) return;
  headers.remove("Cookie");
  for (std::string_view v : kept)
    headers.add("Cookie", v);
}

awaitable<std::optional<std::string>> formField(exchange::Exchange& ex, std::string_view name,
                                                bool remove) {
  auto& r = ex.request;
  if (!r.body ||
      !istartsWith(trim(r.headers.get("Content-Type")), "application/x-www-form-urlencoded"))
    co_return std::nullopt;
  std::string body;
  std::optional<uint64_t> length = r.body->length();
  exchange::ReadResult read = co_await exchange::readBody(*r.body, body, kMaxForm);
  std::string_view kept = ex.arena.copy(body);
  if (read != exchange::ReadResult::Complete) {
    // Not read whole: what was read goes on ahead of the rest, untouched.
    r.body = ex.arena.make<exchange::PrefixedBody>(kept, exchange::restOf(ex.arena, read, r.body),
                                                   length);
    co_return std::nullopt;
  }
  std::optional<std::string> value = parameter(kept, name);
  if (value && remove) kept = ex.arena.copy(withoutParameter(kept, name));
  r.body = ex.arena.make<exchange::MemoryBody>(kept);
  co_return value;
}

FoundCredential findCredential(const exchange::Exchange& ex, const CredentialSource& source) {
  FoundCredential found;
  const auto& headers = ex.request.headers;
  if (!source.header.empty() && headers.count(source.header) == 1) {
    std::string_view value = trim(headers.get(source.header));
    const std::string& scheme = source.headerAuthScheme;
    if (scheme.empty()) {
      found = {FoundCredential::In::Header, std::string(value)};
    } else if (value.size() > scheme.size() && istartsWith(value, scheme) &&
               value[scheme.size()] == ' ') {
      found = {FoundCredential::In::Header, std::string(trim(value.substr(scheme.size() + 1)))};
    }
  }
  if (found.in == FoundCredential::In::None && !source.query.empty() && ex.request.hasQuery)
    if (auto q = queryParameter(ex.request.query, source.query))
      found = {FoundCredential::In::Query, std::move(*q)};
  if (found.in == FoundCredential::In::None && !source.cookie.empty())
    if (auto v = cookieValue(ex, source.cookie))
      found = {FoundCredential::In::Cookie, std::string(*v)};
  return found;
}

void removeCredential(exchange::Exchange& ex, const CredentialSource& source,
                      FoundCredential::In in) {
  if (in == FoundCredential::In::Header) ex.request.headers.remove(source.header);
  if (in == FoundCredential::In::Query) removeQueryParameter(ex, source.query);
  if (in == FoundCredential::In::Cookie) removeCookie(ex, source.cookie);
}

std::string sha256Bytes(std::string_view data) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
  return std::string(reinterpret_cast<char*>(out), sizeof out);
}

std::optional<std::string> secretOption(const std::string& value, std::string& error) {
  if (value.starts_with("env:") || value.starts_with("file:"))
    return ai::resolveSecret(value, error);
  return value;
}

std::string stringMember(const boost::json::value& v, std::string_view key) {
  const boost::json::value* m = v.is_object() ? v.get_object().if_contains(key) : nullptr;
  return m && m->is_string() ? std::string(m->get_string()) : std::string();
}

double numberMember(const boost::json::value& v, std::string_view key) {
  const boost::json::value* m = v.is_object() ? v.get_object().if_contains(key) : nullptr;
  return m && m->is_number() ? m->to_number<double>() : 0;
}

double epochSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

bool ThrottledWarning::due() const {
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count();
  int64_t last = last_.load(std::memory_order_relaxed);
  return now - last >= 10 && last_.compare_exchange_strong(last, now);
}

void refuse(exchange::Exchange& ex, int status, std::string_view challenge,
            std::string_view detail) {
  auto& response = ex.response;
  response.status = status;
  response.headers.clear();
  response.headers.add("Content-Type", "text/plain; charset=utf-8");
  if (!challenge.empty()) response.headers.add("WWW-Authenticate", ex.arena.copy(challenge));
  std::string_view body =
      ex.arena.copy(std::to_string(status) + " " + std::string(http::reasonPhrase(status)) + "\n");
  response.body = ex.arena.make<exchange::MemoryBody>(body);
  ex.record.errorDetail = ex.arena.copy(detail);
}

std::string bearerChallenge(std::string_view realm, std::string_view error,
                            std::string_view description, std::string_view extra) {
  std::string out = "Bearer realm=\"" + std::string(realm) + "\"";
  if (!error.empty()) {
    out += ", error=\"" + std::string(error) + "\"";
    if (!description.empty()) {
      out += ", error_description=\"";
      for (char c : description)
        if (c != '"' && c != '\\' && static_cast<unsigned char>(c) >= 0x20) out += c;
      out += '"';
    }
  }
  out += extra;
  return out;
}

}  // namespace causeway::gateway::api
