// Accept-Encoding negotiation as Traefik's compress middleware (acceptencoding.go and its
// tests), gzhttp's gzip acceptance, and mime.ParseMediaType.
#include <gtest/gtest.h>

#include "middleware/compress/accept_encoding.h"

namespace causeway::middleware::compress {
namespace {

const std::vector<std::string> kAll = {"gzip", "br", "zstd"};

std::string choose(std::vector<std::string_view> values,
                   const std::vector<std::string>& encodings = kAll, std::string_view def = "") {
  return chooseEncoding(values, encodings, def);
}

TEST(AcceptEncodingTest, TraefikNegotiationCases) {
  EXPECT_EQ(choose({"gzip"}), "gzip");
  EXPECT_EQ(choose({"br"}), "br");
  EXPECT_EQ(choose({"zstd"}), "zstd");
  EXPECT_EQ(choose({"br;q=0.8, gzip;q=0.6"}), "br");
  EXPECT_EQ(choose({"gzip;q=1.0, br;q=0.8"}), "gzip");
  EXPECT_EQ(choose({"gzip, br"}), "gzip");
  EXPECT_EQ(choose({"zstd;q=0.9, br;q=0.8, gzip;q=0.6"}), "zstd");
  EXPECT_EQ(choose({"gzip;q=0.8, br;q=1.0, zstd;q=0.7"}), "br");
  EXPECT_EQ(choose({"gzip, br, zstd"}), "gzip");
  EXPECT_EQ(choose({"zstd, br, gzip"}), "gzip");  // equal weights: configured preference
  EXPECT_EQ(choose({"notreal"}), std::string(kNotAcceptable));
  EXPECT_EQ(choose({""}), std::string(kIdentity));
}

TEST(AcceptEncodingTest, PreferenceFollowsConfiguredOrder) {
  std::vector<std::string> brFirst = {"br", "zstd", "gzip"};
  EXPECT_EQ(choose({"gzip, br, zstd"}, brFirst), "br");
  EXPECT_EQ(choose({"gzip, zstd"}, brFirst), "zstd");
  std::vector<std::string> gzipOnly = {"gzip"};
  EXPECT_EQ(choose({"br"}, gzipOnly), std::string(kNotAcceptable));
}

TEST(AcceptEncodingTest, QValues) {
  EXPECT_EQ(choose({"gzip;q=0, br"}), "br");  // q=0 is "not acceptable"
  EXPECT_EQ(choose({"gzip;q=0"}), std::string(kNotAcceptable));
  EXPECT_EQ(choose({"gzip;q=abc, br;q=0.1"}), "br");          // unparsable weight = 0
  EXPECT_EQ(choose({"gzip;q=0.5", "br;q=0.9"}), "br");        // several header fields
  EXPECT_EQ(choose({"gzip ; q=0.5, br ; q = 0.4"}), "gzip");  // spaces removed
  EXPECT_EQ(choose({"identity, gzip;q=0.5"}), std::string(kIdentity));
  EXPECT_EQ(choose({"GZIP"}), std::string(kNotAcceptable));  // case-sensitive, as Traefik
}

TEST(AcceptEncodingTest, Wildcard) {
  EXPECT_EQ(choose({"*"}), "gzip");
  EXPECT_EQ(choose({"*"}, kAll, "br"), "br");
  EXPECT_EQ(choose({"*;q=0.1, zstd"}), "zstd");
  EXPECT_EQ(choose({"br, *"}), "gzip");  // the wildcard sorts first at equal weight
}

TEST(AcceptEncodingTest, GzhttpAcceptsGzip) {
  EXPECT_TRUE(gzhttpAcceptsGzip("gzip"));
  EXPECT_TRUE(gzhttpAcceptsGzip("br, GZIP;q=0.5"));
  EXPECT_FALSE(gzhttpAcceptsGzip("gzip;q=0"));
  EXPECT_FALSE(gzhttpAcceptsGzip("*"));
  EXPECT_FALSE(gzhttpAcceptsGzip(""));
  EXPECT_FALSE(gzhttpAcceptsGzip("br"));
  EXPECT_TRUE(gzhttpAcceptsGzip(" deflate , gzip ; q=1"));
}

TEST(MediaTypeTest, ParseLikeGo) {
  auto m = parseMediaType("Text/HTML; Charset=\"utf-8\"");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, "text/html");
  EXPECT_EQ(m->params.at("charset"), "utf-8");
  EXPECT_TRUE(parseMediaType("application/json;"));
  EXPECT_TRUE(parseMediaType("text"));  // Go accepts a type without subtype
  EXPECT_FALSE(parseMediaType(""));
  EXPECT_FALSE(parseMediaType("text/"));
  EXPECT_FALSE(parseMediaType("text/html extra"));
  EXPECT_FALSE(parseMediaType("text/html; charset"));
  EXPECT_FALSE(parseMediaType("text/html; a=1; a=2"));
  MediaType configured{"text/html", {}};
  EXPECT_TRUE(mediaTypeEquals(configured, *m));
  MediaType withParam{"text/html", {{"charset", "latin1"}}};
  EXPECT_FALSE(mediaTypeEquals(withParam, *m));
}

}  // namespace
}  // namespace causeway::middleware::compress
