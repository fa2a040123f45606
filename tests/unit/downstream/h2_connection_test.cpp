// The HTTP/2 downstream codec (h2c with prior knowledge), driven through a socket pair by an
// nghttp2 client session: streams reach the handler as the same Request as HTTP/1.1, and a
// malformed stream is reset before anything reaches it.
#include <nghttp2/nghttp2.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "http/nghttp2_util.h"
#include "unit/downstream/codec_fixture.h"

namespace causeway::downstream::testing {
namespace {

// A minimal HTTP/2 client on nghttp2, fed and drained by the test's coroutine.
class H2Client {
 public:
  struct Answer {
    std::map<std::string, std::string> headers;
    std::string body;
    bool closed = false;
    uint32_t errorCode = 0;
  };

  H2Client() {
    nghttp2_session_callbacks* callbacks = nullptr;
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, &H2Client::onHeader);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &H2Client::onData);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &H2Client::onClose);
    nghttp2_session_client_new(&session_, callbacks, this);
    nghttp2_session_callbacks_del(callbacks);
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, nullptr, 0);
  }
  ~H2Client() { nghttp2_session_del(session_); }

  // Submits a request; `body` (may be empty) is sent as DATA. Header names are sent as given,
  // so a test can send an invalid one.
  int32_t request(std::vector<std::pair<std::string, std::string>> fields, std::string body = {}) {
    bodies_.push_back(std::make_unique<std::string>(std::move(body)));
    std::string* data = bodies_.back().get();
    std::vector<nghttp2_nv> nv;
    for (const auto& [name, value] : fields) nv.push_back(http::makeNv(name, value));
    nghttp2_data_provider provider{};
    provider.source.ptr = data;
    provider.read_callback = &H2Client::readBody;
    int32_t id = nghttp2_submit_request(session_, nullptr, nv.data(), nv.size(), data->empty() ? nullptr : &provider,
                                        nullptr);
    answers_[id];
    pending_.push_back(std::move(fields));  // keeps the views alive until sent
    return id;
  }

  // Exchanges frames until every submitted stream is closed (nghttp2 sends the client
  // connection preface itself: the codec sees h2c with prior knowledge).
  awaitable<void> run(tcp::socket& socket) {
    char buffer[16384];
    while (true) {
      std::string out;
      http::takeFrames(session_, out);
      if (!out.empty()) co_await asio::async_write(socket, asio::buffer(out), nothrow);
      if (allClosed()) co_return;
      auto [ec, n] = co_await socket.async_read_some(asio::buffer(buffer), nothrow);
      if (ec) co_return;
      if (nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(buffer), n) < 0) co_return;
    }
  }

  const Answer& answer(int32_t id) { return answers_[id]; }

 private:
  bool allClosed() const {
    for (const auto& [id, a] : answers_)
      if (!a.closed) return false;
    return true;
  }
  static int onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                      const uint8_t* value, size_t valuelen, uint8_t, void* self) {
    auto* c = static_cast<H2Client*>(self);
    c->answers_[frame->hd.stream_id].headers[std::string(reinterpret_cast<const char*>(name), namelen)] =
        std::string(reinterpret_cast<const char*>(value), valuelen);
    return 0;
  }
  static int onData(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data, size_t len, void* self) {
    static_cast<H2Client*>(self)->answers_[id].body.append(reinterpret_cast<const char*>(data), len);
    return 0;
  }
  static int onClose(nghttp2_session*, int32_t id, uint32_t error, void* self) {
    auto& a = static_cast<H2Client*>(self)->answers_[id];
    a.closed = true;
    a.errorCode = error;
    return 0;
  }
  static ssize_t readBody(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                          nghttp2_data_source* source, void*) {
    auto* data = static_cast<std::string*>(source->ptr);
    size_t n = std::min(length, data->size());
    std::memcpy(buf, data->data(), n);
    data->erase(0, n);
    if (data->empty()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return ssize_t(n);
  }

  nghttp2_session* session_ = nullptr;
  std::map<int32_t, Answer> answers_;
  std::vector<std::unique_ptr<std::string>> bodies_;
  std::vector<std::vector<std::pair<std::string, std::string>>> pending_;
};

std::vector<std::pair<std::string, std::string>> get(std::string path) {
  return {{":method", "GET"}, {":scheme", "http"}, {":authority", "example.com"}, {":path", std::move(path)}};
}

TEST_F(CodecTest, ConcurrentStreamsReachTheHandler) {
  handler_->answer = "hello h2";
  H2Client client;
  int32_t first = client.request(get("/a?q=1"));
  int32_t second = client.request(get("/b"));
  converse([&](tcp::socket& socket) -> awaitable<void> {
    co_await client.run(socket);
  });
  ASSERT_EQ(handler_->seen.size(), 2u);
  for (const Seen& s : handler_->seen) {
    EXPECT_EQ(s.method, "GET");
    EXPECT_EQ(s.host, "example.com");
  }
  for (int32_t id : {first, second}) {
    const auto& a = client.answer(id);
    EXPECT_TRUE(a.closed);
    EXPECT_EQ(a.errorCode, 0u);
    EXPECT_EQ(a.headers.at(":status"), "200");
    EXPECT_EQ(a.headers.at("x-handled"), "yes");
    EXPECT_EQ(a.body, "hello h2");
  }
  bool sawQuery = false;
  for (const Seen& s : handler_->seen) sawQuery = sawQuery || (s.path == "/a" && s.query == "q=1");
  EXPECT_TRUE(sawQuery);
}

// A response head as HTTP/2 sends it (stream_head.cpp): names in lower case, the fields of an
// HTTP/1.1 connection left out (the client would take the stream as malformed otherwise),
// content-length from the body, and Date added when the response has none.
TEST_F(CodecTest, ResponseHeadLeavesOutConnectionFieldsAndLowersNames) {
  handler_->answer = "8 bytes!";
  handler_->responseFields = {{"Connection", "close"},        {"Keep-Alive", "timeout=5"},
                              {"Transfer-Encoding", "chunked"}, {"Upgrade", "h2c"},
                              {"Proxy-Connection", "close"},  {"Trailer", "X-T"},
                              {"Content-Length", "999"},      {"Server", "unit"},
                              {"Content-Type", "text/plain"}, {"X-Mixed-Case", "v"},
                              {"etag", "\"e\""},              {"CONTENT-ENCODING", "identity"}};
  H2Client client;
  int32_t id = client.request(get("/"));
  converse([&](tcp::socket& socket) -> awaitable<void> {
    co_await client.run(socket);
  });
  const auto& a = client.answer(id);
  EXPECT_TRUE(a.closed);
  EXPECT_EQ(a.errorCode, 0u);
  EXPECT_EQ(a.body, "8 bytes!");
  std::map<std::string, std::string> expected = {
      {":status", "200"}, {"x-handled", "yes"}, {"server", "unit"}, {"content-type", "text/plain"},
      {"x-mixed-case", "v"}, {"etag", "\"e\""}, {"content-encoding", "identity"}, {"content-length", "8"}};
  std::map<std::string, std::string> got = a.headers;
  ASSERT_TRUE(got.count("date"));
  got.erase("date");
  EXPECT_EQ(got, expected);
}

TEST_F(CodecTest, ResponseHeadKeepsTheResponsesOwnDate) {
  handler_->responseFields = {{"Date", "Sun, 06 Nov 1994 08:49:37 GMT"}};
  H2Client client;
  int32_t id = client.request(get("/"));
  converse([&](tcp::socket& socket) -> awaitable<void> {
    co_await client.run(socket);
  });
  EXPECT_EQ(client.answer(id).headers.at("date"), "Sun, 06 Nov 1994 08:49:37 GMT");
}

TEST_F(CodecTest, RequestBodyStreamsToTheHandler) {
  H2Client client;
  auto fields = get("/upload");
  fields[0].second = "POST";
  fields.emplace_back("content-type", "text/plain");
  int32_t id = client.request(fields, std::string(40000, 'x'));
  converse([&](tcp::socket& socket) -> awaitable<void> {
    co_await client.run(socket);
  });
  ASSERT_EQ(handler_->seen.size(), 1u);
  EXPECT_EQ(handler_->seen[0].method, "POST");
  EXPECT_EQ(handler_->seen[0].body.size(), 40000u);
  EXPECT_EQ(handler_->seen[0].header("Content-Type"), "text/plain");
  EXPECT_EQ(client.answer(id).headers.at(":status"), "200");
}

TEST_F(CodecTest, MalformedStreamIsResetBeforeTheHandler) {
  H2Client client;
  auto bad = get("/bad");
  bad.emplace_back("bad name", "x");  // a space is not allowed in a field name (RFC 9113 §8.2.1)
  int32_t id = client.request(bad);
  int32_t good = client.request(get("/good"));
  converse([&](tcp::socket& socket) -> awaitable<void> {
    co_await client.run(socket);
  });
  ASSERT_EQ(handler_->seen.size(), 1u);
  EXPECT_EQ(handler_->seen[0].path, "/good");
  EXPECT_EQ(client.answer(id).errorCode, uint32_t(NGHTTP2_PROTOCOL_ERROR));
  EXPECT_EQ(client.answer(good).headers.at(":status"), "200");
}

// nghttp2's own encoder lower-cases names, so this request is written by hand: the preface,
// an empty SETTINGS frame, and HEADERS for stream 1 whose last field is named "Upper"
// (an HPACK literal with a new name).
TEST_F(CodecTest, UpperCaseFieldNameIsMalformed) {
  std::string block = "\x82\x86\x84";  // :method GET, :scheme http, :path / (static table)
  block += "\x41\x01" "a";               // :authority a (literal, indexed name 1)
  block += std::string("\x00\x05Upper\x01x", 9);
  std::string input = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  input += std::string("\x00\x00\x00\x04\x00\x00\x00\x00\x00", 9);  // SETTINGS
  input += std::string(1, '\0') + std::string(1, '\0') + char(block.size());
  input += std::string("\x01\x05\x00\x00\x00\x01", 6);  // HEADERS, END_STREAM|END_HEADERS, stream 1
  input += block;
  uint32_t resetCode = ~0u;
  converse([&](tcp::socket& socket) -> awaitable<void> {
    co_await asio::async_write(socket, asio::buffer(input), nothrow);
    std::string in;
    char buffer[4096];
    while (resetCode == ~0u) {
      auto [ec, n] = co_await socket.async_read_some(asio::buffer(buffer), nothrow);
      if (ec) co_return;
      in.append(buffer, n);
      // Frames: 3-byte length, type, flags, 4-byte stream id, payload.
      size_t at = 0;
      while (in.size() - at >= 9) {
        size_t length = size_t(uint8_t(in[at])) << 16 | size_t(uint8_t(in[at + 1])) << 8 | uint8_t(in[at + 2]);
        if (in.size() - at < 9 + length) break;
        if (in[at + 3] == 3 && length == 4)  // RST_STREAM
          resetCode = uint32_t(uint8_t(in[at + 9])) << 24 | uint32_t(uint8_t(in[at + 10])) << 16 |
                      uint32_t(uint8_t(in[at + 11])) << 8 | uint8_t(in[at + 12]);
        at += 9 + length;
      }
      in.erase(0, at);
    }
  });
  EXPECT_TRUE(handler_->seen.empty());
  EXPECT_EQ(resetCode, uint32_t(NGHTTP2_PROTOCOL_ERROR));
}

}  // namespace
}  // namespace causeway::downstream::testing
