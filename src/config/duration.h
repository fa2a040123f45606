// Durations as Traefik writes them.
#pragma once

#include <chrono>
#include <compare>
#include <optional>
#include <string>
#include <string_view>

namespace causeway::config {

struct Duration {
  std::chrono::nanoseconds value{0};

  constexpr Duration() = default;
  template <class Rep, class Period>
  constexpr Duration(std::chrono::duration<Rep, Period> d) // NOLINT: implicit on purpose
      : value(std::chrono::duration_cast<std::chrono::nanoseconds>(d)) {}

  // Accepts what Traefik accepts: a bare integer meaning seconds ("60", "-1"), or a Go duration:
  // an optional sign and a sequence of decimal numbers, each with an optional fraction and a unit
  // among ns, us (µs, μs), ms, s, m, h ("10s", "1m30s", "1.5h", "-1s", "0"). On failure returns
  // nullopt and, when `error` is given, sets it to a short reason (without the text).
  static std::optional<Duration> parse(std::string_view text, std::string* error = nullptr);

  // Go's rendering: "1m30s", "100ms", "1h0m0s", "0s".
  std::string toString() const;

  constexpr bool isZero() const { return value.count() == 0; }
  friend constexpr auto operator<=>(const Duration&, const Duration&) = default;
};

} // namespace causeway::config
