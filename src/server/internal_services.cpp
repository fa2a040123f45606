#include "server/internal_services.h"

#include "server/local_reply.h"

namespace causeway::server {

awaitable<void> NoopService::handle(Exchange& ex) const {
  localReply(ex, 418, "");
  co_return;
}

// Traefik v3's ping handler answers every method and every path its router sends it.
awaitable<void> PingService::handle(Exchange& ex) const {
  if (terminating_.load(std::memory_order_relaxed)) {
    localReply(ex, terminatingStatusCode_, reasonPhrase(terminatingStatusCode_));
  } else {
    localReply(ex, 200, "OK");
  }
  ex.response.headers.remove("X-Content-Type-Options");
  co_return;
}

}  // namespace causeway::server
