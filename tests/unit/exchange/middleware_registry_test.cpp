// Span names of middlewares in detailed traces: Traefik's typeName constants, registered with
// each middleware where they are irregular, derived from the type name elsewhere.
#include <gtest/gtest.h>

#include "exchange/middleware_registry.h"

namespace causeway::exchange {
namespace {

TEST(MiddlewareRegistryTest, SpanNamesAreTraefiksTypeNames) {
  const MiddlewareRegistry& registry = MiddlewareRegistry::instance();
  EXPECT_EQ(registry.spanName("stripPrefix"), "StripPrefix");
  EXPECT_EQ(registry.spanName("STRIPPREFIX"), "StripPrefix");
  EXPECT_EQ(registry.spanName("basicAuth"), "BasicAuth");
  EXPECT_EQ(registry.spanName("rateLimit"), "RateLimiter");
  EXPECT_EQ(registry.spanName("buffering"), "Buffer");
  EXPECT_EQ(registry.spanName("errors"), "customError");
  EXPECT_EQ(registry.spanName("grpcWeb"), "GRPCWeb");
  EXPECT_EQ(registry.spanName("ipAllowList"), "IPAllowLister");
  EXPECT_EQ(registry.spanName("passTLSClientCert"), "PassClientTLSCert");
  EXPECT_EQ(registry.spanName("digestAuth"), "digestAuth");  // sic, as in Traefik
  EXPECT_EQ(registry.spanName("pluginX"), "PluginX");  // unknown: derived
  // retry records a span per attempt itself; the others are wrapped.
  EXPECT_TRUE(registry.recordsOwnSpans("retry"));
  EXPECT_FALSE(registry.recordsOwnSpans("headers"));
  EXPECT_FALSE(registry.recordsOwnSpans("pluginX"));
}

}  // namespace
}  // namespace causeway::exchange
