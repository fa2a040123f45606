// Helpers for the router tests: a request description that owns its strings, and shorthands
// to compile rules and expect success or an error.
#pragma once

#include <gtest/gtest.h>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "router/rule.h"

namespace causeway::router::testing {

struct Request {
  std::string host;
  std::string path = "/";
  std::string method = "GET";
  std::string query;
  std::vector<std::pair<std::string, std::string>> headerFields;
  std::optional<net::IpAddress> clientIp;
  std::string model;

  Request& withHost(std::string h) {
    host = std::move(h);
    return *this;
  }
  Request& withPath(std::string p) {
    path = std::move(p);
    return *this;
  }
  Request& withMethod(std::string m) {
    method = std::move(m);
    return *this;
  }
  Request& withQuery(std::string q) {
    query = std::move(q);
    return *this;
  }
  Request& withHeader(std::string name, std::string value) {
    headerFields.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  Request& withModel(std::string_view m) {
    model = m;
    return *this;
  }
  Request& withClientIp(std::string_view ip) {
    clientIp = net::IpAddress::parse(ip);
    return *this;
  }
};

// Holds the Headers list so the MatchInput views stay valid.
class BoundRequest {
public:
  explicit BoundRequest(const Request& request) : request_(request) {
    for (const auto& [name, value] : request_.headerFields)
      headers_.add(name, value);
    input_.host = request_.host;
    input_.path = request_.path;
    input_.method = request_.method;
    input_.rawQuery = request_.query;
    input_.headers = &headers_;
    input_.clientIp = request_.clientIp ? &*request_.clientIp : nullptr;
    input_.model = request_.model;
  }
  const MatchInput& input() const { return input_; }

private:
  const Request& request_;
  http::Headers headers_;
  MatchInput input_;
};

inline CompiledRulePtr compileOk(std::string_view rule, RuleSyntax syntax = RuleSyntax::V3) {
  auto result = compileRule(rule, syntax);
  if (auto* error = std::get_if<RuleError>(&result)) {
    ADD_FAILURE() << "rule failed to compile: " << error->describe(rule);
    return nullptr;
  }
  return std::get<CompiledRulePtr>(result);
}

inline std::optional<RuleError> compileError(std::string_view rule,
                                             RuleSyntax syntax = RuleSyntax::V3) {
  auto result = compileRule(rule, syntax);
  if (auto* error = std::get_if<RuleError>(&result)) return *error;
  return std::nullopt;
}

inline bool matches(std::string_view rule, const Request& request,
                    RuleSyntax syntax = RuleSyntax::V3) {
  CompiledRulePtr compiled = compileOk(rule, syntax);
  if (!compiled) return false;
  BoundRequest bound(request);
  return compiled->matches(bound.input());
}

inline bool matchesV2(std::string_view rule, const Request& request) {
  return matches(rule, request, RuleSyntax::V2);
}

inline Request host(std::string h) {
  return Request().withHost(std::move(h));
}
inline Request path(std::string p) {
  return Request().withPath(std::move(p));
}

} // namespace causeway::router::testing
