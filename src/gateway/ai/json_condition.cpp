#include "gateway/ai/json_condition.h"

#include <cctype>
#include <charconv>
#include <vector>

namespace causeway::gateway::ai {

namespace json = boost::json;

struct JsonCondition::Node {
  enum class Kind { Or, And, Not, Truthy, Compare } kind = Kind::Truthy;
  std::vector<std::shared_ptr<const Node>> children;
  std::vector<std::string> path;
  std::string op;
  json::value literal;
};

namespace {

using Node = JsonCondition::Node;
using NodePtr = std::shared_ptr<const Node>;

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  NodePtr parse(std::string& error) {
    NodePtr n = orExpr();
    space();
    if (n && i_ != s_.size()) fail("unexpected '" + std::string(s_.substr(i_, 1)) + "'");
    if (!error_.empty()) {
      error = error_;
      return nullptr;
    }
    return n;
  }

 private:
  void fail(std::string message) {
    if (error_.empty()) error_ = "at " + std::to_string(i_) + ": " + std::move(message);
  }
  void space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
  }
  bool eat(std::string_view token) {
    space();
    if (s_.substr(i_, token.size()) != token) return false;
    i_ += token.size();
    return true;
  }
  NodePtr orExpr() {
    NodePtr left = andExpr();
    while (left && eat("||")) {
      auto n = std::make_shared<Node>();
      n->kind = Node::Kind::Or;
      n->children = {left, andExpr()};
      if (!n->children[1]) return nullptr;
      left = n;
    }
    return left;
  }
  NodePtr andExpr() {
    NodePtr left = term();
    while (left && eat("&&")) {
      auto n = std::make_shared<Node>();
      n->kind = Node::Kind::And;
      n->children = {left, term()};
      if (!n->children[1]) return nullptr;
      left = n;
    }
    return left;
  }
  NodePtr term() {
    if (eat("!")) {
      NodePtr inner = term();
      if (!inner) return nullptr;
      auto n = std::make_shared<Node>();
      n->kind = Node::Kind::Not;
      n->children = {inner};
      return n;
    }
    if (eat("(")) {
      NodePtr inner = orExpr();
      if (!inner) return nullptr;
      if (!eat(")")) {
        fail("expected ')'");
        return nullptr;
      }
      return inner;
    }
    auto n = std::make_shared<Node>();
    if (!path(n->path)) return nullptr;
    for (std::string_view op : {"==", "!=", "<=", ">=", "<", ">", "contains"}) {
      if (eat(op)) {
        n->kind = Node::Kind::Compare;
        n->op = op;
        if (!literal(n->literal)) return nullptr;
        return n;
      }
    }
    n->kind = Node::Kind::Truthy;
    return n;
  }
  bool path(std::vector<std::string>& out) {
    space();
    do {
      size_t start = i_;
      while (i_ < s_.size() && (isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '_' || s_[i_] == '-' ||
                                s_[i_] == '/'))
        ++i_;
      if (i_ == start) {
        fail("expected a path (e.g. results.0.flagged)");
        return false;
      }
      out.emplace_back(s_.substr(start, i_ - start));
    } while (i_ < s_.size() && s_[i_] == '.' && ++i_);
    return true;
  }
  bool literal(json::value& out) {
    space();
    if (i_ < s_.size() && s_[i_] == '"') {
      size_t end = s_.find('"', i_ + 1);
      if (end == std::string_view::npos) {
        fail("unterminated string");
        return false;
      }
      out = json::string(s_.substr(i_ + 1, end - i_ - 1));
      i_ = end + 1;
      return true;
    }
    for (auto [word, value] : {std::pair<std::string_view, json::value>{"true", true}, {"false", false}, {"null", nullptr}}) {
      if (eat(word)) {
        out = value;
        return true;
      }
    }
    double number = 0;
    auto [end, ec] = std::from_chars(s_.data() + i_, s_.data() + s_.size(), number);
    if (ec != std::errc()) {
      fail("expected a number, a \"string\", true, false or null");
      return false;
    }
    i_ = size_t(end - s_.data());
    out = number;
    return true;
  }

  std::string_view s_;
  size_t i_ = 0;
  std::string error_;
};

const json::value* resolve(const json::value& document, const std::vector<std::string>& path) {
  const json::value* v = &document;
  for (const std::string& step : path) {
    if (v->is_object()) {
      v = v->get_object().if_contains(step);
    } else if (v->is_array()) {
      size_t index = 0;
      auto [end, ec] = std::from_chars(step.data(), step.data() + step.size(), index);
      if (ec != std::errc() || end != step.data() + step.size() || index >= v->get_array().size()) return nullptr;
      v = &v->get_array()[index];
    } else {
      return nullptr;
    }
    if (!v) return nullptr;
  }
  return v;
}

bool truthy(const json::value* v) {
  if (!v) return false;
  if (v->is_bool()) return v->get_bool();
  if (v->is_number()) return v->to_number<double>() != 0;
  if (v->is_string()) return !v->get_string().empty();
  if (v->is_array()) return !v->get_array().empty();
  if (v->is_object()) return !v->get_object().empty();
  return false;
}

bool compare(const json::value* v, const std::string& op, const json::value& literal) {
  json::value null;
  const json::value& a = v ? *v : null;
  if (op == "contains") {
    if (a.is_string() && literal.is_string())
      return std::string_view(a.get_string()).find(std::string_view(literal.get_string())) != std::string_view::npos;
    if (a.is_array())
      for (const json::value& item : a.get_array())
        if (item == literal) return true;
    return false;
  }
  if (a.is_number() && literal.is_number()) {
    double x = a.to_number<double>(), y = literal.to_number<double>();
    if (op == "==") return x == y;
    if (op == "!=") return x != y;
    if (op == "<") return x < y;
    if (op == "<=") return x <= y;
    if (op == ">") return x > y;
    return x >= y;
  }
  if (a.is_string() && literal.is_string()) {
    std::string_view x = a.get_string(), y = literal.get_string();
    if (op == "==") return x == y;
    if (op == "!=") return x != y;
    if (op == "<") return x < y;
    if (op == "<=") return x <= y;
    if (op == ">") return x > y;
    return x >= y;
  }
  if (op == "==") return a == literal;
  if (op == "!=") return !(a == literal);
  return false;
}

bool eval(const Node& n, const json::value& document) {
  switch (n.kind) {
  case Node::Kind::Or: return eval(*n.children[0], document) || eval(*n.children[1], document);
  case Node::Kind::And: return eval(*n.children[0], document) && eval(*n.children[1], document);
  case Node::Kind::Not: return !eval(*n.children[0], document);
  case Node::Kind::Truthy: return truthy(resolve(document, n.path));
  case Node::Kind::Compare: return compare(resolve(document, n.path), n.op, n.literal);
  }
  return false;
}

}  // namespace

std::optional<JsonCondition> JsonCondition::parse(std::string_view text, std::string& error) {
  NodePtr root = Parser(text).parse(error);
  if (!root) return std::nullopt;
  JsonCondition c;
  c.root_ = std::move(root);
  return c;
}

bool JsonCondition::evaluate(const json::value& document) const { return root_ && eval(*root_, document); }

}  // namespace causeway::gateway::ai
