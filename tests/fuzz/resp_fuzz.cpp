// libFuzzer target for the Redis protocol reader (clients/redis/resp_protocol.h): parses the
// input as a reply. A complete reply consumes at most the input and every shorter prefix of
// it is incomplete, never an error (a reply split across reads must not fail); an array of
// bulk strings survives encodeCommand → parse unchanged.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "clients/redis/resp_protocol.h"

namespace resp = causeway::clients::redis::resp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  resp::Limits limits;
  limits.maxBulk = 4096;
  limits.maxItems = 64;
  limits.maxDepth = 4;
  resp::Value value;
  size_t consumed = 0;
  std::string error;
  resp::Status status = resp::parse(input, value, consumed, error, limits);
  if (status != resp::Status::Complete) return 0;
  if (consumed == 0 || consumed > size) std::abort();
  for (size_t n = 0; n < consumed; ++n) {
    resp::Value partial;
    size_t partialConsumed = 0;
    std::string partialError;
    if (resp::parse(input.substr(0, n), partial, partialConsumed, partialError, limits) != resp::Status::Incomplete)
      std::abort();
  }
  if (value.type == resp::Value::Type::Array && !value.items.empty()) {
    std::vector<std::string> args;
    for (const auto& item : value.items) {
      if (item.type != resp::Value::Type::Bulk) return 0;
      args.push_back(item.text);
    }
    std::string encoded = resp::encodeCommand(args);
    resp::Value again;
    size_t againConsumed = 0;
    if (resp::parse(encoded, again, againConsumed, error) != resp::Status::Complete) std::abort();
    if (againConsumed != encoded.size() || again.items.size() != args.size()) std::abort();
    for (size_t i = 0; i < args.size(); ++i)
      if (again.items[i].text != args[i]) std::abort();
  }
  return 0;
}
