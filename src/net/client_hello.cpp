#include "net/client_hello.h"

#include <cstdint>
#include <utility>

#include "core/strings.h"

namespace causeway::net {
namespace {

constexpr uint8_t kHandshakeRecord = 0x16;
constexpr uint8_t kClientHelloType = 1;
constexpr size_t kRecordHeader = 5;
constexpr size_t kHandshakeHeader = 4;
constexpr size_t kMaxRecordPayload = 16384 + 2048;
constexpr size_t kServerNameExtension = 0;
constexpr size_t kAlpnExtension = 16;

uint8_t byteAt(std::string_view s, size_t i) { return uint8_t(s[i]); }

// Big-endian fields and length-prefixed vectors read from the front of `rest`; a read that
// does not fit returns false and leaves `rest` in an unspecified (but in-bounds) state.
struct Reader {
  std::string_view rest;

  bool number(size_t width, size_t& value) {
    if (rest.size() < width) return false;
    value = 0;
    for (size_t i = 0; i < width; ++i) value = value << 8 | byteAt(rest, i);
    rest.remove_prefix(width);
    return true;
  }
  bool take(size_t n, std::string_view& out) {
    if (rest.size() < n) return false;
    out = rest.substr(0, n);
    rest.remove_prefix(n);
    return true;
  }
  // A vector whose length is given by a `width`-byte prefix.
  bool prefixed(size_t width, std::string_view& out) {
    size_t n = 0;
    return number(width, n) && take(n, out);
  }
};

// server_name extension data (RFC 6066 section 3): the first host_name, validated and
// normalised into `name`; other name types are skipped.
bool parseServerName(std::string_view extension, std::string& name) {
  Reader r{extension};
  std::string_view list;
  if (!r.prefixed(2, list) || !r.rest.empty() || list.empty()) return false;
  Reader entries{list};
  bool found = false;
  while (!entries.rest.empty()) {
    size_t type = 0;
    std::string_view value;
    if (!entries.number(1, type) || !entries.prefixed(2, value)) return false;
    if (type != 0 || found) continue;
    if (value.empty() || value.size() > 255) return false;
    name.clear();
    for (char c : value) {
      if (uint8_t(c) < 0x21 || uint8_t(c) > 0x7e) return false;
      name += asciiLower(c);
    }
    if (name.back() == '.') name.pop_back();
    if (name.empty()) return false;  // "." alone
    found = true;
  }
  return true;
}

// application_layer_protocol_negotiation extension data (RFC 7301 section 3.1).
bool parseAlpn(std::string_view extension, std::vector<std::string>& protocols) {
  Reader r{extension};
  std::string_view list;
  if (!r.prefixed(2, list) || !r.rest.empty() || list.empty()) return false;
  Reader names{list};
  while (!names.rest.empty()) {
    std::string_view protocol;
    if (!names.prefixed(1, protocol) || protocol.empty()) return false;
    protocols.emplace_back(protocol);
  }
  return true;
}

// The ClientHello body: everything after the 4-byte handshake header.
bool parseBody(std::string_view body, ClientHello& out) {
  Reader r{body};
  std::string_view versionAndRandom, sessionId, cipherSuites, compressionMethods, extensions;
  if (!r.take(2 + 32, versionAndRandom)) return false;
  if (!r.prefixed(1, sessionId) || sessionId.size() > 32) return false;
  if (!r.prefixed(2, cipherSuites) || cipherSuites.size() < 2 || cipherSuites.size() % 2 != 0) return false;
  if (!r.prefixed(1, compressionMethods) || compressionMethods.empty()) return false;
  if (r.rest.empty()) return true;  // no extensions at all (a TLS 1.0-era hello)
  if (!r.prefixed(2, extensions) || !r.rest.empty()) return false;
  Reader e{extensions};
  bool sawServerName = false, sawAlpn = false;
  while (!e.rest.empty()) {
    size_t type = 0;
    std::string_view data;
    if (!e.number(2, type) || !e.prefixed(2, data)) return false;
    if (type == kServerNameExtension) {
      if (sawServerName || !parseServerName(data, out.serverName)) return false;
      sawServerName = true;
    } else if (type == kAlpnExtension) {
      if (sawAlpn || !parseAlpn(data, out.alpn)) return false;
      sawAlpn = true;
    }
  }
  return true;
}

}  // namespace

HelloParse parseClientHello(std::string_view data, ClientHello& out) {
  if (data.empty()) return HelloParse::NeedMore;
  if (byteAt(data, 0) != kHandshakeRecord) return HelloParse::NotTls;

  // The handshake bytes received so far: a view of the first record's payload while the
  // message has not gone past it (the usual case, no copy), else `assembled`.
  std::string_view handshake;
  std::string assembled;
  size_t messageSize = 0;  // header included; 0 until the handshake header is in
  for (size_t pos = 0; pos < data.size();) {
    if (pos >= kMaxClientHello) return HelloParse::Invalid;  // the hello would end past the bound
    std::string_view header = data.substr(pos, kRecordHeader);
    if (byteAt(header, 0) != kHandshakeRecord) return HelloParse::Invalid;
    if (header.size() >= 2 && byteAt(header, 1) != 3) return HelloParse::Invalid;
    if (header.size() < kRecordHeader) break;
    const size_t length = size_t(byteAt(header, 3)) << 8 | byteAt(header, 4);
    if (length == 0 || length > kMaxRecordPayload) return HelloParse::Invalid;
    std::string_view fragment = data.substr(pos + kRecordHeader, length);  // cut short at the data's end
    const size_t before = handshake.size();
    if (pos == 0) {
      handshake = fragment;
    } else {
      if (assembled.empty()) assembled.assign(handshake);
      assembled.append(fragment);
      handshake = assembled;
    }
    if (!handshake.empty() && byteAt(handshake, 0) != kClientHelloType) return HelloParse::Invalid;
    if (messageSize == 0 && handshake.size() >= kHandshakeHeader) {
      messageSize = kHandshakeHeader + (size_t(byteAt(handshake, 1)) << 16 | size_t(byteAt(handshake, 2)) << 8 |
                                        byteAt(handshake, 3));
      // Every record carries at most kMaxRecordPayload bytes of it, after a 5-byte header.
      const size_t records = (messageSize + kMaxRecordPayload - 1) / kMaxRecordPayload;
      if (messageSize + records * kRecordHeader > kMaxClientHello) return HelloParse::Invalid;
    }
    if (messageSize != 0 && handshake.size() >= messageSize) {
      // Where the message ends in `data`: the same bound for hellos in many small records.
      if (pos + kRecordHeader + (messageSize - before) > kMaxClientHello) return HelloParse::Invalid;
      ClientHello hello;
      if (!parseBody(handshake.substr(kHandshakeHeader, messageSize - kHandshakeHeader), hello))
        return HelloParse::Invalid;
      out = std::move(hello);
      return HelloParse::Complete;
    }
    pos += kRecordHeader + length;
  }
  return data.size() >= kMaxClientHello ? HelloParse::Invalid : HelloParse::NeedMore;
}

}  // namespace causeway::net
