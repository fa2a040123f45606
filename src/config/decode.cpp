#include "config/decode.h"

#include <algorithm>
#include <charconv>

namespace causeway::config::detail {

namespace {

// The scalar text of `node`, or nullptr after reporting when it is a list or a map. An empty
// value also gives nullptr (the target keeps its default), without an error.
const std::string* scalarText(const Node& node, std::string_view expected, DecodeContext& context) {
  if (node.isScalar()) return &node.text();
  if (!node.isNull())
    context.error(node.location(),
                  "expected " + std::string(expected) + "; got " + std::string(node.kindName()));
  return nullptr;
}

} // namespace

void decodeString(const Node& node, std::string& out, DecodeContext& context) {
  if (const std::string* text = scalarText(node, "a string", context)) out = *text;
}

void decodeBool(const Node& node, bool& out, DecodeContext& context) {
  const std::string* text = scalarText(node, "a boolean (true or false)", context);
  if (!text) return;
  const std::string_view value = trim(*text);
  if (iequals(value, "true") || value == "1" || iequals(value, "t")) {
    out = true;
  } else if (iequals(value, "false") || value == "0" || iequals(value, "f")) {
    out = false;
  } else {
    context.error(node.location(), "invalid boolean '" + *text + "'; expected true or false");
  }
}

void decodeSigned(const Node& node, int64_t& out, int64_t min, int64_t max,
                  DecodeContext& context) {
  const std::string* text = scalarText(node, "an integer", context);
  if (!text) return;
  std::string_view value = trim(*text);
  if (value.starts_with('+')) value.remove_prefix(1);
  int64_t parsed = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
  if (value.empty() || end != value.data() + value.size() ||
      (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    context.error(node.location(), "invalid integer '" + *text + "'; expected a whole number");
  } else if (ec == std::errc::result_out_of_range || parsed < min || parsed > max) {
    context.error(node.location(), "integer '" + *text + "' out of range; expected " +
                                       std::to_string(min) + " to " + std::to_string(max));
  } else {
    out = parsed;
  }
}

void decodeUnsigned(const Node& node, uint64_t& out, uint64_t max, DecodeContext& context) {
  const std::string* text = scalarText(node, "a non-negative integer", context);
  if (!text) return;
  std::string_view value = trim(*text);
  if (value.starts_with('+')) value.remove_prefix(1);
  auto parsed = parseDecimal(value);
  if (!value.empty() && value.find_first_not_of("0123456789") == std::string_view::npos &&
      (!parsed || *parsed > max)) {
    context.error(node.location(),
                  "integer '" + *text + "' out of range; expected 0 to " + std::to_string(max));
  } else if (!parsed) {
    context.error(node.location(),
                  "invalid integer '" + *text + "'; expected a non-negative whole number");
  } else {
    out = *parsed;
  }
}

void decodeDouble(const Node& node, double& out, DecodeContext& context) {
  const std::string* text = scalarText(node, "a number", context);
  if (!text) return;
  std::string_view value = trim(*text);
  if (value.starts_with('+')) value.remove_prefix(1);
  double parsed = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
  if (value.empty() || ec != std::errc() || end != value.data() + value.size())
    context.error(node.location(), "invalid number '" + *text + "'; expected e.g. 0.5");
  else
    out = parsed;
}

void decodeDuration(const Node& node, Duration& out, DecodeContext& context) {
  const std::string* text = scalarText(node, "a duration", context);
  if (!text) return;
  std::string reason;
  if (auto parsed = Duration::parse(*text, &reason))
    out = *parsed;
  else
    context.error(node.location(), "invalid duration '" + *text + "': " + reason +
                                       "; expected e.g. 10s, 1m30s, 100ms or a number of seconds");
}

std::vector<Node> splitCommaList(const Node& scalar) {
  std::vector<Node> items;
  for (std::string_view piece : splitTrimmed(scalar.text(), ','))
    items.push_back(Node::scalar(std::string(piece), scalar.location()));
  return items;
}

std::optional<std::vector<const Node*>> indexedItems(const Node& map) {
  std::vector<std::pair<uint64_t, const Node*>> indexed;
  for (const NodeEntry& entry : map.entries()) {
    auto index = parseDecimal(entry.key);
    if (!index) return std::nullopt;
    indexed.emplace_back(*index, &entry.value);
  }
  std::stable_sort(indexed.begin(), indexed.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<const Node*> items;
  for (const auto& item : indexed)
    items.push_back(item.second);
  return items;
}

bool matchOneOf(std::string& value, std::span<const std::string_view> allowed) {
  for (std::string_view candidate : allowed) {
    if (iequals(value, candidate)) {
      value = candidate;
      return true;
    }
  }
  return false;
}

std::string joinNames(std::span<const std::string_view> names) {
  std::string out;
  for (std::string_view name : names) {
    if (!out.empty()) out += ", ";
    out += name.empty() ? "\"\"" : name;
  }
  return out;
}

bool isPresenceFlag(const Node& node) {
  return node.isScalar() &&
         (iequals(trim(node.text()), "true") || iequals(trim(node.text()), "false"));
}

bool isFalse(const Node& node) {
  return node.isScalar() && iequals(trim(node.text()), "false");
}

void FieldDecoder::reportUnknownKeys(std::span<const std::string_view> expected) {
  for (size_t i = 0; i < used_.size(); ++i) {
    if (used_[i]) continue;
    const NodeEntry& entry = map_.entries()[i];
    std::string hint;
    std::string_view closest = closestName(entry.key, {expected.begin(), expected.end()});
    if (!closest.empty()) hint = "did you mean '" + std::string(closest) + "'? ";
    context_.error(entry.keyLocation,
                   "unknown key '" + entry.key + "'; " + hint +
                       (expected.empty() ? std::string("this section takes no keys")
                                         : "expected one of: " + joinNames(expected)));
  }
}

const NodeEntry* FieldDecoder::take(std::string_view name) {
  auto index = map_.indexOf(name);
  if (!index) return nullptr;
  used_[*index] = true;
  return &map_.entries()[*index];
}

} // namespace causeway::config::detail
