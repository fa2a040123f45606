// A small Redis client on Boost.Asio coroutines (RESP2), for the rateLimit middleware's
// `redis` option. Each worker has its own pool of connections per configuration (made on
// first use, kept in thread-local storage so that sockets never leave their worker);
// commands on one connection are never interleaved. Timeouts (dial, read, write) use the
// worker's watchdog. Cluster redirections (MOVED/ASK) are followed once. With TLS, each
// connection runs its handshake right after the TCP connect (within the dial timeout).
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "clients/redis/resp_protocol.h"
#include "core/clock.h"
#include "io/asio.h"
#include "io/watchdog.h"
#include "tls/tls_stream.h"

namespace causeway::clients::redis {

struct RedisSettings {
  std::vector<std::string> endpoints{"localhost:6379"};  // host:port, tried in order
  std::string username;
  std::string password;
  int64_t db = 0;
  int64_t poolSize = 0;        // idle connections kept per worker (0: 10)
  int64_t maxActiveConns = 0;  // connections per worker at most (0: no limit)
  std::chrono::nanoseconds readTimeout{std::chrono::seconds(3)};   // <= 0: none
  std::chrono::nanoseconds writeTimeout{std::chrono::seconds(3)};  // <= 0: none
  std::chrono::nanoseconds dialTimeout{std::chrono::seconds(5)};   // <= 0: none
  bool useTls = false;            // TLS on every connection (the `tls` option)
  tls::TlsClientSettings tls;  // trust roots, client certificate, verification

  // Identifies the pool: equal keys share connections.
  std::string key() const;
};

class RedisClient : public std::enable_shared_from_this<RedisClient> {
 public:
  // The pool for `settings` on the calling worker's thread (`workerIndex`, its event loop and
  // watchdog).
  static std::shared_ptr<RedisClient> forWorker(unsigned workerIndex, asio::io_context& io, io::Watchdog& watchdog,
                                                const RedisSettings& settings);

  RedisClient(asio::io_context& io, io::Watchdog& watchdog, RedisSettings settings);
  ~RedisClient();

  // Sends one command and reads its reply. False with `error` set on a connection failure,
  // timeout or malformed reply; a Redis error reply ("-ERR ...") is a successful call.
  awaitable<bool> call(std::vector<std::string> args, resp::Value& reply, std::string& error);

  // Like call(), over the worker's one pipelined connection: the commands of concurrent callers
  // go out in one write and their replies are read in order, so under load one write and one
  // read serve many callers. With TLS the pooled connections serve instead (TLS streams take
  // one operation at a time); a cluster redirection is followed on a connection of its own.
  // No timer per call: the connection's watchdog deadline is the oldest waiting command's
  // (dial, write and read timeouts), and when it passes every command on the connection fails
  // and the next one dials anew. The connection keeps one read outstanding while it lives, so
  // a server that closes it is noticed before the next command is written to it.
  awaitable<bool> callPipelined(std::vector<std::string> args, resp::Value& reply, std::string& error);
  // The same with the command already in RESP (resp::encodeCommand), for callers that build
  // most of it once. When a cluster answered MOVED (and the command was sent on to the node it
  // named), `movedTo` receives that node's "host:port", so the caller can go there directly
  // next time.
  awaitable<bool> callPipelinedEncoded(std::string request, resp::Value& reply, std::string& error,
                                       std::string* movedTo = nullptr);
  // EVALSHA of `script` (loading it with EVAL when Redis answers NOSCRIPT), as go-redis's
  // Script.Run does; pipelined.
  awaitable<bool> runScript(const std::string& script, const std::string& sha1,
                            std::vector<std::string> keys, std::vector<std::string> args,
                            resp::Value& reply, std::string& error);

 private:
  class Connection;
  using ConnectionPtr = std::unique_ptr<Connection>;
  // A suspended caller's completion handler. (Not asio::any_completion_handler: Boost 1.81's
  // move assignment of it wraps itself endlessly.)
  struct Resume {
    virtual ~Resume() = default;
    virtual void operator()() = 0;
  };
  template <class Handler> struct ResumeWith final : Resume {
    explicit ResumeWith(Handler&& h) : handler(std::move(h)) {}
    void operator()() override { std::move(handler)(); }
    Handler handler;
  };
  // A command waiting on the pipelined connection.
  struct Waiting {
    std::string request;
    resp::Value reply;
    std::string error;
    bool done = false;
    bool ok = false;
    Clock::time_point due;          // the pipeline is out of time for it then
    std::unique_ptr<Resume> resume;  // the caller, suspended until done
  };
  using WaitingPtr = std::shared_ptr<Waiting>;
  // One command over the pipelined connection; `request` is given back once answered.
  awaitable<bool> pipelined(std::string& request, resp::Value& reply, std::string& error);
  static awaitable<void> writeLoop(std::shared_ptr<RedisClient> self);
  static awaitable<void> readLoop(std::shared_ptr<RedisClient> self, std::shared_ptr<Connection> connection);
  void finish(Waiting& w, bool ok, const std::string& error);
  // Sends `request` again to the node a MOVED/ASK `reply` names (a MOVED's node to `movedTo`).
  awaitable<bool> redirected(const std::string& request, resp::Value& reply, std::string& error,
                             std::string* movedTo);
  // One command on a pooled connection (taken and given back).
  awaitable<bool> pooled(const std::string& request, resp::Value& reply, std::string& error);
  void failPipeline(const std::string& error);

  awaitable<ConnectionPtr> acquire(std::string& error);
  awaitable<ConnectionPtr> dial(const std::string& endpoint, std::string& error);
  void release(ConnectionPtr connection);
  void slotFreed();
  awaitable<bool> exchange(Connection& c, const std::string& request, resp::Value& reply,
                           std::string& error);

  asio::io_context& io_;
  io::Watchdog& watchdog_;
  RedisSettings settings_;
  std::chrono::nanoseconds budget_{0};  // a pipelined command's deadline, from when it is queued
  std::vector<ConnectionPtr> idle_;
  int64_t active_ = 0;  // connections in use or idle
  std::vector<asio::steady_timer*> waiters_;
  std::shared_ptr<Connection> pipe_;     // the pipelined connection, once dialled
  std::vector<WaitingPtr> toWrite_;      // queued, not written yet
  std::deque<WaitingPtr> toRead_;        // written, replies awaited in this order
  bool writing_ = false;
  Connection* reader_ = nullptr;  // the connection a read loop runs on
};

}  // namespace causeway::clients::redis
