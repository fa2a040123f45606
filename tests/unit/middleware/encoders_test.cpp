// The streaming compressors round-trip through the reference decoders, including sync
// flushes (every piece decodable on its own prefix).
#include <brotli/decode.h>
#include <gtest/gtest.h>
#include <zlib.h>
#include <zstd.h>

#include <random>

#include "middleware/compress/encoders.h"

namespace causeway::middleware::compress {
namespace {

std::string gunzip(std::string_view in, bool requireEnd = true) {
  z_stream z{};
  inflateInit2(&z, 15 + 16);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = uInt(in.size());
  std::string out;
  char buf[16384];
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_SYNC_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
    if (rc == Z_BUF_ERROR && z.avail_in == 0) break;
  }
  if (requireEnd) EXPECT_EQ(rc, Z_STREAM_END);
  inflateEnd(&z);
  return out;
}

std::string unbrotli(std::string_view in) {
  BrotliDecoderState* s = BrotliDecoderCreateInstance(nullptr, nullptr, nullptr);
  size_t availIn = in.size();
  const uint8_t* nextIn = reinterpret_cast<const uint8_t*>(in.data());
  std::string out;
  BrotliDecoderResult rc;
  do {
    uint8_t buf[16384];
    size_t availOut = sizeof buf;
    uint8_t* nextOut = buf;
    rc = BrotliDecoderDecompressStream(s, &availIn, &nextIn, &availOut, &nextOut, nullptr);
    out.append(reinterpret_cast<char*>(buf), sizeof buf - availOut);
  } while (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT);
  EXPECT_EQ(rc, BROTLI_DECODER_RESULT_SUCCESS);
  BrotliDecoderDestroyInstance(s);
  return out;
}

std::string unzstd(std::string_view in) {
  ZSTD_DCtx* d = ZSTD_createDCtx();
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  std::string out;
  size_t rc = 1;
  while (input.pos < input.size) {
    char buf[16384];
    ZSTD_outBuffer o{buf, sizeof buf, 0};
    rc = ZSTD_decompressStream(d, &o, &input);
    EXPECT_FALSE(ZSTD_isError(rc));
    if (ZSTD_isError(rc)) break;
    out.append(buf, o.pos);
  }
  EXPECT_EQ(rc, 0u);  // frame complete
  ZSTD_freeDCtx(d);
  return out;
}

std::string decode(std::string_view encoding, std::string_view data) {
  if (encoding == "gzip") return gunzip(data);
  if (encoding == "br") return unbrotli(data);
  return unzstd(data);
}

std::string sample(size_t n) {
  std::mt19937 rng(42);
  std::string s;
  static const char* words[] = {"alpha ", "beta ", "gamma ", "delta\n", "{\"k\":1} "};
  while (s.size() < n)
    s += words[rng() % 5];
  s.resize(n);
  return s;
}

class EncoderTest : public ::testing::TestWithParam<const char*> {};

TEST_P(EncoderTest, RoundTrip) {
  auto e = makeEncoder(GetParam());
  ASSERT_TRUE(e);
  EXPECT_EQ(e->name(), GetParam());
  std::string input = sample(300000);
  std::string out;
  for (size_t at = 0; at < input.size(); at += 7000)
    ASSERT_TRUE(e->compress(std::string_view(input).substr(at, 7000), Flush::None, out));
  ASSERT_TRUE(e->compress({}, Flush::Finish, out));
  EXPECT_LT(out.size(), input.size() / 3);
  EXPECT_EQ(decode(GetParam(), out), input);
}

TEST_P(EncoderTest, EmptyBody) {
  auto e = makeEncoder(GetParam());
  std::string out;
  ASSERT_TRUE(e->compress({}, Flush::Finish, out));
  EXPECT_FALSE(out.empty());
  EXPECT_EQ(decode(GetParam(), out), "");
}

TEST_P(EncoderTest, SyncFlushMakesEveryPieceAvailable) {
  auto e = makeEncoder(GetParam());
  std::string out;
  ASSERT_TRUE(e->compress("data: one\n\n", Flush::Sync, out));
  ASSERT_FALSE(out.empty());
  size_t first = out.size();
  ASSERT_TRUE(e->compress("data: two\n\n", Flush::Sync, out));
  EXPECT_GT(out.size(), first);
  if (std::string_view(GetParam()) == "gzip") {
    // The flushed prefix decodes to the first event without the end of the stream.
    EXPECT_EQ(gunzip(std::string_view(out).substr(0, first), false), "data: one\n\n");
  }
  ASSERT_TRUE(e->compress({}, Flush::Finish, out));
  EXPECT_EQ(decode(GetParam(), out), "data: one\n\ndata: two\n\n");
}

INSTANTIATE_TEST_SUITE_P(Codecs, EncoderTest, ::testing::Values("gzip", "br", "zstd"));

TEST(EncoderFactoryTest, Unknown) {
  EXPECT_FALSE(makeEncoder("deflate"));
}

}  // namespace
}  // namespace causeway::middleware::compress
