// libFuzzer target for the URL code every request goes through (http/uri.h) and the Go URL
// rules the rewrite middlewares use (http/go_url.h). Properties checked:
//  - a request-target accepted for GET, OPTIONS or CONNECT has views inside the input (or
//    the synthesized "/" and "*");
//  - normalizePath is idempotent, starts with '/', and a sanitized result holds no "." or
//    ".." segment and no empty segment but a trailing one;
//  - renormalize is idempotent; parseAuthority's split rebuilds a prefix of its input;
//  - Go URL parsing and printing never crash.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/go_url.h"
#include "http/uri.h"

namespace http = causeway::http;

namespace {

bool inside(std::string_view view, std::string_view whole) {
  return view.empty() || (view.data() >= whole.data() && view.data() + view.size() <= whole.data() + whole.size()) ||
         view == "/" || view == "*";
}

void checkNormalized(std::string_view path, bool sanitize) {
  std::string once, twice;
  if (!http::normalizePath(path, sanitize, once)) return;
  if (once.empty() || (once[0] != '/' && once != "*")) std::abort();
  if (!http::normalizePath(once, sanitize, twice) || twice != once) std::abort();
  if (!sanitize || once == "*") return;
  size_t start = 1;
  while (start <= once.size()) {
    size_t end = once.find('/', start);
    if (end == std::string::npos) end = once.size();
    std::string_view segment(once.data() + start, end - start);
    if (segment == "." || segment == "..") std::abort();
    if (segment.empty() && end != once.size()) std::abort();
    start = end + 1;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  for (std::string_view method : {"GET", "OPTIONS", "CONNECT"}) {
    auto target = http::parseTarget(input, method);
    if (!target) continue;
    if (!inside(target->path, input) || !inside(target->query, input) ||
        !inside(target->absoluteAuthority, input))
      std::abort();
    if (target->form == http::TargetForm::Origin || target->form == http::TargetForm::Absolute) {
      checkNormalized(target->path, true);
      checkNormalized(target->path, false);
      (void)http::findEncodedCharacters(target->path);
    }
  }
  if (auto authority = http::parseAuthority(input)) {
    std::string host;
    http::normalizeHost(authority->host, host);
    if (!input.starts_with(authority->host)) std::abort();
  }
  std::string once, twice;
  if (http::gourl::renormalize(input, once)) {
    if (!http::gourl::renormalize(once, twice) || twice != once) std::abort();
  }
  std::string error;
  if (auto url = http::gourl::parse(input, error)) {
    (void)url->string();
    (void)url->requestUri();
    (void)url->escapedPath();
  }
  std::string decoded;
  if (http::gourl::pathUnescape(input, decoded)) (void)http::gourl::escapePath(decoded);
  return 0;
}
