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

}  // namespace
}  // namespace causeway::upstream
