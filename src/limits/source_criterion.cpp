#include "limits/source_criterion.h"

#include <boost/json.hpp>

#include "core/strings.h"
#include "exchange/exchange.h"
#include "expr/claims.h"

namespace causeway::limits {

bool IpChecker::add(std::string_view entry, std::string& error) {
  auto network =
      entry.empty() || entry.front() == '[' ? std::nullopt : net::IpNetwork::parse(entry);
  if (!network) {
    error = "invalid IP address or CIDR \"" + std::string(entry) + "\"";
    return false;
  }
  networks_.push_back(*network);
  return true;
}

bool IpChecker::contains(std::string_view address) const {
  // Go's netip.ParseAddr: no brackets, no port.
  if (address.empty() || address.front() == '[') return false;
  auto ip = net::IpAddress::parse(address);
  if (!ip) return false;
  for (const auto& network : networks_)
    if (network.contains(*ip)) return true;
  return false;
}

bool IpChecker::authorizes(std::string_view address) const {
  // net.SplitHostPort, falling back to the whole text when there is no port.
  std::string_view host = address;
  if (!address.empty() && address.front() == '[') {
    size_t end = address.find("]:");
    if (end != std::string_view::npos) host = address.substr(1, end - 1);
  } else if (size_t colon = address.find(':');
             colon != std::string_view::npos &&
             address.find(':', colon + 1) == std::string_view::npos) {
    host = address.substr(0, colon);
  }
  return contains(host);
}

std::string ipv6SubnetIp(std::string_view ip, int bits) {
  if (ip.empty() || ip.front() == '[') return std::string(ip);
  auto address = net::IpAddress::parse(ip);
  // IPv4 (and the IPv4-mapped form the listener reports as IPv4) is left alone.
  if (!address || ip.find(':') == std::string_view::npos || address->isV4()) return std::string(ip);
  if (bits < 0 || bits > 128) return std::string(ip);
  return address->masked(bits).toString();
}

std::optional<IpStrategy> IpStrategy::make(const IpStrategyOptions* options, std::string& error) {
  IpStrategy s;
  if (!options) return s;
  auto checkSubnet = [&]() -> bool {
    if (!options->ipv6Subnet) return true;
    int64_t bits = *options->ipv6Subnet;
    if (bits <= 0 || bits > 128) {
      error = "invalid IPv6 subnet " + std::to_string(bits) +
              " value, should be greater to 0 and lower or equal to 128";
      return false;
    }
    s.ipv6Subnet_ = int(bits);
    return true;
  };
  if (options->depth > 0) {
    if (!checkSubnet()) return std::nullopt;
    s.kind_ = Kind::Depth;
    s.depth_ = options->depth;
    return s;
  }
  if (!options->excludedIPs.empty()) {
    s.kind_ = Kind::Excluded;
    for (const auto& entry : options->excludedIPs) {
      std::string why;
      if (!s.excluded_.add(entry, why)) {
        error = "excludedIPs: " + why;
        return std::nullopt;
      }
    }
    return s;
  }
  if (!checkSubnet()) return std::nullopt;
  return s;
}

namespace {

// strings.Split(s, ","): always at least one (possibly empty) piece.
std::vector<std::string_view> splitComma(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t comma = s.find(',', start);
    if (comma == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
}

// strings.TrimSpace: ASCII white space.
std::string_view goTrimSpace(std::string_view s) {
  return trim(s);
}

}  // namespace

std::string IpStrategy::clientIp(std::string_view forwardedFor, std::string_view peerIp) const {
  switch (kind_) {
  case Kind::RemoteAddr:
    if (ipv6Subnet_) return ipv6SubnetIp(peerIp, *ipv6Subnet_);
    return std::string(peerIp);
  case Kind::Depth: {
    auto pieces = splitComma(forwardedFor);
    if (int64_t(pieces.size()) < depth_) return {};
    std::string_view ip = goTrimSpace(pieces[pieces.size() - size_t(depth_)]);
    if (ipv6Subnet_) return ipv6SubnetIp(ip, *ipv6Subnet_);
    return std::string(ip);
  }
  case Kind::Excluded: {
    auto pieces = splitComma(forwardedFor);
    for (auto it = pieces.rbegin(); it != pieces.rend(); ++it) {
      std::string_view ip = goTrimSpace(*it);
      if (ip.empty()) continue;
      if (!excluded_.contains(ip)) return std::string(ip);
    }
    return {};
  }
  }
  return {};
}

std::optional<SourceExtractor>
SourceExtractor::make(const std::optional<SourceCriterionOptions>& options, Fallback fallback,
                      std::string& error) {
  SourceExtractor e;
  if (options) {
    const auto& o = *options;
    if (o.ipStrategy && !o.requestHeaderName.empty()) {
      error = "iPStrategy and RequestHeaderName are mutually exclusive";
      return std::nullopt;
    }
    if (o.ipStrategy && o.requestHost) {
      error = "iPStrategy and RequestHost are mutually exclusive";
      return std::nullopt;
    }
    if (!o.requestHeaderName.empty() && o.requestHost) {
      error = "requestHost and RequestHeaderName are mutually exclusive";
      return std::nullopt;
    }
    if (!o.requestClaim.empty() && (o.ipStrategy || o.requestHost || !o.requestHeaderName.empty())) {
      error = "requestClaim and the other criteria are mutually exclusive";
      return std::nullopt;
    }
  }
  bool none = !options || (!options->ipStrategy && options->requestHeaderName.empty() &&
                           !options->requestHost && options->requestClaim.empty());
  if (none) {
    if (fallback == Fallback::RequestHost) {
      e.kind_ = Kind::Host;
      return e;
    }
    e.kind_ = Kind::Ip;
    e.strategy_ = IpStrategy::make(nullptr, error);
    return e;
  }
  if (options->ipStrategy) {
    e.kind_ = Kind::Ip;
    e.strategy_ = IpStrategy::make(&*options->ipStrategy, error);
    if (!e.strategy_) return std::nullopt;
    return e;
  }
  if (!options->requestHeaderName.empty()) {
    e.kind_ = Kind::Header;
    e.header_ = options->requestHeaderName;
    return e;
  }
  if (!options->requestClaim.empty()) {
    e.kind_ = Kind::Claim;
    e.header_ = options->requestClaim;
    for (std::string_view part : splitTrimmed(e.header_, '.'))
      e.claimPath.emplace_back(part);
    return e;
  }
  e.kind_ = Kind::Host;
  return e;
}

std::string SourceExtractor::extract(const exchange::Exchange& ex) const {
  switch (kind_) {
  case Kind::Ip:
    return strategy_->clientIp(ex.request.headers.get("X-Forwarded-For"), ex.connection.peerIpText);
  case Kind::Header:
    return std::string(ex.request.headers.get(header_));
  case Kind::Host:
    return std::string(ex.request.authority);
  case Kind::Claim: {
    if (!ex.claims || !ex.claims->is_object()) return {};
    const boost::json::value* v = ex.claims->get_object().if_contains(header_);
    if (!v) v = expr::claims::walk(*ex.claims, claimPath);
    if (!v) return {};
    return v->is_string() ? std::string(v->get_string()) : boost::json::serialize(*v);
  }
  }
  return {};
}

}  // namespace causeway::limits
