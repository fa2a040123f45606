// Parsers from configuration file formats into the generic tree (node.h). They never throw:
// syntax errors come back in ParseResult::errors with the file, line and column.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config_error.h"
#include "config/node.h"

namespace causeway::config {

struct ParseResult {
  Node root; // null for an empty document or when parsing failed
  std::vector<ConfigError> errors;
};

// YAML 1.2 (first document only). Scalars keep their text as written; `key:` with no value,
// `~` and `null` give null nodes; merge keys (`<<: *anchor`) are applied. Keys that differ only
// in case are reported (warning) and the later one wins. `sourceName` names the text in
// locations (usually the file path).
ParseResult parseYaml(std::string_view text, const std::string& sourceName);

// TOML 1.0. Integers, floats, booleans and dates become scalars with their canonical text; map
// entries keep their document order.
ParseResult parseToml(std::string_view text, const std::string& sourceName);

// A dynamic configuration sent as text, JSON or YAML (the REST and HTTP providers): `out` is the
// map (an empty document is an empty map) and `warnings` the parser's warnings; false with
// `error` when the text does not parse (the error with its line and column) or is not a map.
bool parseDynamicText(std::string_view text, const std::string& sourceName, Node& out,
                      std::vector<ConfigError>& warnings, std::string& error);

// Reads a file and parses it by extension: .yml / .yaml / .toml (case-insensitive). Another
// extension, an unreadable file or one larger than 64 MiB is an error. With `templated` (the
// file provider's dynamic files), the text is rendered as a Go template first
// (config/go_template.h), as Traefik's file provider does; a template error is the file's
// error at its line.
struct TemplateOptions {
  std::string* generated = nullptr;  // receives the rendered text when rendering changed it
};
ParseResult parseConfigFile(const std::string& path, const TemplateOptions* templated = nullptr);

} // namespace causeway::config
