// Strict HTTP/1.1 request-head parser (RFC 9112, docs/security.md).
// A pure function over a byte buffer: it never allocates (apart from growing the reused
// Headers vector), never reads past the input, and every view it returns points into the
// input. The connection keeps the bytes alive until the request has been forwarded.
//
// Everything ambiguous is an error, so the proxy answers ParseError::status and closes;
// nothing half-parsed reaches an upstream. The caller re-serialises the request from this
// parsed form (one framing header, CRLF line ends), it never forwards the raw bytes.
#pragma once

#include <cstdint>
#include <string_view>

#include "http/h1/types.h"
#include "http/headers.h"
#include "http/uri.h"

namespace causeway::http::h1 {

struct RequestHead {
  std::string_view method;          // a token, case kept as received ("get" is not "GET", S48)
  std::string_view target;          // the raw request-target
  Target uri;                       // target split by parseTarget() (form, path, query, authority)
  int versionMinor = 1;             // 0 or 1; HTTP/1.2–1.9 are processed as 1.1 (RFC 9110 §2.5)
  Headers headers;                  // every field line in order, values OWS-trimmed
  Framing framing = Framing::None;  // None, ContentLength or Chunked (never UntilClose)
  uint64_t contentLength = 0;       // valid when framing == ContentLength (≤ INT64_MAX)
  // HTTP/1.1 unless "close"; HTTP/1.0 only with "keep-alive".
  bool keepAlive = true;
  // Expect: 100-continue on HTTP/1.1 (ignored on HTTP/1.0, RFC 9110 §10.1.1).
  bool expectContinue = false;
  // Connection lists "upgrade" and an Upgrade field is present.
  bool upgrade = false;
  // Some field name contains '_' (S37; Traefik's http.underscoreHeadersStrategy acts on it).
  bool underscoreInNames = false;
  // The host to route on: the absolute-form or authority-form (CONNECT) authority when the
  // target has one (S42: the caller forwards it as Host), else the Host field value ("" only
  // for an HTTP/1.0 request without Host). Always accepted by parseAuthority(); `authority`
  // holds that split. Use normalizeHost() for the routing key.
  std::string_view host;
  Authority authority;
  size_t headBytes = 0;  // bytes consumed: leading empty lines, request line, fields, blank line
};

// Parses a request head from the start of `input`, which may hold more bytes (body,
// pipelined requests). On Complete, `out` is filled and input.substr(out.headBytes) is what
// follows the head. On Error, `error` says what to answer:
//   400 malformed (every S-row marked 400c), 414 request line over maxRequestLine,
//   431 head over maxHeadBytes or more than maxHeaderCount fields, 417 an Expect other than
//   100-continue, 501 a transfer coding other than chunked (gzip, xchunked...),
//   505 a well-formed version other than HTTP/1.x (HTTP/2.0, HTTP/0.9).
// Incomplete: the head is not complete yet and no limit is exceeded yet. Decisions are made
// left to right and never depend on bytes after the one that triggers them, so parsing a
// prefix gives either Incomplete or the same answer as parsing the whole input; syntax
// errors are therefore reported as soon as their bytes arrive.
//
// Rules, in brief (docs/security.md; the tests have one case per row):
//  - up to 8 empty lines (CRLF or LF) before the request line are skipped (S52);
//  - request line: token SP request-target SP HTTP-version, single SPs, no HTAB (S46), the
//    target checked by parseTarget() for the method (S42–S45);
//  - field lines end in CRLF or bare LF (S30); bare CR anywhere is 400 (S19/S31);
//  - Content-Length: one field, 1*DIGIT ≤ INT64_MAX; a duplicate, even equal, is 400 (S03–S06);
//  - Transfer-Encoding: exactly one "chunked" (any case, OWS incl. HTAB; S11/S12), only on
//    HTTP/1.1 (S15), never with Content-Length (S01/S02); malformed list, chunked twice or
//    not last → 400 (S09/S10); otherwise-valid unknown coding → 501 (S08);
//  - Host: exactly one on HTTP/1.1 (S38/S39), at most one on 1.0, valid per parseAuthority (S40).
// The request must not be used after `input` is released. `out` may be reused across calls
// (its Headers keep their capacity).
ParseStatus parseRequestHead(std::string_view input, const Limits& limits, RequestHead& out,
                             ParseError& error);

// At most this many empty lines may precede a request line (S52).
inline constexpr int kMaxLeadingEmptyLines = 8;

}  // namespace causeway::http::h1
