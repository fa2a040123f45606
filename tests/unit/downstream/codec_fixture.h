// A downstream codec under test, in-process: a worker whose snapshot routes every request to
// a RecordingHandler, and a loopback socket pair whose server end goes through the same
// serveConnection() the listener uses (so a test sends bytes and reads bytes, and the codec
// decides HTTP/1.1 or h2c from them, as it does for a real client). The worker's loop runs on
// the test's thread, bounded by a time limit.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/strings.h"
#include "downstream/connection.h"
#include "exchange/body.h"
#include "exchange/handler.h"
#include "router/rule.h"
#include "runtime/entry_point.h"
#include "runtime/snapshot.h"
#include "runtime/worker.h"

namespace causeway::downstream::testing {

// What reached the handler, for one request.
struct Seen {
  std::string method, path, query, host, scheme, body;
  bool hadBody = false;
  bool bodyFailed = false;
  std::vector<std::pair<std::string, std::string>> headers, trailers;
  std::string header(std::string_view name) const {
    for (const auto& [n, v] : headers)
      if (iequals(n, name)) return v;
    return {};
  }
};

// Records each request (reading its body) and answers 200 with `answer` (or with a body of
// unknown length when `unknownLength`), plus an X-Handled field.
class RecordingHandler final : public exchange::Handler {
 public:
  mutable std::vector<Seen> seen;
  std::string answer = "hello";
  bool unknownLength = false;
  std::vector<std::pair<std::string, std::string>> responseFields;  // added after X-Handled

  awaitable<void> handle(exchange::Exchange& ex) const override {
    Seen s;
    const exchange::Request& r = ex.request;
    s.method = r.method;
    s.path = r.path;
    s.query = r.query;
    s.host = r.host;
    s.scheme = r.scheme;
    for (const auto& f : r.headers) s.headers.emplace_back(f.name, f.value);
    if (r.body) {
      s.hadBody = true;
      exchange::ReadResult read = co_await exchange::readBody(*r.body, s.body, 1 << 20);
      s.bodyFailed = read != exchange::ReadResult::Complete;
      if (const http::Headers* trailers = r.body->trailers())
        for (const auto& f : *trailers) s.trailers.emplace_back(f.name, f.value);
    }
    seen.push_back(std::move(s));
    exchange::Response& response = ex.response;
    response.status = 200;
    response.headers.add("X-Handled", "yes");
    for (const auto& [name, value] : responseFields) response.headers.add(ex.arena.copy(name), ex.arena.copy(value));
    if (unknownLength)
      response.body = ex.arena.make<UnknownLengthBody>(ex.arena.copy(answer));
    else
      response.body = ex.arena.make<exchange::MemoryBody>(ex.arena.copy(answer));
  }

 private:
  // The answer in two pieces, with no length known in advance (HTTP/1.1 sends it chunked).
  class UnknownLengthBody final : public exchange::BodySource {
   public:
    explicit UnknownLengthBody(std::string_view data) : data_(data) {}
    awaitable<exchange::BodyChunk> read() override {
      size_t half = data_.size() / 2;
      if (step_++ == 0) co_return exchange::BodyChunk{data_.substr(0, half), false, false};
      done_ = true;
      co_return exchange::BodyChunk{data_.substr(half), true, false};
    }
    bool finished() const override { return done_; }

   private:
    std::string_view data_;
    int step_ = 0;
    bool done_ = false;
  };
};

class CodecTest : public ::testing::Test {
 protected:
  CodecTest() : worker_(0, snapshots_, observers_, 1) {
    entryPoint_.name = "web";
    entryPoint_.index = 0;
    auto snapshot = std::make_shared<runtime::Snapshot>();
    snapshot->routes.resize(1);
    auto rule = std::get<router::CompiledRulePtr>(router::compileRule("PathPrefix(`/`)", router::RuleSyntax::V3));
    auto target = std::make_shared<runtime::RouteTarget>();
    target->name = "all@test";
    target->service = "recorder@test";
    target->handler = handler_;
    snapshot->routes[0].table.add(rule, 1, "all@test", target);
    snapshot->routes[0].table.build();
    snapshots_.publish(snapshot);
  }

  // Connects a client socket to a codec on the worker and runs `client` (a coroutine that
  // talks to the codec through the socket) until it returns, within `limit`.
  void converse(std::function<awaitable<void>(tcp::socket&)> client,
                std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    asio::io_context& io = worker_.io();
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    tcp::socket peer(io);
    peer.connect(acceptor.local_endpoint());
    tcp::endpoint remote;
    tcp::socket server = acceptor.accept(remote);
    uint16_t port = acceptor.local_endpoint().port();
    bool done = false;
    asio::co_spawn(io, serveConnection(worker_, entryPoint_, std::move(server), remote, port), asio::detached);
    asio::co_spawn(io, client(peer), [&](std::exception_ptr e) {
      done = true;
      if (e) std::rethrow_exception(e);
    });
    io.restart();
    auto until = std::chrono::steady_clock::now() + limit;
    while (!done && std::chrono::steady_clock::now() < until) io.run_for(std::chrono::milliseconds(20));
    EXPECT_TRUE(done) << "the conversation did not finish in time";
    error_code ignored;
    peer.close(ignored);
    io.run_for(std::chrono::milliseconds(50));  // lets the codec see the close and end
  }

  // HTTP/1.1: sends `input`, ends the client's sending side, and returns every byte the codec
  // wrote until it closed the connection.
  std::string roundTrip(std::string input) {
    std::string received;
    converse([&](tcp::socket& socket) -> awaitable<void> {
      co_await asio::async_write(socket, asio::buffer(input), nothrow);
      error_code ignored;
      socket.shutdown(tcp::socket::shutdown_send, ignored);
      char buffer[4096];
      while (true) {
        auto [ec, n] = co_await socket.async_read_some(asio::buffer(buffer), nothrow);
        if (ec) break;
        received.append(buffer, n);
      }
    });
    return received;
  }

  runtime::SnapshotHolder snapshots_;
  runtime::Observers observers_;
  runtime::Worker worker_;
  runtime::EntryPoint entryPoint_;
  std::shared_ptr<RecordingHandler> handler_ = std::make_shared<RecordingHandler>();
};

}  // namespace causeway::downstream::testing
