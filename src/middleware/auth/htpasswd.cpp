#include "middleware/auth/htpasswd.h"

#include <crypt.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <array>
#include <memory>

#include "core/bytes.h"
#include "http/go_text.h"

namespace causeway::middleware::htpasswd {
namespace {

using Digest = std::array<unsigned char, 16>;

// One MD5 over the concatenation of `parts`.
class Md5 {
 public:
  Md5() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_md5(), nullptr); }
  ~Md5() { EVP_MD_CTX_free(ctx_); }
  Md5(const Md5&) = delete;
  Md5& operator=(const Md5&) = delete;
  void reset() { EVP_DigestInit_ex(ctx_, EVP_md5(), nullptr); }
  void add(std::string_view s) { EVP_DigestUpdate(ctx_, s.data(), s.size()); }
  void add(const Digest& d, size_t n = 16) { EVP_DigestUpdate(ctx_, d.data(), n); }
  void addByte(unsigned char b) { EVP_DigestUpdate(ctx_, &b, 1); }
  Digest finish() {
    Digest d{};
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_, d.data(), &n);
    return d;
  }

 private:
  EVP_MD_CTX* ctx_;
};

constexpr std::string_view kCryptAlphabet =
    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

bool isBcrypt(std::string_view secret) {
  return secret.starts_with("$2a$") || secret.starts_with("$2b$") || secret.starts_with("$2x$") ||
         secret.starts_with("$2y$");
}

}  // namespace

std::string md5Crypt(std::string_view password, std::string_view salt, std::string_view magic) {
  // The FreeBSD/Apache MD5-crypt construction (PHK): an initial digest mixing password,
  // magic and salt, then 1000 rounds alternating password and digest.
  Md5 alternate;
  alternate.add(password);
  alternate.add(salt);
  alternate.add(password);
  Digest mix = alternate.finish();

  Md5 main;
  main.add(password);
  main.add(magic);
  main.add(salt);
  for (size_t left = password.size(); left > 0; left -= std::min<size_t>(left, 16))
    main.add(mix, std::min<size_t>(left, 16));
  for (size_t bits = password.size(); bits != 0; bits >>= 1) {
    if (bits & 1)
      main.addByte(0);
    else
      main.addByte(static_cast<unsigned char>(password[0]));
  }
  Digest state = main.finish();

  Md5 round;
  for (int i = 0; i < 1000; ++i) {
    round.reset();
    if (i & 1)
      round.add(password);
    else
      round.add(state);
    if (i % 3 != 0) round.add(salt);
    if (i % 7 != 0) round.add(password);
    if (i & 1)
      round.add(state);
    else
      round.add(password);
    state = round.finish();
  }

  // 22 characters of a custom base64, bytes taken in groups of three in a fixed order.
  static constexpr int kOrder[16] = {12, 6, 0, 13, 7, 1, 14, 8, 2, 15, 9, 3, 5, 10, 4, 11};
  std::string encoded;
  uint32_t acc = 0;
  unsigned nbits = 0;
  for (int index : kOrder) {
    acc |= uint32_t(state[size_t(index)]) << nbits;
    nbits += 8;
    while (nbits > 6) {
      encoded.push_back(kCryptAlphabet[acc & 0x3f]);
      acc >>= 6;
      nbits -= 6;
    }
  }
  encoded.push_back(kCryptAlphabet[acc & 0x3f]);

  std::string out;
  out.reserve(magic.size() + salt.size() + 1 + encoded.size());
  out.append(magic);
  out.append(salt);
  out.push_back('$');
  out.append(encoded);
  return out;
}

std::string sha1Secret(std::string_view password) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(password.data()), password.size(), digest);
  return "{SHA}" +
         base64Encode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

std::string bcryptWithSettingsOf(std::string_view password, std::string_view hash) {
  if (!isBcrypt(hash) || password.find('\0') != std::string_view::npos) return {};
  // Go's bcrypt treats every variant alike (the correct algorithm): so does $2b$.
  std::string setting = "$2b$" + std::string(hash.substr(4));
  std::string key(password);
  auto data = std::make_unique<crypt_data>();  // zeroed, as crypt_r wants on first use
  const char* result = crypt_r(key.c_str(), setting.c_str(), data.get());
  if (!result || result[0] == '*') return {};
  return result;
}

bool isSlow(std::string_view secret) {
  return isBcrypt(secret);
}

bool checkSecret(std::string_view password, std::string_view secret) {
  if (secret.starts_with("{SHA}")) return constantTimeEquals(secret, sha1Secret(password));
  if (isBcrypt(secret)) {
    std::string computed = bcryptWithSettingsOf(password, secret);
    if (computed.size() < 4) return false;
    return constantTimeEquals(secret.substr(4), std::string_view(computed).substr(4));
  }
  // "$magic$salt$hash": MD5-crypt with that magic.
  if (secret.empty() || secret[0] != '$') return false;
  size_t second = secret.find('$', 1);
  if (second == std::string_view::npos) return false;
  size_t third = secret.find('$', second + 1);
  if (third == std::string_view::npos) return false;
  std::string_view magic = secret.substr(0, second + 1);
  std::string_view salt = secret.substr(second + 1, third - second - 1);
  return constantTimeEquals(secret, md5Crypt(password, salt, magic));
}

}  // namespace causeway::middleware::htpasswd
