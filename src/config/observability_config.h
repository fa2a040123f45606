// Static configuration of observability (reference §1.6 accessLog, §1.7 metrics, §1.8 tracing),
// with Traefik's key names and defaults. Included by static_config.h; interpreted by observe/.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/client_tls.h"
#include "config/decode.h"
#include "config/duration.h"
#include "config/node.h"

namespace causeway::config {

// OTLP over HTTP: `endpoint` is scheme://host:port[/path] (path default /v1/traces).
struct OtelHttp {
  std::string endpoint = "https://localhost:4318";
  std::optional<ClientTls> tls;
  std::map<std::string, std::string> headers;

  static void describe(auto& self, auto& v) {
    v("endpoint", self.endpoint);
    v("tls", self.tls);
    v("headers", self.headers);
  }
};

// OTLP over gRPC: `endpoint` is host:port (TLS unless `insecure`).
struct OtelGrpc {
  std::string endpoint = "localhost:4317";
  bool insecure = false;
  std::optional<ClientTls> tls;
  std::map<std::string, std::string> headers;

  static void describe(auto& self, auto& v) {
    v("endpoint", self.endpoint);
    v("insecure", self.insecure);
    v("tls", self.tls);
    v("headers", self.headers);
  }
};

// log.otlp and accessLog.otlp: records pushed over OTLP/HTTP (JSON) or OTLP/gRPC.
struct OtlpLogs {
  std::string serviceName = "traefik";
  std::map<std::string, std::string> resourceAttributes;
  std::optional<OtelHttp> http;
  std::optional<OtelGrpc> grpc;

  static void describe(auto& self, auto& v) {
    v("serviceName", self.serviceName);
    v("resourceAttributes", self.resourceAttributes);
    v("http", self.http);
    v("grpc", self.grpc);
  }
};

// metrics.prometheus
struct PrometheusMetrics {
  std::vector<double> buckets = {0.1, 0.3, 1.2, 5.0};
  bool addEntryPointsLabels = true;
  bool addRoutersLabels = false;
  bool addServicesLabels = true;
  std::string entryPoint = "traefik";
  bool manualRouting = false; // true: no automatic router; route to prometheus@internal
  std::map<std::string, std::string> headerLabels; // label → request header (on *_requests_total)

  static void describe(auto& self, auto& v) {
    v("buckets", self.buckets);
    v("addEntryPointsLabels", self.addEntryPointsLabels);
    v("addRoutersLabels", self.addRoutersLabels);
    v("addServicesLabels", self.addServicesLabels);
    v("entryPoint", self.entryPoint);
    v("manualRouting", self.manualRouting);
    v("headerLabels", self.headerLabels);
  }

  void validate(DecodeContext& context) const {
    for (size_t i = 1; i < buckets.size(); ++i)
      if (!(buckets[i - 1] < buckets[i])) {
        context.error("buckets must be in increasing order");
        break;
      }
    for (const auto& [label, header] : headerLabels) {
      bool valid = !label.empty() && !(label[0] >= '0' && label[0] <= '9');
      for (char c : label)
        valid = valid && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_');
      if (!valid || label.rfind("__", 0) == 0)
        context.error("headerLabels: \"" + label + "\" is not a valid Prometheus label name");
      if (header.empty()) context.error("headerLabels: label \"" + label + "\" needs a header name");
    }
  }
};

// metrics.otlp: pushed over OTLP/HTTP (JSON encoding) or OTLP/gRPC.
struct OtlpMetrics {
  bool addEntryPointsLabels = true;
  bool addRoutersLabels = false;
  bool addServicesLabels = true;
  std::vector<double> explicitBoundaries = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                                            0.5,   0.75, 1,     2.5,  5,     7.5,  10};
  Duration pushInterval = std::chrono::seconds(10);
  std::string serviceName = "traefik";
  std::map<std::string, std::string> resourceAttributes;
  std::optional<OtelHttp> http;
  std::optional<OtelGrpc> grpc;

  static void describe(auto& self, auto& v) {
    v("addEntryPointsLabels", self.addEntryPointsLabels);
    v("addRoutersLabels", self.addRoutersLabels);
    v("addServicesLabels", self.addServicesLabels);
    v("explicitBoundaries", self.explicitBoundaries);
    v("pushInterval", self.pushInterval);
    v("serviceName", self.serviceName);
    v("resourceAttributes", self.resourceAttributes);
    v("http", self.http);
    v("grpc", self.grpc);
  }

  void validate(DecodeContext& context) const {
    for (size_t i = 1; i < explicitBoundaries.size(); ++i)
      if (!(explicitBoundaries[i - 1] < explicitBoundaries[i])) {
        context.error("explicitBoundaries must be in increasing order");
        break;
      }
    if (pushInterval.value.count() <= 0) context.error("pushInterval must be positive");
  }
};

// metrics (Traefik's other backends are accepted and kept raw).
struct Metrics {
  bool addInternals = false;
  std::optional<PrometheusMetrics> prometheus;
  std::optional<OtlpMetrics> otlp;
  std::optional<Node> datadog, statsD, influxDB2;

  static void describe(auto& self, auto& v) {
    v("addInternals", self.addInternals);
    v("prometheus", self.prometheus);
    v("datadog", self.datadog, NotYet{"metrics.datadog is not supported yet (use metrics.prometheus); no metrics are sent"});
    v("statsD", self.statsD, NotYet{"metrics.statsD is not supported yet (use metrics.prometheus); no metrics are sent"});
    v("influxDB2", self.influxDB2, NotYet{"metrics.influxDB2 is not supported yet (use metrics.prometheus); no metrics are sent"});
    v("otlp", self.otlp);
  }
};

struct AccessLogFilters {
  std::vector<std::string> statusCodes; // "200", "300-302"
  bool retryAttempts = false;
  Duration minDuration;

  static void describe(auto& self, auto& v) {
    v("statusCodes", self.statusCodes);
    v("retryAttempts", self.retryAttempts);
    v("minDuration", self.minDuration);
  }
};

struct AccessLogFieldHeaders {
  std::string defaultMode = "drop";          // keep | drop | redact
  std::map<std::string, std::string> names;  // header → mode

  static void describe(auto& self, auto& v) {
    v("defaultMode", self.defaultMode);
    v("names", self.names);
  }
};

struct AccessLogQueryParameters {
  std::string defaultMode = "keep"; // keep | drop

  static void describe(auto& self, auto& v) { v("defaultMode", self.defaultMode); }
};

struct AccessLogFields {
  std::string defaultMode = "keep";          // keep | drop
  std::map<std::string, std::string> names;  // field → mode
  AccessLogFieldHeaders headers;
  AccessLogQueryParameters queryParameters;

  static void describe(auto& self, auto& v) {
    v("defaultMode", self.defaultMode);
    v("names", self.names);
    v("headers", self.headers);
    v("queryParameters", self.queryParameters);
  }
};

struct AccessLog {
  std::string filePath;           // empty: standard output
  std::string format = "common";  // common | genericCLF | json (anything else: common)
  std::optional<AccessLogFilters> filters;
  AccessLogFields fields;
  int64_t bufferingSize = 0;
  bool addInternals = false;
  bool dualOutput = false;
  std::optional<OtlpLogs> otlp;   // access log lines as OTLP log records (dualOutput: the file too)

  static void describe(auto& self, auto& v) {
    v("filePath", self.filePath);
    v("format", self.format);
    v("filters", self.filters);
    v("fields", self.fields);
    v("bufferingSize", self.bufferingSize);
    v("addInternals", self.addInternals);
    v("dualOutput", self.dualOutput);
    v("otlp", self.otlp);
  }

  void validate(DecodeContext& context) const {
    if (bufferingSize < 0) context.error("bufferingSize must be 0 or more");
  }
};

struct OtlpTracing {
  std::optional<OtelGrpc> grpc;
  std::optional<OtelHttp> http;

  static void describe(auto& self, auto& v) {
    v("grpc", self.grpc);
    v("http", self.http);
  }
};

struct Tracing {
  std::string serviceName = "traefik";
  std::map<std::string, std::string> resourceAttributes;
  std::vector<std::string> capturedRequestHeaders;
  std::vector<std::string> capturedResponseHeaders;
  std::vector<std::string> safeQueryParams;
  double sampleRate = 1.0;
  bool addInternals = false;
  std::optional<OtlpTracing> otlp;  // absent: OTLP over HTTP with its defaults
  std::map<std::string, std::string> globalAttributes;  // deprecated alias of resourceAttributes

  static void describe(auto& self, auto& v) {
    v("serviceName", self.serviceName);
    v("resourceAttributes", self.resourceAttributes);
    v("capturedRequestHeaders", self.capturedRequestHeaders);
    v("capturedResponseHeaders", self.capturedResponseHeaders);
    v("safeQueryParams", self.safeQueryParams);
    v("sampleRate", self.sampleRate);
    v("addInternals", self.addInternals);
    v("otlp", self.otlp);
    v("globalAttributes", self.globalAttributes);
  }

  void validate(DecodeContext& context) const {
    if (sampleRate < 0 || sampleRate > 1) context.error("sampleRate must be between 0.0 and 1.0");
  }
};

} // namespace causeway::config
