#include "exchange/local_reply.h"

#include "http/go_text.h"

namespace causeway::exchange {

void localReply(Exchange& ex, int status, std::string_view body) {
  Response& r = ex.response;
  r.status = status;
  r.reason = {};
  r.headers.clear();
  r.headers.add("Content-Type", "text/plain; charset=utf-8");
  r.headers.add("X-Content-Type-Options", "nosniff");
  r.body = ex.arena.make<MemoryBody>(ex.arena.copy(body));
  r.tunnel = nullptr;
}

void errorReply(Exchange& ex, int status, std::string_view text) {
  localReply(ex, status, ex.arena.concat({text, "\n"}));
}

void statusTextReply(Exchange& ex, int status) {
  std::string_view text = http::reasonPhrase(status);
  localReply(ex, status, text);
  // Traefik's proxy error handler writes the bare status text: no Content-Type (v3 turns
  // sniffing off at the entryPoint) and no nosniff.
  ex.response.headers.clear();
}

}  // namespace causeway::exchange
