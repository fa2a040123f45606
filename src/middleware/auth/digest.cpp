#include "middleware/auth/digest.h"

#include <openssl/evp.h>

#include <algorithm>

#include "core/bytes.h"
#include "core/strings.h"
#include "http/go_text.h"

namespace causeway::middleware::digest {

std::string md5Hex(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), out, &n, EVP_md5(), nullptr);
  return hexEncode(std::string_view(reinterpret_cast<const char*>(out), n));
}

std::vector<std::string> parseList(std::string_view value) {
  std::vector<std::string> list;
  std::string current;
  bool escape = false, quote = false;
  for (char c : value) {
    if (escape) {
      current.push_back(c);
      escape = false;
    } else if (quote) {
      if (c == '\\') {
        escape = true;
      } else {
        if (c == '"') quote = false;
        current.push_back(c);
      }
    } else if (c == ',') {
      list.emplace_back(trim(current));
      current.clear();
    } else {
      if (c == '"') quote = true;
      current.push_back(c);
    }
  }
  if (!current.empty()) list.emplace_back(trim(current));
  return list;
}

std::map<std::string, std::string> parsePairs(std::string_view value) {
  std::map<std::string, std::string> pairs;
  for (const auto& element : parseList(trim(value))) {
    size_t eq = element.find('=');
    if (eq == std::string::npos) {
      pairs[element] = "";
      continue;
    }
    std::string v = element.substr(eq + 1);
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    pairs[element.substr(0, eq)] = v;
  }
  return pairs;
}

std::optional<std::map<std::string, std::string>>
authorizationParams(std::string_view authorization) {
  size_t space = authorization.find(' ');
  if (space == std::string_view::npos || authorization.substr(0, space) != "Digest")
    return std::nullopt;
  return parsePairs(authorization.substr(space + 1));
}

std::string expectedResponse(std::string_view ha1, std::string_view method, std::string_view uri,
                             std::string_view nonce, std::string_view nc, std::string_view cnonce,
                             std::string_view qop) {
  std::string ha2 = md5Hex(std::string(method) + ":" + std::string(uri));
  std::string kd;
  kd.append(ha1).append(":").append(nonce).append(":").append(nc).append(":").append(cnonce);
  kd.append(":").append(qop).append(":").append(ha2);
  return md5Hex(kd);
}

void NonceTable::purgeLocked(size_t count) {
  std::vector<std::pair<int64_t, std::string>> byAge;
  byAge.reserve(clients_.size());
  for (const auto& [nonce, client] : clients_)
    byAge.emplace_back(client.lastSeen, nonce);
  count = std::min(count, byAge.size());
  std::partial_sort(byAge.begin(), byAge.begin() + long(count), byAge.end());
  for (size_t i = 0; i < count; ++i)
    clients_.erase(byAge[i].second);
}

void NonceTable::add(const std::string& nonce, int64_t nowNs) {
  std::lock_guard lock(mutex_);
  if (clients_.size() > size_ + tolerance_) purgeLocked(tolerance_ * 2);
  clients_[nonce] = Client{0, nowNs};
}

NonceTable::Check NonceTable::use(const std::string& nonce, uint64_t nc, int64_t nowNs) {
  std::lock_guard lock(mutex_);
  auto it = clients_.find(nonce);
  if (it == clients_.end()) return Check::Unknown;
  Client& client = it->second;
  if (client.nc != 0) {
    if (nc == client.nc) return Check::Replay;
    if (nc < client.nc) return Check::Stale;
  }
  client.nc = nc;
  client.lastSeen = nowNs;
  return Check::Ok;
}

size_t NonceTable::size() {
  std::lock_guard lock(mutex_);
  return clients_.size();
}

}  // namespace causeway::middleware::digest
