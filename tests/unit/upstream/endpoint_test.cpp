// Server URLs as endpoints (upstream/connection_pool.h): equal pool ids exactly when
// connections are interchangeable (same transport, scheme, address or host name, port).
#include <gtest/gtest.h>

#include "upstream/connection_pool.h"

namespace causeway::upstream {
namespace {

uint64_t poolId(const std::string& url, const std::shared_ptr<const Transport>& transport) {
  UpstreamEndpoint endpoint;
  std::string error;
  EXPECT_TRUE(makeEndpoint(url, transport, endpoint, error)) << url << ": " << error;
  return endpoint.poolId;
}

TEST(Endpoint, PoolIdsAreEqualExactlyForInterchangeableConnections) {
  auto transport = std::make_shared<Transport>();
  auto other = std::make_shared<Transport>();
  uint64_t a = poolId("http://10.1.0.1:8080", transport);
  EXPECT_EQ(poolId("http://10.1.0.1:8080/base", transport), a);  // the path is not the server's
  EXPECT_NE(poolId("http://10.1.0.1:8081", transport), a);
  EXPECT_NE(poolId("http://10.1.0.2:8080", transport), a);
  EXPECT_NE(poolId("https://10.1.0.1:8080", transport), a);
  EXPECT_NE(poolId("h2c://10.1.0.1:8080", transport), a);
  EXPECT_NE(poolId("http://10.1.0.1:8080", other), a);  // another serversTransport
  EXPECT_EQ(poolId("http://10.1.0.1:80", transport), poolId("http://10.1.0.1", transport));
  // Host names and addresses: a name is not taken for the address it may resolve to.
  uint64_t name = poolId("http://app.internal:8080", transport);
  EXPECT_EQ(poolId("http://app.internal:8080", transport), name);
  EXPECT_NE(name, a);
  EXPECT_NE(poolId("http://app.internal:8081", transport), name);
  // IPv6, written in two ways.
  uint64_t v6 = poolId("http://[2001:db8::1]:8080", transport);
  EXPECT_EQ(poolId("http://[2001:db8:0::1]:8080", transport), v6);
  EXPECT_NE(poolId("http://[2001:db8::2]:8080", transport), v6);
  EXPECT_NE(poolId("http://[::1]:8080", transport), v6);
}

TEST(Endpoint, PartsAreReadFromTheUrl) {
  auto transport = std::make_shared<Transport>();
  UpstreamEndpoint e;
  std::string error;
  ASSERT_TRUE(makeEndpoint("HTTPS://Example.test:8443/base/path", transport, e, error)) << error;
  EXPECT_EQ(e.schemeName(), "https");
  EXPECT_TRUE(e.https());
  EXPECT_EQ(e.host(), "Example.test");
  EXPECT_EQ(e.port, 8443);
  EXPECT_EQ(e.authority(), "Example.test:8443");
  EXPECT_EQ(e.path(), "/base/path");
  EXPECT_EQ(e.dialError(), "");
  EXPECT_FALSE(e.address);

  ASSERT_TRUE(makeEndpoint("http://[2001:db8::1]:8080", transport, e, error)) << error;
  EXPECT_EQ(e.host(), "2001:db8::1");  // without brackets
  EXPECT_EQ(e.authority(), "[2001:db8::1]:8080");
  EXPECT_EQ(e.path(), "");
  ASSERT_TRUE(e.address);
  EXPECT_EQ(e.address->port(), 8080);

  ASSERT_TRUE(makeEndpoint("h2c://10.0.0.1", transport, e, error)) << error;
  EXPECT_EQ(e.schemeName(), "h2c");
  EXPECT_EQ(e.port, 80);
  EXPECT_EQ(e.authority(), "10.0.0.1");

  // A percent-encoded host name is dialed decoded; the Host header keeps it as written.
  ASSERT_TRUE(makeEndpoint("http://my%2Dapp.test:81/", transport, e, error)) << error;
  EXPECT_EQ(e.host(), "my-app.test");
  EXPECT_EQ(e.authority(), "my%2Dapp.test:81");

  // A port out of range: built, and every dial fails with Go's message.
  ASSERT_TRUE(makeEndpoint("http://10.0.0.1:99999", transport, e, error)) << error;
  EXPECT_EQ(e.dialError(), "dial tcp: address 99999: invalid port");

  // Copies hold their own URL: the parts follow it.
  ASSERT_TRUE(makeEndpoint("http://copy.test:8080/p", transport, e, error)) << error;
  UpstreamEndpoint copy = e;
  e = UpstreamEndpoint();
  EXPECT_EQ(copy.host(), "copy.test");
  EXPECT_EQ(copy.path(), "/p");
  // Its own URL again (the argument is the endpoint's own string).
  ASSERT_TRUE(makeEndpoint(copy.url, transport, copy, error)) << error;
  EXPECT_EQ(copy.url, "http://copy.test:8080/p");
  EXPECT_EQ(copy.authority(), "copy.test:8080");
  // A failed parse leaves the endpoint as it was.
  EXPECT_FALSE(makeEndpoint("gopher://x", transport, copy, error));
  EXPECT_EQ(copy.host(), "copy.test");

  EXPECT_FALSE(makeEndpoint("ftp://10.0.0.1", transport, e, error));
  EXPECT_NE(error.find("unknown scheme \"ftp\""), std::string::npos) << error;
  EXPECT_FALSE(makeEndpoint("10.0.0.1:80", transport, e, error));
}

}  // namespace
}  // namespace causeway::upstream
