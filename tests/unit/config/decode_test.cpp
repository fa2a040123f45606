
#include <gtest/gtest.h>

#include "config/decode.h"
#include "config/flat_keys.h"
#include "config/parse.h"

namespace causeway::config {
namespace {

using namespace std::chrono_literals;

struct Inner {
  std::string name = "default";
  int weight = 1;
  static void describe(auto& self, auto& v) {
    v("name", self.name);
    v("weight", self.weight);
  }
};

struct Sample {
  std::string text = "x";
  bool flag = false;
  int small = 5;
  int64_t big = 0;
  uint16_t port = 0;
  double ratio = 1.0;
  Duration timeout = 30s;
  std::optional<Duration> maybeTimeout;
  std::vector<std::string> names = {"a", "b"};
  std::vector<Inner> inners;
  std::map<std::string, Inner> named;
  std::optional<Inner> section;
  Inner plain;
  Node raw;
  std::optional<Node> rawSection;
  std::string mode = "fast";

  static void describe(auto& self, auto& v) {
    v("text", self.text);
    v("flag", self.flag);
    v("small", self.small);
    v("big", self.big);
    v("port", self.port);
    v("ratio", self.ratio);
    v("timeout", self.timeout);
    v("maybeTimeout", self.maybeTimeout);
    v("names", self.names);
    v("inners", self.inners);
    v("named", self.named);
    v("section", self.section);
    v("plain", self.plain);
    v("raw", self.raw);
    v("rawSection", self.rawSection);
    v("mode", self.mode, OneOf{"fast", "Slow"});
  }
};

struct Decoded {
  Sample value;
  std::vector<ConfigError> errors;
  std::string errorText() const {
    std::string out;
    for (const ConfigError& e : errors)
      out += e.toString() + "\n";
    return out;
  }
};

Decoded decodeYaml(std::string_view text) {
  ParseResult parsed = parseYaml(text, "t.yml");
  EXPECT_TRUE(parsed.errors.empty());
  Decoded result;
  DecodeContext context;
  decode(parsed.root, result.value, context);
  result.errors = context.takeErrors();
  return result;
}

TEST(Decode, DefaultsWhenAbsent) {
  Decoded d = decodeYaml("");
  EXPECT_TRUE(d.errors.empty());
  EXPECT_EQ(d.value.text, "x");
  EXPECT_EQ(d.value.timeout.value, 30s);
  EXPECT_FALSE(d.value.maybeTimeout);
  EXPECT_EQ(d.value.names, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(d.value.section);
  EXPECT_FALSE(d.value.rawSection);
  EXPECT_TRUE(d.value.raw.isNull());
}

TEST(Decode, ScalarsWithCaseInsensitiveKeys) {
  Decoded d = decodeYaml("TEXT: hello\nFlag: TRUE\nsmall: -7\nbig: 9223372036854775807\n"
                         "port: 8080\nratio: 0.25\ntimeout: 1m30s\nmaybetimeout: 60\nmode: slow\n");
  EXPECT_TRUE(d.errors.empty()) << d.errorText();
  EXPECT_EQ(d.value.text, "hello");
  EXPECT_TRUE(d.value.flag);
  EXPECT_EQ(d.value.small, -7);
  EXPECT_EQ(d.value.big, INT64_MAX);
  EXPECT_EQ(d.value.port, 8080);
  EXPECT_DOUBLE_EQ(d.value.ratio, 0.25);
  EXPECT_EQ(d.value.timeout.value, 90s);
  EXPECT_EQ(d.value.maybeTimeout->value, 60s);
  EXPECT_EQ(d.value.mode, "Slow"); // normalised to the listed spelling
}

TEST(Decode, EmptyValueKeepsDefault) {
  Decoded d = decodeYaml("text:\nsmall:\nnames:\ntimeout:\n");
  EXPECT_TRUE(d.errors.empty()) << d.errorText();
  EXPECT_EQ(d.value.text, "x");
  EXPECT_EQ(d.value.small, 5);
  EXPECT_EQ(d.value.names.size(), 2u);
  EXPECT_EQ(d.value.timeout.value, 30s);
}

TEST(Decode, ScalarErrorsNameWhatWasExpected) {
  Decoded d = decodeYaml("flag: yes\nsmall: 3000000000\nport: -1\nratio: abc\ntimeout: 10x\n"
                         "big: 1.5\nmode: medium\ntext: [a]\n");
  ASSERT_EQ(d.errors.size(), 8u) << d.errorText();
  EXPECT_EQ(d.errors[0].toString(), "t.yml:8:7: text: expected a string; got a list");
  EXPECT_EQ(d.errors[1].toString(),
            "t.yml:1:7: flag: invalid boolean 'yes'; expected true or false");
  EXPECT_EQ(
      d.errors[2].toString(),
      "t.yml:2:8: small: integer '3000000000' out of range; expected -2147483648 to 2147483647");
  EXPECT_EQ(d.errors[3].toString(),
            "t.yml:6:6: big: invalid integer '1.5'; expected a whole number");
  EXPECT_EQ(d.errors[4].toString(),
            "t.yml:3:7: port: invalid integer '-1'; expected a non-negative whole number");
  EXPECT_EQ(d.errors[5].toString(), "t.yml:4:8: ratio: invalid number 'abc'; expected e.g. 0.5");
  EXPECT_EQ(
      d.errors[6].toString(),
      "t.yml:5:10: timeout: invalid duration '10x': unknown unit 'x' (use ns, us, ms, s, m or "
      "h); expected e.g. 10s, 1m30s, 100ms or a number of seconds");
  EXPECT_EQ(d.errors[7].toString(),
            "t.yml:7:7: mode: invalid value 'medium'; expected one of: fast, Slow");
  // Bad values keep their defaults.
  EXPECT_EQ(d.value.small, 5);
  EXPECT_EQ(d.value.timeout.value, 30s);
}

TEST(Decode, UnknownKeyListsExpectedKeys) {
  Decoded d = decodeYaml("plain:\n  nmae: x\n");
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_EQ(d.errors[0].toString(),
            "t.yml:2:3: plain: unknown key 'nmae'; expected one of: name, weight");
}

TEST(Decode, Lists) {
  Decoded d = decodeYaml("names: [x, y]\ninners:\n  - name: a\n  - weight: 3\n");
  EXPECT_TRUE(d.errors.empty()) << d.errorText();
  EXPECT_EQ(d.value.names, (std::vector<std::string>{"x", "y"}));
  ASSERT_EQ(d.value.inners.size(), 2u);
  EXPECT_EQ(d.value.inners[0].name, "a");
  EXPECT_EQ(d.value.inners[1].name, "default");
  EXPECT_EQ(d.value.inners[1].weight, 3);

  d = decodeYaml("names: ' x , y,,z '\n"); // CLI/env style
  EXPECT_EQ(d.value.names, (std::vector<std::string>{"x", "y", "z"}));
  d = decodeYaml("names: single\n");
  EXPECT_EQ(d.value.names, (std::vector<std::string>{"single"}));
  d = decodeYaml("names: {1: second, 0: first}\n"); // indexed map from flags/env
  EXPECT_EQ(d.value.names, (std::vector<std::string>{"first", "second"}));
  d = decodeYaml("names: []\n");
  EXPECT_TRUE(d.value.names.empty());
}

TEST(Decode, ListErrorsHaveIndexes) {
  Decoded d = decodeYaml("inners:\n  - name: a\n  - weight: x\ninners2: 1\n");
  ASSERT_EQ(d.errors.size(), 2u) << d.errorText();
  EXPECT_EQ(d.errors[0].element, "inners[1].weight");
  EXPECT_EQ(d.errors[0].location.line, 3);
  d = decodeYaml("inners: abc\nnames: {a: b}\n");
  ASSERT_EQ(d.errors.size(), 2u) << d.errorText();
  EXPECT_EQ(d.errors[0].message, "expected a list; got a map"); // fields in described order
  EXPECT_EQ(d.errors[1].message, "expected a list; got a value");
}

TEST(Decode, NamedMaps) {
  Decoded d = decodeYaml("named:\n  First: {weight: 2}\n  second:\n");
  EXPECT_TRUE(d.errors.empty()) << d.errorText();
  ASSERT_EQ(d.value.named.size(), 2u);
  EXPECT_EQ(d.value.named["First"].weight, 2);
  EXPECT_EQ(d.value.named["second"].name, "default");
  d = decodeYaml("named: [a]\n");
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_EQ(d.errors[0].message, "expected a map of named entries; got a list");
}

TEST(Decode, OptionalSectionsAndPresenceFlags) {
  EXPECT_TRUE(decodeYaml("section:\n").value.section);
  EXPECT_TRUE(decodeYaml("section: {}\n").value.section);
  EXPECT_TRUE(decodeYaml("section: true\n").value.section);
  EXPECT_TRUE(decodeYaml("section: TRUE\n").value.section);
  EXPECT_FALSE(decodeYaml("section: false\n").value.section);
  Decoded d = decodeYaml("section: {weight: 4}\nplain: true\n");
  EXPECT_TRUE(d.errors.empty()) << d.errorText();
  EXPECT_EQ(d.value.section->weight, 4);
  d = decodeYaml("section: maybe\n");
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_EQ(d.errors[0].message, "expected a map with keys: name, weight; got a value");
}

TEST(Decode, RawNodes) {
  Decoded d = decodeYaml("raw: {anything: [1, 2]}\nrawSection:\n");
  EXPECT_TRUE(d.errors.empty()) << d.errorText();
  EXPECT_EQ(d.value.raw.toString(), "{anything: [1, 2]}");
  ASSERT_TRUE(d.value.rawSection); // present although empty
  EXPECT_TRUE(d.value.rawSection->isNull());
}

TEST(Decode, FromFlagsAndEnvironment) {
  std::vector<ConfigError> errors;
  Node node = nodeFromFlags({"--inners[0].name=a", "--inners[1].weight=2", "--names=p,q",
                             "--section", "--FLAG", "--timeout=5"},
                            errors);
  Sample sample;
  DecodeContext context;
  decode(node, sample, context);
  EXPECT_TRUE(context.errors().empty()) << context.errors().front().toString();
  ASSERT_EQ(sample.inners.size(), 2u);
  EXPECT_EQ(sample.inners[0].name, "a");
  EXPECT_EQ(sample.inners[1].weight, 2);
  EXPECT_EQ(sample.names, (std::vector<std::string>{"p", "q"}));
  EXPECT_TRUE(sample.section);
  EXPECT_TRUE(sample.flag);
  EXPECT_EQ(sample.timeout.value, 5s);

  node = nodeFromEnvironment({"TRAEFIK_SMALL=oops"}, errors);
  DecodeContext envContext;
  decode(node, sample, envContext);
  ASSERT_EQ(envContext.errors().size(), 1u);
  EXPECT_EQ(envContext.errors()[0].toString(),
            "environment TRAEFIK_SMALL: small: invalid integer 'oops'; expected a whole number");
}

TEST(Decode, FieldNames) {
  EXPECT_EQ(fieldNames<Inner>(), (std::vector<std::string_view>{"name", "weight"}));
}

} // namespace
} // namespace causeway::config
