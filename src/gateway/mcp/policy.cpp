#include "gateway/mcp/policy.h"

#include <boost/json.hpp>

namespace causeway::gateway::mcp {
namespace {

using expr::claims::Field;
using expr::claims::Resolver;
using expr::claims::Truth;

// The request as the rules see it: `mcp.method` and `mcp.params…`.
class RequestFields final : public Resolver {
 public:
  RequestFields(const boost::json::value& method, const boost::json::value* params, bool listing,
                const boost::json::value* claims)
      : method_(method), params_(params), claims_(claims), listing_(listing) {}
  const boost::json::value* find(const Field& f) const override {
    if (f.path[0] != "mcp") {
      // A claim of the caller's token (a jwt middleware before this one): the name whole first
      // (claims such as `https://example.com/roles` hold dots), then as a dotted path.
      if (!claims_ || !claims_->is_object()) return nullptr;
      if (const boost::json::value* whole = claims_->get_object().if_contains(f.text)) return whole;
      return expr::claims::walk(*claims_, f.path);
    }
    if (f.path.size() < 2) return nullptr;
    if (f.path[1] == "method") return f.path.size() == 2 ? &method_ : nullptr;
    if (f.path[1] != "params") return nullptr;
    // Judging a list entry: only the entry's name (or uri) is known of the call it lists.
    if (listing_ && !(f.path.size() == 3 && (f.path[2] == "name" || f.path[2] == "uri")))
      return unknown();
    if (!params_) return nullptr;
    return expr::claims::walk(*params_, f.path, 2);
  }

 private:
  const boost::json::value& method_;
  const boost::json::value* params_;
  const boost::json::value* claims_;
  bool listing_;
};

bool sessionMessage(std::string_view method) {
  return method == "initialize" || method == "ping" || method == "server/discover" ||
         method == "subscriptions/listen" || method == "logging/setLevel" ||
         method.starts_with("notifications/");
}

struct ListKind {
  std::string_view list;
  std::string_view entries;  // the result's array
  std::string_view call;     // the method an entry is used with
  std::string_view key;      // the entry's field naming it
  std::string_view param;    // the call's parameter it becomes
};
constexpr ListKind kLists[] = {
    {"tools/list", "tools", "tools/call", "name", "name"},
    {"prompts/list", "prompts", "prompts/get", "name", "name"},
    {"resources/list", "resources", "resources/read", "uri", "uri"},
    // A template stands for the URIs it expands to: rules over `mcp.params.uri` judge it as one.
    {"resources/templates/list", "resourceTemplates", "resources/read", "uriTemplate", "uri"},
};

}  // namespace

bool PolicySet::isList(std::string_view method) {
  for (const ListKind& k : kLists)
    if (k.list == method) return true;
  return false;
}

std::string PolicySet::checkField(const Field& field) {
  if (field.path.size() >= 2 && field.path[0] == "mcp" &&
      (field.path[1] == "method" || field.path[1] == "params")) {
    if (field.path[1] == "method" && field.path.size() != 2) return "`mcp.method` has no fields";
    return {};
  }
  if (field.path[0] == "mcp")
    return "`" + field.text + "`: the request's fields are `mcp.method` and `mcp.params.<name>`";
  return {};  // a claim of the caller's token
}

bool PolicySet::matches(const expr::claims::Expression& match, std::string_view method,
                        const boost::json::value* params, const boost::json::value* claims) {
  boost::json::value methodValue(method);
  return match.evaluate(RequestFields(methodValue, params, false, claims)) !=
         Truth::False;  // Unknown counts
}

Decision PolicySet::decide(std::string_view method, const boost::json::value* params,
                           const boost::json::value* claims) const {
  boost::json::value methodValue(method);
  RequestFields fields(methodValue, params, false, claims);
  for (size_t i = 0; i < rules_.size(); ++i) {
    Truth t = rules_[i].match.evaluate(fields);
    // Unknown (an argument that is not a number where a rule compares numbers): a deny rule that
    // may hold denies; an allow rule that may not hold does not allow.
    if (t == Truth::True || (t == Truth::Unknown && !rules_[i].allow))
      return Decision{rules_[i].allow, int(i)};
  }
  if (sessionMessage(method) || isList(method)) return Decision{true, Decision::kPassed};
  return Decision{defaultAllow_, Decision::kDefault};
}

bool PolicySet::visible(std::string_view callMethod, std::string_view key,
                        const boost::json::value& id, const boost::json::value* claims) const {
  boost::json::value methodValue(callMethod);
  boost::json::value params = {{key, id}};
  RequestFields fields(methodValue, &params, true, claims);
  for (const PolicyRule& rule : rules_) {
    Truth t = rule.match.evaluate(fields);
    if (t == Truth::True) return rule.allow;
    if (t == Truth::Unknown && rule.allow) return true;  // some arguments are allowed
  }
  return defaultAllow_;
}

int PolicySet::filter(std::string_view listMethod, boost::json::object& result,
                      const boost::json::value* claims) const {
  for (const ListKind& k : kLists) {
    if (k.list != listMethod) continue;
    auto it = result.find(k.entries);
    if (it == result.end() || !it->value().is_array()) return 0;
    boost::json::array& entries = it->value().get_array();
    int hidden = 0;
    for (size_t i = 0; i < entries.size();) {
      const boost::json::object* entry = entries[i].if_object();
      const boost::json::value* id = entry ? entry->if_contains(k.key) : nullptr;
      if (id && visible(k.call, k.param, *id, claims)) {
        ++i;
      } else {
        entries.erase(entries.begin() + i);
        ++hidden;
      }
    }
    return hidden;
  }
  return 0;
}

}  // namespace causeway::gateway::mcp
