// The few pieces of RFC 6455 the whoami echo endpoint needs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace causeway::whoami {

// Sec-WebSocket-Accept for a client's Sec-WebSocket-Key (SHA-1 + base64).
std::string websocketAccept(std::string_view key);

struct Frame {
  bool fin = true;
  uint8_t opcode = 0;  // 1 text, 2 binary, 8 close, 9 ping, 10 pong
  std::string payload;
};

// Parses one client frame from the front of `input` (masking removed). Returns the bytes
// consumed, 0 if more input is needed; sets `error` for protocol errors.
size_t parseFrame(std::string_view input, Frame& frame, bool& error, size_t maxPayload);

// Serializes a server frame (unmasked).
std::string encodeFrame(uint8_t opcode, std::string_view payload, bool fin = true);

}  // namespace causeway::whoami
