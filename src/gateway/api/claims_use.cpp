#include "gateway/api/claims_use.h"

#include <boost/json/serialize.hpp>
#include <cmath>

#include "core/strings.h"
#include "exchange/exchange.h"

namespace causeway::gateway::api {
namespace json = boost::json;

std::optional<std::string> claimHeaderValue(const json::value& v) {
  auto scalar = [](const json::value& x) -> std::string {
    if (x.is_string()) return std::string(x.get_string());
    if (x.is_double() && std::isfinite(x.get_double()) &&
        x.get_double() == std::floor(x.get_double()) && std::fabs(x.get_double()) < 1e15)
      return std::to_string(static_cast<int64_t>(x.get_double()));
    return json::serialize(x);
  };
  std::string out;
  if (v.is_array()) {
    for (const json::value& e : v.get_array()) {
      if (!out.empty()) out += ',';
      out += e.is_object() || e.is_array() ? json::serialize(e) : scalar(e);
    }
  } else {
    out = scalar(v);
  }
  for (char c : out)
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) return std::nullopt;
  return out;
}

const json::value* claimNamed(const json::value& claims, std::string_view name) {
  if (!claims.is_object()) return nullptr;
  if (const json::value* whole = claims.get_object().if_contains(name)) return whole;
  std::vector<std::string> path;
  for (std::string_view part : splitTrimmed(name, '.'))
    path.emplace_back(part);
  return expr::claims::walk(claims, path);
}

const json::value* ClaimFields::find(const expr::claims::Field& f) const {
  if (!claims_.is_object()) return nullptr;
  if (const json::value* whole = claims_.get_object().if_contains(f.text)) return whole;
  return expr::claims::walk(claims_, f.path);
}

std::optional<ClaimUse> ClaimUse::make(const std::string& claims, const std::string& usernameClaim,
                                       const std::map<std::string, std::string>& forwardHeaders,
                                       std::string& error) {
  ClaimUse use;
  if (!claims.empty()) {
    use.claims_ = expr::claims::parse(claims, error);
    if (!use.claims_) {
      error = "claims: " + error;
      return std::nullopt;
    }
  }
  use.usernameClaim_ = usernameClaim;
  for (const auto& [header, claim] : forwardHeaders) {
    if (header.empty() || claim.empty()) {
      error = "forwardHeaders: header and claim names must not be empty";
      return std::nullopt;
    }
    use.forwardHeaders_.emplace_back(header, claim);
  }
  return use;
}

ClaimOutcome ClaimUse::outcome(const json::value& claims) const {
  ClaimOutcome o;
  if (claims_) o.claimsHold = claims_->evaluate(ClaimFields(claims)) == expr::claims::Truth::True;
  if (!usernameClaim_.empty())
    if (const json::value* u = claimNamed(claims, usernameClaim_))
      if (auto text = claimHeaderValue(*u)) o.user = std::move(*text);
  for (const auto& [header, claim] : forwardHeaders_)
    if (const json::value* value = claimNamed(claims, claim))
      if (auto text = claimHeaderValue(*value)) o.headers.emplace_back(header, std::move(*text));
  return o;
}

void ClaimUse::apply(exchange::Exchange& ex, const ClaimOutcome& outcome) const {
  auto& headers = ex.request.headers;
  for (const auto& [header, claim] : forwardHeaders_)
    headers.removeWithTwins(header);
  for (const auto& [header, value] : outcome.headers)
    headers.add(header, ex.arena.copy(value));
  if (!outcome.user.empty()) ex.record.user = ex.arena.copy(outcome.user);
}

}  // namespace causeway::gateway::api
