#include "observe/tracer.h"

#include <chrono>

#include "core/strings.h"
#include "observe/otlp_json.h"
#include "observe/request_facts.h"
#include "runtime/entry_point.h"
#include "runtime/snapshot.h"
#include "runtime/worker.h"

namespace causeway::observe {
namespace {

using SteadyClock = std::chrono::steady_clock;

int64_t unixNanos(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

std::vector<std::string_view> valuesOf(const http::Headers& headers, std::string_view name) {
  std::vector<std::string_view> values;
  for (const auto& f : headers)
    if (iequals(f.name, name)) values.push_back(f.value);
  return values;
}

void captureHeaders(SpanJson& span, const http::Headers& headers, const std::vector<std::string>& names,
                    std::string_view prefix, bool skipUserAgent) {
  for (const auto& name : names) {
    if (skipUserAgent && iequals(name, "User-Agent")) continue;  // already user_agent.original
    auto values = valuesOf(headers, name);
    if (values.empty()) continue;
    std::string key(prefix);
    key += toLower(name);
    if (secretHeader(name)) {
      std::vector<std::string_view> redacted(values.size(), "REDACTED");
      span.attribute(key, redacted);
      continue;
    }
    span.attribute(key, values);
  }
}

// Span status of a server span (5xx is an error) or a client span (4xx too).
int statusFor(int code, bool client) {
  if (code < 100 || code >= 600) return 2;
  return code >= (client ? 400 : 500) ? 2 : 0;
}

int64_t portOf(std::string_view port, std::string_view scheme) {
  if (auto p = parseDecimal(port)) return int64_t(*p);
  return scheme == "https" ? 443 : 80;
}

// The id of the `index`th middleware span, derived from the Router span's random id so that
// recording a middleware needs no random numbers (the splitmix64 finalizer).
exchange::SpanId derivedSpanId(const exchange::SpanId& router, uint16_t index) {
  uint64_t x = 0;
  for (uint8_t b : router) x = (x << 8) | b;
  x += 0x9E3779B97F4A7C15ull * (uint64_t(index) + 1);
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  x ^= x >> 31;
  if (x == 0) x = 1;  // the zero id is invalid
  exchange::SpanId id;
  for (int i = 7; i >= 0; --i, x >>= 8) id[size_t(i)] = uint8_t(x);
  return id;
}

}  // namespace

struct Tracer::WorkerState {
  IdGenerator ids;
  std::string scratch;
  std::string spans;
  alignas(64) char end = 0;
};

Tracer::Tracer(TracerOptions options, std::shared_ptr<SpanExporter> exporter, unsigned workers)
    : options_(std::move(options)), exporter_(std::move(exporter)) {
  for (unsigned i = 0; i < std::max(workers, 1u); ++i) workers_.push_back(std::make_unique<WorkerState>());
}

Tracer::~Tracer() = default;

void Tracer::onRequest(exchange::Exchange& ex, exchange::ExchangeNotes& notes) {
  WorkerState& w = *workers_[ex.worker.index() < workers_.size() ? ex.worker.index() : 0];
  ParentContext parent;
  bool hasParent = false;
  if (const http::HeaderField* field = ex.request.headers.find("traceparent"))
    hasParent = parseTraceparent(trim(field->value), parent);
  notes.traced = true;
  notes.hasRemoteParent = hasParent;
  notes.traceId = hasParent ? parent.traceId : w.ids.traceId();
  notes.remoteParent = parent.spanId;
  notes.sampled = hasParent ? parent.sampled : sampleByRatio(notes.traceId, options_.sampleRate);
  notes.serverSpan = w.ids.spanId();
  notes.routerSpan = w.ids.spanId();   // used when the router asks for detailed traces
  notes.serviceSpan = w.ids.spanId();
  notes.clientSpan = w.ids.spanId();
  if (hasParent) notes.traceState = acceptableTracestate(ex.request.headers.get("tracestate"));
  w.scratch.clear();
  appendTraceparent(w.scratch, notes.traceId, notes.clientSpan, notes.sampled);
  ex.request.headers.set("traceparent", ex.arena.copy(w.scratch));
}

uint8_t Tracer::encode(const exchange::Exchange& ex, const exchange::ExchangeNotes& notes, bool detailed, int64_t end,
                       std::string& out) const {
  const exchange::RequestRecord& rec = ex.record;
  const exchange::Request& req = ex.request;
  const exchange::ConnectionInfo& conn = ex.connection;
  const int64_t start = unixNanos(rec.startWall);
  auto wall = [&](SteadyClock::time_point t) {
    return start + std::chrono::duration_cast<std::chrono::nanoseconds>(t - rec.start).count();
  };
  const int code = ex.response.status;
  const std::string_view ua = req.headers.get("User-Agent");
  uint8_t count = 0;
  // An LLM call (exchange/ai_record.h): OpenTelemetry's GenAI attributes, on the span of the call
  // to the provider (ReverseProxy) or, when the provider was never reached, on the entryPoint's.
  const exchange::AiRecord* ai = rec.ai;
  const bool proxied = rec.originStart != SteadyClock::time_point{} && !rec.serviceUrl.empty();
  auto genAi = [&](SpanJson& span) {
    if (!ai) return;
    span.attribute("gen_ai.operation.name", ai->operation);
    span.attribute("gen_ai.provider.name", ai->provider);
    span.attribute("gen_ai.request.model", ai->requestModel);
    if (!ai->responseModel.empty()) span.attribute("gen_ai.response.model", ai->responseModel);
    span.attribute("gen_ai.usage.input_tokens", ai->inputTokens);
    span.attribute("gen_ai.usage.output_tokens", ai->outputTokens);
    if (!ai->finishReason.empty())
      span.attribute("gen_ai.response.finish_reasons", std::vector<std::string_view>{ai->finishReason});
    if (ai->costUsd > 0) span.attribute("causeway.gen_ai.cost_usd", std::to_string(ai->costUsd));
    if (!ai->cacheResult.empty()) span.attribute("causeway.gen_ai.cache", ai->cacheResult);
  };

  // MCP traffic (exchange/mcp_record.h): OpenTelemetry's MCP attributes, on the entryPoint's span
  // (the MCP server operation as the gateway serves it).
  auto mcpAttributes = [&](SpanJson& span) {
    const exchange::McpRecord* mcp = rec.mcp;
    if (!mcp) return;
    if (!mcp->method.empty()) span.attribute("mcp.method.name", mcp->method);
    if (!mcp->sessionId.empty()) span.attribute("mcp.session.id", mcp->sessionId);
    if (!mcp->protocolVersion.empty()) span.attribute("mcp.protocol.version", mcp->protocolVersion);
    if (!mcp->requestId.empty()) span.attribute("jsonrpc.request.id", mcp->requestId);
    if (!mcp->name.empty()) {
      if (mcp->method == "tools/call") span.attribute("gen_ai.tool.name", mcp->name);
      else if (mcp->method == "resources/read") span.attribute("mcp.resource.uri", mcp->name);
      else if (mcp->method == "prompts/get") span.attribute("gen_ai.prompt.name", mcp->name);
    }
    if (!mcp->decision.empty()) {
      span.attribute("causeway.mcp.decision", mcp->decision);
      span.attribute("causeway.mcp.rule", mcp->rule);
    }
    if (mcp->errorCode != 0) span.attribute("rpc.jsonrpc.error_code", int64_t(mcp->errorCode));
  };

  // The entryPoint span.
  {
    SpanJson span(out);
    span.begin(notes.traceId, notes.serverSpan, notes.hasRemoteParent ? &notes.remoteParent : nullptr,
               notes.traceState, req.method, SpanKind::Server, start, end);
    if (conn.entryPoint) span.attribute("entry_point", conn.entryPoint->name);
    span.attribute("http.request.method", req.method);
    span.attribute("network.protocol.version", protoVersion(req));
    int64_t bodySize = 0;
    if (req.body) {
      auto length = req.body->length();
      bodySize = length ? int64_t(*length) : -1;
    }
    span.attribute("http.request.body.size", bodySize);
    span.attribute("url.path", notes.path);
    span.attribute("url.query", redactQuery(notes.hasQuery ? notes.query : std::string_view(), options_.safeQueryParams));
    span.attribute("url.scheme", req.headers.get("X-Forwarded-Proto"));
    span.attribute("user_agent.original", ua);
    span.attribute("server.address", req.authority);
    span.attribute("network.peer.address", conn.peerIpText);
    span.attribute("client.address", conn.peerIpText);
    span.attribute("client.port", int64_t(conn.peerPort));
    span.attribute("network.peer.port", int64_t(conn.peerPort));
    captureHeaders(span, req.headers, options_.capturedRequestHeaders, "http.request.header.", true);
    if (code > 0) span.attribute("http.response.status_code", int64_t(code));
    captureHeaders(span, ex.response.headers, options_.capturedResponseHeaders, "http.response.header.", false);
    if (!proxied) genAi(span);
    mcpAttributes(span);
    int status = statusFor(code, false);
    span.end(status, status && (code < 100 || code >= 600) ? "Invalid HTTP status code " + std::to_string(code) : "");
    ++count;
  }
  const bool routed = !rec.routerName.empty();
  const exchange::SpanId* proxyParent = &notes.serverSpan;
  if (detailed && routed) {
    std::string_view rule;
    if (ex.snapshot) {
      auto it = ex.snapshot->runtime.routers.find(std::string(rec.routerName));
      if (it != ex.snapshot->runtime.routers.end()) rule = it->second.rule;
    }
    out.push_back(',');
    SpanJson router(out);
    router.begin(notes.traceId, notes.routerSpan, &notes.serverSpan, notes.traceState, "Router", SpanKind::Internal,
                 start, end);
    router.attribute("traefik.service.name", rec.serviceName);
    router.attribute("traefik.router.name", rec.routerName);
    router.attribute("http.route", rule);
    router.end(0);
    ++count;
    // Middleware spans, nested as the middlewares ran (server/middleware_span.h).
    std::array<exchange::SpanId, exchange::ExchangeNotes::kMaxMiddlewareSpans> middlewareIds;
    for (uint16_t i = 0; i < notes.middlewareSpanCount; ++i) {
      const exchange::MiddlewareSpanRecord& m = notes.middlewareSpans[i];
      middlewareIds[i] = derivedSpanId(notes.routerSpan, i);
      out.push_back(',');
      SpanJson span(out);
      span.begin(notes.traceId, middlewareIds[i], m.parent >= 0 ? &middlewareIds[m.parent] : &notes.routerSpan,
                 notes.traceState, m.type, SpanKind::Internal, wall(m.start),
                 m.end != SteadyClock::time_point{} ? wall(m.end) : end);
      span.attribute("traefik.middleware.name", m.name);
      if (m.resendCount > 0) span.attribute("http.request.resend_count", int64_t(m.resendCount));
      span.end(0);
      ++count;
    }
    // The Service span, unless a middleware answered before the service was reached.
    if (notes.serviceStart != SteadyClock::time_point{} || notes.middlewareSpanCount == 0) {
      int64_t serviceStart = notes.serviceStart != SteadyClock::time_point{} ? wall(notes.serviceStart)
                             : rec.originStart != SteadyClock::time_point{}  ? wall(rec.originStart)
                                                                             : start;
      const exchange::SpanId* serviceParent = notes.serviceParent >= 0 && notes.serviceParent < int(notes.middlewareSpanCount)
                                        ? &middlewareIds[notes.serviceParent]
                                        : &notes.routerSpan;
      out.push_back(',');
      SpanJson service(out);
      service.begin(notes.traceId, notes.serviceSpan, serviceParent, notes.traceState, "Service", SpanKind::Internal,
                    serviceStart, end);
      service.attribute("traefik.service.name", rec.upstreamService.empty() ? rec.serviceName : rec.upstreamService);
      service.end(0);
      ++count;
      proxyParent = &notes.serviceSpan;
    }
  }
  if (proxied) {
    // ReverseProxy: from sending the request to receiving the response head.
    std::string_view url = rec.serviceUrl;
    std::string_view scheme = url.substr(0, url.find("://"));
    std::string_view authority = url.substr(std::min(url.size(), scheme.size() + 3));
    authority = authority.substr(0, authority.find('/'));
    auto [host, port] = splitHostPort(authority);
    std::string full(url);
    while (!full.empty() && full.back() == '/') full.pop_back();
    full += req.path.empty() ? std::string_view("/") : req.path;
    std::string query = redactQuery(req.hasQuery ? req.query : std::string_view(), options_.safeQueryParams);
    if (!query.empty()) full += "?" + query;
    int64_t proxyEnd = rec.originEnd != SteadyClock::time_point{} && rec.originEnd >= rec.originStart
                           ? wall(rec.originEnd)
                           : end;
    out.push_back(',');
    SpanJson proxy(out);
    proxy.begin(notes.traceId, notes.clientSpan, proxyParent, notes.traceState, "ReverseProxy", SpanKind::Client,
                wall(rec.originStart), proxyEnd);
    proxy.attribute("http.request.method", req.method);
    proxy.attribute("network.protocol.version", protoVersion(req));
    proxy.attribute("url.full", full);
    proxy.attribute("url.scheme", scheme);
    proxy.attribute("user_agent.original", ua);
    proxy.attribute("network.peer.address", host);
    proxy.attribute("network.peer.port", portOf(port, scheme));
    proxy.attribute("server.address", host);
    proxy.attribute("server.port", portOf(port, scheme));
    captureHeaders(proxy, req.headers, options_.capturedRequestHeaders, "http.request.header.", true);
    int originCode = rec.originStatus ? rec.originStatus : code;
    if (originCode > 0) proxy.attribute("http.response.status_code", int64_t(originCode));
    captureHeaders(proxy, ex.response.headers, options_.capturedResponseHeaders, "http.response.header.", false);
    genAi(proxy);
    proxy.end(statusFor(originCode, true));
    ++count;
  }
  return count;
}

void Tracer::onComplete(const exchange::Exchange& ex, const exchange::ExchangeNotes& notes, bool detailed) {
  if (!notes.traced || !notes.sampled || !exporter_) return;
  WorkerState& w = *workers_[ex.worker.index() < workers_.size() ? ex.worker.index() : 0];
  w.spans.clear();
  const exchange::RequestRecord& rec = ex.record;
  int64_t end = unixNanos(rec.startWall) +
                std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now() - rec.start).count();
  uint8_t count = encode(ex, notes, detailed, end, w.spans);
  exporter_->enqueue(ex.worker.index(), w.spans, count);
}

}  // namespace causeway::observe
