// libFuzzer target: HTTP/1.1 response heads (as read from an untrusted upstream) and raw
// chunked bodies. The first byte picks the request method the response answers.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/arena.h"
#include "http/h1/chunked.h"
#include "http/h1/response_parser.h"

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

// Decodes `body` one shot and in pieces of `step`; both must agree.
void checkChunked(std::string_view body, const Limits& limits) {
  std::string first;
  size_t firstConsumed = 0;
  ChunkedDecoder::Status firstStatus = ChunkedDecoder::Status::NeedMore;
  for (size_t step : {body.size() + 1, size_t(1), size_t(5)}) {
    if (step == 1 && body.size() > 512) continue;
    Arena arena;
    ChunkedDecoder decoder(arena, limits);
    std::string data;
    size_t consumed = 0;
    ChunkedDecoder::Status status = ChunkedDecoder::Status::NeedMore;
    for (size_t pos = 0; pos < body.size() || pos == 0;) {
      std::string_view piece = body.substr(pos, std::min(step, body.size() - pos));
      auto r = decoder.decode(piece, [&](std::string_view d) {
        CHECK(!d.empty() && inside(d, piece));
        data.append(d);
      });
      consumed += r.consumed;
      status = r.status;
      if (status != ChunkedDecoder::Status::NeedMore) break;
      CHECK(r.consumed == piece.size());
      pos += piece.size();
      if (piece.empty()) break;
    }
    CHECK(decoder.bodyBytes() == data.size());
    if (step == body.size() + 1) {
      first = data;
      firstConsumed = consumed;
      firstStatus = status;
    } else {
      CHECK(status == firstStatus && data == first && consumed == firstConsumed);
    }
    std::string reencoded;
    if (!data.empty()) appendChunkHeader(reencoded, data.size());
    appendLastChunk(reencoded, decoder.trailers());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static constexpr std::string_view kMethods[] = {"GET", "HEAD", "CONNECT", "POST"};
  std::string_view method = kMethods[data[0] & 3];
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

  Limits limits;
  if (data[0] & 4) {
    limits.maxRequestLine = 24;
    limits.maxHeadBytes = 96;
    limits.maxHeaderCount = 4;
    limits.maxChunkLine = 12;
    limits.maxTrailerBytes = 32;
  }
  ResponseHead head;
  ParseError error;
  ParseStatus status = parseResponseHead(input, method, limits, head, error);
  if (status == ParseStatus::Error) {
    CHECK(error.status == 502 && !error.reason.empty());
  } else if (status == ParseStatus::Complete) {
    CHECK(head.headBytes <= input.size());
    std::string_view h = input.substr(0, head.headBytes);
    CHECK(inside(head.reason, h));
    for (const auto& f : head.headers)
      CHECK(inside(f.name, h) && inside(f.value, h));
    CHECK(head.status >= 100 && head.status <= 999);
    if (head.framing == Framing::UntilClose) CHECK(!head.keepAlive);
    if (head.framing == Framing::Chunked) checkChunked(input.substr(head.headBytes), limits);
  }
  if (input.size() <= 300) {
    ResponseHead part;
    ParseError partError;
    for (size_t n = 0; n <= input.size(); ++n) {
      ParseStatus s = parseResponseHead(input.substr(0, n), method, limits, part, partError);
      if (s == ParseStatus::Incomplete) continue;
      CHECK(s == status);
      if (s == ParseStatus::Error)
        CHECK(partError.reason == error.reason);
      else
        CHECK(part.headBytes == head.headBytes && part.framing == head.framing &&
              part.status == head.status && part.keepAlive == head.keepAlive);
      break;
    }
  }
  // The raw input as a chunked body too (the decoder alone, without a head).
  checkChunked(input, limits);
  return 0;
}
