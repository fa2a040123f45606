// libFuzzer target for the DNS answer parser of the ACME DNS-01 challenge
// (clients/dns/dns_message.h): any input parses or is refused, never reads out of bounds or
// loops (compression pointers only go backwards); a parsed TXT record's strings fit in it.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "clients/dns/dns_message.h"

namespace dns = causeway::clients::dns;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto message = dns::parse(input);
  if (!message) return 0;
  for (const auto* section : {&message->answers, &message->authority})
    for (const dns::Record& record : *section) {
      if (record.name.size() > 255 || record.rdata.size() > size) std::abort();
      size_t total = 0;
      for (const auto& text : record.texts) total += 1 + text.size();
      if (total > record.rdata.size()) std::abort();
    }
  return 0;
}
