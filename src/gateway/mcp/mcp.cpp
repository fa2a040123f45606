// The `mcp` middleware: an MCP gateway on an ordinary router (docs/mcp-gateway.md). It speaks
// Streamable HTTP on both sides, in both dialects: the 2025 revisions (initialize, sessions,
// the GET stream, DELETE) and the stateless 2026-07-28 revision (server/discover, the mirrored
// Mcp-Method/Mcp-Name headers). Per request it
//  1. refuses a browser Origin that is not allowed (403; DNS rebinding);
//  2. reads a POST's JSON-RPC message (at most maxRequestBodySize), refuses what is not one
//     message (-32700, -32600; batches are refused), and checks that the mirrored headers say
//     what the body says (400, -32020);
//  3. opens the client's session id (session_token.h) and sends the request to the server that
//     holds the session, with that server's own id; an id that is not ours gets 404 (-32001),
//     as an expired session does, and the client starts a new one;
//  4. judges the message by the policies (policy.h): a denied call gets a JSON-RPC error
//     (-32003) from causeway and never reaches a server;
//  5. spends the caller's rate limits (per caller and tool; 429, -32005) and bounds the time a
//     request may take (callTimeout; a late answer becomes -32006, a late stream is cut, and the
//     server sees the connection close, which cancels the call);
//  6. on the way back, seals a new session's id, marks event streams X-Accel-Buffering: no,
//     exposes Mcp-Session-Id to browsers, and filters list answers (list_filter.h).
// Streams pass through as they arrive: only a list answer is ever parsed.
#include <openssl/sha.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <cctype>
#include <cmath>
#include <memory>
#include <unordered_map>

#include "config/duration.h"
#include "core/bytes.h"
#include "core/log.h"
#include "core/strings.h"
#include "exchange/mcp_record.h"
#include "exchange/middleware_options.h"
#include "exchange/middleware_registry.h"
#include "gateway/mcp/federation.h"
#include "gateway/mcp/jsonrpc.h"
#include "gateway/mcp/keep_alive.h"
#include "gateway/mcp/list_filter.h"
#include "gateway/mcp/policy.h"
#include "gateway/mcp/session_token.h"
#include "limits/source_criterion.h"
#include "limits/token_bucket.h"

namespace causeway::gateway::mcp {
namespace {

using exchange::Exchange;
using exchange::Handler;
using exchange::HandlerPtr;
using exchange::MiddlewareBuildContext;
using exchange::MiddlewareFactoryPtr;
using exchange::WrapContext;

constexpr std::string_view kSessionHeader = "Mcp-Session-Id";
constexpr std::string_view kVersionHeader = "MCP-Protocol-Version";
constexpr std::string_view kMethodHeader = "Mcp-Method";
constexpr std::string_view kNameHeader = "Mcp-Name";
constexpr std::string_view kVersionMeta = "io.modelcontextprotocol/protocolVersion";
// Bounds on what the policies, limits, metrics and logs key on.
constexpr size_t kMaxMethodBytes = 128;
constexpr size_t kMaxNameBytes = 1024;
// The first revision whose requests carry Mcp-Method and Mcp-Name (dates compare as text).
constexpr std::string_view kHeaderRevision = "2026-07-28";

struct PolicyOptions {
  std::string match;
  std::string action;
  static void describe(auto& self, auto& v) {
    v("match", self.match);
    v("action", self.action);
  }
};

// A rate limit on requests (by default every tools/call), per caller and per tool or prompt or
// resource name: Traefik's rateLimit figures (average per period, burst; a short wait is
// waited, a longer one refused).
struct RateLimitOptions {
  std::string match;  // which requests count, in the policies' language; empty: tools/call
  int64_t average = 0;
  config::Duration period = std::chrono::seconds(1);
  int64_t burst = 1;
  std::optional<limits::SourceCriterionOptions> sourceCriterion;  // the caller; default: client IP
  static void describe(auto& self, auto& v) {
    v("match", self.match);
    v("average", self.average);
    v("period", self.period);
    v("burst", self.burst);
    v("sourceCriterion", self.sourceCriterion);
  }
};

// One endpoint in front of several MCP servers (federation.h).
struct FederatedServerOptions {
  std::string name;     // the prefix of its tools and prompts
  std::string service;  // a service of the dynamic configuration
  static void describe(auto& self, auto& v) {
    v("name", self.name);
    v("service", self.service);
  }
};

struct FederationOptions {
  std::vector<FederatedServerOptions> servers;
  std::string separator = "_";
  static void describe(auto& self, auto& v) {
    v("servers", self.servers);
    v("separator", self.separator);
  }
};

struct Options {
  int64_t maxRequestBodySize = 1 << 20;
  int64_t maxResponseBodySize = 16 << 20;  // a list answer read whole (or one event) to filter it
  std::vector<PolicyOptions> policies;
  std::string defaultAction = "allow";
  std::string sessionSecret;
  std::vector<std::string> allowedOrigins;
  std::vector<RateLimitOptions> rateLimits;
  config::Duration callTimeout{};                               // 0: none
  config::Duration streamKeepAlive = std::chrono::seconds(15);  // 0: no keep-alive comments
  std::optional<FederationOptions> federation;
  static void describe(auto& self, auto& v) {
    v("maxRequestBodySize", self.maxRequestBodySize);
    v("maxResponseBodySize", self.maxResponseBodySize);
    v("policies", self.policies);
    v("defaultAction", self.defaultAction);
    v("sessionSecret", self.sessionSecret);
    v("allowedOrigins", self.allowedOrigins);
    v("rateLimits", self.rateLimits);
    v("callTimeout", self.callTimeout);
    v("streamKeepAlive", self.streamKeepAlive);
    v("federation", self.federation);
  }
};

struct RateLimit {
  std::optional<expr::claims::Expression> match;
  limits::RateParameters params;
  limits::SourceExtractor extractor;
};

struct Compiled {
  int64_t maxRequestBodySize;
  int64_t maxResponseBodySize;
  PolicySet policies;
  std::shared_ptr<const SessionSealer> sessions;
  std::vector<std::string> allowedOrigins;  // lower-case
  std::vector<RateLimit> rateLimits;
  std::chrono::nanoseconds callTimeout{0};
  std::chrono::nanoseconds streamKeepAlive{0};
  std::shared_ptr<const Federation> federation;  // null: the router's service is the MCP server
};

// The body field Mcp-Name mirrors for `method`, or "" when the method has none.
std::string_view nameSource(std::string_view method) {
  if (method == "tools/call" || method == "prompts/get") return "name";
  if (method == "resources/read") return "uri";
  if (method == "tasks/get" || method == "tasks/update" || method == "tasks/cancel")
    return "taskId";
  return {};
}

// A mirrored header's value: as sent, or decoded from MCP's `=?base64?…?=` form.
std::optional<std::string> headerValue(std::string_view raw) {
  constexpr std::string_view kOpen = "=?base64?", kClose = "?=";
  if (raw.size() >= kOpen.size() + kClose.size() && raw.starts_with(kOpen) &&
      raw.ends_with(kClose)) {
    std::string out;
    if (!base64Decode(raw.substr(kOpen.size(), raw.size() - kOpen.size() - kClose.size()), out))
      return std::nullopt;
    return out;
  }
  return std::string(raw);
}

// A session id as logs and traces show it: the id is a bearer credential (whoever has it joins
// the session), so only a fingerprint of it is written: 16 hex digits of its SHA-256.
std::string_view fingerprint(Exchange& ex, std::string_view session) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(session.data()), session.size(), digest);
  return ex.arena.copy(hexEncode(std::string_view(reinterpret_cast<const char*>(digest), 8)));
}

std::string_view idText(Exchange& ex, const boost::json::value* id) {
  if (!id) return {};
  if (const boost::json::string* s = id->if_string()) return ex.arena.copy(*s);
  return ex.arena.copy(boost::json::serialize(*id));
}

// What a call's cancellation needs once its exchange is gone.
struct CallOnServer {
  std::string serverUrl;
  std::string session;  // the server's own id
  std::string protocolVersion;
  std::string requestId;  // JSON text
  std::string path;
  std::string authority;
  std::string authorization;
  std::string cookie;
};

// MCP 2025: a closed stream is not a cancellation, so a call whose client went away (or whose
// callTimeout expired) keeps running on the server unless told: POSTs notifications/cancelled
// for it on its session, to the server that holds the session, through the rest of the chain.
// In the background, bounded by 5 s; the answer is dropped.
void cancelOnServer(HandlerPtr next, exchange::WorkerContext& worker,
                    const exchange::ConnectionInfo& connection, CallOnServer call,
                    std::string_view reason) {
  // The downstream connection may be gone by now: nothing of it that it owns is kept.
  exchange::ConnectionInfo conn = exchange::detachedConnection(connection);
  auto run = [](HandlerPtr next, exchange::WorkerContext& worker, exchange::ConnectionInfo conn,
                CallOnServer call, std::string reason) -> awaitable<void> {
    Arena arena;
    Exchange sub(worker, arena, conn);
    exchange::Request& r = sub.request;
    r.method = "POST";
    r.path = r.rawPath = r.routingPath = call.path;
    r.authority = call.authority;
    r.scheme = "http";
    r.headers.add("Content-Type", "application/json");
    r.headers.add("Accept", "application/json, text/event-stream");
    r.headers.add(kSessionHeader, call.session);
    if (!call.protocolVersion.empty()) r.headers.add(kVersionHeader, call.protocolVersion);
    if (!call.authorization.empty()) r.headers.add("Authorization", call.authorization);
    if (!call.cookie.empty()) r.headers.add("Cookie", call.cookie);
    std::string body =
        R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":)" +
        call.requestId + R"(,"reason":)" + boost::json::serialize(boost::json::value(reason)) +
        "}}";
    r.body = arena.make<exchange::MemoryBody>(body);
    sub.affinity.url = call.serverUrl;
    sub.limits.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    try {
      co_await next->handle(sub);
      co_await exchange::drainBody(sub.response.body, 64 << 10);
    } catch (...) {
    }
    co_await sub.background.join();
    log::debug("MCP call cancelled on its server",
               {{"server", call.serverUrl}, {"requestId", call.requestId}});
  };
  asio::co_spawn(
      worker.io(),
      run(std::move(next), worker, std::move(conn), std::move(call), std::string(reason)),
      asio::detached);
}

// A streamed answer to a call: when it is dropped before its end (the client left, the
// callTimeout cut it), the call is cancelled on its server.
class CancelUnfinished final : public exchange::BodySource {
 public:
  CancelUnfinished(exchange::BodySource* inner, HandlerPtr next, exchange::WorkerContext& worker,
                   const exchange::ConnectionInfo& connection, CallOnServer call)
      : inner_(inner), next_(std::move(next)), worker_(worker), connection_(connection),
        call_(std::move(call)) {}
  ~CancelUnfinished() override {
    if (!inner_->finished() && !ended_)
      cancelOnServer(next_, worker_, connection_, std::move(call_), "the client's stream closed");
  }
  awaitable<exchange::BodyChunk> read() override {
    exchange::BodyChunk chunk = co_await inner_->read();
    ended_ = chunk.last;
    co_return chunk;
  }
  bool finished() const override { return inner_->finished(); }
  const http::Headers* trailers() const override { return inner_->trailers(); }

 private:
  exchange::BodySource* inner_;
  HandlerPtr next_;
  exchange::WorkerContext& worker_;
  const exchange::ConnectionInfo& connection_;
  CallOnServer call_;
  bool ended_ = false;
};

class McpGateway final : public Handler {
 public:
  McpGateway(const Compiled& c, HandlerPtr next, const WrapContext& context)
      : c_(c), next_(std::move(next)), router_(context.routerName),
        sessionCaches_(std::make_unique<SessionCache[]>(std::max(context.workers, 1u))),
        workers_(std::max(context.workers, 1u)) {
    for (const RateLimit& limit : c_.rateLimits)
      buckets_.push_back(std::make_unique<limits::BucketTable>(limit.params));
  }

  awaitable<void> handle(Exchange& ex) const override {
    auto* rec = ex.arena.make<exchange::McpRecord>();
    ex.record.mcp = rec;
    rec->protocolVersion = ex.request.headers.get(kVersionHeader);

    if (ex.request.method != "POST" && ex.request.method != "GET" &&
        ex.request.method != "DELETE" && ex.request.method != "OPTIONS") {
      // Streamable HTTP has no other method: none reaches a server unchecked.
      replyError(ex, *rec, 405, nullptr, kInvalidRequest,
                 "Method not allowed: MCP uses POST, GET and DELETE");
      ex.response.headers.add("Allow", "POST, GET, DELETE, OPTIONS");
      co_return;
    }
    // The mirrored headers must be single: a server that routes on them must not see another
    // one than the gateway checked.
    for (std::string_view h : {kSessionHeader, kVersionHeader, kMethodHeader, kNameHeader})
      if (ex.request.headers.count(h) > 1) {
        replyError(ex, *rec, 400, nullptr, kHeaderMismatch,
                   "Header mismatch: " + std::string(h) + " is repeated");
        co_return;
      }
    std::string_view origin = ex.request.headers.get("Origin");
    if (!origin.empty() && !originAllowed(ex, origin)) {
      log::info("MCP request refused: Origin not allowed",
                {{"router", router_}, {"origin", origin}});
      replyError(ex, *rec, 403, nullptr, kOriginRefused, "Origin not allowed");
      co_return;
    }

    // The client's session: open it and pin the request to the server that holds it.
    std::string_view session = ex.request.headers.get(kSessionHeader);
    std::string_view upstreamSession;  // the server's own id for the session
    if (!session.empty() && !c_.federation) {
      const OpenedSession* opened = openSession(ex, session);
      if (!opened) {
        rec->sessionId = fingerprint(ex, session);
        replyError(ex, *rec, 404, nullptr, kSessionNotFound, "Session not found");
        co_return;
      }
      // Copies: another request on this worker may empty the cache while this one runs.
      rec->sessionId = ex.arena.copy(opened->fingerprint);
      ex.affinity.url = ex.arena.copy(opened->serverUrl);
      upstreamSession = ex.arena.copy(opened->upstreamId);
      ex.request.headers.removeWithTwins(kSessionHeader);
      ex.request.headers.add(kSessionHeader, upstreamSession);
    } else if (!session.empty()) {
      rec->sessionId = fingerprint(ex, session);
    }

    boost::json::value id;       // the request's id (null: none), to find its answer
    boost::json::value message;  // a POST's JSON-RPC message
    std::string_view listMethod;
    if (ex.request.method == "POST") {
      auto* body = ex.arena.make<std::string>();
      if (ex.request.body) {
        exchange::ReadResult read =
            co_await exchange::readBody(*ex.request.body, *body, c_.maxRequestBodySize);
        if (read == exchange::ReadResult::TooLarge) {
          replyError(ex, *rec, 413, nullptr, kInvalidRequest,
                     "request body larger than " + std::to_string(c_.maxRequestBodySize) +
                         " bytes");
          co_return;
        }
        if (read == exchange::ReadResult::Failed) {
          ex.record.errorDetail = "request body broke off";
          ex.response.status = 400;
          ex.response.closeConnection = true;
          co_return;
        }
      }
      ex.request.body = ex.arena.make<exchange::MemoryBody>(*body);
      boost::system::error_code ec;
      message = boost::json::parse(*body, ec, {}, jsonOptions());
      if (ec) {
        replyError(ex, *rec, 400, nullptr, kParseError, "Parse error: the body is not JSON");
        co_return;
      }
      if (message.is_array()) {
        replyError(
            ex, *rec, 400, nullptr, kInvalidRequest,
            "Invalid Request: batches are not accepted; send one JSON-RPC message per request");
        co_return;
      }
      std::string problem;
      const boost::json::object* o = message.if_object();
      const boost::json::value* methodValue = o ? o->if_contains("method") : nullptr;
      const boost::json::value* idValue = o ? o->if_contains("id") : nullptr;
      const boost::json::value* params = o ? o->if_contains("params") : nullptr;
      if (!o)
        problem = "not a JSON-RPC message";
      else if (const boost::json::value* v = o->if_contains("jsonrpc");
               !v || !v->is_string() || v->get_string() != "2.0")
        problem = "\"jsonrpc\" must be \"2.0\"";
      else if (idValue && !idValue->is_string() && !idValue->is_int64() && !idValue->is_uint64())
        problem = "\"id\" must be a string or an integer";
      else if (methodValue && !methodValue->is_string())
        problem = "\"method\" must be a string";
      else if (!methodValue && !(idValue && (o->contains("result") || o->contains("error"))))
        problem = "expected a request, a notification or a response";
      else if (params && !params->is_object())
        problem = "\"params\" must be an object";
      else if (methodValue && methodValue->get_string().size() > kMaxMethodBytes)
        problem = "\"method\" is longer than " + std::to_string(kMaxMethodBytes) + " bytes";
      if (!problem.empty()) {
        replyError(ex, *rec, 400, idValue, kInvalidRequest, "Invalid Request: " + problem);
        co_return;
      }
      if (idValue && methodValue) {
        id = *idValue;
        rec->requestId = idText(ex, idValue);
      }

      if (methodValue) {
        std::string_view method = methodValue->get_string();
        rec->method = ex.arena.copy(method);
        std::string_view source = nameSource(method);
        const boost::json::value* nameValue = nullptr;
        if (params && params->is_object()) {
          nameValue =
              params->get_object().if_contains(source.empty() ? std::string_view("name") : source);
          if (nameValue && nameValue->is_string())
            rec->name = ex.arena.copy(nameValue->get_string());
          if (const boost::json::value* meta = params->get_object().if_contains("_meta");
              meta && meta->is_object())
            if (const boost::json::value* v = meta->get_object().if_contains(kVersionMeta);
                v && v->is_string()) {
              if (rec->protocolVersion.empty())
                rec->protocolVersion = ex.arena.copy(v->get_string());
              else if (rec->protocolVersion != v->get_string()) {
                mismatch(ex, *rec, idValue,
                         "MCP-Protocol-Version differs from the body's protocol version");
                co_return;
              }
            }
        }
        if (!source.empty() &&
            (!nameValue || !nameValue->is_string() || nameValue->get_string().empty() ||
             nameValue->get_string().size() > kMaxNameBytes)) {
          // What the policies, the limits and the logs key on must be one plain string.
          replyError(ex, *rec, 400, idValue, kInvalidParams,
                     "Invalid params: " + std::string(method) + " needs params." +
                         std::string(source) + ", a string of 1 to " +
                         std::to_string(kMaxNameBytes) + " bytes");
          co_return;
        }
        if (std::string why = checkMirrors(ex, method, idValue != nullptr, source, nameValue);
            !why.empty()) {
          mismatch(ex, *rec, idValue, why);
          co_return;
        }

        if (!c_.policies.empty()) {
          Decision d = c_.policies.decide(method, params, ex.claims);
          if (d.rule != Decision::kPassed) {
            rec->decision = d.allow ? "allow" : "deny";
            rec->rule = d.rule == Decision::kDefault
                            ? std::string_view("defaultAction")
                            : ex.arena.copy("policies[" + std::to_string(d.rule) + "]");
          }
          if (!d.allow) {
            log::info("MCP call denied by policy", {{"router", router_},
                                                    {"method", rec->method},
                                                    {"name", rec->name},
                                                    {"rule", rec->rule},
                                                    {"client", ex.connection.peerIpText}});
            ex.record.errorDetail = "denied by MCP policy";
            if (!idValue) {
              replyError(ex, *rec, 403, nullptr, kForbidden, "Forbidden by policy");
              co_return;
            }
            replyError(ex, *rec, 200, idValue, kForbidden,
                       "Forbidden: " + std::string(method) +
                           (rec->name.empty() ? std::string() : " " + std::string(rec->name)) +
                           " is not allowed by the gateway's policy");
            co_return;
          }
          if (idValue && PolicySet::isList(method)) {
            listMethod = rec->method;
            // The answer must be readable to filter it.
            ex.request.headers.removeWithTwins("Accept-Encoding");
          }
        }
        if (idValue && !c_.rateLimits.empty()) {
          std::chrono::nanoseconds wait = co_await spendRateLimits(ex, *rec, idValue, params);
          if (wait.count() < 0) co_return;
        }
        if (idValue && c_.callTimeout.count() > 0)
          ex.limits.deadline =
              std::min(ex.limits.deadline, std::chrono::steady_clock::now() + c_.callTimeout);
      }
    }

    if (c_.federation) {
      co_await c_.federation->handle(ex, *rec, message.is_object() ? &message : nullptr,
                                     c_.policies);
      if (ex.response.status == 504 && !rec->method.empty() && c_.callTimeout.count() > 0 &&
          std::chrono::steady_clock::now() >= ex.limits.deadline) {
        replyError(ex, *rec, 504, id.is_null() ? nullptr : &id, kTimedOut,
                   "Request timed out: no answer from the server within the gateway's callTimeout");
        ex.limits.deadline = std::chrono::steady_clock::time_point::max();
        co_return;
      }
      if (std::string_view given = ex.response.headers.get(kSessionHeader);
          !given.empty() && rec->sessionId.empty())
        rec->sessionId = fingerprint(ex, given);
      if (!origin.empty()) exposeSessionHeader(ex);
      if (istartsWith(ex.response.headers.get("Content-Type"), "text/event-stream")) {
        ex.response.headers.set("X-Accel-Buffering", "no");
        if (c_.streamKeepAlive.count() > 0 && ex.response.body && ex.response.status == 200 &&
            ex.request.method == "POST") {  // the merged GET stream keeps itself alive
          ex.response.body =
              ex.arena.make<KeepAliveStream>(ex.response.body, ex, c_.streamKeepAlive);
          ex.response.headers.remove("Content-Length");
        }
      }
      co_return;
    }
    co_await next_->handle(ex);

    if (ex.affinity.missed) {
      // The server that held the session is gone: the session is, too.
      replyError(ex, *rec, 404, nullptr, kSessionNotFound,
                 "Session not found (its server is not available)");
      co_return;
    }
    // A call in a session whose answer will not be read: tell its server (2026-07-28 servers
    // have no sessions; for them the closed connection is the cancellation).
    bool cancellable = !upstreamSession.empty() && !rec->requestId.empty() &&
                       !ex.record.serviceUrl.empty() && rec->method != "initialize";
    if (cancellable && ex.record.originStatus == 0 && !ex.record.networkError &&
        (ex.record.clientGone || ex.limits.timedOut || ex.response.status == 504)) {
      cancelOnServer(next_, ex.worker, ex.connection, callOnServer(ex, upstreamSession, id),
                     "the client's request ended");
      cancellable = false;
    }
    if (ex.response.status == 504 && !rec->method.empty() && c_.callTimeout.count() > 0 &&
        std::chrono::steady_clock::now() >= ex.limits.deadline) {
      replyError(ex, *rec, 504, id.is_null() ? nullptr : &id, kTimedOut,
                 "Request timed out: no answer from the server within the gateway's callTimeout");
      ex.limits.deadline =
          std::chrono::steady_clock::time_point::max();  // the error itself may be written
      co_return;
    }
    exchange::Response& r = ex.response;
    if (std::string_view given = r.headers.get(kSessionHeader); !given.empty()) {
      if (ex.record.serviceUrl.empty()) {
        r.headers.remove(kSessionHeader);  // not from a server we can find again
      } else if (given == upstreamSession && ex.record.serviceUrl == ex.affinity.url) {
        r.headers.set(kSessionHeader, session);  // the session the client has: its id stays
      } else {
        std::string sealed = c_.sessions->seal(ex.record.serviceUrl, given);
        r.headers.set(kSessionHeader, ex.arena.copy(sealed));
        if (rec->sessionId.empty()) rec->sessionId = fingerprint(ex, sealed);
      }
    }
    if (!origin.empty()) exposeSessionHeader(ex);
    std::string_view type = r.headers.get("Content-Type");
    bool stream = istartsWith(type, "text/event-stream");
    if (stream) r.headers.set("X-Accel-Buffering", "no");
    if (!listMethod.empty() && r.body && r.status == 200) {
      // A list answer is passed on filtered or not at all.
      std::string_view encoding = r.headers.get("Content-Encoding");
      if (!encoding.empty() && !iequals(encoding, "identity")) {
        replyError(ex, *rec, 502, &id, kInternalError,
                   "the server's list answer is compressed and cannot be filtered");
        co_return;
      }
      if (stream) {
        r.body = ex.arena.make<SseListFilter>(r.body, c_.policies, listMethod, ex.claims, *rec,
                                              size_t(c_.maxResponseBodySize));
        r.headers.remove("Content-Length");
      } else if (istartsWith(type, "application/json")) {
        co_await filterJson(ex, *rec, id, listMethod);
      } else {
        replyError(ex, *rec, 502, &id, kInternalError,
                   "the server's list answer is neither JSON nor an event stream");
        co_return;
      }
    }
    if (stream && r.body && r.status == 200) {
      if (c_.streamKeepAlive.count() > 0) {
        r.body = ex.arena.make<KeepAliveStream>(r.body, ex, c_.streamKeepAlive);
        r.headers.remove("Content-Length");
      }
      if (cancellable)
        r.body = ex.arena.make<CancelUnfinished>(r.body, next_, ex.worker, ex.connection,
                                                 callOnServer(ex, upstreamSession, id));
    }
  }

 private:
  bool originAllowed(const Exchange& ex, std::string_view origin) const {
    std::string lower = toLower(origin);
    if (!c_.allowedOrigins.empty()) {
      for (const std::string& o : c_.allowedOrigins)
        if (o == "*" || o == lower) return true;
      return false;
    }
    // No list: only pages on this machine. Comparing the Origin with the Host would not do: after
    // DNS rebinding both name the attacker's host.
    size_t scheme = lower.find("://");
    if (scheme == std::string::npos) return false;
    std::string_view host = std::string_view(lower).substr(scheme + 3);
    if (host.starts_with("[::1]"))
      host = "[::1]";
    else
      host = host.substr(0, host.find(':'));
    return host == "localhost" || host == "127.0.0.1" || host == "[::1]";
  }

  // Mcp-Method and Mcp-Name must say what the body says; from 2026-07-28 on, requests must send
  // them. Returns why not, or "".
  std::string checkMirrors(Exchange& ex, std::string_view method, bool request,
                           std::string_view source, const boost::json::value* nameValue) const {
    const http::HeaderField* methodHeader = ex.request.headers.find(kMethodHeader);
    const http::HeaderField* nameHeader = ex.request.headers.find(kNameHeader);
    std::string_view version = ex.request.headers.get(kVersionHeader);
    bool required = request && !version.empty() && version >= kHeaderRevision;
    if (methodHeader) {
      auto v = headerValue(methodHeader->value);
      if (!v || *v != method) return "Mcp-Method does not match the body's method";
    } else if (required) {
      return "Mcp-Method is required from protocol revision 2026-07-28";
    }
    if (source.empty()) return {};
    std::string bodyName;
    if (nameValue && nameValue->is_string()) bodyName = std::string(nameValue->get_string());
    if (nameHeader) {
      auto v = headerValue(nameHeader->value);
      if (!v || *v != bodyName)
        return "Mcp-Name does not match the body's params." + std::string(source);
    } else if (required) {
      return "Mcp-Name is required for " + std::string(method) +
             " from protocol revision 2026-07-28";
    }
    return {};
  }

  static CallOnServer callOnServer(const Exchange& ex, std::string_view upstreamSession,
                                   const boost::json::value& id) {
    return CallOnServer{std::string(ex.record.serviceUrl),
                        std::string(upstreamSession),
                        std::string(ex.request.headers.get(kVersionHeader)),
                        boost::json::serialize(id),
                        std::string(ex.request.path),
                        std::string(ex.request.authority),
                        std::string(ex.request.headers.get("Authorization")),
                        std::string(ex.request.headers.get("Cookie"))};
  }

  // Spends a token of every rate limit the request falls under; waits a short delay. Returns
  // the time waited, or a negative duration when a limit refused (the reply is set).
  awaitable<std::chrono::nanoseconds> spendRateLimits(Exchange& ex, exchange::McpRecord& rec,
                                                      const boost::json::value* id,
                                                      const boost::json::value* params) const {
    limits::Nanos longest{0};
    for (size_t i = 0; i < c_.rateLimits.size(); ++i) {
      const RateLimit& limit = c_.rateLimits[i];
      bool applies = limit.match ? PolicySet::matches(*limit.match, rec.method, params, ex.claims)
                                 : rec.method == "tools/call";
      if (!applies) continue;
      std::string key = limit.extractor.extract(ex);
      key += '\n';
      key += rec.name;
      int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::steady_clock::now().time_since_epoch())
                        .count();
      limits::Nanos delay = buckets_[i]->allow(key, now, now / 1000000000);
      if (delay > limit.params.maxDelay) {
        log::info("MCP request over a rate limit", {{"router", router_},
                                                    {"method", rec.method},
                                                    {"name", rec.name},
                                                    {"limit", int64_t(i)},
                                                    {"client", ex.connection.peerIpText}});
        ex.record.errorDetail = "MCP rate limit exceeded";
        replyError(ex, rec, 429, id, kRateLimited,
                   "Rate limit exceeded: rateLimits[" + std::to_string(i) + "]");
        int64_t seconds = std::max<int64_t>(1, int64_t(std::ceil(double(delay.count()) / 1e9)));
        ex.response.headers.set("Retry-After", ex.arena.copy(std::to_string(seconds)));
        co_return std::chrono::nanoseconds(-1);
      }
      longest = std::max(longest, delay);
    }
    if (longest.count() > 0) {
      asio::steady_timer timer(ex.worker.io(), longest);
      co_await timer.async_wait(nothrow);
    }
    co_return longest;
  }

  awaitable<void> filterJson(Exchange& ex, exchange::McpRecord& rec, const boost::json::value& id,
                             std::string_view method) const {
    std::string body;
    exchange::ReadResult read =
        co_await exchange::readBody(*ex.response.body, body, c_.maxResponseBodySize);
    if (read != exchange::ReadResult::Complete) {
      replyError(ex, rec, 502, &id, kInternalError,
                 read == exchange::ReadResult::TooLarge
                     ? "the server's list answer is too large to filter"
                     : "the server's answer broke off");
      co_return;
    }
    int hidden = 0;
    std::string filtered;
    ListAnswer answer = filterListAnswer(body, method, c_.policies, ex.claims, hidden, filtered);
    if (answer == ListAnswer::Unreadable) {
      replyError(ex, rec, 502, &id, kInternalError,
                 "the server's list answer cannot be read to filter it");
      co_return;
    }
    rec.hidden += hidden;
    ex.response.headers.remove("Content-Length");
    ex.response.body = ex.arena.make<exchange::OwnedBody>(
        answer == ListAnswer::Filtered ? std::move(filtered) : std::move(body));
  }

  static void exposeSessionHeader(Exchange& ex) {
    http::Headers& h = ex.response.headers;
    std::string_view current = h.get("Access-Control-Expose-Headers");
    if (current == "*" || listContainsToken(current, kSessionHeader)) return;
    h.set("Access-Control-Expose-Headers",
          current.empty() ? kSessionHeader : ex.arena.concat({current, ", ", kSessionHeader}));
  }

  void mismatch(Exchange& ex, exchange::McpRecord& rec, const boost::json::value* id,
                std::string_view why) const {
    replyError(ex, rec, 400, id, kHeaderMismatch, "Header mismatch: " + std::string(why));
  }

  // The sessions this handler opened, per worker: a client sends the same id on every request,
  // and opening it (base64, AES-GCM, the fingerprint) costs more than the rest of the middleware.
  struct OpenedSession {
    std::string serverUrl, upstreamId, fingerprint;
  };
  struct SessionCache {
    std::unordered_map<std::string, OpenedSession> entries;
  };
  static constexpr size_t kSessionCacheSize = 4096;  // per worker; emptied when full

  const OpenedSession* openSession(Exchange& ex, std::string_view token) const {
    SessionCache& cache = sessionCaches_[ex.worker.index() < workers_ ? ex.worker.index() : 0];
    if (auto it = cache.entries.find(std::string(token)); it != cache.entries.end())
      return &it->second;
    std::optional<SessionTarget> target = c_.sessions->open(token);
    if (!target) return nullptr;
    if (cache.entries.size() >= kSessionCacheSize) cache.entries.clear();
    OpenedSession opened{std::move(target->serverUrl), std::move(target->upstreamId),
                         std::string(fingerprint(ex, token))};
    return &cache.entries.emplace(std::string(token), std::move(opened)).first->second;
  }

  const Compiled c_;  // a copy: the factory that built the handler does not outlive the build
  HandlerPtr next_;
  std::string router_;
  std::vector<std::unique_ptr<limits::BucketTable>>
      buckets_;  // one per rate limit, shared by the workers
  std::unique_ptr<SessionCache[]> sessionCaches_;
  unsigned workers_;
};

// Without a configured sessionSecret: one random secret for the life of the process, so that
// sessions survive reloads (but not a restart, nor a move to another replica).
const std::string& processSecret() {
  static const std::string secret = base64Encode(randomBytes(32));
  return secret;
}

MiddlewareFactoryPtr create(const config::Node& node, MiddlewareBuildContext& context) {
  std::optional<Options> o = exchange::decodeOptions<Options>(node, context);
  if (!o) return nullptr;
  if (o->maxRequestBodySize <= 0 || o->maxResponseBodySize <= 0) {
    context.error("maxRequestBodySize and maxResponseBodySize: must be > 0");
    return nullptr;
  }
  auto actionOf = [](std::string_view a) -> std::optional<bool> {
    if (iequals(a, "allow")) return true;
    if (iequals(a, "deny")) return false;
    return std::nullopt;
  };
  auto defaultAllow = actionOf(o->defaultAction);
  if (!defaultAllow) {
    context.error("defaultAction: expected allow or deny, got \"" + o->defaultAction + "\"");
    return nullptr;
  }
  std::vector<PolicyRule> rules;
  for (size_t i = 0; i < o->policies.size(); ++i) {
    const PolicyOptions& p = o->policies[i];
    std::string where = "policies[" + std::to_string(i) + "]";
    auto allow = actionOf(p.action);
    if (!allow) {
      context.error(where + ".action: expected allow or deny, got \"" + p.action + "\"");
      return nullptr;
    }
    std::string error;
    auto match = expr::claims::parse(p.match, error);
    if (!match) {
      context.error(where + ".match: " + error);
      return nullptr;
    }
    for (const expr::claims::Field& f : match->fields())
      if (std::string why = PolicySet::checkField(f); !why.empty()) {
        context.error(where + ".match: " + why);
        return nullptr;
      }
    rules.push_back({std::move(*match), *allow});
  }
  std::vector<RateLimit> rateLimits;
  for (size_t i = 0; i < o->rateLimits.size(); ++i) {
    const RateLimitOptions& r = o->rateLimits[i];
    std::string where = "rateLimits[" + std::to_string(i) + "]";
    if (r.average <= 0 || r.burst <= 0 || r.period.value.count() <= 0) {
      context.error(where + ": average, burst and period must be > 0");
      return nullptr;
    }
    RateLimit limit{std::nullopt, limits::rateParameters(r.average, r.period.value, r.burst), {}};
    if (!r.match.empty()) {
      std::string error;
      limit.match = expr::claims::parse(r.match, error);
      if (!limit.match) {
        context.error(where + ".match: " + error);
        return nullptr;
      }
      for (const expr::claims::Field& f : limit.match->fields())
        if (std::string why = PolicySet::checkField(f); !why.empty()) {
          context.error(where + ".match: " + why);
          return nullptr;
        }
    }
    std::string error;
    auto extractor = limits::SourceExtractor::make(
        r.sourceCriterion, limits::SourceExtractor::Fallback::PeerIp, error);
    if (!extractor) {
      context.error(where + ".sourceCriterion: " + error);
      return nullptr;
    }
    limit.extractor = std::move(*extractor);
    rateLimits.push_back(std::move(limit));
  }
  if (o->callTimeout.value.count() < 0) {
    context.error("callTimeout: must be >= 0");
    return nullptr;
  }
  Compiled c{o->maxRequestBodySize,
             o->maxResponseBodySize,
             PolicySet(std::move(rules), *defaultAllow),
             std::make_shared<SessionSealer>(o->sessionSecret.empty() ? processSecret()
                                                                      : o->sessionSecret),
             {},
             {},
             {},
             {},
             {}};
  for (const std::string& origin : o->allowedOrigins)
    c.allowedOrigins.push_back(toLower(origin));
  c.rateLimits = std::move(rateLimits);
  c.callTimeout = o->callTimeout.value;
  if (o->streamKeepAlive.value.count() < 0) {
    context.error("streamKeepAlive: must be >= 0");
    return nullptr;
  }
  c.streamKeepAlive = o->streamKeepAlive.value;
  if (o->federation) {
    const FederationOptions& f = *o->federation;
    if (f.servers.empty()) {
      context.error("federation.servers: expected at least one {name, service}");
      return nullptr;
    }
    bool separatorOk = !f.separator.empty() && f.separator.size() <= 8;
    for (char ch : f.separator)
      separatorOk =
          separatorOk && !std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '.';
    if (!separatorOk) {
      // It must not be part of a name, or "git-hub-x" could belong to "git" or to "git-hub".
      context.error("federation.separator: expected 1 to 8 characters that are not letters, "
                    "digits, '-' or '.', got \"" +
                    f.separator + "\"");
      return nullptr;
    }
    std::vector<Federation::Server> servers;
    for (size_t i = 0; i < f.servers.size(); ++i) {
      const FederatedServerOptions& s = f.servers[i];
      std::string where = "federation.servers[" + std::to_string(i) + "]";
      bool nameOk = !s.name.empty() && s.name.size() <= 64;
      for (char ch : s.name)
        nameOk = nameOk && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '.');
      if (!nameOk) {
        context.error(where + ".name: expected 1 to 64 letters, digits, '-' or '.', got \"" +
                      s.name + "\"");
        return nullptr;
      }
      for (const Federation::Server& other : servers)
        if (other.name == s.name) {
          context.error(where + ".name: \"" + s.name + "\" is used twice");
          return nullptr;
        }
      if (s.service.empty()) {
        context.error(where + ".service: expected a service name");
        return nullptr;
      }
      servers.push_back({s.name, context.service(s.service)});
    }
    c.federation = std::make_shared<Federation>(std::move(servers), f.separator, c.sessions,
                                                c.maxResponseBodySize, c.streamKeepAlive);
  }
  return exchange::factoryOf<McpGateway>(std::move(c));
}

const exchange::MiddlewareRegistration kRegistration("mcp", create, "MCP");

}  // namespace
}  // namespace causeway::gateway::mcp
