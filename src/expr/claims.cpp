#include "expr/claims.h"

#include <array>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace causeway::expr::claims {
namespace {

struct Spec {
  std::string_view name;
  Function function;
  size_t minArgs;  // texts after the field
  size_t maxArgs;
};

constexpr std::array<Spec, 9> kSpecs = {{
    {"Equals", Function::Equals, 1, 1},
    {"Prefix", Function::Prefix, 1, 1},
    {"Contains", Function::Contains, 1, 1},
    {"SplitContains", Function::SplitContains, 2, 2},
    {"OneOf", Function::OneOf, 1, SIZE_MAX},
    {"LessThan", Function::LessThan, 1, 1},
    {"LessOrEqual", Function::LessOrEqual, 1, 1},
    {"GreaterThan", Function::GreaterThan, 1, 1},
    {"GreaterOrEqual", Function::GreaterOrEqual, 1, 1},
}};

bool numeric(Function f) {
  return f == Function::LessThan || f == Function::LessOrEqual || f == Function::GreaterThan ||
         f == Function::GreaterOrEqual;
}

std::optional<double> toNumber(std::string_view s) {
  if (s.empty()) return std::nullopt;
  double d = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(d)) return std::nullopt;
  return d;
}

// A scalar's text as the functions compare it: strings as they are, numbers and booleans as
// their JSON text. False for objects, arrays and null.
bool scalarText(const boost::json::value& v, std::string_view& out, char (&buffer)[32]) {
  switch (v.kind()) {
  case boost::json::kind::string:
    out = v.get_string();
    return true;
  case boost::json::kind::bool_:
    out = v.get_bool() ? "true" : "false";
    return true;
  case boost::json::kind::int64: {
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v.get_int64());
    out = std::string_view(buffer, size_t(end - buffer));
    return ec == std::errc();
  }
  case boost::json::kind::uint64: {
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v.get_uint64());
    out = std::string_view(buffer, size_t(end - buffer));
    return ec == std::errc();
  }
  case boost::json::kind::double_: {
    double d = v.get_double();
    int n = (std::trunc(d) == d && std::fabs(d) < 1e15)
                ? std::snprintf(buffer, sizeof buffer, "%.0f", d)
                : std::snprintf(buffer, sizeof buffer, "%.17g", d);
    if (n <= 0 || size_t(n) >= sizeof buffer) return false;
    out = std::string_view(buffer, size_t(n));
    return true;
  }
  default:
    return false;
  }
}

std::optional<double> numberOf(const boost::json::value& v) {
  switch (v.kind()) {
  case boost::json::kind::int64:
    return double(v.get_int64());
  case boost::json::kind::uint64:
    return double(v.get_uint64());
  case boost::json::kind::double_:
    return v.get_double();
  case boost::json::kind::string:
    return toNumber(v.get_string());
  default:
    return std::nullopt;
  }
}

bool splitContains(std::string_view text, std::string_view sep, std::string_view want) {
  if (sep.empty()) return text == want;
  size_t start = 0;
  while (true) {
    size_t at = text.find(sep, start);
    std::string_view piece =
        text.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start);
    if (piece == want) return true;
    if (at == std::string_view::npos) return false;
    start = at + sep.size();
  }
}

// One scalar against a string function.
bool testScalar(Function f, std::string_view text, const std::vector<std::string>& args) {
  switch (f) {
  case Function::Equals:
    return text == args[0];
  case Function::Prefix:
    return text.substr(0, args[0].size()) == args[0];
  case Function::Contains:
    return text.find(args[0]) != std::string_view::npos;
  case Function::SplitContains:
    return splitContains(text, args[0], args[1]);
  case Function::OneOf:
    for (const std::string& a : args)
      if (text == a) return true;
    return false;
  default:
    return false;
  }
}

bool test(const Expression::Node& n, const boost::json::value& v) {
  char buffer[32];
  std::string_view text;
  if (numeric(n.function)) {
    auto x = numberOf(v);
    if (!x) return false;
    switch (n.function) {
    case Function::LessThan:
      return *x < n.number;
    case Function::LessOrEqual:
      return *x <= n.number;
    case Function::GreaterThan:
      return *x > n.number;
    default:
      return *x >= n.number;
    }
  }
  if (const boost::json::array* arr = v.if_array()) {
    for (const boost::json::value& e : *arr) {
      if (!scalarText(e, text, buffer)) continue;
      // Contains over an array asks for an element equal to the text, not a substring of one.
      if (n.function == Function::Contains ? text == n.args[0]
                                           : testScalar(n.function, text, n.args))
        return true;
    }
    return false;
  }
  return scalarText(v, text, buffer) && testScalar(n.function, text, n.args);
}

// --- parser ---------------------------------------------------------------------------

class Parser {
 public:
  Parser(std::string_view s, std::vector<Field>& fields, std::vector<Expression::Node>& nodes)
      : s_(s), fields_(fields), nodes_(nodes) {}

  std::optional<uint32_t> run(std::string& error) {
    auto root = parseOr();
    if (root && (skip(), pos_ < s_.size())) fail("`&&`, `||` or the end of the expression");
    if (!error_.empty()) {
      error = error_;
      return std::nullopt;
    }
    return root;
  }

 private:
  void skip() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }
  bool eat(std::string_view token) {
    skip();
    if (s_.substr(pos_, token.size()) != token) return false;
    pos_ += token.size();
    return true;
  }
  std::optional<uint32_t> fail(std::string_view expected) {
    if (error_.empty()) {
      skip();
      error_ = "at offset " + std::to_string(pos_) + ": expected " + std::string(expected);
      if (pos_ < s_.size())
        error_ += ", found `" + std::string(s_.substr(pos_, 12)) + "`";
      else
        error_ += ", found the end of the expression";
    }
    return std::nullopt;
  }
  uint32_t add(Expression::Node node) {
    nodes_.push_back(std::move(node));
    return uint32_t(nodes_.size() - 1);
  }

  std::optional<uint32_t> parseOr() {
    auto left = parseAnd();
    while (left && eat("||")) {
      auto right = parseAnd();
      if (!right) return std::nullopt;
      Expression::Node n;
      n.kind = Expression::Node::Kind::Or;
      n.left = *left;
      n.right = *right;
      left = add(std::move(n));
    }
    return left;
  }
  std::optional<uint32_t> parseAnd() {
    auto left = parseUnary();
    while (left && eat("&&")) {
      auto right = parseUnary();
      if (!right) return std::nullopt;
      Expression::Node n;
      n.kind = Expression::Node::Kind::And;
      n.left = *left;
      n.right = *right;
      left = add(std::move(n));
    }
    return left;
  }
  std::optional<uint32_t> parseUnary() {
    if (++depth_ > 64) return fail("an expression nested at most 64 deep");
    std::optional<uint32_t> result;
    skip();
    if (pos_ < s_.size() && s_[pos_] == '!' && s_.substr(pos_, 2) != "!=") {
      ++pos_;
      auto inner = parseUnary();
      if (inner) {
        Expression::Node n;
        n.kind = Expression::Node::Kind::Not;
        n.left = *inner;
        result = add(std::move(n));
      }
    } else if (eat("(")) {
      result = parseOr();
      if (result && !eat(")")) result = fail("`)`");
    } else {
      result = parseCall();
    }
    --depth_;
    return result;
  }
  std::optional<std::string> parseString() {
    skip();
    if (pos_ >= s_.size() || (s_[pos_] != '`' && s_[pos_] != '"')) return std::nullopt;
    char quote = s_[pos_];
    size_t end = s_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) return std::nullopt;
    std::string out(s_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return out;
  }
  std::optional<uint32_t> parseCall() {
    skip();
    size_t start = pos_;
    while (pos_ < s_.size() && std::isalpha(static_cast<unsigned char>(s_[pos_])))
      ++pos_;
    std::string_view name = s_.substr(start, pos_ - start);
    const Spec* spec = nullptr;
    for (const Spec& s : kSpecs)
      if (s.name == name) spec = &s;
    if (!spec) {
      pos_ = start;
      return fail(
          "a function (Equals, Prefix, Contains, SplitContains, OneOf, LessThan, LessOrEqual, "
          "GreaterThan, GreaterOrEqual), `!` or `(`");
    }
    if (!eat("(")) return fail("`(` after " + std::string(name));
    auto field = parseString();
    if (!field) return fail("a field name in backquotes or double quotes");
    if (field->empty()) return fail("a non-empty field name");
    Expression::Node n;
    n.function = spec->function;
    while (eat(",")) {
      auto arg = parseString();
      if (!arg) return fail("a text in backquotes or double quotes");
      n.args.push_back(std::move(*arg));
    }
    if (!eat(")")) return fail("`,` or `)`");
    if (n.args.size() < spec->minArgs || n.args.size() > spec->maxArgs) {
      error_ = std::string(name) + " takes " +
               (spec->maxArgs == SIZE_MAX ? "a field and at least one value"
                : spec->maxArgs == 1      ? "a field and one value"
                                          : "a field, a separator and a value") +
               ", got " + std::to_string(n.args.size() + 1) + " argument(s)";
      return std::nullopt;
    }
    if (numeric(spec->function)) {
      auto number = toNumber(n.args[0]);
      if (!number) {
        error_ = std::string(name) + "(`" + *field + "`, …): `" + n.args[0] + "` is not a number";
        return std::nullopt;
      }
      n.number = *number;
    }
    n.field = fieldIndex(*field);
    return add(std::move(n));
  }
  uint32_t fieldIndex(const std::string& text) {
    for (size_t i = 0; i < fields_.size(); ++i)
      if (fields_[i].text == text) return uint32_t(i);
    Field f;
    f.text = text;
    size_t start = 0;
    while (true) {
      size_t dot = text.find('.', start);
      f.path.push_back(
          text.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    fields_.push_back(std::move(f));
    return uint32_t(fields_.size() - 1);
  }

  std::string_view s_;
  std::vector<Field>& fields_;
  std::vector<Expression::Node>& nodes_;
  size_t pos_ = 0;
  int depth_ = 0;
  std::string error_;
};

}  // namespace

const boost::json::value* Resolver::unknown() {
  static const boost::json::value sentinel;
  return &sentinel;
}

const boost::json::value* walk(const boost::json::value& root, const std::vector<std::string>& path,
                               size_t from) {
  const boost::json::value* v = &root;
  for (size_t i = from; i < path.size(); ++i) {
    const boost::json::object* o = v->if_object();
    if (!o) return nullptr;
    auto it = o->find(path[i]);
    if (it == o->end()) return nullptr;
    v = &it->value();
  }
  return v;
}

Truth Expression::evaluate(const Resolver& resolver) const {
  return nodes_.empty() ? Truth::False : eval(root_, resolver);
}

Truth Expression::eval(uint32_t index, const Resolver& resolver) const {
  const Node& n = nodes_[index];
  switch (n.kind) {
  case Node::Kind::And: {
    Truth a = eval(n.left, resolver);
    if (a == Truth::False) return Truth::False;
    Truth b = eval(n.right, resolver);
    if (b == Truth::False) return Truth::False;
    return a == Truth::True && b == Truth::True ? Truth::True : Truth::Unknown;
  }
  case Node::Kind::Or: {
    Truth a = eval(n.left, resolver);
    if (a == Truth::True) return Truth::True;
    Truth b = eval(n.right, resolver);
    if (b == Truth::True) return Truth::True;
    return a == Truth::False && b == Truth::False ? Truth::False : Truth::Unknown;
  }
  case Node::Kind::Not: {
    Truth a = eval(n.left, resolver);
    return a == Truth::Unknown ? a : (a == Truth::True ? Truth::False : Truth::True);
  }
  case Node::Kind::Call: {
    const boost::json::value* v = resolver.find(fields_[n.field]);
    if (v == Resolver::unknown()) return Truth::Unknown;
    // A value that is there but not a number cannot be compared: a server may still read it as
    // one (" 5000", [5000]), so the comparison is Unknown, not false.
    if (v && numeric(n.function) && !numberOf(*v)) return Truth::Unknown;
    return v && test(n, *v) ? Truth::True : Truth::False;
  }
  }
  return Truth::False;
}

std::optional<Expression> parse(std::string_view text, std::string& error) {
  Expression e;
  e.text_ = std::string(text);
  Parser parser(e.text_, e.fields_, e.nodes_);
  auto root = parser.run(error);
  if (!root) return std::nullopt;
  e.root_ = *root;
  return e;
}

}  // namespace causeway::expr::claims
