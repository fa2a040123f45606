// apiKey: Traefik Hub's API key middleware (docs/api-gateway.md, "apiKey"). The key is read from
// `keySource`: a header (`header`; with `headerAuthScheme`, its value must be "<scheme> <key>"),
// then a query parameter (`query`), then a cookie (`cookie`). It must match one of
// `secretValues`: hashes as htpasswd writes them — bcrypt (`$2y$`…), SHA-1 (`{SHA}`…) or
// MD5-crypt (`$apr1$`…) — each base64-encoded unless `secretNonBase64Encoded`. So the
// configuration holds no key, only hashes.
//
// A missing or wrong key gets 401 (with `WWW-Authenticate: <scheme> realm="causeway"` when a
// scheme is configured). A good key is taken off the request (header, query parameter or
// cookie) before it goes on.
//
// Costs: bcrypt takes milliseconds by design, so its checks run on the small pool of slow checks,
// never on a worker's event loop, and each worker remembers the keys it accepted (by their
// SHA-256, up to 4096), so a known key costs one hash. A wrong key is checked against every
// hash (there are no key ids), and the last 1024 wrong keys seen are remembered so that
// repeating one costs a hash too.
#include <unordered_set>

#include "core/bytes.h"
#include "core/log.h"
#include "core/strings.h"
#include "exchange/exchange.h"
#include "exchange/middleware_options.h"
#include "exchange/middleware_registry.h"
#include "gateway/api/credentials.h"
#include "middleware/auth/credentials.h"
#include "middleware/auth/htpasswd.h"

namespace causeway::gateway::api {
namespace {

using exchange::Exchange;
using exchange::Handler;
using exchange::HandlerPtr;
using exchange::MiddlewareBuildContext;
using exchange::MiddlewareFactoryPtr;
using exchange::WrapContext;

constexpr size_t kMaxKey = 4096;
constexpr size_t kRemembered = 4096;
constexpr size_t kRememberedWrong = 1024;

struct Options {
  CredentialSource keySource;
  std::vector<std::string> secretValues;
  bool secretNonBase64Encoded = false;
  static void describe(auto& self, auto& v) {
    v("keySource", self.keySource);
    v("secretValues", self.secretValues);
    v("secretNonBase64Encoded", self.secretNonBase64Encoded);
  }
};

struct WorkerMemory {
  std::unordered_set<std::string> accepted;  // SHA-256 of keys that matched
  std::unordered_set<std::string> wrong;     // SHA-256 of keys that matched nothing
};

struct Compiled {
  CredentialSource source;
  std::vector<std::string> hashes;
  bool slow = false;  // some hash is bcrypt
  std::string challenge;
  mutable std::vector<WorkerMemory> memory;

  // 1: `id` was accepted before on this worker, -1: refused, 0: not seen.
  int recall(unsigned slot, const std::string& id) const {
    const WorkerMemory& m = memory[slot];
    return m.accepted.count(id) ? 1 : m.wrong.count(id) ? -1 : 0;
  }
  void remember(unsigned slot, const std::string& id, bool ok) const {
    std::unordered_set<std::string>& set = ok ? memory[slot].accepted : memory[slot].wrong;
    if (set.size() >= (ok ? kRemembered : kRememberedWrong)) set.clear();
    set.insert(id);
  }
};

// Checks every hash, whatever matched first, so that the time does not tell which one did.
bool matchesAny(const std::vector<std::string>& hashes, const std::string& key) {
  bool any = false;
  for (const std::string& h : hashes)
    any |= middleware::htpasswd::checkSecret(key, h);
  return any;
}

class ApiKey final : public Handler {
 public:
  ApiKey(std::shared_ptr<const Compiled> c, HandlerPtr next, const WrapContext&)
      : c_(std::move(c)), next_(std::move(next)) {}

  awaitable<void> handle(Exchange& ex) const override {
    const Compiled& c = *c_;
    FoundCredential found = findCredential(ex, c.source);
    const std::string& key = found.value;
    if (key.empty() || key.size() > kMaxKey) {
      refuse(ex, 401, c.challenge, key.empty() ? "no API key" : "API key too long");
      co_return;
    }

    unsigned slot = ex.worker.index() % c.memory.size();
    std::string id = sha256Bytes(key);
    int known = c.recall(slot, id);
    bool ok = known > 0;
    if (known == 0) {
      if (c.slow) {
        std::shared_ptr<const Compiled> keep = c_;  // the pool may finish after a reload
        std::function<bool()> work = [keep, key] { return matchesAny(keep->hashes, key); };
        ok = co_await middleware::offload(std::move(work));
      } else {
        ok = matchesAny(c.hashes, key);
      }
      c.remember(slot, id, ok);
    }
    if (!ok) {
      refuse(ex, 401, c.challenge, "invalid API key");
      co_return;
    }
    removeCredential(ex, c.source, found.in);
    co_await next_->handle(ex);
  }

 private:
  std::shared_ptr<const Compiled> c_;
  HandlerPtr next_;
};

MiddlewareFactoryPtr create(const config::Node& node, MiddlewareBuildContext& context) {
  std::optional<Options> decoded = exchange::decodeOptions<Options>(node, context);
  if (!decoded) return nullptr;
  Options& o = *decoded;
  auto c = std::make_shared<Compiled>();
  c->source = o.keySource;
  if (o.keySource.empty()) {
    context.error("apiKey: keySource needs at least one of header, query, cookie");
    return nullptr;
  }
  if (!o.keySource.headerAuthScheme.empty() && o.keySource.header.empty()) {
    context.error(
        "apiKey: keySource.headerAuthScheme needs keySource.header (usually Authorization)");
    return nullptr;
  }
  if (o.secretValues.empty()) {
    context.error("apiKey: secretValues must list at least one hashed key");
    return nullptr;
  }
  for (size_t i = 0; i < o.secretValues.size(); ++i) {
    std::string hash = o.secretValues[i];
    if (!o.secretNonBase64Encoded) {
      std::string raw;
      if (!base64Decode(trim(hash), raw)) {
        context.error("apiKey: secretValues[" + std::to_string(i) +
                      "] is not base64 (set secretNonBase64Encoded for raw hashes)");
        return nullptr;
      }
      hash = std::move(raw);
    }
    hash = std::string(trim(hash));
    bool known = hash.starts_with("{SHA}") || hash.starts_with("$2") ||
                 hash.starts_with("$apr1$") || hash.starts_with("$1$");
    if (!known) {
      context.error("apiKey: secretValues[" + std::to_string(i) +
                    "] is not a bcrypt ($2y$…), SHA-1 ({SHA}…) or MD5 ($apr1$…) hash");
      return nullptr;
    }
    c->slow |= middleware::htpasswd::isSlow(hash);
    c->hashes.push_back(std::move(hash));
  }
  if (!o.keySource.headerAuthScheme.empty())
    c->challenge = o.keySource.headerAuthScheme + " realm=\"causeway\"";
  c->memory.resize(std::max(1u, context.workers()));
  return exchange::factoryOf<ApiKey>(std::shared_ptr<const Compiled>(std::move(c)));
}

const exchange::MiddlewareRegistration registration("apiKey", create, "APIKey");

}  // namespace
}  // namespace causeway::gateway::api
