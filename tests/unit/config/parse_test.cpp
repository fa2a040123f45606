
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <unistd.h>

#include "config/parse.h"

namespace causeway::config {
namespace {

TEST(ParseYaml, ScalarsKeepTheirText) {
  ParseResult result =
      parseYaml("a: 010\nb: 'true'\nc: ~\nd:\ne: null\nf: \"\"\ng: 1.50\n", "t.yml");
  ASSERT_TRUE(result.errors.empty());
  const Node& root = result.root;
  EXPECT_EQ(root.find("a")->text(), "010");
  EXPECT_EQ(root.find("b")->text(), "true");
  EXPECT_TRUE(root.find("c")->isNull());
  EXPECT_TRUE(root.find("d")->isNull());
  EXPECT_TRUE(root.find("e")->isNull());
  EXPECT_TRUE(root.find("f")->isScalar());
  EXPECT_EQ(root.find("g")->text(), "1.50");
}

TEST(ParseYaml, Locations) {
  ParseResult result = parseYaml("http:\n  routers:\n    api:\n      rule: Host(`a`)\n"
                                 "      entryPoints:\n        - web\n",
                                 "conf/dyn.yml");
  ASSERT_TRUE(result.errors.empty());
  const NodeEntry& api = result.root.find("http")->find("routers")->entries()[0];
  EXPECT_EQ(api.keyLocation.toString(), "conf/dyn.yml:3:5");
  const Node* rule = api.value.find("rule");
  EXPECT_EQ(rule->location().line, 4);
  EXPECT_EQ(rule->location().column, 13);
  EXPECT_EQ(api.value.find("entryPoints")->items()[0].location().toString(), "conf/dyn.yml:6:11");
}

TEST(ParseYaml, EmptyDocumentIsNull) {
  EXPECT_TRUE(parseYaml("", "t.yml").root.isNull());
  EXPECT_TRUE(parseYaml("# only a comment\n", "t.yml").root.isNull());
}

TEST(ParseYaml, SyntaxErrorHasLine) {
  ParseResult result = parseYaml("a: 1\nb: [1, 2\nc: 3\n", "bad.yml");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(*result.errors[0].location.source, "bad.yml");
  EXPECT_GE(result.errors[0].location.line, 2);
  EXPECT_NE(result.errors[0].message.find("invalid YAML"), std::string::npos);
  EXPECT_TRUE(result.root.isNull());

  result = parseYaml("a: 1\n  b: 2\n", "bad.yml");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].location.line, 2);
}

TEST(ParseYaml, DeepNestingIsAnErrorNotACrash) {
  ParseResult result =
      parseYaml("a: " + std::string(100000, '[') + std::string(100000, ']'), "t.yml");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].message, "invalid YAML: nesting too deep");
  result = parseToml("a = " + std::string(100000, '[') + std::string(100000, ']'), "t.toml");
  ASSERT_EQ(result.errors.size(), 1u);
}

TEST(ParseYaml, MergeKeys) {
  ParseResult result = parseYaml("base: &base {scheme: https, port: 1}\n"
                                 "x:\n  <<: *base\n  port: 2\n",
                                 "t.yml");
  ASSERT_TRUE(result.errors.empty());
  EXPECT_EQ(result.root.find("x")->toString(), "{port: 2, scheme: https}");
}

TEST(ParseYaml, CaseDuplicateKeysWarn) {
  ParseResult result = parseYaml("Rule: a\nrule: b\n", "t.yml");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_TRUE(result.errors[0].warning);
  EXPECT_EQ(result.errors[0].location.line, 2);
  EXPECT_EQ(result.root.find("rule")->text(), "b");
}

TEST(ParseYaml, NullsAreOnlyPlainNulls) {
  ParseResult result = parseYaml("a: ~\nb: null\nc:\nd: 'null'\ne: \"\"\nf: NULL\n", "t.yml");
  ASSERT_TRUE(result.errors.empty());
  EXPECT_TRUE(result.root.find("a")->isNull());
  EXPECT_TRUE(result.root.find("b")->isNull());
  EXPECT_TRUE(result.root.find("c")->isNull());
  EXPECT_EQ(result.root.find("c")->location().line, 3);  // an implicit value is where its key is
  EXPECT_TRUE(result.root.find("d")->isScalar());
  EXPECT_EQ(result.root.find("d")->text(), "null");
  EXPECT_TRUE(result.root.find("e")->isScalar());
  EXPECT_TRUE(result.root.find("f")->isNull());
}

TEST(ParseYaml, AnchorsAndAliasesCopyTheNode) {
  ParseResult result = parseYaml("servers: &s [{url: 'http://a'}, {url: 'http://b'}]\n"
                                 "x: {servers: *s, name: &n web}\ny: *n\n",
                                 "t.yml");
  ASSERT_TRUE(result.errors.empty());
  EXPECT_EQ(result.root.find("x")->find("servers")->toString(), "[{url: \"http://a\"}, {url: \"http://b\"}]");
  EXPECT_EQ(result.root.find("y")->text(), "web");

  result = parseYaml("a: *missing\n", "t.yml");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].location.line, 1);
  EXPECT_NE(result.errors[0].message.find("*missing"), std::string::npos);
  EXPECT_TRUE(result.root.isNull());
}

TEST(ParseYaml, KeysMustBeScalars) {
  ParseResult result = parseYaml("? [a, b]\n: 1\nc: 2\n", "t.yml");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].message, "map keys must be plain values");
  EXPECT_EQ(result.root.toString(), "{c: 2}");
}

TEST(ParseYaml, KeysMayBeAnchoredOrAliases) {
  ParseResult result = parseYaml("routers:\n  &k app: {service: *k}\nnames: {a: &n web}\n*n : 1\n", "t.yml");
  ASSERT_TRUE(result.errors.empty()) << result.errors[0].toString();
  EXPECT_EQ(result.root.find("routers")->find("app")->find("service")->text(), "app");
  EXPECT_EQ(result.root.find("web")->text(), "1");
}

TEST(ParseYaml, TaggedNullIsText) {
  ParseResult result = parseYaml("a: !!str null\nb: !!null x\n", "t.yml");
  ASSERT_TRUE(result.errors.empty());
  EXPECT_EQ(result.root.find("a")->text(), "null");
  EXPECT_TRUE(result.root.find("b")->isNull());
}

TEST(ParseYaml, ReaderErrorsHaveTheirLine) {
  ParseResult result = parseYaml("a: 1\nb: 2\n# caf\xe9\n", "t.yml");  // Latin-1, not UTF-8
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].location.line, 3);
  EXPECT_NE(result.errors[0].message.find("UTF-8"), std::string::npos);
}

TEST(ParseYaml, TextAfterAFlowRootIsAnError) {
  ParseResult result = parseYaml("{a: 1}}\n", "t.yml");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_TRUE(result.root.isNull());
}

TEST(ParseYaml, FirstDocumentOnlyAndTagsIgnored) {
  ParseResult result = parseYaml("---\na: !!str 1\n---\nb: 2\n", "t.yml");
  ASSERT_TRUE(result.errors.empty());
  EXPECT_EQ(result.root.toString(), "{a: 1}");
}

TEST(ParseToml, ValuesAndOrder) {
  ParseResult result =
      parseToml("zeta = 1\nalpha = true\n[m]\nf = 1.5\nlist = [\"a\", \"b\"]\n"
                "[[servers]]\nurl = \"http://x\"\n[[servers]]\nurl = \"http://y\"\n",
                "t.toml");
  ASSERT_TRUE(result.errors.empty()) << result.errors[0].toString();
  EXPECT_EQ(result.root.toString(),
            "{zeta: 1, alpha: true, m: {f: 1.5, list: [a, b]}, servers: [{url: \"http://x\"}, "
            "{url: \"http://y\"}]}");
}

TEST(ParseToml, Locations) {
  ParseResult result =
      parseToml("[http.routers.api]\n  rule = \"Host(`a`)\"\n  priority = 5\n", "conf/dyn.toml");
  ASSERT_TRUE(result.errors.empty());
  const Node* api = result.root.find("http")->find("routers")->find("api");
  EXPECT_EQ(api->find("rule")->location().toString(), "conf/dyn.toml:2:10");
  EXPECT_EQ(api->entries()[1].keyLocation.toString(), "conf/dyn.toml:3:3");
}

TEST(ParseToml, SyntaxErrorHasLine) {
  ParseResult result = parseToml("a = 1\nb = \n", "bad.toml");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].location.line, 2);
  EXPECT_NE(result.errors[0].toString().find("bad.toml:2:"), std::string::npos);
  result = parseToml("a = 1\na = 2\n", "bad.toml");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].location.line, 2);
}

TEST(ParseToml, EmptyDocumentIsNull) {
  EXPECT_TRUE(parseToml("", "t.toml").root.isNull());
}

class ParseFile : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("causeway_parse_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }
  std::filesystem::path dir_;
};

TEST_F(ParseFile, ByExtension) {
  EXPECT_EQ(parseConfigFile(write("a.yml", "x: 1")).root.toString(), "{x: 1}");
  EXPECT_EQ(parseConfigFile(write("a.YAML", "x: 2")).root.toString(), "{x: 2}");
  EXPECT_EQ(parseConfigFile(write("a.toml", "x = 3")).root.toString(), "{x: 3}");
  ParseResult json = parseConfigFile(write("a.json", "{}"));
  ASSERT_EQ(json.errors.size(), 1u);
  EXPECT_NE(json.errors[0].message.find("expected .yml, .yaml or .toml"), std::string::npos);
}

TEST_F(ParseFile, UnreadableFileIsAnError) {
  ParseResult missing = parseConfigFile((dir_ / "missing.yml").string());
  ASSERT_EQ(missing.errors.size(), 1u);
  EXPECT_EQ(*missing.errors[0].location.source, (dir_ / "missing.yml").string());
  std::filesystem::create_directories(dir_ / "dir.yml");
  EXPECT_EQ(parseConfigFile((dir_ / "dir.yml").string()).errors.size(), 1u);
}

TEST_F(ParseFile, ErrorsNameTheFile) {
  std::string path = write("bad.yml", "a: [\n");
  ParseResult result = parseConfigFile(path);
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].toString().rfind(path + ":", 0), 0u) << result.errors[0].toString();
}

} // namespace
} // namespace causeway::config
