// Go net/url behaviour the rewrite and redirect middlewares depend on, and the path checks
// they share. Pure functions (no Asio).
//
// Vocabulary: a *decoded* path is Go's URL.Path; an *escaped* path is URL.EscapedPath(),
// which is what causeway keeps in Request::path and forwards.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace causeway::http::gourl {

// url.PathUnescape; false with `error` set to Go's message (`invalid URL escape "%zz"`).
bool pathUnescape(std::string_view in, std::string& out, std::string* error = nullptr);

// escape(s, encodePath): everything but unreserved characters and $&+,/:;=@ is %XX-encoded.
std::string escapePath(std::string_view decoded);

// validEncoded(s, encodePath): only characters a path may hold raw, plus '%'.
bool validEncodedPath(std::string_view raw);

// URL.EscapedPath() for a URL whose RawPath is `raw` and Path is `decoded`: `raw` when it is
// a valid encoding of `decoded`, else escapePath(decoded).
std::string escapedPath(std::string_view raw, std::string_view decoded);

// The number of bytes of `rawPath` that decode to the first `decodedPrefix.size()` bytes
// (Traefik's encodedPrefixLen: each %XX counts as one decoded byte).
size_t encodedPrefixLen(std::string_view rawPath, std::string_view decodedPrefix);

// The path re-normalization every rewrite applies (docs/security.md, T04; Traefik 3.7.3 for
// stripPrefix, stripPrefixRegex and replacePathRegex, where req.URL.JoinPath() must not change
// the rewritten path): `escaped` is normalized (unreserved %XX decoded, hex upper-cased,
// raw bytes that cannot stay raw escaped) into `out`; false when it holds an invalid escape
// or %00, or when removing dot segments and empty segments would change it, i.e. when
// forwarding it would send something else than what the rewrite produced (→ 400).
bool renormalize(std::string_view escaped, std::string& out);

// What url.Parse() followed by URL.String() / URL.RequestURI() gives, for the parts the
// middlewares need. Only the failures Go reports are reproduced (control characters, a
// scheme-less leading ':', bad escapes in the path or fragment, a non-numeric port, a colon
// in the first segment of a scheme-less relative reference).
struct ParsedUrl {
  std::string scheme;   // lower-case
  bool opaque = false;  // "scheme:opaque" (no '/' after the scheme)
  std::string opaqueText;
  bool hasAuthority = false;
  std::string authority;  // userinfo@host:port as written
  std::string rawPath;    // as written
  std::string path;       // decoded
  std::string rawQuery;
  bool forceQuery = false;  // a '?' with nothing after it
  bool hasFragment = false;
  std::string rawFragment;

  std::string escapedPath() const { return gourl::escapedPath(rawPath, path); }
  std::string string() const;      // URL.String()
  std::string requestUri() const;  // URL.RequestURI()
};
std::optional<ParsedUrl> parse(std::string_view text, std::string& error);

}  // namespace causeway::http::gourl
