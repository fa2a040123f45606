// Reads one string member of a JSON object's top level without building a document: what
// routing needs from an LLM request (its "model") before any handler has parsed the body.
// The scan skips nested values (strings with escapes, objects, arrays, literals) without
// recursion and reads the whole object; a body that is not a well-formed JSON object (up to
// its closing brace), or holds the member twice or not as a string, yields nothing.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace causeway {

std::optional<std::string> peekTopLevelString(std::string_view json, std::string_view key);

}  // namespace causeway
