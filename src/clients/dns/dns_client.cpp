#include "clients/dns/dns_client.h"

#include <openssl/rand.h>

#include <fstream>
#include <memory>
#include <sstream>

namespace causeway::clients::dns {
namespace {

using udp = asio::ip::udp;

uint16_t randomId() {
  uint16_t id = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&id), sizeof id);
  return id;
}

awaitable<std::optional<asio::ip::address>> resolve(asio::io_context& io, const std::string& host, std::string& error) {
  error_code ec;
  asio::ip::address address = asio::ip::make_address(host, ec);
  if (!ec) co_return address;
  udp::resolver resolver(io);
  auto [resolveError, results] = co_await resolver.async_resolve(host, "53", nothrow);
  if (resolveError || results.empty()) {
    error = "cannot resolve " + host + ": " + (resolveError ? resolveError.message() : "no address");
    co_return std::nullopt;
  }
  co_return results.begin()->endpoint().address();
}

// Closes `socket` when `timeout` passes before the guard is dropped (the exchange is over);
// the socket outlives the guard.
template <typename Socket>
class CloseOnTimeout {
 public:
  CloseOnTimeout(asio::io_context& io, Socket& socket, std::chrono::milliseconds timeout) : timer_(io) {
    timer_.expires_after(timeout);
    timer_.async_wait([&socket, done = done_](error_code ec) {
      if (!ec && !*done) socket.close(ec);
    });
  }
  ~CloseOnTimeout() {
    *done_ = true;
    timer_.cancel();
  }

 private:
  asio::steady_timer timer_;
  std::shared_ptr<bool> done_ = std::make_shared<bool>(false);
};

awaitable<std::optional<std::string>> overUdp(asio::io_context& io, udp::endpoint to, const std::string& message,
                                              std::chrono::milliseconds timeout, std::string& error) {
  udp::socket socket(io, to.protocol());
  CloseOnTimeout watchdog(io, socket, timeout);
  auto [sendError, sent] = co_await socket.async_send_to(asio::buffer(message), to, nothrow);
  if (sendError) {
    error = sendError.message();
    co_return std::nullopt;
  }
  std::string buffer(65535, '\0');
  while (true) {
    udp::endpoint from;
    auto [readError, n] = co_await socket.async_receive_from(asio::buffer(buffer), from, nothrow);
    if (readError) {
      error = readError == asio::error::operation_aborted ? "no answer in time" : readError.message();
      co_return std::nullopt;
    }
    // Only the server's answer to this very message counts (same id).
    if (from == to && n >= 2 && buffer[0] == message[0] && buffer[1] == message[1]) {
      buffer.resize(n);
      co_return buffer;
    }
  }
}

awaitable<std::optional<std::string>> overTcp(asio::io_context& io, tcp::endpoint to, const std::string& message,
                                              std::chrono::milliseconds timeout, std::string& error) {
  tcp::socket socket(io);
  CloseOnTimeout watchdog(io, socket, timeout);
  auto [connectError] = co_await socket.async_connect(to, nothrow);
  if (connectError) {
    error = connectError.message();
    co_return std::nullopt;
  }
  std::string framed;
  framed.push_back(char(message.size() >> 8));
  framed.push_back(char(message.size() & 0xff));
  framed += message;
  auto [writeError, written] = co_await asio::async_write(socket, asio::buffer(framed), nothrow);
  unsigned char length[2];
  auto [lengthError, got] = co_await asio::async_read(socket, asio::buffer(length), nothrow);
  if (writeError || lengthError) {
    error = (writeError ? writeError : lengthError).message();
    co_return std::nullopt;
  }
  std::string answer((size_t(length[0]) << 8) | length[1], '\0');
  auto [readError, n] = co_await asio::async_read(socket, asio::buffer(answer), nothrow);
  if (readError) {
    error = readError.message();
    co_return std::nullopt;
  }
  co_return answer;
}

}  // namespace

bool parseServer(const std::string& server, std::string& host, uint16_t& port) {
  port = 53;
  std::string portText;
  if (server.starts_with("[")) {
    size_t close = server.find(']');
    if (close == std::string::npos) return false;
    host = server.substr(1, close - 1);
    if (close + 1 < server.size()) {
      if (server[close + 1] != ':') return false;
      portText = server.substr(close + 2);
    }
  } else if (size_t colon = server.rfind(':'); colon != std::string::npos && server.find(':') == colon) {
    host = server.substr(0, colon);
    portText = server.substr(colon + 1);
  } else {
    host = server;  // a name, an IPv4 address or a bare IPv6 address
  }
  if (!portText.empty()) {
    unsigned value = 0;
    for (char c : portText) {
      if (c < '0' || c > '9' || value > 65535) return false;
      value = value * 10 + unsigned(c - '0');
    }
    if (value == 0 || value > 65535) return false;
    port = uint16_t(value);
  }
  return !host.empty();
}

awaitable<std::optional<Message>> exchange(asio::io_context& io, const std::string& server, const std::string& message,
                                           std::chrono::milliseconds timeout, std::string& error) {
  std::string host;
  uint16_t port = 53;
  if (message.size() < 12 || !parseServer(server, host, port)) {
    error = "bad DNS server address " + server;
    co_return std::nullopt;
  }
  std::optional<asio::ip::address> address = co_await resolve(io, host, error);
  if (!address) co_return std::nullopt;
  const udp::endpoint viaUdp(*address, port);
  std::optional<std::string> answer = co_await overUdp(io, viaUdp, message, timeout, error);
  std::optional<Message> parsed;
  if (answer) parsed = parse(*answer);
  if (parsed && parsed->truncated) {
    const tcp::endpoint viaTcp(*address, port);
    answer = co_await overTcp(io, viaTcp, message, timeout, error);
    parsed = answer ? parse(*answer) : std::nullopt;
  }
  if (!answer) {
    error = "DNS server " + server + ": " + error;
    co_return std::nullopt;
  }
  if (!parsed) {
    error = "DNS server " + server + ": malformed answer";
    co_return std::nullopt;
  }
  co_return parsed;
}

awaitable<std::optional<std::vector<std::string>>> txt(asio::io_context& io, const std::string& server,
                                                       const std::string& name, std::chrono::milliseconds timeout,
                                                       std::string& error) {
  const std::string message = query(randomId(), name, Type::TXT);
  std::optional<Message> answer = co_await exchange(io, server, message, timeout, error);
  if (!answer) co_return std::nullopt;
  if (answer->rcode != 0 && answer->rcode != 3) {
    error = "DNS server " + server + " answers " + rcodeName(answer->rcode) + " for " + name;
    co_return std::nullopt;
  }
  std::vector<std::string> out;
  for (const Record& record : answer->answers) {
    if (record.type != uint16_t(Type::TXT)) continue;
    std::string joined;
    for (const std::string& text : record.texts) joined += text;
    out.push_back(std::move(joined));
  }
  co_return out;
}

awaitable<std::optional<std::string>> zoneOf(asio::io_context& io, const std::string& server, const std::string& name,
                                             std::chrono::milliseconds timeout, std::string& error) {
  std::string candidate = name;
  if (!candidate.empty() && candidate.back() == '.') candidate.pop_back();
  while (!candidate.empty()) {
    const std::string message = query(randomId(), candidate, Type::SOA);
    std::optional<Message> answer = co_await exchange(io, server, message, timeout, error);
    if (!answer) co_return std::nullopt;
    if (answer->rcode == 0 || answer->rcode == 3) {
      for (const auto* section : {&answer->answers, &answer->authority})
        for (const Record& record : *section)
          if (record.type == uint16_t(Type::SOA) && (candidate == record.name || candidate.ends_with("." + record.name)))
            co_return record.name;
    }
    size_t dot = candidate.find('.');
    candidate = dot == std::string::npos ? std::string() : candidate.substr(dot + 1);
  }
  error = "DNS server " + server + " knows no zone (SOA) for " + name;
  co_return std::nullopt;
}

std::vector<std::string> systemResolvers() {
  std::vector<std::string> out;
  std::ifstream in("/etc/resolv.conf");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string keyword, address;
    if (words >> keyword >> address && keyword == "nameserver")
      out.push_back(address.find(':') != std::string::npos ? "[" + address + "]:53" : address + ":53");
  }
  if (out.empty()) out.push_back("127.0.0.1:53");
  return out;
}

}  // namespace causeway::clients::dns
