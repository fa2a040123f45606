#include "upstream/health/probe_config.h"

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include "core/strings.h"
#include "http/go_text.h"

namespace causeway::upstream {

bool makeProbeConfig(const config::ServerHealthCheck& check, const std::string& serverUrl,
                     ProbeConfig& out, std::string& error, std::vector<std::string>& warnings) {
  auto base = boost::urls::parse_uri(serverUrl);
  if (!base) {
    error = "invalid server URL \"" + serverUrl + "\"";
    return false;
  }
  auto reference = boost::urls::parse_uri_reference(check.path);
  if (!reference) {
    error = "parsing health check path: invalid path \"" + check.path + "\"";
    return false;
  }
  if (reference->has_scheme() || reference->has_authority()) {
    error = "health check path must be a relative URL, got: \"" + check.path + "\"";
    return false;
  }
  boost::urls::url resolved;
  if (!boost::urls::resolve(*base, *reference, resolved)) {
    error = "cannot resolve health check path \"" + check.path + "\"";
    return false;
  }
  resolved.remove_fragment();
  if (!check.scheme.empty()) resolved.set_scheme(check.scheme);
  if (check.port != 0) {
    if (check.port < 0 || check.port > 65535) {
      error = "invalid health check port " + std::to_string(check.port);
      return false;
    }
    resolved.set_port_number(uint16_t(check.port));
  }
  out.url = std::string(resolved.buffer());
  out.grpc = iequals(check.mode, "grpc");
  out.method = check.method.empty() ? "GET" : check.method;
  out.hostname = check.hostname;
  out.headers.clear();
  for (const auto& [name, value] : check.headers)
    out.headers.emplace_back(http::canonicalHeaderKey(name), value);
  out.status = check.status;
  out.followRedirects = check.followRedirects;
  using std::chrono::seconds;
  out.interval = check.interval.value;
  if (out.interval.count() <= 0) {
    warnings.push_back(
        "health check interval smaller than zero, default value will be used instead");
    out.interval = seconds(30);
  }
  out.unhealthyInterval = check.unhealthyInterval ? check.unhealthyInterval->value : out.interval;
  if (out.unhealthyInterval.count() <= 0) {
    warnings.push_back(
        "health check unhealthy interval smaller than zero, default value will be used instead");
    out.unhealthyInterval = seconds(30);
  }
  out.timeout = check.timeout.value;
  if (out.timeout.count() <= 0) {
    warnings.push_back(
        "health check timeout smaller than zero, default value will be used instead");
    out.timeout = seconds(5);
  }
  return true;
}

}  // namespace causeway::upstream
