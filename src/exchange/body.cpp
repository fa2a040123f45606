#include "exchange/body.h"

namespace causeway::exchange {

awaitable<bool> readAll(BodySource& body, std::string& out, size_t limit, bool& tooLarge) {
  tooLarge = false;
  while (!body.finished()) {
    BodyChunk chunk = co_await body.read();
    if (chunk.error) co_return false;
    if (out.size() + chunk.data.size() > limit) {
      tooLarge = true;
      out.append(chunk.data.substr(0, limit - out.size()));
      co_return false;
    }
    out.append(chunk.data);
    if (chunk.last) break;
  }
  co_return true;
}

}  // namespace causeway::exchange
