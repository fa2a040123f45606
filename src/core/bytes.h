// Byte helpers: base64 as Go's encoding/base64 writes and reads it, lower-case hex,
// comparison in constant time and random bytes from the kernel's CSPRNG.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace causeway {

std::string base64Encode(std::string_view data, bool pad = true);
// Strict standard base64 with padding (Go's base64.StdEncoding.DecodeString, which also
// skips CR and LF); false on malformed input.
bool base64Decode(std::string_view text, std::string& out);
// URL-safe base64 without padding (RFC 4648 §5: '-' and '_'), as tokens and cursors carry it.
// The decoder refuses '+', '/' and '=', and any spelling but the one the encoder writes (the
// spare bits of the last character must be zero), so that a token has one spelling.
std::string base64UrlEncode(std::string_view data);
bool base64UrlDecode(std::string_view text, std::string& out);

// Compares in time that depends only on the lengths.
bool constantTimeEquals(std::string_view a, std::string_view b);

// `n` random bytes from the kernel (getrandom).
std::string randomBytes(size_t n);

// Lower-case hex of `data`.
std::string hexEncode(std::string_view data);
// The bytes of hex digits (either case); nullopt when `hex` is not an even number of them.
std::optional<std::string> hexDecode(std::string_view hex);

}  // namespace causeway
