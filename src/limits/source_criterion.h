// Where a request "comes from", as Traefik's middlewares decide it: the ipStrategy options
// (pkg/ip/strategy.go), the IP checker (pkg/ip/checker.go) and the sourceCriterion used to
// group requests (pkg/middlewares/extractor.go). Shared by ipAllowList, rateLimit and
// inFlightReq. Everything here is immutable after construction and safe to share between
// workers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/ip.h"

namespace causeway::exchange {
struct Exchange;
}  // namespace causeway::exchange

namespace causeway::limits {

// `ipStrategy` options (Traefik's names and defaults).
struct IpStrategyOptions {
  int64_t depth = 0;
  std::vector<std::string> excludedIPs;
  std::optional<int64_t> ipv6Subnet;

  static void describe(auto& self, auto& v) {
    v("depth", self.depth);
    v("excludedIPs", self.excludedIPs);
    v("ipv6Subnet", self.ipv6Subnet);
  }
};

// `sourceCriterion` options: at most one of the three may be set.
struct SourceCriterionOptions {
  std::optional<IpStrategyOptions> ipStrategy;
  std::string requestHeaderName;
  bool requestHost = false;
  // causeway: the value of a claim of the request's verified token (`jwt`, `oidc`,
  // `oAuthIntrospection` … before this middleware set them): a top-level member of that name,
  // else a dotted path. Requests without it share one source.
  std::string requestClaim;

  static void describe(auto& self, auto& v) {
    v("ipStrategy", self.ipStrategy);
    v("requestHeaderName", self.requestHeaderName);
    v("requestHost", self.requestHost);
    v("requestClaim", self.requestClaim);
  }
};

// Traefik's ip.Checker: single addresses and CIDR networks.
class IpChecker {
 public:
  // Adds "10.0.0.1", "10.0.0.0/8" or "::1/128"; false with `error` set when it does not parse.
  bool add(std::string_view entry, std::string& error);
  bool empty() const { return networks_.empty(); }
  // True when `address` (an IP literal, no brackets) is in one of the entries; an empty or
  // unparsable address is never contained.
  bool contains(std::string_view address) const;
  // Traefik's IsAuthorized: drops a ":port" suffix when there is one, then contains().
  bool authorizes(std::string_view address) const;

 private:
  std::vector<net::IpNetwork> networks_;
};

// A compiled ipStrategy: RemoteAddr (default), Depth (depth > 0) or Excluded (excludedIPs).
class IpStrategy {
 public:
  enum class Kind { RemoteAddr, Depth, Excluded };

  // nullptr options mean "no ipStrategy": the peer address. Nullopt with `error` set for an
  // invalid ipv6Subnet or excluded IP.
  static std::optional<IpStrategy> make(const IpStrategyOptions* options, std::string& error);

  // The client IP Traefik would pick from `forwardedFor` (the first X-Forwarded-For field's
  // value, "" when absent) and the peer's address text. May be "" (depth beyond the list,
  // every address excluded).
  std::string clientIp(std::string_view forwardedFor, std::string_view peerIp) const;

  Kind kind() const { return kind_; }

 private:
  Kind kind_ = Kind::RemoteAddr;
  int64_t depth_ = 0;
  std::optional<int> ipv6Subnet_;
  IpChecker excluded_;
};

// Returns `ip` masked to its first `bits` bits when it is an IPv6 address (Traefik's
// getIPv6SubnetIP); anything else is returned unchanged.
std::string ipv6SubnetIp(std::string_view ip, int bits);

// A compiled sourceCriterion: the key under which a request is counted.
class SourceExtractor {
 public:
  enum class Fallback { PeerIp, RequestHost };  // what "no criterion" means for the middleware

  static std::optional<SourceExtractor> make(const std::optional<SourceCriterionOptions>& options,
                                             Fallback fallback, std::string& error);
  std::string extract(const exchange::Exchange& ex) const;

 private:
  enum class Kind { Ip, Header, Host, Claim };
  Kind kind_ = Kind::Ip;
  std::string header_;  // or the claim's name
  std::vector<std::string> claimPath;
  std::optional<IpStrategy> strategy_;
};

}  // namespace causeway::limits
