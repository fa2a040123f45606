#include "net/ip.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace causeway::net {

IpAddress IpAddress::v4(uint32_t hostOrder) {
  IpAddress a;
  a.bytes_[10] = 0xff;
  a.bytes_[11] = 0xff;
  a.bytes_[12] = uint8_t(hostOrder >> 24);
  a.bytes_[13] = uint8_t(hostOrder >> 16);
  a.bytes_[14] = uint8_t(hostOrder >> 8);
  a.bytes_[15] = uint8_t(hostOrder);
  return a;
}

IpAddress IpAddress::v6(const std::array<uint8_t, 16>& bytes) {
  IpAddress a;
  a.bytes_ = bytes;
  return a;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']')
    text = text.substr(1, text.size() - 2);
  if (auto zone = text.find('%'); zone != std::string_view::npos) text = text.substr(0, zone);
  if (text.empty() || text.size() > 45) return std::nullopt;
  char buf[64];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  if (text.find(':') == std::string_view::npos) {
    in_addr v4{};
    if (inet_pton(AF_INET, buf, &v4) != 1) return std::nullopt;
    return IpAddress::v4(ntohl(v4.s_addr));
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, buf, &v6) != 1) return std::nullopt;
  std::array<uint8_t, 16> bytes{};
  std::memcpy(bytes.data(), &v6, 16);
  return IpAddress::v6(bytes);
}

bool IpAddress::isV4() const {
  for (int i = 0; i < 10; ++i)
    if (bytes_[i] != 0) return false;
  return bytes_[10] == 0xff && bytes_[11] == 0xff;
}

std::string IpAddress::toString() const {
  char buf[INET6_ADDRSTRLEN];
  if (isV4()) {
    // Dotted quad without inet_ntop's sprintf: this runs for every accepted connection.
    char* p = buf;
    for (int i = 12; i < 16; ++i) {
      if (i > 12) *p++ = '.';
      p = std::to_chars(p, buf + sizeof buf, unsigned(bytes_[i])).ptr;
    }
    return std::string(buf, size_t(p - buf));
  }
  inet_ntop(AF_INET6, bytes_.data(), buf, sizeof buf);
  return buf;
}

namespace {

// Zeroes every bit after the first `bits` bits of a 128-bit address.
std::array<uint8_t, 16> maskBits(std::array<uint8_t, 16> b, int bits) {
  for (int i = 0; i < 16; ++i) {
    int keep = bits - i * 8;
    if (keep >= 8) continue;
    b[i] = keep <= 0 ? 0 : uint8_t(b[i] & (0xff << (8 - keep)));
  }
  return b;
}

}  // namespace

IpAddress IpAddress::masked(int prefix) const {
  return IpAddress::v6(maskBits(bytes_, isV4() ? prefix + 96 : prefix));
}

std::optional<IpNetwork> IpNetwork::parse(std::string_view text) {
  std::string_view addressText = text;
  std::optional<int> prefix;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    addressText = text.substr(0, slash);
    std::string_view bitsText = text.substr(slash + 1);
    if (bitsText.empty() || bitsText.size() > 3) return std::nullopt;
    int bits = 0;
    for (char c : bitsText) {
      if (c < '0' || c > '9') return std::nullopt;
      bits = bits * 10 + (c - '0');
    }
    prefix = bits;
  }
  auto address = IpAddress::parse(addressText);
  if (!address) return std::nullopt;
  IpNetwork n;
  // A network written in dotted IPv4 notation is an IPv4 network; anything written with
  // colons is an IPv6 network over all 128 bits (including "::ffff:a.b.c.d/n").
  n.v4_ = addressText.find(':') == std::string_view::npos;
  int maxBits = n.v4_ ? 32 : 128;
  n.prefix_ = prefix.value_or(maxBits);
  if (n.prefix_ < 0 || n.prefix_ > maxBits) return std::nullopt;
  n.base_ = IpAddress::v6(maskBits(address->bytes(), n.v4_ ? n.prefix_ + 96 : n.prefix_));
  return n;
}

bool IpNetwork::contains(const IpAddress& address) const {
  if (v4_ && !address.isV4()) return false;
  return maskBits(address.bytes(), v4_ ? prefix_ + 96 : prefix_) == base_.bytes();
}

std::string IpNetwork::toString() const {
  return base_.toString() + "/" + std::to_string(prefix_);
}

}  // namespace causeway::net
