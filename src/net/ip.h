// IP addresses and networks (CIDR) without any socket library, for rules (ClientIP),
// trusted-proxy lists and allow-lists. IPv4 is stored as an IPv4-mapped IPv6 address so
// a single comparison path serves both families.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace causeway::net {

class IpAddress {
 public:
  IpAddress() = default;
  static IpAddress v4(uint32_t hostOrder);
  static IpAddress v6(const std::array<uint8_t, 16>& bytes);
  // Parses "1.2.3.4", "::1", "[::1]", "fe80::1%eth0" (zone dropped), "::ffff:1.2.3.4".
  static std::optional<IpAddress> parse(std::string_view text);

  bool isV4() const;  // true for IPv4 and IPv4-mapped addresses
  const std::array<uint8_t, 16>& bytes() const { return bytes_; }
  std::string toString() const;  // canonical text; IPv4 shown dotted
  // Keeps the first `prefix` bits (of the 32/128-bit address), zeroing the rest.
  IpAddress masked(int prefix) const;
  bool operator==(const IpAddress&) const = default;

 private:
  std::array<uint8_t, 16> bytes_{};
};

class IpNetwork {
 public:
  // Parses "10.0.0.0/8", "::1/128", or a bare address (a /32 or /128 network).
  static std::optional<IpNetwork> parse(std::string_view text);
  bool contains(const IpAddress& address) const;
  std::string toString() const;

 private:
  IpAddress base_;
  int prefix_ = 0;  // in bits of the address's own family (0..32 for IPv4)
  bool v4_ = false;
};

}  // namespace causeway::net
