// Chunked decoder (S16–S23) and the chunk writers.
#include <gtest/gtest.h>

#include <string>

#include "core/arena.h"
#include "http/h1/chunked.h"

namespace causeway::http::h1 {
namespace {

struct Decoded {
  ChunkedDecoder::Status status;
  std::string data;
  size_t consumed = 0;  // total over all calls
  int errorStatus = 0;
  std::string_view reason;
  std::vector<std::pair<std::string, std::string>> trailers;
};

// Feeds `input` in pieces of at most `step` bytes (0 = all at once).
Decoded decodeAll(std::string_view input, size_t step = 0, const Limits& limits = {}) {
  Arena arena;
  ChunkedDecoder decoder(arena, limits);
  Decoded d;
  d.status = ChunkedDecoder::Status::NeedMore;
  size_t pos = 0;
  if (step == 0) step = input.size() + 1;
  do {
    std::string_view piece = input.substr(pos, std::min(step, input.size() - pos));
    auto r = decoder.decode(piece, [&](std::string_view data) {
      EXPECT_FALSE(data.empty());
      d.data.append(data);
    });
    d.consumed += r.consumed;
    d.status = r.status;
    if (r.status == ChunkedDecoder::Status::Error) {
      d.errorStatus = r.error.status;
      d.reason = r.error.reason;
      break;
    }
    if (r.status == ChunkedDecoder::Status::Done) break;
    EXPECT_EQ(r.consumed, piece.size());
    pos += piece.size();
  } while (pos < input.size());
  for (const auto& f : decoder.trailers())
    d.trailers.emplace_back(f.name, f.value);
  return d;
}

constexpr auto kDone = ChunkedDecoder::Status::Done;
constexpr auto kError = ChunkedDecoder::Status::Error;
constexpr auto kNeedMore = ChunkedDecoder::Status::NeedMore;

TEST(H1Chunked, Basic) {
  std::string in = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nNEXT";
  Decoded d = decodeAll(in);
  EXPECT_EQ(d.status, kDone);
  EXPECT_EQ(d.data, "hello world");
  EXPECT_EQ(d.consumed, in.size() - 4);
  EXPECT_TRUE(d.trailers.empty());
}

TEST(H1Chunked, HexSizesAnyCase) {
  std::string data(0x1a, 'x');
  EXPECT_EQ(decodeAll("1a\r\n" + data + "\r\n0\r\n\r\n").data, data);
  EXPECT_EQ(decodeAll("1A\r\n" + data + "\r\n0\r\n\r\n").data, data);
  EXPECT_EQ(decodeAll("001A\r\n" + data + "\r\n000\r\n\r\n").data, data);
  EXPECT_EQ(decodeAll("0000000000000002\r\nab\r\n0\r\n\r\n").status, kDone);  // 16 digits
}

TEST(H1Chunked, EmptyBody) {
  Decoded d = decodeAll("0\r\n\r\n");
  EXPECT_EQ(d.status, kDone);
  EXPECT_EQ(d.data, "");
  EXPECT_EQ(d.consumed, 5u);
}

TEST(H1Chunked, NeedMore) {
  for (std::string_view in :
       {"", "5", "5\r", "5\r\nhel", "5\r\nhello", "5\r\nhello\r", "5\r\nhello\r\n0", "0\r\n",
        "0\r\n\r", "0\r\nX-A: b", "0\r\nX-A: b\r\n", "1;a=\"x"})
    EXPECT_EQ(decodeAll(in).status, kNeedMore) << testing::PrintToString(std::string(in));
}

TEST(H1ChunkedS, S16_ChunkSizeSyntax) {
  for (std::string_view in :
       {"Z\r\n", "0x2\r\nab\r\n", " 2\r\nab\r\n", "+2\r\nab\r\n", "-2\r\nab\r\n", "_2\r\nab\r\n",
        "2_\r\nab\r\n", "\r\n", ";a\r\n", "2 \r\nab\r\n", "\t2\r\nab\r\n", "2\x01\r\n", "2,\r\n"}) {
    Decoded d = decodeAll(in);
    EXPECT_EQ(d.status, kError) << testing::PrintToString(std::string(in));
    EXPECT_EQ(d.errorStatus, 400);
  }
}

TEST(H1ChunkedS, S17_ChunkSizeOverflow) {
  EXPECT_EQ(decodeAll("10000000000000000\r\n").status, kError);    // 17 digits
  EXPECT_EQ(decodeAll("00000000000000002\r\n").status, kError);    // 17 digits, small value
  EXPECT_EQ(decodeAll("ffffffffffffffff\r\n").status, kNeedMore);  // 16 digits: data pending
}

TEST(H1ChunkedS, S18_BareLfInChunkLines) {
  EXPECT_EQ(decodeAll("2\nab\r\n0\r\n\r\n").status, kError);
  EXPECT_EQ(decodeAll("2;a=b\nab\r\n0\r\n\r\n").status, kError);
  EXPECT_EQ(decodeAll("2\r\nab\n0\r\n\r\n").status, kError);
  EXPECT_EQ(decodeAll("2\r\nab\r\n0\n\r\n").status, kError);
  EXPECT_EQ(decodeAll("2\r\nab\r\n0\r\n\n").status, kError);
  EXPECT_EQ(decodeAll("0\r\nX-A: b\n\r\n").status, kError);
}

TEST(H1ChunkedS, S19_BareCrInChunkLines) {
  EXPECT_EQ(decodeAll("2;a\rb\r\nab\r\n0\r\n\r\n").status, kError);
  EXPECT_EQ(decodeAll("2\r\rab\r\n").status, kError);
  EXPECT_EQ(decodeAll("2\r\nab\r\r0\r\n\r\n").status, kError);
  EXPECT_EQ(decodeAll("0\r\n\rX").status, kError);
  EXPECT_EQ(decodeAll("0\r\nX-A: b\rc\r\n\r\n").status, kError);
  EXPECT_EQ(decodeAll("2;a=\"x\ry\"\r\nab\r\n0\r\n\r\n").status, kError);
}

TEST(H1ChunkedS, S20_DataLongerThanSize) {
  Decoded d = decodeAll("2\r\nabc\r\n0\r\n\r\n");
  EXPECT_EQ(d.status, kError);
  EXPECT_EQ(d.data, "ab");
  EXPECT_EQ(decodeAll("2\r\nab0\r\n\r\n").status, kError);
}

TEST(H1ChunkedS, S21_ExtensionsAcceptedAndDropped) {
  for (std::string_view ext :
       {";name=val", ";name", ";a;b;c", ";a=b;c=d", " ;a=b", "\t; a = b", ";a=\"quoted value\"",
        ";a=\"esc\\\"aped\"", ";a=\"\"", ";a=b ;c", ";a=\"x\" ;c=d"}) {
    Decoded d = decodeAll("2" + std::string(ext) + "\r\nab\r\n0" + std::string(ext) + "\r\n\r\n");
    EXPECT_EQ(d.status, kDone) << ext << " " << d.reason;
    EXPECT_EQ(d.data, "ab");
  }
  for (std::string_view ext : {";", ";=b", ";a=", ";a b", ";a=b c", ";a=\"x", ";a=\"x\"y",
                               ";a =", ";a=\"\x01\"", ";a=(b)", "; ", ";a=b ", ";a "}) {
    Decoded d = decodeAll("2" + std::string(ext) + "\r\nab\r\n0\r\n\r\n");
    EXPECT_EQ(d.status, kError) << testing::PrintToString(std::string(ext));
  }
}

TEST(H1ChunkedS, S22_ChunkLineCap) {
  std::string many;
  while (many.size() < (1 << 20))
    many += ";a=b";
  Decoded d = decodeAll("2" + many + "\r\nab\r\n0\r\n\r\n");
  EXPECT_EQ(d.status, kError);
  EXPECT_EQ(d.errorStatus, 400);
  EXPECT_LT(d.consumed, 4100u);  // stopped at the cap, not after reading the whole line
  // The cap counts the line content (CRLF excluded): exactly maxChunkLine is fine.
  Limits limits;
  limits.maxChunkLine = 10;
  EXPECT_EQ(decodeAll("2;aaaaaaaa\r\nab\r\n0\r\n\r\n", 0, limits).status, kDone);    // 10 bytes
  EXPECT_EQ(decodeAll("2;aaaaaaaaa\r\nab\r\n0\r\n\r\n", 0, limits).status, kError);  // 11 bytes
  EXPECT_EQ(decodeAll("2;aaaaaaaa\r\nab\r\n0;aaaaaaaa\r\n\r\n", 1, limits).status, kDone);
}

TEST(H1ChunkedS, S23_TrailersFilteredAndCopied) {
  std::string in =
      "2\r\nab\r\n0\r\nX-Checksum: abc\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n"
      "Host: evil\r\nAuthorization: Bearer x\r\nX-Forwarded-For: 1.2.3.4\r\n"
      "grpc-status:  0 \r\n\r\n";
  Decoded d = decodeAll(in);
  ASSERT_EQ(d.status, kDone);
  ASSERT_EQ(d.trailers.size(), 2u);
  EXPECT_EQ(d.trailers[0].first, "X-Checksum");
  EXPECT_EQ(d.trailers[0].second, "abc");
  EXPECT_EQ(d.trailers[1].first, "grpc-status");
  EXPECT_EQ(d.trailers[1].second, "0");
  EXPECT_TRUE(isForbiddenTrailer("content-length"));
  EXPECT_TRUE(isForbiddenTrailer("X-Forwarded-Host"));
  EXPECT_FALSE(isForbiddenTrailer("grpc-message"));
}

TEST(H1Chunked, TrailerErrors) {
  for (std::string_view t : {" X: a", "X : a", "XA", ": a", "X:\x01", "X: a\x7f", "X\"Y: a"}) {
    Decoded d = decodeAll("0\r\n" + std::string(t) + "\r\n\r\n");
    EXPECT_EQ(d.status, kError) << testing::PrintToString(std::string(t));
  }
  Limits limits;
  limits.maxHeaderCount = 2;
  EXPECT_EQ(decodeAll("0\r\nA: 1\r\nB: 2\r\n\r\n", 0, limits).status, kDone);
  Decoded d = decodeAll("0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", 0, limits);
  EXPECT_EQ(d.status, kError);
  EXPECT_EQ(d.errorStatus, 431);
  limits = {};
  limits.maxTrailerBytes = 16;
  d = decodeAll("0\r\nX: " + std::string(20, 'a') + "\r\n\r\n", 3, limits);
  EXPECT_EQ(d.errorStatus, 431);
}

TEST(H1Chunked, SplitAtEveryBoundaryMatchesOneShot) {
  std::string in = "4;ext=1\r\nWiki\r\n5\r\npedia\r\nE;a=\"q\\\"x\"\r\n in\r\n\r\nchunks.\r\n"
                   "0;last\r\nX-Trailer: yes\r\nExpires: never\r\n\r\nGET / HTTP/1.1\r\n";
  Decoded whole = decodeAll(in);
  ASSERT_EQ(whole.status, kDone);
  EXPECT_EQ(whole.data, "Wikipedia in\r\n\r\nchunks.");
  ASSERT_EQ(whole.trailers.size(), 2u);
  for (size_t step = 1; step <= in.size(); ++step) {
    Decoded d = decodeAll(in, step);
    EXPECT_EQ(d.status, kDone) << step;
    EXPECT_EQ(d.data, whole.data) << step;
    EXPECT_EQ(d.consumed, whole.consumed) << step;
    EXPECT_EQ(d.trailers, whole.trailers) << step;
  }
  // Two-piece splits at every offset.
  for (size_t cut = 0; cut <= in.size(); ++cut) {
    Arena arena;
    ChunkedDecoder decoder(arena);
    std::string data;
    auto sink = [&](std::string_view s) { data.append(s); };
    auto r1 = decoder.decode(std::string_view(in).substr(0, cut), sink);
    size_t consumed = r1.consumed;
    if (r1.status != kDone) {
      ASSERT_EQ(r1.status, kNeedMore);
      auto r2 = decoder.decode(std::string_view(in).substr(cut), sink);
      ASSERT_EQ(r2.status, kDone) << cut;
      consumed += r2.consumed;
    }
    EXPECT_EQ(data, whole.data);
    EXPECT_EQ(consumed, whole.consumed);
    EXPECT_EQ(decoder.bodyBytes(), whole.data.size());
  }
}

TEST(H1Chunked, ErrorsSplitAtEveryBoundaryMatchOneShot) {
  for (std::string_view in : {"2\r\nabc\r\n", "2;a\rb\r\n", "0\r\nX : a\r\n\r\n", "0x2\r\nab\r\n",
                              "2\r\nab\r\n0\r\n\n"}) {
    Decoded whole = decodeAll(in);
    ASSERT_EQ(whole.status, kError);
    for (size_t step = 1; step <= in.size(); ++step) {
      Decoded d = decodeAll(in, step);
      EXPECT_EQ(d.status, kError);
      EXPECT_EQ(d.reason, whole.reason);
      EXPECT_EQ(d.data, whole.data);
    }
  }
}

TEST(H1Chunked, StickyStatusAndReset) {
  Arena arena;
  ChunkedDecoder decoder(arena);
  auto sink = [](std::string_view) {};
  EXPECT_EQ(decoder.decode("0\r\n\r\nxyz", sink).consumed, 5u);
  EXPECT_TRUE(decoder.done());
  auto again = decoder.decode("xyz", sink);
  EXPECT_EQ(again.status, kDone);
  EXPECT_EQ(again.consumed, 0u);
  decoder.reset();
  EXPECT_EQ(decoder.decode("zz\r\n", sink).status, kError);
  EXPECT_EQ(decoder.decode("0\r\n\r\n", sink).status, kError);
  decoder.reset();
  EXPECT_EQ(decoder.decode("0\r\n\r\n", sink).status, kDone);
}

TEST(H1Chunked, Writers) {
  std::string out;
  appendChunkHeader(out, 0x1a);
  EXPECT_EQ(out, "1a\r\n");
  out.clear();
  appendChunkHeader(out, 1);
  appendChunkHeader(out, 0xffffffff);
  EXPECT_EQ(out, "1\r\nffffffff\r\n");
  Headers trailers;
  out.clear();
  appendLastChunk(out, trailers);
  EXPECT_EQ(out, "0\r\n\r\n");
  trailers.add("X-Sum", "abc");
  trailers.add("Content-Length", "5");
  trailers.add("grpc-status", "0");
  out.clear();
  appendLastChunk(out, trailers);
  EXPECT_EQ(out, "0\r\nX-Sum: abc\r\ngrpc-status: 0\r\n\r\n");
}

TEST(H1Chunked, ReencodeRoundTrip) {
  std::string body;
  for (int i = 0; i < 300; ++i)
    body += char('a' + i % 26);
  std::string encoded;
  appendChunkHeader(encoded, 100);
  encoded += body.substr(0, 100) + "\r\n";
  appendChunkHeader(encoded, 200);
  encoded += body.substr(100) + "\r\n";
  Headers trailers;
  trailers.add("X-T", "1");
  appendLastChunk(encoded, trailers);
  Decoded d = decodeAll(encoded, 7);
  EXPECT_EQ(d.status, kDone);
  EXPECT_EQ(d.data, body);
  ASSERT_EQ(d.trailers.size(), 1u);
  EXPECT_EQ(d.trailers[0].second, "1");
}

}  // namespace
}  // namespace causeway::http::h1
