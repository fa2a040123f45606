// DNS messages for the ACME DNS-01 challenge (clients/dns/dns_message.h): names, queries,
// RFC 2136 updates with TSIG, and parsing of answers (compression, TXT, SOA, malformed).
#include <gtest/gtest.h>

#include "clients/dns/dns_message.h"

namespace causeway::clients::dns {
namespace {

uint16_t at16(const std::string& wire, size_t i) { return uint16_t((uint8_t(wire[i]) << 8) | uint8_t(wire[i + 1])); }

TEST(DnsMessageTest, NamesEncodeAsLabels) {
  std::string out;
  ASSERT_TRUE(encodeName("A.Example.test.", out));
  EXPECT_EQ(out, std::string("\x01" "a\x07" "example\x04" "test\x00", 16));
  out.clear();
  EXPECT_FALSE(encodeName("a..b", out));
  out.clear();
  EXPECT_FALSE(encodeName(std::string(64, 'x') + ".test", out));
}

TEST(DnsMessageTest, QueryParsesBackWithItsId) {
  std::string wire = query(0xbeef, "_acme-challenge.a.example.test", Type::TXT);
  ASSERT_GT(wire.size(), 12u);
  EXPECT_EQ(at16(wire, 0), 0xbeef);
  EXPECT_EQ(at16(wire, 2), 0x0100);  // RD
  EXPECT_EQ(at16(wire, wire.size() - 4), 16);
  auto parsed = parse(wire);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->id, 0xbeef);
  EXPECT_TRUE(parsed->answers.empty());
}

// An answer to the TXT query: the question, then one TXT record whose owner is a
// compression pointer to the question's name, with two character strings.
std::string txtAnswer() {
  std::string wire = query(7, "_acme-challenge.a.example.test", Type::TXT);
  wire[2] = char(0x81);  // QR, RD
  wire[3] = char(0x80);  // RA, NOERROR
  wire[7] = 1;           // ANCOUNT
  wire += std::string("\xc0\x0c", 2);  // → offset 12
  wire += std::string("\x00\x10\x00\x01\x00\x00\x00\x3c", 8);
  std::string rdata = std::string("\x03" "abc\x02" "de", 7);
  wire += std::string(1, '\0') + char(rdata.size()) + rdata;
  return wire;
}

TEST(DnsMessageTest, TxtAnswerWithCompression) {
  auto parsed = parse(txtAnswer());
  ASSERT_TRUE(parsed);
  ASSERT_EQ(parsed->answers.size(), 1u);
  const Record& r = parsed->answers[0];
  EXPECT_EQ(r.name, "_acme-challenge.a.example.test");
  EXPECT_EQ(r.type, 16);
  EXPECT_EQ(r.ttl, 60u);
  EXPECT_EQ(r.texts, (std::vector<std::string>{"abc", "de"}));
}

TEST(DnsMessageTest, MalformedAnswersAreRefused) {
  std::string wire = txtAnswer();
  for (size_t n = 0; n < wire.size(); ++n) EXPECT_FALSE(parse(wire.substr(0, n))) << n;
  size_t owner = wire.size() - 19;  // the answer's owner: a pointer (0xc0, offset)
  std::string self = wire;
  self[owner + 1] = char(owner);  // to itself
  EXPECT_FALSE(parse(self));
  std::string forward = wire;
  forward[owner + 1] = char(owner + 2);  // pointers may only go backwards
  EXPECT_FALSE(parse(forward));
  std::string badText = wire;
  badText[wire.size() - 7] = 9;  // a character string longer than the rdata
  EXPECT_FALSE(parse(badText));
}

TEST(DnsMessageTest, UpdateIsSignedWithTsig) {
  TsigKey key{"causeway-key", "hmac-sha256", std::string(32, 'k')};
  std::string wire = txtUpdate(0x1234, "example.test", "_acme-challenge.a.example.test", "value", 120, false, key, 1700000000);
  ASSERT_FALSE(wire.empty());
  EXPECT_EQ(at16(wire, 2), 5 << 11);  // opcode UPDATE
  EXPECT_EQ(at16(wire, 4), 1);        // zone
  EXPECT_EQ(at16(wire, 8), 1);        // one update record
  EXPECT_EQ(at16(wire, 10), 1);       // the TSIG record
  // The TSIG record ends: MAC size 32, 32 bytes of MAC, the original id, error 0, other 0.
  EXPECT_EQ(at16(wire, wire.size() - 6), 0x1234);
  EXPECT_EQ(at16(wire, wire.size() - 6 - 32 - 2), 32);
  EXPECT_NE(wire.find(std::string("\x0b" "hmac-sha256\x00", 13)), std::string::npos);
  // Another secret, another MAC; the same inputs, the same bytes.
  TsigKey other = key;
  other.secret = std::string(32, 'x');
  EXPECT_NE(wire, txtUpdate(0x1234, "example.test", "_acme-challenge.a.example.test", "value", 120, false, other, 1700000000));
  EXPECT_EQ(wire, txtUpdate(0x1234, "example.test", "_acme-challenge.a.example.test", "value", 120, false, key, 1700000000));
  // A delete is class NONE with TTL 0; without a key name nothing is signed.
  std::string remove = txtUpdate(1, "example.test", "_acme-challenge.a.example.test", "value", 120, true, {}, 0);
  EXPECT_EQ(at16(remove, 10), 0);
  EXPECT_NE(remove.find(std::string("\x00\x10\x00\xfe\x00\x00\x00\x00", 8)), std::string::npos);
  // An unknown algorithm builds nothing.
  key.algorithm = "hmac-whirlpool";
  EXPECT_TRUE(txtUpdate(1, "example.test", "a.example.test", "v", 1, false, key, 0).empty());
}

TEST(DnsMessageTest, RcodeNames) {
  EXPECT_EQ(rcodeName(0), "NOERROR");
  EXPECT_EQ(rcodeName(9), "NOTAUTH");
  EXPECT_EQ(rcodeName(16), "BADSIG");
  EXPECT_EQ(rcodeName(42), "RCODE 42");
}

}  // namespace
}  // namespace causeway::clients::dns
