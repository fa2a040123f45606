#include "observe/observability.h"

#include <unistd.h>

#include <cstdlib>

#include "config/dynamic_config.h"
#include "core/log.h"
#include "core/strings.h"
#include "core/version.h"
#include "exchange/trace_notes.h"
#include "observe/otlp_json.h"
#include "observe/otlp_logs.h"
#include "observe/otlp_metrics.h"
#include "observe/prometheus_service.h"
#include "observe/request_facts.h"
#include "runtime/snapshot.h"
#include "runtime/worker.h"

namespace causeway::observe {
namespace {

using SteadyClock = std::chrono::steady_clock;

bool isInternal(std::string_view service) { return service.ends_with("@internal"); }

void setAttribute(std::vector<std::pair<std::string, std::string>>& list, const std::string& key, std::string value) {
  for (auto& [k, v] : list) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  list.emplace_back(key, std::move(value));
}

std::string percentDecode(std::string_view s) {
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(char(hex(s[i + 1]) << 4 | hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> tracingResource(const config::Tracing& tracing) {
  std::vector<std::pair<std::string, std::string>> out;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  setAttribute(out, "host.name", host);
  setAttribute(out, "os.type", "linux");
  setAttribute(out, "process.pid", std::to_string(getpid()));
  setAttribute(out, "telemetry.sdk.language", "cpp");
  setAttribute(out, "telemetry.sdk.name", "causeway");
  setAttribute(out, "telemetry.sdk.version", kVersion);
  setAttribute(out, "service.name", tracing.serviceName);
  setAttribute(out, "service.version", kVersion);
  const auto& extra = tracing.resourceAttributes.empty() ? tracing.globalAttributes : tracing.resourceAttributes;
  for (const auto& [k, v] : extra) setAttribute(out, k, v);
  if (const char* env = std::getenv("OTEL_RESOURCE_ATTRIBUTES")) {
    for (std::string_view pair : splitTrimmed(env, ',')) {
      size_t eq = pair.find('=');
      if (eq == std::string_view::npos || eq == 0) continue;
      setAttribute(out, std::string(trim(pair.substr(0, eq))), percentDecode(trim(pair.substr(eq + 1))));
    }
  }
  if (const char* name = std::getenv("OTEL_SERVICE_NAME"); name && *name) setAttribute(out, "service.name", name);
  return out;
}

namespace {

// Resource attributes (JSON) of the metrics and logs exporters.
std::string otlpResource(const std::string& serviceName, const std::map<std::string, std::string>& attributes) {
  std::vector<std::pair<std::string, std::string>> resource;
  setAttribute(resource, "service.name", serviceName);
  setAttribute(resource, "service.version", kVersion);
  setAttribute(resource, "telemetry.sdk.language", "cpp");
  setAttribute(resource, "telemetry.sdk.name", "causeway");
  for (const auto& [k, v] : attributes) setAttribute(resource, k, v);
  return resourceAttributesJson(resource);
}

// The client of an OTLP exporter: gRPC when only `grpc` is configured, else HTTP (with
// `defaultEndpoint` when `http` is absent too, as Traefik). Null with the reason in `errors`.
std::unique_ptr<HttpPost> otlpClient(const std::optional<config::OtelHttp>& http,
                                     const std::optional<config::OtelGrpc>& grpc, const std::string& defaultEndpoint,
                                     std::string_view defaultPath, OtlpSignal signal, const std::string& what,
                                     std::vector<std::string>& errors) {
  HttpEndpoint endpoint;
  std::string error;
  std::unique_ptr<HttpPost> client;
  if (grpc && !http) {
    if (!parseGrpcEndpoint(grpc->endpoint, grpc->insecure, signal, endpoint, error)) {
      errors.push_back(what + ".grpc.endpoint: " + error);
      return nullptr;
    }
    client = std::make_unique<HttpPost>(endpoint, grpc->tls ? &*grpc->tls : nullptr, grpc->headers);
    client->useGrpc(signal);
    if (!client->ready(error)) {
      errors.push_back(what + ".grpc.tls: " + error);
      return nullptr;
    }
    return client;
  }
  config::OtelHttp settings;
  settings.endpoint = defaultEndpoint;
  if (http) settings = *http;
  if (!parseHttpEndpoint(settings.endpoint, defaultPath, endpoint, error)) {
    errors.push_back(what + ".http.endpoint: " + error);
    return nullptr;
  }
  client = std::make_unique<HttpPost>(endpoint, settings.tls ? &*settings.tls : nullptr, settings.headers);
  if (!client->ready(error)) {
    errors.push_back(what + ".http.tls: " + error);
    return nullptr;
  }
  return client;
}

// accessLog.otlp / log.otlp → a pusher, or nothing with the reason in errors.
std::unique_ptr<LogPusher> makeLogPusher(const config::OtlpLogs& otlp, const std::string& what,
                                         std::vector<std::string>& errors) {
  auto client = otlpClient(otlp.http, otlp.grpc, "https://localhost:4318/v1/logs", "/v1/logs", OtlpSignal::Logs, what,
                           errors);
  if (!client) return nullptr;
  return std::make_unique<LogPusher>(std::move(client), otlpResource(otlp.serviceName, otlp.resourceAttributes),
                                     "github.com/traefik/traefik");
}

std::atomic<LogPusher*> logSinkTarget{nullptr};

int severityOf(log::Level level) {
  switch (level) {
    case log::Level::Trace: return 1;
    case log::Level::Debug: return 5;
    case log::Level::Info: return 9;
    case log::Level::Warn: return 13;
    case log::Level::Error: return 17;
    case log::Level::Fatal: return 21;
    case log::Level::Panic: return 21;
  }
  return 0;
}

void logSink(log::Level level, std::string_view message, std::initializer_list<log::Field> fields) {
  LogPusher* pusher = logSinkTarget.load(std::memory_order_acquire);
  if (!pusher || LogPusher::onPusherThread()) return;  // the pusher's own errors are not pushed
  std::vector<std::pair<std::string_view, std::string_view>> attributes;
  attributes.reserve(fields.size());
  for (const auto& f : fields) attributes.emplace_back(f.key, f.value);
  std::string text = toUpper(log::levelName(level));
  const int64_t now =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  pusher->add(now, severityOf(level), text, message, attributes);
}

}  // namespace

std::shared_ptr<Observability> Observability::create(const config::StaticConfig& config,
                                                      const std::vector<runtime::EntryPoint>& entryPoints,
                                                      unsigned workers, std::vector<std::string>& warnings,
                                                      std::vector<std::string>& errors) {
  auto o = std::make_shared<Observability>();
  std::vector<std::string> names(entryPoints.size());
  o->entryPoints_.resize(entryPoints.size());
  for (const auto& ep : entryPoints) {
    if (ep.index >= names.size()) continue;
    names[ep.index] = ep.name;
    auto it = config.entryPoints.find(ep.name);
    if (it == config.entryPoints.end()) continue;
    const auto& obs = it->second.observability;
    o->entryPoints_[ep.index] = {obs.metrics, obs.accessLogs, obs.tracing, obs.traceVerbosity == "detailed"};
  }
  for (unsigned i = 0; i < std::max(workers, 1u); ++i) o->routerCaches_.push_back(std::make_unique<RouterCache>());

  if (config.metrics) {
    const auto& m = *config.metrics;
    if (m.prometheus) {
      MetricsOptions options;
      options.entryPoints = m.prometheus->addEntryPointsLabels;
      options.routers = m.prometheus->addRoutersLabels;
      options.services = m.prometheus->addServicesLabels;
      options.buckets = m.prometheus->buckets;
      for (const auto& [label, header] : m.prometheus->headerLabels) options.headerLabels.emplace_back(label, header);
      o->metrics_ = std::make_shared<Metrics>(std::move(options), names, workers);
      o->metricsInternals_ = m.addInternals;
    }
    if (m.otlp) {
      const auto& otlp = *m.otlp;
      if (auto client = otlpClient(otlp.http, otlp.grpc, "https://localhost:4318/v1/metrics", "/v1/metrics",
                                   OtlpSignal::Metrics, "metrics.otlp", errors)) {
        MetricsOptions options;
        options.entryPoints = otlp.addEntryPointsLabels;
        options.routers = otlp.addRoutersLabels;
        options.services = otlp.addServicesLabels;
        options.buckets = otlp.explicitBoundaries;
        auto metrics = std::make_shared<Metrics>(std::move(options), names, workers);
        o->otlpMetrics_ = metrics;
        o->metricsInternals_ = m.addInternals;
        o->metricsPusher_ = std::make_unique<MetricsPusher>(
            [metrics] {
              ScrapeInputs inputs;
              inputs.processMetrics = false;
              return metrics->render(inputs);
            },
            std::move(client), otlp.pushInterval.value, otlpResource(otlp.serviceName, otlp.resourceAttributes));
      }
    }
  }

  if (config.accessLog) {
    AccessLogOptions options = AccessLogOptions::from(*config.accessLog, warnings);
    o->accessLog_ = std::make_unique<AccessLog>(std::move(options), names, workers);
    o->accessLogInternals_ = config.accessLog->addInternals;
    if (config.accessLog->otlp) {
      o->accessLogPusher_ = makeLogPusher(*config.accessLog->otlp, "accessLog.otlp", errors);
      if (LogPusher* pusher = o->accessLogPusher_.get()) {
        o->accessLog_->setOtlpSink(
            [pusher](const LogRecord& r, std::string_view line) {
              std::string status = std::to_string(r.downstreamStatus);
              std::string duration = std::to_string(r.durationNanos);
              pusher->add(r.startUnixNanos, 9, "INFO", line,
                          {{"EntryPointName", r.entryPointName},
                           {"RouterName", r.routerName},
                           {"ServiceName", r.serviceName},
                           {"ClientHost", r.clientHost},
                           {"RequestMethod", r.requestMethod},
                           {"RequestPath", r.requestPath},
                           {"RequestProtocol", r.requestProtocol},
                           {"DownstreamStatus", status},
                           {"Duration", duration},
                           {"TraceId", r.traceId},
                           {"SpanId", r.spanId}});
            },
            config.accessLog->dualOutput);
      }
    }
  }
  if (config.log.otlp) o->logPusher_ = makeLogPusher(*config.log.otlp, "log.otlp", errors);

  if (config.tracing) {
    const auto& t = *config.tracing;
    // The default exporter: OTLP over HTTP.
    const std::optional<config::OtelHttp> none;
    if (auto client = otlpClient(t.otlp ? t.otlp->http : none, t.otlp ? t.otlp->grpc : std::nullopt,
                                 "https://localhost:4318", "/v1/traces", OtlpSignal::Traces, "tracing.otlp", errors)) {
      ExporterOptions exporterOptions;
      exporterOptions.applyEnvironment();
      exporterOptions.resourceAttributes = resourceAttributesJson(tracingResource(t));
      o->exporter_ = std::make_shared<SpanExporter>(std::move(exporterOptions), std::move(client), workers);
      TracerOptions options;
      options.sampleRate = t.sampleRate;
      options.capturedRequestHeaders = t.capturedRequestHeaders;
      options.capturedResponseHeaders = t.capturedResponseHeaders;
      options.safeQueryParams = t.safeQueryParams;
      o->tracer_ = std::make_unique<Tracer>(std::move(options), o->exporter_, workers);
      o->tracingInternals_ = t.addInternals;
    }
  }
  if (!o->metrics_ && !o->otlpMetrics_ && !o->accessLog_ && !o->tracer_ && !o->logPusher_) return nullptr;
  return o;
}

bool Observability::start(std::string& error) {
  if (accessLog_ && !accessLog_->start(error)) {
    // As Traefik: the error is logged and the proxy runs without an access log.
    log::error("Unable to create access logger", {{"error", error}});
    accessLog_.reset();
    error.clear();
  }
  if (exporter_) exporter_->start();
  if (metricsPusher_) metricsPusher_->start();
  if (accessLogPusher_) accessLogPusher_->start();
  if (logPusher_) {
    logPusher_->start();
    logSinkTarget.store(logPusher_.get(), std::memory_order_release);
    log::setSink(&logSink);
  }
  return true;
}

void Observability::stop() {
  if (accessLog_) accessLog_->stop();
  if (exporter_) exporter_->stop();
  if (metricsPusher_) metricsPusher_->stop();
  if (accessLogPusher_) accessLogPusher_->stop();
  if (logPusher_) {
    log::setSink(nullptr);
    logSinkTarget.store(nullptr, std::memory_order_release);
    logPusher_->stop();
  }
}

void Observability::reopenLogs() {
  if (accessLog_) accessLog_->reopen();
}

void Observability::configPublished(const runtime::Snapshot&) {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  for (Metrics* m : {metrics_.get(), otlpMetrics_.get()})
    if (m) m->configReloaded(double(std::chrono::duration_cast<std::chrono::seconds>(now).count()));
}

exchange::HandlerPtr Observability::prometheusService(OpenConnectionCounts openConnections,
                                                    const upstream::HealthRegistry* health) const {
  if (!metrics_) return nullptr;
  return std::make_shared<PrometheusService>(metrics_, std::move(openConnections), health);
}

struct Observability::RouterCache {
  const runtime::Snapshot* snapshot = nullptr;
  uint64_t generation = 0;
  // By the address of the router's name in the snapshot (stable while it lives).
  std::unordered_map<const char*, std::optional<config::RouterObservability>> routers;
  alignas(64) char end = 0;
};

const Observability::Flags& Observability::entryPointFlags(const exchange::Exchange& ex) const {
  static const Flags defaults;
  const runtime::EntryPoint* ep = ex.connection.entryPoint;
  return ep && ep->index < entryPoints_.size() ? entryPoints_[ep->index] : defaults;
}

Observability::Flags Observability::flagsOf(const exchange::Exchange& ex) {
  Flags flags = entryPointFlags(ex);
  const std::string_view router = ex.record.routerName;
  const runtime::Snapshot* snapshot = ex.snapshot;
  if (router.empty() || !snapshot || snapshot->configs.empty()) return flags;
  RouterCache& cache = *routerCaches_[ex.worker.index() < routerCaches_.size() ? ex.worker.index() : 0];
  if (cache.snapshot != snapshot || cache.generation != snapshot->generation) {
    cache.routers.clear();
    cache.snapshot = snapshot;
    cache.generation = snapshot->generation;
  }
  auto it = cache.routers.find(router.data());
  if (it == cache.routers.end()) {
    std::optional<config::RouterObservability> found;
    size_t at = router.rfind('@');
    if (at != std::string_view::npos) {
      auto provider = snapshot->configs.find(std::string(router.substr(at + 1)));
      if (provider != snapshot->configs.end() && provider->second) {
        const auto& routers = provider->second->http.routers;
        auto element = routers.find(std::string(router.substr(0, at)));
        if (element != routers.end() && element->second.value.observability)
          found = *element->second.value.observability;
      }
    }
    it = cache.routers.emplace(router.data(), std::move(found)).first;
  }
  if (const auto& o = it->second) {
    if (o->accessLogs) flags.accessLogs = *o->accessLogs;
    if (o->metrics) flags.metrics = *o->metrics;
    if (o->tracing) flags.tracing = *o->tracing;
    if (o->traceVerbosity == "detailed") flags.detailed = true;  // "minimal" is also the unset value
  }
  return flags;
}

void Observability::onRequest(exchange::Exchange& ex) {
  // Before routing only the entryPoint's options are known: the notes are kept whenever there
  // is an access log (a router may switch it on), the trace context only where the entryPoint
  // traces (a router can switch tracing off, not on).
  const bool logs = accessLog_ != nullptr;
  const bool traces = tracer_ && entryPointFlags(ex).tracing;
  if (!logs && !traces) return;
  auto* notes = ex.arena.make<exchange::ExchangeNotes>();
  notes->path = ex.request.path;
  notes->query = ex.request.query;
  notes->hasQuery = ex.request.hasQuery;
  ex.record.notes = notes;
  if (traces) tracer_->onRequest(ex, *notes);
}

void Observability::onLayer4(const exchange::Layer4Record& record) {
  if (metrics_) metrics_->recordLayer4(record);
  if (accessLog_) accessLog_->logLayer4(record);
}

void Observability::onComplete(const exchange::Exchange& ex) {
  const Flags flags = flagsOf(ex);
  const bool internal = isInternal(ex.record.serviceName);
  if ((metrics_ || otlpMetrics_) && flags.metrics && (!internal || metricsInternals_)) {
    const exchange::Request& req = ex.request;
    RequestSample s;
    s.entryPoint = ex.connection.entryPoint ? uint32_t(ex.connection.entryPoint->index) : 0;
    s.method = methodId(req.method);
    s.protocol = requestProtocol(req);
    s.code = (s.protocol == Protocol::Grpc || s.protocol == Protocol::GrpcWeb) ? grpcStatus(ex.response)
                                                                               : ex.response.status;
    s.router = ex.record.routerName;
    s.service = ex.record.serviceName;
    const auto now = SteadyClock::now();
    s.durationNanos = uint64_t(
        std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::nanoseconds>(now - ex.record.start).count()));
    s.upstreamService = ex.record.upstreamService;
    if (!s.upstreamService.empty()) {
      // From sending the request upstream (the time of the last attempt's dial is not counted).
      const auto from = ex.record.originStart != SteadyClock::time_point{} ? ex.record.originStart : ex.record.start;
      s.upstreamNanos =
          uint64_t(std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::nanoseconds>(now - from).count()));
    }
    s.requestBytes = ex.record.requestBytes;
    s.responseBytes = ex.record.responseBytes;
    s.retries = uint32_t(std::max(ex.record.retryAttempts, 0));
    s.tls = ex.connection.tls;
    s.tlsVersion = ex.connection.tlsVersion;
    s.tlsCipher = ex.connection.tlsCipher;
    s.headers = &req.headers;
    if (metrics_) metrics_->record(ex.worker.index(), s);
    if (otlpMetrics_) otlpMetrics_->record(ex.worker.index(), s);
    if (const exchange::ApiRecord* api = ex.record.api; api && metrics_)
      metrics_->recordApi(ex.worker.index(), *api, methodName(s.method), ex.response.status, s.requestBytes, s.responseBytes,
                          ex.record.start, now);
    if (const exchange::McpRecord* mcp = ex.record.mcp; mcp && metrics_)
      metrics_->recordMcp(ex.worker.index(), *mcp, s.router, ex.response.status, ex.record.start, now);
    if (const exchange::AiRecord* ai = ex.record.ai) {
      // An LLM call: failed when the answer is an error or a stream that did not end cleanly.
      char status[12] = {};
      std::string_view errorType;
      if (ex.response.status >= 400) {
        std::snprintf(status, sizeof status, "%d", ex.response.status);
        errorType = status;
      } else if (ai->stream && ai->finishReason.empty()) {
        errorType = "stream_cut";
      }
      if (metrics_) metrics_->recordAi(ex.worker.index(), *ai, s.router, errorType, ex.record.start, now);
      if (otlpMetrics_) otlpMetrics_->recordAi(ex.worker.index(), *ai, s.router, errorType, ex.record.start, now);
    }
  }
  if (tracer_ && flags.tracing && ex.record.notes && (!internal || tracingInternals_))
    tracer_->onComplete(ex, *ex.record.notes, flags.detailed);
  if (accessLog_ && flags.accessLogs && (!internal || accessLogInternals_)) accessLog_->log(ex);
}

}  // namespace causeway::observe
