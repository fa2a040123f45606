// libFuzzer target for the PROXY protocol parser (net/proxy_protocol.h). Properties checked:
// a Complete header consumed a non-empty prefix of the input no longer than kMaxProxyHeader;
// a header that parses is parsed the same with bytes appended; NeedMore only for inputs
// shorter than a header can be.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "net/proxy_protocol.h"

namespace net = causeway::net;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  net::ProxyHeader header;
  size_t consumed = 0;
  net::ProxyParse result = net::parseProxyHeader(input, header, consumed);
  if (result == net::ProxyParse::Complete) {
    if (consumed == 0 || consumed > input.size() || consumed > net::kMaxProxyHeader) std::abort();
    std::string longer(input);
    longer += "GET / HTTP/1.1\r\n";
    net::ProxyHeader again;
    size_t consumedAgain = 0;
    if (net::parseProxyHeader(longer, again, consumedAgain) != net::ProxyParse::Complete || consumedAgain != consumed ||
        again.hasAddresses != header.hasAddresses || again.sourcePort != header.sourcePort)
      std::abort();
  }
  if (result == net::ProxyParse::NeedMore && size > net::kMaxProxyHeader) std::abort();
  return 0;
}
