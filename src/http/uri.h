// Request-target, authority and path helpers shared by every codec (HTTP/1.1 request
// lines, HTTP/2 and HTTP/3 :authority/:path) and by the router and the rewrite middlewares.
// Pure functions over byte strings: no allocation except into the caller's reused buffers.
//
// Path semantics follow Traefik v3 (pkg/server/server_entrypoint_tcp.go): the routing path
// and the forwarded path are the same string, produced by normalizePath():
//   1. RFC 3986 §6.2.2.1/§6.2.2.2: %XX of unreserved characters decoded, the hex of every other
//      escape upper-cased (Traefik normalizePath, cannot be disabled);
//   2. if http.sanitizePath (default true): dot segments removed and "//" merged, as Go's
//      url.URL.JoinPath() does (path.Clean + keep a trailing slash).
// Reserved escapes (%2F %5C %25 %3F ...) are never decoded, so nothing is decoded twice and
// an encoded slash never becomes a segment separator (docs/security.md, T04, P01–P09).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace causeway::http {

// An authority split into host and port. `host` keeps the brackets of an IP literal
// ("[::1]") so that host + ":" + port rebuilds the text; normalizeHost() removes them for
// routing (Traefik routes on "::1"). `port` is empty when absent or written empty ("a:").
struct Authority {
  std::string_view host;
  std::string_view port;
};

// Validates a Host field value or the authority of an absolute-form / authority-form target
// (docs/security.md, S40/S41) and splits it. Rejected (nullopt):
//  - empty text or empty host; userinfo ('@'); '/', '\\', '%', SP, CTLs, bytes >= 0x80 and
//    every other byte outside RFC 3986 reg-name (unreserved / sub-delims);
//  - a host starting with '.' or containing ".." (a single trailing dot is fine, see S41);
//  - a ':' outside brackets other than the port separator ("a:1:2", unbracketed IPv6);
//  - an unterminated '[' or an IP literal that is not an IPv6 address (no IPvFuture, no
//    zone identifier), or bytes other than ':' + port after ']';
//  - a port that is not 0–5 digits or is above 65535 (an empty port is accepted).
std::optional<Authority> parseAuthority(std::string_view text);

// The routing form of a host (S41): IP-literal brackets removed, a ":port" suffix removed
// if present, one trailing dot stripped, ASCII lower-cased. `host` should be a value that
// parseAuthority() accepted (Authority::host or the whole authority). Writes into `out`
// (cleared first; its capacity is reused, so no allocation once it has grown).
void normalizeHost(std::string_view host, std::string& out);

enum class TargetForm { Origin, Absolute, Authority, Asterisk };

// A request-target split into its parts; every view points into the parsed target (or to a
// string literal for the synthesized "/" and "*").
struct Target {
  TargetForm form = TargetForm::Origin;
  // Origin/absolute form: the raw (not normalised) path, always starting with '/'. An empty
  // absolute-form path becomes "/" — or "*" for OPTIONS without a query (RFC 9112 §3.2.4).
  // Asterisk form: "*". Authority form: empty.
  std::string_view path;
  std::string_view query;              // without the '?'
  bool hasQuery = false;               // tells "/p?" (empty query) from "/p"
  std::string_view absoluteAuthority;  // absolute form and authority form (CONNECT)
  std::string_view absoluteScheme;     // absolute form: "http" or "https" as written
};

// Splits and validates a request-target against its method (S42–S45, RFC 9112 §3.2):
//  - origin-form "/p?q" for any method except CONNECT;
//  - absolute-form "http://h/p?q" with scheme http or https (case-insensitive) and a valid
//    authority (parseAuthority) for any method except CONNECT; "http://@/p" (empty userinfo and
//    host) is accepted with an empty absoluteAuthority, so that the Host field routes, as in Go;
//  - asterisk-form "*" for OPTIONS only; authority-form "h:port" (port required) for
//    CONNECT only.
// Rejected (nullopt): anything else ("a", "GET *", "OPTIONS */x", "CONNECT /p"), '#'
// anywhere, CTLs, SP, DEL, bytes >= 0x80 (they must be percent-encoded), and invalid
// %-escapes ("%", "%1", "%zz") in the path. A stray '%' in the query is accepted (Go and
// browsers do; "?q=100%"). Other printable ASCII that RFC
// 3986 does not allow raw ('"', '<', '>', '\\', '^', '`', '{', '|', '}') is accepted, as Go,
// nginx and browsers do; normalizePath() percent-encodes it before routing and forwarding.
std::optional<Target> parseTarget(std::string_view target, std::string_view method);

// Traefik's path normalisation (see the file comment) of a raw path into `out` (cleared
// first, capacity reused). Details:
//  - %XX of ALPHA DIGIT - . _ ~ is decoded; every other escape is kept with upper-case hex,
//    so %2F, %5C, %25, %3F... stay encoded (P03, P06).
//  - a raw byte outside RFC 3986 pchar / '/' / '[' / ']' (for example '"', '\\', '{', or
//    a byte >= 0x80 left by a rewrite) is percent-encoded, as Go's URL.EscapedPath() does.
//  - if `sanitize`: "." and ".." segments and empty segments are removed exactly like Go's
//    path.Clean (so "%2e%2e" counts as ".." because step 1 decoded it: P01, P02, P04); a
//    trailing slash of the input is kept ("/./foo/../bar//" → "/bar/"), the result never
//    climbs above "/". Like Go, a trailing "/." or "/.." yields no trailing slash ("/a/." →
//    "/a"), where RFC 3986 §5.2.4 would keep one. Stricter than Go: "..;x" and ".;x" count as
//    dot segments, because Tomcat/Spring strip ";params" before resolving dots, so
//    "/public/..;/admin" becomes "/admin" here too (P07). Other ';' stay literal.
//  - the result always starts with '/' (one is prepended to a relative input, e.g. after a
//    StripPrefix), except that "*" stays "*" and "" becomes "/".
// Returns false, leaving `out` unspecified, for an invalid escape ("%", "%1", "%zz") and for
// %00 or a raw NUL (an encoded NUL is rejected whatever the encodedCharacters options say:
// docs/security.md, T04, P05; a raw one can only come from a rewrite).
bool normalizePath(std::string_view rawPath, bool sanitize, std::string& out);

// Percent-decoding with the semantics of Go's url.QueryUnescape ('+' becomes ' ') and
// url.PathUnescape ('+' kept). `out` is cleared first. False on an invalid escape.
bool queryUnescape(std::string_view in, std::string& out);
bool pathUnescape(std::string_view in, std::string& out);

// Go's url.QueryEscape: ALPHA DIGIT - _ . ~ kept, ' ' becomes '+', every other byte %XX.
void appendQueryEscaped(std::string& out, std::string_view in);
inline std::string queryEscape(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  appendQueryEscaped(out, in);
  return out;
}

// Which of Traefik's encodedCharacters (entry point http.encodedCharacters and the
// EncodedCharacters middleware) appear in a raw or normalised path: %2F %5C %00 %3B %25 %3F
// %23, hex case-insensitive. Escapes are read left to right as Traefik does, so "%252F" has
// only `percent`. Invalid escapes are skipped (parseTarget has rejected them already).
struct EncodedCharacters {
  bool slash = false, backslash = false, nul = false, semicolon = false, percent = false,
       questionMark = false, hash = false;
  bool any() const {
    return slash || backslash || nul || semicolon || percent || questionMark || hash;
  }
};
EncodedCharacters findEncodedCharacters(std::string_view rawPath);

}  // namespace causeway::http

namespace causeway::http {

// Traefik's routing path (pkg/muxer/http): the escaped path with every %XX decoded except
// the reserved characters of RFC 3986 §2.2 and '%' itself, so PathPrefix(`/foo bar`)
// matches /foo%20bar while /foo%2Fbar stays distinct from /foo/bar. Writes into `out` and
// returns true when it differs from `path` (paths without '%' are returned unchanged, fast).
bool routingPath(std::string_view path, std::string& out);

}  // namespace causeway::http
