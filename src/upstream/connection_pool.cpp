#include "upstream/connection_pool.h"

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>

#include <boost/url/parse.hpp>
#include <mutex>

#include "core/strings.h"
#include "io/tcp_connect.h"

namespace causeway::upstream {

uint64_t Transport::poolIdFor(const std::string& key) const {
  static std::atomic<uint64_t> next{1};
  std::lock_guard lock(poolIdsMutex_);
  auto [it, inserted] = poolIds_.try_emplace(key, 0);
  if (inserted) it->second = next.fetch_add(1, std::memory_order_relaxed);
  return it->second;
}

std::string_view UpstreamEndpoint::schemeName() const {
  switch (scheme) {
    case UpstreamScheme::Https: return "https";
    case UpstreamScheme::H2c: return "h2c";
    case UpstreamScheme::Http: break;
  }
  return "http";
}

std::string_view UpstreamEndpoint::host() const {
  return rare_ && !rare_->host.empty() ? std::string_view(rare_->host) : part(host_);
}
std::string_view UpstreamEndpoint::authority() const { return part(authority_); }
std::string_view UpstreamEndpoint::path() const { return part(path_); }

bool makeEndpoint(const std::string& url, std::shared_ptr<const Transport> transport,
                  UpstreamEndpoint& out, std::string& error) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    if (url.find("://") == std::string::npos)
      error = "invalid server URL \"" + url + "\": missing scheme; expected http://, https:// or h2c:// before the host";
    else
      error = "invalid server URL \"" + url + "\": " + parsed.error().message();
    return false;
  }
  if (url.size() > UINT16_MAX) {
    error = "server URL \"" + url.substr(0, 64) + "…\" is longer than 65,535 bytes";
    return false;
  }
  // Built apart and moved into `out` at the end: `out` is left as it was on an error, and `url`
  // may be `out.url` itself.
  UpstreamEndpoint endpoint;
  endpoint.url = url;
  std::string scheme = toLower(std::string(parsed->scheme()));
  if (scheme == "http") endpoint.scheme = UpstreamScheme::Http;
  else if (scheme == "https") endpoint.scheme = UpstreamScheme::Https;
  else if (scheme == "h2c") endpoint.scheme = UpstreamScheme::H2c;
  else {
    error = "server URL \"" + url + "\": unknown scheme \"" + scheme + "\"; expected http, https or h2c";
    return false;
  }
  if (!parsed->has_authority() || parsed->host().empty()) {
    error = "server URL \"" + url + "\" has no host";
    return false;
  }
  // The parts are views of `url` (the parse's own buffer): their positions are kept.
  auto partOf = [&](std::string_view piece) {
    return UpstreamEndpoint::Part{uint16_t(piece.data() - url.data()), uint16_t(piece.size())};
  };
  std::string host = parsed->host_address();  // without brackets for IPv6; percent-decoded
  std::string_view encodedHost = parsed->encoded_host_address();
  endpoint.host_ = partOf(encodedHost);
  endpoint.port = endpoint.https() ? 443 : 80;
  std::string dialError;
  if (parsed->has_port()) {
    std::string_view port = parsed->port();
    if (port.empty()) {
      error = "invalid server URL \"" + url + "\": invalid port \":\" after host";
      return false;
    }
    // The digits are read here: Boost.URL's port_number() is the value modulo 65,536 (":99999"
    // would dial 34463). The grammar lets only digits through.
    uint32_t value = 0;
    for (char c : port) value = std::min<uint32_t>(value * 10 + uint32_t(c - '0'), 1u << 20);
    // Out of range: Go's url.Parse accepts it and only the dial fails, so the service is built
    // and every request to this server gets 502 (Traefik's error-pages setups rely on it).
    if (value == 0 || value > UINT16_MAX) dialError = "dial tcp: address " + std::string(port) + ": invalid port";
    endpoint.port = dialError.empty() ? uint16_t(value) : 0;
  }
  if (encodedHost != host || !dialError.empty())
    endpoint.rare_ = std::make_shared<const UpstreamEndpoint::Rare>(
        UpstreamEndpoint::Rare{encodedHost != host ? host : std::string(), std::move(dialError)});
  endpoint.authority_ = partOf(parsed->encoded_host_and_port());
  endpoint.path_ = partOf(parsed->encoded_path());
  error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (!ec) endpoint.address = tcp::endpoint(address, endpoint.port);
  endpoint.transport = std::move(transport);
  // The pool's key: the scheme's letter, the port's two bytes, then the address's bytes (an
  // IPv4 server's key fits in std::string's inline storage: no allocation per server) or the
  // host name after a '/'.
  std::string key;
  key += endpoint.https() ? 's' : endpoint.scheme == UpstreamScheme::H2c ? 'c' : 'h';
  key += char(endpoint.port >> 8);
  key += char(endpoint.port & 0xff);
  if (endpoint.address && endpoint.address->address().is_v4()) {
    auto bytes = endpoint.address->address().to_v4().to_bytes();
    key += '4';
    key.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  } else if (endpoint.address) {
    auto bytes = endpoint.address->address().to_v6().to_bytes();  // URLs carry no zone
    key += '6';
    key.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  } else {
    key += '/';
    key += host;
  }
  endpoint.poolId = endpoint.transport->poolIdFor(key);
  out = std::move(endpoint);
  return true;
}

namespace {

// Whether the server closed (or wrote on) a connection while it sat in the pool. Servers close
// idle keep-alive connections after their own timeout (Node.js after 5 s, nginx after 75 s); a
// request sent on such a connection fails, and one with a body cannot be sent again (Go's
// Transport notices the close in its background read; this is the same check, made when the
// connection is taken). Only connections idle for a while are checked, so that a busy pool pays
// nothing: a non-blocking peek sees the FIN (0) or unexpected bytes (> 0); EAGAIN means alive.
bool closedByPeer(UpstreamConnection& connection, Clock::time_point now) {
  constexpr auto kCheckAfter = std::chrono::milliseconds(250);
  if (now - connection.idleSince < kCheckAfter) return false;
  char byte;
  ssize_t n = ::recv(connection.socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
}

}  // namespace

Acquired UpstreamPool::takeIdle(const UpstreamEndpoint& endpoint) {
  Acquired result;
  auto it = idle_.find(endpoint.poolId);
  if (it == idle_.end()) return result;
  auto& list = it->second.connections;
  const auto now = Clock::now();
  while (!list.empty()) {
    UpstreamConnectionPtr connection = std::move(list.back());
    list.pop_back();
    if (now - connection->idleSince < it->second.idleTimeout && !closedByPeer(*connection, now)) {
      result.connection = std::move(connection);
      result.reused = true;
      return result;
    }
  }
  return result;
}

awaitable<Acquired> UpstreamPool::dial(const UpstreamEndpoint& endpoint) {
  Acquired result;
  if (!endpoint.dialError().empty()) co_return result;  // no connection: the caller answers 502
  auto connection = std::make_unique<UpstreamConnection>(io_);
  std::vector<tcp::endpoint> candidates;
  if (endpoint.address) {
    candidates.push_back(*endpoint.address);
  } else {
    tcp::resolver resolver(io_);
    auto [ec, results] =
        co_await resolver.async_resolve(endpoint.host(), std::to_string(endpoint.port), nothrow);
    if (ec) {
      result.error = ec;
      co_return result;
    }
    for (const auto& entry : results) candidates.push_back(entry.endpoint());
  }

  watchdog_.watch(*connection);
  connection->armIn(endpoint.transport->dialTimeout);
  error_code lastError = asio::error::host_not_found;
  for (const auto& candidate : candidates) {
    error_code connectError = co_await io::connectTcp(connection->socket, candidate);
    if (!connectError) {
      lastError = {};
      break;
    }
    lastError = connectError;
    if (connection->timedOut) break;
  }
  if (lastError) {
    connection->disarm();
    result.error = lastError;
    result.timedOut = connection->timedOut;
    co_return result;
  }
  error_code ignored;
  connection->socket.set_option(tcp::no_delay(true), ignored);
  if (endpoint.https()) {
    // The handshake counts against dialTimeout too.
    connection->tls = std::make_unique<tls::TlsStream>(connection->socket, endpoint.transport->tls, std::string(endpoint.host()));
    if (!co_await connection->tls->handshake()) {
      connection->disarm();
      result.error = asio::error::connection_refused;
      result.timedOut = connection->timedOut;
      result.tlsError = connection->tls->error();
      co_return result;
    }
    connection->http2 = connection->tls->alpn() == "h2";
  }
  connection->disarm();
  result.connection = std::move(connection);
  co_return result;
}

void UpstreamPool::release(const UpstreamEndpoint& endpoint, UpstreamConnectionPtr connection) {
  int maxIdle = endpoint.transport->maxIdleConnsPerHost;
  if (maxIdle < 0) return;
  if (maxIdle == 0) maxIdle = 2;
  IdleList& list = idle_[endpoint.poolId];
  list.idleTimeout = endpoint.transport->idleConnTimeout;
  if (list.idleTimeout.count() <= 0) list.idleTimeout = std::chrono::hours(24 * 365);
  if (list.connections.size() >= size_t(maxIdle)) return;  // closes it
  connection->idleSince = Clock::now();
  connection->disarm();
  list.connections.push_back(std::move(connection));
}

void UpstreamPool::sweep(Clock::time_point now) {
  for (auto it = idle_.begin(); it != idle_.end();) {
    auto& list = it->second;
    std::erase_if(list.connections, [&](const UpstreamConnectionPtr& c) {
      return now - c->idleSince >= list.idleTimeout;
    });
    // A pool left empty goes too: its id may belong to a transport a reload replaced.
    it = list.connections.empty() ? idle_.erase(it) : std::next(it);
  }
}

size_t UpstreamPool::idleCount() const {
  size_t n = 0;
  for (const auto& [id, list] : idle_) n += list.connections.size();
  return n;
}

}  // namespace causeway::upstream
