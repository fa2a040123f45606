#include "clients/zookeeper/zk_client.h"

#include <boost/asio/experimental/awaitable_operators.hpp>

namespace causeway::clients::zookeeper {

namespace {

constexpr size_t kMaxPacket = 64 << 20;
constexpr int32_t kNotification = -1, kPing = -2, kAuth = -4;
constexpr int32_t kOpExists = 3, kOpGetData = 4, kOpGetChildren = 8, kOpPing = 11, kOpAuth = 100;

struct Writer {
  std::string out;
  void i32(int32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out += char((uint32_t(v) >> shift) & 0xff);
  }
  void i64(int64_t v) {
    for (int shift = 56; shift >= 0; shift -= 8) out += char((uint64_t(v) >> shift) & 0xff);
  }
  void boolean(bool v) { out += char(v ? 1 : 0); }
  void bytes(std::string_view v) {
    i32(int32_t(v.size()));
    out += v;
  }
  std::string packet() const {  // with its length in front
    Writer framed;
    framed.i32(int32_t(out.size()));
    return framed.out + out;
  }
};

struct Reader {
  std::string_view in;
  bool ok = true;
  int64_t integer(int size) {
    if (in.size() < size_t(size)) {
      ok = false;
      return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < size; ++i) v = (v << 8) | static_cast<unsigned char>(in[size_t(i)]);
    in.remove_prefix(size_t(size));
    return size == 4 ? int64_t(int32_t(uint32_t(v))) : int64_t(v);
  }
  int32_t i32() { return int32_t(integer(4)); }
  int64_t i64() { return integer(8); }
  std::string bytes() {
    int32_t n = i32();
    if (n < 0) return {};
    if (size_t(n) > in.size()) {
      ok = false;
      return {};
    }
    std::string v(in.substr(0, size_t(n)));
    in.remove_prefix(size_t(n));
    return v;
  }
};

std::string describe(int err) {
  switch (err) {
  case -101: return "no node";
  case -102: return "no authorization";
  case -115: return "authentication failed";
  case -112: return "session expired";
  default: return "ZooKeeper error " + std::to_string(err);
  }
}

}  // namespace

void Session::close() {
  error_code ignored;
  socket_.close(ignored);
}

awaitable<std::string> Session::send(const std::string& packet) {
  error_code ec;
  if (tls_) {
    auto [e, n] = co_await tls_->write(asio::buffer(packet));
    ec = e;
  } else {
    auto [e, n] = co_await asio::async_write(socket_, asio::buffer(packet), nothrow);
    ec = e;
  }
  co_return ec ? "cannot send to ZooKeeper: " + ec.message() : "";
}

awaitable<std::string> Session::readPacket(std::string& packet) {
  char buffer[16384];
  while (true) {
    if (in_.size() >= 4) {
      Reader r{in_};
      int32_t length = r.i32();
      if (length < 0 || size_t(length) > kMaxPacket) co_return "ZooKeeper sent a malformed packet";
      if (in_.size() >= 4 + size_t(length)) {
        packet = in_.substr(4, size_t(length));
        in_.erase(0, 4 + size_t(length));
        lastHeard_ = std::chrono::steady_clock::now();
        co_return "";
      }
    }
    error_code ec;
    size_t n = 0;
    if (tls_) std::tie(ec, n) = co_await tls_->readSome(asio::buffer(buffer));
    else std::tie(ec, n) = co_await socket_.async_read_some(asio::buffer(buffer), nothrow);
    if (ec) co_return ec == asio::error::eof ? "ZooKeeper closed the connection" : "ZooKeeper: " + ec.message();
    in_.append(buffer, n);
  }
}

awaitable<std::string> Session::open(const std::vector<std::string>& endpoints,
                                     std::chrono::milliseconds timeout, const std::string& username,
                                     const std::string& password, const tls::TlsClientSettings* tls) {
  timeout_ = timeout;
  std::string error = "no endpoint";
  for (const std::string& endpoint : endpoints) {
    *guarding_ = false;  // the previous endpoint's guard
    close();
    tls_.reset();
    socket_ = tcp::socket(io_);
    in_.clear();
    size_t colon = endpoint.rfind(':');
    std::string host = colon == std::string::npos ? endpoint : endpoint.substr(0, colon);
    std::string port = colon == std::string::npos ? "2181" : endpoint.substr(colon + 1);
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    // The whole handshake is bounded by the session timeout: the socket is closed at its end.
    asio::steady_timer guard(io_, timeout);
    auto guarding = guarding_ = std::make_shared<bool>(true);
    guard.async_wait([this, guarding](error_code ec) {
      if (!ec && *guarding) close();
    });
    tcp::resolver resolver(io_);
    auto [resolveError, results] = co_await resolver.async_resolve(host, port, nothrow);
    if (resolveError) {
      error = "cannot resolve " + host + ": " + resolveError.message();
      continue;
    }
    auto [connectError, peer] = co_await asio::async_connect(socket_, results, nothrow);
    if (!connectError && guard.expiry() <= asio::steady_timer::clock_type::now())
      connectError = asio::error::timed_out;  // the guard fired during the lookup or the connect
    if (connectError) {
      error = "cannot connect to ZooKeeper at " + endpoint + ": " + connectError.message();
      continue;
    }
    if (tls) {
      tls_ = std::make_unique<tls::TlsStream>(socket_, *tls, host);
      if (!co_await tls_->handshake()) {
        error = "TLS handshake with ZooKeeper at " + endpoint + " failed: " + tls_->error();
        continue;
      }
    }
    Writer hello;
    hello.i32(0);                        // protocolVersion
    hello.i64(0);                        // lastZxidSeen
    hello.i32(int32_t(timeout.count()));  // timeOut
    hello.i64(0);                        // sessionId
    hello.bytes(std::string(16, '\0'));  // passwd
    hello.boolean(false);                // readOnly
    error = co_await send(hello.packet());
    std::string packet;
    if (error.empty()) error = co_await readPacket(packet);
    if (!error.empty()) {
      error = "ZooKeeper at " + endpoint + ": " + error;
      continue;
    }
    Reader r{packet};
    r.i32();
    int32_t negotiated = r.i32();
    int64_t session = r.i64();
    if (!r.ok || session == 0 || negotiated <= 0) {
      error = "ZooKeeper at " + endpoint + " refused the session";
      continue;
    }
    timeout_ = std::chrono::milliseconds(negotiated);
    if (!username.empty()) {
      Writer auth;
      auth.i32(kAuth);
      auth.i32(kOpAuth);
      auth.i32(0);
      auth.bytes("digest");
      auth.bytes(username + ":" + password);
      error = co_await send(auth.packet());
      if (error.empty()) error = co_await readPacket(packet);
      if (error.empty()) {
        Reader reply{packet};
        reply.i32();
        reply.i64();
        if (int err = reply.i32(); err != 0) error = "ZooKeeper refused the credentials: " + describe(err);
      }
      if (!error.empty()) continue;
    }
    *guarding = false;
    guard.cancel();
    co_return "";
  }
  *guarding_ = false;
  close();
  co_return error;
}

awaitable<std::string> Session::call(const std::vector<Request>& requests, std::vector<Reply>& replies) {
  replies.assign(requests.size(), Reply{});
  int32_t first = xid_;
  std::string batch;
  for (const Request& request : requests) {
    Writer w;
    w.i32(xid_++);
    w.i32(request.op == Request::Op::Data ? kOpGetData
          : request.op == Request::Op::Exists ? kOpExists
                                              : kOpGetChildren);
    w.bytes(request.path);
    w.boolean(request.watch);
    batch += w.packet();
  }
  if (std::string error = co_await send(batch); !error.empty()) co_return error;
  // Replies to a request that is stuck: the session timeout closes the connection.
  asio::steady_timer guard(io_, timeout_);
  auto guarding = guarding_ = std::make_shared<bool>(true);
  guard.async_wait([this, guarding](error_code ec) {
    if (!ec && *guarding) close();
  });
  struct Unguard {
    std::shared_ptr<bool> flag;
    ~Unguard() { *flag = false; }
  } unguard{guarding};
  size_t received = 0;
  while (received < requests.size()) {
    std::string packet;
    if (std::string error = co_await readPacket(packet); !error.empty()) co_return error;
    Reader r{packet};
    int32_t xid = r.i32();
    r.i64();  // zxid
    int32_t err = r.i32();
    if (xid == kNotification) {
      notified_ = true;
      continue;
    }
    if (xid == kPing || xid == kAuth) continue;
    size_t index = size_t(xid - first);
    if (xid < first || index >= requests.size()) co_return "ZooKeeper answered a request it was not sent";
    Reply& reply = replies[index];
    reply.err = err;
    if (err == 0 && requests[index].op != Request::Op::Exists) {
      if (requests[index].op == Request::Op::Data) {
        reply.data = r.bytes();
      } else {
        int32_t count = r.i32();
        for (int32_t i = 0; i < count && r.ok; ++i) reply.children.push_back(r.bytes());
      }
      if (!r.ok) co_return "ZooKeeper sent a malformed reply";
    } else if (err != -101) {
      co_return "ZooKeeper: " + describe(err) + " (" + requests[index].path + ")";
    }
    ++received;
  }
  guard.cancel();
  co_return "";
}

awaitable<std::string> Session::idle() {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer wait(io_, timeout_ / 3);
  std::string packet;
  auto result = co_await (readPacket(packet) || wait.async_wait(nothrow));
  if (!packet.empty()) {  // a packet taken whichever side won: a notification must not be lost
    Reader r{packet};
    if (r.i32() == kNotification) notified_ = true;
    co_return "";
  }
  if (result.index() == 1) {  // nothing for a third of the timeout
    // No answer, not even to the pings, for two thirds of the session: the server is gone
    // without closing the connection (a partition), and the session with it.
    if (std::chrono::steady_clock::now() - lastHeard_ > timeout_ * 2 / 3)
      co_return "ZooKeeper stopped answering";
    Writer ping;
    ping.i32(kPing);
    ping.i32(kOpPing);
    co_return co_await send(ping.packet());
  }
  co_return std::get<0>(result);
}

}  // namespace causeway::clients::zookeeper
