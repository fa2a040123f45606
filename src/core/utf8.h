// UTF-8 validation (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF), fast
// on ASCII: eight bytes are checked at once while no byte has its high bit set. Used where a
// JSON parser's own per-byte validation would dominate the cost of a large body (the AI
// gateway parses with boost::json's allow_invalid_utf8 after this check).
#pragma once

#include <string_view>

namespace causeway {

bool validUtf8(std::string_view text);

}  // namespace causeway
