// compress: compresses response bodies with gzip, br or zstd, as Traefik's compress
// middleware (gzip through klauspost's gzhttp, br and zstd through Traefik's own handler):
//  - HEAD requests, and requests whose own Content-Type is excluded (application/grpc is
//    always excluded), pass through untouched;
//  - the encoding comes from Accept-Encoding (accept_encoding.h); no header → defaultEncoding
//    or nothing; gzip additionally needs gzip in the first Accept-Encoding field (gzhttp);
//  - once an encoding is chosen the response gets `Vary: Accept-Encoding`;
//  - no compression when the response already has a Content-Encoding (gzip: or a
//    Content-Range), when its Content-Type is excluded / not included (gzip sniffs a missing
//    Content-Type, br/zstd compress it), or when the body is shorter than
//    minResponseBodyBytes (1024): a body of known length decides at once; one of unknown
//    length is held up to that many bytes, and passes uncompressed if it ends first
//    (text/event-stream starts compressing at its first bytes);
//  - when compressing: Content-Encoding set, Content-Length dropped (the body goes chunked),
//    gzip also drops Accept-Ranges. The body is compressed piece by piece as the client pulls
//    it; bodies of unknown length (streams, SSE) are flushed after every piece so each event
//    reaches the client at once. Memory per response: the held bytes plus the codec state.
#include <algorithm>

#include "exchange/replies.h"
#include "http/sniff.h"
#include "middleware/compress/accept_encoding.h"
#include "middleware/compress/encoders.h"
#include "middleware/contract.h"

namespace causeway::middleware {
namespace {

using compress::Encoder;
using compress::Flush;

constexpr int kDefaultMinSize = 1024;
const std::vector<std::string> kSupported = {"gzip", "br", "zstd"};

struct Options {
  std::vector<std::string> excludedContentTypes;
  std::vector<std::string> includedContentTypes;
  int minResponseBodyBytes = kDefaultMinSize;
  std::vector<std::string> encodings = {"gzip", "br", "zstd"};
  std::string defaultEncoding;

  static void describe(auto& self, auto& v) {
    v("excludedContentTypes", self.excludedContentTypes);
    v("includedContentTypes", self.includedContentTypes);
    v("minResponseBodyBytes", self.minResponseBodyBytes);
    v("encodings", self.encodings);
    v("defaultEncoding", self.defaultEncoding);
  }
  void check(MiddlewareBuildContext& context) const {
    if (!excludedContentTypes.empty() && !includedContentTypes.empty())
      context.error(
          "compress: excludedContentTypes and includedContentTypes options are mutually exclusive");
    for (const auto& t : excludedContentTypes)
      if (!compress::parseMediaType(t))
        context.error("compress: parsing excluded media type: invalid media type \"" + t + "\"");
    for (const auto& t : includedContentTypes)
      if (!compress::parseMediaType(t))
        context.error("compress: parsing included media type: invalid media type \"" + t + "\"");
    if (encodings.empty()) context.error("compress: at least one encoding must be specified");
    for (const auto& e : encodings)
      if (std::find(kSupported.begin(), kSupported.end(), e) == kSupported.end())
        context.error("compress: unsupported encoding: " + e);
    if (!defaultEncoding.empty() &&
        std::find(encodings.begin(), encodings.end(), defaultEncoding) == encodings.end())
      context.error("compress: unsupported default encoding: " + defaultEncoding);
  }
};

// Compresses the held bytes and then the rest of the inner body.
class CompressBody final : public exchange::BodySource {
 public:
  CompressBody(std::unique_ptr<Encoder> encoder, std::string held, exchange::BodySource* inner,
               bool innerFinished, bool flushEach)
      : encoder_(std::move(encoder)), held_(std::move(held)), inner_(inner),
        innerFinished_(innerFinished), flushEach_(flushEach) {}

  awaitable<exchange::BodyChunk> read() override {
    while (true) {
      if (done_) {
        finished_ = true;
        co_return exchange::BodyChunk{{}, true, false};
      }
      out_.clear();
      if (!heldUsed_) {
        heldUsed_ = true;
        Flush mode = innerFinished_ ? Flush::Finish : flushEach_ ? Flush::Sync : Flush::None;
        bool ok = encoder_->compress(held_, mode, out_);
        std::string().swap(held_);
        if (!ok) co_return exchange::BodyChunk{{}, false, true};
        if (innerFinished_) {
          done_ = finished_ = true;
          co_return exchange::BodyChunk{out_, true, false};
        }
        if (!out_.empty()) co_return exchange::BodyChunk{out_, false, false};
        continue;
      }
      exchange::BodyChunk chunk = co_await inner_->read();
      if (chunk.error) co_return chunk;
      Flush mode = chunk.last                            ? Flush::Finish
                   : (flushEach_ && !chunk.data.empty()) ? Flush::Sync
                                                         : Flush::None;
      if (!encoder_->compress(chunk.data, mode, out_)) co_return exchange::BodyChunk{{}, false, true};
      if (chunk.last) {
        done_ = finished_ = true;
        co_return exchange::BodyChunk{out_, true, false};
      }
      if (!out_.empty()) co_return exchange::BodyChunk{out_, false, false};
    }
  }
  const http::Headers* trailers() const override { return inner_ ? inner_->trailers() : nullptr; }
  bool finished() const override { return finished_; }

 private:
  std::unique_ptr<Encoder> encoder_;
  std::string held_;
  exchange::BodySource* inner_;
  bool innerFinished_;
  bool flushEach_;
  bool heldUsed_ = false;
  bool done_ = false;
  bool finished_ = false;
  std::string out_;
};

std::vector<std::string> mediaTypes(const std::vector<std::string>& in) {
  std::vector<std::string> out;
  for (const auto& t : in)
    if (auto m = compress::parseMediaType(t)) out.push_back(m->type);
  return out;
}

bool contains(const std::vector<std::string>& list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

// The media type of a Content-Type even when its parameters are malformed (Go returns it
// with ErrInvalidMediaParameter), "" when there is none.
std::string baseMediaType(std::string_view ct) {
  std::string_view base = trim(ct.substr(0, ct.find(';')));
  auto m = compress::parseMediaType(base);
  return m ? m->type : std::string();
}

class Compress final : public Handler {
 public:
  Compress(const Options& o, HandlerPtr next, const WrapContext&)
      : next_(std::move(next)),
        minSize_(o.minResponseBodyBytes > 0 ? o.minResponseBodyBytes : kDefaultMinSize),
        encodings_(o.encodings), defaultEncoding_(o.defaultEncoding),
        includes_(mediaTypes(o.includedContentTypes)) {
    excludes_ = {"application/grpc"};
    for (auto& t : mediaTypes(o.excludedContentTypes))
      excludes_.push_back(std::move(t));
  }

  awaitable<void> handle(Exchange& ex) const override {
    const auto& q = ex.request;
    if (q.method == "HEAD") {
      co_await next_->handle(ex);
      co_return;
    }
    if (std::string_view ct = q.headers.get("Content-Type");
        !ct.empty() && contains(excludes_, baseMediaType(ct))) {
      co_await next_->handle(ex);
      co_return;
    }
    std::vector<std::string_view> values;
    for (const auto& f : q.headers)
      if (iequals(f.name, "Accept-Encoding")) values.push_back(f.value);
    std::string encoding;
    if (values.empty())
      encoding = defaultEncoding_;
    else
      encoding = compress::chooseEncoding(values, encodings_, defaultEncoding_);
    if (!contains(kSupported, encoding)) {
      co_await next_->handle(ex);
      co_return;
    }
    bool gzip = encoding == "gzip";
    bool gzipAccepted =
        !gzip || compress::gzhttpAcceptsGzip(values.empty() ? std::string_view() : values[0]);

    co_await next_->handle(ex);
    exchange::Response& r = ex.response;
    if (r.tunnel) co_return;
    r.headers.fields().insert(r.headers.fields().begin(),
                              http::HeaderField{"Vary", "Accept-Encoding"});
    if (!gzipAccepted || !r.body || r.status < 200 || r.status == 204 || r.status == 304) co_return;
    if (!r.headers.get("Content-Encoding").empty()) co_return;
    if (gzip && !r.headers.get("Content-Range").empty()) co_return;
    std::string_view ct = r.headers.get("Content-Type");
    if (!ct.empty() && !(gzip ? gzipFilter(ct) : traefikFilter(ct))) co_return;

    exchange::BodySource* body = r.body;
    std::optional<uint64_t> length = body->length();
    std::string held;
    bool ended = false;
    if (length) {
      if (*length < uint64_t(minSize_)) co_return;
      if (gzip && ct.empty()) {
        // gzhttp sniffs the first bytes to apply its content-type filter.
        if (!co_await hold(*body, held, 512, ended)) co_return fail(ex);
        if (!gzipFilter(http::detectContentType(held))) co_return keep(ex, held);
      }
    } else {
      bool sse = baseMediaType(ct) == "text/event-stream";
      if (!co_await hold(*body, held, sse ? 1 : size_t(minSize_), ended)) co_return fail(ex);
      if (held.empty() || (!sse && ended && held.size() < size_t(minSize_)))
        co_return keep(ex, held);
      if (gzip && ct.empty() && !gzipFilter(http::detectContentType(held)))
        co_return keep(ex, held);
    }
    auto encoder = compress::makeEncoder(encoding);
    if (!encoder) co_return keep(ex, held);
    r.headers.remove("Content-Length");
    r.headers.set("Content-Encoding", encoder->name());
    if (gzip) r.headers.remove("Accept-Ranges");
    r.body = ex.arena.make<CompressBody>(std::move(encoder), std::move(held), body, ended,
                                         !length.has_value());
  }

 private:
  // Reads pieces until `held` has at least `want` bytes or the body ends.
  static awaitable<bool> hold(exchange::BodySource& body, std::string& held, size_t want,
                              bool& ended) {
    while (held.size() < want && !body.finished()) {
      exchange::BodyChunk chunk = co_await body.read();
      if (chunk.error) co_return false;
      held.append(chunk.data);
      if (chunk.last) {
        ended = true;
        break;
      }
    }
    if (body.finished()) ended = true;
    co_return true;
  }

  // Sends the held bytes and the rest uncompressed.
  static void keep(Exchange& ex, std::string_view held) {
    exchange::BodySource* rest = ex.response.body;
    ex.response.body = ex.arena.make<exchange::PrefixedBody>(ex.arena.copy(held), rest, rest->length());
  }
  static void fail(Exchange& ex) { ex.response.body = ex.arena.make<exchange::BrokenBody>(); }

  bool gzipFilter(std::string_view ct) const {
    auto m = compress::parseMediaType(ct);
    if (!includes_.empty()) return m && contains(includes_, m->type);
    return !m || !contains(excludes_, m->type);
  }
  bool traefikFilter(std::string_view ct) const {
    auto m = compress::parseMediaType(ct);
    if (!m) return false;
    if (!includes_.empty()) return contains(includes_, m->type);
    return !contains(excludes_, m->type);
  }

  HandlerPtr next_;
  int minSize_;
  std::vector<std::string> encodings_;
  std::string defaultEncoding_;
  std::vector<std::string> includes_;
  std::vector<std::string> excludes_;
};

const exchange::MiddlewareRegistration registration("compress", makeFactory<Options, Compress>);

}  // namespace
}  // namespace causeway::middleware
