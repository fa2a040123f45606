#include "gateway/mcp/session_token.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <memory>

#include "core/bytes.h"

namespace causeway::gateway::mcp {
namespace {

constexpr std::string_view kPrefix = "cw1.";
constexpr size_t kNonce = 12;
constexpr size_t kTag = 16;
constexpr size_t kMaxToken = 16384;
constexpr int kIterations = 20000;

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

}  // namespace

SessionSealer::SessionSealer(std::string_view secret) {
  if (secret.empty()) {
    std::string random = randomBytes(key_.size());
    std::copy(random.begin(), random.end(), key_.begin());
    return;
  }
  // A stretched key: whoever holds a session id can test guesses at the secret offline against
  // its tag, so each guess must cost (PBKDF2-SHA256, kIterations rounds, once per configuration).
  constexpr std::string_view kSalt = "causeway mcp session ids";
  if (PKCS5_PBKDF2_HMAC(secret.data(), int(secret.size()),
                        reinterpret_cast<const unsigned char*>(kSalt.data()), int(kSalt.size()),
                        kIterations, EVP_sha256(), int(key_.size()), key_.data()) != 1) {
    std::string material(kSalt);
    material.push_back('\n');
    material.append(secret);
    SHA256(reinterpret_cast<const unsigned char*>(material.data()), material.size(), key_.data());
  }
}

std::string SessionSealer::seal(std::string_view serverUrl, std::string_view upstreamId) const {
  std::string plain;
  plain.reserve(serverUrl.size() + 1 + upstreamId.size());
  plain.append(serverUrl).push_back('\0');
  plain.append(upstreamId);
  return sealText(plain);
}

std::optional<SessionTarget> SessionSealer::open(std::string_view token) const {
  std::optional<std::string> plain = openText(token);
  if (!plain) return std::nullopt;
  size_t zero = plain->find('\0');
  if (zero == std::string::npos) return std::nullopt;
  return SessionTarget{plain->substr(0, zero), plain->substr(zero + 1)};
}

std::string SessionSealer::sealText(std::string_view plain) const {
  std::string raw = randomBytes(kNonce);
  raw.resize(kNonce + plain.size() + kTag);
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  bool ok = ctx &&
            EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), out) == 1 &&
            EVP_EncryptUpdate(ctx.get(), out + kNonce, &len,
                              reinterpret_cast<const unsigned char*>(plain.data()),
                              int(plain.size())) == 1 &&
            EVP_EncryptFinal_ex(ctx.get(), out + kNonce + len, &len) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, int(kTag),
                                out + kNonce + plain.size()) == 1;
  if (!ok) return {};
  return std::string(kPrefix) + base64UrlEncode(raw);
}

std::optional<std::string> SessionSealer::openText(std::string_view token) const {
  if (token.size() > kMaxToken || token.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::string raw;
  if (!base64UrlDecode(token.substr(kPrefix.size()), raw) || raw.size() < kNonce + kTag + 1)
    return std::nullopt;
  const auto* in = reinterpret_cast<const unsigned char*>(raw.data());
  size_t cipherLen = raw.size() - kNonce - kTag;
  std::string plain(cipherLen, '\0');
  auto* out = reinterpret_cast<unsigned char*>(plain.data());
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  bool ok = ctx &&
            EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), in) == 1 &&
            EVP_DecryptUpdate(ctx.get(), out, &len, in + kNonce, int(cipherLen)) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, int(kTag),
                                const_cast<unsigned char*>(in + kNonce + cipherLen)) == 1 &&
            EVP_DecryptFinal_ex(ctx.get(), out + len, &len) == 1;
  if (!ok) return std::nullopt;
  return plain;
}

}  // namespace causeway::gateway::mcp
