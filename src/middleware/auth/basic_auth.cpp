// basicAuth: HTTP Basic authentication against htpasswd hashes (users "name:hash" and/or
// usersFile; inline users come after the file's and win on a duplicate name). Failure: 401
// with `WWW-Authenticate: Basic realm="<realm>"` and go-http-auth's body. Success: the user
// name goes to the access log record and, with headerField, to that request header;
// removeHeader drops Authorization before the request goes on. An unknown user still costs a
// hash check (of the first user's hash), so timing does not tell which names exist. bcrypt
// checks run on a small thread pool, not on the worker's event loop.
#include "core/log.h"
#include "middleware/auth/credentials.h"
#include "middleware/auth/htpasswd.h"
#include "middleware/contract.h"

namespace causeway::middleware {
namespace {

struct Options {
  std::vector<std::string> users;
  std::string usersFile;
  std::string realm;
  bool removeHeader = false;
  std::string headerField;

  static void describe(auto& self, auto& v) {
    v("users", self.users);
    v("usersFile", self.usersFile);
    v("realm", self.realm);
    v("removeHeader", self.removeHeader);
    v("headerField", self.headerField);
  }
};

struct Compiled {
  std::unordered_map<std::string, std::string> users;  // name → hash
  std::string notFoundSecret;
  std::string challenge;  // the WWW-Authenticate value
  std::string headerField;
  bool removeHeader = false;
};

class BasicAuth final : public Handler {
 public:
  BasicAuth(std::shared_ptr<const Compiled> c, HandlerPtr next, const WrapContext& context)
      : c_(std::move(c)), next_(std::move(next)), name_(context.middlewareName) {}

  awaitable<void> handle(Exchange& ex) const override {
    std::string user, password;
    bool present = parseBasicAuth(ex.request.headers.get("Authorization"), user, password);
    bool authenticated = false;
    if (present) {
      auto it = c_->users.find(user);
      bool known = it != c_->users.end();
      const std::string& secret = known ? it->second : c_->notFoundSecret;
      bool match = htpasswd::isSlow(secret) ? co_await offload([&password, &secret] {
        return htpasswd::checkSecret(password, secret);
      })
                                            : htpasswd::checkSecret(password, secret);
      authenticated = known && match;
    }
    ex.record.user = ex.arena.copy(user);
    if (!authenticated) {
      log::debug("Authentication failed", {{"middlewareName", name_}});
      ex.record.errorDetail = "Authentication failed";
      unauthorizedReply(ex, c_->challenge);
      co_return;
    }
    auto& headers = ex.request.headers;
    if (!c_->headerField.empty()) {
      headers.removeWithTwins(c_->headerField);
      headers.add(c_->headerField, ex.record.user);
    }
    if (c_->removeHeader) headers.remove("Authorization");
    co_await next_->handle(ex);
  }

 private:
  std::shared_ptr<const Compiled> c_;
  HandlerPtr next_;
  std::string name_;
};

MiddlewareFactoryPtr create(const config::Node& node, MiddlewareBuildContext& context) {
  std::optional<Options> decoded = decodeOptions<Options>(node, context);
  if (!decoded) return nullptr;
  Options& options = *decoded;

  std::vector<std::string> lines;
  std::string error;
  if (!loadUserLines(options.usersFile, options.users, lines, error)) {
    context.error("basicAuth: " + error);
    return nullptr;
  }
  auto c = std::make_shared<Compiled>();
  for (const auto& line : lines) {
    // Exactly one colon: "name:hash".
    size_t colon = line.find(':');
    if (colon == std::string::npos || line.find(':', colon + 1) != std::string::npos) {
      context.error("basicAuth: error parsing BasicUser: " + line);
      return nullptr;
    }
    c->users[line.substr(0, colon)] = line.substr(colon + 1);
  }
  if (c->users.empty()) {
    context.error("basicAuth: no users found in " +
                  (options.usersFile.empty() ? std::string("users") : options.usersFile));
    return nullptr;
  }
  // Any existing hash will do for unknown users (Traefik picks one at random from a map).
  c->notFoundSecret = c->users.begin()->second;
  std::string realm = options.realm.empty() ? "traefik" : options.realm;
  c->challenge = "Basic realm=\"" + realm + "\"";
  c->headerField = options.headerField;
  c->removeHeader = options.removeHeader;
  return factoryOf<BasicAuth>(std::move(c));
}

const exchange::MiddlewareRegistration registration("basicAuth", create);

}  // namespace
}  // namespace causeway::middleware
