// Traefik's provider.Normalize, which every provider uses for the names it generates: each run
// of characters other than ASCII letters and digits becomes one '-', none at either end
// ("web_shop" → "web-shop", "default-my.route" → "default-my-route").
#pragma once

#include <cctype>
#include <string>
#include <string_view>

namespace causeway::provider {

inline std::string normalizeName(std::string_view name) {
  std::string out;
  bool dash = false;
  for (unsigned char c : name) {
    if (std::isalnum(c)) {
      if (dash && !out.empty()) out += '-';
      out += char(c);
      dash = false;
    } else {
      dash = true;
    }
  }
  return out;
}

}  // namespace causeway::provider
