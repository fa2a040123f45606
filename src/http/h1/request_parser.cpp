#include "http/h1/request_parser.h"

#include <algorithm>

#include "http/h1/field_scan.h"

namespace causeway::http::h1 {

namespace {

using detail::FieldId;

// What the field scan collected about the framing- and routing-related fields.
struct RequestFields {
  detail::TransferCodings codings;
  detail::ConnectionTokens connection;
  std::string_view hostValue;
  unsigned hostCount = 0;
  bool contentLengthSeen = false;
  bool upgradeField = false;
  bool expectContinue = false;
  bool expectOther = false;
  bool underscore = false;
};

}  // namespace

ParseStatus parseRequestHead(std::string_view input, const Limits& limits, RequestHead& out,
                             ParseError& error) {
  const char* const begin = input.data();
  // Bytes past maxHeadBytes are never looked at: a head that has not ended within the limit
  // is 431 whatever follows, which keeps one-shot and incremental parsing in agreement.
  const bool overHead = input.size() > limits.maxHeadBytes;
  const char* const end = begin + std::min(input.size(), limits.maxHeadBytes);

  auto fail = [&](int status, std::string_view reason) {
    error = {status, reason};
    return ParseStatus::Error;
  };
  auto needMore = [&] {
    return overHead ? fail(431, "request header section too large") : ParseStatus::Incomplete;
  };

  out.headers.clear();
  out.framing = Framing::None;
  out.contentLength = 0;
  out.expectContinue = false;
  out.upgrade = false;
  out.underscoreInNames = false;
  out.host = {};
  out.authority = {};
  out.headBytes = 0;

  // Empty lines before the request line (docs/security.md, S52).
  const char* p = begin;
  for (int empty = 0; p < end && (*p == '\r' || *p == '\n');) {
    if (*p == '\r') {
      if (p + 1 == end) return needMore();
      if (p[1] != '\n') return fail(400, "bare CR before the request line");
      p += 2;
    } else {
      ++p;
    }
    if (++empty > kMaxLeadingEmptyLines)
      return fail(400, "too many empty lines before the request line");
  }

  // Request line. Content bytes past maxRequestLine are never accepted: reaching lineEnd
  // while still inside the line is 414 (S49).
  const bool lineLimited = size_t(end - p) > limits.maxRequestLine;
  const char* const lineEnd = lineLimited ? p + limits.maxRequestLine + 1 : end;
  auto outOfLine = [&] { return lineLimited ? fail(414, "request line too long") : needMore(); };

  const char* q = p;
  while (q < lineEnd && chars::isTchar(*q))
    ++q;
  if (q == lineEnd) return outOfLine();
  if (q == p || *q != ' ') return fail(400, "invalid method");
  out.method = std::string_view(p, size_t(q - p));

  p = q + 1;
  q = scan::findTargetStop(p, lineEnd);
  while (q < lineEnd && *q == '%')
    q = scan::findTargetStop(q + 1, lineEnd);  // escapes: parseTarget
  if (q == lineEnd) return outOfLine();
  // Stops at: two SPs (S46), HTAB, CTL, '#' (S43), bytes >= 0x80, or a line end without a
  // version (HTTP/0.9 "GET /", S47).
  if (q == p || *q != ' ') return fail(400, "invalid request-target");
  out.target = std::string_view(p, size_t(q - p));

  p = q + 1;
  int version = detail::parseVersion(p, lineEnd);
  if (version == -2) return outOfLine();
  if (version < 0) return fail(400, "invalid HTTP version");
  p += 8;
  if (p == lineEnd) return outOfLine();
  if (*p == '\r') {
    if (p + 1 == end) return needMore();
    if (p[1] != '\n') return fail(400, "bare CR in the request line");
    p += 2;
  } else if (*p == '\n') {
    ++p;
  } else {
    return fail(400, "invalid HTTP version");  // "HTTP/1.10", "HTTP/1.1x", trailing SP
  }
  if (version / 10 != 1) return fail(505, "unsupported HTTP version");
  out.versionMinor = version % 10 == 0 ? 0 : 1;

  auto target = parseTarget(out.target, out.method);
  if (!target) return fail(400, "invalid request-target");
  out.uri = *target;

  // Field lines.
  RequestFields f;
  const bool http10 = out.versionMinor == 0;
  auto onField = [&](FieldId id, std::string_view, std::string_view value) -> const char* {
    switch (id) {
    case FieldId::Other:
      return nullptr;
    case FieldId::Host:
      if (++f.hostCount > 1) return "duplicate Host";
      f.hostValue = value;
      return nullptr;
    case FieldId::ContentLength:
      if (f.contentLengthSeen) return "duplicate Content-Length";
      f.contentLengthSeen = true;
      if (!detail::parseContentLength(value, out.contentLength)) return "invalid Content-Length";
      return nullptr;
    case FieldId::TransferEncoding:
      if (!detail::addTransferCodings(value, f.codings)) return "malformed Transfer-Encoding";
      return nullptr;
    case FieldId::Connection:
      detail::scanConnection(value, f.connection);
      return nullptr;
    case FieldId::Expect:
      if (value.empty()) return nullptr;
      if (detail::equalsLowerToken(value, "100-continue"))
        f.expectContinue = true;
      else
        f.expectOther = true;
      return nullptr;
    case FieldId::Upgrade:
      f.upgradeField = true;
      return nullptr;
    }
    return nullptr;
  };
  auto fields =
      detail::scanFields(p, end, limits.maxHeaderCount, out.headers, f.underscore, onField);
  if (fields.kind == detail::FieldsResult::NeedMore) return needMore();
  if (fields.kind == detail::FieldsResult::Error) return fail(fields.status, fields.reason);

  // Framing (docs/security.md, S01–S15).
  if (f.codings.present) {
    if (f.contentLengthSeen) return fail(400, "Content-Length with Transfer-Encoding");
    if (http10) return fail(400, "Transfer-Encoding in an HTTP/1.0 request");
    if (f.codings.chunked > 1) return fail(400, "chunked applied more than once");
    if (f.codings.chunked == 1 && !f.codings.lastIsChunked)
      return fail(400, "chunked is not the final transfer coding");
    if (f.codings.others > 0) return fail(501, "unsupported transfer coding");
    out.framing = Framing::Chunked;
  } else if (f.contentLengthSeen) {
    out.framing = Framing::ContentLength;
  } else {
    out.contentLength = 0;
  }

  // Host (S38–S42).
  if (f.hostCount == 0 && !http10) return fail(400, "missing Host");
  if (f.hostCount == 1) {
    auto authority = parseAuthority(f.hostValue);
    if (!authority) return fail(400, "invalid Host");
    out.host = f.hostValue;
    out.authority = *authority;
  }
  if (!out.uri.absoluteAuthority.empty()) {
    // Absolute-form (or CONNECT's authority-form) wins over Host (RFC 9112 §3.2.2).
    out.host = out.uri.absoluteAuthority;
    out.authority = *parseAuthority(out.host);  // validated by parseTarget
  }

  if (f.expectOther) return fail(417, "unsupported expectation");
  out.expectContinue = f.expectContinue && !http10;
  out.keepAlive = !f.connection.close && (!http10 || f.connection.keepAlive);
  out.upgrade = f.connection.upgrade && f.upgradeField;
  out.underscoreInNames = f.underscore;
  out.headBytes = size_t(fields.next - begin);
  return ParseStatus::Complete;
}

}  // namespace causeway::http::h1
