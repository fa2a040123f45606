// The httpCache memory store (docs/cache.md): variants, LRU eviction within the byte limit,
// purging, and the coalescing of requests for one key.
#include <gtest/gtest.h>

#include "middleware/cache/cache_store.h"

namespace causeway::middleware::cache {
namespace {

StoredPtr response(std::string url, size_t bytes, std::vector<std::pair<std::string, std::string>> vary = {}) {
  auto s = std::make_shared<Stored>();
  s->status = 200;
  s->url = std::move(url);
  s->body = std::make_shared<const std::string>("x");
  s->bytes = bytes;
  s->vary = std::move(vary);
  return s;
}

http::Headers fields(std::initializer_list<std::pair<std::string_view, std::string_view>> list) {
  http::Headers h;
  for (const auto& [name, value] : list) h.add(name, value);
  return h;
}

TEST(CacheStore, VariantsByVaryValues) {
  auto store = std::make_shared<Store>(10000, nullptr);
  store->insert("k", response("a/x", 100, {{"accept-language", "en"}}));
  store->insert("k", response("a/x", 100, {{"accept-language", "fr, de"}}));
  bool found = false;
  EXPECT_TRUE(store->lookup("k", fields({{"Accept-Language", "en"}}), found));
  EXPECT_TRUE(store->lookup("k", fields({{"Accept-Language", "fr"}, {"accept-language", "de"}}), found));
  EXPECT_FALSE(store->lookup("k", fields({{"Accept-Language", "it"}}), found));
  EXPECT_TRUE(found);  // the key is there, no variant matched
  EXPECT_FALSE(store->lookup("other", {}, found));
  EXPECT_FALSE(found);
  // The same Vary values replace the stored variant.
  store->insert("k", response("a/x", 300, {{"accept-language", "en"}}));
  EXPECT_EQ(store->stats().entries, 2u);
  EXPECT_EQ(store->stats().bytes, 400u);
}

TEST(CacheStore, NewVaryNamesReplaceTheOldVariants) {
  auto store = std::make_shared<Store>(10000, nullptr);
  store->insert("k", response("a/x", 100));
  store->insert("k", response("a/x", 100, {{"accept-encoding", "gzip"}}));
  bool found = false;
  EXPECT_FALSE(store->lookup("k", fields({{"Accept-Encoding", "br"}}), found));  // not the old no-Vary one
  EXPECT_TRUE(store->lookup("k", fields({{"Accept-Encoding", "gzip"}}), found));
  EXPECT_EQ(store->stats().entries, 1u);
}

TEST(CacheStore, EvictsLeastRecentlyUsed) {
  auto store = std::make_shared<Store>(1000, nullptr);
  store->insert("a", response("h/a", 400));
  store->insert("b", response("h/b", 400));
  bool found = false;
  store->lookup("a", {}, found);  // a is now the most recently used
  store->insert("c", response("h/c", 400));
  EXPECT_TRUE(store->lookup("a", {}, found));
  EXPECT_FALSE(store->lookup("b", {}, found));
  EXPECT_TRUE(store->lookup("c", {}, found));
  auto stats = store->stats();
  EXPECT_EQ(stats.entries, 2u);
  EXPECT_EQ(stats.bytes, 800u);
  EXPECT_EQ(stats.evicted, 1u);
  // Larger than the whole store: not stored.
  store->insert("d", response("h/d", 1001));
  EXPECT_FALSE(store->lookup("d", {}, found));
}

TEST(CacheStore, PurgeOneUrlAPrefixOrAll) {
  auto store = std::make_shared<Store>(100000, nullptr);
  store->insert("h/a", response("h/a", 10));
  store->insert("h/a/1", response("h/a/1", 10));
  store->insert("h/b", response("h/b", 10));
  EXPECT_EQ(store->purge("h/a"), 1u);
  EXPECT_EQ(store->purge("h/nothing"), 0u);
  EXPECT_EQ(store->purge("h/*"), 2u);
  store->insert("h/c", response("h/c", 10));
  EXPECT_EQ(store->purge(""), 1u);
  EXPECT_EQ(store->stats().bytes, 0u);
}

TEST(CacheStore, OneLeaderPerKeyAndWaitersWoken) {
  asio::io_context io;
  auto store = std::make_shared<Store>(1000, nullptr);
  auto fill = store->lead("k", nullptr);
  ASSERT_TRUE(fill);
  auto waiter = std::make_shared<Store::Waiter>(io.get_executor());
  waiter->timer.expires_after(std::chrono::hours(1));
  EXPECT_FALSE(store->lead("k", waiter));
  EXPECT_TRUE(store->lead("other", nullptr));  // another key is independent (and ends at once)
  bool woken = false;
  waiter->timer.async_wait([&](error_code ec) { woken = ec == asio::error::operation_aborted; });
  fill.reset();
  io.run_for(std::chrono::seconds(5));
  EXPECT_TRUE(woken);
  EXPECT_TRUE(store->lead("k", nullptr));  // the key is free again
}

TEST(CacheStore, EncodedForTheSharedTierAndBack) {
  Stored s;
  s.status = 203;
  s.headers = {{"Content-Type", "text/plain"}, {"ETag", "\"v\""}};
  s.body = std::make_shared<const std::string>(std::string("body\0bytes", 10));
  s.vary = {{"accept-language", "en"}};
  s.etag = "\"v\"";
  s.lastModified = "Sun, 06 Nov 1994 08:49:37 GMT";
  s.url = "h/p?q";
  s.responseTime = 1796601600;
  s.initialAge = 3;
  s.lifetime = 60;
  s.staleWhileRevalidate = -1;
  s.staleIfError = 30;
  s.mustRevalidate = true;
  std::string bytes = encodeStored(s);
  auto back = decodeStored(bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->status, 203);
  EXPECT_EQ(back->headers, s.headers);
  EXPECT_EQ(*back->body, *s.body);
  EXPECT_EQ(back->vary, s.vary);
  EXPECT_EQ(back->etag, s.etag);
  EXPECT_EQ(back->lastModified, s.lastModified);
  EXPECT_EQ(back->url, s.url);
  EXPECT_EQ(back->responseTime, s.responseTime);
  EXPECT_EQ(back->initialAge, 3);
  EXPECT_EQ(back->lifetime, 60);
  EXPECT_EQ(back->staleWhileRevalidate, -1);
  EXPECT_EQ(back->staleIfError, 30);
  EXPECT_TRUE(back->mustRevalidate);
  EXPECT_FALSE(back->noCache);
  EXPECT_EQ(back->bytes, back->footprint());
  EXPECT_EQ(variantName(s), std::string("accept-language\0en\0", 19));
  // Anything else is refused: a prefix, more bytes, another format.
  for (size_t n = 0; n < bytes.size(); n += 7) EXPECT_FALSE(decodeStored(bytes.substr(0, n))) << n;
  EXPECT_FALSE(decodeStored(bytes + "x"));
  EXPECT_FALSE(decodeStored("{\"status\":200}"));
}

}  // namespace
}  // namespace causeway::middleware::cache
