// The MCP gateway's policies (Traefik Hub's `mcp` policies): an ordered list of rules, each a
// claims-language expression (expr/claims.h) over the fields of the MCP request — `mcp.method`,
// `mcp.params.name`, `mcp.params.uri`, `mcp.params.arguments.<name>`…, and the claims of the
// caller's token (`grp`, `scope`…: a jwt middleware before the mcp one) — and an action, allow or
// deny. The first rule that matches decides; a rule that may or may not match (a numeric
// comparison over an argument that is not a number) decides only when it denies. When none does:
//  - the calls (tools/call, prompts/get, resources/read and every other request) get
//    defaultAction;
//  - the session's own messages pass: initialize, ping, server/discover,
//    subscriptions/listen, logging/setLevel, notifications, and the client's answers to the
//    server's requests;
//  - a list (tools/list, prompts/list, resources/list) passes, and its answer is filtered:
//    each entry stays only if the call it lists could be allowed. The arguments of that call
//    are not known yet, so a rule that reads them can match either way: an allow rule that may
//    match keeps the entry visible, a deny rule that may match does not hide it (the call
//    itself is judged with its arguments).
#pragma once

#include <boost/json/fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "expr/claims.h"

namespace causeway::gateway::mcp {

struct PolicyRule {
  expr::claims::Expression match;
  bool allow = true;
};

struct Decision {
  bool allow = true;
  // Which rule decided: its index, kDefault for defaultAction, kPassed for a session message or
  // a list no rule matched.
  int rule = kPassed;
  static constexpr int kDefault = -1;
  static constexpr int kPassed = -2;
};

class PolicySet {
 public:
  PolicySet() = default;
  PolicySet(std::vector<PolicyRule> rules, bool defaultAllow)
      : rules_(std::move(rules)), defaultAllow_(defaultAllow) {}
  bool empty() const { return rules_.empty() && defaultAllow_; }

  // A request or notification from the client; `params` may be null.
  // `claims`: the caller's verified token claims (Exchange::claims), null without a jwt middleware.
  Decision decide(std::string_view method, const boost::json::value* params,
                  const boost::json::value* claims) const;
  // Filters the entries of a list answer (`result` of tools/list, prompts/list,
  // resources/list) in place; returns how many were hidden.
  int filter(std::string_view listMethod, boost::json::object& result,
             const boost::json::value* claims) const;

  // Whether `match` holds for a request (the rules' fields; for rate limits and the like).
  static bool matches(const expr::claims::Expression& match, std::string_view method,
                      const boost::json::value* params, const boost::json::value* claims);
  // The list methods whose answers filter() knows (tools, prompts, resources and resource
  // templates).
  static bool isList(std::string_view method);
  // The fields a rule may read: `mcp.method`, `mcp.params…`, and any other name as a claim of the
  // caller's token (set by a jwt middleware before this one). "" when `field` is one, else why not.
  static std::string checkField(const expr::claims::Field& field);

 private:
  bool visible(std::string_view callMethod, std::string_view key,
               const boost::json::value& id, const boost::json::value* claims) const;
  std::vector<PolicyRule> rules_;
  bool defaultAllow_ = true;
};

}  // namespace causeway::gateway::mcp
