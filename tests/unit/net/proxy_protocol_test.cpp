// PROXY protocol v1 and v2 headers (net/proxy_protocol.h): the forms load balancers send,
// partial input, and the malformed ones that must close the connection.
#include "net/proxy_protocol.h"

#include <gtest/gtest.h>

#include <string>

using causeway::net::IpAddress;
using causeway::net::ProxyHeader;
using causeway::net::ProxyParse;
using causeway::net::parseProxyHeader;
using causeway::net::proxyHeader;

namespace {

ProxyParse parse(std::string_view data, ProxyHeader& header, size_t& consumed) {
  return parseProxyHeader(data, header, consumed);
}

std::string v2(unsigned char command, unsigned char familyTransport, std::string addresses) {
  std::string out("\r\n\r\n\0\r\nQUIT\n", 12);
  out += char(0x20 | command);
  out += char(familyTransport);
  out += char(addresses.size() >> 8);
  out += char(addresses.size() & 0xFF);
  return out + addresses;
}

IpAddress ip(std::string_view text) { return *IpAddress::parse(text); }

}  // namespace

TEST(ProxyProtocol, V1Tcp4) {
  ProxyHeader h;
  size_t consumed = 0;
  std::string data = "PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\nGET / HTTP/1.1\r\n";
  ASSERT_EQ(parse(data, h, consumed), ProxyParse::Complete);
  EXPECT_EQ(consumed, data.find("GET"));
  EXPECT_EQ(h.version, 1);
  EXPECT_TRUE(h.hasAddresses);
  EXPECT_EQ(h.source.toString(), "192.0.2.7");
  EXPECT_EQ(h.sourcePort, 56324);
  EXPECT_EQ(h.destination.toString(), "198.51.100.1");
  EXPECT_EQ(h.destinationPort, 443);
}

TEST(ProxyProtocol, V1Tcp6AndUnknown) {
  ProxyHeader h;
  size_t consumed = 0;
  ASSERT_EQ(parse("PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n", h, consumed), ProxyParse::Complete);
  EXPECT_EQ(h.source.toString(), "2001:db8::1");
  EXPECT_EQ(h.destinationPort, 65535);
  ASSERT_EQ(parse("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n", h, consumed), ProxyParse::Complete);
  EXPECT_FALSE(h.hasAddresses);
  ASSERT_EQ(parse("PROXY UNKNOWN\r\n", h, consumed), ProxyParse::Complete);
  EXPECT_EQ(consumed, 15u);
}

TEST(ProxyProtocol, PartialAndAbsent) {
  ProxyHeader h;
  size_t consumed = 0;
  EXPECT_EQ(parse("PRO", h, consumed), ProxyParse::NeedMore);
  EXPECT_EQ(parse("PROXY TCP4 1.2.3.4", h, consumed), ProxyParse::NeedMore);
  EXPECT_EQ(parse(std::string("\r\n\r\n\0\r", 6), h, consumed), ProxyParse::NeedMore);
  EXPECT_EQ(parse("GET / HTTP/1.1\r\n", h, consumed), ProxyParse::Absent);
  EXPECT_EQ(parse("PRI * HTTP/2.0\r\n", h, consumed), ProxyParse::Absent);
  EXPECT_EQ(parse("\x16\x03\x01", h, consumed), ProxyParse::Absent);
  EXPECT_EQ(parse("\r\n\r\nGET", h, consumed), ProxyParse::Absent);
}

TEST(ProxyProtocol, V1Malformed) {
  ProxyHeader h;
  size_t consumed = 0;
  for (std::string bad : {"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",
                          "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",
                          "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n", "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",
                          "PROXY TCP4 2001:db8::1 5.6.7.8 1 2\r\n", "PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n",
                          "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", "PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n",
                          "PROXY \r\n"})
    EXPECT_EQ(parse(bad, h, consumed), ProxyParse::Invalid) << bad;
  // No CRLF within the 107 bytes a v1 line may take.
  EXPECT_EQ(parse("PROXY TCP4 " + std::string(120, '1'), h, consumed), ProxyParse::Invalid);
}

TEST(ProxyProtocol, V2Tcp4WithTlvs) {
  ProxyHeader h;
  size_t consumed = 0;
  std::string addresses = {char(192), 0, 2, 7, char(198), 51, 100, 1, char(0xDC), 0x04, 0x01, char(0xBB)};
  addresses += std::string("\x04\x00\x02" "ab", 5);  // a TLV (PP2_TYPE_NOOP): skipped
  std::string data = v2(1, 0x11, addresses) + "GET";
  ASSERT_EQ(parse(data, h, consumed), ProxyParse::Complete);
  EXPECT_EQ(consumed, data.size() - 3);
  EXPECT_EQ(h.version, 2);
  EXPECT_EQ(h.source.toString(), "192.0.2.7");
  EXPECT_EQ(h.sourcePort, 56324);
  EXPECT_EQ(h.destinationPort, 443);
  EXPECT_EQ(parse(data.substr(0, 20), h, consumed), ProxyParse::NeedMore);
}

TEST(ProxyProtocol, V2Tcp6LocalAndUnspec) {
  ProxyHeader h;
  size_t consumed = 0;
  std::string addresses(36, '\0');
  addresses[0] = char(0x20);
  addresses[1] = char(0x01);
  addresses[15] = 1;
  addresses[32] = 0;
  addresses[33] = 80;
  ASSERT_EQ(parse(v2(1, 0x21, addresses), h, consumed), ProxyParse::Complete);
  EXPECT_EQ(h.source.toString(), "2001::1");
  EXPECT_EQ(h.sourcePort, 80);
  ASSERT_EQ(parse(v2(0, 0x00, ""), h, consumed), ProxyParse::Complete);  // LOCAL
  EXPECT_FALSE(h.hasAddresses);
  ASSERT_EQ(parse(v2(1, 0x00, "xyz"), h, consumed), ProxyParse::Complete);  // PROXY, UNSPEC
  EXPECT_FALSE(h.hasAddresses);
  EXPECT_EQ(consumed, 19u);
}

TEST(ProxyProtocol, V2Malformed) {
  ProxyHeader h;
  size_t consumed = 0;
  EXPECT_EQ(parse(v2(2, 0x11, std::string(12, '\0')), h, consumed), ProxyParse::Invalid);  // command 2
  EXPECT_EQ(parse(v2(1, 0x11, std::string(8, '\0')), h, consumed), ProxyParse::Invalid);   // short IPv4 block
  EXPECT_EQ(parse(v2(1, 0x21, std::string(20, '\0')), h, consumed), ProxyParse::Invalid);  // short IPv6 block
  EXPECT_EQ(parse(v2(1, 0x51, std::string(12, '\0')), h, consumed), ProxyParse::Invalid);  // family 5
  std::string big = v2(1, 0x11, std::string(5000, '\0'));
  EXPECT_EQ(parse(big, h, consumed), ProxyParse::Invalid);  // over kMaxProxyHeader
  std::string wrongVersion = v2(1, 0x11, std::string(12, '\0'));
  wrongVersion[12] = char(0x11);
  EXPECT_EQ(parse(wrongVersion, h, consumed), ProxyParse::Invalid);
}

// -- The header causeway writes upstream (proxyHeader), read back by the parser.

TEST(ProxyProtocolWriter, RoundTrips) {
  struct Case {
    const char* source;
    const char* destination;
  };
  for (Case c : {Case{"192.0.2.7", "198.51.100.1"}, Case{"2001:db8::1", "2001:db8::2"},
                 Case{"192.0.2.7", "2001:db8::2"}, Case{"::1", "10.0.0.1"}, Case{"::ffff:10.1.2.3", "10.0.0.1"}}) {
    for (int version : {1, 2}) {
      std::string header = proxyHeader(version, ip(c.source), 56324, ip(c.destination), 443);
      ProxyHeader h;
      size_t consumed = 0;
      ASSERT_EQ(parse(header + "payload", h, consumed), ProxyParse::Complete) << version << " " << c.source;
      EXPECT_EQ(consumed, header.size());
      EXPECT_EQ(h.version, version);
      EXPECT_TRUE(h.hasAddresses);
      EXPECT_EQ(h.source, ip(c.source)) << version << " " << c.source;
      EXPECT_EQ(h.destination, ip(c.destination)) << version << " " << c.destination;
      EXPECT_EQ(h.sourcePort, 56324);
      EXPECT_EQ(h.destinationPort, 443);
    }
  }
}

TEST(ProxyProtocolWriter, V1Bytes) {
  EXPECT_EQ(proxyHeader(1, ip("192.0.2.7"), 56324, ip("198.51.100.1"), 443),
            "PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\n");
  EXPECT_EQ(proxyHeader(1, ip("2001:db8::1"), 0, ip("2001:db8::2"), 65535),
            "PROXY TCP6 2001:db8::1 2001:db8::2 0 65535\r\n");
  EXPECT_EQ(proxyHeader(1, ip("192.0.2.7"), 56324, ip("2001:db8::2"), 443),
            "PROXY TCP6 ::ffff:192.0.2.7 2001:db8::2 56324 443\r\n");  // mixed: v4-mapped
}

TEST(ProxyProtocolWriter, V2Bytes) {
  std::string expected("\r\n\r\n\0\r\nQUIT\n", 12);
  expected += std::string("\x21\x11\x00\x0c", 4);
  expected += std::string("\xc0\x00\x02\x07\xc6\x33\x64\x01\xdc\x04\x01\xbb", 12);
  EXPECT_EQ(proxyHeader(2, ip("192.0.2.7"), 56324, ip("198.51.100.1"), 443), expected);
  std::string v6 = proxyHeader(2, ip("192.0.2.7"), 1, ip("2001:db8::2"), 2);
  ASSERT_EQ(v6.size(), 16u + 36u);
  EXPECT_EQ(v6.substr(12, 4), std::string("\x21\x21\x00\x24", 4));
  EXPECT_EQ(v6.substr(16, 16), std::string("\0\0\0\0\0\0\0\0\0\0\xff\xff\xc0\x00\x02\x07", 16));
  EXPECT_EQ(proxyHeader(3, ip("192.0.2.7"), 1, ip("192.0.2.8"), 2), "");
  EXPECT_EQ(proxyHeader(0, ip("192.0.2.7"), 1, ip("192.0.2.8"), 2), "");
}
