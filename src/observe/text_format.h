// Text building blocks shared by the exporters: Go's float formatting (the Prometheus client
// and Go's encoding/json print numbers this way), Prometheus label escaping, JSON string
// escaping as Go's encoding/json does it, Go time layouts, and Go's canonical header keys.
// Pure functions; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace causeway::observe {

// strconv.FormatFloat(v, 'g', -1, 64) as the Prometheus text format prints it, with "+Inf",
// "-Inf" and "NaN": 1 → "1", 0.3 → "0.3", 1e6 → "1e+06", 1234567 → "1.234567e+06".
void appendGoFloat(std::string& out, double value);
// Go's encoding/json for a float64: shortest form, exponent only below 1e-6 or from 1e21.
void appendJsonFloat(std::string& out, double value);
void appendDecimal(std::string& out, uint64_t value);
void appendDecimal(std::string& out, int64_t value);
inline void appendDecimal(std::string& out, int value) { appendDecimal(out, int64_t(value)); }

// A Prometheus label value: backslash, double quote and line feed escaped.
void appendLabelValue(std::string& out, std::string_view value);
// A Prometheus HELP text: backslash and line feed escaped.
void appendHelpText(std::string& out, std::string_view text);

// A JSON string with its quotes, as Go's encoding/json writes it (HTML-safe: <, > and &
// as \u003c..., control characters escaped, invalid UTF-8 as \ufffd, U+2028/2029 escaped).
void appendJsonString(std::string& out, std::string_view value);

// A value for the text access-log formats: control characters (CR, LF, ESC, ...) escaped as
// \r, \n, \t or \xHH so one request is always one line; with `quote`, " becomes \".
void appendLogText(std::string& out, std::string_view value, bool quote);

// Go time layouts. `nanos` since the Unix epoch; `offsetSeconds` east of UTC.
//   "02/Jan/2006:15:04:05 -0700" (common log format)
void appendClfTime(std::string& out, int64_t unixNanos, int offsetSeconds);
//   RFC3339Nano "2006-01-02T15:04:05.999999999Z07:00" (trailing zeros dropped)
void appendRfc3339Nano(std::string& out, int64_t unixNanos, int offsetSeconds);
//   RFC3339 "2006-01-02T15:04:05Z07:00"
void appendRfc3339(std::string& out, int64_t unixNanos, int offsetSeconds);

// textproto.CanonicalMIMEHeaderKey: "content-type" → "Content-Type". Names with characters
// that are not token characters (or with spaces) are returned unchanged.

}  // namespace causeway::observe
