// Streaming compressors for the compress middleware: gzip (zlib, level 6), brotli
// (quality 6 as andybalholm/brotli's default, window 2^20 to bound memory) and zstd (level 3,
// with a content checksum, as klauspost's default). Each call consumes all of its input and
// appends what the compressor has produced; `Flush` ends with a sync point so the client
// can decode everything sent so far (used for streamed responses), `Finish` ends the stream.
// Memory per stream is bounded by the codec's window and state (about 1–3 MiB).
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace causeway::middleware::compress {

enum class Flush { None, Sync, Finish };

class Encoder {
 public:
  virtual ~Encoder() = default;
  // False when the codec fails (out of memory): abort the body.
  virtual bool compress(std::string_view input, Flush flush, std::string& out) = 0;
  virtual std::string_view name() const = 0;  // the Content-Encoding token
};

// "gzip", "br" or "zstd"; nullptr for anything else or when the codec cannot start.
std::unique_ptr<Encoder> makeEncoder(std::string_view encoding);

}  // namespace causeway::middleware::compress
