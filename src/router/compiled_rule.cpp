// compileRule(): parse, build the matcher program, derive the host index.

#include <new>

#include "router/host_index.h"
#include "router/matcher_factory.h"
#include "router/rule.h"
#include "router/rule_parser.h"

namespace causeway::router {

class RuleCompiler {
public:
  RuleCompiler(const detail::RuleAst& ast, RuleSyntax syntax, bool tcp, CompiledRule& rule)
      : ast_(ast), syntax_(syntax), tcp_(tcp), rule_(rule) {}

  // CompiledRule's constructor is private to this friend; nullptr when out of memory.
  static std::shared_ptr<CompiledRule> makeRule(std::string_view text) {
    std::shared_ptr<CompiledRule> rule(new (std::nothrow) CompiledRule());
    if (rule) rule->text_ = std::string(text);
    return rule;
  }

  std::optional<RuleError> run() {
    auto root = compileNode(ast_.root);
    if (auto* error = std::get_if<RuleError>(&root)) return std::move(*error);
    rule_.program_.setRoot(std::get<uint32_t>(root));
    rule_.hostIndex_ = detail::computeHostIndex(rule_.program_);
    rule_.hosts_ = detail::removeDuplicates(std::move(rule_.hosts_));
    return std::nullopt;
  }

private:
  std::variant<uint32_t, RuleError> compileNode(uint32_t index) {
    const detail::AstNode& node = ast_.nodes[index];
    if (node.kind == detail::AstNode::Kind::Call) {
      detail::MatcherSink sink{rule_.program_, rule_.hosts_};
      const detail::RuleCall& call = ast_.calls[node.call];
      if (tcp_) return detail::buildMatcherTcp(call, sink, syntax_);
      return syntax_ == RuleSyntax::V3 ? detail::buildMatcherV3(call, sink)
                                       : detail::buildMatcherV2(call, sink);
    }
    std::vector<uint32_t> children;
    children.reserve(node.children.size());
    for (uint32_t child : node.children) {
      auto compiled = compileNode(child);
      if (std::holds_alternative<RuleError>(compiled)) return compiled;
      children.push_back(std::get<uint32_t>(compiled));
    }
    switch (node.kind) {
    case detail::AstNode::Kind::Not:
      return rule_.program_.addNot(children[0]);
    case detail::AstNode::Kind::And:
      return rule_.program_.addList(detail::Op::And, children);
    default:
      return rule_.program_.addList(detail::Op::Or, children);
    }
  }

  const detail::RuleAst& ast_;
  RuleSyntax syntax_;
  bool tcp_;
  CompiledRule& rule_;
};

namespace {

std::variant<CompiledRulePtr, RuleError> compileAny(std::string_view rule, RuleSyntax syntax, bool tcp) {
  try {
    auto parsed = detail::parseRule(rule);
    if (auto* error = std::get_if<RuleError>(&parsed)) return std::move(*error);
    std::shared_ptr<CompiledRule> compiled = RuleCompiler::makeRule(rule);
    if (!compiled) return RuleError{0, "out of memory"};
    if (auto error = RuleCompiler(std::get<detail::RuleAst>(parsed), syntax, tcp, *compiled).run())
      return std::move(*error);
    return CompiledRulePtr(std::move(compiled));
  } catch (const std::exception& e) {
    // Only allocation failure can get here; the API promises not to throw.
    return RuleError{0, std::string("cannot compile rule: ") + e.what()};
  }
}

}  // namespace

std::variant<CompiledRulePtr, RuleError> compileRule(std::string_view rule, RuleSyntax syntax) {
  return compileAny(rule, syntax, false);
}

std::variant<CompiledRulePtr, RuleError> compileTcpRule(std::string_view rule, RuleSyntax syntax) {
  return compileAny(rule, syntax, true);
}

} // namespace causeway::router
