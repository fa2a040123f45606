// The content guard's detectors: what counts as personal data or a secret in a text, found
// with RE2 (linear time, no backtracking, so a hostile prompt cannot stall a worker) and, where
// the format has one, confirmed by its checksum (Luhn for payment cards, ISO 7064 mod 97 for
// IBANs) so that any long number is not a card.
//   email, phone, creditCard, iban, ipAddress, usSsn, ukNino, apiKey (OpenAI, Anthropic, AWS,
//   GitHub, Slack, Google keys and PEM private keys)
// plus custom patterns by name. Matches never include a double quote or a backslash unless a
// custom pattern asks for one.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace re2 {
class RE2;
}

namespace causeway::gateway::ai {

struct Detector {
  std::string name;
  std::shared_ptr<const re2::RE2> regex;
  bool (*confirm)(std::string_view match) = nullptr;  // checksum, when the format has one
};

// The built-in detector `name` (case-insensitive), or nullopt.
std::optional<Detector> builtInDetector(std::string_view name);
std::vector<std::string_view> builtInDetectorNames();
// A custom detector, or nullopt with `error` set to RE2's reason.
std::optional<Detector> customDetector(std::string name, const std::string& pattern, std::string& error);

struct Finding {
  size_t offset = 0;
  size_t length = 0;
  const Detector* detector = nullptr;
};

// Every confirmed match in `text`, in order, without overlaps (the first detector wins).
std::vector<Finding> scan(const std::vector<Detector>& detectors, std::string_view text);
// `text` with every finding replaced by "[REDACTED:<name>]"; true when anything was replaced.
bool mask(const std::vector<Detector>& detectors, std::string& text, const std::vector<Finding>& findings);

}  // namespace causeway::gateway::ai
