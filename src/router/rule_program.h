// The compiled form of a rule: a small tree of nodes stored in flat arrays, whose leaves are
// matchers. Built once by the rule compiler, then immutable; evaluation walks the arrays with
// no allocation. Internal to the router module (use CompiledRule).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "net/ip.h"

namespace re2 {
class RE2;
}

namespace causeway::router {

struct MatchInput;

namespace detail {

enum class MatcherKind : uint8_t {
  Always,        // Host(`*`); a HostRegexp that matches the empty string (see matcher_v3.cpp)
  HostExact,     // value = lower-case host, no trailing dot
  HostWildcard,  // value = expression minus its leading '*' (".example.com")
  HostPattern,   // regex on the lower-cased host
  Path,          // value = exact routing path
  PathPrefix,    // value = plain prefix of the routing path
  PathPattern,   // regex on the routing path
  Method,        // value = upper-case method, compared exactly
  Header,        // key = field name (any case), value = exact field value
  HeaderPattern, // key = field name, regex on each field value
  Query,         // key, value: decoded query has key with exactly that value
  QueryPattern,  // key, regex: some decoded value of key matches
  QueryTemplate, // v2: regex on "key=" + first decoded value of key (gorilla/mux Queries)
  ClientIp,      // network contains MatchInput::clientIp
  Model,         // value = glob ('*' for any run of characters) on MatchInput::model
  Alpn,          // TCP: value = a protocol the client offers (MatchInput::alpn)
};

// One leaf test. Move-only (owns its compiled regex).
struct Matcher {
  // What only some kinds use (a field name, a regex, a network), on the heap, so that the
  // leaves nearly every rule has (hosts, paths: 48 bytes instead of 104) stay small; a router
  // holds one per leaf (docs/benchmarks.md, "Reloads at scale").
  struct Extra {
    std::string key;                         // Header*, Query*: the field name or query key
    std::unique_ptr<const re2::RE2> regex;   // *Pattern, QueryTemplate
    net::IpNetwork network;                  // ClientIp
    Extra();
    ~Extra();
  };

  MatcherKind kind = MatcherKind::Always;
  std::string value;
  std::unique_ptr<Extra> extra;

  Matcher();
  Matcher(Matcher&&) noexcept;
  Matcher& operator=(Matcher&&) noexcept;
  ~Matcher();

  Extra& more() {
    if (!extra) extra = std::make_unique<Extra>();
    return *extra;
  }
  std::string_view key() const { return extra ? std::string_view(extra->key) : std::string_view(); }
  const re2::RE2& regex() const { return *extra->regex; }  // only for the kinds that have one

  bool matches(const MatchInput& input) const;
  // Rough relative evaluation cost, used to test cheap leaves first.
  uint32_t cost() const;
};

enum class Op : uint8_t { Leaf, Not, And, Or };

struct Node {
  Op op = Op::Leaf;
  uint32_t first = 0; // Leaf: matcher index; Not: child node; And/Or: first index in children
  uint32_t count = 0; // And/Or: number of children
  uint32_t cost = 0;
};

class Program {
public:
  // False for an empty program (never happens for a successfully compiled rule).
  bool matches(const MatchInput& input) const { return root_ != kNone && evaluate(root_, input); }

  // Building (single thread, before the program is shared).
  uint32_t addLeaf(Matcher matcher);
  uint32_t addNot(uint32_t child);
  // And/Or over `children`; children are reordered cheapest first (evaluation has no side
  // effects, so the order never changes the result). A single child is returned as is.
  uint32_t addList(Op op, std::span<const uint32_t> children);
  void setRoot(uint32_t node) { root_ = node; }

  // Inspection (host index computation, tests).
  uint32_t root() const { return root_; }
  const Node& node(uint32_t index) const { return nodes_[index]; }
  uint32_t child(const Node& list, uint32_t i) const { return children_[list.first + i]; }
  const Matcher& matcher(const Node& leaf) const { return matchers_[leaf.first]; }
  bool hasMatcher(MatcherKind kind) const {
    for (const Matcher& m : matchers_)
      if (m.kind == kind) return true;
    return false;
  }
  // Some matcher of `kind` sits below a Not node.
  bool negates(MatcherKind kind) const;

  static constexpr uint32_t kNone = UINT32_MAX;

private:
  bool evaluate(uint32_t index, const MatchInput& input) const;

  std::vector<Node> nodes_;
  std::vector<uint32_t> children_;
  std::vector<Matcher> matchers_;
  uint32_t root_ = kNone;
};

} // namespace detail
} // namespace causeway::router
