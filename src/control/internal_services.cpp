#include "control/internal_services.h"

#include "http/go_text.h"

#include "exchange/local_reply.h"

namespace causeway::control {

awaitable<void> StatusService::handle(exchange::Exchange& ex) const {
  exchange::localReply(ex, status_, "");
  co_return;
}

// Traefik v3's ping handler answers every method and every path its router sends it.
awaitable<void> PingService::handle(exchange::Exchange& ex) const {
  if (terminating_.load(std::memory_order_relaxed)) {
    exchange::localReply(ex, terminatingStatusCode_, http::reasonPhrase(terminatingStatusCode_));
  } else {
    exchange::localReply(ex, 200, "OK");
  }
  ex.response.headers.remove("X-Content-Type-Options");
  co_return;
}

awaitable<void> AcmeHttpChallengeService::handle(exchange::Exchange& ex) const {
  constexpr std::string_view prefix = "/.well-known/acme-challenge/";
  std::string_view path = ex.request.path;
  std::optional<std::string> answer;
  if (path.starts_with(prefix)) answer = challenges_->keyAuthorization(std::string(path.substr(prefix.size())));
  if (!answer) {
    exchange::localReply(ex, 404, "404 page not found\n");
    co_return;
  }
  exchange::localReply(ex, 200, *answer);
  ex.response.headers.set("Content-Type", "text/plain");
  co_return;
}

}  // namespace causeway::control
