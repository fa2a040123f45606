// The PROXY protocol (HAProxy's, versions 1 and 2) that a load balancer in front of causeway
// may put before a connection's first byte to say who the client is. Pure parsing, no I/O:
// the connection code (downstream/connection.cpp) reads, calls parseProxyHeader, and decides
// from the entryPoint's proxyProtocol.trustedIPs whether to believe the addresses.
// proxyHeader writes the header causeway itself sends to an upstream server (a TCP
// serversTransport's proxyProtocol.version).
// The specification is summarised in docs/compatibility.md (entryPoints, proxyProtocol).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "net/ip.h"

namespace causeway::net {

struct ProxyHeader {
  int version = 0;             // 1 or 2
  bool hasAddresses = false;   // false for v1 UNKNOWN, v2 LOCAL, and v2 families other than TCP/UDP over IP
  IpAddress source;
  uint16_t sourcePort = 0;
  IpAddress destination;
  uint16_t destinationPort = 0;
};

enum class ProxyParse {
  Complete,  // a header; `consumed` is its size
  NeedMore,  // the bytes so far are the start of a header
  Absent,    // the data does not start with a PROXY header
  Invalid,   // a header, but malformed: the connection must be closed
};

// The longest header this parser accepts: a v1 line is at most 107 bytes; a v2 header is 16
// bytes plus its addresses and TLVs, which causeway bounds at 4 KiB (TLVs are skipped).
constexpr size_t kMaxProxyHeader = 16 + 4080;

ProxyParse parseProxyHeader(std::string_view data, ProxyHeader& out, size_t& consumed);

// The PROXY header for a proxied TCP connection from `source:sourcePort` to
// `destination:destinationPort`, to be written before the first byte sent upstream.
// version 1: "PROXY TCP4 a b p q\r\n" with dotted quads, or "PROXY TCP6 ..." with IPv6 text
// when either address is IPv6; when the families differ the IPv4 one is written as the
// v4-mapped "::ffff:a.b.c.d", as HAProxy does. (IPv4-mapped addresses count as IPv4.)
// version 2: the binary form, command PROXY, TCP over IPv4 (0x11, 12 address bytes) or over
// IPv6 (0x21, 36 bytes; mixed families as v4-mapped IPv6), no TLVs.
// Any other version: "" (nothing to send).
std::string proxyHeader(int version, const IpAddress& source, uint16_t sourcePort, const IpAddress& destination,
                        uint16_t destinationPort);

}  // namespace causeway::net
