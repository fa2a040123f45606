// libFuzzer target: HTTP/1.1 request heads, chunked request bodies and the path helpers.
// Checks, besides the sanitizers: views stay inside the input, parsing a prefix gives
// Incomplete or the one-shot answer (byte-by-byte on small inputs), the chunked decoder gives
// the same result however the body is split, normalizePath is idempotent and leaves no
// dot segment in the path rules see.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/arena.h"
#include "http/h1/char_class.h"
#include "http/h1/chunked.h"
#include "http/h1/head_scanner.h"
#include "http/h1/request_parser.h"
#include "http/uri.h"

using namespace causeway;
using namespace causeway::http;
using namespace causeway::http::h1;

namespace {

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                \
      std::abort();                                                                                \
    }                                                                                              \
  } while (0)

bool inside(std::string_view part, std::string_view whole) {
  if (part.empty()) return true;
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

struct Body {
  ChunkedDecoder::Status status;
  std::string data;
  size_t consumed = 0;
  std::string_view reason;
  size_t trailers = 0;
};

Body decodeChunked(std::string_view input, size_t step, const Limits& limits) {
  Arena arena;
  ChunkedDecoder decoder(arena, limits);
  Body b;
  b.status = ChunkedDecoder::Status::NeedMore;
  size_t pos = 0;
  if (step == 0) step = input.size() + 1;
  do {
    std::string_view piece = input.substr(pos, std::min(step, input.size() - pos));
    auto r = decoder.decode(piece, [&](std::string_view d) {
      CHECK(!d.empty() && inside(d, piece));
      b.data.append(d);
    });
    CHECK(r.consumed <= piece.size());
    b.consumed += r.consumed;
    b.status = r.status;
    if (r.status == ChunkedDecoder::Status::Error) {
      b.reason = r.error.reason;
      break;
    }
    if (r.status == ChunkedDecoder::Status::Done) break;
    CHECK(r.consumed == piece.size());
    pos += piece.size();
  } while (pos < input.size());
  b.trailers = decoder.trailers().size();
  for (const auto& f : decoder.trailers())
    CHECK(!isForbiddenTrailer(f.name));
  return b;
}

void checkHead(std::string_view input, const RequestHead& h) {
  CHECK(h.headBytes > 0 && h.headBytes <= input.size());
  std::string_view head = input.substr(0, h.headBytes);
  CHECK(inside(h.method, head) && inside(h.target, head) && !h.method.empty() && !h.target.empty());
  for (const auto& f : h.headers) {
    CHECK(inside(f.name, head) && inside(f.value, head) && !f.name.empty());
    for (char c : f.name)
      CHECK(chars::isTchar(c));
    for (char c : f.value) {
      unsigned char u = static_cast<unsigned char>(c);
      CHECK((u >= 0x20 && u != 0x7f) || u == '\t');
    }
    if (!f.value.empty()) {
      CHECK(f.value.front() != ' ' && f.value.front() != '\t');
      CHECK(f.value.back() != ' ' && f.value.back() != '\t');
    }
  }
  for (char c : h.method)
    CHECK(chars::isTchar(c));
  for (char c : h.target)
    CHECK(chars::is(c, chars::kTarget));
  CHECK(h.versionMinor == 0 || h.versionMinor == 1);
  CHECK(h.framing != Framing::UntilClose);
  if (h.versionMinor == 1) CHECK(!h.host.empty());
  if (!h.host.empty()) CHECK(parseAuthority(h.host).has_value());
  CHECK(parseTarget(h.target, h.method).has_value());

  std::string once, twice;
  if (h.uri.form == TargetForm::Origin || h.uri.form == TargetForm::Absolute) {
    if (normalizePath(h.uri.path, true, once)) {
      CHECK(!once.empty() && (once[0] == '/' || once == "*"));
      CHECK(normalizePath(once, true, twice) && twice == once);
      CHECK(parseTarget(once, "GET").has_value() || once == "*");
      // What rules see has no dot segment left, however it was spelled (.., %2e%2e, %2E.,
      // ;params): a PathPrefix cannot be escaped (the path bypasses Traefik has had).
      std::string routed;
      if (routingPath(once, routed)) {
        std::string_view r = routed;
        CHECK(r.find("/../") == std::string_view::npos && r.find("/./") == std::string_view::npos);
        CHECK(!r.ends_with("/..") && !r.ends_with("/."));
      }
    }
    findEncodedCharacters(h.uri.path);
    queryUnescape(h.uri.query, once);
    pathUnescape(h.uri.path, once);
  }
  if (!h.host.empty()) normalizeHost(h.authority.host, once);
}

void run(std::string_view input, const Limits& limits, bool incremental) {
  RequestHead head;
  ParseError error;
  ParseStatus status = parseRequestHead(input, limits, head, error);
  if (status == ParseStatus::Error) {
    CHECK(error.status >= 400 && error.status <= 505 && !error.reason.empty());
  } else if (status == ParseStatus::Complete) {
    checkHead(input, head);
    if (head.framing == Framing::Chunked) {
      std::string_view body = input.substr(head.headBytes);
      Body whole = decodeChunked(body, 0, limits);
      CHECK(whole.consumed <= body.size());
      for (size_t step : {size_t(1), size_t(3), size_t(7)}) {
        if (body.size() > 512 && step < 3) continue;
        Body split = decodeChunked(body, step, limits);
        CHECK(split.status == whole.status && split.data == whole.data &&
              split.consumed == whole.consumed && split.reason == whole.reason &&
              split.trailers == whole.trailers);
      }
    }
  }

  if (incremental) {
    RequestHead part;
    ParseError partError;
    for (size_t n = 0; n <= input.size(); ++n) {
      ParseStatus s = parseRequestHead(input.substr(0, n), limits, part, partError);
      if (s == ParseStatus::Incomplete) continue;
      CHECK(s == status);
      if (s == ParseStatus::Error)
        CHECK(partError.status == error.status && partError.reason == error.reason);
      else
        CHECK(part.headBytes == head.headBytes && part.headers.size() == head.headers.size() &&
              part.framing == head.framing && part.contentLength == head.contentLength &&
              part.host == head.host && part.keepAlive == head.keepAlive);
      break;
    }
    // The scanner never says "not ready" when the parser has a final answer... except while
    // the parser is rejecting early on bytes the scanner does not judge; so only check the
    // converse: once the head is complete the scanner is ready.
    if (status == ParseStatus::Complete) {
      HeadScanner scanner;
      bool ready = false;
      for (size_t n = 1; n <= head.headBytes && !ready; ++n)
        ready = scanner.ready(input.substr(0, n), limits);
      CHECK(ready);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  run(input, Limits{}, size <= 300);
  Limits small;
  small.maxRequestLine = 24;
  small.maxHeadBytes = 96;
  small.maxHeaderCount = 4;
  small.maxChunkLine = 12;
  small.maxTrailerBytes = 32;
  run(input, small, size <= 300);
  return 0;
}
