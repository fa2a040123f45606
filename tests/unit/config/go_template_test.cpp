// Go's text/template and the Sprig functions (config/go_template.h), with results as Go gives
// them for the same templates.
#include <gtest/gtest.h>

#include <cstdlib>

#include "config/go_template.h"

namespace causeway::config::gotemplate {
namespace {

std::string run(std::string_view text, const Value& data = {}, const Functions* extra = nullptr) {
  std::string out;
  Error error;
  EXPECT_TRUE(render(text, data, out, error, extra)) << error.line << ": " << error.message;
  return out;
}

Error failure(std::string_view text, const Value& data = {}) {
  std::string out;
  Error error;
  EXPECT_FALSE(render(text, data, out, error)) << out;
  return error;
}

TEST(GoTemplate, TextFieldsAndTrimMarkers) {
  Value data = Value::Map{{"Name", "web"}, {"Labels", Value::Map{{"app", "shop"}}}};
  EXPECT_EQ(run("plain text"), "plain text");
  EXPECT_EQ(run("Host(`{{ .Name }}.{{ .Labels.app }}`)", data), "Host(`web.shop`)");
  EXPECT_EQ(run("a  {{- .Name -}}  b", data), "aweb" "b");
  EXPECT_EQ(run("x{{/* a comment */}}y"), "xy");
  EXPECT_EQ(run("{{ .Missing }}", data), "<no value>");
  EXPECT_EQ(run("{{ . }}"), "<no value>");
  EXPECT_EQ(run("{{ `raw \\n` }} {{ \"q\\t\" }}"), "raw \\n q\t");
}

TEST(GoTemplate, ControlStructuresAndVariables) {
  Value data = Value::Map{{"List", Value::List{"a", "b"}}, {"Map", Value::Map{{"y", 2}, {"x", 1}}}};
  EXPECT_EQ(run("{{ range .List }}[{{ . }}]{{ end }}", data), "[a][b]");
  EXPECT_EQ(run("{{ range $i, $e := .List }}{{ $i }}={{ $e }};{{ end }}", data), "0=a;1=b;");
  EXPECT_EQ(run("{{ range $k, $v := .Map }}{{ $k }}{{ $v }}{{ end }}", data), "x1y2");  // key order
  EXPECT_EQ(run("{{ range 3 }}{{ . }}{{ end }}"), "012");
  EXPECT_EQ(run("{{ range .None }}x{{ else }}empty{{ end }}", data), "empty");
  EXPECT_EQ(run("{{ if eq 1 2 }}a{{ else if eq 2 2 }}b{{ else }}c{{ end }}"), "b");
  EXPECT_EQ(run("{{ with .Map.x }}{{ . }}{{ else }}none{{ end }}", data), "1");
  EXPECT_EQ(run("{{ $x := 5 }}{{ $x = add $x 1 }}{{ $x }}"), "6");
  EXPECT_EQ(run("{{ range .List }}{{ $.Map.x }}{{ end }}", data), "11");
  EXPECT_EQ(run("{{ if and (gt 3 1) (not false) }}yes{{ end }}"), "yes");
  // and/or stop at the deciding argument (Go 1.18+): the index is never evaluated.
  EXPECT_EQ(run("{{ if and false (index .List 9) }}x{{ else }}short{{ end }}", data), "short");
  EXPECT_EQ(run("{{ or 0 \"\" \"b\" (index .List 9) }}", data), "b");
  EXPECT_EQ(run("{{ div -9223372036854775807 -1 }} {{ mod 7 -1 }} {{ div 7 2 }}"), "9223372036854775807 0 3");
  EXPECT_EQ(run("{{ len .List }} {{ index .List 1 }} {{ index .Map \"y\" }}", data), "2 b 2");
}

TEST(GoTemplate, PipelinesPrintAndSprig) {
  setenv("CW_TEMPLATE_TEST", "from-env", 1);
  EXPECT_EQ(run("{{ env \"CW_TEMPLATE_TEST\" }}"), "from-env");
  EXPECT_EQ(run("{{ env \"CW_TEMPLATE_UNSET\" | default \"fallback\" }}"), "fallback");
  EXPECT_EQ(run("{{ \"a,b,c\" | splitList \",\" | join \"-\" }}"), "a-b-c");
  EXPECT_EQ(run("{{ range $i := until 3 }}{{ $i }}{{ end }}"), "012");
  // range with `=` assigns variables declared before it (Go 1.22); undeclared ones are an
  // error, not a read past the variable list (found by fuzz_go_template).
  EXPECT_EQ(run("{{ $e := 9 }}{{ range $e = until 3 }}{{ end }}{{ $e }}"), "2");
  EXPECT_EQ(failure("{{ range $k, $e = until 2 }}{{ $e }}{{ end }}").message, "undefined variable: $k");
  // A float beyond int64 (found by fuzz_go_template) is Go's smallest int64, not undefined.
  EXPECT_EQ(run("{{ range $i := until 5e300 }}{{ $i }}{{ end }}"), "");
  EXPECT_EQ(run("{{ printf \"%s-%03d-%v\" \"x\" 7 true }}"), "x-007-true");
  EXPECT_EQ(run("{{ quote \"a\" }} {{ squote \"b\" }} {{ \"  t \" | trim }}"), "\"a\" 'b' t");
  EXPECT_EQ(run("{{ upper \"ab\" }}{{ lower \"CD\" }}{{ replace \"a\" \"b\" \"aXa\" }}"), "ABcdbXb");
  EXPECT_EQ(run("{{ list 1 \"a\" }} {{ dict \"k\" 1 }}"), "[1 a] map[k:1]");
  EXPECT_EQ(run("{{ print 1 2 \"x\" 3 }}"), "1 2x3");
  EXPECT_EQ(run("{{ ternary \"y\" \"n\" (hasPrefix \"ab\" \"abc\") }}"), "y");
  EXPECT_EQ(run("{{ regexReplaceAll \"a(x*)b\" \"-ab-axxb-\" \"${1}W\" }}"), "-W-xxW-");
  EXPECT_EQ(run("{{ \"x\" | b64enc }} {{ toJson (dict \"a\" (list 1 \"b\")) }}"), "eA== {\"a\":[1,\"b\"]}");
  EXPECT_EQ(run("{{ nindent 2 \"a\\nb\" }}"), "\n  a\n  b");
  EXPECT_EQ(run("{{ urlquery \"a b&c/\" }}"), "a+b%26c%2F");
}

TEST(GoTemplate, ExtraFunctions) {
  Functions extra{{"normalize", [](const std::vector<Value>& a, Value& r, std::string&) {
                     std::string s = a.empty() ? "" : *a[0].string();
                     for (char& c : s) if (!std::isalnum(static_cast<unsigned char>(c))) c = '-';
                     r = s;
                     return true;
                   }}};
  EXPECT_EQ(run("Host(`{{ normalize .Name }}`)", Value::Map{{"Name", "my_app.1"}}, &extra), "Host(`my-app-1`)");
}

TEST(GoTemplate, ErrorsNameTheLine) {
  Error e = failure("line one\n\n{{ nosuch 1 }}");
  EXPECT_EQ(e.line, 3);
  EXPECT_NE(e.message.find("function \"nosuch\" not defined"), std::string::npos) << e.message;
  e = failure("a\n{{ if true }}never closed");
  EXPECT_NE(e.message.find("{{end}}"), std::string::npos) << e.message;
  e = failure("{{ .Name");
  EXPECT_EQ(e.line, 1);
  e = failure("{{ define \"x\" }}{{ end }}");
  EXPECT_NE(e.message.find("not supported"), std::string::npos);
  e = failure("{{ \"x\" | 1 }}");
  EXPECT_NE(e.message.find("non-function"), std::string::npos);
  e = failure("{{ until 100000000 }}");
  EXPECT_NE(e.message.find("more than"), std::string::npos);
  e = failure("{{ required \"NAME must be set\" (env \"CW_TEMPLATE_UNSET\") }}");
  EXPECT_NE(e.message.find("NAME must be set"), std::string::npos);
  e = failure("{{ $l := list }}{{ range until 1000 }}{{ $l = list $l }}{{ end }}");
  EXPECT_NE(e.message.find("nested more than 100 deep"), std::string::npos) << e.message;
  e = failure("{{ range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}");
  EXPECT_NE(e.message.find("10 million steps"), std::string::npos) << e.message;
  e = failure("{{ $s := repeat 1000000 \"x\" }}{{ range until 1000 }}{{ $s = printf \"%s%s\" $s \"y\" }}{{ end }}");
  EXPECT_NE(e.message.find("256 MiB"), std::string::npos) << e.message;
  e = failure("{{ end }}");
  EXPECT_NE(e.message.find("unexpected"), std::string::npos);
}

}  // namespace
}  // namespace causeway::config::gotemplate
