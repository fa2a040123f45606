#include "whoami/websocket.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

namespace causeway::whoami {

std::string websocketAccept(std::string_view key) {
  std::string input(key);
  input += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  unsigned char encoded[64];
  int n = EVP_EncodeBlock(encoded, digest, SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<char*>(encoded), size_t(n));
}

size_t parseFrame(std::string_view input, Frame& frame, bool& error, size_t maxPayload) {
  error = false;
  if (input.size() < 2) return 0;
  auto byte = [&](size_t i) { return uint8_t(input[i]); };
  frame.fin = byte(0) & 0x80;
  frame.opcode = byte(0) & 0x0f;
  if (byte(0) & 0x70) {
    error = true;  // no extensions negotiated
    return 0;
  }
  bool masked = byte(1) & 0x80;
  if (!masked) {
    error = true;  // client frames must be masked
    return 0;
  }
  uint64_t length = byte(1) & 0x7f;
  size_t at = 2;
  if (length == 126) {
    if (input.size() < 4) return 0;
    length = (uint64_t(byte(2)) << 8) | byte(3);
    at = 4;
  } else if (length == 127) {
    if (input.size() < 10) return 0;
    length = 0;
    for (int i = 0; i < 8; ++i) length = (length << 8) | byte(2 + size_t(i));
    at = 10;
  }
  if (length > maxPayload) {
    error = true;
    return 0;
  }
  if (input.size() < at + 4 + length) return 0;
  uint8_t mask[4] = {byte(at), byte(at + 1), byte(at + 2), byte(at + 3)};
  at += 4;
  frame.payload.resize(size_t(length));
  for (size_t i = 0; i < length; ++i) frame.payload[i] = char(byte(at + i) ^ mask[i % 4]);
  return at + size_t(length);
}

std::string encodeFrame(uint8_t opcode, std::string_view payload, bool fin) {
  std::string out;
  out.push_back(char((fin ? 0x80 : 0) | (opcode & 0x0f)));
  if (payload.size() < 126) {
    out.push_back(char(payload.size()));
  } else if (payload.size() <= 0xffff) {
    out.push_back(char(126));
    out.push_back(char(payload.size() >> 8));
    out.push_back(char(payload.size() & 0xff));
  } else {
    out.push_back(char(127));
    for (int i = 7; i >= 0; --i) out.push_back(char((uint64_t(payload.size()) >> (8 * i)) & 0xff));
  }
  out.append(payload);
  return out;
}

}  // namespace causeway::whoami
