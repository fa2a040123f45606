#include "clients/dns/dns_message.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>

#include "core/strings.h"

namespace causeway::clients::dns {
namespace {

constexpr uint16_t kClassIn = 1;
constexpr uint16_t kClassNone = 254;
constexpr uint16_t kClassAny = 255;
constexpr uint16_t kTypeTsig = 250;

void put16(std::string& out, uint16_t v) {
  out.push_back(char(v >> 8));
  out.push_back(char(v & 0xff));
}
void put32(std::string& out, uint32_t v) {
  put16(out, uint16_t(v >> 16));
  put16(out, uint16_t(v & 0xffff));
}
void put48(std::string& out, uint64_t v) {
  put16(out, uint16_t(v >> 32));
  put32(out, uint32_t(v & 0xffffffff));
}

std::string header(uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns, uint16_t ar) {
  std::string out;
  put16(out, id);
  put16(out, flags);
  put16(out, qd);
  put16(out, an);
  put16(out, ns);
  put16(out, ar);
  return out;
}

std::string trimDot(std::string_view name) {
  std::string out(name);
  if (!out.empty() && out.back() == '.') out.pop_back();
  toLowerInPlace(out);
  return out;
}

// The digest of a TSIG algorithm name (RFC 8945 §6), null when unknown.
const EVP_MD* tsigDigest(std::string_view algorithm) {
  std::string name = trimDot(algorithm);
  if (name == "hmac-md5.sig-alg.reg.int" || name == "hmac-md5") return EVP_md5();
  if (name == "hmac-sha1") return EVP_sha1();
  if (name == "hmac-sha224") return EVP_sha224();
  if (name == "hmac-sha256") return EVP_sha256();
  if (name == "hmac-sha384") return EVP_sha384();
  if (name == "hmac-sha512") return EVP_sha512();
  return nullptr;
}

std::string canonicalAlgorithm(std::string_view algorithm) {
  std::string name = trimDot(algorithm);
  return name == "hmac-md5" ? "hmac-md5.sig-alg.reg.int" : name;
}

class Reader {
 public:
  explicit Reader(std::string_view wire) : wire_(wire) {}
  bool u16(uint16_t& v) {
    if (pos_ + 2 > wire_.size()) return false;
    v = uint16_t((uint8_t(wire_[pos_]) << 8) | uint8_t(wire_[pos_ + 1]));
    pos_ += 2;
    return true;
  }
  bool u32(uint32_t& v) {
    uint16_t hi, lo;
    if (!u16(hi) || !u16(lo)) return false;
    v = (uint32_t(hi) << 16) | lo;
    return true;
  }
  // A possibly compressed name; pointers must go backwards (no loops).
  bool name(std::string& out) {
    out.clear();
    size_t at = pos_;
    bool jumped = false;
    size_t limit = at;
    for (int labels = 0; labels < 128; ++labels) {
      if (at >= wire_.size()) return false;
      uint8_t length = uint8_t(wire_[at]);
      if ((length & 0xc0) == 0xc0) {
        if (at + 1 >= wire_.size()) return false;
        size_t target = (size_t(length & 0x3f) << 8) | uint8_t(wire_[at + 1]);
        if (!jumped) pos_ = at + 2;
        if (target >= limit) return false;
        limit = target;
        at = target;
        jumped = true;
        continue;
      }
      if (length & 0xc0) return false;
      if (length == 0) {
        if (!jumped) pos_ = at + 1;
        toLowerInPlace(out);
        return out.size() <= 255;
      }
      if (at + 1 + length > wire_.size()) return false;
      if (!out.empty()) out.push_back('.');
      out.append(wire_.substr(at + 1, length));
      at += 1 + length;
    }
    return false;
  }
  bool bytes(size_t n, std::string& out) {
    if (pos_ + n > wire_.size()) return false;
    out.assign(wire_.substr(pos_, n));
    pos_ += n;
    return true;
  }
  size_t position() const { return pos_; }

 private:
  std::string_view wire_;
  size_t pos_ = 0;
};

bool record(Reader& reader, Record& out) {
  uint16_t length;
  if (!reader.name(out.name) || !reader.u16(out.type) || !reader.u16(out.klass) || !reader.u32(out.ttl) ||
      !reader.u16(length) || !reader.bytes(length, out.rdata))
    return false;
  if (out.type == uint16_t(Type::TXT)) {
    for (size_t i = 0; i < out.rdata.size();) {
      size_t n = uint8_t(out.rdata[i]);
      if (i + 1 + n > out.rdata.size()) return false;
      out.texts.push_back(out.rdata.substr(i + 1, n));
      i += 1 + n;
    }
  }
  return true;
}

}  // namespace

bool encodeName(std::string_view name, std::string& out) {
  std::string text = trimDot(name);
  if (text.size() > 253) return false;
  size_t start = 0;
  while (!text.empty()) {
    size_t dot = text.find('.', start);
    std::string_view label = std::string_view(text).substr(start, dot == std::string::npos ? dot : dot - start);
    if (label.empty() || label.size() > 63) return false;
    out.push_back(char(label.size()));
    out.append(label);
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  out.push_back('\0');
  return true;
}

std::string query(uint16_t id, std::string_view name, Type type) {
  std::string out = header(id, 0x0100, 1, 0, 0, 0);  // RD
  if (!encodeName(name, out)) return {};
  put16(out, uint16_t(type));
  put16(out, kClassIn);
  return out;
}

std::string txtUpdate(uint16_t id, std::string_view zone, std::string_view name, std::string_view value, uint32_t ttl,
                      bool remove, const TsigKey& key, int64_t now) {
  std::string out = header(id, 5 << 11, 1, 0, 1, 0);  // opcode UPDATE; zone, one update RR
  if (!encodeName(zone, out)) return {};
  put16(out, uint16_t(Type::SOA));
  put16(out, kClassIn);
  if (!encodeName(name, out)) return {};
  put16(out, uint16_t(Type::TXT));
  put16(out, remove ? kClassNone : kClassIn);  // RFC 2136 §2.5.4: delete this RR from the set
  put32(out, remove ? 0 : ttl);
  std::string rdata;  // character strings of at most 255 bytes
  size_t at = 0;
  do {
    std::string_view part = value.substr(at, 255);
    rdata.push_back(char(part.size()));
    rdata.append(part);
    at += 255;
  } while (at < value.size());
  put16(out, uint16_t(rdata.size()));
  out += rdata;
  if (key.name.empty()) return out;

  // TSIG (RFC 8945 §4.3): the MAC covers the message, then the TSIG variables.
  const EVP_MD* digest = tsigDigest(key.algorithm);
  std::string keyName, algorithmName;
  if (!digest || !encodeName(key.name, keyName) || !encodeName(canonicalAlgorithm(key.algorithm), algorithmName))
    return {};
  constexpr uint16_t kFudge = 300;
  std::string variables = keyName;
  put16(variables, kClassAny);
  put32(variables, 0);
  variables += algorithmName;
  put48(variables, uint64_t(now));
  put16(variables, kFudge);
  put16(variables, 0);  // error
  put16(variables, 0);  // other length
  std::string signedData = out + variables;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int macLength = 0;
  if (!HMAC(digest, key.secret.data(), int(key.secret.size()), reinterpret_cast<const unsigned char*>(signedData.data()),
            signedData.size(), mac, &macLength))
    return {};
  std::string tsig = algorithmName;
  put48(tsig, uint64_t(now));
  put16(tsig, kFudge);
  put16(tsig, uint16_t(macLength));
  tsig.append(reinterpret_cast<const char*>(mac), macLength);
  put16(tsig, id);
  put16(tsig, 0);  // error
  put16(tsig, 0);  // other length
  out += keyName;
  put16(out, kTypeTsig);
  put16(out, kClassAny);
  put32(out, 0);
  put16(out, uint16_t(tsig.size()));
  out += tsig;
  out[11] = 1;  // ARCOUNT
  return out;
}

std::optional<Message> parse(std::string_view wire) {
  Reader reader(wire);
  Message message;
  uint16_t qd, an, ns, ar;
  if (!reader.u16(message.id) || !reader.u16(message.flags) || !reader.u16(qd) || !reader.u16(an) ||
      !reader.u16(ns) || !reader.u16(ar))
    return std::nullopt;
  message.rcode = message.flags & 0xf;
  message.truncated = (message.flags & 0x0200) != 0;
  for (uint16_t i = 0; i < qd; ++i) {
    std::string name;
    uint16_t type, klass;
    if (!reader.name(name) || !reader.u16(type) || !reader.u16(klass)) return std::nullopt;
  }
  for (uint16_t i = 0; i < an; ++i) {
    Record r;
    if (!record(reader, r)) return std::nullopt;
    message.answers.push_back(std::move(r));
  }
  for (uint16_t i = 0; i < ns; ++i) {
    Record r;
    if (!record(reader, r)) return std::nullopt;
    message.authority.push_back(std::move(r));
  }
  for (uint16_t i = 0; i < ar; ++i) {
    Record r;
    if (!record(reader, r)) return std::nullopt;
    if (r.type == kTypeTsig) {
      // The TSIG error (after algorithm, time, fudge, MAC, original id): BADSIG, BADKEY, ...
      Reader rdata(r.rdata);
      std::string algorithm, mac;
      uint32_t timeHigh;
      uint16_t timeLow, fudge, macSize, original, error;
      if (rdata.name(algorithm) && rdata.u32(timeHigh) && rdata.u16(timeLow) && rdata.u16(fudge) &&
          rdata.u16(macSize) && rdata.bytes(macSize, mac) && rdata.u16(original) && rdata.u16(error) && error != 0)
        message.rcode = error;
    }
  }
  return message;
}

std::string rcodeName(int rcode) {
  switch (rcode) {
  case 0: return "NOERROR";
  case 1: return "FORMERR";
  case 2: return "SERVFAIL";
  case 3: return "NXDOMAIN";
  case 4: return "NOTIMP";
  case 5: return "REFUSED";
  case 6: return "YXDOMAIN";
  case 7: return "YXRRSET";
  case 8: return "NXRRSET";
  case 9: return "NOTAUTH";
  case 10: return "NOTZONE";
  case 16: return "BADSIG";
  case 17: return "BADKEY";
  case 18: return "BADTIME";
  default: return "RCODE " + std::to_string(rcode);
  }
}

}  // namespace causeway::clients::dns
