#include "http/h1/response_parser.h"

#include <algorithm>

#include "http/h1/field_scan.h"

namespace causeway::http::h1 {

namespace {
using detail::FieldId;
}  // namespace

ParseStatus parseResponseHead(std::string_view input, std::string_view requestMethod,
                              const Limits& limits, ResponseHead& out, ParseError& error) {
  const char* const begin = input.data();
  const bool overHead = input.size() > limits.maxHeadBytes;
  const char* const end = begin + std::min(input.size(), limits.maxHeadBytes);

  auto fail = [&](std::string_view reason) {
    error = {502, reason};
    return ParseStatus::Error;
  };
  auto needMore = [&] {
    return overHead ? fail("response header section too large") : ParseStatus::Incomplete;
  };

  out.headers.clear();
  out.framing = Framing::None;
  out.contentLength = 0;
  out.keepAlive = true;
  out.connectionField = false;
  out.reason = {};
  out.headBytes = 0;

  // Status line: HTTP-version SP 3DIGIT [SP reason-phrase] (CRLF | LF).
  const char* p = begin;
  const bool lineLimited = size_t(end - p) > limits.maxRequestLine;
  const char* const lineEnd = lineLimited ? p + limits.maxRequestLine + 1 : end;
  auto outOfLine = [&] { return lineLimited ? fail("status line too long") : needMore(); };

  int version = detail::parseVersion(p, lineEnd);
  if (version == -2) return outOfLine();
  if (version < 0 || version / 10 != 1) return fail("invalid HTTP version in status line");
  out.versionMinor = version % 10 == 0 ? 0 : 1;
  p += 8;
  int status = 0;
  for (int i = 0; i < 4; ++i, ++p) {
    if (p == lineEnd) return outOfLine();
    bool ok = i == 0 ? *p == ' ' : chars::isDigit(static_cast<unsigned char>(*p));
    if (!ok) return fail("invalid status code");
    if (i > 0) status = status * 10 + (*p - '0');
  }
  if (status < 100) return fail("invalid status code");
  out.status = status;
  if (p == lineEnd) return outOfLine();
  if (*p == ' ') {
    const char* reasonStart = ++p;
    p = detail::findControl(p, lineEnd);
    while (p < lineEnd && *p == '\t')
      p = detail::findControl(p + 1, lineEnd);
    if (p == lineEnd) return outOfLine();
    out.reason = std::string_view(reasonStart, size_t(p - reasonStart));
  }
  if (*p == '\r') {
    if (p + 1 == end) return needMore();
    if (p[1] != '\n') return fail("bare CR in status line");
    p += 2;
  } else if (*p == '\n') {
    ++p;
  } else {
    return fail("invalid status line");
  }

  detail::TransferCodings codings;
  detail::ConnectionTokens connection;
  std::string_view contentLengthText;
  bool contentLengthSeen = false;
  bool underscore = false;
  auto onField = [&](FieldId id, std::string_view, std::string_view value) -> const char* {
    switch (id) {
    case FieldId::ContentLength:
      if (contentLengthSeen)
        return value == contentLengthText ? nullptr : "conflicting Content-Length";
      contentLengthSeen = true;
      contentLengthText = value;
      return detail::parseContentLength(value, out.contentLength) ? nullptr
                                                                  : "invalid Content-Length";
    case FieldId::TransferEncoding:
      return detail::addTransferCodings(value, codings) ? nullptr : "malformed Transfer-Encoding";
    case FieldId::Connection:
      out.connectionField = true;
      detail::scanConnection(value, connection);
      return nullptr;
    default:
      return nullptr;
    }
  };
  auto fields = detail::scanFields(p, end, limits.maxHeaderCount, out.headers, underscore, onField);
  if (fields.kind == detail::FieldsResult::NeedMore) return needMore();
  if (fields.kind == detail::FieldsResult::Error) return fail(fields.reason);

  if (codings.present) {
    if (contentLengthSeen) return fail("Content-Length with Transfer-Encoding");
    if (out.versionMinor == 0) return fail("Transfer-Encoding in an HTTP/1.0 response");
    if (codings.chunked != 1 || codings.others != 0) return fail("unsupported Transfer-Encoding");
  }
  out.keepAlive = !connection.close && (out.versionMinor == 1 || connection.keepAlive);

  const bool noBody = status < 200 || status == 204 || status == 304 || requestMethod == "HEAD" ||
                      (requestMethod == "CONNECT" && status < 300);
  if (noBody) {
    out.framing = Framing::None;
  } else if (codings.present) {
    out.framing = Framing::Chunked;
  } else if (contentLengthSeen) {
    out.framing = Framing::ContentLength;
  } else {
    out.framing = Framing::UntilClose;
    out.keepAlive = false;
  }
  out.headBytes = size_t(fields.next - begin);
  return ParseStatus::Complete;
}

}  // namespace causeway::http::h1
