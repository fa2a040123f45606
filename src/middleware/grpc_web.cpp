// grpcWeb: converts gRPC-Web requests (application/grpc-web[+proto] and the base64
// application/grpc-web-text variants) into gRPC for the upstream, and the gRPC response
// back into gRPC-Web: the content type is mapped back, the trailers (grpc-status,
// grpc-message, ...) become a trailer frame (flag 0x80, 32-bit length, "key: value\r\n"
// lines) at the end of the body, and text mode is base64-encoded as one stream. CORS
// preflights from allowed origins (allowOrigins, "*" for any) are answered here, as
// Traefik's wrapper (improbable-eng/grpc-web with rs/cors) does. Other requests pass.
#include "core/bytes.h"
#include "exchange/local_reply.h"
#include "http/go_text.h"
#include "middleware/contract.h"

namespace causeway::middleware {
namespace {

struct Options {
  std::vector<std::string> allowOrigins;
  static void describe(auto& self, auto& v) { v("allowOrigins", self.allowOrigins); }
};

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Decodes base64 text arriving in pieces of any size.
class Base64DecodingBody final : public exchange::BodySource {
 public:
  explicit Base64DecodingBody(exchange::BodySource* inner) : inner_(inner) {}
  awaitable<exchange::BodyChunk> read() override {
    while (true) {
      exchange::BodyChunk chunk = co_await inner_->read();
      if (chunk.error) co_return chunk;
      for (char c : chunk.data)
        if (c != '\n' && c != '\r') pending_.push_back(c);
      size_t usable = chunk.last ? pending_.size() : pending_.size() / 4 * 4;
      decoded_.clear();
      if (usable > 0 && !base64Decode(std::string_view(pending_).substr(0, usable), decoded_))
        co_return exchange::BodyChunk{{}, false, true};
      pending_.erase(0, usable);
      if (chunk.last) finished_ = true;
      if (!decoded_.empty() || chunk.last) co_return exchange::BodyChunk{decoded_, chunk.last, false};
    }
  }
  bool finished() const override { return finished_; }

 private:
  exchange::BodySource* inner_;
  std::string pending_;
  std::string decoded_;
  bool finished_ = false;
};

// The gRPC response body followed by the gRPC-Web trailer frame; base64 in text mode.
class GrpcWebResponseBody final : public exchange::BodySource {
 public:
  GrpcWebResponseBody(exchange::BodySource* inner, const http::Headers& headers, bool text)
      : inner_(inner), text_(text) {
    // A trailers-only answer carries the status in its headers.
    for (const auto& f : headers)
      if (istartsWith(f.name, "grpc-")) headerStatus_.emplace_back(toLower(f.name), std::string(f.value));
  }
  awaitable<exchange::BodyChunk> read() override {
    if (done_) co_return exchange::BodyChunk{{}, true, false};
    out_.clear();
    bool last = true;
    if (inner_) {
      exchange::BodyChunk chunk = co_await inner_->read();
      if (chunk.error) co_return chunk;
      out_.append(chunk.data);
      last = chunk.last;
    }
    if (last) {
      std::string frame;
      const http::Headers* trailers = inner_ ? inner_->trailers() : nullptr;
      if (trailers && !trailers->empty()) {
        for (const auto& f : *trailers) frame += toLower(f.name) + ": " + std::string(f.value) + "\r\n";
      } else {
        for (const auto& [name, value] : headerStatus_) frame += name + ": " + value + "\r\n";
      }
      out_.push_back(char(0x80));
      for (int shift = 24; shift >= 0; shift -= 8) out_.push_back(char((frame.size() >> shift) & 0xff));
      out_ += frame;
      done_ = true;
    }
    if (!text_) co_return exchange::BodyChunk{out_, last, false};
    // One base64 stream: encode whole 3-byte groups now, the rest with the next piece.
    carry_ += out_;
    size_t usable = last ? carry_.size() : carry_.size() / 3 * 3;
    encoded_ = base64Encode(std::string_view(carry_).substr(0, usable));
    carry_.erase(0, usable);
    co_return exchange::BodyChunk{encoded_, last, false};
  }
  bool finished() const override { return done_; }

 private:
  exchange::BodySource* inner_;
  bool text_;
  std::vector<std::pair<std::string, std::string>> headerStatus_;
  std::string out_, carry_, encoded_;
  bool done_ = false;
};

class GrpcWeb final : public Handler {
 public:
  GrpcWeb(const Options& options, HandlerPtr next, const WrapContext&) : options_(options), next_(std::move(next)) {}

  awaitable<void> handle(Exchange& ex) const override {
    auto& r = ex.request;
    std::string_view origin = r.headers.get("Origin");
    if (r.method == "OPTIONS" && r.headers.has("Access-Control-Request-Method")) {
      exchange::localReply(ex, 204, "");
      ex.response.headers.clear();
      ex.response.body = nullptr;
      ex.response.headers.add("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
      if (!origin.empty() && allowed(origin)) {
        ex.response.headers.add("Access-Control-Allow-Origin", ex.arena.copy(origin));
        ex.response.headers.add("Access-Control-Allow-Methods",
                                ex.arena.copy(toUpper(r.headers.get("Access-Control-Request-Method"))));
        if (std::string_view requested = r.headers.get("Access-Control-Request-Headers"); !requested.empty())
          ex.response.headers.add("Access-Control-Allow-Headers", ex.arena.copy(requested));
        ex.response.headers.add("Access-Control-Allow-Credentials", "true");
        ex.response.headers.add("Access-Control-Max-Age", "600");
      }
      co_return;
    }
    std::string_view contentType = r.headers.get("Content-Type");
    if (r.method != "POST" || !istartsWith(contentType, "application/grpc-web")) {
      co_await next_->handle(ex);
      co_return;
    }
    bool text = istartsWith(contentType, "application/grpc-web-text");
    std::string grpcType = "application/grpc" + std::string(contentType.substr(text ? 25 : 20));
    r.headers.set("Content-Type", ex.arena.copy(grpcType));
    r.headers.remove("Content-Length");
    r.headers.set("TE", "trailers");
    if (text && r.body) r.body = ex.arena.make<Base64DecodingBody>(r.body);

    co_await next_->handle(ex);

    auto& response = ex.response;
    std::string_view upstreamType = response.headers.get("Content-Type");
    if (!istartsWith(upstreamType, "application/grpc")) co_return;
    std::string webType = (text ? "application/grpc-web-text" : "application/grpc-web") +
                          std::string(upstreamType.substr(16));
    response.headers.set("Content-Type", ex.arena.copy(webType));
    response.headers.remove("Content-Length");
    response.body = ex.arena.make<GrpcWebResponseBody>(response.body, response.headers, text);
    if (!origin.empty() && allowed(origin)) {
      std::string exposed;
      for (const auto& f : response.headers) {
        if (!exposed.empty()) exposed += ", ";
        exposed += f.name;
      }
      if (!exposed.empty()) exposed += ", ";
      exposed += "grpc-status, grpc-message";
      response.headers.set("Access-Control-Expose-Headers", ex.arena.copy(exposed));
      response.headers.set("Access-Control-Allow-Origin", ex.arena.copy(origin));
      response.headers.set("Access-Control-Allow-Credentials", "true");
      response.headers.add("Vary", "Origin");
    }
  }

 private:
  bool allowed(std::string_view origin) const {
    for (const auto& o : options_.allowOrigins)
      if (o == "*" || o == origin) return true;
    return false;
  }
  Options options_;
  HandlerPtr next_;
};

const exchange::MiddlewareRegistration registration("grpcWeb", makeFactory<Options, GrpcWeb>, "GRPCWeb");

}  // namespace
}  // namespace causeway::middleware
