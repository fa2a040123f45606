// The content guard's detectors: what each finds, what its checksum rejects, and masking.
#include <gtest/gtest.h>

#include "gateway/ai/detectors.h"

namespace causeway::gateway::ai {
namespace {

std::vector<Detector> only(std::string_view name) {
  std::optional<Detector> d = builtInDetector(name);
  EXPECT_TRUE(d) << name;
  return d ? std::vector<Detector>{*d} : std::vector<Detector>{};
}

std::vector<std::string> found(std::string_view name, std::string_view text) {
  auto detectors = only(name);
  std::vector<std::string> out;
  for (const Finding& f : scan(detectors, text)) out.emplace_back(text.substr(f.offset, f.length));
  return out;
}

TEST(DetectorsTest, EveryBuiltInCompiles) {
  for (std::string_view name : builtInDetectorNames()) EXPECT_TRUE(builtInDetector(name)) << name;
  EXPECT_FALSE(builtInDetector("nope"));
  EXPECT_TRUE(builtInDetector("CREDITCARD"));  // names ignore case
}

TEST(DetectorsTest, FindsWhatItShouldAndChecksums) {
  EXPECT_EQ(found("email", "write to jane.doe+x@example.co.uk today"), std::vector<std::string>{"jane.doe+x@example.co.uk"});
  EXPECT_EQ(found("creditCard", "card 4111 1111 1111 1111 ok"), std::vector<std::string>{"4111 1111 1111 1111"});
  EXPECT_TRUE(found("creditCard", "card 4111 1111 1111 1112 fails Luhn").empty());
  EXPECT_EQ(found("iban", "pay GB82 WEST 1234 5698 7654 32 now"), std::vector<std::string>{"GB82 WEST 1234 5698 7654 32"});
  EXPECT_TRUE(found("iban", "GB83 WEST 1234 5698 7654 32").empty());
  EXPECT_EQ(found("ipAddress", "from 192.168.1.20, not 999.1.1.1"), std::vector<std::string>{"192.168.1.20"});
  EXPECT_EQ(found("usSsn", "ssn 078-05-1120"), std::vector<std::string>{"078-05-1120"});
  EXPECT_EQ(found("apiKey", "key sk-proj-abcdefghijklmnopqrstuvwx1234 and AKIAIOSFODNN7EXAMPLE").size(), 2u);
  EXPECT_EQ(found("phone", "call +33 6 12 34 56 78 or 555-1234").size(), 1u);  // too few digits in the second
}

TEST(DetectorsTest, MasksEveryFindingByName) {
  std::vector<Detector> detectors = only("email");
  std::optional<Detector> custom;
  std::string error;
  custom = customDetector("ticket", "TCK-[0-9]+", error);
  ASSERT_TRUE(custom) << error;
  detectors.push_back(*custom);
  std::string text = "a@b.io about TCK-42 and c@d.io";
  EXPECT_TRUE(mask(detectors, text, scan(detectors, text)));
  EXPECT_EQ(text, "[REDACTED:email] about [REDACTED:ticket] and [REDACTED:email]");
  EXPECT_FALSE(customDetector("bad", "(", error));
  EXPECT_FALSE(error.empty());
}

}  // namespace
}  // namespace causeway::gateway::ai
