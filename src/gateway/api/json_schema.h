// JSON Schema as OpenAPI uses it (3.0's schema object, 3.1's JSON Schema 2020-12, Swagger 2's
// definitions), compiled once and then checked against request values without allocating on
// success. What is checked:
//   type (a name or, 3.1, a list; 3.0 `nullable`), enum, const,
//   properties, required, additionalProperties (false or a schema), minProperties, maxProperties,
//   items (a schema), minItems, maxItems, uniqueItems,
//   minimum, maximum, exclusiveMinimum, exclusiveMaximum (3.0 booleans and 3.1 numbers),
//   multipleOf, minLength, maxLength (in code points), pattern (RE2: ECMA-only syntax does not
//   compile and is reported), format (date-time, date, time, email, uuid, ipv4, ipv6, int32,
//   int64), allOf, anyOf, oneOf, not, and local $ref ("#/components/schemas/…", "#/definitions/…",
//   any JSON pointer into the document; cycles allowed).
// Not checked (accepted): discriminator, readOnly/writeOnly, $dynamicRef, if/then/else,
// dependentSchemas, patternProperties, unevaluated*; remote $refs are a compile error.
//
// A failure names the value's JSON path (`$.tags[0].name`) and what was expected.
#pragma once

#include <boost/json/value.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace re2 {
class RE2;
}

namespace causeway::gateway::api {

struct SchemaFailure {
  std::string path;    // "$.tags[0].name"
  std::string reason;  // "expected string, got number"
};

class SchemaSet {
 public:
  SchemaSet();
  ~SchemaSet();
  SchemaSet(SchemaSet&&) noexcept;
  SchemaSet& operator=(SchemaSet&&) noexcept;

  // Compiles the schema at `schema` (a value inside `document`, which $refs point into) and
  // returns its id; -1 with `error` set when it cannot be compiled (a remote or dangling $ref, a
  // pattern RE2 cannot compile).
  int compile(const boost::json::value& document, const boost::json::value& schema,
              std::string& error);

  // Checks `value` against schema `id`; nullopt when it holds. `root` names the value ("$",
  // "query parameter limit").
  std::optional<SchemaFailure> check(int id, const boost::json::value& value,
                                     std::string_view root = "$") const;

  struct Node;

 private:
  int compileNode(const boost::json::value& document, const boost::json::value& schema,
                  std::string& error, int depth);
  bool validate(int id, const boost::json::value& value, std::string& path, SchemaFailure& failure,
                int depth) const;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<std::pair<const boost::json::value*, int>>
      compiled_;  // schema object → node (refs, cycles)
};

}  // namespace causeway::gateway::api
