#include "middleware/headers/cors.h"

#include <re2/re2.h>

#include <algorithm>

#include "core/arena.h"
#include "router/go_regexp.h"

namespace causeway::middleware {
namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += items[i];
  }
  return out;
}

bool contains(const std::vector<std::string>& items, std::string_view value) {
  return std::find(items.begin(), items.end(), value) != items.end();
}

}  // namespace

Cors::Cors(Cors&&) noexcept = default;
Cors& Cors::operator=(Cors&&) noexcept = default;
Cors::~Cors() = default;

std::optional<Cors> Cors::make(CorsOptions options, std::string& error) {
  Cors cors;
  for (const auto& pattern : options.allowOriginListRegex) {
    std::string why;
    auto regex = router::compileGoRegex(pattern, why);
    if (!regex) {
      error = "error occurred during origin parsing: " + why;
      return std::nullopt;
    }
    cors.regexes_.push_back(std::move(regex));
  }
  cors.o_ = std::move(options);
  return cors;
}

bool Cors::isPreflight(std::string_view method, const http::Headers& request) {
  return method == "OPTIONS" && !request.get("Access-Control-Request-Method").empty() &&
         !request.get("Origin").empty();
}

std::optional<std::string> Cors::matchOrigin(std::string_view origin) const {
  for (const auto& item : o_.allowOriginList) {
    if (item == origin) return item;
    if (item == "*") {
      // A wildcard cannot be used with credentials: echo the origin instead.
      if (o_.allowCredentials) return std::string(origin);
      return item;
    }
  }
  for (const auto& regex : regexes_)
    if (re2::RE2::PartialMatch(re2::StringPiece(origin.data(), origin.size()), *regex))
      return std::string(origin);
  return std::nullopt;
}

std::string Cors::exposeValue() const {
  if (o_.exposeHeaders.empty()) return {};
  if (contains(o_.exposeHeaders, "*") && o_.allowCredentials) return {};
  return join(o_.exposeHeaders);
}

void Cors::preflight(const http::Headers& request, http::Headers& response, Arena& arena) const {
  if (o_.allowCredentials) response.set("Access-Control-Allow-Credentials", "true");

  if (contains(o_.allowHeaders, "*") && o_.allowCredentials) {
    if (std::string_view requested = request.get("Access-Control-Request-Headers");
        !requested.empty())
      response.set("Access-Control-Allow-Headers", requested);
  } else if (std::string value = join(o_.allowHeaders); !value.empty()) {
    response.set("Access-Control-Allow-Headers", arena.copy(value));
  }

  std::string_view requestedMethod = request.get("Access-Control-Request-Method");
  if (contains(o_.allowMethods, "*") && o_.allowCredentials) {
    response.set("Access-Control-Allow-Methods", requestedMethod);
  } else if (std::string value = join(o_.allowMethods); !value.empty()) {
    response.set("Access-Control-Allow-Methods", arena.copy(value));
  }

  if (auto match = matchOrigin(request.get("Origin")))
    response.set("Access-Control-Allow-Origin", arena.copy(*match));
  if (o_.maxAge) response.set("Access-Control-Max-Age", arena.copy(std::to_string(*o_.maxAge)));
  if (std::string expose = exposeValue(); !expose.empty())
    response.set("Access-Control-Expose-Headers", arena.copy(expose));
}

void Cors::decorate(std::string_view origin, http::Headers& response, Arena& arena) const {
  if (auto match = matchOrigin(origin))
    response.set("Access-Control-Allow-Origin", arena.copy(*match));
  if (o_.allowCredentials) response.set("Access-Control-Allow-Credentials", "true");
  if (std::string expose = exposeValue(); !expose.empty())
    response.set("Access-Control-Expose-Headers", arena.copy(expose));
  if (!o_.addVaryHeader) return;
  std::string_view vary = response.get("Vary");
  if (vary == "Origin") return;
  std::string value(vary);
  if (!value.empty()) value += ',';
  value += "Origin";
  response.set("Vary", arena.copy(value));
}

}  // namespace causeway::middleware
