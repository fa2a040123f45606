// The pure decisions of the compress middleware, as Traefik makes them:
//  - which encoding to use for a request's Accept-Encoding (Traefik's acceptencoding.go);
//  - whether gzip is acceptable to klauspost's gzhttp handler, which Traefik uses for gzip
//    and which reads the first Accept-Encoding field only (so `*` or a defaultEncoding of
//    gzip never gives gzip, exactly as in Traefik);
//  - Go's mime.ParseMediaType and the content-type matching of both handlers.
// (gzhttp sniffs a missing Content-Type with Go's DetectContentType: middleware/sniff.h.)
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace causeway::middleware::compress {

inline constexpr std::string_view kIdentity = "identity";
inline constexpr std::string_view kNotAcceptable = "not_acceptable";

// `values`: every Accept-Encoding field of the request (the header is present). `encodings`:
// the configured list (preference order). Returns an encoding name, "identity" or
// "not_acceptable".
std::string chooseEncoding(std::span<const std::string_view> values,
                           const std::vector<std::string>& encodings,
                           std::string_view defaultEncoding);

// gzhttp: the q-value of "gzip" in the first Accept-Encoding field is above zero.
bool gzhttpAcceptsGzip(std::string_view firstAcceptEncoding);

struct MediaType {
  std::string type;                           // lower-case "type/subtype"
  std::map<std::string, std::string> params;  // lower-case keys
};
// Go's mime.ParseMediaType; nullopt when Go reports an error.
std::optional<MediaType> parseMediaType(std::string_view text);

// parsedContentType.equals: same media type, and when `configured` has parameters, exactly
// the same parameters.
bool mediaTypeEquals(const MediaType& configured, const MediaType& actual);

}  // namespace causeway::middleware::compress
