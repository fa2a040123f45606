// A ZooKeeper client of the wire protocol (jute, big-endian, every packet prefixed by its
// length), for the ZooKeeper provider: a session (connect, digest authentication, pings), and
// pipelined getChildren/getData requests with watches. Watch notifications only set a flag: the
// provider reads again. One connection on the caller's event loop; not thread-safe.
//
// The protocol, as ZooKeeper's documentation and its jute definitions (zookeeper.jute) give it:
// ConnectRequest {int protocolVersion, long lastZxidSeen, int timeOut, long sessionId,
// buffer passwd, bool readOnly} → ConnectResponse {int protocolVersion, int timeOut,
// long sessionId, buffer passwd, bool readOnly}; then RequestHeader {int xid, int type} + body,
// ReplyHeader {int xid, long zxid, int err} + body. getData = 4, getChildren = 8, ping = 11
// (xid -2), auth = 100 (xid -4, {int type, string scheme, buffer auth}); a notification is a reply
// with xid -1 and a WatcherEvent {int type, int state, string path}.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "io/asio.h"
#include "tls/tls_stream.h"

namespace causeway::clients::zookeeper {

struct Request {
  // Exists: only leaves a watch (on a node that does not exist yet, its creation fires it).
  enum class Op { Children, Data, Exists } op = Op::Children;
  std::string path;
  bool watch = true;
};

struct Reply {
  int err = 0;  // 0, or ZooKeeper's error (-101: no node)
  std::vector<std::string> children;
  std::string data;
};

class Session {
 public:
  explicit Session(asio::io_context& io) : io_(io), socket_(io) {}

  // Connects to the first of `endpoints` ("host:port") that answers and opens a session of
  // `timeout`; with `username`, authenticates with the digest scheme. "" or why not.
  // With `tls`, over TLS (ZooKeeper's secureClientPort), the server verified against its
  // host name unless `tls->verify` is false.
  awaitable<std::string> open(const std::vector<std::string>& endpoints, std::chrono::milliseconds timeout,
                              const std::string& username, const std::string& password,
                              const tls::TlsClientSettings* tls = nullptr);
  // Sends the requests at once and reads their replies (in order). "" or why not (the session
  // is then unusable).
  awaitable<std::string> call(const std::vector<Request>& requests, std::vector<Reply>& replies);
  // Waits up to a third of the session timeout for a notification, pinging the server when
  // nothing came. "" or why not.
  awaitable<std::string> idle();
  // A watch fired since the last clear.
  bool notified() const { return notified_; }
  void clearNotified() { notified_ = false; }
  void close();

 private:
  awaitable<std::string> send(const std::string& packet);
  // The next packet's body (after its length).
  awaitable<std::string> readPacket(std::string& packet);

  asio::io_context& io_;
  tcp::socket socket_;
  std::unique_ptr<tls::TlsStream> tls_;  // over socket_, when the session uses TLS
  std::string in_;  // bytes read and not yet consumed
  std::chrono::milliseconds timeout_{10000};
  int32_t xid_ = 1;
  bool notified_ = false;
  std::chrono::steady_clock::time_point lastHeard_{};  // the last packet read
  // Set while a guard timer may close the socket; the guard's handler checks it, so that a
  // handler that runs after the operation (or the session) ended touches nothing.
  std::shared_ptr<bool> guarding_ = std::make_shared<bool>(false);
};

}  // namespace causeway::clients::zookeeper
