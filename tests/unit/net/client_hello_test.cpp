// The ClientHello peek (net/client_hello.h): hellos built here field by field, one captured
// from OpenSSL's s_client, hellos split over records and cut at every byte, cleartext, and the
// malformed ones that must close the connection.
#include "net/client_hello.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using causeway::net::ClientHello;
using causeway::net::HelloParse;
using causeway::net::kMaxClientHello;
using causeway::net::parseClientHello;

namespace {

// -- A small ClientHello builder: big-endian lengths, extensions, the message, its records.

std::string u16(size_t n) { return {char(n >> 8 & 0xFF), char(n & 0xFF)}; }
std::string u24(size_t n) { return {char(n >> 16 & 0xFF), char(n >> 8 & 0xFF), char(n & 0xFF)}; }

std::string extension(size_t type, const std::string& data) { return u16(type) + u16(data.size()) + data; }

// server_name with one entry (name_type 0 = host_name unless said otherwise).
std::string sni(const std::string& name, char nameType = 0) {
  std::string entry = nameType + u16(name.size()) + name;
  return extension(0, u16(entry.size()) + entry);
}

std::string alpn(const std::vector<std::string>& protocols) {
  std::string list;
  for (const auto& p : protocols) list += char(p.size()) + p;
  return extension(16, u16(list.size()) + list);
}

// The extensions block: its 2-byte length, then the extensions.
std::string extensions(const std::string& block) { return u16(block.size()) + block; }

struct Body {
  std::string sessionId = std::string(32, '\x5a');
  std::string cipherSuites = std::string("\x13\x01\x13\x02\xc0\x2f", 6);
  std::string compression = std::string(1, '\0');
  std::string tail;  // what follows compression_methods: usually extensions(...)
};

// The handshake message: type 1, 3-byte length, body.
std::string message(const Body& b) {
  std::string body("\x03\x03", 2);
  body += std::string(32, '\xab');  // random
  body += char(b.sessionId.size()) + b.sessionId;
  body += u16(b.cipherSuites.size()) + b.cipherSuites;
  body += char(b.compression.size()) + b.compression;
  body += b.tail;
  return '\x01' + u24(body.size()) + body;
}

// `handshake` cut into handshake records of at most `maxPayload` bytes each.
std::string records(const std::string& handshake, size_t maxPayload = 16384) {
  std::string out;
  for (size_t i = 0; i < handshake.size(); i += maxPayload) {
    std::string fragment = handshake.substr(i, maxPayload);
    out += std::string("\x16\x03\x01", 3) + u16(fragment.size()) + fragment;
  }
  return out;
}

std::string hello(const std::string& extensionBlock, size_t maxPayload = 16384) {
  return records(message(Body{.tail = extensions(extensionBlock)}), maxPayload);
}

std::string fromHex(std::string_view hex) {
  std::string out;
  auto digit = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out += char(digit(hex[i]) << 4 | digit(hex[i + 1]));
  return out;
}

HelloParse parse(std::string_view data) {
  ClientHello out;
  return parseClientHello(data, out);
}

// `data` is a whole hello: every strict prefix needs more, the whole is Complete, and so is the
// whole followed by pipelined bytes.
void expectPrefixesNeedMore(const std::string& data) {
  for (size_t n = 0; n < data.size(); ++n) ASSERT_EQ(parse(data.substr(0, n)), HelloParse::NeedMore) << "prefix " << n;
  EXPECT_EQ(parse(data), HelloParse::Complete);
  EXPECT_EQ(parse(data + "GET / HTTP/1.1\r\n"), HelloParse::Complete);
  EXPECT_EQ(parse(data + std::string("\x14\x03\x03\x00\x01\x01", 6)), HelloParse::Complete);  // ChangeCipherSpec
}

// `openssl s_client -connect 127.0.0.1:PORT -servername Example.COM -alpn h2,http/1.1`
// (OpenSSL 3.0.19): the first bytes it sent, one 335-byte record.
const std::string kOpenSslHello = fromHex(
    "160301014a01000146030309c832673d45b228048b46caa3bfe3a52963c93d76"
    "bf0b9ac660752bf0aa66ce2094795440338ddc7f0e92a26624f8c8a31a9000fb"
    "ea7638b7b66fd89ae36118dd003e130213031301c02cc030009fcca9cca8ccaa"
    "c02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d"
    "009c003d003c0035002f00ff010000bf00000010000e00000b4578616d706c65"
    "2e434f4d000b000403000102000a00160014001d0017001e0019001801000101"
    "010201030104002300000010000e000c02683208687474702f312e3100160000"
    "00170000000d002a0028040305030603080708080809080a080b080408050806"
    "040105010601030303010302040205020602002b000908030403030302030100"
    "2d00020101003300260024001d0020cdaa62dd14f51b9ff1e858cc22baf05d28"
    "e21f8224fcfd9cef900fd426b6e779");

}  // namespace

TEST(ClientHello, SniAndAlpn) {
  ClientHello h;
  ASSERT_EQ(parseClientHello(hello(sni("example.com") + alpn({"h2", "http/1.1"})), h), HelloParse::Complete);
  EXPECT_EQ(h.serverName, "example.com");
  EXPECT_EQ(h.alpn, (std::vector<std::string>{"h2", "http/1.1"}));
}

TEST(ClientHello, CapturedFromOpenSsl) {
  ClientHello h;
  ASSERT_EQ(kOpenSslHello.size(), 335u);
  ASSERT_EQ(parseClientHello(kOpenSslHello, h), HelloParse::Complete);
  EXPECT_EQ(h.serverName, "example.com");  // sent as "Example.COM"
  EXPECT_EQ(h.alpn, (std::vector<std::string>{"h2", "http/1.1"}));
  expectPrefixesNeedMore(kOpenSslHello);
  // The same handshake message re-cut into 50-byte records.
  ClientHello again;
  ASSERT_EQ(parseClientHello(records(kOpenSslHello.substr(5), 50), again), HelloParse::Complete);
  EXPECT_EQ(again.serverName, "example.com");
  EXPECT_EQ(again.alpn, h.alpn);
}

TEST(ClientHello, WithoutSniOrAlpn) {
  ClientHello h;
  h.serverName = "stale";
  ASSERT_EQ(parseClientHello(records(message(Body{})), h), HelloParse::Complete);  // no extensions block
  EXPECT_EQ(h.serverName, "");
  EXPECT_TRUE(h.alpn.empty());
  ASSERT_EQ(parseClientHello(hello(""), h), HelloParse::Complete);  // an empty block
  EXPECT_EQ(h.serverName, "");
  // Other extensions only (supported_versions, an unknown one), and a server_name entry that is
  // not a host_name: skipped.
  ASSERT_EQ(parseClientHello(hello(extension(43, "\x02\x03\x04") + extension(0xfe0d, "xyz") + sni("x", 7)), h),
            HelloParse::Complete);
  EXPECT_EQ(h.serverName, "");
  EXPECT_TRUE(h.alpn.empty());
}

TEST(ClientHello, NameNormalised) {
  ClientHello h;
  ASSERT_EQ(parseClientHello(hello(sni("WWW.Example.COM.")), h), HelloParse::Complete);
  EXPECT_EQ(h.serverName, "www.example.com");
  ASSERT_EQ(parseClientHello(hello(sni("a..")), h), HelloParse::Complete);  // one dot only
  EXPECT_EQ(h.serverName, "a.");
  ASSERT_EQ(parseClientHello(hello(sni(std::string(255, 'a'))), h), HelloParse::Complete);
  EXPECT_EQ(h.serverName.size(), 255u);
  // Two entries: the first host_name wins.
  std::string list = std::string(1, '\0') + u16(5) + "first" + std::string(1, '\0') + u16(6) + "second";
  ASSERT_EQ(parseClientHello(hello(extension(0, u16(list.size()) + list)), h), HelloParse::Complete);
  EXPECT_EQ(h.serverName, "first");
}

TEST(ClientHello, SplitOverRecordsAndReads) {
  const std::string block = sni("split.example") + alpn({"h2", "http/1.1"});
  for (size_t payload : {1, 2, 3, 4, 5, 7, 64, 16384}) {
    std::string data = hello(block, payload);
    ClientHello h;
    ASSERT_EQ(parseClientHello(data, h), HelloParse::Complete) << payload;
    EXPECT_EQ(h.serverName, "split.example");
    EXPECT_EQ(h.alpn.size(), 2u);
    expectPrefixesNeedMore(data);
  }
}

TEST(ClientHello, BytesAfterTheHelloIgnored) {
  // The record goes on after the hello (another handshake message): not read.
  std::string m = message(Body{.tail = extensions(sni("a.example"))});
  std::string data = records(m + std::string("\x02\xff\xff\xff", 4) + "junk");
  ClientHello h;
  ASSERT_EQ(parseClientHello(data, h), HelloParse::Complete);
  EXPECT_EQ(h.serverName, "a.example");
  // A record cut short after the hello ended is enough.
  EXPECT_EQ(parse(data.substr(0, 5 + m.size())), HelloParse::Complete);
}

TEST(ClientHello, NotTls) {
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), HelloParse::NotTls);
  EXPECT_EQ(parse("G"), HelloParse::NotTls);
  EXPECT_EQ(parse("PRI * HTTP/2.0\r\n"), HelloParse::NotTls);
  EXPECT_EQ(parse("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), HelloParse::NotTls);
  EXPECT_EQ(parse(std::string("\x80\x2e\x01\x03\x01", 5)), HelloParse::NotTls);  // SSLv2-compatible
  EXPECT_EQ(parse(std::string("\x15\x03\x03\x00\x02\x02\x28", 7)), HelloParse::NotTls);  // an alert first
  EXPECT_EQ(parse(""), HelloParse::NeedMore);
}

TEST(ClientHello, InvalidRecords) {
  std::string good = hello(sni("example.com"), 100);
  ASSERT_EQ(parse(good), HelloParse::Complete);
  EXPECT_EQ(parse(std::string("\x16\x02", 2)), HelloParse::Invalid);          // version major 2
  EXPECT_EQ(parse(std::string("\x16\x03\x01\x00\x00", 5)), HelloParse::Invalid);  // empty record
  EXPECT_EQ(parse(std::string("\x16\x03\x01\x48\x01", 5)), HelloParse::Invalid);  // 18433 > 16384 + 2048
  EXPECT_EQ(parse(std::string("\x16\x03\x01\x00\x04\x02\x00\x00\x00", 9)), HelloParse::Invalid);  // server_hello
  std::string alertInMiddle = good;
  alertInMiddle[105] = '\x15';  // the second record's type
  EXPECT_EQ(parse(alertInMiddle), HelloParse::Invalid);
  std::string badVersion = good;
  badVersion[106] = '\x04';
  EXPECT_EQ(parse(badVersion), HelloParse::Invalid);
  // Partial headers are judged on the bytes they have.
  EXPECT_EQ(parse(alertInMiddle.substr(0, 106)), HelloParse::Invalid);
  EXPECT_EQ(parse(badVersion.substr(0, 107)), HelloParse::Invalid);
  EXPECT_EQ(parse(good.substr(0, 106)), HelloParse::NeedMore);
}

TEST(ClientHello, InvalidBodies) {
  EXPECT_EQ(parse(records(message(Body{.sessionId = std::string(33, 'x'), .tail = {}}))), HelloParse::Invalid);
  EXPECT_EQ(parse(records(message(Body{.cipherSuites = "abc", .tail = {}}))), HelloParse::Invalid);  // odd
  EXPECT_EQ(parse(records(message(Body{.cipherSuites = "", .tail = {}}))), HelloParse::Invalid);
  EXPECT_EQ(parse(records(message(Body{.compression = "", .tail = {}}))), HelloParse::Invalid);
  // The extensions block must fill the rest of the message exactly.
  std::string block = sni("example.com");
  EXPECT_EQ(parse(records(message(Body{.tail = u16(block.size() + 1) + block}))), HelloParse::Invalid);
  EXPECT_EQ(parse(records(message(Body{.tail = u16(block.size() - 1) + block}))), HelloParse::Invalid);
  EXPECT_EQ(parse(records(message(Body{.tail = extensions(block) + "x"}))), HelloParse::Invalid);
  EXPECT_EQ(parse(records(message(Body{.tail = "x"}))), HelloParse::Invalid);
  // An extension longer than the block.
  EXPECT_EQ(parse(hello(u16(16) + u16(40) + "abc")), HelloParse::Invalid);
  // A handshake length shorter than its body: the body is cut where the message ends.
  std::string m = message(Body{.tail = extensions(block)});
  std::string shortLength = m;
  shortLength[3] = char(uint8_t(shortLength[3]) - 3);
  EXPECT_EQ(parse(records(shortLength)), HelloParse::Invalid);
  // A message of 4 bytes: no body.
  EXPECT_EQ(parse(records(std::string("\x01\x00\x00\x00", 4))), HelloParse::Invalid);
}

TEST(ClientHello, InvalidServerName) {
  for (std::string name : {std::string(), std::string("a b"), std::string("a\x7f"), std::string("caf\xc3\xa9"),
                           std::string(256, 'a'), std::string("."), std::string("a\0b", 3)})
    EXPECT_EQ(parse(hello(sni(name))), HelloParse::Invalid) << name;
  EXPECT_EQ(parse(hello(extension(0, ""))), HelloParse::Invalid);                 // no list
  EXPECT_EQ(parse(hello(extension(0, u16(0)))), HelloParse::Invalid);             // empty list
  EXPECT_EQ(parse(hello(extension(0, u16(10) + '\0' + u16(3) + "abc"))), HelloParse::Invalid);  // list too long
  EXPECT_EQ(parse(hello(extension(0, u16(6) + '\0' + u16(3) + "abc" + "x"))), HelloParse::Invalid);  // too short
  EXPECT_EQ(parse(hello(extension(0, u16(3) + '\0' + u16(1)))), HelloParse::Invalid);  // entry cut
  EXPECT_EQ(parse(hello(sni("a.example") + sni("b.example"))), HelloParse::Invalid);  // twice
}

TEST(ClientHello, InvalidAlpn) {
  EXPECT_EQ(parse(hello(alpn({"h2", ""}))), HelloParse::Invalid);
  EXPECT_EQ(parse(hello(alpn({}))), HelloParse::Invalid);
  EXPECT_EQ(parse(hello(extension(16, u16(4) + "\x02h2"))), HelloParse::Invalid);
  EXPECT_EQ(parse(hello(extension(16, u16(2) + "\x05h2"))), HelloParse::Invalid);
  EXPECT_EQ(parse(hello(alpn({"h2"}) + alpn({"http/1.1"}))), HelloParse::Invalid);  // twice
  ClientHello h;
  ASSERT_EQ(parseClientHello(hello(alpn({"http/1.1", "acme-tls/1", "h2"})), h), HelloParse::Complete);
  EXPECT_EQ(h.alpn, (std::vector<std::string>{"http/1.1", "acme-tls/1", "h2"}));
}

TEST(ClientHello, OutUntouchedUnlessComplete) {
  ClientHello h;
  h.serverName = "kept";
  std::string data = hello(sni("example.com"));
  EXPECT_EQ(parseClientHello(data.substr(0, data.size() - 1), h), HelloParse::NeedMore);
  EXPECT_EQ(parseClientHello(hello(sni("")), h), HelloParse::Invalid);
  EXPECT_EQ(parseClientHello("GET /", h), HelloParse::NotTls);
  EXPECT_EQ(h.serverName, "kept");
}

TEST(ClientHello, Bound) {
  // A handshake length that cannot fit: known from the first 9 bytes.
  EXPECT_EQ(parse(std::string("\x16\x03\x01\x00\x04\x01\xff\xff\xff", 9)), HelloParse::Invalid);
  EXPECT_EQ(parse(std::string("\x16\x03\x01\x00\x04\x01\x01\x00\x00", 9)), HelloParse::Invalid);  // 65540
  // A big hello (padding) in full records is fine.
  std::string padded = hello(sni("big.example") + extension(21, std::string(60000, '\0')));
  ClientHello h;
  ASSERT_EQ(parseClientHello(padded, h), HelloParse::Complete);
  EXPECT_EQ(h.serverName, "big.example");
  EXPECT_LE(padded.size(), kMaxClientHello);
  // The same hello in 10-byte records ends past the bound: NeedMore until then, then Invalid.
  std::string small = hello(sni("big.example") + extension(21, std::string(60000, '\0')), 10);
  ASSERT_GT(small.size(), kMaxClientHello);
  EXPECT_EQ(parse(small.substr(0, kMaxClientHello - 1)), HelloParse::NeedMore);
  EXPECT_EQ(parse(small.substr(0, kMaxClientHello)), HelloParse::Invalid);
  EXPECT_EQ(parse(small), HelloParse::Invalid);
}
