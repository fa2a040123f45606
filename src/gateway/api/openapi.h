// An OpenAPI document (3.0, 3.1, or Swagger 2; JSON or YAML) compiled into what a request is
// checked against: the base paths of its servers, a tree of its path templates, and per
// operation its parameters and request body with their schemas compiled once (json_schema.h).
// docs/api-gateway.md ("openApiSpec") describes the checks.
#pragma once

#include <boost/json/value.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gateway/api/json_schema.h"

namespace causeway::gateway::api {

struct ApiParameter {
  enum class In : uint8_t { Path, Query, Header, Cookie };
  std::string name;
  In in = In::Query;
  bool required = false;
  bool explode = true;    // query arrays: repeated (true) or comma-separated (false)
  std::string type;       // the schema's top-level type, for turning text into JSON
  std::string itemsType;  // arrays: the items' type
  int schema = -1;
};

struct ApiOperation {
  std::string method;        // upper-case
  std::string pathTemplate;  // as the document writes it
  std::vector<ApiParameter> parameters;
  bool hasBody = false;  // the operation declares a request body
  bool bodyRequired = false;
  std::vector<std::string>
      mediaTypes;       // declared, lower-case ("application/json", "application/*")
  int jsonSchema = -1;  // the schema of the JSON media type, if any
};

class ApiContract {
 public:
  // Compiles `text` (JSON, or YAML when it is not JSON). `servers`, when not empty, replaces the
  // document's servers (their URLs' paths are the base paths). Null with `error` (naming the
  // path and method at fault where there is one).
  static std::shared_ptr<const ApiContract>
  compile(std::string_view text, const std::vector<std::string>& servers, std::string& error);

  struct Match {
    enum class Kind : uint8_t { NoPath, NoMethod, Found } kind = Kind::NoPath;
    const ApiOperation* operation = nullptr;
    std::vector<std::pair<std::string_view, std::string>>
        pathValues;       // template name → decoded value
    std::string allowed;  // NoMethod: the methods the path has ("GET, POST")
  };
  // `path`: the request's path (escaped, without its query).
  Match match(std::string_view method, std::string_view path) const;

  const SchemaSet& schemas() const { return schemas_; }
  size_t operationCount() const { return operations_.size(); }
  const std::string& version() const { return version_; }

 private:
  struct Segment {  // one path segment of a template: literal, or prefix{name}suffix
    std::string literal;
    bool param = false;
    std::string prefix, name, suffix;
  };
  struct TreeNode {
    std::unordered_map<std::string, int> literal;  // segment → child
    std::vector<std::pair<Segment, int>> params;   // templated segments → child
    int pathItem = -1;                             // index into pathItems_
  };
  struct PathItem {
    std::string text;
    std::vector<int> operations;  // indices into operations_
  };
  bool matchFrom(int node, const std::vector<std::string>& segments, size_t at, Match& m,
                 int& item) const;

  boost::json::value document_;
  SchemaSet schemas_;
  std::vector<std::string> basePaths_;  // without a trailing '/', longest first; "" for the root
  std::vector<TreeNode> tree_;
  std::vector<PathItem> pathItems_;
  std::vector<ApiOperation> operations_;
  std::string version_;  // "3.0.3", "3.1.0", "2.0"
};

// A YAML or JSON text as JSON: plain YAML scalars become numbers, booleans and null as YAML 1.2's
// core schema reads them; quoted ones stay strings. nullopt with `error` when it parses as neither.
std::optional<boost::json::value> parseJsonOrYaml(std::string_view text, std::string& error);

}  // namespace causeway::gateway::api
