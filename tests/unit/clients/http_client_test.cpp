// The control-plane HTTP client (clients/http/http_client.h): URLs it takes and refuses, the
// line splitter of newline-delimited streams, and fetch()/stream() against a local server
// that answers with fixed bytes (framings, a malformed answer, a body over the bound, silence).
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <thread>

#include "clients/http/http_client.h"

namespace causeway::clients::http {
namespace {

TEST(HttpEndpoint, ParsesHttpHttpsAndUnix) {
  Endpoint e;
  std::string error;
  ASSERT_TRUE(parseEndpoint("http://127.0.0.1:2379/base/?q=1", nullptr, e, error)) << error;
  EXPECT_EQ(e.host, "127.0.0.1");
  EXPECT_EQ(e.port, "2379");
  EXPECT_EQ(e.authority, "127.0.0.1:2379");
  EXPECT_EQ(e.basePath, "/base");
  EXPECT_EQ(e.target, "/base/?q=1");
  ASSERT_TRUE(parseEndpoint("https://example.com", nullptr, e, error)) << error;
  EXPECT_TRUE(e.https);
  EXPECT_EQ(e.port, "443");
  EXPECT_EQ(e.target, "/");
  ASSERT_TRUE(parseEndpoint("unix:///var/run/docker.sock", nullptr, e, error)) << error;
  EXPECT_TRUE(e.unix);
  EXPECT_EQ(e.socketPath, "/var/run/docker.sock");
  EXPECT_FALSE(parseEndpoint("ftp://h/", nullptr, e, error));
  EXPECT_NE(error.find("http, https or unix"), std::string::npos);
  EXPECT_FALSE(parseEndpoint("not a url", nullptr, e, error));
}

TEST(LineSplitter, SplitsAcrossPiecesAndBoundsLines) {
  LineSplitter lines(8);
  std::vector<std::string> got;
  auto on = [&](std::string_view l) { got.emplace_back(l); };
  EXPECT_TRUE(lines.feed("ab", on));
  EXPECT_TRUE(lines.feed("c\r\nde\n\nf", on));
  EXPECT_TRUE(lines.feed("g\n", on));
  EXPECT_EQ(got, (std::vector<std::string>{"abc", "de", "fg"}));
  EXPECT_FALSE(lines.feed("123456789", on));
}

// A server that reads one request head and writes `reply`, then closes (unless `hold`).
struct FixedServer {
  explicit FixedServer(std::string reply, bool hold = false) {
    acceptor.open(tcp::v4());
    acceptor.bind({asio::ip::make_address("127.0.0.1"), 0});
    acceptor.listen();
    port = acceptor.local_endpoint().port();
    thread = std::thread([this, reply, hold] {
      tcp::socket s(io);
      error_code ec;
      acceptor.accept(s, ec);
      if (ec) return;
      std::string in;
      char buf[4096];
      while (in.find("\r\n\r\n") == std::string::npos) {
        size_t n = s.read_some(asio::buffer(buf), ec);
        if (ec) return;
        in.append(buf, n);
      }
      request = in;
      asio::write(s, asio::buffer(reply), ec);
      if (hold) s.read_some(asio::buffer(buf), ec);  // until the client closes
    });
  }
  ~FixedServer() {
    error_code ignored;
    acceptor.close(ignored);
    thread.join();
  }
  Endpoint endpoint() const {
    Endpoint e;
    std::string error;
    parseEndpoint("http://127.0.0.1:" + std::to_string(port) + "/v3", nullptr, e, error);
    return e;
  }
  asio::io_context io;
  tcp::acceptor acceptor{io};
  uint16_t port = 0;
  std::string request;
  std::thread thread;
};

Answer fetchNow(const Endpoint& e, Request r, int64_t maxBody = -1,
                std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  asio::io_context io;
  Answer out;
  asio::co_spawn(io, fetch(io, e, r, timeout, maxBody), [&](std::exception_ptr, Answer a) { out = std::move(a); });
  io.run();
  return out;
}

TEST(HttpFetch, ContentLengthChunkedAndUntilClose) {
  {
    FixedServer s("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello");
    Request r;
    r.method = "POST";
    r.target = "/kv/range";
    r.body = "{}";
    Answer a = fetchNow(s.endpoint(), r);
    EXPECT_EQ(a.status, 200) << a.error;
    EXPECT_EQ(a.body, "hello");
    EXPECT_EQ(a.header("x-a"), "b");
    EXPECT_EQ(s.request.rfind("POST /v3/kv/range HTTP/1.1\r\n", 0), 0u) << s.request;
    EXPECT_NE(s.request.find("Content-Length: 2\r\n"), std::string::npos);
  }
  {
    FixedServer s("HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
    Answer a = fetchNow(s.endpoint(), Request{});
    EXPECT_EQ(a.status, 404) << a.error;
    EXPECT_EQ(a.body, "abcde");
  }
  {
    FixedServer s("HTTP/1.1 200 OK\r\n\r\nuntil close");
    Answer a = fetchNow(s.endpoint(), Request{});
    EXPECT_EQ(a.body, "until close") << a.error;
  }
}

TEST(HttpFetch, MalformedTooLargeAndSilentAreErrors) {
  {
    FixedServer s("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    Answer a = fetchNow(s.endpoint(), Request{});
    EXPECT_EQ(a.status, 0);
    EXPECT_NE(a.error.find("malformed"), std::string::npos) << a.error;
  }
  {
    FixedServer s("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'x'));
    Answer a = fetchNow(s.endpoint(), Request{}, 10);
    EXPECT_EQ(a.status, 0);
    EXPECT_NE(a.error.find("larger than 10 bytes"), std::string::npos) << a.error;
  }
  {
    FixedServer s("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", true);
    Answer a = fetchNow(s.endpoint(), Request{}, -1, std::chrono::milliseconds(200));
    EXPECT_EQ(a.status, 0);
    EXPECT_NE(a.error.find("no answer within 200 ms"), std::string::npos) << a.error;
  }
}

TEST(HttpStream, HandsOnPiecesUntilStopped) {
  FixedServer s("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nab\nc\r\n", true);
  asio::io_context io;
  auto stop = std::make_shared<StreamStop>();
  std::string got;
  Answer out;
  std::function<bool(std::string_view)> onData = [&](std::string_view d) {
    got.append(d);
    if (got.size() >= 4) stop->stop();  // what a provider does when it goes away
    return true;
  };
  asio::co_spawn(io, stream(io, s.endpoint(), Request{}, std::chrono::seconds(5), onData, stop),
                 [&](std::exception_ptr, Answer a) { out = std::move(a); });
  io.run();
  EXPECT_EQ(got, "ab\nc");
  EXPECT_EQ(out.error, "stopped");
}

}  // namespace
}  // namespace causeway::clients::http

namespace causeway::clients::http {
namespace {

TEST(HttpStream, ASilentStreamIsBrokenOffAfterItsIdleTime) {
  FixedServer s("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n", true);
  asio::io_context io;
  std::string got;
  Answer out;
  std::function<bool(std::string_view)> onData = [&](std::string_view d) {
    got.append(d);
    return true;
  };
  asio::co_spawn(io,
                 stream(io, s.endpoint(), Request{}, std::chrono::seconds(5), onData,
                        std::make_shared<StreamStop>(), std::chrono::milliseconds(200)),
                 [&](std::exception_ptr, Answer a) { out = std::move(a); });
  io.run();
  EXPECT_EQ(got, "ok");
  EXPECT_EQ(out.error, "nothing received for 200 ms");
}

}  // namespace
}  // namespace causeway::clients::http
