// Error collection while decoding the generic tree into typed structs.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_error.h"

namespace causeway::config {

// Collects ConfigErrors and knows which element is being decoded: its dotted path
// ("http.routers.api.tls") and the location of the key that introduced it. Single-threaded.
class DecodeContext {
public:
  DecodeContext() = default;

  // While a Scope is alive the context describes a child element. Scopes nest strictly.
  class Scope {
  public:
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
    ~Scope();

  private:
    friend class DecodeContext;
    Scope(DecodeContext& context, size_t pathLength, Location location)
        : context_(context), pathLength_(pathLength), location_(std::move(location)) {}
    DecodeContext& context_;
    size_t pathLength_;
    Location location_; // the parent's, restored on exit
  };
  // Child element `key` (appended as ".key"), introduced at `keyLocation`.
  [[nodiscard]] Scope enter(std::string_view key, const Location& keyLocation);
  // List item `index` (appended as "[index]").
  [[nodiscard]] Scope enterIndex(size_t index, const Location& location);

  // Records an error about the current element, at `where` (the current element's location when
  // `where` is unknown). Returns the recorded error.
  const ConfigError& error(const Location& where, std::string message);
  const ConfigError& warning(const Location& where, std::string message);
  // A warning about an option Traefik has and causeway does not implement yet (ignored).
  const ConfigError& unsupported(const Location& where, std::string message);
  // Records an error at the current element's location.
  const ConfigError& error(std::string message) { return error(location_, std::move(message)); }

  const std::string& path() const { return path_; }

  // The previous decoding of the same provider's configuration, when the caller keeps one: the
  // map of elements decoded at `path` ("http.routers"), or null. decodeMap copies an element
  // from it instead of decoding it again when its node is unchanged (same fingerprint, its name
  // at the same place) and it had no error or warning: a change to one router of ten thousand
  // decodes one router.
  std::function<const void*(std::string_view path)> previous;
  const Location& location() const { return location_; }
  const std::vector<ConfigError>& errors() const { return errors_; }
  std::vector<ConfigError> takeErrors() { return std::move(errors_); }

private:
  const ConfigError& add(const Location& where, std::string message, bool warning);

  std::vector<ConfigError> errors_;
  std::string path_;
  Location location_;
};

} // namespace causeway::config
