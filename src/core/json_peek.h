// Reads one string member of a JSON object's top level without building a document: what
// routing needs from an LLM request (its "model") before any handler has parsed the body.
// The scan skips nested values (strings with escapes, objects, arrays, literals) without
// recursion and stops at the member; a body that is not a JSON object, or is malformed before
// the member, yields nothing.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace causeway {

std::optional<std::string> peekTopLevelString(std::string_view json, std::string_view key);

}  // namespace causeway
