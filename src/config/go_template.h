// Go's text/template language, as Traefik renders dynamic configuration files and Docker's
// `defaultRule` with it, and the Sprig functions people use in them (docs/go-templates.md has
// the list). Pure: no I/O besides the environment (`env`, `expandenv`).
//
// The language: text and actions `{{ }}` with the trim markers `{{- ` and ` -}}` and comments
// `{{/* */}}`; pipelines (`a | f b`: the value goes in as the last argument) with parentheses;
// the dot, fields and map keys (`.Name`, `.Labels.app`), variables (`$x := …`, `$x = …`, `$`);
// string (interpreted and raw), number, boolean and nil constants; `if`/`else if`/`else`,
// `range` (lists, maps in key order, integers; with `$i, $e :=`), `with`, `end`, and the
// built-in functions (and, or, not, len, index, print, printf, println, eq, ne, lt, le, gt, ge).
// `define`, `template` and `block` are refused with an error.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace causeway::config::gotemplate {

// A value as templates see it: nil, bool, integer, float, string, list or map (string keys).
struct Value {
  using List = std::vector<Value>;
  using Map = std::map<std::string, Value>;
  std::variant<std::monostate, bool, int64_t, double, std::string, std::shared_ptr<List>,
               std::shared_ptr<Map>>
      v;

  Value() = default;
  Value(bool b) : v(b) {}
  Value(int64_t i) : v(i) {}
  Value(int i) : v(int64_t(i)) {}
  Value(double d) : v(d) {}
  Value(std::string s) : v(std::move(s)) {}
  Value(const char* s) : v(std::string(s)) {}
  Value(List l) : v(std::make_shared<List>(std::move(l))) {
    for (const Value& item : *list()) depth = std::max<uint16_t>(depth, uint16_t(item.depth + 1));
  }
  Value(Map m) : v(std::make_shared<Map>(std::move(m))) {
    for (const auto& entry : *map()) depth = std::max<uint16_t>(depth, uint16_t(entry.second.depth + 1));
  }
  // How deeply lists and maps nest inside (0 for a scalar or a flat list); rendering refuses
  // values nested more than 100 deep.
  uint16_t depth = 0;

  bool isNil() const { return v.index() == 0; }
  const std::string* string() const { return std::get_if<std::string>(&v); }
  const List* list() const {
    auto p = std::get_if<std::shared_ptr<List>>(&v);
    return p ? p->get() : nullptr;
  }
  const Map* map() const {
    auto p = std::get_if<std::shared_ptr<Map>>(&v);
    return p ? p->get() : nullptr;
  }
  // Go's truth: false, 0, nil and empty strings, lists and maps are false.
  bool truthy() const;
  // Go's fmt %v: "[a b]", "map[k:v]", "<no value>" for nil.
  std::string print() const;
};

// A function beyond the built-in and Sprig ones (Docker's `normalize`). Returns false with
// `error` set on bad arguments.
using Function = std::function<bool(const std::vector<Value>& args, Value& result, std::string& error)>;
using Functions = std::map<std::string, Function, std::less<>>;

struct Error {
  int line = 0;  // 1-based line of the template text
  std::string message;
};

// Renders `text` with `data` as the dot. False with `error` on a parse or execution error.
bool render(std::string_view text, const Value& data, std::string& out, Error& error,
            const Functions* extra = nullptr);

// True when `text` holds an action (a "{{"), i.e. rendering may change it.
inline bool hasActions(std::string_view text) { return text.find("{{") != std::string_view::npos; }

}  // namespace causeway::config::gotemplate
