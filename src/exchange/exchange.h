// The one internal HTTP message model (design: "one internal model for every codec").
// A codec (HTTP/1 today, HTTP/2 later) fills a Request, the handler chain fills the
// Response, and the codec writes it back. Middlewares see only this model: no framing.
//
// Ownership: every string_view in Request and Response points into the Exchange's arena
// (or static storage); the codec resets the arena when the exchange ends. An Exchange
// lives on one worker and is touched by that worker's thread only.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string_view>
#include <tuple>

#include "core/arena.h"
#include "exchange/ai_record.h"
#include "exchange/api_record.h"
#include "exchange/mcp_record.h"
#include "exchange/body.h"
#include "exchange/worker_context.h"
#include "http/headers.h"
#include "io/abandonable.h"
#include "io/task_group.h"
#include "net/ip.h"

namespace boost::json {
class value;
}

typedef struct x509_st X509;
struct stack_st_X509;
using STACK_OF_X509 = struct stack_st_X509;

// Named here, defined in the layers that fill them in (the contract only carries pointers).
namespace causeway::runtime {
struct EntryPoint;
struct Snapshot;
}  // namespace causeway::runtime
namespace causeway::tls {
struct TlsOptionSet;
class TlsStore;
}  // namespace causeway::tls

namespace causeway::exchange {

struct ExchangeNotes;

// Facts about the downstream connection that carried a request.
struct ConnectionInfo {
  const runtime::EntryPoint* entryPoint = nullptr;
  net::IpAddress peerIp;
  uint16_t peerPort = 0;
  std::string peerIpText;     // "127.0.0.1" or "::1"
  std::string peerAddress;    // "127.0.0.1:5678" or "[::1]:5678"
  uint16_t localPort = 0;
  bool peerTrusted = false;   // peer may supply X-Forwarded-* (forwardedHeaders)
  // The entryPoint's forwardedHeaders.notAppendXForwardedFor: the peer is not appended to
  // X-Forwarded-For upstream (as global.notAppendXForwardedFor does for every entryPoint).
  bool notAppendForwardedFor = false;
  // The entryPoint's requestBodyPrefetchBytes (upstream/forward.h, prefetchBody).
  uint64_t bodyPrefetchBytes = 0;
  // TLS (when tls is true): what the handshake settled.
  bool tls = false;
  std::string_view tlsVersion;        // "TLS 1.3"
  std::string_view tlsCipher;         // OpenSSL cipher name
  std::string serverName;             // SNI, lower-case
  const tls::TlsOptionSet* tlsOptions = nullptr;  // chosen by SNI
  const tls::TlsStore* tlsStore = nullptr;        // the store the handshake used (kept alive by the connection)
  X509* peerCertificate = nullptr;    // client certificate, owned by the TLS stream
  STACK_OF_X509* peerChain = nullptr; // certificates the client sent after its own (may be null)
  bool http2 = false;
  bool http3 = false;  // QUIC (downstream/h3_connection.h): tls is true too
};

struct Request {
  std::string_view method;
  std::string_view path;       // normalized path (escaped): what is forwarded
  std::string_view routingPath;  // path as rules see it (Traefik: non-reserved %XX decoded)
  std::string_view rawPath;    // as received
  std::string_view query;      // raw query, without '?'
  bool hasQuery = false;
  std::string_view authority;  // host[:port] as received (Host field or absolute-form target)
  std::string_view host;       // lower-case host without port or trailing dot (routing)
  std::string_view scheme;     // "http" or "https"
  int versionMajor = 1;
  int versionMinor = 1;
  http::Headers headers;
  BodySource* body = nullptr;  // null: no body
  bool upgrade = false;        // Connection: upgrade with an Upgrade field (WebSocket)
  bool websocket = false;      // Upgrade: websocket
  // Fields the client nominated in Connection that forwardedHeaders.connection keeps
  // through the middleware chain; the proxy still drops them upstream (as Go does).
  std::array<std::string_view, 4> nominatedKept{};
  size_t nominatedKeptCount = 0;
  // Send no X-Forwarded-For upstream at all (Go's nil header value: the headers middleware
  // with customRequestHeaders "X-Forwarded-For": "").
  bool omitForwardedFor = false;
};

// A copy of `request` whose strings live in `arena` (no body).
Request copyRequest(const Request& request, Arena& arena);

// A copy of `connection` for a request sent in the background, which may outlive the downstream
// connection: nothing the connection owns or points at is kept (entryPoint, TLS options and
// store, the client's certificates).
ConnectionInfo detachedConnection(const ConnectionInfo& connection);

// The downstream side of a tunnel: the client connection, plain or TLS.
class DuplexStream {
 public:
  virtual ~DuplexStream() = default;
  virtual awaitable<std::tuple<error_code, size_t>> readSome(asio::mutable_buffer buffer) = 0;
  virtual awaitable<std::tuple<error_code, size_t>> writeAll(asio::const_buffer buffer) = 0;
  virtual void shutdownSend() = 0;  // the client sees EOF
  virtual void close() = 0;         // both directions end
  // The socket itself when the stream is plain TCP (no TLS): a byte pipe between two plain
  // streams can then use the socket directly, and splice(2). nullptr otherwise.
  virtual tcp::socket* plainSocket() { return nullptr; }
  // Bytes received and not read yet: what the socket holds, and over TLS what the stream has
  // taken from it and not decrypted. A copy that reads large pieces goes back to small ones
  // when this is small (io/stream_read.h).
  virtual size_t queuedBytes() = 0;
};

// A bidirectional byte stream after a successful upgrade (101): the downstream codec
// hands over its stream and the tunnel copies bytes both ways until either side ends.
class UpgradeTunnel {
 public:
  virtual ~UpgradeTunnel() = default;
  // `pending` holds bytes the client already sent after the request head.
  virtual awaitable<void> run(DuplexStream& downstream, std::string_view pending) = 0;
  // Ends the tunnel from outside (the client's side is gone while run() may still wait on the
  // upstream): the upstream connection is closed, so that run() returns.
  virtual void abort() = 0;
};

struct Response {
  int status = 0;
  std::string_view reason;      // empty: the standard reason phrase
  http::Headers headers;
  BodySource* body = nullptr;   // null: no body
  UpgradeTunnel* tunnel = nullptr;  // set together with status 101
  bool closeConnection = false;     // the codec must close the downstream connection after it
};

// What the access log, metrics and tracing need to know about one request.
struct RequestRecord {
  std::chrono::steady_clock::time_point start;
  std::string_view routerName;
  std::string_view serviceName;      // the router's service
  // The loadBalancer service that picked a server: the innermost of nested services, Traefik's
  // service in service metrics, the access log and the Service span. Empty when no server was
  // tried (a middleware answered, or no server was available).
  std::string_view upstreamService;
  std::string_view serviceUrl;
  int originStatus = 0;          // 0 when answered by causeway itself
  int retryAttempts = 0;
  // The proxy reached an upstream server but the request did not reach a live one (dial
  // failure or timeout, possibly after a stale pooled connection; or nothing was written):
  // the retry middleware may send it again (Traefik: proxyReached && !wroteRequest). Set by
  // the load balancer.
  bool networkError = false;
  std::string_view errorDetail;  // why causeway answered 4xx/5xx itself
  std::string_view user;         // authenticated (or attempted) user name, for the access log
  std::string_view cacheStatus;  // what an httpCache middleware did (its X-Cache-Status), static text
  // Filled by the codec for observers (metrics, access log, tracing).
  int downstreamStatus = 0;      // what the client got (0: the connection broke first)
  uint64_t requestBytes = 0;     // request body bytes read from the client
  uint64_t responseBytes = 0;    // response body bytes written to the client
  std::chrono::steady_clock::time_point originStart{};  // request sent upstream
  std::chrono::steady_clock::time_point originEnd{};    // response head received
  std::chrono::system_clock::time_point startWall{};    // wall clock at start (logs)
  bool clientGone = false;       // the client went away before the response was complete
  // The observers' own per-exchange state (src/observe: the request as it entered the chain,
  // trace context), placed in the arena by onRequest; null when no observer needed it.
  ExchangeNotes* notes = nullptr;
  // What the AI gateway learned (ai_record.h); null on exchanges that are not LLM calls.
  AiRecord* ai = nullptr;
  // What the MCP gateway learned (mcp_record.h); null on exchanges that are not MCP traffic.
  McpRecord* mcp = nullptr;
  // What API management learned (api_record.h); null on exchanges no `api` middleware saw.
  ApiRecord* api = nullptr;
};

// Watches exchanges: metrics, access logs, tracing. Called on the worker thread that
// serves the exchange; implementations keep per-worker state or use atomics, and must not
// block. onRequest runs after the request head is parsed and before routing (it may add
// headers, e.g. trace context); onComplete runs once the response has been written or the
// exchange broke off.
// One TCP connection or UDP session a router served, when it ends (metrics, access log).
struct Layer4Record {
  unsigned worker = 0;
  std::string_view protocol;  // "TCP" or "UDP"
  std::string_view entryPoint, router, service;
  std::string_view upstream;    // "host:port" of the server, "" when none was reached
  std::string_view serverName;  // SNI ("" when none)
  std::string_view error;       // why it ended early ("" when it ran to the end)
  std::string_view clientAddress, clientIp;
  uint16_t clientPort = 0;
  bool tls = false;  // terminated by causeway
  uint64_t bytesFromClient = 0, bytesToClient = 0;
  std::chrono::steady_clock::time_point start;
  std::chrono::system_clock::time_point startWall;
};

class ExchangeObserver {
 public:
  virtual ~ExchangeObserver() = default;
  virtual void onRequest(struct Exchange& ex) {}
  virtual void onComplete(const struct Exchange& ex) {}
  virtual void onLayer4(const Layer4Record& record) {}
};

// What a router's own limits change for one exchange (router_policy.h); the codecs and the
// upstream clients read them. Defaults leave the entryPoint's and the transport's.
struct ExchangeLimits {
  std::chrono::nanoseconds responseHeaderTimeout{0};  // 0: the transport's
  std::chrono::nanoseconds idleTimeout{-1};            // < 0: the entryPoint's (HTTP/1.1)
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  bool timedOut = false;  // the router's exchange timeout expired (504 instead of 499)
  // The request body as read into memory before the upstream (upstream/forward.h): a retry
  // can send it again, as nothing of it was consumed by a failed attempt.
  bool bodyPrefetched = false;
  std::string_view prefetchedBody;
};

// A server a middleware requires for this request: the MCP gateway pins a session to the server
// that created it. The loadBalancer service that handles the request uses the server whose URL
// is `url` and, when it has none or that server is down, forwards nothing and sets `missed`.
struct ServerAffinity {
  std::string_view url;  // empty: none required
  bool missed = false;
};

struct Exchange {
  Exchange(WorkerContext& w, Arena& a, const ConnectionInfo& c) : worker(w), arena(a), connection(c) {}
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  WorkerContext& worker;
  Arena& arena;
  const ConnectionInfo& connection;
  const runtime::Snapshot* snapshot = nullptr;
  Request request;
  Response response;
  RequestRecord record;
  ExchangeLimits limits;
  ServerAffinity affinity;
  // The claims of the caller's verified token (a JSON object), set by the authentication
  // middlewares (jwt) for those after them (the mcp policies, ai token grouping); null when
  // none ran. Owned by the arena or by the middleware's cache, alive until the exchange ends.
  const boost::json::value* claims = nullptr;
  io::TaskGroup background;  // joined by the codec before the arena is reset
  io::Abandonable* waiting = nullptr;  // see Abandonable

  // Called by the downstream codec when the client went away (an HTTP/2 stream reset, the
  // connection lost): the upstream request still waiting for its answer is given up.
  void clientGone() {
    record.clientGone = true;
    endWaits();
  }
  // Called by the codec before it joins `background`, when the answer went out whole or not:
  // whatever still waits on the upstream (a stream the client's side stopped reading early) is
  // given up, so that the join cannot wait on a server that never speaks again.
  void endWaits() {
    if (waiting) waiting->abandon();
  }
};

}  // namespace causeway::exchange
