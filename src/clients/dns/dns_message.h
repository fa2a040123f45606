// DNS messages (RFC 1035) for the ACME DNS-01 challenge (docs/acme.md): TXT and SOA queries
// with their answers, and dynamic updates (RFC 2136) signed with TSIG (RFC 8945). Pure
// functions over bytes, no I/O: dns_client.h sends them. Parsing is bounded by the message
// (compression pointers may only point backwards) and never throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace causeway::clients::dns {

enum class Type : uint16_t { A = 1, NS = 2, SOA = 6, TXT = 16 };

struct Record {
  std::string name;  // lower-case, no trailing dot
  uint16_t type = 0;
  uint16_t klass = 0;
  uint32_t ttl = 0;
  std::string rdata;               // raw
  std::vector<std::string> texts;  // TXT: its character strings
};

struct Message {
  uint16_t id = 0;
  uint16_t flags = 0;
  int rcode = 0;  // with the extended bits of a TSIG error, when any
  bool truncated = false;
  std::vector<Record> answers;
  std::vector<Record> authority;
};

// The TSIG key of an update: its name, algorithm ("hmac-sha256", "hmac-sha1." ... with or
// without the trailing dot; hmac-md5 is "hmac-md5.sig-alg.reg.int") and secret (raw bytes).
struct TsigKey {
  std::string name;
  std::string algorithm;
  std::string secret;
};

// "a.example.test" → wire labels; false when a label is empty or over 63 bytes, or the name
// over 255.
bool encodeName(std::string_view name, std::string& out);

// A query for `name` (recursion desired).
std::string query(uint16_t id, std::string_view name, Type type);

// An update of `zone`: add (or, when `remove`, delete) the TXT record `name` = `value`.
// Signed when `key` has a name; `now` is the signing time (unix seconds). Empty when a name
// does not encode or the algorithm is unknown.
std::string txtUpdate(uint16_t id, std::string_view zone, std::string_view name, std::string_view value, uint32_t ttl,
                      bool remove, const TsigKey& key, int64_t now);

// Parses an answer; nullopt when it is malformed.
std::optional<Message> parse(std::string_view wire);

// "NOERROR", "NXDOMAIN", "REFUSED", "NOTAUTH", "BADSIG", ... for an rcode.
std::string rcodeName(int rcode);

}  // namespace causeway::clients::dns
