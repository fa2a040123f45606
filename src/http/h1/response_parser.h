// Strict HTTP/1.1 response-head parser for upstream responses. Upstreams are untrusted:
// anything that could make the proxy and the upstream disagree on where the response ends
// is an error, and the proxy answers 502 and never reuses that upstream connection
// (docs/security.md, R08, RFC 9112 §6.3). Same buffer and view rules as parseRequestHead().
#pragma once

#include <cstdint>
#include <string_view>

#include "http/h1/types.h"
#include "http/headers.h"

namespace causeway::http::h1 {

struct ResponseHead {
  int versionMinor = 1;     // 0 or 1 (HTTP/1.2–1.9 are processed as 1.1)
  int status = 0;           // 100–999
  std::string_view reason;  // may be empty
  Headers headers;
  Framing framing = Framing::None;
  uint64_t contentLength = 0;  // the Content-Length value when present (also for HEAD/304)
  bool keepAlive = true;       // false for HTTP/1.0 without keep-alive, "close", UntilClose
  bool connectionField = false;  // a Connection field is present (it may nominate fields)
  size_t headBytes = 0;
};

// Parses a response head from the start of `input`. `requestMethod` is the method of the
// request this answers: HEAD responses and 2xx answers to CONNECT have no body. Framing:
// 1xx, 204 and 304 → None; Transfer-Encoding chunked → Chunked; Content-Length →
// ContentLength; neither → UntilClose (keepAlive false).
// Errors (ParseError::status is always 502):
//  - a status line other than "HTTP/1.x SP 3DIGIT [SP reason]" (the SP before an empty
//    reason may be missing; no empty line may precede it), CTLs in the reason;
//  - every field-line error of the request parser (obs-fold, bare CR, CR/LF/NUL or other CTL
//    in a value, bad names, no colon);
//  - Content-Length with Transfer-Encoding; Content-Length values that are invalid or differ
//    (identical duplicates are merged, as Go does); Transfer-Encoding other than exactly one
//    "chunked", or any Transfer-Encoding on an HTTP/1.0 response;
//  - a status line over limits.maxRequestLine, a head over limits.maxHeadBytes or with more
//    than limits.maxHeaderCount fields.
ParseStatus parseResponseHead(std::string_view input, std::string_view requestMethod,
                              const Limits& limits, ResponseHead& out, ParseError& error);

}  // namespace causeway::http::h1
