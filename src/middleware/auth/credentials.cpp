#include "middleware/auth/credentials.h"

#include <fstream>
#include <sstream>

#include "core/bytes.h"
#include "core/strings.h"
#include "exchange/exchange.h"
#include "exchange/replies.h"
#include "http/go_text.h"

namespace causeway::middleware {

bool loadUserLines(const std::string& usersFile, const std::vector<std::string>& users,
                   std::vector<std::string>& lines, std::string& error) {
  lines.clear();
  if (!usersFile.empty()) {
    std::ifstream in(usersFile, std::ios::binary);
    if (!in) {
      error = "open " + usersFile + ": no such file or not readable";
      return false;
    }
    std::stringstream content;
    content << in.rdbuf();
    std::string text = content.str();
    size_t start = 0;
    while (start <= text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      std::string_view line = trim(std::string_view(text).substr(start, end - start));
      if (!line.empty() && line.front() != '#') lines.emplace_back(line);
      start = end + 1;
    }
  }
  lines.insert(lines.end(), users.begin(), users.end());
  return true;
}

bool parseBasicAuth(std::string_view authorization, std::string& user, std::string& password) {
  constexpr std::string_view kPrefix = "Basic ";
  if (authorization.size() < kPrefix.size() ||
      !iequals(authorization.substr(0, kPrefix.size()), kPrefix))
    return false;
  std::string decoded;
  if (!base64Decode(authorization.substr(kPrefix.size()), decoded)) return false;
  size_t colon = decoded.find(':');
  if (colon == std::string::npos) return false;
  user = decoded.substr(0, colon);
  password = decoded.substr(colon + 1);
  return true;
}

void unauthorizedReply(exchange::Exchange& ex, std::string_view wwwAuthenticate) {
  exchange::bareStatusReply(ex, 401);
  auto& r = ex.response;
  r.headers.add("Content-Type", "text/plain");
  r.headers.add("Www-Authenticate", ex.arena.copy(wwwAuthenticate));
  r.body = ex.arena.make<exchange::MemoryBody>("401 Unauthorized\n");
}

namespace {

asio::thread_pool& slowChecks() {
  static asio::thread_pool pool(2);
  return pool;
}

}  // namespace

// Not a coroutine itself: GCC 12 destroys a by-value coroutine parameter twice when the
// argument is a prvalue, which a std::function holding a captured string does not survive. The
// check is moved into the spawned coroutine's own frame instead.
awaitable<bool> offload(std::function<bool()> check) {
  return asio::co_spawn(
      slowChecks(), [check = std::move(check)]() -> awaitable<bool> { co_return check(); },
      asio::use_awaitable);
}

}  // namespace causeway::middleware
