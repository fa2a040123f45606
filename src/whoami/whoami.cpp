#include "whoami/whoami.h"

#include <unistd.h>

#include <boost/asio.hpp>
#include <charconv>
#include <csignal>
#include <iostream>
#include <thread>

#include "core/strings.h"
#include "http/h1/parser.h"
#include "http/uri.h"
#include "whoami/websocket.h"

namespace causeway::whoami {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using asio::awaitable;
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

struct Shared {
  std::string name;
  std::string hostname;
  std::atomic<int> healthStatus{200};
};

std::optional<std::string> queryValue(std::string_view query, std::string_view key) {
  for (auto pair : splitTrimmed(query, '&')) {
    size_t eq = pair.find('=');
    std::string_view k = pair.substr(0, eq);
    if (k != key) continue;
    std::string value;
    if (eq != std::string_view::npos && !http::queryUnescape(pair.substr(eq + 1), value)) return std::nullopt;
    return value;
  }
  return std::nullopt;
}

// "500ms", "2s", "1m", "300us", bare number = milliseconds.
std::chrono::microseconds parseWait(std::string_view text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc()) return std::chrono::microseconds(0);
  std::string_view unit(end, size_t(text.data() + text.size() - end));
  double micros = value * 1000;
  if (unit == "us" || unit == "µs") micros = value;
  else if (unit == "s") micros = value * 1e6;
  else if (unit == "m") micros = value * 60e6;
  return std::chrono::microseconds(int64_t(micros));
}

class Session {
 public:
  Session(tcp::socket socket, Shared& shared) : socket_(std::move(socket)), shared_(shared) {}

  awaitable<void> run() {
    error_code ec;
    auto remote = socket_.remote_endpoint(ec);
    if (!ec) {
      remoteIp_ = remote.address().to_string();
      remoteAddr_ = (remote.address().is_v6() ? "[" + remoteIp_ + "]" : remoteIp_) + ":" +
                    std::to_string(remote.port());
    }
    socket_.set_option(tcp::no_delay(true), ec);
    while (true) {
      http::h1::RequestHead head;
      http::h1::ParseError error;
      http::h1::Limits limits;
      while (true) {
        auto status = buffer_.empty() ? http::h1::ParseStatus::Incomplete
                                      : http::h1::parseRequestHead(buffer_, limits, head, error);
        if (status == http::h1::ParseStatus::Complete) break;
        if (status == http::h1::ParseStatus::Error) {
          std::string body = std::to_string(error.status) + " " + std::string(error.reason);
          co_await writeSimple(error.status, body, true);
          co_return;
        }
        if (!co_await fill()) co_return;
      }
      // Copy what we need: the buffer is consumed below.
      std::string method(head.method), target(head.target);
      std::vector<std::pair<std::string, std::string>> headers;
      for (const auto& f : head.headers) headers.emplace_back(f.name, f.value);
      int minor = head.versionMinor;
      bool keepAlive = head.keepAlive;
      auto framing = head.framing;
      uint64_t contentLength = head.contentLength;
      bool upgrade = head.upgrade;
      bool expectContinue = head.expectContinue;
      buffer_.erase(0, head.headBytes);

      head_ = method == "HEAD";
      std::string path = target, query;
      if (auto q = target.find('?'); q != std::string::npos) {
        path = target.substr(0, q);
        query = target.substr(q + 1);
      }
      if (expectContinue) co_await writeRaw("HTTP/1.1 100 Continue\r\n\r\n");
      std::optional<uint64_t> bodyLength;
      std::string body;
      if (framing != http::h1::Framing::None) {
        bool keepBody = path == "/health";
        auto length = co_await readBody(framing, contentLength, keepBody ? &body : nullptr);
        if (!length) co_return;
        bodyLength = *length;
      }
      if (auto wait = queryValue(query, "wait")) {
        asio::steady_timer timer(socket_.get_executor(), parseWait(*wait));
        co_await timer.async_wait(nothrow);
      }

      auto header = [&](std::string_view name) -> std::string {
        for (const auto& [n, v] : headers)
          if (iequals(n, name)) return v;
        return {};
      };

      if (path == "/echo" && upgrade && iequals(header("Upgrade"), "websocket")) {
        co_await websocketEcho(header("Sec-WebSocket-Key"));
        co_return;
      }
      if (path == "/data") {
        uint64_t size = 0;
        if (auto s = queryValue(query, "size")) size = parseDecimal(*s).value_or(0);
        if (!co_await writeData(size, keepAlive)) co_return;
      } else if (path == "/health") {
        if (method == "POST" || method == "PUT") {
          int status = int(parseDecimal(trim(body)).value_or(200));
          if (status < 100 || status > 599) status = 200;
          shared_.healthStatus = status;
        }
        int status = shared_.healthStatus;
        if (!co_await writeSimple(status, std::to_string(status), !keepAlive)) co_return;
      } else if (path == "/bench") {
        if (!co_await writeSimple(200, "1", !keepAlive)) co_return;
      } else {
        int status = 200;
        if (auto s = queryValue(query, "status")) status = int(parseDecimal(*s).value_or(200));
        std::string out;
        if (!shared_.name.empty()) out += "Name: " + shared_.name + "\n";
        out += "Hostname: " + shared_.hostname + "\n";
        out += "IP: " + remoteIp_ + "\n";  // traefik/whoami lists its own IPs; ours is loopback
        out += "RemoteAddr: " + remoteAddr_ + "\n";
        out += method + " " + target + " HTTP/1." + std::to_string(minor) + "\n";
        for (const auto& [n, v] : headers) out += n + ": " + v + "\n";
        if (bodyLength) out += "Body-Length: " + std::to_string(*bodyLength) + "\n";
        out += "\n";
        if (!co_await writeSimple(status, out, !keepAlive)) co_return;
      }
      if (!keepAlive) co_return;
    }
  }

 private:
  using error_code = boost::system::error_code;

  awaitable<bool> fill() {
    char chunk[65536];
    auto [ec, n] = co_await socket_.async_read_some(asio::buffer(chunk), nothrow);
    if (ec) co_return false;
    buffer_.append(chunk, n);
    co_return true;
  }

  // Reads (and by default discards) a request body; returns its length.
  awaitable<std::optional<uint64_t>> readBody(http::h1::Framing framing, uint64_t length, std::string* keep) {
    uint64_t total = 0;
    if (framing == http::h1::Framing::ContentLength) {
      while (total < length) {
        if (buffer_.empty() && !co_await fill()) co_return std::nullopt;
        size_t n = size_t(std::min<uint64_t>(buffer_.size(), length - total));
        if (keep && keep->size() < 4096) keep->append(buffer_, 0, n);
        buffer_.erase(0, n);
        total += n;
      }
      co_return total;
    }
    Arena arena;
    http::h1::ChunkedDecoder decoder(arena);
    while (true) {
      if (!buffer_.empty()) {
        auto result = decoder.decode(buffer_, [&](std::string_view run) {
          total += run.size();
          if (keep && keep->size() < 4096) keep->append(run);
        });
        buffer_.erase(0, result.consumed);
        if (result.status == http::h1::ChunkedDecoder::Status::Error) co_return std::nullopt;
        if (result.status == http::h1::ChunkedDecoder::Status::Done) co_return total;
      }
      if (!co_await fill()) co_return std::nullopt;
    }
  }

  awaitable<bool> writeRaw(std::string_view data) {
    auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(data), nothrow);
    co_return !ec;
  }

  awaitable<bool> writeSimple(int status, std::string_view body, bool close) {
    std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason(status)) + "\r\n";
    out += "Content-Type: text/plain; charset=utf-8\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    if (close) out += "Connection: close\r\n";
    out += "\r\n";
    if (!head_) out.append(body);
    co_return co_await writeRaw(out);
  }

  awaitable<bool> writeData(uint64_t size, bool keepAlive) {
    std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
                       std::to_string(size) + "\r\n" + (keepAlive ? "" : "Connection: close\r\n") + "\r\n";
    if (!co_await writeRaw(head)) co_return false;
    if (head_) co_return true;
    static const std::string pattern = [] {
      std::string p(65536, 0);
      for (size_t i = 0; i < p.size(); ++i) p[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[i % 36];
      return p;
    }();
    uint64_t sent = 0;
    while (sent < size) {
      size_t n = size_t(std::min<uint64_t>(pattern.size(), size - sent));
      // Keep the pattern aligned to the absolute offset so clients can verify content.
      size_t offset = size_t(sent % 36);
      size_t available = std::min(n, pattern.size() - offset);
      if (!co_await writeRaw(std::string_view(pattern).substr(offset, available))) co_return false;
      sent += available;
    }
    co_return true;
  }

  awaitable<void> websocketEcho(const std::string& key) {
    std::string out = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Accept: " + websocketAccept(key) + "\r\n\r\n";
    if (!co_await writeRaw(out)) co_return;
    while (true) {
      Frame frame;
      bool error = false;
      size_t used = parseFrame(buffer_, frame, error, 16 << 20);
      if (error) co_return;
      if (used == 0) {
        if (!co_await fill()) co_return;
        continue;
      }
      buffer_.erase(0, used);
      if (frame.opcode == 8) {
        co_await writeRaw(encodeFrame(8, frame.payload));
        co_return;
      }
      if (frame.opcode == 9) {
        if (!co_await writeRaw(encodeFrame(10, frame.payload))) co_return;
        continue;
      }
      if (frame.opcode == 10) continue;
      if (!co_await writeRaw(encodeFrame(frame.opcode, frame.payload, frame.fin))) co_return;
    }
  }

  static std::string_view reason(int status) {
    switch (status) {
      case 200: return "OK";
      case 201: return "Created";
      case 204: return "No Content";
      case 400: return "Bad Request";
      case 404: return "Not Found";
      case 500: return "Internal Server Error";
      case 502: return "Bad Gateway";
      case 503: return "Service Unavailable";
      default: return "Status";
    }
  }

  tcp::socket socket_;
  Shared& shared_;
  std::string buffer_;
  std::string remoteIp_;
  std::string remoteAddr_;
  bool head_ = false;  // answering a HEAD request: headers only
};

awaitable<void> acceptLoop(tcp::acceptor& acceptor, Shared& shared) {
  while (true) {
    auto [ec, socket] = co_await acceptor.async_accept(nothrow);
    if (ec) {
      if (!acceptor.is_open()) co_return;
      continue;
    }
    asio::co_spawn(acceptor.get_executor(),
                   [s = std::move(socket), &shared]() mutable -> awaitable<void> {
                     Session session(std::move(s), shared);
                     co_await session.run();
                   },
                   asio::detached);
  }
}

}  // namespace

int run(const Options& options) {
  Shared shared;
  shared.name = options.name;
  char hostname[256] = {};
  gethostname(hostname, sizeof hostname - 1);
  shared.hostname = hostname;

  asio::io_context io;
  tcp::acceptor acceptor(io);
  try {
    tcp::endpoint endpoint(asio::ip::make_address(options.host), options.port);
    acceptor.open(endpoint.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen();
  } catch (const std::exception& e) {
    std::cerr << "whoami: cannot listen on " << options.host << ":" << options.port << ": " << e.what() << "\n";
    return 1;
  }
  std::cout << "whoami listening on " << acceptor.local_endpoint() << std::endl;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](auto, int) { io.stop(); });
  asio::co_spawn(io, acceptLoop(acceptor, shared), asio::detached);
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < options.threads; ++i) threads.emplace_back([&] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();
  return 0;
}

}  // namespace causeway::whoami
