// OpenAPI contracts (gateway/api/openapi.h) and the JSON Schema checks under them
// (gateway/api/json_schema.h): the Petstore 3.0 (YAML) and Swagger 2 (JSON) documents of
// tests/fixtures/openapi, path matching, and schema keywords one by one.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gateway/api/json_schema.h"
#include "gateway/api/openapi.h"

namespace causeway::gateway::api {
namespace {

std::string fixture(const char* name) {
  auto path = std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() /
              "fixtures" / "openapi" / name;
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(OpenApiTest, PetstoreThreeMatchesPathsUnderItsServer) {
  std::string error;
  auto c = ApiContract::compile(fixture("petstore3.yaml"), {}, error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->version(), "3.0.2");
  EXPECT_EQ(c->operationCount(), 19u);
  auto m = c->match("GET", "/v3/pet/42");
  ASSERT_EQ(m.kind, ApiContract::Match::Kind::Found);
  EXPECT_EQ(m.operation->pathTemplate, "/pet/{petId}");
  ASSERT_EQ(m.pathValues.size(), 1u);
  EXPECT_EQ(m.pathValues[0].second, "42");
  // A concrete path wins over a template.
  m = c->match("GET", "/v3/pet/findByStatus");
  ASSERT_EQ(m.kind, ApiContract::Match::Kind::Found);
  EXPECT_EQ(m.operation->pathTemplate, "/pet/findByStatus");
  m = c->match("PATCH", "/v3/pet/42");
  EXPECT_EQ(m.kind, ApiContract::Match::Kind::NoMethod);
  EXPECT_EQ(m.allowed, "GET, POST, DELETE");
  EXPECT_EQ(c->match("GET", "/pet/42").kind, ApiContract::Match::Kind::NoPath);  // outside /v3
  EXPECT_EQ(c->match("GET", "/v3/pets").kind, ApiContract::Match::Kind::NoPath);
  EXPECT_EQ(c->match("GET", "/v3/pet/42/").kind, ApiContract::Match::Kind::NoPath);
  // Servers can be overridden.
  auto o =
      ApiContract::compile(fixture("petstore3.yaml"), {"https://api.example.com/store/v3/"}, error);
  ASSERT_TRUE(o) << error;
  EXPECT_EQ(o->match("GET", "/store/v3/pet/1").kind, ApiContract::Match::Kind::Found);
  EXPECT_EQ(o->match("GET", "/v3/pet/1").kind, ApiContract::Match::Kind::NoPath);
}

TEST(OpenApiTest, PetstoreThreeBodySchema) {
  std::string error;
  auto c = ApiContract::compile(fixture("petstore3.yaml"), {}, error);
  ASSERT_TRUE(c) << error;
  auto m = c->match("POST", "/v3/pet");
  ASSERT_EQ(m.kind, ApiContract::Match::Kind::Found);
  const ApiOperation& op = *m.operation;
  EXPECT_TRUE(op.bodyRequired);
  ASSERT_GE(op.jsonSchema, 0);
  auto check = [&](const char* body) {
    return c->schemas().check(op.jsonSchema, boost::json::parse(body));
  };
  EXPECT_FALSE(
      check(R"({"name":"doggie","photoUrls":["a"],"tags":[{"id":1,"name":"x"}],"status":"sold"})"));
  auto f = check(R"({"name":"doggie","photoUrls":["a"],"tags":[{"id":1,"name":7}]})");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->path, "$.tags[0].name");
  EXPECT_EQ(f->reason, "expected string, got number");
  f = check(R"({"photoUrls":[]})");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->reason, "missing required property \"name\"");
  f = check(R"({"name":"a","photoUrls":[],"status":"lost"})");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->path, "$.status");
  f = check(R"({"name":"a","photoUrls":[],"id":1.5})");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->reason, "expected integer, got a fraction");
  f = check(R"({"name":"a","photoUrls":[],"category":{"id":"x"}})");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->path, "$.category.id");
}

TEST(OpenApiTest, SwaggerTwoParametersAndBody) {
  std::string error;
  auto c = ApiContract::compile(fixture("petstore2.json"), {}, error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->version(), "2.0");
  auto m = c->match("GET", "/v2/pet/findByStatus");
  ASSERT_EQ(m.kind, ApiContract::Match::Kind::Found);
  ASSERT_EQ(m.operation->parameters.size(), 1u);
  const ApiParameter& p = m.operation->parameters[0];
  EXPECT_TRUE(p.required);
  EXPECT_TRUE(p.explode);  // collectionFormat: multi
  EXPECT_EQ(p.type, "array");
  EXPECT_FALSE(c->schemas().check(p.schema, boost::json::parse(R"(["sold","pending"])")));
  EXPECT_TRUE(c->schemas().check(p.schema, boost::json::parse(R"(["lost"])")));
  m = c->match("GET", "/v2/pet/0");
  ASSERT_EQ(m.kind, ApiContract::Match::Kind::Found);
  auto f = c->schemas().check(m.operation->parameters[0].schema, boost::json::value(0),
                              "path parameter petId");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->path, "path parameter petId");
  m = c->match("POST", "/v2/pet");
  ASSERT_EQ(m.kind, ApiContract::Match::Kind::Found);
  EXPECT_TRUE(m.operation->bodyRequired);
  EXPECT_EQ(m.operation->mediaTypes,
            (std::vector<std::string>{"application/json", "application/xml"}));
  EXPECT_TRUE(c->schemas().check(m.operation->jsonSchema,
                                 boost::json::parse(R"({"name":1,"photoUrls":[]})")));
}

int compileSchema(SchemaSet& set, boost::json::value& doc, std::string& error) {
  return set.compile(doc, doc.at("s"), error);
}

TEST(JsonSchemaTest, Keywords) {
  struct Case {
    const char* schema;
    const char* good;
    const char* bad;
  };
  const Case cases[] = {
      {R"({"type":"string","minLength":2,"maxLength":3})", R"("ab")", R"("abcd")"},
      {R"({"type":"string","pattern":"^[a-z]+-[0-9]+$"})", R"("ab-12")", R"("AB-12")"},
      {R"({"type":"number","minimum":1,"exclusiveMaximum":10})", "9.5", "10"},
      {R"({"type":"integer","minimum":1,"exclusiveMinimum":true})", "2", "1"},
      {R"({"type":"number","multipleOf":0.5})", "1.5", "1.25"},
      {R"({"type":"array","minItems":1,"maxItems":2,"uniqueItems":true})", "[1,2]", "[1,1]"},
      {R"({"type":"object","additionalProperties":false,"properties":{"a":{}}})", R"({"a":1})",
       R"({"b":1})"},
      {R"({"type":"object","additionalProperties":{"type":"integer"}})", R"({"x":1})",
       R"({"x":"1"})"},
      {R"({"type":"string","nullable":true})", "null", "1"},
      {R"({"type":["string","null"]})", "null", "true"},
      {R"({"oneOf":[{"type":"integer"},{"type":"number","minimum":5}]})", "1", "7"},
      {R"({"anyOf":[{"type":"integer"},{"type":"boolean"}]})", "true", R"("x")"},
      {R"({"allOf":[{"required":["a"]},{"required":["b"]}]})", R"({"a":1,"b":2})", R"({"a":1})"},
      {R"({"not":{"type":"string"}})", "1", R"("x")"},
      {R"({"const":"fixed"})", R"("fixed")", R"("other")"},
      {R"({"type":"string","format":"date-time"})", R"("2026-12-05T10:00:00Z")",
       R"("2026-12-05 25:00")"},
      {R"({"type":"string","format":"uuid"})", R"("0f8e2b1c-1234-4d5e-9abc-0123456789ab")",
       R"("0f8e2b1c")"},
      {R"({"type":"integer","format":"int32"})", "2147483647", "2147483648"},
      {R"({"type":"string","format":"ipv4"})", R"("10.0.0.1")", R"("10.0.0.256")"},
      {R"({"type":"object","minProperties":1})", R"({"a":1})", "{}"},
  };
  for (const Case& c : cases) {
    boost::json::value doc = boost::json::parse(std::string(R"({"s":)") + c.schema + "}");
    SchemaSet set;
    std::string error;
    int id = compileSchema(set, doc, error);
    ASSERT_GE(id, 0) << c.schema << ": " << error;
    EXPECT_FALSE(set.check(id, boost::json::parse(c.good))) << c.schema << " with " << c.good;
    EXPECT_TRUE(set.check(id, boost::json::parse(c.bad))) << c.schema << " with " << c.bad;
  }
}

TEST(JsonSchemaTest, RecursiveRefsAndBadSchemas) {
  boost::json::value doc = boost::json::parse(
      R"({"defs":{"node":{"type":"object","properties":{"next":{"$ref":"#/defs/node"},"v":{"type":"integer"}}}},
          "s":{"$ref":"#/defs/node"}})");
  SchemaSet set;
  std::string error;
  int id = compileSchema(set, doc, error);
  ASSERT_GE(id, 0) << error;
  EXPECT_FALSE(set.check(id, boost::json::parse(R"({"v":1,"next":{"v":2,"next":{"v":3}}})")));
  auto f = set.check(id, boost::json::parse(R"({"v":1,"next":{"next":{"v":"x"}}})"));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->path, "$.next.next.v");
  boost::json::value dangling = boost::json::parse(R"({"s":{"$ref":"#/nowhere"}})");
  SchemaSet other;
  EXPECT_LT(compileSchema(other, dangling, error), 0);
  EXPECT_NE(error.find("#/nowhere"), std::string::npos);
  boost::json::value remote = boost::json::parse(R"({"s":{"$ref":"https://example.com/s.json"}})");
  EXPECT_LT(compileSchema(other, remote, error), 0);
  boost::json::value badPattern = boost::json::parse(R"({"s":{"pattern":"(?<=a)b"}})");
  EXPECT_LT(compileSchema(other, badPattern, error), 0);
}

TEST(OpenApiTest, YamlScalarsKeepTheirTypes) {
  std::string error;
  auto v = parseJsonOrYaml("a: 1\nb: '1'\nc: true\nd: 1.5\ne: ~\nf: text\ng: \"2\"\n", error);
  ASSERT_TRUE(v) << error;
  EXPECT_EQ(boost::json::serialize(*v),
            R"({"a":1,"b":"1","c":true,"d":1.5E0,"e":null,"f":"text","g":"2"})");
  EXPECT_FALSE(parseJsonOrYaml("a: [1, 2\n", error));
}

}  // namespace
}  // namespace causeway::gateway::api
