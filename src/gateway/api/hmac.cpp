// hmac: Traefik Hub's HMAC middleware (docs/api-gateway.md, "hmac"): request signatures in the
// style of draft-cavage-http-signatures, sent as
//
//   Authorization: Hmac keyId="k1",algorithm="hmac-sha256",headers="(request-target) (created) host
//   digest",
//                  signature="<base64>",created="1700000000",expires="1700000060"
//
// (or in Proxy-Authorization). The signing string has one line per name of `headers`, in order:
// `(request-target)` is the lower-case method, a space and the path with its query as received;
// `(created)` and `(expires)` are the parameters; other names are the request's header fields
// (lower-case name, values joined by ", "; `host` is the request's authority). The signature
// is the base64 HMAC (SHA-1/256/384/512) of the lines joined by "\n", with key `keyId` of `keys`.
// Without `headers`, the signing string is `(created)` alone.
//
// Refused with 401: an unknown key or algorithm, a bad signature, a signed header the request
// lacks, a name of `enforcedHeaders` not signed, a `created` in the future or older than
// `maxSignatureAgeSeconds` (300; the replay window; 0: no bound), an `expires` that has passed.
// With `validateDigest` (default true), a request with a body needs a signed `Digest` header
// (RFC 3230: SHA-256=, SHA-512= or SHA=, base64) that matches the body; bodies are read up to
// 4 MiB for this (larger: 413). On success the signature header is removed before the request
// goes on.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cmath>

#include "core/bytes.h"
#include "core/log.h"
#include "core/strings.h"
#include "exchange/body.h"
#include "exchange/exchange.h"
#include "exchange/middleware_options.h"
#include "exchange/middleware_registry.h"
#include "gateway/api/credentials.h"

namespace causeway::gateway::api {
namespace {

using exchange::Exchange;
using exchange::Handler;
using exchange::HandlerPtr;
using exchange::MiddlewareBuildContext;
using exchange::MiddlewareFactoryPtr;
using exchange::WrapContext;

constexpr int64_t kMaxBody = 4 << 20;
constexpr double kFutureSkew = 30;  // seconds a `created` may be ahead of this clock

struct KeyOption {
  std::string id;
  std::string key;
  static void describe(auto& self, auto& v) {
    v("id", self.id);
    v("key", self.key);
  }
};

struct Options {
  std::vector<KeyOption> keys;
  bool validateDigest = true;
  std::vector<std::string> enforcedHeaders;
  int maxSignatureAgeSeconds = 300;
  static void describe(auto& self, auto& v) {
    v("keys", self.keys);
    v("validateDigest", self.validateDigest);
    v("enforcedHeaders", self.enforcedHeaders);
    v("maxSignatureAgeSeconds", self.maxSignatureAgeSeconds);
  }
};

struct Compiled {
  std::vector<std::pair<std::string, std::string>> keys;  // id, secret
  bool validateDigest = true;
  std::vector<std::string> enforced;  // lower-case
  double maxAge = 300;
  std::string challenge;
};

// The parameters of an `Hmac k="v",k2=v2` credential. False when it does not parse.
bool parseParams(std::string_view text,
                 std::vector<std::pair<std::string_view, std::string_view>>& out) {
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == ','))
      ++i;
    if (i == text.size()) break;
    size_t eq = text.find('=', i);
    if (eq == std::string_view::npos) return false;
    std::string_view name = trim(text.substr(i, eq - i));
    i = eq + 1;
    std::string_view value;
    if (i < text.size() && text[i] == '"') {
      size_t end = text.find('"', i + 1);
      if (end == std::string_view::npos) return false;
      value = text.substr(i + 1, end - i - 1);
      i = end + 1;
    } else {
      size_t end = text.find(',', i);
      value =
          trim(text.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i));
      i = end == std::string_view::npos ? text.size() : end;
    }
    if (name.empty()) return false;
    out.emplace_back(name, value);
  }
  return true;
}

const EVP_MD* hmacDigest(std::string_view algorithm) {
  if (iequals(algorithm, "hmac-sha1")) return EVP_sha1();
  if (iequals(algorithm, "hmac-sha256")) return EVP_sha256();
  if (iequals(algorithm, "hmac-sha384")) return EVP_sha384();
  if (iequals(algorithm, "hmac-sha512")) return EVP_sha512();
  return nullptr;
}

std::string digestOf(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  return base64Encode(std::string_view(reinterpret_cast<char*>(out), len));
}

// Whether a Digest header value (RFC 3230: "SHA-256=…, SHA-512=…") matches `body`: every entry
// of an algorithm known here must, and there must be one.
bool digestMatches(std::string_view header, std::string_view body) {
  bool any = false;
  for (std::string_view entry : splitTrimmed(header, ',')) {
    size_t eq = entry.find('=');
    if (eq == std::string_view::npos) return false;
    std::string_view algorithm = entry.substr(0, eq);
    const EVP_MD* md = iequals(algorithm, "SHA-256")   ? EVP_sha256()
                       : iequals(algorithm, "SHA-512") ? EVP_sha512()
                       : iequals(algorithm, "SHA")     ? EVP_sha1()
                                                       : nullptr;
    if (!md) continue;
    if (!constantTimeEquals(digestOf(md, body), entry.substr(eq + 1))) return false;
    any = true;
  }
  return any;
}

bool parseTime(std::string_view text, double& out) {
  auto n = parseDecimal(text);
  if (!n) return false;
  out = static_cast<double>(*n);
  return true;
}

class Hmac final : public Handler {
 public:
  Hmac(std::shared_ptr<const Compiled> c, HandlerPtr next, const WrapContext&)
      : c_(std::move(c)), next_(std::move(next)) {}

  awaitable<void> handle(Exchange& ex) const override {
    const Compiled& c = *c_;
    auto& r = ex.request;
    std::string_view headerName = "Authorization";
    std::optional<std::string_view> credential;
    for (std::string_view name :
         {std::string_view("Authorization"), std::string_view("Proxy-Authorization")}) {
      if (r.headers.count(name) != 1) continue;
      std::string_view value = trim(r.headers.get(name));
      if (value.size() > 5 && istartsWith(value, "Hmac ")) {
        credential = value.substr(5);
        headerName = name;
        break;
      }
    }
    if (!credential) {
      refuse(ex, 401, c.challenge, "no HMAC signature");
      co_return;
    }
    std::vector<std::pair<std::string_view, std::string_view>> params;
    std::string_view keyId, algorithm, headers, signature, created, expires;
    if (!parseParams(*credential, params)) {
      refuse(ex, 401, c.challenge, "malformed HMAC credential");
      co_return;
    }
    for (auto [name, value] : params) {
      if (name == "keyId")
        keyId = value;
      else if (name == "algorithm")
        algorithm = value;
      else if (name == "headers")
        headers = value;
      else if (name == "signature")
        signature = value;
      else if (name == "created")
        created = value;
      else if (name == "expires")
        expires = value;
    }
    std::string why = co_await check(ex, keyId, algorithm, headers, signature, created, expires);
    if (!why.empty()) {
      if (why == "413") {
        refuse(ex, 413, {}, "request body too large for the digest check");
        co_return;
      }
      refuse(ex, 401, c.challenge, why);
      co_return;
    }
    ex.record.user = ex.arena.copy(keyId);
    r.headers.remove(headerName);
    co_await next_->handle(ex);
  }

 private:
  // "" when the signature holds; else why not ("413" when the body is too large).
  awaitable<std::string> check(Exchange& ex, std::string_view keyId, std::string_view algorithm,
                               std::string_view headers, std::string_view signature,
                               std::string_view created, std::string_view expires) const {
    const Compiled& c = *c_;
    auto& r = ex.request;
    const std::string* secret = nullptr;
    for (const auto& [id, value] : c.keys)
      if (id == keyId) secret = &value;
    if (!secret) co_return "unknown keyId";
    const EVP_MD* md = hmacDigest(algorithm);
    if (!md) co_return "unsupported algorithm";
    std::string expected;
    if (!base64Decode(signature, expected) || expected.empty()) co_return "signature is not base64";

    double now = epochSeconds();
    double createdAt = 0, expiresAt = 0;
    if (!created.empty()) {
      if (!parseTime(created, createdAt)) co_return "created is not a timestamp";
      if (createdAt > now + kFutureSkew) co_return "created is in the future";
      if (c.maxAge > 0 && createdAt < now - c.maxAge) co_return "the signature is too old";
    }
    if (!expires.empty()) {
      if (!parseTime(expires, expiresAt)) co_return "expires is not a timestamp";
      if (expiresAt < now) co_return "the signature has expired";
    }

    std::vector<std::string_view> names =
        splitTrimmed(headers.empty() ? std::string_view("(created)") : headers, ' ');
    std::erase_if(names, [](std::string_view n) { return n.empty(); });
    for (const std::string& e : c.enforced)
      if (std::find(names.begin(), names.end(), e) == names.end())
        co_return "header " + e + " must be signed";

    std::string text;
    bool signsDigest = false;
    for (std::string_view name : names) {
      if (!text.empty()) text += '\n';
      text += name;
      text += ": ";
      if (name == "(request-target)") {
        text += toLower(r.method);
        text += ' ';
        text += r.rawPath;
        if (r.hasQuery) {
          text += '?';
          text += r.query;
        }
      } else if (name == "(created)") {
        if (created.empty()) co_return "(created) is signed but created is missing";
        text += created;
      } else if (name == "(expires)") {
        if (expires.empty()) co_return "(expires) is signed but expires is missing";
        text += expires;
      } else if (name == "host") {
        text += r.authority;
      } else {
        if (name != toLower(name)) co_return "signed header names must be lower-case";
        signsDigest |= name == "digest";
        bool found = false;
        for (const auto& f : r.headers) {
          if (!iequals(f.name, name)) continue;
          if (found) text += ", ";
          text += trim(f.value);
          found = true;
        }
        if (!found) co_return "signed header " + std::string(name) + " is missing";
      }
    }
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    HMAC(md, secret->data(), static_cast<int>(secret->size()),
         reinterpret_cast<const unsigned char*>(text.data()), text.size(), mac, &len);
    if (!constantTimeEquals(std::string_view(reinterpret_cast<char*>(mac), len), expected))
      co_return "the signature does not match";

    if (c.validateDigest) {
      bool hasBody = r.body && (!r.body->length() || *r.body->length() > 0);
      std::string_view digestHeader = r.headers.get("Digest");
      if (hasBody || !digestHeader.empty()) {
        if (digestHeader.empty()) co_return "a request with a body needs a Digest header";
        if (!signsDigest) co_return "the Digest header must be signed";
        std::string body;
        if (r.body) {
          exchange::ReadResult read = co_await exchange::readBody(*r.body, body, kMaxBody);
          if (read == exchange::ReadResult::TooLarge) co_return "413";
          if (read != exchange::ReadResult::Complete) co_return "the body broke off";
        }
        if (!digestMatches(digestHeader, body)) co_return "the Digest does not match the body";
        r.body = r.body ? ex.arena.make<exchange::MemoryBody>(ex.arena.copy(body)) : nullptr;
      }
    }
    co_return std::string();
  }

  std::shared_ptr<const Compiled> c_;
  HandlerPtr next_;
};

MiddlewareFactoryPtr create(const config::Node& node, MiddlewareBuildContext& context) {
  std::optional<Options> decoded = exchange::decodeOptions<Options>(node, context);
  if (!decoded) return nullptr;
  Options& o = *decoded;
  auto c = std::make_shared<Compiled>();
  if (o.keys.empty()) {
    context.error("hmac: keys must list at least one {id, key}");
    return nullptr;
  }
  for (size_t i = 0; i < o.keys.size(); ++i) {
    std::string where = "hmac: keys[" + std::to_string(i) + "]: ";
    std::string secret = o.keys[i].key;
    if (o.keys[i].id.empty() || secret.empty()) {
      context.error(where + "id and key are required");
      return nullptr;
    }
    std::string error;
    auto resolved = secretOption(secret, error);
    if (!resolved) {
      context.error(where + "key: " + error);
      return nullptr;
    }
    c->keys.emplace_back(o.keys[i].id, std::move(*resolved));
  }
  for (const std::string& h : o.enforcedHeaders)
    c->enforced.push_back(toLower(trim(h)));
  if (o.maxSignatureAgeSeconds < 0) {
    context.error("hmac: maxSignatureAgeSeconds must not be negative");
    return nullptr;
  }
  c->maxAge = o.maxSignatureAgeSeconds;
  c->validateDigest = o.validateDigest;
  c->challenge = "Hmac realm=\"causeway\"";
  if (!c->enforced.empty()) {
    c->challenge += ", headers=\"";
    for (size_t i = 0; i < c->enforced.size(); ++i)
      c->challenge += (i ? " " : "") + c->enforced[i];
    c->challenge += '"';
  }
  return exchange::factoryOf<Hmac>(std::shared_ptr<const Compiled>(std::move(c)));
}

const exchange::MiddlewareRegistration registration("hmac", create, "HMAC");

}  // namespace
}  // namespace causeway::gateway::api
