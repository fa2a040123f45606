// libFuzzer target for the rule language: compiles the input as a v3 and as a v2 rule, HTTP
// and TCP (HostSNI, ClientIP, ALPN); a rule that compiles is matched against fixed requests, and its host index is checked against
// what it matches (a match outside the index would make the route table skip a router).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "router/route_table.h"
#include "router/rule.h"

namespace {

using causeway::router::CompiledRulePtr;
using causeway::router::MatchInput;
using causeway::router::RuleError;
using causeway::router::RuleSyntax;

struct Fixture {
  causeway::http::Headers headers;
  causeway::net::IpAddress v4 = *causeway::net::IpAddress::parse("10.1.2.3");
  causeway::net::IpAddress v6 = *causeway::net::IpAddress::parse("2001:db8::1");
  MatchInput full;
  MatchInput bare;
  std::vector<std::string> alpn{"h2", "http/1.1"};

  Fixture() {
    headers.add("X-Forwarded-Proto", "https");
    headers.add("Content-Type", "application/json");
    headers.add("x-forwarded-proto", "http");
    full.host = "a.example.com";
    full.path = "/api/v1/users";
    full.method = "GET";
    full.rawQuery = "a=1&b=%20x+y&mobile&c=%zz;&d=";
    full.headers = &headers;
    full.clientIp = &v4;
    full.alpn = &alpn;
    bare.method = "post";
    bare.path = "/";
    bare.rawQuery = "%zz=1&=";
    bare.clientIp = &v6;
  }
};

// True when `host` is covered by the rule's host index (or the rule has none).
bool indexCovers(const CompiledRulePtr& rule, std::string_view host) {
  const auto& index = rule->hostIndex();
  if (!index) return true;
  size_t dot = host.find('.');
  for (const std::string& entry : *index) {
    if (entry == host) return true;
    if (entry.starts_with("*.") && dot != std::string_view::npos &&
        std::string_view(entry).substr(2) == host.substr(dot + 1))
      return true;
  }
  return false;
}

void check(const CompiledRulePtr& rule, const MatchInput& input) {
  bool matched = rule->matches(input);
  if (matched && !indexCovers(rule, input.host)) std::abort();
  causeway::router::RouteTable<int> table;
  table.add(rule, 1, "fuzz", 7);
  table.build();
  if ((table.match(input) != nullptr) != matched) std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  static const Fixture fixture;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (int kind = 0; kind < 4; ++kind) {
    RuleSyntax syntax = kind % 2 == 0 ? RuleSyntax::V3 : RuleSyntax::V2;
    auto result = kind < 2 ? causeway::router::compileRule(text, syntax) : causeway::router::compileTcpRule(text, syntax);
    if (auto* error = std::get_if<RuleError>(&result)) {
      if (error->offset > size || error->message.empty()) std::abort();
      (void)error->describe(text);
      continue;
    }
    const CompiledRulePtr& rule = std::get<CompiledRulePtr>(result);
    if (rule->text() != text) std::abort();
    check(rule, fixture.full);
    check(rule, fixture.bare);
    // A request for one of the indexed hosts exercises the host matchers' positive path.
    if (const auto& index = rule->hostIndex(); index && !index->empty()) {
      std::string host = index->front();
      if (host.starts_with("*.")) host[0] = 'x';
      MatchInput input = fixture.full;
      input.host = host;
      check(rule, input);
    }
  }
  return 0;
}
