// Conditions over a JSON document, for the llm-guard's block decision:
//   results.0.flagged == true
//   categories.violence || score > 0.8 && label != "safe"
//   choices.0.message.content contains "unsafe"
// A path is dot-separated member names and array indexes; a comparison is path OP literal with
// OP one of == != < <= > >= contains, literals are numbers, "strings", true, false, null; a
// bare path is true when the value is true, a non-zero number or a non-empty string, array or
// object. `!` negates a term, && binds tighter than ||. A path that is absent compares as null.
#pragma once

#include <boost/json.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace causeway::gateway::ai {

class JsonCondition {
 public:
  // nullopt with `error` set (position and what was expected) when `text` does not parse.
  static std::optional<JsonCondition> parse(std::string_view text, std::string& error);
  bool evaluate(const boost::json::value& document) const;

  struct Node;

 private:
  std::shared_ptr<const Node> root_;
};

}  // namespace causeway::gateway::ai
