#include "router/mux_template.h"

#include <re2/re2.h>

namespace causeway::router::detail {

namespace {

std::string_view defaultPattern(MuxTemplateKind kind) {
  switch (kind) {
  case MuxTemplateKind::Host:
    return "[^.]+";
  case MuxTemplateKind::Query:
    return ".*";
  case MuxTemplateKind::Path:
  case MuxTemplateKind::PathPrefix:
    return "[^/]+";
  }
  return "[^/]+";
}

std::string quote(std::string_view literal) {
  return re2::RE2::QuoteMeta(re2::StringPiece(literal.data(), literal.size()));
}

} // namespace

bool hasMuxPlaceholders(std::string_view tpl) {
  return tpl.find_first_of("{}") != std::string_view::npos;
}

std::optional<MuxTemplate> buildMuxTemplate(std::string_view tpl, MuxTemplateKind kind,
                                            std::string& error) {
  // First-level brace pairs; nested braces (a `{2,3}` repeat inside a placeholder) are part
  // of the placeholder.
  std::vector<std::pair<size_t, size_t>> placeholders; // [open, close]
  int level = 0;
  size_t open = 0;
  for (size_t i = 0; i < tpl.size(); ++i) {
    if (tpl[i] == '{') {
      if (++level == 1) open = i;
    } else if (tpl[i] == '}') {
      if (--level == 0) {
        placeholders.emplace_back(open, i);
      } else if (level < 0) {
        error = "unbalanced braces in template";
        return std::nullopt;
      }
    }
  }
  if (level != 0) {
    error = "unbalanced braces in template";
    return std::nullopt;
  }

  MuxTemplate result;
  if (kind == MuxTemplateKind::Host) result.pattern = "(?i)";
  result.pattern.push_back('^');
  size_t end = 0;
  for (auto [first, last] : placeholders) {
    result.pattern += quote(tpl.substr(end, first - end));
    std::string_view inner = tpl.substr(first + 1, last - first - 1);
    size_t colon = inner.find(':');
    std::string_view name = inner.substr(0, colon);
    std::string_view pattern =
        colon == std::string_view::npos ? defaultPattern(kind) : inner.substr(colon + 1);
    if (name.empty() || pattern.empty()) {
      error = "missing name or pattern in placeholder " +
              std::string(tpl.substr(first, last - first + 1));
      return std::nullopt;
    }
    result.pattern += "(?:";
    result.pattern += pattern;
    result.pattern += ')';
    result.variables.emplace_back(name);
    end = last + 1;
  }
  result.pattern += quote(tpl.substr(end));
  if (kind == MuxTemplateKind::Query) {
    size_t eq = tpl.find('=');
    if (eq == std::string_view::npos || eq + 1 == tpl.size())
      result.pattern += defaultPattern(kind);
  }
  if (kind != MuxTemplateKind::PathPrefix) result.pattern.push_back('$');
  return result;
}

} // namespace causeway::router::detail
