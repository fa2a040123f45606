// semantic-cache: answers an LLM request from an earlier answer when it asks the same thing,
// in the same words (exact tier) or in other words (the nearest earlier question by the cosine
// distance of their embeddings, within maxDistance). Place it before the protocol middleware:
// it reads and keeps answers in the client's format.
// Options:
//   embeddings   {service, provider: openai (POST /v1/embeddings, default) | ollama
//                (POST /api/embed), model, token}: where embeddings come from, through a service
//   maxDistance  cosine distance for a similar question to count (default 0.2)
//   ttl          how long an answer is kept (default 1h); maxEntries (default 100000) and
//                maxBytes (default 256 MiB: answers, questions and vectors): the oldest go first
//   readOnly     serve from the cache but never add to it
//   public       one cache for every caller; by default each caller (its API key, else its
//                address) has its own
//   ignoreSystem (default true), ignoreAssistant (default true), messageHistory (default 1):
//                what is embedded: the last messageHistory messages of the conversation
// Only 200 answers of plain text are kept (not tool calls, not errors); a streamed answer is
// kept once its stream ended cleanly. A hit is answered in the client's format, as a stream
// when the request asked for one, with X-Semantic-Cache: hit (miss otherwise); the access log,
// metrics and spans see it as the AI record's cache result. When the embeddings service
// fails, the request goes on uncached (X-Semantic-Cache: error).
// With `redis` (Traefik's rateLimit block) several causeway instances share one cache: every
// answer kept is also appended to the Redis stream "sc:<middleware>" (capped near maxEntries),
// and each instance reads what the others appended, at most every 250 ms and before a lookup,
// into its own in-memory index; lookups stay local. When Redis cannot be reached the cache
// works on alone and says so in the log.
#include <boost/json.hpp>

#include <atomic>
#include <charconv>
#include <cmath>
#include <cstring>

#include "clients/redis/redis_client.h"
#include "clients/redis/redis_settings.h"
#include "config/redis_options.h"
#include "core/log.h"
#include "exchange/ai_record.h"
#include "exchange/middleware_options.h"
#include "gateway/ai/client_reply.h"
#include "gateway/ai/secret.h"
#include "gateway/ai/sse.h"
#include "gateway/ai/translate.h"
#include "gateway/ai/vector_store.h"
#include "gateway/ai/wire.h"

namespace causeway::gateway::ai {
namespace {

namespace json = boost::json;
using exchange::Exchange;
using exchange::Handler;
using exchange::HandlerPtr;
using exchange::MiddlewareBuildContext;
using exchange::MiddlewareFactoryPtr;
using exchange::WrapContext;

constexpr int64_t kMaxRequestBody = 1 << 20;
constexpr int64_t kMaxKeptAnswer = 4 << 20;

struct EmbeddingsOptions {
  std::string service;
  std::string provider = "openai";
  std::string model = "text-embedding-3-small";
  std::string token;
  static void describe(auto& self, auto& v) {
    v("service", self.service);
    v("provider", self.provider, config::OneOf<2>{{"openai", "ollama"}});
    v("model", self.model);
    v("token", self.token);
  }
};

struct Options {
  EmbeddingsOptions embeddings;
  double maxDistance = 0.2;
  config::Duration ttl = std::chrono::hours(1);
  int64_t maxEntries = 100000;
  int64_t maxBytes = int64_t(256) << 20;
  bool readOnly = false;
  bool isPublic = false;
  bool ignoreSystem = true;
  bool ignoreAssistant = true;
  int64_t messageHistory = 1;
  std::optional<config::RedisOptions> redis;
  static void describe(auto& self, auto& v) {
    v("embeddings", self.embeddings);
    v("maxDistance", self.maxDistance);
    v("ttl", self.ttl);
    v("maxEntries", self.maxEntries);
    v("maxBytes", self.maxBytes);
    v("readOnly", self.readOnly);
    v("public", self.isPublic);
    v("ignoreSystem", self.ignoreSystem);
    v("ignoreAssistant", self.ignoreAssistant);
    v("messageHistory", self.messageHistory);
    v("redis", self.redis);
  }
};

// A middleware's cache: the in-memory index, and where it stands in the shared Redis stream.
struct CacheState {
  CacheState(size_t maxEntries, size_t maxBytes, std::chrono::nanoseconds ttl)
      : store(maxEntries, maxBytes, ttl), maxEntries(maxEntries), ttl(ttl) {}
  VectorStore store;
  size_t maxEntries;
  std::chrono::nanoseconds ttl;
  std::atomic<int64_t> nextSync{0};   // steady ns
  std::atomic<bool> syncing{false};   // one worker reads the stream at a time
  std::string lastId = "0";           // the last stream entry read (guarded by `syncing`)
};

struct Compiled {
  exchange::ServiceRefPtr service;
  bool ollama = false;
  std::string model;
  std::string authorization;
  double maxDistance = 0.2;
  bool readOnly = false;
  bool isPublic = false;
  bool ignoreSystem = true;
  bool ignoreAssistant = true;
  size_t messageHistory = 1;
  std::shared_ptr<CacheState> state;
  std::shared_ptr<const struct Sharing> sharing;  // null: this instance only
};

// Where the cache is shared (the `redis` option).
struct Sharing {
  clients::redis::RedisSettings redis;
  std::string streamKey;  // "sc:<middleware>"
};

int64_t unixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string vectorBytes(const std::vector<float>& v) {
  std::string out(v.size() * sizeof(float), '\0');
  std::memcpy(out.data(), v.data(), out.size());
  return out;
}

std::vector<float> vectorOf(std::string_view bytes) {
  std::vector<float> v(bytes.size() / sizeof(float));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

// Appends a kept answer to the shared stream (in the background: the client does not wait).
awaitable<void> share(std::shared_ptr<const Sharing> sharing, size_t maxEntries, unsigned workerIndex,
                      asio::io_context& io, io::Watchdog& watchdog, std::vector<std::string> fields) {
  std::vector<std::string> args{"XADD", sharing->streamKey, "MAXLEN", "~", std::to_string(maxEntries), "*"};
  for (std::string& f : fields) args.push_back(std::move(f));
  auto client = clients::redis::RedisClient::forWorker(workerIndex, io, watchdog, sharing->redis);
  clients::redis::resp::Value reply;
  std::string error;
  if (!co_await client->call(std::move(args), reply, error) || reply.isError())
    log::warn("semantic-cache: could not share an answer through Redis", {{"error", error.empty() ? reply.text : error}});
}

// Keeps an answer: in this instance's index, and in the shared stream.
void keep(const std::shared_ptr<CacheState>& state, const std::shared_ptr<const Sharing>& sharing,
          exchange::WorkerContext& worker, const std::string& scope, const std::string& question,
          std::vector<float> vector, std::string answer) {
  if (sharing) {
    int64_t expires = unixMillis() + std::chrono::duration_cast<std::chrono::milliseconds>(state->ttl).count();
    asio::co_spawn(worker.io(),
                   share(sharing, state->maxEntries, worker.index(), worker.io(), worker.watchdog(),
                         {"scope", scope, "text", question, "vector", vectorBytes(vector), "answer", answer, "expires",
                          std::to_string(expires)}),
                   asio::detached);
  }
  state->store.insert(scope, question, std::move(vector), std::move(answer), VectorStore::Clock::now());
}

// Reads what other instances appended to the shared stream since the last read (at most every
// 250 ms, one worker at a time) into this instance's index.
awaitable<void> catchUp(std::shared_ptr<CacheState> state, std::shared_ptr<const Sharing> sharing,
                        exchange::WorkerContext& worker) {
  int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
  if (now < state->nextSync.load(std::memory_order_relaxed) || state->syncing.exchange(true)) co_return;
  auto client = clients::redis::RedisClient::forWorker(worker.index(), worker.io(), worker.watchdog(), sharing->redis);
  clients::redis::resp::Value reply;
  std::string error;
  std::string from = state->lastId == "0" ? "-" : "(" + state->lastId;
  // (Built apart: GCC 12 does not take a braced list of literals inside a co_await.)
  // A bounded batch: this runs before a lookup, and entries carry whole answers and vectors.
  std::vector<std::string> args{"XRANGE", sharing->streamKey, from, "+", "COUNT", "64"};
  bool ok = co_await client->call(std::move(args), reply, error);
  if (ok && !reply.isError() && reply.type == clients::redis::resp::Value::Type::Array) {
    int64_t unixNow = unixMillis();
    auto steadyNow = VectorStore::Clock::now();
    for (const auto& entry : reply.items) {
      if (entry.items.size() < 2) continue;
      state->lastId = entry.items[0].text;
      std::map<std::string, std::string> fields;
      const auto& list = entry.items[1].items;
      for (size_t i = 0; i + 1 < list.size(); i += 2) fields[list[i].text] = list[i + 1].text;
      int64_t expires = 0;
      std::from_chars(fields["expires"].data(), fields["expires"].data() + fields["expires"].size(), expires);
      if (expires <= unixNow || fields["answer"].empty()) continue;
      state->store.insert(fields["scope"], fields["text"], vectorOf(fields["vector"]), fields["answer"], steadyNow,
                          steadyNow + std::chrono::milliseconds(expires - unixNow));
    }
  } else {
    log::warn("semantic-cache: could not read the shared cache from Redis", {{"error", error.empty() ? reply.text : error}});
  }
  state->nextSync.store(std::chrono::steady_clock::now().time_since_epoch().count() + 250'000'000,
                        std::memory_order_relaxed);
  state->syncing.store(false);
}

void appendText(std::string& out, const json::value* content) {
  if (!content) return;
  if (content->is_string()) {
    out += content->get_string();
  } else if (content->is_array()) {
    for (const json::value& part : content->get_array())
      if (part.is_object()) appendText(out, part.get_object().if_contains("text"));
  }
}

// What is embedded: the last messageHistory messages (user ones, and assistant ones unless
// ignored), the system prompt unless ignored. Empty when there is nothing to embed (a request
// of tool results only, say): such requests are not cached.
std::string questionOf(const Compiled& c, const json::object& request) {
  std::string text;
  if (!c.ignoreSystem) appendText(text, request.if_contains("system"));
  const json::value* messages = request.if_contains("messages");
  if (const json::value* input = request.if_contains("input"); !messages && input && input->is_string())
    return text + std::string(input->get_string());
  if (!messages || !messages->is_array()) return {};
  std::vector<const json::object*> picked;
  const json::array& list = messages->get_array();
  for (size_t i = list.size(); i-- > 0 && picked.size() < c.messageHistory;) {
    if (!list[i].is_object()) continue;
    std::string_view role = stringField(list[i].get_object(), "role");
    if (role == "user" || (role == "assistant" && !c.ignoreAssistant) ||
        ((role == "system" || role == "developer") && !c.ignoreSystem))
      picked.push_back(&list[i].get_object());
    else if (role == "tool")
      return {};  // a conversation in the middle of a tool call is not a question to reuse
  }
  for (size_t i = picked.size(); i-- > 0;) {
    if (!text.empty()) text += '\n';
    appendText(text, picked[i]->if_contains("content"));
  }
  return text;
}

// The answer's text and finish, when it is plain text (no tool calls).
bool plainAnswer(const json::object& answer, Wire wire) {
  if (wire == Wire::AnthropicMessages) {
    const json::value* content = answer.if_contains("content");
    if (!content || !content->is_array()) return false;
    for (const json::value& b : content->get_array())
      if (!b.is_object() || stringField(b.get_object(), "type") != "text") return false;
    return true;
  }
  const json::value* choices = answer.if_contains("choices");
  if (!choices || !choices->is_array() || choices->get_array().empty()) return false;
  for (const json::value& c : choices->get_array()) {
    const json::object* message = c.is_object() && c.get_object().if_contains("message") &&
                                          c.get_object().at("message").is_object()
                                      ? &c.get_object().at("message").get_object()
                                      : nullptr;
    if (!message || message->if_contains("tool_calls")) return false;
  }
  return true;
}

// A kept whole answer replayed as the client's stream.
std::string asStream(const json::object& answer, Wire wire) {
  std::string out;
  if (wire == Wire::AnthropicMessages) {
    std::string text;
    appendText(text, answer.if_contains("content"));
    json::object shell = answer;
    shell["content"] = json::array{};
    shell["stop_reason"] = nullptr;
    appendEvent(out, "message_start", json::serialize(json::object{{"type", "message_start"}, {"message", shell}}));
    appendEvent(out, "content_block_start", json::serialize(json::object{
        {"type", "content_block_start"}, {"index", 0}, {"content_block", json::object{{"type", "text"}, {"text", ""}}}}));
    appendEvent(out, "content_block_delta", json::serialize(json::object{
        {"type", "content_block_delta"}, {"index", 0}, {"delta", json::object{{"type", "text_delta"}, {"text", text}}}}));
    appendEvent(out, "content_block_stop", json::serialize(json::object{{"type", "content_block_stop"}, {"index", 0}}));
    const json::value* usage = answer.if_contains("usage");
    appendEvent(out, "message_delta", json::serialize(json::object{
        {"type", "message_delta"},
        {"delta", json::object{{"stop_reason", stringField(answer, "stop_reason")}, {"stop_sequence", nullptr}}},
        {"usage", usage ? *usage : json::value(json::object{})}}));
    appendEvent(out, "message_stop", R"({"type":"message_stop"})");
    return out;
  }
  const json::object& choice = answer.at("choices").as_array()[0].as_object();
  std::string text;
  appendText(text, choice.at("message").as_object().if_contains("content"));
  auto chunk = [&](json::object delta, json::value finish) {
    return json::serialize(json::object{{"id", stringField(answer, "id")}, {"object", "chat.completion.chunk"},
                                        {"created", answer.contains("created") ? answer.at("created") : json::value(0)},
                                        {"model", stringField(answer, "model")},
                                        {"choices", json::array{json::object{{"index", 0}, {"delta", std::move(delta)},
                                                                             {"logprobs", nullptr}, {"finish_reason", finish}}}}});
  };
  appendEvent(out, {}, chunk(json::object{{"role", "assistant"}, {"content", ""}}, nullptr));
  appendEvent(out, {}, chunk(json::object{{"content", text}}, nullptr));
  appendEvent(out, {}, chunk(json::object{}, json::value(stringField(choice, "finish_reason"))));
  appendEvent(out, {}, "[DONE]");
  return out;
}

// A streamed answer, assembled into the whole answer it amounts to (plain text only).
class StreamAssembler {
 public:
  explicit StreamAssembler(Wire wire) : wire_(wire) {}
  bool event(std::string_view, std::string_view data) {
    if (data == "[DONE]") {
      done_ = true;
      return true;
    }
    boost::system::error_code ec;
    json::value v = json::parse(data, ec);
    if (ec || !v.is_object()) return (usable_ = false);
    const json::object& o = v.get_object();
    if (o.if_contains("error") || stringField(o, "type") == "error") usable_ = false;
    if (wire_ == Wire::AnthropicMessages) {
      std::string_view type = stringField(o, "type");
      if (type == "message_start" && o.if_contains("message") && o.at("message").is_object()) shell_ = o.at("message").get_object();
      if (type == "content_block_start" && o.if_contains("content_block") && o.at("content_block").is_object() &&
          stringField(o.at("content_block").get_object(), "type") != "text")
        usable_ = false;
      if (type == "content_block_delta" && o.if_contains("delta") && o.at("delta").is_object())
        text_ += stringField(o.at("delta").get_object(), "text");
      if (type == "message_delta" && o.if_contains("delta") && o.at("delta").is_object()) {
        finish_ = stringField(o.at("delta").get_object(), "stop_reason");
        if (o.if_contains("usage")) usage_ = o.at("usage");
      }
      if (type == "message_stop") done_ = true;
      return true;
    }
    if (shell_.empty()) shell_ = o;
    if (o.if_contains("usage") && o.at("usage").is_object()) usage_ = o.at("usage");
    const json::value* choices = o.if_contains("choices");
    if (!choices || !choices->is_array() || choices->get_array().empty() || !choices->get_array()[0].is_object()) return true;
    const json::object& choice = choices->get_array()[0].get_object();
    if (const json::value* delta = choice.if_contains("delta"); delta && delta->is_object()) {
      if (delta->get_object().if_contains("tool_calls")) usable_ = false;
      text_ += stringField(delta->get_object(), "content");
    }
    if (std::string_view f = stringField(choice, "finish_reason"); !f.empty()) finish_ = f;
    return true;
  }
  // The whole answer, when the stream ended cleanly with plain text.
  std::optional<std::string> answer() const {
    if (!done_ || !usable_ || shell_.empty()) return std::nullopt;
    json::object a;
    if (wire_ == Wire::AnthropicMessages) {
      a = shell_;
      a["content"] = json::array{json::object{{"type", "text"}, {"text", text_}}};
      a["stop_reason"] = finish_;
      if (!usage_.is_null()) a["usage"] = usage_;
    } else {
      a = json::object{{"id", stringField(shell_, "id")}, {"object", "chat.completion"},
                       {"created", shell_.contains("created") ? shell_.at("created") : json::value(0)},
                       {"model", stringField(shell_, "model")},
                       {"choices", json::array{json::object{{"index", 0},
                                                            {"message", json::object{{"role", "assistant"}, {"content", text_}}},
                                                            {"finish_reason", finish_}}}}};
      if (!usage_.is_null()) a["usage"] = usage_;
    }
    return json::serialize(a);
  }

 private:
  Wire wire_;
  json::object shell_;
  std::string text_;
  std::string finish_;
  json::value usage_;
  bool done_ = false;
  bool usable_ = true;
};

// The answer's body, passed on as it is; a clean end stores what it amounted to.
class KeepAtEnd final : public exchange::BodySource {
 public:
  KeepAtEnd(exchange::BodySource* inner, Wire wire, std::shared_ptr<CacheState> state,
            std::shared_ptr<const Sharing> sharing, exchange::WorkerContext& worker, std::string scope,
            std::string question, std::vector<float> vector)
      : inner_(inner), assembler_(wire), state_(std::move(state)), sharing_(std::move(sharing)), worker_(worker),
        scope_(std::move(scope)), question_(std::move(question)), vector_(std::move(vector)) {}
  awaitable<exchange::BodyChunk> read() override {
    exchange::BodyChunk chunk = co_await inner_->read();
    if (chunk.error) {
      broken_ = true;
    } else {
      size_ += chunk.data.size();
      if (size_ > size_t(kMaxKeptAnswer) ||
          !parser_.feed(chunk.data, [&](std::string_view n, std::string_view d) { return assembler_.event(n, d); }))
        broken_ = true;
      if (chunk.last && !broken_)
        if (std::optional<std::string> answer = assembler_.answer())
          keep(state_, sharing_, worker_, scope_, question_, std::move(vector_), std::move(*answer));
    }
    co_return chunk;
  }
  std::optional<uint64_t> length() const override { return inner_->length(); }
  bool finished() const override { return inner_->finished(); }

 private:
  exchange::BodySource* inner_;
  SseParser parser_;
  StreamAssembler assembler_;
  std::shared_ptr<CacheState> state_;
  std::shared_ptr<const Sharing> sharing_;
  exchange::WorkerContext& worker_;
  std::string scope_, question_;
  std::vector<float> vector_;
  size_t size_ = 0;
  bool broken_ = false;
};

class SemanticCache final : public Handler {
 public:
  SemanticCache(const Compiled& c, HandlerPtr next, const WrapContext&) : c_(c), next_(std::move(next)) {}

  awaitable<void> handle(Exchange& ex) const override {
    if (ex.request.method != "POST" || !ex.request.body) {
      co_await next_->handle(ex);
      co_return;
    }
    auto* body = ex.arena.make<std::string>();
    exchange::ReadResult read = co_await exchange::readBody(*ex.request.body, *body, kMaxRequestBody);
    ex.request.body = ex.arena.make<exchange::PrefixedBody>(*body, exchange::restOf(ex.arena, read, ex.request.body),
                                                            ex.request.body->length());
    boost::system::error_code ec;
    json::value parsed = read == exchange::ReadResult::Complete ? json::parse(*body, ec) : json::value();
    std::string question = !ec && parsed.is_object() ? questionOf(c_, parsed.get_object()) : std::string();
    if (question.empty()) {
      co_await next_->handle(ex);
      co_return;
    }
    const json::object& request = parsed.get_object();
    const Wire wire = clientWireOf(ex);
    const bool stream = request.if_contains("stream") && request.at("stream").is_bool() && request.at("stream").get_bool();
    std::string scope = partition(ex) + '\0' + std::string(wireName(wire)) + '\0' + std::string(stringField(request, "model"));

    // 1. The same words (after what other instances shared, with `redis`).
    if (c_.sharing) co_await catchUp(c_.state, c_.sharing, ex.worker);
    auto now = VectorStore::Clock::now();
    if (auto hit = c_.state->store.exact(scope, question, now); hit && serve(ex, *hit->answer, wire, stream)) co_return;
    // 2. The same meaning.
    std::optional<std::vector<float>> vector = co_await embed(ex, question);
    if (!vector) {
      co_await next_->handle(ex);
      mark(ex, "error");
      co_return;
    }
    VectorStore::normalize(*vector);
    if (auto hit = c_.state->store.nearest(scope, *vector, c_.maxDistance, VectorStore::Clock::now());
        hit && serve(ex, *hit->answer, wire, stream))
      co_return;
    // 3. Ask, and keep a good answer.
    co_await next_->handle(ex);
    mark(ex, "miss");
    exchange::Response& r = ex.response;
    if (c_.readOnly || r.status != 200 || !r.body || r.tunnel) co_return;
    if (r.headers.get("Content-Type").starts_with(kEventStreamType)) {
      r.body = ex.arena.make<KeepAtEnd>(r.body, wire, c_.state, c_.sharing, ex.worker, std::move(scope),
                                        std::move(question), std::move(*vector));
      co_return;
    }
    if (!r.headers.get("Content-Encoding").empty()) co_return;
    auto* kept = ex.arena.make<std::string>();
    exchange::ReadResult answerRead = co_await exchange::readBody(*r.body, *kept, kMaxKeptAnswer);
    if (answerRead != exchange::ReadResult::Complete) {
      // Too large to keep (or broken): passed on as it is, uncached.
      r.body = ex.arena.make<exchange::PrefixedBody>(*kept, exchange::restOf(ex.arena, answerRead, r.body), r.body->length());
      co_return;
    }
    std::string answer = *kept;
    json::value a = json::parse(answer, ec);
    if (!ec && a.is_object() && plainAnswer(a.get_object(), wire))
      keep(c_.state, c_.sharing, ex.worker, scope, question, std::move(*vector), answer);
    r.headers.remove("Content-Length");
    r.body = ex.arena.make<exchange::OwnedBody>(std::move(answer));
  }

 private:
  // Whose cache: everyone's (public), else the caller's API key (hashed), else its address.
  std::string partition(const Exchange& ex) const {
    if (c_.isPublic) return "*";
    std::string_view key;
    for (std::string_view name : {"Authorization", "x-api-key", "api-key", "x-goog-api-key"})
      if (key = ex.request.headers.get(name); !key.empty()) break;
    if (!key.empty()) return "k" + std::to_string(std::hash<std::string_view>{}(key));
    return "a" + ex.connection.peerIpText;
  }

  static void mark(Exchange& ex, std::string_view result) {
    if (ex.record.ai) ex.record.ai->cacheResult = result;
    if (ex.response.status > 0) ex.response.headers.set("X-Semantic-Cache", result);
  }

  // Answers from a kept answer; false (nothing sent) when it is not a plain answer in the
  // client's format (an entry another instance shared through Redis is not trusted blindly).
  bool serve(Exchange& ex, const std::string& answer, Wire wire, bool stream) const {
    boost::system::error_code ec;
    json::value a = json::parse(answer, ec);
    if (ec || !a.is_object() || !plainAnswer(a.get_object(), wire)) return false;
    auto* record = ex.arena.make<exchange::AiRecord>();
    record->cacheResult = "hit";
    record->clientFormat = wireName(wire);
    record->stream = stream;
    record->finished = true;
    record->responseModel = ex.arena.copy(stringField(a.get_object(), "model"));
    record->requestModel = record->responseModel;
    ex.record.ai = record;
    exchange::Response& r = ex.response;
    r.status = 200;
    r.reason = {};
    r.headers.clear();
    r.tunnel = nullptr;
    if (stream) {
      r.headers.add("Content-Type", "text/event-stream; charset=utf-8");
      r.headers.add("Cache-Control", "no-cache");
      r.body = ex.arena.make<exchange::OwnedBody>(asStream(a.get_object(), wire));
    } else {
      r.headers.add("Content-Type", kJsonType);
      r.body = ex.arena.make<exchange::MemoryBody>(ex.arena.copy(answer));
    }
    r.headers.add("X-Semantic-Cache", "hit");
    return true;
  }

  // The question's embedding from the embeddings service, or nullopt when it failed.
  awaitable<std::optional<std::vector<float>>> embed(Exchange& ex, const std::string& text) const {
    Exchange sub(ex.worker, ex.arena, ex.connection);
    sub.snapshot = ex.snapshot;
    exchange::Request& r = sub.request;
    r.method = "POST";
    r.path = r.rawPath = r.routingPath = c_.ollama ? "/api/embed" : "/v1/embeddings";
    r.authority = ex.request.authority;
    r.scheme = "http";
    r.headers.add("Content-Type", kJsonType);
    if (!c_.authorization.empty()) r.headers.add("Authorization", c_.authorization);
    std::string body = json::serialize(json::object{{"model", c_.model}, {"input", text}});
    r.body = ex.arena.make<exchange::MemoryBody>(ex.arena.copy(body));
    co_await c_.service->handler()->handle(sub);
    std::string reply;
    if (sub.response.status != 200 || !sub.response.body ||
        co_await exchange::readBody(*sub.response.body, reply, 8 << 20) != exchange::ReadResult::Complete) {
      log::warn("semantic-cache: the embeddings service did not answer", {{"status", std::to_string(sub.response.status)}});
      co_return std::nullopt;
    }
    boost::system::error_code ec;
    json::value v = json::parse(reply, ec);
    const json::value* embedding = nullptr;
    if (!ec && v.is_object()) {
      const json::object& o = v.get_object();
      if (const json::value* data = o.if_contains("data"); data && data->is_array() && !data->get_array().empty() &&
                                                           data->get_array()[0].is_object())
        embedding = data->get_array()[0].get_object().if_contains("embedding");
      if (const json::value* list = o.if_contains("embeddings"); list && list->is_array() && !list->get_array().empty())
        embedding = &list->get_array()[0];
    }
    if (!embedding || !embedding->is_array() || embedding->get_array().empty()) co_return std::nullopt;
    std::vector<float> out;
    out.reserve(embedding->get_array().size());
    for (const json::value& x : embedding->get_array()) {
      double d = x.is_double() ? x.get_double() : x.is_int64() ? double(x.get_int64()) : x.is_uint64() ? double(x.get_uint64()) : NAN;
      if (!std::isfinite(d) || std::fabs(d) > 1e30) co_return std::nullopt;
      out.push_back(float(d));
    }
    co_return out;
  }

  Compiled c_;
  HandlerPtr next_;
};

// The stores outlive reloads (a changed unrelated file must not empty the cache): one per
// middleware name and store settings, kept while a handler holds it.
std::shared_ptr<CacheState> sharedState(const std::string& middleware, size_t maxEntries, size_t maxBytes,
                                        std::chrono::nanoseconds ttl) {
  static std::mutex mutex;
  static std::map<std::string, std::weak_ptr<CacheState>> registry;
  std::string key = middleware + "|" + std::to_string(maxEntries) + "|" + std::to_string(maxBytes) + "|" +
                    std::to_string(ttl.count());
  std::lock_guard lock(mutex);
  for (auto it = registry.begin(); it != registry.end();) it = it->second.expired() ? registry.erase(it) : std::next(it);
  if (auto existing = registry[key].lock()) return existing;
  auto made = std::make_shared<CacheState>(maxEntries, maxBytes, ttl);
  registry[key] = made;
  return made;
}

MiddlewareFactoryPtr create(const config::Node& node, MiddlewareBuildContext& context) {
  std::optional<Options> o = exchange::decodeOptions<Options>(node, context);
  if (!o) return nullptr;
  if (o->embeddings.service.empty()) {
    context.error("embeddings.service: required (the service that reaches the embeddings endpoint)");
    return nullptr;
  }
  if (o->maxDistance < 0 || o->maxDistance > 2) {
    context.error("maxDistance: expected a cosine distance between 0 and 2");
    return nullptr;
  }
  if (o->maxEntries <= 0 || o->maxBytes <= 0 || o->messageHistory <= 0 || o->ttl.value.count() <= 0) {
    context.error("maxEntries, maxBytes, messageHistory and ttl must be > 0");
    return nullptr;
  }
  Compiled c;
  c.service = context.service(o->embeddings.service);
  c.ollama = o->embeddings.provider == "ollama";
  c.model = o->embeddings.model;
  if (!o->embeddings.token.empty()) {
    std::string error;
    std::optional<std::string> key = resolveSecret(o->embeddings.token, error);
    if (!key) {
      context.error("embeddings.token: " + error);
      return nullptr;
    }
    c.authorization = "Bearer " + *key;
  }
  c.maxDistance = o->maxDistance;
  c.readOnly = o->readOnly;
  c.isPublic = o->isPublic;
  c.ignoreSystem = o->ignoreSystem;
  c.ignoreAssistant = o->ignoreAssistant;
  c.messageHistory = size_t(o->messageHistory);
  c.state = sharedState(context.name(), size_t(o->maxEntries), size_t(o->maxBytes), o->ttl.value);
  if (o->redis) {
    std::string error;
    auto settings = clients::redis::settingsFrom(*o->redis, context.workers(), error);
    if (!settings) {
      context.error(error);
      return nullptr;
    }
    auto sharing = std::make_shared<Sharing>();
    sharing->redis = std::move(*settings);
    sharing->streamKey = "sc:" + context.name();
    c.sharing = std::move(sharing);
  }
  return exchange::factoryOf<SemanticCache>(std::move(c));
}

const exchange::MiddlewareRegistration kSemanticCache("semantic-cache", create, "SemanticCache");

}  // namespace
}  // namespace causeway::gateway::ai
