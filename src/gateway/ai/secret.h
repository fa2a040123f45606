// Provider keys are configured as references, never as literal values, so that the
// configuration (which the API and dashboard show) holds no secret:
//   env:NAME        the environment variable NAME of the causeway process
//   file:/path      the file's content, without a trailing newline (a mounted secret)
// The value is read when the middleware is built: at start, and when its configuration
// changes. A rotated key needs a change to the middleware (or a restart) to be read again.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace causeway::gateway::ai {

// The secret `reference` names, or nullopt with `error` saying why (unknown form, unset
// variable, unreadable or empty file).
std::optional<std::string> resolveSecret(std::string_view reference, std::string& error);

}  // namespace causeway::gateway::ai
