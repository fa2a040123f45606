#include "downstream/request_prep.h"

#include "core/json_peek.h"
#include "core/strings.h"
#include "exchange/local_reply.h"
#include "http/uri.h"
#include "router/rule.h"
#include "runtime/entry_point.h"
#include "runtime/snapshot.h"

namespace causeway::downstream {

int checkRequestFields(const http::Headers& headers) {
  bool authorization = false, proxyAuthorization = false, host = false, contentLength = false;
  auto once = [](bool& seen) {
    if (seen) return false;
    seen = true;
    return true;
  };
  for (const auto& f : headers) {
    const std::string_view n = f.name;
    if (n.size() < 4) continue;
    bool ok = true;
    switch (n[0] | 0x20) {
    case 'a': ok = !iequals(n, "authorization") || once(authorization); break;
    case 'p': ok = !iequals(n, "proxy-authorization") || once(proxyAuthorization); break;
    case 'h': ok = !iequals(n, "host") || once(host); break;
    case 'c': ok = !iequals(n, "content-length") || once(contentLength); break;
    default: break;
    }
    if (!ok) return 400;
  }
  return 0;
}

int prepareRequestPath(exchange::Request& r, Arena& arena, const runtime::EntryPoint& entryPoint, std::string& scratch,
                       std::string_view rawPath, std::string_view rawQuery, bool hasQuery, bool asterisk,
                       std::string_view routingHost) {
  r.rawPath = rawPath;
  r.query = rawQuery;
  r.hasQuery = hasQuery;
  if (r.query.find(';') != std::string_view::npos) {
    // Go's proxy does not treat ';' as a separator: Traefik rewrites it to '&' before
    // routing (or encodes it, with http.encodeQuerySemicolons).
    std::string rewritten;
    for (char c : r.query) {
      if (c != ';') rewritten.push_back(c);
      else if (entryPoint.encodeQuerySemicolons) rewritten.append("%3B");
      else rewritten.push_back('&');
    }
    r.query = arena.copy(rewritten);
  }
  r.host = {};
  if (!routingHost.empty()) {
    http::normalizeHost(routingHost, scratch);
    r.host = arena.copy(scratch);
  }
  if (asterisk) {
    r.path = r.rawPath;
    r.routingPath = r.path;
    return 0;
  }
  if (!http::normalizePath(r.rawPath, entryPoint.sanitizePath, scratch)) return 400;
  r.path = scratch == r.rawPath ? r.rawPath : arena.copy(scratch);
  r.routingPath = http::routingPath(r.path, scratch) ? arena.copy(scratch) : r.path;
  // Traefik checks encoded characters on the normalized path (a raw '\' is %5C there).
  const auto& allow = entryPoint.allowEncoded;
  if (!(allow.slash && allow.backslash && allow.nul && allow.semicolon && allow.percent && allow.questionMark &&
        allow.hash)) {
    auto encoded = http::findEncodedCharacters(r.path);
    if ((encoded.slash && !allow.slash) || (encoded.backslash && !allow.backslash) || (encoded.nul && !allow.nul) ||
        (encoded.semicolon && !allow.semicolon) || (encoded.percent && !allow.percent) ||
        (encoded.questionMark && !allow.questionMark) || (encoded.hash && !allow.hash))
      return 400;
  }
  return 0;
}

// The AI gateway's Model() matcher: the JSON body's "model", read before routing (up to
// kModelPeekBytes, as Traefik Hub's maxRequestBodySize) and replayed to the router's handlers.
constexpr int64_t kModelPeekBytes = 1 << 20;

awaitable<std::string_view> peekModel(exchange::Exchange& ex) {
  exchange::Request& r = ex.request;
  if (!r.body || r.method != "POST") co_return std::string_view();
  auto* body = ex.arena.make<std::string>();
  exchange::ReadResult read = co_await exchange::readBody(*r.body, *body, kModelPeekBytes);
  r.body = ex.arena.make<exchange::PrefixedBody>(*body, exchange::restOf(ex.arena, read, r.body), r.body->length());
  if (read != exchange::ReadResult::Complete) co_return std::string_view();
  std::optional<std::string> model = peekTopLevelString(*body, "model");
  co_return model ? ex.arena.copy(*model) : std::string_view();
}

// No router takes this model: a 404 an LLM client understands (its own error format:
// Anthropic's when the request carries anthropic-version or goes to …/messages).
void unknownModel(exchange::Exchange& ex, std::string_view model) {
  std::string quoted;
  for (char c : model) {
    if (c == '"' || c == '\\') quoted += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) quoted += c;
  }
  std::string message = "The model '" + quoted + "' is not served here";
  bool anthropic = ex.request.headers.has("anthropic-version") || ex.request.path.ends_with("/messages");
  std::string body = anthropic
      ? R"({"type":"error","error":{"type":"not_found_error","message":")" + message + R"("}})"
      : R"({"error":{"message":")" + message + R"(","type":"invalid_request_error","param":"model","code":"model_not_found"}})";
  exchange::localReply(ex, 404, body);
  ex.response.headers.set("Content-Type", "application/json");
  ex.response.headers.remove("X-Content-Type-Options");
  ex.record.errorDetail = "no router for this model";
}

namespace {

// Routing in two steps around the one wait it may need (reading the body for its model), so
// that a request whose route does not depend on its body is routed without a coroutine.
struct Routing {
  router::MatchInput input;
  const router::RouteTable<runtime::RouteTargetPtr>* table = nullptr;  // null: already answered
  bool needsModel = false;  // the model in the body decides: peekModel() first
};

Routing startRouting(exchange::Exchange& ex, const runtime::EntryPoint& entryPoint) {
  Routing routing;
  const runtime::Snapshot* snapshot = ex.snapshot;
  if (!snapshot || entryPoint.index >= snapshot->routes.size()) {
    exchange::errorReply(ex, 404, "404 page not found");
    return routing;
  }
  const exchange::ConnectionInfo& info = ex.connection;
  const runtime::EntryPointRoutes& routes = snapshot->routes[entryPoint.index];
  if (info.tls && routes.sniCheck && info.tlsStore) {
    // Traefik's domain-fronting guard: the TLS options chosen by SNI must be those of the
    // host the request asks for, else 421 Misdirected Request.
    const tls::TlsOptionSet* bySni = info.tlsOptions;
    const tls::TlsOptionSet* byHost = info.tlsStore->optionsFor(entryPoint.index, ex.request.host);
    if (bySni && byHost && bySni != byHost && bySni->name != byHost->name) {
      exchange::errorReply(ex, 421, "Misdirected Request");
      return routing;
    }
  }
  router::MatchInput& input = routing.input;
  input.host = ex.request.host;
  input.path = ex.request.routingPath;
  input.method = ex.request.method;
  input.rawQuery = ex.request.query;
  input.headers = &ex.request.headers;
  input.clientIp = &info.peerIp;
  routing.table = info.tls ? &routes.tlsTable : &routes.table;
  // The body is read for its model only when the model can decide the route (a request to a
  // path no Model() router serves is routed without waiting for, or buffering, its body).
  input.modelUnread = routing.table->usesModel();
  routing.needsModel = input.modelUnread && routing.table->modelDecides(input);
  return routing;
}

// The route's handler, or null when the exchange has been answered (404, unknown model).
const exchange::Handler* finishRouting(exchange::Exchange& ex, const Routing& routing) {
  const runtime::RouteTargetPtr* target = routing.table->match(routing.input);
  if (!target && !routing.input.model.empty()) {
    unknownModel(ex, routing.input.model);
    return nullptr;
  }
  if (!target) {
    exchange::errorReply(ex, 404, "404 page not found");
    return nullptr;
  }
  ex.record.routerName = (*target)->name;
  ex.record.serviceName = (*target)->service;
  return (*target)->handler.get();
}

}  // namespace

awaitable<void> routeAndServe(exchange::Exchange& ex, const runtime::EntryPoint& entryPoint) {
  Routing routing = startRouting(ex, entryPoint);
  if (routing.table) {
    if (routing.needsModel) {
      routing.input.modelUnread = false;
      routing.input.model = co_await peekModel(ex);
    }
    if (const exchange::Handler* handler = finishRouting(ex, routing)) co_await handler->handle(ex);
  }
  // An entryPoint with http3 tells clients on TLS over TCP where HTTP/3 is, as Traefik does
  // (RFC 7838), on every answer, whatever its source.
  if (!entryPoint.altSvc.empty() && ex.connection.tls && !ex.connection.http3 && !ex.response.headers.has("Alt-Svc"))
    ex.response.headers.add("Alt-Svc", entryPoint.altSvc);
}

}  // namespace causeway::downstream
