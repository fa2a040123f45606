// The HTTP/2 health checks: the gRPC HealthCheckResponse decoding, and the checks against a
// small nghttp2 server (h2c with prior knowledge).
#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <cstring>
#include <functional>
#include <map>

#include "upstream/health/probe.h"
#include "upstream/health/probe_h2.h"

namespace causeway::upstream {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using namespace h2probe;

std::string frame(std::string_view message) {
  std::string out(5, '\0');
  out[3] = char(message.size() >> 8);
  out[4] = char(message.size() & 0xff);
  out.append(message);
  return out;
}

int decoded(std::string_view body, std::string* errorOut = nullptr) {
  int status = -100;
  std::string error;
  if (!decodeHealthCheckResponse(body, status, error)) {
    if (errorOut) *errorOut = error;
    return -1;
  }
  return status;
}

TEST(GrpcHealthDecode, ServingStatuses) {
  EXPECT_EQ(decoded(frame(std::string("\x08\x01", 2))), 1);
  EXPECT_EQ(decoded(frame(std::string("\x08\x02", 2))), 2);
  EXPECT_EQ(decoded(frame("")), 0);  // proto3 default: UNKNOWN
  // Unknown fields of every wire type are skipped; the last field 1 wins.
  static constexpr char kMessage[] = "\x08\x02\x12\x03"
                                     "abc"
                                     "\x19"
                                     "12345678"
                                     "\x25"
                                     "1234"
                                     "\x08\x01";
  std::string message(kMessage, sizeof kMessage - 1);
  EXPECT_EQ(decoded(frame(message)), 1);
  // A multi-byte varint (an unknown future value).
  EXPECT_EQ(decoded(frame(std::string("\x08\x96\x01", 3))), 150);
  EXPECT_EQ(servingStatusName(1), "SERVING");
  EXPECT_EQ(servingStatusName(2), "NOT_SERVING");
  EXPECT_EQ(servingStatusName(0), "UNKNOWN");
  EXPECT_EQ(servingStatusName(150), "150");
}

TEST(GrpcHealthDecode, MalformedBodies) {
  std::string error;
  EXPECT_EQ(decoded("", &error), -1);
  EXPECT_NE(error.find("no response message"), std::string::npos);
  EXPECT_EQ(decoded(std::string("\0\0\0", 3), &error), -1);
  EXPECT_EQ(decoded(std::string("\x01\0\0\0\x02\x08\x01", 7), &error), -1);  // compressed
  EXPECT_NE(error.find("compressed"), std::string::npos);
  EXPECT_EQ(decoded(std::string("\0\0\0\0\x05\x08\x01", 7), &error), -1);         // truncated
  EXPECT_EQ(decoded(frame(std::string("\x08\x01", 2)) + frame(""), &error), -1);  // two messages
  EXPECT_EQ(decoded(frame(std::string("\x08\x80", 2)), &error), -1);  // varint never ends
  EXPECT_EQ(decoded(frame(std::string("\x12\x05"
                                      "ab",
                                      4)),
                    &error),
            -1);                                                      // short field
  EXPECT_EQ(decoded(frame(std::string("\x0b", 1)), &error), -1);      // group wire type
  EXPECT_EQ(decoded(frame(std::string("\x00\x01", 2)), &error), -1);  // field number 0
}

TEST(GrpcHealthDecode, NamesAndMessages) {
  EXPECT_EQ(grpcCodeName(12), "Unimplemented");
  EXPECT_EQ(grpcCodeName(4), "DeadlineExceeded");
  EXPECT_EQ(grpcCodeName(16), "Unauthenticated");
  EXPECT_EQ(grpcCodeName(17), "Code(17)");
  EXPECT_EQ(decodeGrpcMessage("not%20serving%e2%9c%93"), "not serving\xe2\x9c\x93");
  EXPECT_EQ(decodeGrpcMessage("100%"), "100%");
  EXPECT_EQ(decodeGrpcMessage("%zz%4"), "%zz%4");
  EXPECT_EQ(grpcCodeForHttpStatus(404), 12);
  EXPECT_EQ(grpcCodeForHttpStatus(503), 14);
  EXPECT_EQ(grpcCodeForHttpStatus(500), 2);
}

// --- against a small h2c server -----------------------------------------------------------

struct Answer {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::vector<std::pair<std::string, std::string>> trailers;
  bool reset = false;  // RST_STREAM instead of an answer
};

struct Seen {
  std::map<std::string, std::string> headers;  // pseudo-headers included
  std::string body;
};

// Serves each request with `respond` (prior knowledge HTTP/2, one connection at a time).
class TinyH2Server {
 public:
  TinyH2Server(asio::io_context& io, std::function<Answer(const Seen&)> respond)
      : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        respond_(std::move(respond)) {
    asio::co_spawn(io, accept(), asio::detached);
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::vector<Seen> seen;

 private:
  struct Conn {
    TinyH2Server* server;
    nghttp2_session* session = nullptr;
    std::map<int32_t, Seen> streams;
    std::map<int32_t, Answer> answers;
    std::map<int32_t, std::string_view> pending;
  };

  static int onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* user) {
    auto* c = static_cast<Conn*>(user);
    c->streams[frame->hd.stream_id]
        .headers[std::string(reinterpret_cast<const char*>(name), namelen)] =
        std::string(reinterpret_cast<const char*>(value), valuelen);
    return 0;
  }
  static int onData(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data, size_t len,
                    void* user) {
    static_cast<Conn*>(user)->streams[id].body.append(reinterpret_cast<const char*>(data), len);
    return 0;
  }
  static ssize_t readAnswer(nghttp2_session* session, int32_t id, uint8_t* buf, size_t length,
                            uint32_t* flags, nghttp2_data_source*, void* user) {
    auto* c = static_cast<Conn*>(user);
    std::string_view& rest = c->pending[id];
    size_t n = std::min(length, rest.size());
    std::memcpy(buf, rest.data(), n);
    rest.remove_prefix(n);
    if (rest.empty()) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      const Answer& answer = c->answers[id];
      if (!answer.trailers.empty()) {
        *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        std::vector<nghttp2_nv> nv;
        for (const auto& [k, v] : answer.trailers)
          nv.push_back(makeNv(k, v));
        nghttp2_submit_trailer(session, id, nv.data(), nv.size());
      }
    }
    return ssize_t(n);
  }
  static int onFrame(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
    auto* c = static_cast<Conn*>(user);
    if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM) || frame->hd.stream_id == 0) return 0;
    int32_t id = frame->hd.stream_id;
    c->server->seen.push_back(c->streams[id]);
    Answer& answer = c->answers[id] = c->server->respond_(c->streams[id]);
    if (answer.reset)
      return nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, id, NGHTTP2_INTERNAL_ERROR);
    std::string status = std::to_string(answer.status);
    std::vector<nghttp2_nv> nv = {makeNv(":status", status)};
    for (const auto& [k, v] : answer.headers)
      nv.push_back(makeNv(k, v));
    c->pending[id] = answer.body;
    nghttp2_data_provider provider;
    provider.source.ptr = nullptr;
    provider.read_callback = &readAnswer;
    bool data = !answer.body.empty() || !answer.trailers.empty();
    nghttp2_submit_response(session, id, nv.data(), nv.size(), data ? &provider : nullptr);
    return 0;
  }
  static nghttp2_nv makeNv(const std::string& k, const std::string& v) {
    return {reinterpret_cast<uint8_t*>(const_cast<char*>(k.data())),
            reinterpret_cast<uint8_t*>(const_cast<char*>(v.data())), k.size(), v.size(),
            NGHTTP2_NV_FLAG_NONE};
  }

  awaitable<void> accept() {
    while (true) {
      auto [ec, socket] = co_await acceptor_.async_accept(nothrow);
      if (ec) co_return;
      Conn conn{this};
      nghttp2_session_callbacks* cb = nullptr;
      nghttp2_session_callbacks_new(&cb);
      nghttp2_session_callbacks_set_on_header_callback(cb, &onHeader);
      nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &onData);
      nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &onFrame);
      nghttp2_session_server_new(&conn.session, cb, &conn);
      nghttp2_session_callbacks_del(cb);
      nghttp2_submit_settings(conn.session, NGHTTP2_FLAG_NONE, nullptr, 0);
      char buf[16384];
      while (true) {
        std::string out;
        const uint8_t* data = nullptr;
        for (ssize_t n; (n = nghttp2_session_mem_send(conn.session, &data)) > 0;)
          out.append(reinterpret_cast<const char*>(data), size_t(n));
        if (!out.empty()) co_await asio::async_write(socket, asio::buffer(out), nothrow);
        auto [readError, n] = co_await socket.async_read_some(asio::buffer(buf), nothrow);
        if (readError) break;
        if (nghttp2_session_mem_recv(conn.session, reinterpret_cast<const uint8_t*>(buf), n) < 0)
          break;
      }
      nghttp2_session_del(conn.session);
    }
  }

  tcp::acceptor acceptor_;
  std::function<Answer(const Seen&)> respond_;
};

std::string run(asio::io_context& io, const ProbeConfig& config) {
  std::string result = "not run";
  asio::co_spawn(io, runProbe(io.get_executor(), config),
                 [&](std::exception_ptr e, std::string r) { result = e ? "exception" : r; });
  io.restart();
  auto deadline = Clock::now() + seconds(5);
  while (result == "not run" && Clock::now() < deadline)
    io.run_one_for(milliseconds(50));
  return result;
}

ProbeConfig probeFor(const std::string& server, config::ServerHealthCheck check) {
  ProbeConfig probe;
  std::string error;
  std::vector<std::string> warnings;
  EXPECT_TRUE(makeProbeConfig(check, server, probe, error, warnings)) << error;
  return probe;
}

Answer grpcAnswer(int serving) {
  Answer a;
  a.headers = {{"content-type", "application/grpc"}};
  a.body = frame(std::string("\x08", 1) + char(serving));
  a.trailers = {{"grpc-status", "0"}};
  return a;
}

TEST(GrpcHealthProbe, ServingNotServingAndErrors) {
  asio::io_context io;
  Answer next = grpcAnswer(1);
  TinyH2Server server(io, [&](const Seen&) { return next; });
  config::ServerHealthCheck check;
  check.mode = "grpc";
  check.path = "/ignored";
  check.hostname = "health.test";
  check.headers["X-Probe"] = "causeway";
  ProbeConfig config = probeFor("h2c://127.0.0.1:" + std::to_string(server.port()), check);
  EXPECT_TRUE(config.grpc);
  EXPECT_EQ(run(io, config), "");
  ASSERT_EQ(server.seen.size(), 1u);
  const Seen& seen = server.seen[0];
  EXPECT_EQ(seen.headers.at(":method"), "POST");
  EXPECT_EQ(seen.headers.at(":scheme"), "http");
  EXPECT_EQ(seen.headers.at(":path"), "/grpc.health.v1.Health/Check");
  EXPECT_EQ(seen.headers.at(":authority"), "health.test");
  EXPECT_EQ(seen.headers.at("content-type"), "application/grpc");
  EXPECT_EQ(seen.headers.at("te"), "trailers");
  EXPECT_EQ(seen.headers.at("grpc-timeout"), "5000m");
  EXPECT_EQ(seen.headers.at("x-probe"), "causeway");
  EXPECT_EQ(seen.body, std::string(5, '\0'));

  next = grpcAnswer(2);
  EXPECT_EQ(run(io, config), "received gRPC status code: NOT_SERVING");
  next = grpcAnswer(0);
  EXPECT_EQ(run(io, config), "received gRPC status code: UNKNOWN");

  // Trailers-only answer with an error status.
  next = Answer{200,
                {{"content-type", "application/grpc"},
                 {"grpc-status", "12"},
                 {"grpc-message", "unknown%20service"}}};
  EXPECT_EQ(
      run(io, config),
      "gRPC server does not implement the health protocol: rpc error: code = Unimplemented desc = "
      "unknown service");
  next = Answer{200, {{"content-type", "application/grpc"}, {"grpc-status", "14"}}};
  EXPECT_EQ(run(io, config), "gRPC health check failed: rpc error: code = Unavailable desc = ");
  next = Answer{404, {{"content-type", "text/plain"}}, "nope"};
  EXPECT_EQ(
      run(io, config),
      "gRPC server does not implement the health protocol: rpc error: code = Unimplemented desc = "
      "unexpected HTTP status code received from server: 404");
  next = Answer{200, {{"content-type", "text/html"}}, "<html>"};
  EXPECT_EQ(
      run(io, config),
      "gRPC health check failed: rpc error: code = Unknown desc = transport: received unexpected "
      "content-type \"text/html\"");
  next = grpcAnswer(1);
  next.trailers.clear();
  EXPECT_EQ(run(io, config), "gRPC health check failed: rpc error: code = Internal desc = server "
                             "closed the stream without "
                             "sending trailers");
  next = Answer{};
  next.reset = true;
  EXPECT_EQ(
      run(io, config),
      "gRPC health check failed: rpc error: code = Internal desc = stream terminated by RST_STREAM "
      "with error code: INTERNAL_ERROR");
  next = grpcAnswer(1);
  EXPECT_EQ(run(io, config), "");
}

TEST(GrpcHealthProbe, RefusedAndTimeout) {
  asio::io_context io;
  tcp::acceptor silent(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));  // never accepts
  uint16_t port = silent.local_endpoint().port();
  config::ServerHealthCheck check;
  check.mode = "grpc";
  check.timeout = milliseconds(200);
  auto started = Clock::now();
  EXPECT_EQ(run(io, probeFor("http://127.0.0.1:" + std::to_string(port), check)),
            "gRPC health check timeout: rpc error: code = DeadlineExceeded desc = context deadline "
            "exceeded");
  EXPECT_LT(Clock::now() - started, seconds(2));
  silent.close();
  std::string refused = run(io, probeFor("http://127.0.0.1:" + std::to_string(port), check));
  EXPECT_EQ(refused.rfind(
                "gRPC health check failed: rpc error: code = Unavailable desc = connection error: "
                "desc = \"transport: dial tcp 127.0.0.1:",
                0),
            0u)
      << refused;
}

TEST(H2cHealthProbe, HttpCheckOverPriorKnowledge) {
  asio::io_context io;
  Answer next{200};
  TinyH2Server server(io, [&](const Seen& seen) {
    if (seen.headers.at(":path") == "/old") return Answer{301, {{"location", "/health?moved=1"}}};
    return next;
  });
  config::ServerHealthCheck check;
  check.path = "/health?deep=1";
  check.method = "POST";
  check.headers["X-Probe"] = "1";
  check.headers["Connection"] = "close";  // forbidden in HTTP/2: dropped
  std::string url = "h2c://127.0.0.1:" + std::to_string(server.port());
  ProbeConfig config = probeFor(url, check);
  EXPECT_EQ(run(io, config), "");
  ASSERT_EQ(server.seen.size(), 1u);
  EXPECT_EQ(server.seen[0].headers.at(":method"), "POST");
  EXPECT_EQ(server.seen[0].headers.at(":scheme"), "http");
  EXPECT_EQ(server.seen[0].headers.at(":path"), "/health?deep=1");
  EXPECT_EQ(server.seen[0].headers.at(":authority"), "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(server.seen[0].headers.at("x-probe"), "1");
  EXPECT_EQ(server.seen[0].headers.at("content-length"), "0");
  EXPECT_EQ(server.seen[0].headers.count("connection"), 0u);
  next = Answer{500};
  EXPECT_EQ(run(io, config), "received error status code: 500");
  next = Answer{204};
  config.status = 204;
  EXPECT_EQ(run(io, config), "");

  // A redirect to a relative location stays on HTTP/2.
  check = {};
  check.path = "/old";
  next = Answer{503};
  EXPECT_EQ(run(io, probeFor(url, check)), "received error status code: 503");
  EXPECT_EQ(server.seen.back().headers.at(":path"), "/health?moved=1");
}

}  // namespace
}  // namespace causeway::upstream
