// Small pieces shared by the middlewares that answer, replay or discard bodies (buffering,
// circuitBreaker, compress, errors, retry, redirects). Everything runs on the exchange's
// worker; objects placed in the exchange arena die when the exchange ends.
#pragma once

#include <string>
#include <string_view>

#include "exchange/exchange.h"

namespace causeway::exchange {

// rw.WriteHeader(status) with nothing written: an empty body and no Content-Type.
void bareStatusReply(Exchange& ex, int status);

// Go's http.Redirect(w, r, url, code) for an absolute or root-relative URL (a relative one is
// resolved against the request path as Go does).
void goRedirect(Exchange& ex, std::string_view url, int status);

// A response as Traefik writes it with `rw.WriteHeader(status); rw.Write(body)`: the
// entryPoint disables Content-Type sniffing (contenttype.DisableAutoDetection), so there is
// no Content-Type and no nosniff. An empty body leaves ex.response.body null.
void bareReply(Exchange& ex, int status, std::string_view body);

// Traefik's redirect answer (moveHandler): Location, 302 for GET and 307 for any other
// method (301/308 when permanent), the status text as body, no Content-Type.
void redirectReply(Exchange& ex, std::string_view location, bool permanent);

// Reads and discards at most `limit` bytes of `body` so that an upstream connection can go
// back to its pool; stops at the end, at an error, or at the limit (the body's owner then
// closes the connection). Null bodies are fine.
awaitable<void> drainBody(BodySource* body, size_t limit);

// Bytes already taken from a body (held for a decision), then the rest of that body.
// `held` is owned. The inner body's length and trailers are reported when known.
class HeldBody final : public BodySource {
 public:
  // `length`: the total (held + rest) when known, e.g. the client's Content-Length.
  HeldBody(std::string held, BodySource* rest, bool restFinished,
           std::optional<uint64_t> length = std::nullopt)
      : held_(std::move(held)), rest_(rest), restFinished_(restFinished || rest == nullptr),
        length_(length) {}
  awaitable<BodyChunk> read() override;
  std::optional<uint64_t> length() const override { return length_; }
  const http::Headers* trailers() const override { return rest_ ? rest_->trailers() : nullptr; }
  bool finished() const override { return finished_; }

 private:
  std::string held_;
  BodySource* rest_;
  bool restFinished_;
  std::optional<uint64_t> length_;
  bool heldSent_ = false;
  bool finished_ = false;
};

// A body whose read() always reports a broken stream (the downstream codec then cuts the
// connection, as Go does when a proxied body breaks after the head was committed).
class BrokenBody final : public BodySource {
 public:
  awaitable<BodyChunk> read() override { co_return BodyChunk{{}, false, true}; }
  bool finished() const override { return false; }
};

}  // namespace causeway::exchange
