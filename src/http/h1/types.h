// Vocabulary shared by the HTTP/1.1 head parsers and the chunked decoder.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace causeway::http::h1 {

// Bounds applied while parsing. The defaults are those of the request side; the upstream
// client may pass larger ones for response heads (many Set-Cookie fields, for instance).
struct Limits {
  size_t maxRequestLine = 8192;   // request-line (or status-line) content, CRLF excluded → 414
  size_t maxHeadBytes = 1 << 20;  // whole head incl. request line and blank line (Traefik
                                  // http.maxHeaderBytes default, 1 MiB) → 431
  size_t maxHeaderCount = 100;    // field lines in a head (or a trailer section) → 431
  size_t maxChunkLine = 4096;     // chunk-size line incl. extensions, CRLF excluded → 400
  size_t maxTrailerBytes = 64 << 10;  // trailer field lines of a chunked body, CRLFs excluded → 431
};

// How the body of a message is delimited.
enum class Framing {
  None,           // no body (request without CL/TE, HEAD/1xx/204/304 responses, 2xx to CONNECT)
  ContentLength,  // exactly contentLength bytes follow the head
  Chunked,        // chunked transfer coding (decode with ChunkedDecoder)
  UntilClose,     // responses only: the body runs until the upstream closes the connection
};

// Why a message was rejected. `reason` always points to a string literal (safe to keep and
// to log). `status` is the response the proxy should send to the client before closing:
// 400/414/417/431/501/505 for requests; 502 for every upstream response error.
struct ParseError {
  int status = 400;
  std::string_view reason;
};

enum class ParseStatus { Complete, Incomplete, Error };

}  // namespace causeway::http::h1
