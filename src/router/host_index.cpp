#include "router/host_index.h"

#include <unordered_set>

namespace causeway::router::detail {

namespace {

using HostSet = std::optional<std::vector<std::string>>; // nullopt = any host

HostSet leafHosts(const Matcher& matcher) {
  if (matcher.kind == MatcherKind::HostExact) return std::vector<std::string>{matcher.value};
  // "*.example.com" is stored as ".example.com"; "*" alone (from `*.`) or "*x" are not
  // one-label wildcards the table can key by parent domain.
  if (matcher.kind == MatcherKind::HostWildcard && matcher.value.size() > 1 &&
      matcher.value[0] == '.')
    return std::vector<std::string>{"*" + matcher.value};
  return std::nullopt;
}

// Pushes negation down (De Morgan): a negated leaf constrains nothing.
HostSet hostsOf(const Program& program, uint32_t index, bool negated) {
  const Node& node = program.node(index);
  switch (node.op) {
  case Op::Leaf:
    return negated ? std::nullopt : leafHosts(program.matcher(node));
  case Op::Not:
    return hostsOf(program, node.first, !negated);
  case Op::And:
  case Op::Or:
    break;
  }
  bool everyChildHolds = (node.op == Op::And) != negated;
  HostSet result;
  if (everyChildHolds) {
    // Any constrained child is a valid filter; keep the smallest.
    for (uint32_t i = 0; i < node.count; ++i) {
      HostSet child = hostsOf(program, program.child(node, i), negated);
      if (child && (!result || child->size() < result->size())) result = std::move(child);
    }
    return result;
  }
  // Some child holds: every child must be constrained, and the union is the filter.
  result.emplace();
  for (uint32_t i = 0; i < node.count; ++i) {
    HostSet child = hostsOf(program, program.child(node, i), negated);
    if (!child) return std::nullopt;
    result->insert(result->end(), child->begin(), child->end());
  }
  return result;
}

} // namespace

std::vector<std::string> removeDuplicates(std::vector<std::string> values) {
  std::unordered_set<std::string> seen;
  std::vector<std::string> unique;
  for (auto& value : values)
    if (seen.insert(value).second) unique.push_back(std::move(value));
  return unique;
}

std::optional<std::vector<std::string>> computeHostIndex(const Program& program) {
  if (program.root() == Program::kNone) return std::nullopt;
  HostSet hosts = hostsOf(program, program.root(), false);
  if (!hosts) return std::nullopt;
  return removeDuplicates(std::move(*hosts));
}

} // namespace causeway::router::detail
