// encodedCharacters: the per-router form of the entryPoint's http.encodedCharacters. Every
// allow* option defaults to false here: a path holding a percent-encoded character that is
// not allowed (%2F/%2f, %5C/%5c, %00, %3B/%3b, %25, %3F/%3f, %23) is answered with 400 and
// an empty body, as Traefik writes it (rw.WriteHeader(400)).
#include "config/entry_point.h"
#include "exchange/replies.h"
#include "middleware/contract.h"

namespace causeway::middleware {
namespace {

// Every allow* option defaults to false here (true on entryPoints).
struct Options : config::EncodedCharacters {
  Options() : config::EncodedCharacters(false) {}
};

class EncodedCharacters final : public Handler {
 public:
  EncodedCharacters(const Options& o, HandlerPtr next, const WrapContext&)
      : next_(std::move(next)) {
    auto deny = [&](bool allowed, std::initializer_list<std::string_view> codes) {
      if (!allowed)
        for (auto c : codes)
          denied_.emplace_back(c);
    };
    deny(o.allowEncodedSlash, {"%2F", "%2f"});
    deny(o.allowEncodedBackSlash, {"%5C", "%5c"});
    deny(o.allowEncodedNullCharacter, {"%00"});
    deny(o.allowEncodedSemicolon, {"%3B", "%3b"});
    deny(o.allowEncodedPercent, {"%25"});
    deny(o.allowEncodedQuestionMark, {"%3F", "%3f"});
    deny(o.allowEncodedHash, {"%23"});
  }

  awaitable<void> handle(Exchange& ex) const override {
    if (!denied_.empty()) {
      std::string_view path = ex.request.path;
      for (size_t i = 0; i < path.size(); ++i) {
        if (path[i] != '%') continue;
        if (i + 2 >= path.size()) {
          exchange::bareReply(ex, 400, {});
          co_return;
        }
        std::string_view code = path.substr(i, 3);
        for (const auto& d : denied_) {
          if (d == code) {
            ex.record.errorDetail = "encoded character not allowed in the path";
            exchange::bareReply(ex, 400, {});
            co_return;
          }
        }
        i += 2;
      }
    }
    co_await next_->handle(ex);
  }

 private:
  std::vector<std::string> denied_;
  HandlerPtr next_;
};

const exchange::MiddlewareRegistration registration("encodedCharacters",
                                                  makeFactory<Options, EncodedCharacters>);

}  // namespace
}  // namespace causeway::middleware
