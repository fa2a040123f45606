#include "clients/redis/redis_client.h"

#include <unordered_map>

#include "core/strings.h"
#include "io/watchdog.h"

namespace causeway::clients::redis {

class RedisClient::Connection final : public io::Watched {
 public:
  explicit Connection(asio::io_context& io) : socket(io) {}
  void onDeadline() override {
    timedOut = true;
    error_code ignored;
    socket.cancel(ignored);
  }
  tcp::socket socket;
  std::unique_ptr<tls::TlsStream> tls;  // set for TLS connections, after the TCP connect
  std::string in;
  bool timedOut = false;
};

namespace {

constexpr size_t kMaxReply = (16u << 20) + 4096;

// A Cluster's "MOVED <slot> <host:port>" or "ASK <slot> <host:port>".
bool isRedirection(const resp::Value& reply) {
  return reply.isError() && (reply.text.starts_with("MOVED ") || reply.text.starts_with("ASK "));
}

bool splitHostPort(std::string_view endpoint, std::string& host, std::string& port) {
  if (!endpoint.empty() && endpoint.front() == '[') {
    size_t end = endpoint.find(']');
    if (end == std::string_view::npos) return false;
    host = std::string(endpoint.substr(1, end - 1));
    if (end + 1 < endpoint.size()) {
      if (endpoint[end + 1] != ':') return false;
      port = std::string(endpoint.substr(end + 2));
    } else {
      port = "6379";
    }
    return !host.empty();
  }
  size_t colon = endpoint.rfind(':');
  if (colon == std::string_view::npos) {
    host = std::string(endpoint);
    port = "6379";
  } else {
    host = std::string(endpoint.substr(0, colon));
    port = std::string(endpoint.substr(colon + 1));
  }
  return !host.empty() && !port.empty();
}

// AUTH and SELECT, as the settings ask, sent on every new connection.
std::vector<std::vector<std::string>> handshakeCommands(const RedisSettings& s) {
  std::vector<std::vector<std::string>> commands;
  if (!s.password.empty()) {
    std::vector<std::string> auth(1, "AUTH");
    if (!s.username.empty()) auth.push_back(s.username);
    auth.push_back(s.password);
    commands.push_back(std::move(auth));
  }
  if (s.db != 0) commands.push_back(std::vector<std::string>{"SELECT", std::to_string(s.db)});
  return commands;
}

std::vector<std::string> scriptCommand(const std::string& sha1,
                                       const std::vector<std::string>& keys,
                                       const std::vector<std::string>& args) {
  std::vector<std::string> command{"EVALSHA", sha1, std::to_string(keys.size())};
  command.insert(command.end(), keys.begin(), keys.end());
  command.insert(command.end(), args.begin(), args.end());
  return command;
}

}  // namespace

std::string RedisSettings::key() const {
  std::string k;
  for (const auto& e : endpoints)
    k += e + ",";
  k += "|" + username + "|" + password + "|" + std::to_string(db) + "|" + std::to_string(poolSize) +
       "|" + std::to_string(maxActiveConns) + "|" + std::to_string(readTimeout.count()) + "|" +
       std::to_string(writeTimeout.count()) + "|" + std::to_string(dialTimeout.count()) + "|" +
       (useTls ? std::to_string(reinterpret_cast<uintptr_t>(tls.context.get()))
               : std::string("plain"));
  return k;
}

std::shared_ptr<RedisClient> RedisClient::forWorker(unsigned workerIndex, asio::io_context& io,
                                                    io::Watchdog& watchdog, const RedisSettings& settings) {
  // Per thread (= per worker): sockets are created, used and closed on their worker only.
  thread_local std::unordered_map<std::string, std::shared_ptr<RedisClient>> clients;
  std::string key = std::to_string(workerIndex) + "#" + settings.key();
  auto& client = clients[key];
  if (!client) client = std::make_shared<RedisClient>(io, watchdog, settings);
  return client;
}

RedisClient::RedisClient(asio::io_context& io, io::Watchdog& watchdog, RedisSettings settings)
    : io_(io), watchdog_(watchdog), settings_(std::move(settings)) {
  // A pipelined command's time: dialling (when the pipeline has no connection yet, every
  // endpoint may take its dial timeout), writing and reading.
  std::chrono::nanoseconds dial =
      settings_.dialTimeout * int64_t(std::max<size_t>(1, settings_.endpoints.size()));
  for (auto t : {dial, settings_.writeTimeout, settings_.readTimeout})
    budget_ += t.count() > 0 ? t : std::chrono::nanoseconds(std::chrono::hours(1));
}

RedisClient::~RedisClient() = default;

void RedisClient::slotFreed() {
  if (waiters_.empty()) return;
  asio::steady_timer* waiter = waiters_.front();
  waiters_.erase(waiters_.begin());
  waiter->cancel();
}

void RedisClient::release(ConnectionPtr connection) {
  size_t maxIdle = settings_.poolSize > 0 ? size_t(settings_.poolSize) : 10;
  if (connection && idle_.size() < maxIdle) {
    connection->disarm();
    idle_.push_back(std::move(connection));
    slotFreed();
    return;
  }
  --active_;
  slotFreed();
}

awaitable<RedisClient::ConnectionPtr> RedisClient::acquire(std::string& error) {
  while (true) {
    if (!idle_.empty()) {
      ConnectionPtr c = std::move(idle_.back());
      idle_.pop_back();
      co_return c;
    }
    if (settings_.maxActiveConns > 0 && active_ >= settings_.maxActiveConns) {
      // go-redis waits PoolTimeout (readTimeout + 1s) for a free connection.
      asio::steady_timer timer(io_);
      auto wait =
          settings_.readTimeout.count() > 0 ? settings_.readTimeout : std::chrono::nanoseconds(0);
      timer.expires_after(wait + std::chrono::seconds(1));
      waiters_.push_back(&timer);
      auto [ec] = co_await timer.async_wait(nothrow);
      std::erase(waiters_, &timer);
      if (!ec) {
        error = "redis: connection pool timeout";
        co_return nullptr;
      }
      continue;
    }
    ++active_;
    for (const auto& endpoint : settings_.endpoints) {
      ConnectionPtr c = co_await dial(endpoint, error);
      if (c) co_return c;
    }
    --active_;
    slotFreed();
    co_return nullptr;
  }
}

awaitable<RedisClient::ConnectionPtr> RedisClient::dial(const std::string& endpoint,
                                                        std::string& error) {
  std::string host, port;
  if (!splitHostPort(endpoint, host, port)) {
    error = "redis: invalid endpoint \"" + endpoint + "\"";
    co_return nullptr;
  }
  auto c = std::make_unique<Connection>(io_);
  watchdog_.watch(*c);
  c->armIn(settings_.dialTimeout);
  tcp::resolver resolver(io_);
  auto [resolveError, results] = co_await resolver.async_resolve(host, port, nothrow);
  if (resolveError) {
    error = "redis: resolve " + endpoint + ": " + resolveError.message();
    co_return nullptr;
  }
  error_code lastError = asio::error::host_not_found;
  for (const auto& entry : results) {
    error_code ignored;
    if (c->socket.is_open()) c->socket.close(ignored);
    auto [connectError] = co_await c->socket.async_connect(entry.endpoint(), nothrow);
    lastError = connectError;
    if (!connectError || c->timedOut) break;
  }
  if (lastError) {
    c->disarm();
    error = "redis: dial " + endpoint + ": " +
            (c->timedOut ? std::string("i/o timeout") : lastError.message());
    co_return nullptr;
  }
  error_code ignored;
  c->socket.set_option(tcp::no_delay(true), ignored);
  if (settings_.useTls) {
    // The handshake counts against the dial timeout.
    c->tls = std::make_unique<tls::TlsStream>(c->socket, settings_.tls, host);
    if (!co_await c->tls->handshake()) {
      c->disarm();
      error = "redis: tls handshake with " + endpoint + ": " +
              (c->timedOut ? std::string("i/o timeout") : c->tls->error());
      co_return nullptr;
    }
  }
  c->disarm();

  for (const auto& command : handshakeCommands(settings_)) {
    resp::Value reply;
    if (!co_await exchange(*c, resp::encodeCommand(command), reply, error)) co_return nullptr;
    if (reply.isError()) {
      error = "redis: " + command[0] + ": " + reply.text;
      co_return nullptr;
    }
  }
  co_return c;
}

awaitable<bool> RedisClient::exchange(Connection& c, const std::string& request, resp::Value& reply,
                                      std::string& error) {
  c.timedOut = false;
  c.armIn(settings_.writeTimeout);
  auto [writeError, written] =
      c.tls ? co_await c.tls->write(asio::buffer(request))
            : co_await asio::async_write(c.socket, asio::buffer(request), nothrow);
  if (writeError) {
    c.disarm();
    error = c.timedOut ? "redis: write: i/o timeout" : "redis: write: " + writeError.message();
    co_return false;
  }
  c.armIn(settings_.readTimeout);
  while (true) {
    if (!c.in.empty()) {
      size_t consumed = 0;
      std::string why;
      auto status = resp::parse(c.in, reply, consumed, why);
      if (status == resp::Status::Complete) {
        c.in.erase(0, consumed);
        c.disarm();
        co_return true;
      }
      if (status == resp::Status::Error) {
        c.disarm();
        error = "redis: protocol error: " + why;
        co_return false;
      }
    }
    if (c.in.size() > kMaxReply) {
      c.disarm();
      error = "redis: reply too large";
      co_return false;
    }
    char buffer[4096];
    auto [readError, n] = c.tls ? co_await c.tls->readSome(asio::buffer(buffer))
                                : co_await c.socket.async_read_some(asio::buffer(buffer), nothrow);
    if (readError) {
      c.disarm();
      error = c.timedOut ? "redis: read: i/o timeout" : "redis: read: " + readError.message();
      co_return false;
    }
    c.in.append(buffer, n);
  }
}

awaitable<bool> RedisClient::call(std::vector<std::string> args, resp::Value& reply,
                                  std::string& error) {
  auto self = shared_from_this();  // the pool outlives this call even if the worker stops
  std::string request = resp::encodeCommand(args);
  if (!co_await pooled(request, reply, error)) co_return false;
  if (!isRedirection(reply)) co_return true;
  co_return co_await redirected(request, reply, error, nullptr);
}

awaitable<bool> RedisClient::pooled(const std::string& request, resp::Value& reply, std::string& error) {
  ConnectionPtr c = co_await acquire(error);
  if (!c) co_return false;
  if (!co_await exchange(*c, request, reply, error)) {
    c.reset();
    release(nullptr);
    co_return false;
  }
  release(std::move(c));
  co_return true;
}

awaitable<bool> RedisClient::redirected(const std::string& request, resp::Value& reply, std::string& error,
                                        std::string* movedTo) {
  // Cluster redirection: "MOVED <slot> <host:port>" or "ASK …". One more try on that node.
  bool ask = reply.text.starts_with("ASK ");
  auto parts = splitTrimmed(reply.text, ' ');
  if (parts.size() < 3) co_return true;
  std::string target(parts[2]);
  if (movedTo && !ask) *movedTo = target;
  ConnectionPtr other = co_await dial(target, error);
  if (!other) co_return false;
  std::string asking = resp::encodeCommand(std::vector<std::string>(1, "ASKING"));
  if (ask && !co_await exchange(*other, asking, reply, error)) co_return false;
  co_return co_await exchange(*other, request, reply, error);
}

awaitable<bool> RedisClient::runScript(const std::string& script, const std::string& sha1,
                                       std::vector<std::string> keys, std::vector<std::string> args,
                                       resp::Value& reply, std::string& error) {
  std::vector<std::string> command = scriptCommand(sha1, keys, args);
  if (!co_await callPipelined(command, reply, error)) co_return false;
  if (!(reply.isError() && reply.text.starts_with("NOSCRIPT"))) co_return true;
  command[0] = "EVAL";
  command[1] = script;
  co_return co_await callPipelined(std::move(command), reply, error);
}

void RedisClient::finish(Waiting& w, bool ok, const std::string& error) {
  if (w.done) return;
  w.done = true;
  w.ok = ok;
  if (!ok) w.error = error;
  if (!w.resume) return;
  // Resumed from the event loop, not from inside the read loop.
  asio::post(io_, [resume = std::move(w.resume)] { (*resume)(); });
}

void RedisClient::failPipeline(const std::string& error) {
  for (auto& w : toWrite_) finish(*w, false, error);
  for (auto& w : toRead_) finish(*w, false, error);
  toWrite_.clear();
  toRead_.clear();
  if (pipe_) {
    error_code ignored;
    pipe_->socket.close(ignored);  // the loops still holding it see their operations fail
    pipe_.reset();
  }
}

awaitable<bool> RedisClient::callPipelined(std::vector<std::string> args, resp::Value& reply, std::string& error) {
  if (settings_.useTls) co_return co_await call(std::move(args), reply, error);
  std::string request = resp::encodeCommand(args);
  co_return co_await callPipelinedEncoded(std::move(request), reply, error);
}

awaitable<bool> RedisClient::callPipelinedEncoded(std::string request, resp::Value& reply, std::string& error,
                                                  std::string* movedTo) {
  auto self = shared_from_this();
  bool ok = false;
  if (settings_.useTls)  // one operation at a time on a TLS stream: the pooled path, same bytes
    ok = co_await pooled(request, reply, error);
  else
    ok = co_await pipelined(request, reply, error);
  if (!ok || !isRedirection(reply)) co_return ok;
  // A cluster's redirection: followed on a connection of its own, the node named to the caller.
  co_return co_await redirected(request, reply, error, movedTo);
}

awaitable<bool> RedisClient::pipelined(std::string& request, resp::Value& reply, std::string& error) {
  auto self = shared_from_this();
  auto w = std::make_shared<Waiting>();
  w->request = std::move(request);
  w->due = Clock::now() + budget_;
  toWrite_.push_back(w);
  if (!writing_) {
    writing_ = true;
    asio::co_spawn(io_, writeLoop(self), asio::detached);
  }
  // Suspended until finish() posts the handler: the reply came, or the pipeline failed.
  auto suspend = [w](auto handler) {
    w->resume = std::make_unique<ResumeWith<decltype(handler)>>(std::move(handler));
  };
  if (!w->done) co_await asio::async_initiate<const asio::use_awaitable_t<>&, void()>(suspend, asio::use_awaitable);
  request = std::move(w->request);  // the caller's again (a redirection sends it once more)
  if (!w->ok) {
    error = w->error;
    co_return false;
  }
  reply = std::move(w->reply);
  co_return true;
}

awaitable<void> RedisClient::writeLoop(std::shared_ptr<RedisClient> self) {
  while (!self->toWrite_.empty()) {
    if (!self->pipe_) {
      std::string error;
      ConnectionPtr dialled;
      for (const auto& endpoint : self->settings_.endpoints) {
        dialled = co_await self->dial(endpoint, error);
        if (dialled) break;
      }
      if (!dialled) {
        self->failPipeline(error);
        break;
      }
      self->pipe_ = std::shared_ptr<Connection>(std::move(dialled));
    }
    std::shared_ptr<Connection> connection = self->pipe_;
    std::string batch;
    for (auto& w : self->toWrite_) {
      batch += w->request;
      self->toRead_.push_back(std::move(w));
    }
    self->toWrite_.clear();
    if (connection->deadline() == Clock::time_point::max()) connection->armAt(self->toRead_.front()->due);
    if (self->reader_ != connection.get()) {
      self->reader_ = connection.get();
      asio::co_spawn(self->io_, readLoop(self, connection), asio::detached);
    }
    auto [writeError, written] = co_await asio::async_write(connection->socket, asio::buffer(batch), nothrow);
    if (writeError && connection == self->pipe_)
      self->failPipeline(connection->timedOut ? "redis: i/o timeout" : "redis: write: " + writeError.message());
  }
  self->writing_ = false;
}

awaitable<void> RedisClient::readLoop(std::shared_ptr<RedisClient> self, std::shared_ptr<Connection> connection) {
  char buffer[16384];
  while (connection == self->pipe_) {
    size_t parsed = 0;  // the replies read so far are erased once, after the batch
    while (parsed < connection->in.size()) {
      if (self->toRead_.empty()) {
        self->failPipeline("redis: a reply nobody asked for");
        break;
      }
      size_t consumed = 0;
      std::string why;
      resp::Value value;
      auto status = resp::parse(std::string_view(connection->in).substr(parsed), value, consumed, why);
      if (status == resp::Status::Incomplete) break;
      if (status == resp::Status::Error) {
        self->failPipeline("redis: protocol error: " + why);
        break;
      }
      parsed += consumed;
      WaitingPtr w = std::move(self->toRead_.front());
      self->toRead_.pop_front();
      // The deadline follows the oldest command still waiting, or none.
      if (self->toRead_.empty())
        connection->disarm();
      else
        connection->armAt(self->toRead_.front()->due);
      w->reply = std::move(value);
      self->finish(*w, true, {});
    }
    connection->in.erase(0, parsed);
    if (connection != self->pipe_) break;
    if (connection->in.size() > kMaxReply) {
      self->failPipeline("redis: reply too large");
      break;
    }
    if (connection->timedOut && !self->toRead_.empty()) {
      // The deadline passed while a read had already completed: nothing was cancelled.
      self->failPipeline("redis: i/o timeout");
      break;
    }
    if (!self->toRead_.empty() && connection->deadline() == Clock::time_point::max())
      connection->armAt(self->toRead_.front()->due);
    auto [readError, n] = co_await connection->socket.async_read_some(asio::buffer(buffer), nothrow);
    if (readError) {
      // An idle connection the server closed fails nobody; the next command dials anew.
      if (connection == self->pipe_)
        self->failPipeline(connection->timedOut ? "redis: i/o timeout" : "redis: read: " + readError.message());
      break;
    }
    connection->in.append(buffer, n);
  }
  if (self->reader_ == connection.get()) self->reader_ = nullptr;
}

}  // namespace causeway::clients::redis
