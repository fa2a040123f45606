// HTTP Digest authentication (RFC 2617, MD5, qop=auth) as go-http-auth implements it for
// Traefik's digestAuth: parsing the Authorization parameters, the response computation, and
// the table of nonces handed out with their last nonce count. Pure (the clock is passed in);
// NonceTable is thread-safe so that every worker shares one table per router.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace causeway::middleware::digest {

// Lower-case hex MD5 of `data` (go-http-auth's H).
std::string md5Hex(std::string_view data);

// RFC 2068 list parsing: comma-separated elements, commas inside quotes kept, backslash
// escapes inside quotes.
std::vector<std::string> parseList(std::string_view value);
// key=value pairs of a list; values unquoted; an element without '=' maps to "".
std::map<std::string, std::string> parsePairs(std::string_view value);
// The parameters of "Digest k=v, ..." (scheme compared exactly), or nullopt.
std::optional<std::map<std::string, std::string>>
authorizationParams(std::string_view authorization);

// KD(HA1, nonce:nc:cnonce:qop:H(method:uri)).
std::string expectedResponse(std::string_view ha1, std::string_view method, std::string_view uri,
                             std::string_view nonce, std::string_view nc, std::string_view cnonce,
                             std::string_view qop);

// Nonces handed out in challenges and the last nonce count seen for each.
class NonceTable {
 public:
  explicit NonceTable(size_t cacheSize = 1000, size_t tolerance = 100)
      : size_(cacheSize), tolerance_(tolerance) {}

  // Records a new nonce (purging the oldest when the table is over size + tolerance).
  void add(const std::string& nonce, int64_t nowNs);

  enum class Check { Ok, Unknown, Replay, Stale };
  // Accepts `nc` for `nonce` when it is newer than the last one seen (or the first).
  Check use(const std::string& nonce, uint64_t nc, int64_t nowNs);
  size_t size();

 private:
  struct Client {
    uint64_t nc = 0;
    int64_t lastSeen = 0;
  };
  void purgeLocked(size_t count);
  std::mutex mutex_;
  std::unordered_map<std::string, Client> clients_;
  size_t size_;
  size_t tolerance_;
};

}  // namespace causeway::middleware::digest
