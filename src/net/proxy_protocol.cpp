#include "net/proxy_protocol.h"

#include <array>
#include <charconv>
#include <cstring>

namespace causeway::net {
namespace {

constexpr std::string_view kV1Prefix = "PROXY ";
constexpr std::string_view kV2Signature{"\r\n\r\n\0\r\nQUIT\n", 12};
constexpr size_t kV1MaxLine = 107;  // including CRLF

// True when `data` is a prefix of `whole` or `whole` a prefix of `data`.
bool agrees(std::string_view data, std::string_view whole) {
  size_t n = std::min(data.size(), whole.size());
  return data.substr(0, n) == whole.substr(0, n);
}

bool parsePort(std::string_view text, uint16_t& port) {
  // 0..65535 in decimal, no sign, no leading zero except "0" (the v1 grammar).
  if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0')) return false;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > 65535) return false;
  port = uint16_t(value);
  return true;
}

ProxyParse parseV1(std::string_view data, ProxyHeader& out, size_t& consumed) {
  size_t end = data.find("\r\n");
  if (end == std::string_view::npos) return data.size() >= kV1MaxLine ? ProxyParse::Invalid : ProxyParse::NeedMore;
  if (end + 2 > kV1MaxLine) return ProxyParse::Invalid;
  std::string_view line = data.substr(kV1Prefix.size(), end - kV1Prefix.size());
  std::array<std::string_view, 5> parts;
  size_t count = 0;
  while (!line.empty()) {
    size_t space = line.find(' ');
    std::string_view part = line.substr(0, space);
    if (part.empty() || count == parts.size()) return ProxyParse::Invalid;  // double space or too many
    parts[count++] = part;
    if (space == std::string_view::npos) break;
    line.remove_prefix(space + 1);
    if (line.empty()) return ProxyParse::Invalid;  // trailing space
  }
  out = ProxyHeader{};
  out.version = 1;
  consumed = end + 2;
  if (count >= 1 && parts[0] == "UNKNOWN") return ProxyParse::Complete;  // the rest is ignored
  if (count != 5 || (parts[0] != "TCP4" && parts[0] != "TCP6")) return ProxyParse::Invalid;
  auto source = IpAddress::parse(parts[1]);
  auto destination = IpAddress::parse(parts[2]);
  const bool v4 = parts[0] == "TCP4";
  if (!source || !destination) return ProxyParse::Invalid;
  // TCP4 takes dotted quads, TCP6 IPv6 text (without brackets).
  const bool colons = parts[1].find(':') != std::string_view::npos || parts[2].find(':') != std::string_view::npos;
  if (v4 ? colons : parts[1].find(':') == std::string_view::npos || parts[2].find(':') == std::string_view::npos)
    return ProxyParse::Invalid;
  if (!parsePort(parts[3], out.sourcePort) || !parsePort(parts[4], out.destinationPort)) return ProxyParse::Invalid;
  out.source = *source;
  out.destination = *destination;
  out.hasAddresses = true;
  return ProxyParse::Complete;
}

uint16_t be16(const unsigned char* p) { return uint16_t(p[0] << 8 | p[1]); }

ProxyParse parseV2(std::string_view data, ProxyHeader& out, size_t& consumed) {
  if (data.size() < 16) return ProxyParse::NeedMore;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  const unsigned version = p[12] >> 4, command = p[12] & 0x0F;
  const unsigned family = p[13] >> 4, transport = p[13] & 0x0F;
  const size_t length = be16(p + 14);
  if (version != 2 || command > 1 || 16 + length > kMaxProxyHeader) return ProxyParse::Invalid;
  if (data.size() < 16 + length) return ProxyParse::NeedMore;
  out = ProxyHeader{};
  out.version = 2;
  consumed = 16 + length;
  if (command == 0) return ProxyParse::Complete;  // LOCAL: the proxy's own connection (health checks)
  const unsigned char* a = p + 16;
  if ((transport == 1 || transport == 2) && family == 1) {  // TCP or UDP over IPv4
    if (length < 12) return ProxyParse::Invalid;
    out.source = IpAddress::v4(uint32_t(a[0]) << 24 | uint32_t(a[1]) << 16 | uint32_t(a[2]) << 8 | a[3]);
    out.destination = IpAddress::v4(uint32_t(a[4]) << 24 | uint32_t(a[5]) << 16 | uint32_t(a[6]) << 8 | a[7]);
    out.sourcePort = be16(a + 8);
    out.destinationPort = be16(a + 10);
    out.hasAddresses = true;
  } else if ((transport == 1 || transport == 2) && family == 2) {  // over IPv6
    if (length < 36) return ProxyParse::Invalid;
    std::array<uint8_t, 16> source, destination;
    std::memcpy(source.data(), a, 16);
    std::memcpy(destination.data(), a + 16, 16);
    out.source = IpAddress::v6(source);
    out.destination = IpAddress::v6(destination);
    out.sourcePort = be16(a + 32);
    out.destinationPort = be16(a + 34);
    out.hasAddresses = true;
  } else if (family > 3 || transport > 2) {
    return ProxyParse::Invalid;
  }
  // UNSPEC and UNIX families: accepted, the socket's own addresses stay.
  return ProxyParse::Complete;
}

}  // namespace

ProxyParse parseProxyHeader(std::string_view data, ProxyHeader& out, size_t& consumed) {
  consumed = 0;
  if (data.empty()) return ProxyParse::NeedMore;
  if (agrees(data, kV1Prefix)) return data.size() < kV1Prefix.size() ? ProxyParse::NeedMore : parseV1(data, out, consumed);
  if (agrees(data, kV2Signature))
    return data.size() < kV2Signature.size() ? ProxyParse::NeedMore : parseV2(data, out, consumed);
  return ProxyParse::Absent;
}

namespace {

// An address as the v1 line writes it: dotted for TCP4, IPv6 text (v4-mapped if need be) for TCP6.
std::string v1Address(const IpAddress& address, bool v6) {
  return v6 && address.isV4() ? "::ffff:" + address.toString() : address.toString();
}

void appendBe16(std::string& out, uint16_t value) {
  out += char(value >> 8);
  out += char(value & 0xFF);
}

}  // namespace

std::string proxyHeader(int version, const IpAddress& source, uint16_t sourcePort, const IpAddress& destination,
                        uint16_t destinationPort) {
  const bool v6 = !source.isV4() || !destination.isV4();
  std::string out;
  if (version == 1) {
    out = v6 ? "PROXY TCP6 " : "PROXY TCP4 ";
    out += v1Address(source, v6);
    out += ' ';
    out += v1Address(destination, v6);
    out += ' ';
    out += std::to_string(sourcePort);
    out += ' ';
    out += std::to_string(destinationPort);
    out += "\r\n";
  } else if (version == 2) {
    out = kV2Signature;
    out += char(0x21);              // version 2, command PROXY
    out += char(v6 ? 0x21 : 0x11);  // AF_INET6 or AF_INET, STREAM
    appendBe16(out, v6 ? 36 : 12);
    // IpAddress keeps IPv4 as v4-mapped IPv6: the last 4 bytes are the IPv4 address.
    const size_t offset = v6 ? 0 : 12;
    for (const IpAddress* address : {&source, &destination})
      out.append(reinterpret_cast<const char*>(address->bytes().data()) + offset, 16 - offset);
    appendBe16(out, sourcePort);
    appendBe16(out, destinationPort);
  }
  return out;
}

}  // namespace causeway::net
