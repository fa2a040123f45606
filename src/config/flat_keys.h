// Flat key paths (CLI flags, environment variables) → the generic tree.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "config/config_error.h"
#include "config/node.h"
#include "config/static_keys.h"

namespace causeway::config {

// Builds a map tree from flags as Traefik's flag parser reads them: "--entryPoints.web.address=:8080"
// or "-entryPoints.web.address=:8080" sets entryPoints.web.address; without "=", a flag whose
// `kindOf` is Bool or Section means "true" ("--api") and any other flag takes the next argument
// as its value ("--log.level DEBUG"); a List flag given twice collects both values ("a,b").
// "--a.domains[0].main=x" addresses list item 0 (stored as a map key "0"; the decoder reads maps
// whose keys are all indexes as lists). Values are kept as text (comma-separated lists are split
// by the decoder). "--" ends the flags. Other arguments, malformed paths and a value-taking flag
// at the end are reported in `errors` and skipped. Later flags win; a bare "true" on a key that
// other flags configure as a section keeps that section. `args` are the arguments after the
// program name and sub-command. Returns a map (maybe empty).
using FlagKindFn = std::function<FlagKind(std::span<const std::string>)>;

// Sets root[segments...] = value (segments not empty), creating maps on the way: what flags,
// environment variables and KV keys have in common. A scalar met on the way (e.g. "true" from
// "--api") becomes a map; a bare "true" landing on an existing map keeps the map.
void setPath(Node& root, const std::vector<std::string>& segments, const std::string& value,
             const Location& location);

// "entryPoints.web.http.tls.domains[0].main" → entryPoints, web, http, tls, domains, 0, main:
// the paths of flags and Docker labels. Nullopt with `error` on an empty segment or a malformed
// index.
std::optional<std::vector<std::string>> splitDottedPath(std::string_view path, std::string& error);

Node nodeFromFlags(const std::vector<std::string>& args, std::vector<ConfigError>& errors,
                   const FlagKindFn& kindOf = {});

// Builds a map tree from "NAME=value" strings: CAUSEWAY_ENTRYPOINTS_WEB_ADDRESS and
// TRAEFIK_ENTRYPOINTS_WEB_ADDRESS both set entrypoints.web.address (prefix matched ignoring case,
// the rest split on '_' and lower-cased; the decoder matches keys case-insensitively). A numeric
// segment addresses a list item (…_TRUSTEDIPS_0=1.2.3.4). CAUSEWAY_ variables win over TRAEFIK_
// ones for the same key, whatever their order. Other variables are ignored. Returns a map.
Node nodeFromEnvironment(const std::vector<std::string>& environ, std::vector<ConfigError>& errors);

} // namespace causeway::config
