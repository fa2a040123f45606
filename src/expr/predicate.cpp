#include "expr/predicate.h"

#include <cctype>
#include <charconv>
#include <variant>

namespace causeway::expr::predicate {
namespace {

// --- tokens -----------------------------------------------------------------------------

enum class Tok { Ident, Int, Float, Imag, Char, String, Operator, Semicolon, End };

struct Token {
  Tok kind = Tok::End;
  std::string text;  // operator spelling, identifier, literal source (strings: decoded)
  size_t pos = 0;
};

bool isLetter(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}
bool isDigit(unsigned char c) {
  return c >= '0' && c <= '9';
}

void appendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  // Splits the whole input; false with `error` on a scanner error.
  bool run(std::vector<Token>& out, std::string& error) {
    while (true) {
      // Whitespace; a newline after an operand ends the statement (Go's semicolon rule).
      while (pos_ < s_.size() &&
             (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\r' || s_[pos_] == '\n')) {
        if (s_[pos_] == '\n' && insertSemicolon(out)) out.push_back({Tok::Semicolon, "\n", pos_});
        ++pos_;
      }
      if (pos_ >= s_.size()) {
        if (insertSemicolon(out)) out.push_back({Tok::Semicolon, "\n", pos_});
        out.push_back({Tok::End, "", pos_});
        return true;
      }
      size_t start = pos_;
      unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (isLetter(c)) {
        while (pos_ < s_.size() && (isLetter(static_cast<unsigned char>(s_[pos_])) ||
                                    isDigit(static_cast<unsigned char>(s_[pos_]))))
          ++pos_;
        out.push_back({Tok::Ident, std::string(s_.substr(start, pos_ - start)), start});
      } else if (isDigit(c) || (c == '.' && pos_ + 1 < s_.size() &&
                                isDigit(static_cast<unsigned char>(s_[pos_ + 1])))) {
        if (!number(out, error)) return false;
      } else if (c == '"' || c == '`') {
        if (!stringLiteral(out, error)) return false;
      } else if (c == '\'') {
        size_t end = s_.find('\'', pos_ + 1);
        if (end == std::string_view::npos) return fail(error, "rune literal not terminated");
        pos_ = end + 1;
        out.push_back({Tok::Char, std::string(s_.substr(start, pos_ - start)), start});
      } else {
        static constexpr std::string_view kTwo[] = {"||", "&&", "==", "!=", "<=", ">=", "<<",
                                                    ">>", "&^", "<-", "++", "--", ":="};
        std::string op;
        for (auto two : kTwo)
          if (s_.substr(pos_, 2) == two) op = two;
        if (op.empty()) {
          if (std::string_view("+-*/%&|^<>!=(),.[]{}:;~").find(char(c)) == std::string_view::npos) {
            std::string message = "invalid character '";
            message.push_back(char(c));
            message.push_back('\'');
            return fail(error, message);
          }
          op = std::string(1, char(c));
        }
        pos_ += op.size();
        out.push_back({Tok::Operator, op, start});
      }
    }
  }

 private:
  static bool insertSemicolon(const std::vector<Token>& out) {
    if (out.empty()) return false;
    const Token& t = out.back();
    switch (t.kind) {
    case Tok::Ident:
    case Tok::Int:
    case Tok::Float:
    case Tok::Imag:
    case Tok::Char:
    case Tok::String:
      return true;
    case Tok::Operator:
      return t.text == ")" || t.text == "]" || t.text == "}" || t.text == "++" || t.text == "--";
    default:
      return false;
    }
  }

  bool fail(std::string& error, std::string message) {
    error = std::to_string(pos_ + 1) + ": " + std::move(message);
    return false;
  }

  bool number(std::vector<Token>& out, std::string& error) {
    size_t start = pos_;
    bool isFloat = false;
    bool hex = s_.substr(pos_, 2) == "0x" || s_.substr(pos_, 2) == "0X";
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (isDigit(static_cast<unsigned char>(c)) || c == '_' ||
          (hex && std::isxdigit(static_cast<unsigned char>(c))) ||
          ((c == 'x' || c == 'X' || c == 'o' || c == 'O' || c == 'b' || c == 'B') &&
           pos_ == start + 1 && s_[start] == '0')) {
        ++pos_;
      } else if (c == '.') {
        isFloat = true;
        ++pos_;
      } else if (((c == 'e' || c == 'E') && !hex) || ((c == 'p' || c == 'P') && hex)) {
        isFloat = true;
        ++pos_;
        if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      } else {
        break;
      }
    }
    Tok kind = isFloat ? Tok::Float : Tok::Int;
    if (pos_ < s_.size() && s_[pos_] == 'i') {
      ++pos_;
      kind = Tok::Imag;
    }
    if (pos_ < s_.size() && isLetter(static_cast<unsigned char>(s_[pos_])))
      return fail(error, "invalid number literal");
    out.push_back({kind, std::string(s_.substr(start, pos_ - start)), start});
    return true;
  }

  bool stringLiteral(std::vector<Token>& out, std::string& error) {
    size_t start = pos_;
    char quote = s_[pos_++];
    std::string value;
    if (quote == '`') {
      size_t end = s_.find('`', pos_);
      if (end == std::string_view::npos) return fail(error, "raw string literal not terminated");
      for (char c : s_.substr(pos_, end - pos_))
        if (c != '\r') value += c;
      pos_ = end + 1;
      out.push_back({Tok::String, value, start});
      return true;
    }
    while (true) {
      if (pos_ >= s_.size() || s_[pos_] == '\n')
        return fail(error, "string literal not terminated");
      char c = s_[pos_++];
      if (c == '"') break;
      if (c != '\\') {
        value += c;
        continue;
      }
      if (pos_ >= s_.size()) return fail(error, "string literal not terminated");
      char e = s_[pos_++];
      switch (e) {
      case 'a':
        value += '\a';
        break;
      case 'b':
        value += '\b';
        break;
      case 'f':
        value += '\f';
        break;
      case 'n':
        value += '\n';
        break;
      case 'r':
        value += '\r';
        break;
      case 't':
        value += '\t';
        break;
      case 'v':
        value += '\v';
        break;
      case '\\':
        value += '\\';
        break;
      case '"':
        value += '"';
        break;
      case 'x':
      case 'u':
      case 'U': {
        size_t digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
        if (pos_ + digits > s_.size()) return fail(error, "invalid escape sequence");
        uint32_t cp = 0;
        auto [p, ec] = std::from_chars(s_.data() + pos_, s_.data() + pos_ + digits, cp, 16);
        if (ec != std::errc() || p != s_.data() + pos_ + digits)
          return fail(error, "invalid escape sequence");
        pos_ += digits;
        if (e == 'x')
          value += char(cp);
        else
          appendUtf8(value, cp);
        break;
      }
      default:
        if (e >= '0' && e <= '7' && pos_ + 2 <= s_.size()) {
          uint32_t v = 0;
          auto [p, ec] = std::from_chars(s_.data() + pos_ - 1, s_.data() + pos_ + 2, v, 8);
          if (ec != std::errc() || p != s_.data() + pos_ + 2 || v > 255)
            return fail(error, "invalid escape sequence");
          pos_ += 2;
          value += char(v);
          break;
        }
        return fail(error, "unknown escape sequence");
      }
    }
    out.push_back({Tok::String, value, start});
    return true;
  }

  std::string_view s_;
  size_t pos_ = 0;
};

// --- syntax tree (the subset of go/ast the predicate library looks at) -----------------

struct Ast {
  enum class Kind { Binary, Paren, Unary, Literal, Call, Ident, Selector, Other } kind;
  std::string op;  // Binary / Unary operator; Ident name; Selector "a.b"
  Token literal;   // Literal
  std::vector<std::unique_ptr<Ast>> children;  // Binary: x, y; Paren/Unary: x; Call: fun, args...
};
using AstPtr = std::unique_ptr<Ast>;

int precedence(const Token& t) {
  if (t.kind != Tok::Operator) return 0;
  const std::string& op = t.text;
  if (op == "||") return 1;
  if (op == "&&") return 2;
  if (op == "==" || op == "!=" || op == "<" || op == "<=" || op == ">" || op == ">=") return 3;
  if (op == "+" || op == "-" || op == "|" || op == "^") return 4;
  if (op == "*" || op == "/" || op == "%" || op == "<<" || op == ">>" || op == "&" || op == "&^")
    return 5;
  return 0;
}

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, std::string& error) : t_(tokens), error_(error) {}

  AstPtr parseAll() {
    AstPtr e = binary(1);
    if (!e) return nullptr;
    if (peek().kind == Tok::Semicolon && peek().text == "\n") ++i_;
    if (peek().kind != Tok::End) return fail("expected 'EOF', found '" + describe(peek()) + "'");
    return e;
  }

 private:
  const Token& peek() const { return t_[i_]; }
  bool isOp(std::string_view op) const { return peek().kind == Tok::Operator && peek().text == op; }

  static std::string describe(const Token& t) {
    switch (t.kind) {
    case Tok::End:
      return "EOF";
    case Tok::Semicolon:
      return "newline";
    case Tok::String:
      return "string literal";
    default:
      return t.text;
    }
  }

  AstPtr fail(std::string message) {
    if (error_.empty()) error_ = std::to_string(peek().pos + 1) + ": " + std::move(message);
    return nullptr;
  }

  AstPtr binary(int minPrec) {
    AstPtr x = unary();
    if (!x) return nullptr;
    while (true) {
      int prec = precedence(peek());
      if (prec < minPrec || prec == 0) return x;
      std::string op = peek().text;
      ++i_;
      AstPtr y = binary(prec + 1);
      if (!y) return nullptr;
      auto node = std::make_unique<Ast>(Ast{Ast::Kind::Binary, op, {}, {}});
      node->children.push_back(std::move(x));
      node->children.push_back(std::move(y));
      x = std::move(node);
    }
  }

  AstPtr unary() {
    if (peek().kind == Tok::Operator &&
        (peek().text == "+" || peek().text == "-" || peek().text == "!" || peek().text == "^" ||
         peek().text == "*" || peek().text == "&" || peek().text == "<-")) {
      std::string op = peek().text;
      ++i_;
      AstPtr x = unary();
      if (!x) return nullptr;
      auto node = std::make_unique<Ast>(Ast{Ast::Kind::Unary, op, {}, {}});
      node->children.push_back(std::move(x));
      return node;
    }
    return primary();
  }

  AstPtr primary() {
    AstPtr x;
    const Token& t = peek();
    switch (t.kind) {
    case Tok::Ident:
      x = std::make_unique<Ast>(Ast{Ast::Kind::Ident, t.text, {}, {}});
      ++i_;
      break;
    case Tok::Int:
    case Tok::Float:
    case Tok::Imag:
    case Tok::Char:
    case Tok::String:
      x = std::make_unique<Ast>(Ast{Ast::Kind::Literal, "", t, {}});
      ++i_;
      break;
    case Tok::Operator:
      if (t.text == "(") {
        ++i_;
        AstPtr inner = binary(1);
        if (!inner) return nullptr;
        if (!isOp(")")) return fail("expected ')', found '" + describe(peek()) + "'");
        ++i_;
        x = std::make_unique<Ast>(Ast{Ast::Kind::Paren, "", {}, {}});
        x->children.push_back(std::move(inner));
        break;
      }
      return fail("expected operand, found '" + describe(t) + "'");
    default:
      return fail("expected operand, found '" + describe(t) + "'");
    }
    // Postfix: calls, selectors; indexes and the rest parse in Go but are unsupported.
    while (true) {
      if (isOp("(")) {
        ++i_;
        auto call = std::make_unique<Ast>(Ast{Ast::Kind::Call, "", {}, {}});
        call->children.push_back(std::move(x));
        while (!isOp(")")) {
          AstPtr arg = binary(1);
          if (!arg) return nullptr;
          call->children.push_back(std::move(arg));
          if (isOp(",")) {
            ++i_;
            continue;
          }
          if (!isOp(")")) return fail("expected ')', found '" + describe(peek()) + "'");
        }
        ++i_;
        x = std::move(call);
      } else if (isOp(".")) {
        ++i_;
        if (peek().kind != Tok::Ident)
          return fail("expected selector, found '" + describe(peek()) + "'");
        std::string name =
            (x->kind == Ast::Kind::Ident || x->kind == Ast::Kind::Selector ? x->op : "?") + "." +
            peek().text;
        ++i_;
        auto sel = std::make_unique<Ast>(Ast{Ast::Kind::Selector, name, {}, {}});
        sel->children.push_back(std::move(x));
        x = std::move(sel);
      } else if (isOp("[") || isOp("{")) {
        return fail("'" + peek().text + "' is not supported");
      } else {
        return x;
      }
    }
  }

  const std::vector<Token>& t_;
  size_t i_ = 0;
  std::string& error_;
};

// --- type checking (vulcand/predicate's parse and its Def) ----------------------------

struct Mapper {
  int function;
  std::vector<Value> args;
};
using Item = std::variant<Node, Mapper, Value>;  // predicate, value function, literal

const char* typeName(Type t) {
  switch (t) {
  case Type::Int:
    return "int";
  case Type::Float:
    return "float64";
  case Type::String:
    return "string";
  case Type::Predicate:
    return "predicate";
  }
  return "?";
}

class Checker {
 public:
  Checker(std::span<const Function> functions, std::string& error)
      : fns_(functions), error_(error) {}

  std::optional<Item> parse(const Ast& a) {
    switch (a.kind) {
    case Ast::Kind::Binary: {
      auto x = parse(*a.children[0]);
      if (!x) return std::nullopt;
      auto y = parse(*a.children[1]);
      if (!y) return std::nullopt;
      return join(a.op, std::move(*x), std::move(*y));
    }
    case Ast::Kind::Paren:
      return parse(*a.children[0]);
    case Ast::Kind::Unary:
      return fail(a.op + " is not supported");
    default:
      return evaluate(a);
    }
  }

 private:
  std::optional<Item> fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    return std::nullopt;
  }

  std::optional<Value> literal(const Token& t) {
    Value v;
    switch (t.kind) {
    case Tok::Int: {
      // strconv.Atoi: decimal digits only.
      int64_t n = 0;
      auto [p, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), n, 10);
      if (ec != std::errc() || p != t.text.data() + t.text.size()) {
        fail("failed to parse argument: " + t.text);
        return std::nullopt;
      }
      v.type = Type::Int;
      v.i = n;
      return v;
    }
    case Tok::Float: {
      double d = 0;
      auto [p, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), d,
                                     std::chars_format::general);
      if (ec != std::errc() || p != t.text.data() + t.text.size()) {
        fail("failed to parse argument: " + t.text);
        return std::nullopt;
      }
      v.type = Type::Float;
      v.f = d;
      return v;
    }
    case Tok::String:
      v.type = Type::String;
      v.s = t.text;
      return v;
    default:
      fail("unsupported function argument type: '" + t.text + "'");
      return std::nullopt;
    }
  }

  std::optional<Item> evaluate(const Ast& a) {
    switch (a.kind) {
    case Ast::Kind::Literal: {
      auto v = literal(a.literal);
      if (!v) return std::nullopt;
      return Item(std::move(*v));
    }
    case Ast::Kind::Ident:
    case Ast::Kind::Selector:
      return fail(a.op + " is not defined");
    case Ast::Kind::Call: {
      const Ast& fun = *a.children[0];
      if (fun.kind != Ast::Kind::Ident && fun.kind != Ast::Kind::Selector)
        return fail("expected identifier, got a " +
                    std::string(fun.kind == Ast::Kind::Call ? "call" : "expression"));
      int index = -1;
      for (size_t i = 0; i < fns_.size(); ++i)
        if (fns_[i].name == fun.op) index = int(i);
      if (index < 0) return fail("unsupported function: " + fun.op);
      const Function& f = fns_[size_t(index)];
      std::vector<Value> args;
      for (size_t i = 1; i < a.children.size(); ++i) {
        auto arg = evaluate(*a.children[i]);
        if (!arg) return std::nullopt;
        Value* v = std::get_if<Value>(&*arg);
        if (!v) return fail("function " + std::string(f.name) + ": arguments must be literals");
        args.push_back(std::move(*v));
      }
      if (args.size() != f.params.size())
        return fail("function " + std::string(f.name) + " expects " +
                    std::to_string(f.params.size()) + " argument(s), got " +
                    std::to_string(args.size()));
      for (size_t i = 0; i < args.size(); ++i)
        if (args[i].type != f.params[i])
          return fail(std::string("reflect: Call using ") + typeName(args[i].type) + " as type " +
                      typeName(f.params[i]) + " (" + std::string(f.name) + ")");
      if (f.result == Type::Predicate) {
        Node n;
        n.op = Op::Call;
        n.function = index;
        n.args = std::move(args);
        return Item(std::move(n));
      }
      return Item(Mapper{index, std::move(args)});
    }
    default:
      return fail("expression is not supported");
    }
  }

  std::optional<Item> join(const std::string& op, Item x, Item y) {
    if (op == "&&" || op == "||") {
      Node* a = std::get_if<Node>(&x);
      Node* b = std::get_if<Node>(&y);
      if (!a || !b) return fail(op + ": expected predicates on both sides");
      Node n;
      n.op = op == "&&" ? Op::And : Op::Or;
      n.children.push_back(std::move(*a));
      n.children.push_back(std::move(*b));
      return Item(std::move(n));
    }
    Op cmp;
    if (op == "==")
      cmp = Op::Eq;
    else if (op == "!=")
      cmp = Op::Ne;
    else if (op == "<")
      cmp = Op::Lt;
    else if (op == "<=")
      cmp = Op::Le;
    else if (op == ">")
      cmp = Op::Gt;
    else if (op == ">=")
      cmp = Op::Ge;
    else
      return fail(op + " is not supported");
    Mapper* m = std::get_if<Mapper>(&x);
    if (!m) return fail(op + ": unsupported argument on the left (expected a function)");
    const Function& f = fns_[size_t(m->function)];
    if (f.result == Type::String && cmp != Op::Eq && cmp != Op::Ne)
      return fail(op + ": unsupported argument: " + std::string(f.name) + "() is a string");
    Value* v = std::get_if<Value>(&y);
    if (!v || v->type != f.result)
      return fail(std::string("expected ") + typeName(f.result) + " on the right of " + op +
                  " for " + std::string(f.name) + "()");
    Node n;
    n.op = cmp;
    n.function = m->function;
    n.args = std::move(m->args);
    n.literal = std::move(*v);
    return Item(std::move(n));
  }

  std::span<const Function> fns_;
  std::string& error_;
};

template <class T> bool compare(Op op, const T& a, const T& b) {
  switch (op) {
  case Op::Eq:
    return a == b;
  case Op::Ne:
    return !(a == b);
  case Op::Lt:
    return a < b;
  case Op::Le:
    return a < b || a == b;
  case Op::Gt:
    return a > b;
  case Op::Ge:
    return a > b || a == b;
  default:
    return false;
  }
}

}  // namespace

bool Expression::eval(const Node& node, const Resolver& resolve) {
  switch (node.op) {
  case Op::And:
    return eval(node.children[0], resolve) && eval(node.children[1], resolve);
  case Op::Or:
    return eval(node.children[0], resolve) || eval(node.children[1], resolve);
  case Op::Call:
    return resolve(node.function, node.args).i != 0;
  default:
    break;
  }
  Value v = resolve(node.function, node.args);
  switch (node.literal.type) {
  case Type::Int:
    return compare(node.op, v.i, node.literal.i);
  case Type::Float:
    return compare(node.op, v.f, node.literal.f);
  case Type::String:
    return compare(node.op, v.s, node.literal.s);
  case Type::Predicate:
    return false;
  }
  return false;
}

std::optional<Expression> parse(std::string_view text, std::span<const Function> functions,
                                std::string& error) {
  error.clear();
  std::vector<Token> tokens;
  if (!Lexer(text).run(tokens, error)) return std::nullopt;
  AstPtr ast = Parser(tokens, error).parseAll();
  if (!ast) return std::nullopt;
  auto item = Checker(functions, error).parse(*ast);
  if (!item) return std::nullopt;
  Node* root = std::get_if<Node>(&*item);
  if (!root) {
    error = "expected predicate, got a value";
    return std::nullopt;
  }
  return Expression(std::move(*root));
}

}  // namespace causeway::expr::predicate
