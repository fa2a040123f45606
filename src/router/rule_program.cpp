#include "router/rule_program.h"

#include <algorithm>
#include <re2/re2.h>

#include "router/rule.h"

namespace causeway::router::detail {

Matcher::Extra::Extra() = default;
Matcher::Extra::~Extra() = default;
Matcher::Matcher() = default;
Matcher::Matcher(Matcher&&) noexcept = default;
Matcher& Matcher::operator=(Matcher&&) noexcept = default;
Matcher::~Matcher() = default;

uint32_t Matcher::cost() const {
  switch (kind) {
  case MatcherKind::Always:
    return 0;
  case MatcherKind::HostExact:
  case MatcherKind::HostWildcard:
  case MatcherKind::Method:
    return 1;
  case MatcherKind::Path:
  case MatcherKind::PathPrefix:
  case MatcherKind::ClientIp:
  case MatcherKind::Model:
  case MatcherKind::Alpn:
    return 2;
  case MatcherKind::Header:
    return 4;
  case MatcherKind::Query:
    return 8;
  case MatcherKind::HostPattern:
  case MatcherKind::PathPattern:
    return 16;
  case MatcherKind::HeaderPattern:
  case MatcherKind::QueryPattern:
  case MatcherKind::QueryTemplate:
    return 24;
  }
  return 32;
}

uint32_t Program::addLeaf(Matcher matcher) {
  uint32_t cost = matcher.cost();
  matchers_.push_back(std::move(matcher));
  nodes_.push_back({Op::Leaf, uint32_t(matchers_.size() - 1), 0, cost});
  return uint32_t(nodes_.size() - 1);
}

uint32_t Program::addNot(uint32_t child) {
  nodes_.push_back({Op::Not, child, 0, nodes_[child].cost});
  return uint32_t(nodes_.size() - 1);
}

uint32_t Program::addList(Op op, std::span<const uint32_t> children) {
  if (children.size() == 1) return children[0];
  std::vector<uint32_t> ordered(children.begin(), children.end());
  std::stable_sort(ordered.begin(), ordered.end(),
                   [this](uint32_t a, uint32_t b) { return nodes_[a].cost < nodes_[b].cost; });
  uint64_t cost = 0;
  for (uint32_t c : ordered)
    cost += nodes_[c].cost;
  Node node{op, uint32_t(children_.size()), uint32_t(ordered.size()),
            uint32_t(std::min<uint64_t>(cost, UINT32_MAX))};
  children_.insert(children_.end(), ordered.begin(), ordered.end());
  nodes_.push_back(node);
  return uint32_t(nodes_.size() - 1);
}

bool Program::negates(MatcherKind kind) const {
  auto holds = [&](auto&& self, uint32_t index) -> bool {
    const Node& node = nodes_[index];
    switch (node.op) {
    case Op::Leaf: return matchers_[node.first].kind == kind;
    case Op::Not: return self(self, node.first);
    case Op::And:
    case Op::Or:
      for (uint32_t i = 0; i < node.count; ++i)
        if (self(self, children_[node.first + i])) return true;
      return false;
    }
    return false;
  };
  for (const Node& node : nodes_)
    if (node.op == Op::Not && holds(holds, node.first)) return true;
  return false;
}

bool Program::evaluate(uint32_t index, const MatchInput& input) const {
  const Node& node = nodes_[index];
  switch (node.op) {
  case Op::Leaf:
    return matchers_[node.first].matches(input);
  case Op::Not:
    return !evaluate(node.first, input);
  case Op::And:
    for (uint32_t i = 0; i < node.count; ++i)
      if (!evaluate(children_[node.first + i], input)) return false;
    return true;
  case Op::Or:
    for (uint32_t i = 0; i < node.count; ++i)
      if (evaluate(children_[node.first + i], input)) return true;
    return false;
  }
  return false;
}

} // namespace causeway::router::detail
