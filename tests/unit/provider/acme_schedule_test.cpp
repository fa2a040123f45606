// Traefik's renewal schedule (provider/acme/acme_provider.h): how long before expiry a
// certificate is renewed, by certificatesDuration.
#include <gtest/gtest.h>

#include "provider/acme/acme_provider.h"

namespace causeway::provider {
namespace {

TEST(AcmeSchedule, RenewBeforeFollowsTraefik) {
  using std::chrono::hours;
  EXPECT_EQ(renewBefore(365 * 24), hours(4 * 30 * 24));  // a year: 4 months before
  EXPECT_EQ(renewBefore(2160), hours(30 * 24));          // 90 days (Let's Encrypt): 30 days
  EXPECT_EQ(renewBefore(7 * 24), hours(24));             // a week: a day
  EXPECT_EQ(renewBefore(24), hours(6));                  // a day: 6 hours
  EXPECT_EQ(renewBefore(1), std::chrono::minutes(20));   // shorter: 20 minutes
}

}  // namespace
}  // namespace causeway::provider
