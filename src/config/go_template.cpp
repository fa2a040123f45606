#include "config/go_template.h"

#include <re2/re2.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "core/bytes.h"
#include "core/strings.h"
#include "http/uri.h"

namespace causeway::config::gotemplate {

namespace {

constexpr size_t kMaxOutput = 64 << 20;     // rendered bytes
constexpr int64_t kMaxList = 1 << 20;       // items made by until/seq, iterations of a range
constexpr int kMaxDepth = 200;              // nested control structures and parentheses
constexpr uint64_t kMaxSteps = 10'000'000;  // actions, iterations and calls in one rendering
constexpr uint64_t kMaxProduced = 256 << 20;  // bytes of values built by functions in one rendering

// A value the functions are about to build: false (and `e` set) when it would pass the bound.
bool fits(uint64_t bytes, std::string& e) {
  if (bytes <= kMaxOutput) return true;
  e = "the result would be larger than 64 MiB";
  return false;
}

std::string formatValue(const Value& value, bool top);

std::string formatDouble(double d) {
  if (std::isinf(d)) return d > 0 ? "+Inf" : "-Inf";
  if (std::isnan(d)) return "NaN";
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, d);
  return std::string(buffer, end);
}

std::string formatValue(const Value& value, bool top) {
  switch (value.v.index()) {
  case 0:
    return top ? "<no value>" : "<nil>";
  case 1:
    return std::get<bool>(value.v) ? "true" : "false";
  case 2:
    return std::to_string(std::get<int64_t>(value.v));
  case 3:
    return formatDouble(std::get<double>(value.v));
  case 4:
    return std::get<std::string>(value.v);
  case 5: {
    std::string out = "[";
    for (const Value& item : *value.list()) {
      if (out.size() > 1) out += ' ';
      out += formatValue(item, false);
    }
    return out + "]";
  }
  default: {
    std::string out = "map[";
    bool first = true;
    for (const auto& [k, item] : *value.map()) {
      if (!first) out += ' ';
      first = false;
      out += k + ":" + formatValue(item, false);
    }
    return out + "]";
  }
  }
}

// ---------------------------------------------------------------------------------------------
// The tree.

struct Pipe;

struct Operand {
  enum class Kind { Dot, Field, Variable, Function, String, Int, Float, Bool, Nil, Sub } kind;
  std::string text;                 // function or variable name ("$" for the root), string
  std::vector<std::string> fields;  // .A.B after the dot, a variable or a parenthesis
  int64_t integer = 0;
  double real = 0;
  bool boolean = false;
  std::shared_ptr<Pipe> sub;
};

struct Command {
  std::vector<Operand> args;
};

struct Pipe {
  int line = 0;
  std::vector<std::string> variables;  // $x or $i, $e
  bool declare = false;                // :=
  bool assign = false;                 // =
  std::vector<Command> commands;
};

struct Node {
  enum class Kind { Text, Action, If, Range, With } kind = Kind::Text;
  int line = 0;
  std::string text;
  Pipe pipe;
  std::vector<Node> body, otherwise;
};

// ---------------------------------------------------------------------------------------------
// Parsing: one pass over the text, actions tokenized as they come.

class Parser {
 public:
  Parser(std::string_view text, Error& error) : s_(text), error_(error) {}

  bool parse(std::vector<Node>& out) {
    std::string ended;
    if (!parseList(out, ended, 0)) return false;
    if (!ended.empty()) return fail("unexpected {{" + ended + "}}");
    return true;
  }

 private:
  bool fail(std::string message) {
    if (error_.message.empty()) {
      error_.line = line_;
      error_.message = std::move(message);
    }
    return false;
  }

  void advance(size_t n) {
    for (size_t i = 0; i < n && pos_ < s_.size(); ++i, ++pos_)
      if (s_[pos_] == '\n') ++line_;
  }

  // Text up to the next action, into `out`; the action's opening is consumed. False at the end.
  bool text(std::vector<Node>& out) {
    size_t open = s_.find("{{", pos_);
    std::string_view piece = s_.substr(pos_, open == std::string_view::npos ? std::string_view::npos : open - pos_);
    bool trimLeft = open != std::string_view::npos && open + 3 < s_.size() && s_[open + 2] == '-' &&
                    std::isspace(static_cast<unsigned char>(s_[open + 3]));
    std::string t(piece);
    if (trimRight_) {
      size_t k = 0;
      while (k < t.size() && std::isspace(static_cast<unsigned char>(t[k]))) ++k;
      t.erase(0, k);
      trimRight_ = false;
    }
    if (trimLeft)
      while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
    if (!t.empty()) {
      Node n;
      n.kind = Node::Kind::Text;
      n.line = line_;
      n.text = std::move(t);
      out.push_back(std::move(n));
    }
    advance(piece.size());
    if (open == std::string_view::npos) return false;
    advance(trimLeft ? 3 : 2);
    return true;
  }

  void skipSpace() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) advance(1);
  }

  // At the action's end: " -}}" or "}}".
  bool atClose() {
    skipSpace();
    if (s_.substr(pos_, 2) == "}}") return true;
    return s_.substr(pos_, 3) == "-}}" && pos_ > 0 && std::isspace(static_cast<unsigned char>(s_[pos_ - 1]));
  }
  bool close() {
    if (!atClose()) return fail("expected }} to close the action");
    if (s_[pos_] == '-') {
      trimRight_ = true;
      advance(1);
    }
    advance(2);
    return true;
  }

  static bool identChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

  std::string word() {
    size_t start = pos_;
    while (pos_ < s_.size() && identChar(s_[pos_])) advance(1);
    return std::string(s_.substr(start, pos_ - start));
  }

  // A keyword at the start of an action, without consuming it unless it is one.
  std::string keyword() {
    skipSpace();
    size_t start = pos_;
    int line = line_;
    std::string w = word();
    static const std::set<std::string> keywords{"if", "else", "end", "range", "with", "define", "template", "block", "break", "continue"};
    if (keywords.count(w)) return w;
    pos_ = start;
    line_ = line;
    return "";
  }

  bool parseList(std::vector<Node>& out, std::string& ended, int depth) {
    if (depth > kMaxDepth) return fail("control structures nested too deeply");
    while (text(out)) {
      skipSpace();
      if (s_.substr(pos_, 2) == "/*") {  // a comment
        size_t end = s_.find("*/", pos_ + 2);
        if (end == std::string_view::npos) return fail("unclosed comment");
        advance(end + 2 - pos_);
        if (!close()) return false;
        continue;
      }
      int line = line_;
      std::string kw = keyword();
      if (kw == "end" || kw == "else") {
        ended = kw;
        if (kw == "end" && !close()) return false;
        return true;  // `else` is closed by the caller (it may be `else if`)
      }
      if (kw == "define" || kw == "template" || kw == "block" || kw == "break" || kw == "continue")
        return fail("{{" + kw + "}} is not supported");
      Node n;
      n.line = line;
      if (kw.empty()) {
        n.kind = Node::Kind::Action;
        if (!pipeline(n.pipe, true, depth)) return false;
        if (n.pipe.commands.empty()) return fail("missing value for command");
        if (!close()) return false;
        out.push_back(std::move(n));
        continue;
      }
      n.kind = kw == "if" ? Node::Kind::If : kw == "range" ? Node::Kind::Range : Node::Kind::With;
      if (!control(n, kw, depth)) return false;
      out.push_back(std::move(n));
    }
    return true;
  }

  // if/range/with: the pipeline, the body, an optional else (or else if), the end.
  bool control(Node& n, const std::string& kw, int depth) {
    if (!pipeline(n.pipe, kw != "if", depth) || !close()) return false;
    if (n.pipe.commands.empty()) return fail("missing value for " + kw);
    std::string ended;
    if (!parseList(n.body, ended, depth + 1)) return false;
    if (ended.empty()) return fail("unexpected end of the template: {{" + kw + "}} has no {{end}}");
    if (ended == "else") {
      std::string next = keyword();
      if (next == "if" || next == "with") {  // else if: a nested if that shares this end
        Node inner;
        inner.line = line_;
        inner.kind = next == "if" ? Node::Kind::If : Node::Kind::With;
        if (!control(inner, next, depth + 1)) return false;
        n.otherwise.push_back(std::move(inner));
        return true;
      }
      if (!next.empty()) return fail("unexpected " + next + " after else");
      if (!close()) return false;
      std::string last;
      if (!parseList(n.otherwise, last, depth + 1)) return false;
      if (last != "end") return fail("expected {{end}} after {{else}}");
    }
    return true;
  }

  bool pipeline(Pipe& p, bool allowDeclare, int depth) {
    p.line = line_;
    skipSpace();
    // Declarations: $x := …, $i, $e := …, $x = …
    if (allowDeclare && pos_ < s_.size() && s_[pos_] == '$') {
      size_t start = pos_;
      int line = line_;
      std::vector<std::string> names;
      while (true) {
        if (pos_ >= s_.size() || s_[pos_] != '$') break;
        advance(1);
        names.push_back("$" + word());
        skipSpace();
        if (s_.substr(pos_, 1) == "," && names.size() == 1) {
          advance(1);
          skipSpace();
          continue;
        }
        break;
      }
      if (s_.substr(pos_, 2) == ":=") {
        advance(2);
        p.declare = true;
        p.variables = std::move(names);
      } else if (s_.substr(pos_, 1) == "=" && s_.substr(pos_, 2) != "==") {
        advance(1);
        p.assign = true;
        p.variables = std::move(names);
      } else {
        pos_ = start;
        line_ = line;
      }
    }
    while (true) {
      Command c;
      if (!command(c, depth)) return false;
      if (c.args.empty()) {
        if (p.commands.empty() && p.variables.empty()) break;  // an empty action: caller decides
        return fail("missing command in the pipeline");
      }
      p.commands.push_back(std::move(c));
      skipSpace();
      if (s_.substr(pos_, 1) == "|") {
        advance(1);
        continue;
      }
      break;
    }
    return true;
  }

  bool command(Command& c, int depth) {
    while (true) {
      skipSpace();
      if (pos_ >= s_.size()) return fail("unclosed action");
      char ch = s_[pos_];
      if (ch == '|' || ch == ')' || atClose()) return true;
      Operand o;
      if (!operand(o, depth)) return false;
      c.args.push_back(std::move(o));
    }
  }

  bool fieldChain(std::vector<std::string>& fields) {
    while (pos_ < s_.size() && s_[pos_] == '.' && pos_ + 1 < s_.size() && identChar(s_[pos_ + 1])) {
      advance(1);
      fields.push_back(word());
    }
    return true;
  }

  bool operand(Operand& o, int depth) {
    char ch = s_[pos_];
    if (ch == '.') {
      if (pos_ + 1 < s_.size() && identChar(s_[pos_ + 1])) {
        o.kind = Operand::Kind::Field;
        return fieldChain(o.fields);
      }
      advance(1);
      o.kind = Operand::Kind::Dot;
      return true;
    }
    if (ch == '$') {
      advance(1);
      o.kind = Operand::Kind::Variable;
      o.text = "$" + word();
      return fieldChain(o.fields);
    }
    if (ch == '(') {
      if (depth > kMaxDepth) return fail("parentheses nested too deeply");
      advance(1);
      o.kind = Operand::Kind::Sub;
      o.sub = std::make_shared<Pipe>();
      if (!pipeline(*o.sub, false, depth + 1)) return false;
      skipSpace();
      if (s_.substr(pos_, 1) != ")") return fail("expected ) to close the parenthesis");
      advance(1);
      return fieldChain(o.fields);
    }
    if (ch == '"') return quoted(o);
    if (ch == '`') {
      size_t end = s_.find('`', pos_ + 1);
      if (end == std::string_view::npos) return fail("unclosed raw string");
      o.kind = Operand::Kind::String;
      o.text = std::string(s_.substr(pos_ + 1, end - pos_ - 1));
      advance(end + 1 - pos_);
      return true;
    }
    if (std::isdigit(static_cast<unsigned char>(ch)) || ((ch == '-' || ch == '+') && pos_ + 1 < s_.size() &&
                                                          std::isdigit(static_cast<unsigned char>(s_[pos_ + 1])))) {
      size_t start = pos_;
      advance(1);
      while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '.' || s_[pos_] == '_'))
        advance(1);
      std::string number(s_.substr(start, pos_ - start));
      std::erase(number, '_');
      char* end = nullptr;
      bool isFloat = number.find_first_of(".eE") != std::string::npos && number.find("0x") == std::string::npos;
      if (isFloat) {
        o.kind = Operand::Kind::Float;
        o.real = std::strtod(number.c_str(), &end);
      } else {
        o.kind = Operand::Kind::Int;
        o.integer = std::strtoll(number.c_str(), &end, 0);
      }
      if (!end || *end) return fail("bad number syntax: " + number);
      return true;
    }
    if (identChar(ch)) {
      std::string w = word();
      if (w == "true" || w == "false") {
        o.kind = Operand::Kind::Bool;
        o.boolean = w == "true";
      } else if (w == "nil") {
        o.kind = Operand::Kind::Nil;
      } else {
        o.kind = Operand::Kind::Function;
        o.text = w;
      }
      return true;
    }
    return fail(std::string("unexpected \"") + ch + "\" in the action");
  }

  bool quoted(Operand& o) {
    advance(1);
    std::string out;
    while (true) {
      if (pos_ >= s_.size() || s_[pos_] == '\n') return fail("unterminated quoted string");
      char c = s_[pos_];
      if (c == '"') {
        advance(1);
        break;
      }
      if (c == '\\') {
        if (pos_ + 1 >= s_.size()) return fail("unterminated quoted string");
        char e = s_[pos_ + 1];
        advance(2);
        switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case '\\': out += '\\'; break;
        case '"': out += '"'; break;
        case '\'': out += '\''; break;
        case '0': out += '\0'; break;
        default: return fail(std::string("unknown escape sequence \\") + e);
        }
        continue;
      }
      out += c;
      advance(1);
    }
    o.kind = Operand::Kind::String;
    o.text = std::move(out);
    return true;
  }

  std::string_view s_;
  Error& error_;
  size_t pos_ = 0;
  int line_ = 1;
  bool trimRight_ = false;
};

// ---------------------------------------------------------------------------------------------
// Functions: Go's built-ins and the Sprig ones.

using Args = std::vector<Value>;

std::string str(const Value& v) {
  if (const std::string* s = v.string()) return *s;
  if (v.isNil()) return "";
  return formatValue(v, false);
}

int64_t toInt(const Value& v) {
  switch (v.v.index()) {
  case 1: return std::get<bool>(v.v) ? 1 : 0;
  case 2: return std::get<int64_t>(v.v);
  case 3: {
    // Out of range (or NaN) is undefined in C++; Go on amd64 gives the smallest int64.
    double d = std::get<double>(v.v);
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) return std::numeric_limits<int64_t>::min();
    return int64_t(d);
  }
  case 4: {
    const std::string& s = std::get<std::string>(v.v);
    int64_t out = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() ? out : 0;
  }
  default: return 0;
  }
}

bool isNumber(const Value& v) { return v.v.index() == 2 || v.v.index() == 3; }
double toReal(const Value& v) { return v.v.index() == 3 ? std::get<double>(v.v) : double(toInt(v)); }

Value::List asList(const Value& v) {
  if (const Value::List* l = v.list()) return *l;
  return {};
}

// Go's eq on basic values (numbers compared as numbers).
bool basicEqual(const Value& a, const Value& b, bool& comparable) {
  comparable = true;
  if (isNumber(a) && isNumber(b)) return toReal(a) == toReal(b);
  if (a.v.index() != b.v.index()) {
    comparable = a.isNil() || b.isNil();
    return false;
  }
  if (a.string()) return *a.string() == *b.string();
  if (a.v.index() == 1) return std::get<bool>(a.v) == std::get<bool>(b.v);
  if (a.isNil()) return true;
  comparable = false;
  return false;
}

// fmt.Sprintf with the verbs configuration files use: %s %v %d %q %t %f %g %e %x %X %c %%,
// with flags, width and precision.
std::string sprintf(const std::string& format, const Args& args, size_t first) {
  std::string out;
  size_t arg = first;
  for (size_t i = 0; i < format.size(); ++i) {
    if (out.size() > kMaxOutput) break;  // printf's caller refuses the result
    if (format[i] != '%') {
      out += format[i];
      continue;
    }
    size_t start = i++;
    while (i < format.size() && std::string_view("+-# 0").find(format[i]) != std::string_view::npos) ++i;
    while (i < format.size() && (std::isdigit(static_cast<unsigned char>(format[i])) || format[i] == '.')) ++i;
    if (i >= format.size()) {
      out += "%!(NOVERB)";
      break;
    }
    char verb = format[i];
    std::string spec = format.substr(start, i - start);
    if (verb == '%') {
      out += '%';
      continue;
    }
    if (arg >= args.size()) {
      out += std::string("%!") + verb + "(MISSING)";
      continue;
    }
    const Value& v = args[arg++];
    char buffer[512];
    switch (verb) {
    case 'd':
    case 'x':
    case 'X':
    case 'o':
    case 'c':
      std::snprintf(buffer, sizeof buffer, (spec + "ll" + (verb == 'c' ? 'd' : verb)).c_str(), (long long)toInt(v));
      if (verb == 'c') {
        out += char(toInt(v));
        continue;
      }
      out += buffer;
      break;
    case 'f':
    case 'F':
    case 'e':
    case 'E':
    case 'g':
    case 'G':
      std::snprintf(buffer, sizeof buffer, (spec + verb).c_str(), toReal(v));
      out += buffer;
      break;
    case 'q': {
      std::string q = "\"";
      for (char c : str(v)) {
        if (c == '"' || c == '\\') q += '\\';
        if (c == '\n') {
          q += "\\n";
          continue;
        }
        q += c;
      }
      out += q + "\"";
      break;
    }
    case 't':
      out += v.truthy() ? "true" : "false";
      break;
    default: {  // s, v and the rest: the value as %v prints it, padded as asked
      std::string text = formatValue(v, false);
      if (const std::string* s = v.string()) text = *s;
      size_t dot = spec.find('.');
      if (dot != std::string::npos) text = text.substr(0, size_t(std::atoi(spec.c_str() + dot + 1)));
      int width = std::min(std::atoi(spec.c_str() + 1 + (spec.size() > 1 && spec[1] == '-')), 1 << 16);
      if (spec.find('-') != std::string::npos)
        out += text + std::string(size_t(std::max<int>(0, width - int(text.size()))), ' ');
      else
        out += std::string(size_t(std::max<int>(0, width - int(text.size()))), ' ') + text;
    }
    }
  }
  if (arg < args.size()) {
    out += "%!(EXTRA ";
    for (size_t k = arg; k < args.size(); ++k) out += (k > arg ? ", " : "") + formatValue(args[k], false);
    out += ")";
  }
  return out;
}

// fmt.Sprint: spaces between operands when neither side is a string.
std::string sprint(const Args& args) {
  std::string out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (i > 0 && !args[i].string() && !args[i - 1].string()) out += ' ';
    out += formatValue(args[i], false);
  }
  return out;
}

std::string indentText(int64_t n, const std::string& s) {
  std::string pad(size_t(std::clamp<int64_t>(n, 0, 1024)), ' ');
  std::string out = pad;
  for (char c : s) {
    out += c;
    if (c == '\n') out += pad;
  }
  return out;
}

std::string toJson(const Value& v) {
  switch (v.v.index()) {
  case 0: return "null";
  case 1: case 2: case 3: return formatValue(v, false);
  case 4: {
    std::string out = "\"";
    for (unsigned char c : *v.string()) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += char(c);
      } else if (c < 0x20) {
        char buffer[8];
        std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
        out += buffer;
      } else {
        out += char(c);
      }
    }
    return out + "\"";
  }
  case 5: {
    std::string out = "[";
    for (const Value& item : *v.list()) out += (out.size() > 1 ? "," : "") + toJson(item);
    return out + "]";
  }
  default: {
    std::string out = "{";
    for (const auto& [k, item] : *v.map()) out += (out.size() > 1 ? "," : "") + toJson(Value(k)) + ":" + toJson(item);
    return out + "}";
  }
  }
}

#define FN(name) {name, [](const Args& a, Value& r, std::string& e) -> bool
#define NEED(n)                                                              \
  if (a.size() < size_t(n)) {                                                \
    e = "wrong number of arguments: want " + std::to_string(n) + ", got " + \
        std::to_string(a.size());                                            \
    return false;                                                            \
  }

const Functions& builtins() {
  static const Functions functions{
      // Go's text/template built-ins.
      FN("not") { NEED(1); r = !a[0].truthy(); return true; }},
      FN("and") { NEED(1); r = a.back(); for (const Value& v : a) if (!v.truthy()) { r = v; break; } return true; }},
      FN("or") { NEED(1); r = a.back(); for (const Value& v : a) if (v.truthy()) { r = v; break; } return true; }},
      FN("len") {
        NEED(1);
        if (const std::string* s = a[0].string()) r = int64_t(s->size());
        else if (const Value::List* l = a[0].list()) r = int64_t(l->size());
        else if (const Value::Map* m = a[0].map()) r = int64_t(m->size());
        else { e = "len of " + formatValue(a[0], false) + ": not a string, list or map"; return false; }
        return true;
      }},
      FN("index") {
        NEED(1);
        r = a[0];
        for (size_t i = 1; i < a.size(); ++i) {
          if (const Value::Map* m = r.map()) {
            auto it = m->find(str(a[i]));
            r = it == m->end() ? Value() : it->second;
          } else if (const Value::List* l = r.list()) {
            int64_t k = toInt(a[i]);
            if (k < 0 || k >= int64_t(l->size())) { e = "index out of range: " + std::to_string(k); return false; }
            r = (*l)[size_t(k)];
          } else if (const std::string* s = r.string()) {
            int64_t k = toInt(a[i]);
            if (k < 0 || k >= int64_t(s->size())) { e = "index out of range: " + std::to_string(k); return false; }
            r = int64_t(static_cast<unsigned char>((*s)[size_t(k)]));
          } else {
            e = "can't index item of type " + std::string(r.isNil() ? "nil" : "value");
            return false;
          }
        }
        return true;
      }},
      FN("print") { r = sprint(a); return true; }},
      FN("println") { std::string s; for (size_t i = 0; i < a.size(); ++i) s += (i ? " " : "") + formatValue(a[i], false); r = s + "\n"; return true; }},
      FN("printf") { NEED(1); std::string out = sprintf(str(a[0]), a, 1); if (!fits(out.size(), e)) return false; r = out; return true; }},
      FN("eq") {
        NEED(2);
        bool any = false;
        for (size_t i = 1; i < a.size(); ++i) {
          bool comparable = true;
          any = any || basicEqual(a[0], a[i], comparable);
          if (!comparable) { e = "incompatible types for comparison"; return false; }
        }
        r = any;
        return true;
      }},
      FN("ne") { NEED(2); bool c = true; bool eq = basicEqual(a[0], a[1], c); if (!c) { e = "incompatible types for comparison"; return false; } r = !eq; return true; }},
      FN("lt") { NEED(2); r = isNumber(a[0]) ? toReal(a[0]) < toReal(a[1]) : str(a[0]) < str(a[1]); return true; }},
      FN("le") { NEED(2); r = isNumber(a[0]) ? toReal(a[0]) <= toReal(a[1]) : str(a[0]) <= str(a[1]); return true; }},
      FN("gt") { NEED(2); r = isNumber(a[0]) ? toReal(a[0]) > toReal(a[1]) : str(a[0]) > str(a[1]); return true; }},
      FN("ge") { NEED(2); r = isNumber(a[0]) ? toReal(a[0]) >= toReal(a[1]) : str(a[0]) >= str(a[1]); return true; }},
      FN("urlquery") { r = http::queryEscape(sprint(a)); return true; }},  // Go's url.QueryEscape
      // Sprig: environment and defaults.
      FN("env") { NEED(1); const char* v = std::getenv(str(a[0]).c_str()); r = std::string(v ? v : ""); return true; }},
      FN("expandenv") {
        NEED(1);
        std::string s = str(a[0]), out;
        for (size_t i = 0; i < s.size(); ++i) {
          if (s[i] != '$' || i + 1 >= s.size()) { out += s[i]; continue; }
          size_t j = i + 1;
          std::string name;
          if (s[j] == '{') {
            size_t end = s.find('}', j);
            if (end == std::string::npos) { out += s[i]; continue; }
            name = s.substr(j + 1, end - j - 1);
            i = end;
          } else {
            while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) name += s[j++];
            if (name.empty()) { out += s[i]; continue; }
            i = j - 1;
          }
          const char* v = std::getenv(name.c_str());
          out += v ? v : "";
        }
        r = out;
        return true;
      }},
      FN("default") { NEED(1); r = a.size() < 2 || !a[1].truthy() ? a[0] : a[1]; return true; }},
      FN("empty") { NEED(1); r = !a[0].truthy(); return true; }},
      FN("coalesce") { r = Value(); for (const Value& v : a) if (v.truthy()) { r = v; break; } return true; }},
      FN("ternary") { NEED(3); r = a[2].truthy() ? a[0] : a[1]; return true; }},
      FN("required") { NEED(2); if (!a[1].truthy()) { e = str(a[0]); return false; } r = a[1]; return true; }},
      FN("fail") { NEED(1); e = str(a[0]); return false; }},
      // Strings.
      FN("quote") { std::string s; for (size_t i = 0; i < a.size(); ++i) if (!a[i].isNil()) s += (s.empty() ? "" : " ") + sprintf("%q", Args{a[i]}, 0); r = s; return true; }},
      FN("squote") { std::string s; for (size_t i = 0; i < a.size(); ++i) if (!a[i].isNil()) s += (s.empty() ? "'" : " '") + str(a[i]) + "'"; r = s; return true; }},
      FN("cat") { std::string s; for (const Value& v : a) if (!v.isNil()) s += (s.empty() ? "" : " ") + str(v); r = s; return true; }},
      FN("trim") { NEED(1); r = std::string(trim(str(a[0]))); return true; }},
      FN("trimAll") {
        NEED(2);
        std::string cut = str(a[0]), s = str(a[1]);
        size_t b = s.find_first_not_of(cut), x = s.find_last_not_of(cut);
        r = b == std::string::npos ? std::string() : s.substr(b, x - b + 1);
        return true;
      }},
      FN("trimPrefix") { NEED(2); std::string p = str(a[0]), s = str(a[1]); r = s.starts_with(p) ? s.substr(p.size()) : s; return true; }},
      FN("trimSuffix") { NEED(2); std::string p = str(a[0]), s = str(a[1]); r = s.ends_with(p) ? s.substr(0, s.size() - p.size()) : s; return true; }},
      FN("upper") { NEED(1); std::string s = str(a[0]); for (char& c : s) c = char(std::toupper(static_cast<unsigned char>(c))); r = s; return true; }},
      FN("lower") { NEED(1); r = toLower(str(a[0])); return true; }},
      FN("title") {
        NEED(1);
        std::string s = str(a[0]);
        bool start = true;
        for (char& c : s) {
          if (start && std::isalpha(static_cast<unsigned char>(c))) c = char(std::toupper(static_cast<unsigned char>(c)));
          start = std::isspace(static_cast<unsigned char>(c));
        }
        r = s;
        return true;
      }},
      FN("replace") {
        NEED(3);
        std::string from = str(a[0]), to = str(a[1]), s = str(a[2]), out;
        if (from.empty()) { r = s; return true; }
        for (size_t i = 0;;) {
          size_t k = s.find(from, i);
          if (k == std::string::npos) { out += s.substr(i); break; }
          out += s.substr(i, k - i) + to;
          if (!fits(out.size(), e)) return false;
          i = k + from.size();
        }
        r = out;
        return true;
      }},
      FN("contains") { NEED(2); r = str(a[1]).find(str(a[0])) != std::string::npos; return true; }},
      FN("hasPrefix") { NEED(2); r = str(a[1]).starts_with(str(a[0])); return true; }},
      FN("hasSuffix") { NEED(2); r = str(a[1]).ends_with(str(a[0])); return true; }},
      FN("repeat") {
        NEED(2);
        int64_t n = std::max<int64_t>(toInt(a[0]), 0);
        std::string s, one = str(a[1]);
        if (!fits(uint64_t(n) * one.size(), e) || n > kMaxList) { if (e.empty()) e = "repeat: too many copies"; return false; }
        for (int64_t i = 0; i < n; ++i) s += one;
        r = s;
        return true;
      }},
      FN("nospace") { NEED(1); std::string s = str(a[0]); std::erase_if(s, [](char c) { return std::isspace(static_cast<unsigned char>(c)); }); r = s; return true; }},
      FN("trunc") {
        NEED(2);
        int64_t n = toInt(a[0]);
        std::string s = str(a[1]);
        if (n >= 0) r = s.substr(0, std::min<size_t>(size_t(n), s.size()));
        else r = size_t(-n) >= s.size() ? s : s.substr(s.size() - size_t(-n));
        return true;
      }},
      FN("indent") {
        NEED(2);
        std::string s = str(a[1]);
        if (!fits(uint64_t(std::clamp<int64_t>(toInt(a[0]), 0, 1024)) * (1 + uint64_t(std::count(s.begin(), s.end(), '\n'))) + s.size(), e)) return false;
        r = indentText(toInt(a[0]), s);
        return true;
      }},
      FN("nindent") {
        NEED(2);
        std::string s = str(a[1]);
        if (!fits(uint64_t(std::clamp<int64_t>(toInt(a[0]), 0, 1024)) * (1 + uint64_t(std::count(s.begin(), s.end(), '\n'))) + s.size(), e)) return false;
        r = "\n" + indentText(toInt(a[0]), s);
        return true;
      }},
      FN("b64enc") { NEED(1); r = base64Encode(str(a[0])); return true; }},
      FN("b64dec") { NEED(1); std::string out; if (!base64Decode(str(a[0]), out)) { e = "illegal base64 data"; return false; } r = out; return true; }},
      FN("toString") { NEED(1); r = str(a[0]); return true; }},
      FN("toJson") { NEED(1); r = toJson(a[0]); return true; }},
      FN("splitList") {
        NEED(2);
        std::string sep = str(a[0]), s = str(a[1]);
        Value::List out;
        if (sep.empty()) { for (char c : s) out.emplace_back(std::string(1, c)); r = out; return true; }
        for (size_t i = 0;;) {
          size_t k = s.find(sep, i);
          out.emplace_back(s.substr(i, k == std::string::npos ? std::string::npos : k - i));
          if (k == std::string::npos) break;
          i = k + sep.size();
        }
        r = out;
        return true;
      }},
      FN("split") {  // Sprig's: a map _0, _1, …
        NEED(2);
        std::string sep = str(a[0]), s = str(a[1]);
        Value::Map out;
        size_t n = 0;
        for (size_t i = 0;; ++n) {
          size_t k = sep.empty() ? std::string::npos : s.find(sep, i);
          out["_" + std::to_string(n)] = s.substr(i, k == std::string::npos ? std::string::npos : k - i);
          if (k == std::string::npos) break;
          i = k + sep.size();
        }
        r = out;
        return true;
      }},
      FN("join") {
        NEED(2);
        std::string sep = str(a[0]), out;
        Value::List items = a[1].list() ? *a[1].list() : Value::List{a[1]};
        for (size_t i = 0; i < items.size(); ++i) {
          out += (i ? sep : "") + str(items[i]);
          if (!fits(out.size(), e)) return false;
        }
        r = out;
        return true;
      }},
      FN("regexMatch") {
        NEED(2);
        RE2 re(str(a[0]), RE2::Quiet);
        if (!re.ok()) { e = "bad regular expression: " + re.error(); return false; }
        r = RE2::PartialMatch(str(a[1]), re);
        return true;
      }},
      FN("regexReplaceAll") {
        NEED(3);
        RE2 re(str(a[0]), RE2::Quiet);
        if (!re.ok()) { e = "bad regular expression: " + re.error(); return false; }
        std::string s = str(a[1]), repl = str(a[2]);
        // Go's ${1} and $1 become RE2's \1.
        std::string rewrite;
        for (size_t i = 0; i < repl.size(); ++i) {
          if (repl[i] == '\\') { rewrite += "\\\\"; continue; }
          if (repl[i] == '$' && i + 1 < repl.size()) {
            size_t j = i + 1;
            bool brace = repl[j] == '{';
            if (brace) ++j;
            std::string digits;
            while (j < repl.size() && std::isdigit(static_cast<unsigned char>(repl[j]))) digits += repl[j++];
            if (!digits.empty() && (!brace || (j < repl.size() && repl[j] == '}'))) {
              rewrite += "\\" + digits;
              i = brace ? j : j - 1;
              continue;
            }
          }
          rewrite += repl[i];
        }
        RE2::GlobalReplace(&s, re, rewrite);
        r = s;
        return true;
      }},
      // Numbers.
      FN("atoi") { NEED(1); r = toInt(a[0]); return true; }},
      FN("int") { NEED(1); r = toInt(a[0]); return true; }},
      FN("int64") { NEED(1); r = toInt(a[0]); return true; }},
      FN("float64") { NEED(1); r = a[0].string() ? std::strtod(a[0].string()->c_str(), nullptr) : toReal(a[0]); return true; }},
      FN("add") { int64_t s = 0; for (const Value& v : a) s += toInt(v); r = s; return true; }},
      FN("add1") { NEED(1); r = toInt(a[0]) + 1; return true; }},
      FN("sub") { NEED(2); r = toInt(a[0]) - toInt(a[1]); return true; }},
      FN("mul") { int64_t s = 1; for (const Value& v : a) s *= toInt(v); r = s; return true; }},
      FN("div") {
        NEED(2);
        int64_t x = toInt(a[0]), y = toInt(a[1]);
        if (y == 0) { e = "integer divide by zero"; return false; }
        r = y == -1 ? int64_t(0 - uint64_t(x)) : x / y;  // INT64_MIN / -1 wraps, as in Go
        return true;
      }},
      FN("mod") {
        NEED(2);
        int64_t x = toInt(a[0]), y = toInt(a[1]);
        if (y == 0) { e = "integer divide by zero"; return false; }
        r = y == -1 ? int64_t(0) : x % y;
        return true;
      }},
      FN("max") { NEED(1); int64_t m = toInt(a[0]); for (const Value& v : a) m = std::max(m, toInt(v)); r = m; return true; }},
      FN("min") { NEED(1); int64_t m = toInt(a[0]); for (const Value& v : a) m = std::min(m, toInt(v)); r = m; return true; }},
      FN("until") {
        NEED(1);
        int64_t n = toInt(a[0]);
        if (n > kMaxList) { e = "until: more than " + std::to_string(kMaxList) + " items"; return false; }
        Value::List out;
        for (int64_t i = 0; i < n; ++i) out.emplace_back(i);
        r = out;
        return true;
      }},
      FN("untilStep") {
        NEED(3);
        int64_t start = toInt(a[0]), stop = toInt(a[1]), step = toInt(a[2]);
        Value::List out;
        for (int64_t i = start; step > 0 ? i < stop : step < 0 ? i > stop : false; i += step) {
          if (int64_t(out.size()) >= kMaxList) { e = "untilStep: too many items"; return false; }
          out.emplace_back(i);
        }
        r = out;
        return true;
      }},
      FN("seq") {  // seq N (1..N), seq A B, seq A STEP B; a string of numbers, as Sprig's
        NEED(1);
        int64_t start = 1, step = 1, end = toInt(a.back());
        if (a.size() >= 2) start = toInt(a[0]);
        if (a.size() == 3) step = toInt(a[1]);
        if (a.size() == 2 && end < start) step = -1;
        std::string out;
        int64_t count = 0;
        for (int64_t i = start; step > 0 ? i <= end : step < 0 ? i >= end : false; i += step) {
          if (++count > kMaxList) { e = "seq: too many items"; return false; }
          out += (out.empty() ? "" : " ") + std::to_string(i);
        }
        r = out;
        return true;
      }},
      // Lists and dictionaries.
      FN("list") { r = Value::List(a.begin(), a.end()); return true; }},
      FN("first") { NEED(1); Value::List l = asList(a[0]); r = l.empty() ? Value() : l.front(); return true; }},
      FN("last") { NEED(1); Value::List l = asList(a[0]); r = l.empty() ? Value() : l.back(); return true; }},
      FN("rest") { NEED(1); Value::List l = asList(a[0]); if (!l.empty()) l.erase(l.begin()); r = l; return true; }},
      FN("initial") { NEED(1); Value::List l = asList(a[0]); if (!l.empty()) l.pop_back(); r = l; return true; }},
      FN("append") { NEED(2); Value::List l = asList(a[0]); l.push_back(a[1]); r = l; return true; }},
      FN("prepend") { NEED(2); Value::List l = asList(a[0]); l.insert(l.begin(), a[1]); r = l; return true; }},
      FN("has") { NEED(2); bool found = false; for (const Value& v : asList(a[1])) { bool c; found = found || basicEqual(v, a[0], c); } r = found; return true; }},
      FN("uniq") {
        NEED(1);
        Value::List out;
        std::set<std::string> seen;
        for (const Value& v : asList(a[0]))
          if (seen.insert(std::to_string(v.v.index()) + ":" + formatValue(v, false)).second) out.push_back(v);
        r = out;
        return true;
      }},
      FN("sortAlpha") {
        NEED(1);
        std::vector<std::string> s;
        for (const Value& v : asList(a[0])) s.push_back(str(v));
        std::sort(s.begin(), s.end());
        r = Value::List(s.begin(), s.end());
        return true;
      }},
      FN("dict") { Value::Map m; for (size_t i = 0; i < a.size(); i += 2) m[str(a[i])] = i + 1 < a.size() ? a[i + 1] : Value(std::string()); r = m; return true; }},
      FN("get") { NEED(2); const Value::Map* m = a[0].map(); auto it = m ? m->find(str(a[1])) : Value::Map::const_iterator(); r = m && it != m->end() ? it->second : Value(std::string()); return true; }},
      FN("hasKey") { NEED(2); const Value::Map* m = a[0].map(); r = m && m->count(str(a[1])) > 0; return true; }},
      FN("keys") { Value::List out; for (const Value& d : a) if (const Value::Map* m = d.map()) for (const auto& kv : *m) out.emplace_back(kv.first); r = out; return true; }},
  };
  return functions;
}

#undef FN
#undef NEED

// ---------------------------------------------------------------------------------------------
// Execution.

class Executor {
 public:
  Executor(std::string& out, Error& error, const Functions* extra) : out_(out), error_(error), extra_(extra) {}

  bool run(const std::vector<Node>& nodes, const Value& dot) {
    variables_.emplace_back("$", dot);
    return list(nodes, dot);
  }

 private:
  bool fail(int line, std::string message) {
    if (error_.message.empty()) {
      error_.line = line;
      error_.message = std::move(message);
    }
    return false;
  }

  bool emit(const std::string& text, int line) {
    if (out_.size() + text.size() > kMaxOutput) return fail(line, "the template renders more than 64 MiB");
    out_ += text;
    return true;
  }

  bool list(const std::vector<Node>& nodes, const Value& dot) {
    for (const Node& n : nodes)
      if (!node(n, dot)) return false;
    return true;
  }

  bool node(const Node& n, const Value& dot) {
    if (++steps_ > kMaxSteps) return fail(n.line, "the template takes more than 10 million steps");
    switch (n.kind) {
    case Node::Kind::Text:
      return emit(n.text, n.line);
    case Node::Kind::Action: {
      Value v;
      if (!pipe(n.pipe, dot, v)) return false;
      if (n.pipe.declare || n.pipe.assign) return true;
      return emit(formatValue(v, true), n.line);
    }
    case Node::Kind::If:
    case Node::Kind::With: {
      size_t mark = variables_.size();
      Value v;
      if (!pipe(n.pipe, dot, v)) return false;
      bool ok = v.truthy() ? list(n.body, n.kind == Node::Kind::With ? v : dot) : list(n.otherwise, dot);
      variables_.resize(mark);
      return ok;
    }
    case Node::Kind::Range:
      return range(n, dot);
    }
    return true;
  }

  bool range(const Node& n, const Value& dot) {
    size_t mark = variables_.size();
    Pipe p = n.pipe;
    std::vector<std::string> names = p.variables;
    // `range $i, $e := …` declares its variables; `range $i, $e = …` (Go 1.22) assigns
    // variables declared before it.
    const bool assign = p.assign;
    p.variables.clear();
    p.declare = p.assign = false;
    Value v;
    if (!pipe(p, dot, v)) return false;
    auto set = [&](const std::string& name, const Value& value) {
      if (!assign) {
        variables_.emplace_back(name, value);
        return true;
      }
      Value* target = variable(name);
      if (!target) return fail(n.line, "undefined variable: " + name);
      *target = value;
      return true;
    };
    auto iteration = [&](const Value& key, const Value& element) {
      if (++steps_ > kMaxSteps) return fail(n.line, "the template takes more than 10 million steps");
      variables_.resize(mark);
      if (names.size() == 1 && !set(names[0], element)) return false;
      if (names.size() == 2 && !(set(names[0], key) && set(names[1], element))) return false;
      return list(n.body, element);
    };
    bool any = false, ok = true;
    if (const Value::List* l = v.list()) {
      for (size_t i = 0; i < l->size() && ok; ++i, any = true) ok = iteration(int64_t(i), (*l)[i]);
    } else if (const Value::Map* m = v.map()) {
      for (auto it = m->begin(); it != m->end() && ok; ++it, any = true) ok = iteration(it->first, it->second);
    } else if (v.v.index() == 2) {
      int64_t count = std::get<int64_t>(v.v);
      if (count > kMaxList) return fail(n.line, "range over more than " + std::to_string(kMaxList) + " items");
      for (int64_t i = 0; i < count && ok; ++i, any = true) ok = iteration(i, i);
    } else if (!v.isNil() && !(v.string() && v.string()->empty())) {
      return fail(n.line, "range can't iterate over " + formatValue(v, false));
    }
    variables_.resize(mark);
    if (!ok) return false;
    if (!any) ok = list(n.otherwise, dot);
    variables_.resize(mark);
    return ok;
  }

  bool pipe(const Pipe& p, const Value& dot, Value& result) {
    Value value;
    bool have = false;
    for (const Command& c : p.commands) {
      if (!command(c, dot, have ? &value : nullptr, value, p.line)) return false;
      have = true;
    }
    if (p.declare) {
      for (const std::string& name : p.variables) variables_.emplace_back(name, value);
    } else if (p.assign) {
      Value* target = variable(p.variables.front());
      if (!target) return fail(p.line, "undefined variable: " + p.variables.front());
      *target = value;
    }
    result = std::move(value);
    return true;
  }

  Value* variable(const std::string& name) {
    for (auto it = variables_.rbegin(); it != variables_.rend(); ++it)
      if (it->first == name) return &it->second;
    return nullptr;
  }

  bool command(const Command& c, const Value& dot, const Value* piped, Value& result, int line) {
    if (++steps_ > kMaxSteps) return fail(line, "the template takes more than 10 million steps");
    const Operand& head = c.args.front();
    // and/or stop at the first argument that decides, as Go's do since 1.18.
    if (head.kind == Operand::Kind::Function && (head.text == "and" || head.text == "or") &&
        (!extra_ || !extra_->count(head.text)) && c.args.size() + (piped ? 1 : 0) > 1) {
      bool isAnd = head.text == "and";
      size_t count = c.args.size() - 1 + (piped ? 1 : 0);
      for (size_t i = 0; i < count; ++i) {
        if (i + 1 < c.args.size()) {
          if (!operand(c.args[i + 1], dot, result, line)) return false;
        } else {
          result = *piped;
        }
        if (result.truthy() != isAnd) break;  // and: the first false; or: the first true
      }
      return true;
    }
    if (head.kind == Operand::Kind::Function) {
      const Function* fn = nullptr;
      if (extra_)
        if (auto it = extra_->find(head.text); it != extra_->end()) fn = &it->second;
      if (!fn)
        if (auto it = builtins().find(head.text); it != builtins().end()) fn = &it->second;
      if (!fn) return fail(line, "function \"" + head.text + "\" not defined");
      Args args;
      for (size_t i = 1; i < c.args.size(); ++i) {
        Value v;
        if (!operand(c.args[i], dot, v, line)) return false;
        args.push_back(std::move(v));
      }
      if (piped) args.push_back(*piped);
      std::string why;
      if (!(*fn)(args, result, why)) return fail(line, "error calling " + head.text + ": " + why);
      if (result.depth > 100) return fail(line, "error calling " + head.text + ": values nested more than 100 deep");
      produced_ += weight(result);
      if (produced_ > kMaxProduced)
        return fail(line, "the template builds more than 256 MiB of values");
      return true;
    }
    if (c.args.size() > 1 || piped)
      return fail(line, "can't give an argument to a non-function");
    return operand(head, dot, result, line);
  }

  bool fields(Value& v, const std::vector<std::string>& path, int line) {
    for (const std::string& f : path) {
      if (const Value::Map* m = v.map()) {
        auto it = m->find(f);
        if (it == m->end()) {  // Go maps: a missing key is the zero value
          v = Value();
          continue;
        }
        Value next = it->second;
        v = std::move(next);
      } else if (v.isNil()) {
        return fail(line, "nil pointer evaluating ." + f);
      } else {
        return fail(line, "can't evaluate field " + f + " in " + formatValue(v, false));
      }
    }
    return true;
  }

  bool operand(const Operand& o, const Value& dot, Value& v, int line) {
    switch (o.kind) {
    case Operand::Kind::Dot: v = dot; return true;
    case Operand::Kind::Field: v = dot; return fields(v, o.fields, line);
    case Operand::Kind::Variable: {
      Value* found = variable(o.text);
      if (!found) return fail(line, "undefined variable: " + o.text);
      v = *found;
      return fields(v, o.fields, line);
    }
    case Operand::Kind::Function: {
      Command c;
      c.args.push_back(o);
      return command(c, dot, nullptr, v, line);
    }
    case Operand::Kind::String: v = o.text; return true;
    case Operand::Kind::Int: v = o.integer; return true;
    case Operand::Kind::Float: v = o.real; return true;
    case Operand::Kind::Bool: v = o.boolean; return true;
    case Operand::Kind::Nil: v = Value(); return true;
    case Operand::Kind::Sub: {
      size_t mark = variables_.size();
      bool ok = pipe(*o.sub, dot, v);
      variables_.resize(mark);
      return ok && fields(v, o.fields, line);
    }
    }
    return true;
  }

  std::string& out_;
  Error& error_;
  const Functions* extra_;
  // The bytes of a value a function built, for the budget (lists and maps count their items).
  static uint64_t weight(const Value& v) {
    if (const std::string* s = v.string()) return s->size();
    uint64_t total = 8;
    if (const Value::List* l = v.list())
      for (const Value& item : *l) total += weight(item);
    if (const Value::Map* m = v.map())
      for (const auto& [k, item] : *m) total += k.size() + weight(item);
    return total;
  }

  std::vector<std::pair<std::string, Value>> variables_;
  uint64_t steps_ = 0;
  uint64_t produced_ = 0;  // bytes of values functions built so far
};

}  // namespace

bool Value::truthy() const {
  switch (v.index()) {
  case 0: return false;
  case 1: return std::get<bool>(v);
  case 2: return std::get<int64_t>(v) != 0;
  case 3: return std::get<double>(v) != 0;
  case 4: return !std::get<std::string>(v).empty();
  case 5: return !list()->empty();
  default: return !map()->empty();
  }
}

std::string Value::print() const { return formatValue(*this, true); }

bool render(std::string_view text, const Value& data, std::string& out, Error& error,
            const Functions* extra) {
  out.clear();
  error = Error{};
  std::vector<Node> nodes;
  Parser parser(text, error);
  if (!parser.parse(nodes)) return false;
  Executor executor(out, error, extra);
  if (!executor.run(nodes, data)) {
    out.clear();
    return false;
  }
  return true;
}

}  // namespace causeway::config::gotemplate
