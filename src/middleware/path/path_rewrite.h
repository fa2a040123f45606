// What the path middlewares (addPrefix, replacePath, replacePathRegex, stripPrefix,
// stripPrefixRegex) share: setting the request's path after a rewrite, and stripping a prefix
// that matched the decoded path.
#pragma once

#include <string_view>

#include "exchange/exchange.h"

namespace causeway::middleware::path {

// Makes `escaped` (arena or snapshot storage) the request's path: what is forwarded, the raw
// path, and the path later rules and middlewares see.
void setPath(exchange::Exchange& ex, std::string_view escaped);

// Removes `prefix`, which matched the start of the decoded path, from the escaped path
// (each %XX counting as one decoded byte), re-normalizes the rest as Traefik does and sets
// it. False after answering 400 when the rest would change under normalization.
bool stripDecodedPrefix(exchange::Exchange& ex, std::string_view prefix);

}  // namespace causeway::middleware::path
