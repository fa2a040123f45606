#include "http/h1/chunked.h"

#include <array>

#include "core/strings.h"
#include "http/h1/char_class.h"
#include "http/h1/field_scan.h"

namespace causeway::http::h1 {

namespace {

constexpr bool isWs(char c) {
  return c == ' ' || c == '\t';
}

constexpr std::array<std::string_view, 25> kForbiddenTrailers = {
    "Authorization",
    "Cache-Control",
    "Connection",
    "Content-Encoding",
    "Content-Length",
    "Content-Range",
    "Content-Type",
    "Expect",
    "Host",
    "Keep-Alive",
    "Max-Forwards",
    "Pragma",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Proxy-Connection",
    "Range",
    "Realm",
    "TE",
    "Trailer",
    "Transfer-Encoding",
    "WWW-Authenticate",
    "Cookie",
    "Set-Cookie",
    "Upgrade",
    "HTTP2-Settings",
};

}  // namespace

bool isForbiddenTrailer(std::string_view name) {
  for (std::string_view forbidden : kForbiddenTrailers)
    if (iequals(name, forbidden)) return true;
  return iequals(name, "Forwarded") || iequals(name, "X-Real-Ip") ||
         istartsWith(name, "X-Forwarded-");
}

ChunkedDecoder::ChunkedDecoder(Arena& arena, const Limits& limits)
    : arena_(arena), maxChunkLine_(limits.maxChunkLine), maxTrailerBytes_(limits.maxTrailerBytes),
      maxTrailerCount_(limits.maxHeaderCount) {}

void ChunkedDecoder::reset() {
  state_ = State::SizeFirst;
  sizeDigits_ = 0;
  remaining_ = 0;
  lineBytes_ = 0;
  trailerBytes_ = 0;
  trailerCount_ = 0;
  bodyBytes_ = 0;
  line_.clear();
  trailers_.clear();
  error_ = {};
}

ChunkedDecoder::Step ChunkedDecoder::failWith(int status, std::string_view reason) {
  state_ = State::Failed;
  error_ = {status, reason};
  return Step::Error;
}

ChunkedDecoder::Step ChunkedDecoder::advance(std::string_view in, size_t& consumed) {
  const size_t n = in.size();
  size_t i = 0;
  consumed = 0;
  if (state_ == State::Done) return Step::Done;
  if (state_ == State::Failed) return Step::Error;
  for (; i < n; ++i) {
    const char c = in[i];
    consumed = i;  // on error, the offending byte is not consumed
    if (state_ <= State::ExtAfterValueBws && c != '\r' && ++lineBytes_ > maxChunkLine_)
      return failWith(400, "chunk size line too long");
    switch (state_) {
    case State::SizeFirst:
      if (!chars::isHex(c)) return failWith(400, "invalid chunk size");
      remaining_ = chars::hexValue(c);
      sizeDigits_ = 1;
      state_ = State::Size;
      break;
    case State::Size:
      if (chars::isHex(c)) {
        if (++sizeDigits_ > 16) return failWith(400, "chunk size too large");
        remaining_ = remaining_ << 4 | chars::hexValue(c);
      } else if (c == '\r') {
        state_ = State::SizeLf;
      } else if (c == ';') {
        state_ = State::ExtNameStart;
      } else if (isWs(c)) {
        state_ = State::SizeBws;
      } else {
        return failWith(400, c == '\n' ? "bare LF in chunk size line" : "invalid chunk size");
      }
      break;
    case State::SizeBws:
      if (c == ';')
        state_ = State::ExtNameStart;
      else if (!isWs(c))
        return failWith(400, "invalid chunk size");
      break;
    case State::ExtNameStart:
      if (chars::isTchar(c))
        state_ = State::ExtName;
      else if (!isWs(c))
        return failWith(400, "invalid chunk extension");
      break;
    case State::ExtName:
      if (chars::isTchar(c)) break;
      if (c == '\r')
        state_ = State::SizeLf;
      else if (c == ';')
        state_ = State::ExtNameStart;
      else if (c == '=')
        state_ = State::ExtValueStart;
      else if (isWs(c))
        state_ = State::ExtAfterName;
      else
        return failWith(400, "invalid chunk extension");
      break;
    case State::ExtAfterName:
      if (c == '=')
        state_ = State::ExtValueStart;
      else if (!isWs(c))
        return failWith(400, "invalid chunk extension");
      break;
    case State::ExtValueStart:
      if (c == '"')
        state_ = State::ExtQuoted;
      else if (chars::isTchar(c))
        state_ = State::ExtToken;
      else if (!isWs(c))
        return failWith(400, "invalid chunk extension");
      break;
    case State::ExtToken:
      if (chars::isTchar(c)) break;
      if (c == '\r')
        state_ = State::SizeLf;
      else if (c == ';')
        state_ = State::ExtNameStart;
      else if (isWs(c))
        state_ = State::ExtAfterValueBws;
      else
        return failWith(400, "invalid chunk extension");
      break;
    case State::ExtQuoted:
      if (c == '"')
        state_ = State::ExtAfterValue;
      else if (c == '\\')
        state_ = State::ExtQuotedEscape;
      else if (!chars::is(c, chars::kQdText))
        return failWith(400, "invalid chunk extension");
      break;
    case State::ExtQuotedEscape:
      // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
      if (!chars::is(c, chars::kFieldValue)) return failWith(400, "invalid chunk extension");
      state_ = State::ExtQuoted;
      break;
    case State::ExtAfterValue:
      if (c == '\r')
        state_ = State::SizeLf;
      else if (c == ';')
        state_ = State::ExtNameStart;
      else if (isWs(c))
        state_ = State::ExtAfterValueBws;
      else
        return failWith(400, "invalid chunk extension");
      break;
    case State::ExtAfterValueBws:
      if (c == ';')
        state_ = State::ExtNameStart;
      else if (!isWs(c))
        return failWith(400, "invalid chunk extension");
      break;
    case State::SizeLf:
      if (c != '\n') return failWith(400, "bare CR in chunk size line");
      lineBytes_ = 0;
      if (remaining_ == 0) {
        state_ = State::TrailerLineStart;
        break;
      }
      state_ = State::Data;
      consumed = i + 1;
      return Step::Data;
    case State::Data:  // unreachable: decode() handles data
      consumed = i;
      return Step::Data;
    case State::DataCr:
      if (c != '\r') return failWith(400, "chunk data does not end with CRLF");
      state_ = State::DataLf;
      break;
    case State::DataLf:
      if (c != '\n') return failWith(400, "bare CR after chunk data");
      state_ = State::SizeFirst;
      break;
    case State::TrailerLineStart:
      if (c == '\r') {
        state_ = State::FinalLf;
        break;
      }
      if (c == '\n') return failWith(400, "bare LF in trailer section");
      state_ = State::TrailerLine;
      [[fallthrough]];
    case State::TrailerLine: {
      size_t j = i;
      while (j < n && in[j] != '\r' && in[j] != '\n')
        ++j;
      // Field-line content counts against the cap (CRLFs do not); on overflow the first
      // byte past the cap is the one reported, however the input was split.
      if (j - i > maxTrailerBytes_ - trailerBytes_) {
        consumed = i + (maxTrailerBytes_ - trailerBytes_);
        return failWith(431, "trailer section too large");
      }
      trailerBytes_ += j - i;
      line_.append(in.data() + i, j - i);
      if (j == n) {
        consumed = n;
        return Step::NeedMore;
      }
      consumed = j;
      if (in[j] == '\n') return failWith(400, "bare LF in trailer section");
      state_ = State::TrailerLf;
      i = j;
      break;
    }
    case State::TrailerLf:
      if (c != '\n') return failWith(400, "bare CR in trailer section");
      if (!finishTrailerLine()) return Step::Error;
      state_ = State::TrailerLineStart;
      break;
    case State::FinalLf:
      if (c != '\n') return failWith(400, "bare CR at the end of a chunked body");
      state_ = State::Done;
      consumed = i + 1;
      return Step::Done;
    case State::Done:
    case State::Failed:
      return Step::Error;  // unreachable
    }
  }
  consumed = n;
  return Step::NeedMore;
}

bool ChunkedDecoder::finishTrailerLine() {
  if (++trailerCount_ > maxTrailerCount_) {
    failWith(431, "too many trailer fields");
    return false;
  }
  const char* p = line_.data();
  const char* end = p + line_.size();
  const char* nameStart = p;
  while (p < end && chars::isTchar(*p))
    ++p;
  if (p == end || *p != ':' || p == nameStart) {
    failWith(400, p == nameStart ? "invalid trailer field name" : "invalid trailer field line");
    return false;
  }
  std::string_view name(nameStart, size_t(p - nameStart));
  ++p;
  while (p < end && isWs(*p))
    ++p;
  const char* valueStart = p;
  const char* q = detail::findControl(p, end);
  while (q < end && *q == '\t')
    q = detail::findControl(q + 1, end);
  if (q != end) {
    failWith(400, "control character in trailer value");
    return false;
  }
  while (end > valueStart && isWs(end[-1]))
    --end;
  std::string_view value(valueStart, size_t(end - valueStart));
  if (!isForbiddenTrailer(name)) trailers_.add(arena_.copy(name), arena_.copy(value));
  line_.clear();
  return true;
}

void appendChunkHeader(std::string& out, size_t size) {
  char buf[sizeof(size_t) * 2 + 2];
  char* p = buf + sizeof(buf);
  *--p = '\n';
  *--p = '\r';
  do {
    *--p = chars::kLowerHex[size & 15];
    size >>= 4;
  } while (size != 0);
  out.append(p, size_t(buf + sizeof(buf) - p));
}

void appendLastChunk(std::string& out, const Headers& trailers) {
  out.append("0\r\n");
  for (const HeaderField& field : trailers) {
    if (isForbiddenTrailer(field.name)) continue;
    out.append(field.name);
    out.append(": ");
    out.append(field.value);
    out.append("\r\n");
  }
  out.append("\r\n");
}

}  // namespace causeway::http::h1
