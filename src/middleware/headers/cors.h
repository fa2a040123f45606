// The CORS part of the headers middleware, as Traefik's pkg/middlewares/headers/header.go:
// answering preflight requests and adding Access-Control-* (and Vary) to other responses.
// Immutable after construction; shared by every worker.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/headers.h"

namespace re2 {
class RE2;
}

namespace causeway {
class Arena;
}

namespace causeway::middleware {

struct CorsOptions {
  bool allowCredentials = false;
  std::vector<std::string> allowHeaders;
  std::vector<std::string> allowMethods;
  std::vector<std::string> allowOriginList;
  std::vector<std::string> allowOriginListRegex;
  std::vector<std::string> exposeHeaders;
  std::optional<int64_t> maxAge;
  bool addVaryHeader = false;
};

class Cors {
 public:
  // Nullopt with `error` set when a regex does not compile.
  static std::optional<Cors> make(CorsOptions options, std::string& error);
  Cors(Cors&&) noexcept;
  Cors& operator=(Cors&&) noexcept;
  ~Cors();

  // An OPTIONS request with Origin and Access-Control-Request-Method.
  static bool isPreflight(std::string_view method, const http::Headers& request);

  // The headers of the 200 answer to a preflight request.
  void preflight(const http::Headers& request, http::Headers& response, Arena& arena) const;

  // Adds Access-Control-Allow-Origin (when `origin` matches), -Allow-Credentials,
  // -Expose-Headers and Vary to a response.
  void decorate(std::string_view origin, http::Headers& response, Arena& arena) const;

  // The Access-Control-Allow-Origin value for `origin`, or nullopt when it is not allowed.
  std::optional<std::string> matchOrigin(std::string_view origin) const;

 private:
  Cors() = default;
  std::string exposeValue() const;  // "" when the header must not be sent
  CorsOptions o_;
  std::vector<std::unique_ptr<const re2::RE2>> regexes_;
};

}  // namespace causeway::middleware
