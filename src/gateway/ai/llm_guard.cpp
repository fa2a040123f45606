// llm-guard and parallel-llm-guard: ask an external guard (a moderation endpoint, Llama Guard
// behind an OpenAI-compatible server, any HTTP service answering JSON) whether a request or an
// answer may pass.
//   llm-guard           one guard: endpoint, token, template, blockWhen, content, timeout
//   parallel-llm-guard  guards: [ … ]: all asked at once; the first that blocks decides and the
//                       others are cancelled, so the wait is the slowest guard's, not the sum
// For each guard: `template` is the JSON body sent (default {"input": "{{text}}"}, the OpenAI
// moderation shape), where {{text}} is replaced by the checked text, JSON-escaped; `blockWhen`
// is a condition over the guard's JSON reply (json_condition.h; default
// "results.0.flagged == true"); `content` picks the request's text: last (the latest turn:
// every message since the model last spoke, user words and tool results; the default) or all
// (every message and the system prompt); `timeout` (default 5s). Tool results and tool-call
// arguments are read as text too; a body with no readable text, or an answer the provider
// compressed, counts as the guard failing (onError).
// `request` (default true) and `response` (default false) choose what is checked; an answer is
// checked whole: a streamed answer is held until it ends (bounded by maxResponseBodySize) and
// then replayed, so a guarded stream loses its incremental delivery. `onError` (block, the
// default, or allow) decides when a guard cannot answer (unreachable, timeout, not 2xx, not
// JSON). A blocked request is a 400 and a blocked answer a 403 in the client's format.
#include <boost/json.hpp>
#include <boost/url.hpp>

#include "core/log.h"
#include "core/strings.h"
#include "exchange/middleware_options.h"
#include "gateway/ai/client_reply.h"
#include "gateway/ai/json_condition.h"
#include "gateway/ai/secret.h"
#include "gateway/ai/sse.h"
#include "gateway/ai/translate.h"
#include "gateway/ai/wire.h"
#include "tls/tls_stream.h"
#include "upstream/forward.h"

namespace causeway::gateway::ai {
namespace {

namespace json = boost::json;
using exchange::Exchange;
using exchange::Handler;
using exchange::HandlerPtr;
using exchange::MiddlewareBuildContext;
using exchange::MiddlewareFactoryPtr;
using exchange::WrapContext;

constexpr int64_t kMaxGuardReply = 1 << 20;

struct GuardOptions {
  std::string name;
  std::string endpoint;
  std::string token;
  std::string bodyTemplate = R"({"input": "{{text}}"})";
  std::string blockWhen = "results.0.flagged == true";
  std::string content = "last";
  config::Duration timeout = std::chrono::seconds(5);

  static void describe(auto& self, auto& v) {
    v("name", self.name);
    v("endpoint", self.endpoint);
    v("token", self.token);
    v("template", self.bodyTemplate);
    v("blockWhen", self.blockWhen);
    v("content", self.content, config::OneOf<2>{{"last", "all"}});
    v("timeout", self.timeout);
  }
};

struct Common {
  bool request = true;
  bool response = false;
  std::string onError = "block";
  int64_t maxRequestBodySize = 1 << 20;
  int64_t maxResponseBodySize = 8 << 20;
};

struct SingleOptions : GuardOptions, Common {
  static void describe(auto& self, auto& v) {
    GuardOptions::describe(self, v);
    v("request", self.request);
    v("response", self.response);
    v("onError", self.onError, config::OneOf<2>{{"block", "allow"}});
    v("maxRequestBodySize", self.maxRequestBodySize);
    v("maxResponseBodySize", self.maxResponseBodySize);
  }
};

struct ParallelOptions : Common {
  std::vector<GuardOptions> guards;
  static void describe(auto& self, auto& v) {
    v("guards", self.guards);
    v("request", self.request);
    v("response", self.response);
    v("onError", self.onError, config::OneOf<2>{{"block", "allow"}});
    v("maxRequestBodySize", self.maxRequestBodySize);
    v("maxResponseBodySize", self.maxResponseBodySize);
  }
};

struct Guard {
  std::string name;
  upstream::UpstreamEndpoint endpoint;
  std::string path;  // with the query, if any
  std::string authorization;
  std::string bodyTemplate;
  JsonCondition blockWhen;
  bool allContent = false;
  std::chrono::nanoseconds timeout;
};

struct Compiled {
  std::vector<std::shared_ptr<const Guard>> guards;
  bool request = true;
  bool response = false;
  bool allowOnError = false;
  int64_t maxRequestBodySize = 0;
  int64_t maxResponseBodySize = 0;
};

enum class Verdict { Allow, Block, Error };

std::string jsonEscaped(std::string_view text) {
  std::string quoted = json::serialize(json::string(text));
  return quoted.substr(1, quoted.size() - 2);
}

// The text of a content value of any format: a string, or parts and blocks with "text", a
// tool's result ("content" of Anthropic's tool_result, "output" of a Responses
// function_call_output), a tool call's arguments.
void appendText(std::string& out, const json::value* content) {
  if (!content) return;
  if (content->is_string()) {
    if (content->get_string().empty()) return;
    if (!out.empty()) out += '\n';
    out += content->get_string();
  } else if (content->is_array()) {
    for (const json::value& part : content->get_array()) {
      if (!part.is_object()) continue;
      const json::object& p = part.get_object();
      appendText(out, p.if_contains("text"));
      std::string_view type = stringField(p, "type");
      if (type == "tool_result" || type == "message") appendText(out, p.if_contains("content"));
      if (type == "function_call_output") appendText(out, p.if_contains("output"));
      if (type == "function_call") appendText(out, p.if_contains("arguments"));
      if (type == "tool_use")
        if (const json::value* input = p.if_contains("input"); input && !input->is_null()) {
          json::value serialized(json::serialize(*input));
          appendText(out, &serialized);
        }
    }
  }
}

// The text of one message or input item (its content, tool results, tool calls' arguments).
void appendMessage(std::string& out, const json::object& m) {
  appendText(out, m.if_contains("content"));
  std::string_view type = stringField(m, "type");
  if (type == "function_call_output") appendText(out, m.if_contains("output"));
  if (type == "function_call") appendText(out, m.if_contains("arguments"));
  if (const json::value* calls = m.if_contains("tool_calls"); calls && calls->is_array())
    for (const json::value& call : calls->get_array())
      if (call.is_object())
        if (const json::value* f = call.get_object().if_contains("function"); f && f->is_object())
          appendText(out, f->get_object().if_contains("arguments"));
}

// What a request asks, in any format: the latest turn (every message after the model last
// spoke: the user's words and the tools' results, where an injected instruction would hide), or
// everything.
std::string requestText(const json::value& body, bool all) {
  std::string text;
  if (!body.is_object()) return text;
  const json::object& o = body.get_object();
  const json::value* messages = o.if_contains("messages");
  if (all) appendText(text, o.if_contains("system"));
  if (all) appendText(text, o.if_contains("instructions"));
  if (!messages) messages = o.if_contains("input");  // the Responses API (or embeddings): a string or items
  if (messages && messages->is_string()) {
    appendText(text, messages);
    return text;
  }
  if (!messages || !messages->is_array()) return text;
  const json::array& list = messages->get_array();
  size_t from = 0;
  if (!all) {
    from = list.size();
    while (from > 0) {
      const json::value& m = list[from - 1];
      if (m.is_object() && (stringField(m.get_object(), "role") == "assistant" ||
                            stringField(m.get_object(), "type") == "function_call"))
        break;
      --from;
    }
  }
  for (size_t i = from; i < list.size(); ++i) {
    if (!list[i].is_object()) continue;
    std::string_view role = stringField(list[i].get_object(), "role");
    if (!all && (role == "system" || role == "developer")) continue;  // the operator's, not the turn's
    appendMessage(text, list[i].get_object());
  }
  return text;
}

// What an answer says: a whole answer of either format, or an event stream of either format.
std::string answerText(std::string_view body, bool stream) {
  std::string text;
  auto add = [&](const json::value& v) {
    if (!v.is_object()) return;
    const json::object& o = v.get_object();
    if (const json::value* choices = o.if_contains("choices"); choices && choices->is_array()) {
      for (const json::value& c : choices->get_array()) {
        if (!c.is_object()) continue;
        if (const json::value* m = c.get_object().if_contains("message"); m && m->is_object())
          appendMessage(text, m->get_object());
        if (const json::value* d = c.get_object().if_contains("delta"); d && d->is_object()) {
          if (const json::value* piece = d->get_object().if_contains("content"); piece && piece->is_string())
            text += piece->get_string();
          if (const json::value* calls = d->get_object().if_contains("tool_calls"); calls && calls->is_array())
            for (const json::value& call : calls->get_array())
              if (call.is_object())
                if (const json::value* f = call.get_object().if_contains("function"); f && f->is_object())
                  if (const json::value* a = f->get_object().if_contains("arguments"); a && a->is_string())
                    text += a->get_string();
        }
      }
    }
    if (const json::value* content = o.if_contains("content"); content && content->is_array()) appendText(text, content);
    // The Responses API: output items of a whole answer, text deltas of a stream.
    if (const json::value* output = o.if_contains("output"); output && output->is_array())
      for (const json::value& item : output->get_array())
        if (item.is_object()) appendMessage(text, item.get_object());
    if (std::string_view type = stringField(o, "type");
        type == "response.output_text.delta" || type == "response.function_call_arguments.delta")
      if (const json::value* piece = o.if_contains("delta"); piece && piece->is_string()) text += piece->get_string();
    if (const json::value* delta = o.if_contains("delta"); delta && delta->is_object())
      for (std::string_view name : {"text", "partial_json"})
        if (const json::value* piece = delta->get_object().if_contains(name); piece && piece->is_string())
          text += piece->get_string();
  };
  boost::system::error_code ec;
  if (!stream) {
    json::value v = json::parse(body, ec);
    if (!ec) add(v);
    return text;
  }
  SseParser parser;
  parser.feed(body, [&](std::string_view, std::string_view data) {
    json::value v = json::parse(data, ec);
    if (!ec) add(v);
    return true;
  });
  return text;
}

// Asks one guard. Owns everything it uses (its own arena and exchange), so that it can be
// cancelled and left to finish on its own.
awaitable<Verdict> ask(std::shared_ptr<const Guard> guard, exchange::WorkerContext& worker,
                       exchange::ConnectionInfo connection, std::string text) {
  Arena arena;
  Exchange sub(worker, arena, connection);
  exchange::Request& r = sub.request;
  std::string body = guard->bodyTemplate;
  std::string escaped = jsonEscaped(text);
  for (size_t at = body.find("{{text}}"); at != std::string::npos; at = body.find("{{text}}", at + escaped.size()))
    body.replace(at, 8, escaped);
  std::string_view path = guard->path;
  size_t q = path.find('?');
  r.method = "POST";
  r.path = r.rawPath = r.routingPath = path.substr(0, q);
  r.hasQuery = q != std::string_view::npos;
  r.query = r.hasQuery ? path.substr(q + 1) : std::string_view();
  r.authority = guard->endpoint.authority();
  r.scheme = "http";
  r.headers.add("Content-Type", kJsonType);
  r.headers.add("Accept", kJsonType);
  if (!guard->authorization.empty()) r.headers.add("Authorization", guard->authorization);
  r.body = arena.make<exchange::MemoryBody>(body);

  std::string reply;
  bool ok = false;
  int status = 0;
  {
    using namespace asio::experimental::awaitable_operators;
    auto call = [&]() -> awaitable<bool> {
      try {
        upstream::ForwardOptions options;
        options.passHostHeader = false;
        options.appendXForwardedFor = false;
        auto forwarded = co_await upstream::forward(sub, guard->endpoint, options);
        if (forwarded.error != upstream::ProxyError::None) co_return false;
        status = sub.response.status;
        if (sub.response.body &&
            co_await exchange::readBody(*sub.response.body, reply, kMaxGuardReply) != exchange::ReadResult::Complete)
          co_return false;
        co_return true;
      } catch (...) {
        co_return false;  // cancelled (the timeout, or another guard blocked first)
      }
    };
    asio::steady_timer timer(worker.io(), guard->timeout);
    auto winner = co_await (call() || timer.async_wait(nothrow));
    ok = winner.index() == 0 && std::get<0>(winner);
  }
  if (!ok || status < 200 || status >= 300) {
    log::warn("llm-guard: the guard did not answer", {{"guard", guard->name}, {"status", std::to_string(status)}});
    co_return Verdict::Error;
  }
  boost::system::error_code ec;
  json::value document = json::parse(reply, ec);
  if (ec) {
    log::warn("llm-guard: the guard's answer is not JSON", {{"guard", guard->name}});
    co_return Verdict::Error;
  }
  co_return guard->blockWhen.evaluate(document) ? Verdict::Block : Verdict::Allow;
}

// The text each guard checks: the last user message, or everything (its `content`).
// Views of strings the caller keeps alive while it awaits askAll (each guard gets its own copy).
struct Texts {
  std::string_view last, all;
  std::string_view of(const Guard& g) const { return g.allContent ? all : last; }
};

// Asks every guard at once. Returns the first Block (the others are cancelled), else an Error
// if any guard failed, else Allow; `by` names the deciding guard.
awaitable<Verdict> askAll(const Compiled& c, Exchange& ex, const Texts& texts, std::string& by) {
  if (c.guards.size() == 1) {
    by = c.guards[0]->name;
    co_return co_await ask(c.guards[0], ex.worker, ex.connection, std::string(texts.of(*c.guards[0])));
  }
  struct Race {
    explicit Race(asio::io_context& io, size_t n) : wake(io), signals(n) {}
    asio::steady_timer wake;
    std::vector<asio::cancellation_signal> signals;
    size_t pending = 0;
    int blockedBy = -1;
    int failedBy = -1;
  };
  auto race = std::make_shared<Race>(ex.worker.io(), c.guards.size());
  race->wake.expires_at(asio::steady_timer::time_point::max());
  race->pending = c.guards.size();
  for (size_t i = 0; i < c.guards.size(); ++i) {
    asio::co_spawn(
        ex.worker.io(),
        [](std::shared_ptr<Race> race, size_t i, std::shared_ptr<const Guard> guard, exchange::WorkerContext& worker,
           exchange::ConnectionInfo connection, std::string text) -> awaitable<void> {
          Verdict v = co_await ask(std::move(guard), worker, std::move(connection), std::move(text));
          if (v == Verdict::Block && race->blockedBy < 0) {
            race->blockedBy = int(i);
            for (size_t j = 0; j < race->signals.size(); ++j)
              if (j != i) race->signals[j].emit(asio::cancellation_type::terminal);
            race->wake.cancel();
          }
          if (v == Verdict::Error && race->failedBy < 0) race->failedBy = int(i);
          if (--race->pending == 0) race->wake.cancel();
        }(race, i, c.guards[i], ex.worker, ex.connection, std::string(texts.of(*c.guards[i]))),
        asio::bind_cancellation_slot(race->signals[i].slot(), asio::detached));
  }
  co_await race->wake.async_wait(nothrow);
  if (race->blockedBy >= 0) {
    by = c.guards[size_t(race->blockedBy)]->name;
    co_return Verdict::Block;
  }
  if (race->failedBy >= 0) {
    by = c.guards[size_t(race->failedBy)]->name;
    co_return Verdict::Error;
  }
  co_return Verdict::Allow;
}

class LlmGuard final : public Handler {
 public:
  LlmGuard(const Compiled& c, HandlerPtr next, const WrapContext&) : c_(c), next_(std::move(next)) {}

  awaitable<void> handle(Exchange& ex) const override {
    Wire wire = clientWireOf(ex);
    if (c_.request && ex.request.body) {
      auto* body = ex.arena.make<std::string>();
      exchange::ReadResult read = co_await exchange::readBody(*ex.request.body, *body, c_.maxRequestBodySize);
      if (read != exchange::ReadResult::Complete)
        co_return jsonReply(ex, read == exchange::ReadResult::TooLarge ? 413 : 400,
                        errorBody(wire, read == exchange::ReadResult::TooLarge ? 413 : 400,
                                  "the request body could not be checked"));
      ex.request.body = ex.arena.make<exchange::MemoryBody>(*body);
      ex.request.headers.remove("Transfer-Encoding");
      boost::system::error_code ec;
      json::value parsed = json::parse(*body, ec);
      // A body that is not JSON is checked whole.
      const std::string last = ec ? std::string() : requestText(parsed, false);
      const std::string all = ec ? std::string() : requestText(parsed, true);
      const Texts texts = ec ? Texts{*body, *body} : Texts{last, all};
      if (!body->empty()) {
        // A body with nothing the guard can read (no text in any field it knows) is not
        // passed unchecked: it is the guard failing, and onError decides.
        std::string by = "(no text to check)";
        Verdict v = Verdict::Error;
        if (!texts.last.empty() || !texts.all.empty()) v = co_await askAll(c_, ex, texts, by);
        if (v == Verdict::Block || (v == Verdict::Error && !c_.allowOnError)) {
          ex.record.errorDetail = v == Verdict::Block ? "llm-guard blocked the request" : "llm-guard unavailable";
          noteRefusal(ex, "llm-guard");
          std::string message = v == Verdict::Block ? "the request was blocked by llm-guard " + by
                                                    : "the request could not be checked by llm-guard " + by;
          co_return jsonReply(ex, v == Verdict::Block ? 400 : 503, errorBody(wire, v == Verdict::Block ? 400 : 503, message));
        }
      }
    }
    // The answer is read as text: the provider is asked for it unencoded.
    if (c_.response) ex.request.headers.remove("Accept-Encoding");
    co_await next_->handle(ex);
    exchange::Response& r = ex.response;
    if (!c_.response || !r.body || r.tunnel || r.status < 200 || r.status >= 300) co_return;
    bool stream = r.headers.get("Content-Type").starts_with(kEventStreamType);
    std::string body;
    if (co_await exchange::readBody(*r.body, body, c_.maxResponseBodySize) != exchange::ReadResult::Complete) {
      ex.record.errorDetail = "llm-guard: answer broke off or over maxResponseBodySize";
      co_return jsonReply(ex, 502, errorBody(wire, 502, "the answer could not be checked"));
    }
    // An encoded answer (sent although not asked for) cannot be read: never passed unchecked.
    bool encoded = !r.headers.get("Content-Encoding").empty() && !iequals(r.headers.get("Content-Encoding"), "identity");
    std::string text = encoded ? std::string() : answerText(body, stream);
    if (!body.empty()) {
      std::string by = encoded ? "(the answer is compressed)" : "(no text to check)";
      Verdict v = Verdict::Error;
      // (Named: GCC 12 destroys a temporary inside a co_await expression twice.)
      const Texts answerTexts{text, text};
      if (!text.empty()) v = co_await askAll(c_, ex, answerTexts, by);
      if (v == Verdict::Block || (v == Verdict::Error && !c_.allowOnError)) {
        ex.record.errorDetail = v == Verdict::Block ? "llm-guard blocked the answer" : "llm-guard unavailable";
        noteRefusal(ex, "llm-guard");
        std::string message = v == Verdict::Block ? "the answer was blocked by llm-guard " + by
                                                  : "the answer could not be checked by llm-guard " + by;
        co_return jsonReply(ex, v == Verdict::Block ? 403 : 503, errorBody(wire, v == Verdict::Block ? 403 : 503, message));
      }
    }
    r.headers.remove("Content-Length");
    r.body = ex.arena.make<exchange::OwnedBody>(std::move(body));
  }

 private:
  Compiled c_;
  HandlerPtr next_;
};

// The guard's own client: HTTP/1.1 only (a call can then be cancelled at any point safely),
// system trust roots, a 30 s dial timeout.
std::shared_ptr<const upstream::Transport> guardTransport(const std::string& name, std::string& error) {
  auto t = std::make_shared<upstream::Transport>();
  t->name = name + "#llm-guard";
  t->maxIdleConnsPerHost = 4;
  t->tls.context = tls::makeClientContext(config::ClientTls{}, error);
  if (!t->tls.context) return nullptr;
  t->tls.verify = true;
  static constexpr unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  t->tls.alpn.assign(std::begin(kHttp11), std::end(kHttp11));
  t->disableHTTP2 = true;
  return t;
}

std::shared_ptr<const Guard> compileGuard(const GuardOptions& o, size_t index, MiddlewareBuildContext& context,
                                          const std::shared_ptr<const upstream::Transport>& transport) {
  std::string where = index == SIZE_MAX ? std::string() : "guards[" + std::to_string(index) + "].";
  if (o.endpoint.empty()) {
    context.error(where + "endpoint: required (the guard's URL)");
    return nullptr;
  }
  auto g = std::make_shared<Guard>();
  std::string error;
  if (!upstream::makeEndpoint(o.endpoint, transport, g->endpoint, error)) {
    context.error(where + "endpoint: " + error);
    return nullptr;
  }
  auto url = boost::urls::parse_uri(o.endpoint);
  if (url) {
    g->path = url->encoded_path().empty() ? "/" : std::string(url->encoded_path());
    if (url->has_query()) g->path += "?" + std::string(url->encoded_query());
  }
  // Unnamed, a guard is shown (logs, access log, API) by scheme, host and path only: the URL's
  // query or user part may hold a key.
  g->name = o.name;
  if (g->name.empty() && url)
    g->name = std::string(url->scheme()) + "://" + std::string(url->encoded_host_and_port()) +
              std::string(url->encoded_path());
  if (g->name.empty()) g->name = index == SIZE_MAX ? "guard" : "guards[" + std::to_string(index) + "]";
  if (!o.token.empty()) {
    std::optional<std::string> key = resolveSecret(o.token, error);
    if (!key) {
      context.error(where + "token: " + error);
      return nullptr;
    }
    g->authorization = "Bearer " + *key;
  }
  std::optional<JsonCondition> condition = JsonCondition::parse(o.blockWhen, error);
  if (!condition) {
    context.error(where + "blockWhen: " + error);
    return nullptr;
  }
  if (o.bodyTemplate.find("{{text}}") == std::string::npos) {
    context.error(where + "template: must contain {{text}} where the checked text goes");
    return nullptr;
  }
  if (o.timeout.value.count() <= 0) {
    context.error(where + "timeout: must be > 0");
    return nullptr;
  }
  g->blockWhen = std::move(*condition);
  g->bodyTemplate = o.bodyTemplate;
  g->allContent = o.content == "all";
  g->timeout = o.timeout.value;
  return g;
}

bool compileCommon(const Common& o, Compiled& c, MiddlewareBuildContext& context) {
  if (o.maxRequestBodySize <= 0 || o.maxResponseBodySize <= 0) {
    context.error("maxRequestBodySize and maxResponseBodySize must be > 0");
    return false;
  }
  c.request = o.request;
  c.response = o.response;
  c.allowOnError = o.onError == "allow";
  c.maxRequestBodySize = o.maxRequestBodySize;
  c.maxResponseBodySize = o.maxResponseBodySize;
  return true;
}

MiddlewareFactoryPtr createSingle(const config::Node& node, MiddlewareBuildContext& context) {
  std::optional<SingleOptions> o = exchange::decodeOptions<SingleOptions>(node, context);
  if (!o) return nullptr;
  std::string error;
  auto transport = guardTransport(context.name(), error);
  if (!transport) {
    context.error("creating the guard's TLS client: " + error);
    return nullptr;
  }
  Compiled c;
  auto guard = compileGuard(*o, SIZE_MAX, context, transport);
  if (!guard || !compileCommon(*o, c, context)) return nullptr;
  c.guards.push_back(std::move(guard));
  return exchange::factoryOf<LlmGuard>(std::move(c));
}

MiddlewareFactoryPtr createParallel(const config::Node& node, MiddlewareBuildContext& context) {
  std::optional<ParallelOptions> o = exchange::decodeOptions<ParallelOptions>(node, context);
  if (!o) return nullptr;
  if (o->guards.empty()) {
    context.error("guards: expected at least one guard");
    return nullptr;
  }
  std::string error;
  auto transport = guardTransport(context.name(), error);
  if (!transport) {
    context.error("creating the guard's TLS client: " + error);
    return nullptr;
  }
  Compiled c;
  for (size_t i = 0; i < o->guards.size(); ++i) {
    auto guard = compileGuard(o->guards[i], i, context, transport);
    if (!guard) return nullptr;
    c.guards.push_back(std::move(guard));
  }
  if (!compileCommon(*o, c, context)) return nullptr;
  return exchange::factoryOf<LlmGuard>(std::move(c));
}

const exchange::MiddlewareRegistration kLlmGuard("llm-guard", createSingle, "LLMGuard");
const exchange::MiddlewareRegistration kParallelLlmGuard("parallel-llm-guard", createParallel, "ParallelLLMGuard");

}  // namespace
}  // namespace causeway::gateway::ai
