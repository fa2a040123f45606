// libFuzzer target for the ClientHello peek (net/client_hello.h). Properties checked:
// NotTls exactly when the first byte is not 0x16; NeedMore only below kMaxClientHello bytes;
// a Complete hello has a server name of 1..255 printable lower-case bytes (or none) and
// non-empty ALPN names; appending bytes to a Complete input changes nothing; a prefix of a
// Complete input is NeedMore or the same Complete hello.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "net/client_hello.h"

namespace net = causeway::net;

namespace {

bool same(const net::ClientHello& a, const net::ClientHello& b) {
  return a.serverName == b.serverName && a.alpn == b.alpn;
}

void checkPrefix(std::string_view input, size_t size, const net::ClientHello& whole) {
  net::ClientHello hello;
  net::HelloParse result = net::parseClientHello(input.substr(0, size), hello);
  if (result == net::HelloParse::Complete ? !same(hello, whole) : result != net::HelloParse::NeedMore) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  net::ClientHello hello;
  net::HelloParse result = net::parseClientHello(input, hello);
  if ((result == net::HelloParse::NotTls) != (size > 0 && data[0] != 0x16)) std::abort();
  if (result == net::HelloParse::NeedMore && size >= net::kMaxClientHello) std::abort();
  if (result != net::HelloParse::Complete) return 0;

  if (hello.serverName.size() > 255) std::abort();
  for (char c : hello.serverName)
    if (uint8_t(c) < 0x21 || uint8_t(c) > 0x7e || (c >= 'A' && c <= 'Z')) std::abort();
  for (const auto& protocol : hello.alpn)
    if (protocol.empty() || protocol.size() > 255) std::abort();

  std::string longer(input);
  longer += "\x16\x03\x03\x00\x01\x01GET / HTTP/1.1\r\n";
  net::ClientHello again;
  if (net::parseClientHello(longer, again) != net::HelloParse::Complete || !same(again, hello)) std::abort();
  checkPrefix(input, size / 2, hello);
  checkPrefix(input, size - 1, hello);
  return 0;
}
