// The deprecated v2 matchers (Traefik pkg/muxer/http/matcher_v2.go, built on gorilla/mux):
// every matcher takes one or more values; Host/HostRegexp/Path/PathPrefix/Query values are
// gorilla/mux templates where applicable.

#include <algorithm>
#include <array>
#include <map>
#include <re2/re2.h>

#include "core/strings.h"
#include "router/go_regexp.h"
#include "router/matcher_factory.h"
#include "router/mux_template.h"

namespace causeway::router::detail {

namespace {

using BuildResult = std::variant<uint32_t, RuleError>;

// Compiles a gorilla/mux template into `matcher.regex`.
std::optional<RuleError> compileTemplate(std::string_view tpl, size_t offset, MuxTemplateKind kind,
                                         std::string_view name, Matcher& matcher,
                                         std::vector<std::string>* variables = nullptr) {
  std::string error;
  std::optional<MuxTemplate> built = buildMuxTemplate(tpl, kind, error);
  if (built) matcher.more().regex = compileGoRegex(built->pattern, error);
  if (!built || !matcher.extra->regex)
    return RuleError{offset, "invalid template in " + std::string(name) + ": " + error};
  if (variables) *variables = std::move(built->variables);
  return std::nullopt;
}

// Builds one leaf per argument with `one` and combines them with `op`.
template <class One>
BuildResult eachArgument(const RuleCall& call, MatcherSink sink, Op op, One one) {
  std::vector<uint32_t> nodes;
  for (const RuleArgument& arg : call.args) {
    Matcher m;
    if (auto error = one(arg, m)) return *error;
    nodes.push_back(sink.program.addLeaf(std::move(m)));
  }
  return sink.program.addList(op, nodes);
}

BuildResult buildHost(const RuleCall& call, MatcherSink sink, bool literalHost) {
  return eachArgument(call, sink, Op::Or, [&](const RuleArgument& arg, Matcher& m) {
    if (auto error = checkAsciiHost(arg, "Host")) return error;
    m.kind = MatcherKind::HostExact;
    m.value = toLower(arg.value);
    if (m.value.ends_with('.')) m.value.pop_back();
    if (literalHost) sink.hosts.push_back(m.value);  // as matched (docs/security.md, T08)
    return std::optional<RuleError>();
  });
}

BuildResult buildHostRule(const RuleCall& call, MatcherSink sink) {
  return buildHost(call, sink, true);
}
BuildResult buildHostHeader(const RuleCall& call, MatcherSink sink) {
  return buildHost(call, sink, false);
}

BuildResult buildHostRegexp(const RuleCall& call, MatcherSink sink) {
  return eachArgument(call, sink, Op::Or, [&](const RuleArgument& arg, Matcher& m) {
    if (auto error = checkAsciiHost(arg, "HostRegexp")) return error;
    m.kind = MatcherKind::HostPattern;
    return compileTemplate(arg.value, arg.offset, MuxTemplateKind::Host, "HostRegexp", m);
  });
}

BuildResult buildPathLike(const RuleCall& call, MatcherSink sink, bool prefix) {
  std::string_view name = prefix ? "PathPrefix" : "Path";
  return eachArgument(call, sink, Op::Or, [&](const RuleArgument& arg, Matcher& m) {
    if (auto error = checkPathArgument(arg, name)) return error;
    if (!hasMuxPlaceholders(arg.value)) {
      m.kind = prefix ? MatcherKind::PathPrefix : MatcherKind::Path;
      m.value = arg.value;
      return std::optional<RuleError>();
    }
    m.kind = MatcherKind::PathPattern;
    return compileTemplate(arg.value, arg.offset,
                           prefix ? MuxTemplateKind::PathPrefix : MuxTemplateKind::Path, name, m);
  });
}

BuildResult buildPath(const RuleCall& call, MatcherSink sink) {
  return buildPathLike(call, sink, false);
}
BuildResult buildPathPrefix(const RuleCall& call, MatcherSink sink) {
  return buildPathLike(call, sink, true);
}

BuildResult buildMethod(const RuleCall& call, MatcherSink sink) {
  return eachArgument(call, sink, Op::Or, [](const RuleArgument& arg, Matcher& m) {
    m.kind = MatcherKind::Method;
    m.value = arg.value;
    for (char& c : m.value)
      c = asciiUpper(c);
    return std::optional<RuleError>();
  });
}

BuildResult buildClientIp(const RuleCall& call, MatcherSink sink) {
  return eachArgument(call, sink, Op::Or, [](const RuleArgument& arg, Matcher& m) {
    return parseClientIpArgument(arg, m);
  });
}

// Headers / HeadersRegexp: key/value pairs that must all match. gorilla/mux keeps them in a
// map keyed by the name as written, so a repeated name keeps its last value.
BuildResult buildHeaderPairs(const RuleCall& call, MatcherSink sink, bool regexp) {
  std::string_view name = regexp ? "HeadersRegexp" : "Headers";
  if (call.args.size() % 2 != 0)
    return RuleError{call.args.back().offset,
                     std::string(name) +
                         " expects name/value pairs, got an odd number of arguments"};
  std::map<std::string_view, const RuleArgument*> lastValue;
  for (size_t i = 0; i < call.args.size(); i += 2)
    lastValue[call.args[i].value] = &call.args[i + 1];
  std::vector<uint32_t> nodes;
  for (const auto& [key, valueArg] : lastValue) {
    Matcher m;
    m.more().key = key;
    if (regexp) {
      if (auto error = compileRegexArgument(*valueArg, name, m)) return *error;
      m.kind = MatcherKind::HeaderPattern;
    } else {
      m.kind = MatcherKind::Header;
      m.value = valueArg->value;
    }
    nodes.push_back(sink.program.addLeaf(std::move(m)));
  }
  return sink.program.addList(Op::And, nodes);
}

BuildResult buildHeaders(const RuleCall& call, MatcherSink sink) {
  return buildHeaderPairs(call, sink, false);
}
BuildResult buildHeadersRegexp(const RuleCall& call, MatcherSink sink) {
  return buildHeaderPairs(call, sink, true);
}

// Query(`k=v`, ...): each argument is split at its first '='; the pieces, taken two by two,
// are gorilla/mux query templates "key=value" that must all match.
BuildResult buildQuery(const RuleCall& call, MatcherSink sink) {
  struct Piece {
    std::string_view text;
    size_t offset;
  };
  std::vector<Piece> pieces;
  for (const RuleArgument& arg : call.args) {
    size_t eq = arg.value.find('=');
    pieces.push_back({std::string_view(arg.value).substr(0, eq), arg.offset});
    if (eq != std::string::npos)
      pieces.push_back({std::string_view(arg.value).substr(eq + 1), arg.offset});
  }
  if (pieces.size() % 2 != 0)
    return RuleError{call.args.back().offset,
                     "Query expects key=value arguments, got an odd number of keys and values"};
  std::vector<uint32_t> nodes;
  std::vector<std::string> seenVariables;
  for (size_t i = 0; i < pieces.size(); i += 2) {
    std::string tpl = std::string(pieces[i].text) + "=" + std::string(pieces[i + 1].text);
    Matcher m;
    m.kind = MatcherKind::QueryTemplate;
    m.more().key = tpl.substr(0, tpl.find('='));
    std::vector<std::string> variables;
    if (auto error =
            compileTemplate(tpl, pieces[i].offset, MuxTemplateKind::Query, "Query", m, &variables))
      return *error;
    for (auto& variable : variables) {
      if (std::find(seenVariables.begin(), seenVariables.end(), variable) != seenVariables.end())
        return RuleError{pieces[i].offset,
                         "duplicated template variable " + variable + " in Query"};
      seenVariables.push_back(std::move(variable));
    }
    nodes.push_back(sink.program.addLeaf(std::move(m)));
  }
  return sink.program.addList(Op::And, nodes);
}

struct Spec {
  std::string_view name;
  BuildResult (*build)(const RuleCall&, MatcherSink);
};

constexpr std::array<Spec, 10> kSpecs = {{
    {"Host", buildHostRule},
    {"HostHeader", buildHostHeader},
    {"HostRegexp", buildHostRegexp},
    {"ClientIP", buildClientIp},
    {"Path", buildPath},
    {"PathPrefix", buildPathPrefix},
    {"Method", buildMethod},
    {"Headers", buildHeaders},
    {"HeadersRegexp", buildHeadersRegexp},
    {"Query", buildQuery},
}};

} // namespace

std::variant<uint32_t, RuleError> buildMatcherV2(const RuleCall& call, MatcherSink sink) {
  for (const Spec& spec : kSpecs) {
    if (!isMatcherSpelling(call.name, spec.name)) continue;
    if (call.args.empty())
      return RuleError{call.closeOffset, std::string(spec.name) + " expects at least 1 argument"};
    if (auto error = checkNoEmptyArgument(call, spec.name)) return *error;
    return spec.build(call, sink);
  }
  return unknownMatcherError(call, RuleSyntax::V2);
}

} // namespace causeway::router::detail
