// Traefik's HTTP router rule language (v3, and the deprecated v2 syntax), compiled into an
// immutable matcher. compileRule() parses a rule such as
//   Host(`example.com`) && (PathPrefix(`/api`) || Header(`X-Api`, `1`))
// and returns a CompiledRule, or a RuleError that points at the offending byte.
//
// Threading: compileRule() may run on any thread (the control thread builds snapshots); a
// CompiledRule is immutable and matches() may be called from many workers at once.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "http/headers.h"
#include "net/ip.h"
#include "router/rule_program.h"

namespace causeway::router {

// Traefik's `ruleSyntax` router option (and `core.defaultRuleSyntax`).
enum class RuleSyntax { V3, V2 };

// "v3" or "v2", case-insensitive; std::nullopt for anything else.
std::optional<RuleSyntax> parseRuleSyntax(std::string_view text);

// What a rule can look at. The connection builds it once per request; every view must stay
// valid while matches() runs. Nothing here is copied or retained by the router.
struct MatchInput {
  std::string_view host;     // lower-cased, port and one trailing dot stripped; "" when none
  std::string_view path;     // routing path (sanitized, unreserved %XX decoded, reserved kept)
  std::string_view method;   // as received (case-sensitive)
  std::string_view rawQuery; // text after '?', not decoded ("" when none)
  const http::Headers* headers = nullptr;   // nullptr = no header fields
  const net::IpAddress* clientIp = nullptr; // TCP peer (after PROXY protocol); nullptr = unknown
  // The JSON body's top-level "model" (the AI gateway's Model() matcher); "" when the body was
  // not read (no rule of the entryPoint uses Model) or has none.
  std::string_view model;
  // The body has not been read yet: every Model() matcher counts as matching, so that a lookup
  // tells whether the model could decide the route at all (RouteTable::modelDecides).
  bool modelUnread = false;
  // TCP rules: the protocols the client's ClientHello offers (ALPN); `host` is then the SNI.
  const std::vector<std::string>* alpn = nullptr;
};

// A rule's parse or compile error. `offset` is the byte offset into the rule text of the
// character at fault (the rule's length when the problem is a premature end).
struct RuleError {
  size_t offset = 0;
  std::string message; // e.g. "expected ')' after the arguments of Host"
  // Traefik's own text for the same error, when it has one, so that what tools and people grep
  // for in the API matches: "unsupported function: QueryRegexp" (while parsing the rule), or
  // "unexpected number of parameters; got 2, expected one of [1]" (while adding `matcher`).
  std::string traefik;
  std::string matcher;  // set for an error Traefik reports while adding that matcher

  // Multi-line text: the message, the line of the rule holding the offset, and a caret under
  // the offending character. `rule` must be the text that was compiled.
  std::string describe(std::string_view rule) const;
  // What the router shows: Traefik's text first when there is one ("error while parsing rule
  // <rule>: unsupported function: X"), then describe()'s.
  std::string routerError(std::string_view rule) const;
};

// An immutable, compiled rule. Create it with compileRule().
class CompiledRule {
public:
  // True when the request described by `input` satisfies the rule. Never allocates unless the
  // rule holds a query matcher that has to percent-decode a value. Thread-safe.
  bool matches(const MatchInput& input) const { return program_.matches(input); }

  // When every match of this rule requires MatchInput::host to be one of a finite set, that
  // set: lower-case exact names ("a.example.com") and one-label wildcards ("*.example.com"),
  // without duplicates. std::nullopt when the rule can match other hosts (no Host() at all,
  // HostRegexp, `||` with a branch that does not constrain the host, `!Host(...)`, Host(`*`)).
  const std::optional<std::vector<std::string>>& hostIndex() const { return hostIndex_; }

  // Every literal Host() argument in the rule, lower-cased, in rule order, without
  // duplicates (what Traefik's ParseDomains returns: used for TLS options and certificate
  // domains). Includes hosts under `!`; excludes the v2 alias HostHeader.
  const std::vector<std::string>& hosts() const { return hosts_; }

  // True when the rule holds a Model() matcher: the request body must be read before routing.
  bool usesModel() const { return program_.hasMatcher(detail::MatcherKind::Model); }
  // True when a Model() matcher sits under `!`: assuming it matches can then hide a match.
  bool negatesModel() const { return program_.negates(detail::MatcherKind::Model); }
  // TCP: the rule looks at the ClientHello (a HostSNI other than `*`, HostSNIRegexp, ALPN), so
  // it can only match TLS connections.
  bool needsClientHello() const {
    return program_.hasMatcher(detail::MatcherKind::HostExact) || program_.hasMatcher(detail::MatcherKind::HostWildcard) ||
           program_.hasMatcher(detail::MatcherKind::HostPattern) || program_.hasMatcher(detail::MatcherKind::Alpn);
  }
  // The rule is one matcher that matches everything (Host(`*`), HostSNI(`*`)): Traefik's
  // "catch-all", which yields to more specific routers of other kinds.
  bool isCatchAll() const {
    if (program_.root() == detail::Program::kNone) return false;
    const detail::Node& root = program_.node(program_.root());
    return root.op == detail::Op::Leaf && program_.matcher(root).kind == detail::MatcherKind::Always;
  }
  bool usesAlpn() const { return program_.hasMatcher(detail::MatcherKind::Alpn); }

  // The rule text as compiled.
  std::string_view text() const { return text_; }

private:
  friend class RuleCompiler;
  CompiledRule() = default;

  std::string text_;
  detail::Program program_;
  std::optional<std::vector<std::string>> hostIndex_;
  std::vector<std::string> hosts_;
};

using CompiledRulePtr = std::shared_ptr<const CompiledRule>;

// Parses and compiles `rule` with the given syntax. Never throws on bad input: every problem
// (syntax, unknown matcher, wrong argument count, invalid regex, IP or path) comes back as a
// RuleError. The returned rule owns copies of everything it needs.
std::variant<CompiledRulePtr, RuleError> compileRule(std::string_view rule, RuleSyntax syntax);

// The same for a TCP router's rule (HostSNI, HostSNIRegexp, ClientIP, ALPN; docs/tcp-udp.md).
// The rule's hosts() are its HostSNI arguments ("*" included); MatchInput::host is the SNI.
std::variant<CompiledRulePtr, RuleError> compileTcpRule(std::string_view rule, RuleSyntax syntax);

} // namespace causeway::router
