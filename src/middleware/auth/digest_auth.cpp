// digestAuth: HTTP Digest authentication (MD5, qop=auth) with users "name:realm:HA1" and/or
// usersFile, as Traefik does it with go-http-auth: the challenge carries a fresh nonce and
// this router's opaque value; a response is accepted once per nonce count (a replay is
// refused, an older count gets a stale="true" challenge). Nonces live in one table per
// router shared by every worker, so a client may use its nonce on any connection.
#include "core/bytes.h"
#include "core/log.h"
#include "http/go_text.h"
#include "middleware/auth/credentials.h"
#include "middleware/auth/digest.h"
#include "middleware/contract.h"

namespace causeway::middleware {
namespace {

struct Options {
  std::vector<std::string> users;
  std::string usersFile;
  bool removeHeader = false;
  std::string realm;
  std::string headerField;

  static void describe(auto& self, auto& v) {
    v("users", self.users);
    v("usersFile", self.usersFile);
    v("removeHeader", self.removeHeader);
    v("realm", self.realm);
    v("headerField", self.headerField);
  }
};

struct Compiled {
  std::unordered_map<std::string, std::string> users;  // "name:realm" → HA1
  std::string realm;
  std::string headerField;
  bool removeHeader = false;
};

// Go's url.Parse(...).Path for a request-target: the path before '?' or '#', %-decoded.
std::optional<std::string> decodedPath(std::string_view target) {
  size_t end = target.find_first_of("?#");
  std::string_view path = target.substr(0, end);
  std::string out;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] != '%') {
      out.push_back(path[i]);
      continue;
    }
    if (i + 2 >= path.size() || !std::isxdigit(static_cast<unsigned char>(path[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(path[i + 2])))
      return std::nullopt;
    out.push_back(char(std::stoi(std::string(path.substr(i + 1, 2)), nullptr, 16)));
    i += 2;
  }
  return out;
}

std::optional<uint64_t> parseHex(std::string_view s) {
  if (s.empty() || s.size() > 16) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return std::nullopt;
    v = v << 4 | uint64_t(d);
  }
  return v;
}

int64_t nowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

enum class Verdict { Fail, Stale, Ok };

class DigestAuth final : public Handler {
 public:
  DigestAuth(std::shared_ptr<const Compiled> c, HandlerPtr next, const WrapContext& context)
      : c_(std::move(c)), next_(std::move(next)), name_(context.middlewareName),
        opaque_(base64Encode(randomBytes(12))) {}

  awaitable<void> handle(Exchange& ex) const override {
    Verdict verdict = Verdict::Fail;
    std::string username;
    if (auto params = digest::authorizationParams(ex.request.headers.get("Authorization")))
      verdict = check(ex, *params, username);

    if (verdict != Verdict::Ok) {
      std::string_view field =
          c_->headerField.empty() ? std::string_view("Authorization") : c_->headerField;
      if (auto params = digest::authorizationParams(ex.request.headers.get(field))) {
        if (auto it = params->find("username"); it != params->end() && !it->second.empty())
          ex.record.user = ex.arena.copy(it->second);
      }
      log::debug(verdict == Verdict::Stale
                     ? "Digest authentication failed, possibly because out of order requests"
                     : "Digest authentication failed",
                 {{"middlewareName", name_}});
      ex.record.errorDetail = "Digest authentication failed";
      std::string nonce = base64Encode(randomBytes(12));
      nonces_.add(nonce, nowNanos());
      std::string challenge = "Digest realm=\"" + c_->realm + "\", nonce=\"" + nonce +
                              "\", opaque=\"" + opaque_ + "\", ";
      if (verdict == Verdict::Stale) challenge += "stale=\"true\", ";
      challenge += "algorithm=\"MD5\", qop=\"auth\"";
      unauthorizedReply(ex, challenge);
      co_return;
    }
    ex.record.user = ex.arena.copy(username);
    auto& headers = ex.request.headers;
    if (!c_->headerField.empty()) {
      headers.removeWithTwins(c_->headerField);
      headers.add(c_->headerField, ex.record.user);
    }
    if (c_->removeHeader) headers.remove("Authorization");
    co_await next_->handle(ex);
  }

 private:
  // go-http-auth's CheckAuth.
  Verdict check(const Exchange& ex, std::map<std::string, std::string>& auth,
                std::string& username) const {
    auto get = [&](const char* key) -> const std::string& {
      static const std::string empty;
      auto it = auth.find(key);
      return it == auth.end() ? empty : it->second;
    };
    // Clients that leave the algorithm out mean MD5.
    if (auth.find("algorithm") == auth.end()) auth["algorithm"] = "MD5";
    if (get("opaque") != opaque_ || get("algorithm") != "MD5" || get("qop") != "auth")
      return Verdict::Fail;

    // The uri parameter is the request-target, or (historically) a path prefix of it.
    const auto& r = ex.request;
    std::string requestUri(r.rawPath.empty() ? std::string_view("/") : r.rawPath);
    if (r.hasQuery) requestUri += "?" + std::string(r.query);
    const std::string& uri = get("uri");
    if (requestUri != uri) {
      auto given = decodedPath(uri);
      auto actual = decodedPath(r.rawPath);
      if (!given || !actual || given->size() > actual->size() || !actual->starts_with(*given))
        return Verdict::Fail;
    }

    const std::string& user = get("username");
    auto it = c_->users.find(user + ":" + c_->realm);
    std::string ha1 = it == c_->users.end() ? std::string() : it->second;
    std::string expected = digest::expectedResponse(ha1, r.method, uri, get("nonce"), get("nc"),
                                                    get("cnonce"), get("qop"));
    if (!constantTimeEquals(expected, get("response"))) return Verdict::Fail;

    auto nc = parseHex(get("nc"));
    if (!nc) return Verdict::Fail;
    switch (nonces_.use(get("nonce"), *nc, nowNanos())) {
    case digest::NonceTable::Check::Ok:
      username = user;
      return Verdict::Ok;
    case digest::NonceTable::Check::Stale:
      return Verdict::Stale;
    default:
      return Verdict::Fail;
    }
  }

  std::shared_ptr<const Compiled> c_;
  HandlerPtr next_;
  std::string name_;
  std::string opaque_;                 // per router, as go-http-auth's authenticator
  mutable digest::NonceTable nonces_;  // shared by every worker (locked inside)
};

MiddlewareFactoryPtr create(const config::Node& node, MiddlewareBuildContext& context) {
  std::optional<Options> decoded = decodeOptions<Options>(node, context);
  if (!decoded) return nullptr;
  Options& options = *decoded;

  std::vector<std::string> lines;
  std::string error;
  if (!loadUserLines(options.usersFile, options.users, lines, error)) {
    context.error("digestAuth: " + error);
    return nullptr;
  }
  auto c = std::make_shared<Compiled>();
  for (const auto& line : lines) {
    // Exactly "name:realm:HA1".
    size_t first = line.find(':');
    size_t second = first == std::string::npos ? first : line.find(':', first + 1);
    if (second == std::string::npos || line.find(':', second + 1) != std::string::npos) {
      context.error("digestAuth: error parsing DigestUser: " + line);
      return nullptr;
    }
    c->users[line.substr(0, second)] = line.substr(second + 1);
  }
  c->realm = options.realm.empty() ? "traefik" : options.realm;
  c->headerField = options.headerField;
  c->removeHeader = options.removeHeader;
  return factoryOf<DigestAuth>(std::move(c));
}

const exchange::MiddlewareRegistration registration("digestAuth", create, "digestAuth");

}  // namespace
}  // namespace causeway::middleware
