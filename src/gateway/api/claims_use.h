// What the token middlewares (jwt, oAuthIntrospection, oAuthClientCredentials) do with a
// token's claims once they trust them: the `claims` expression, `forwardHeaders` and
// `usernameClaim` (docs/api-gateway.md §1, "Claims, headers, user"), worked out once per token
// so that a cached token costs no expression evaluation.
#pragma once

#include <boost/json/value.hpp>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "expr/claims.h"

namespace causeway::exchange {
struct Exchange;
}

namespace causeway::gateway::api {

// A claim's value as a header value: strings as they are, numbers and booleans as JSON text
// (integral numbers without a fraction), arrays joined by ",", objects as JSON. nullopt when the
// result would hold control characters.
std::optional<std::string> claimHeaderValue(const boost::json::value& v);

// The claim `name`: a top-level member of that exact name first (names such as
// `https://example.com/roles` hold dots), then a dotted path. Null when missing.
const boost::json::value* claimNamed(const boost::json::value& claims, std::string_view name);

// Claims as the claims language reads them (the same lookup as claimNamed).
class ClaimFields final : public expr::claims::Resolver {
 public:
  explicit ClaimFields(const boost::json::value& claims) : claims_(claims) {}
  const boost::json::value* find(const expr::claims::Field& f) const override;

 private:
  const boost::json::value& claims_;
};

// What one token's claims give the request.
struct ClaimOutcome {
  bool claimsHold = true;
  std::string user;
  std::vector<std::pair<std::string_view, std::string>> headers;  // names point into ClaimUse
};

class ClaimUse {
 public:
  // nullopt with `error` set when `claims` does not parse or a header or claim name is empty.
  static std::optional<ClaimUse> make(const std::string& claims, const std::string& usernameClaim,
                                      const std::map<std::string, std::string>& forwardHeaders,
                                      std::string& error);
  ClaimOutcome outcome(const boost::json::value& claims) const;
  // Removes every header named in forwardHeaders (the client's), then adds the outcome's; sets
  // the access log's user.
  void apply(exchange::Exchange& ex, const ClaimOutcome& outcome) const;

 private:
  std::optional<expr::claims::Expression> claims_;
  std::string usernameClaim_;
  std::vector<std::pair<std::string, std::string>> forwardHeaders_;  // header, claim
};

}  // namespace causeway::gateway::api
