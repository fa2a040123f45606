#include "gateway/mcp/federation.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include "core/bytes.h"
#include "core/log.h"
#include "core/strings.h"
#include "core/version.h"
#include "gateway/mcp/jsonrpc.h"
#include "gateway/mcp/merged_stream.h"
#include "gateway/mcp/sse_events.h"

namespace causeway::gateway::mcp {
namespace {

namespace json = boost::json;

constexpr std::string_view kSessionHeader = "Mcp-Session-Id";
constexpr std::string_view kVersionHeader = "MCP-Protocol-Version";
constexpr std::string_view kCursorPrefix = "cwf.";

// The JSON-RPC messages of an answer: the one JSON body, or the data of each event of a stream.
std::vector<json::value> messagesOf(std::string_view contentType, std::string_view body) {
  std::vector<json::value> out;
  boost::system::error_code ec;
  if (!istartsWith(contentType, "text/event-stream")) {
    json::value v = json::parse(body, ec, {}, jsonOptions());
    if (!ec) out.push_back(std::move(v));
    return out;
  }
  for (size_t start = 0; start < body.size();) {
    size_t end = eventEnd(body, start);
    if (end == std::string_view::npos) end = body.size();  // a last event without its empty line
    SseEvent e = parseEvent(body.substr(start, end - start));
    json::value v = e.hasData ? json::parse(e.data, ec, {}, jsonOptions()) : json::value();
    if (e.hasData && !ec) out.push_back(std::move(v));
    start = end;
  }
  return out;
}

// Makes `sub` a request of the gateway's own to one federated server on behalf of the client's
// `ex`: the same path, query, host and credentials, that server's session and address. The views
// must outlive `sub`.
void addressTo(exchange::Exchange& sub, const exchange::Exchange& ex, std::string_view method,
               std::string_view accept, std::string_view session, std::string_view url) {
  exchange::Request& r = sub.request;
  r.method = method;
  r.path = r.rawPath = r.routingPath = ex.request.path;
  r.query = ex.request.query;
  r.hasQuery = ex.request.hasQuery;
  r.authority = ex.request.authority;
  r.host = ex.request.host;
  r.scheme = ex.request.scheme;
  r.headers.add("Accept", accept);
  if (!session.empty()) r.headers.add(kSessionHeader, session);
  if (std::string_view v = ex.request.headers.get(kVersionHeader); !v.empty())
    r.headers.add(kVersionHeader, v);
  if (std::string_view a = ex.request.headers.get("Authorization"); !a.empty())
    r.headers.add("Authorization", a);
  sub.affinity.url = url;
}

json::value request(const json::value* id, std::string_view method, const json::value* params) {
  json::object o;
  o["jsonrpc"] = "2.0";
  if (id) o["id"] = *id;
  o["method"] = method;
  if (params) o["params"] = *params;
  return o;
}

struct ListKind {
  std::string_view method;
  std::string_view entries;
  bool renamed;  // entries named by "name" get the server's prefix
};
constexpr ListKind kLists[] = {
    {"tools/list", "tools", true},
    {"prompts/list", "prompts", true},
    {"resources/list", "resources", false},
    {"resources/templates/list", "resourceTemplates", false},
};

}  // namespace

struct Federation::Answer {
  bool reached = false;  // a server answered at HTTP level
  int status = 0;
  std::string session;                 // Mcp-Session-Id it gave
  std::string url;                     // the server that answered
  std::optional<json::value> message;  // the JSON-RPC response to the request (id matched)
};

std::string Federation::seal(const Session& session) const {
  json::array members;
  for (const Member& m : session.members)
    members.push_back(json::array{servers_[m.server].name, m.url, m.session});
  return sealer_->sealText(
      json::serialize(json::object{{"f", 1}, {"v", session.version}, {"m", std::move(members)}}));
}

std::optional<Federation::Session> Federation::open(std::string_view token) const {
  std::optional<std::string> text = sealer_->openText(token);
  if (!text) return std::nullopt;
  boost::system::error_code ec;
  json::value v = json::parse(*text, ec);
  const json::object* o = ec ? nullptr : v.if_object();
  if (!o || !o->contains("f"))
    return std::nullopt;  // a single server's session, not a federation's
  Session s;
  if (const json::value* version = o->if_contains("v"); version && version->is_string())
    s.version = std::string(version->get_string());
  if (const json::value* members = o->if_contains("m"); members && members->is_array()) {
    for (const json::value& m : members->get_array()) {
      const json::array* a = m.if_array();
      if (!a || a->size() != 3 || !(*a)[0].is_string() || !(*a)[1].is_string() ||
          !(*a)[2].is_string())
        continue;
      for (size_t i = 0; i < servers_.size(); ++i)
        if (servers_[i].name == (*a)[0].get_string())  // servers removed since are left out
          s.members.push_back(
              {i, std::string((*a)[1].get_string()), std::string((*a)[2].get_string())});
    }
  }
  return s;
}

awaitable<Federation::Answer> Federation::ask(exchange::Exchange& ex, const Member& member,
                                              std::string_view method, const std::string& body,
                                              const json::value* id) const {
  Arena arena;
  exchange::Exchange sub(ex.worker, arena, ex.connection);
  addressTo(sub, ex, method, "application/json, text/event-stream", member.session, member.url);
  if (!body.empty()) {
    sub.request.headers.add("Content-Type", "application/json");
    sub.request.body = arena.make<exchange::MemoryBody>(body);
  }
  sub.limits.deadline = ex.limits.deadline;
  Answer answer;
  co_await servers_[member.server].service->handler()->handle(sub);
  if (!sub.affinity.missed && !sub.record.serviceUrl.empty()) {
    answer.reached = true;
    answer.status = sub.response.status;
    answer.session = std::string(sub.response.headers.get(kSessionHeader));
    answer.url = std::string(sub.record.serviceUrl);
    std::string text;
    exchange::ReadResult read = exchange::ReadResult::Failed;
    if (sub.response.body)
      read = co_await exchange::readBody(*sub.response.body, text, maxAnswerBytes_);
    if (read == exchange::ReadResult::Complete && id) {
      for (json::value& m : messagesOf(sub.response.headers.get("Content-Type"), text)) {
        const json::object* o = m.if_object();
        const json::value* answerId = o ? o->if_contains("id") : nullptr;
        if (answerId && *answerId == *id && (o->contains("result") || o->contains("error"))) {
          answer.message = std::move(m);
          break;
        }
      }
    }
  }
  co_await sub.background.join();
  co_return answer;
}

struct Federation::Fanout {
  Fanout(asio::io_context& io, size_t n) : answers(n), left(n), done(io) {}
  std::vector<Answer> answers;
  size_t left;
  asio::steady_timer done;  // cancelled when the last answer is in
};

awaitable<void> Federation::askInto(exchange::Exchange& ex, Member member, std::string_view method,
                                    std::string body, const json::value* id,
                                    std::shared_ptr<Fanout> fanout, size_t slot) const {
  try {
    fanout->answers[slot] = co_await ask(ex, member, method, body, id);
  } catch (const std::exception& e) {  // an answer missing, never a fan-out waiting forever
    log::warn("MCP federation: a server's request failed",
              {{"server", servers_[member.server].name}, {"error", e.what()}});
  }
  if (--fanout->left == 0) fanout->done.cancel();
}

awaitable<std::vector<Federation::Answer>> Federation::askAll(
    exchange::Exchange& ex, const std::vector<Member>& members, std::string_view method,
    const std::vector<std::string>& bodies, const json::value* id) const {
  auto fanout = std::make_shared<Fanout>(ex.worker.io(), members.size());
  fanout->done.expires_at(asio::steady_timer::time_point::max());
  for (size_t i = 0; i < members.size(); ++i)
    asio::co_spawn(ex.worker.io(), askInto(ex, members[i], method, bodies[i], id, fanout, i),
                   asio::detached);
  while (fanout->left > 0) co_await fanout->done.async_wait(nothrow);
  co_return std::move(fanout->answers);
}

awaitable<int> Federation::everyone(exchange::Exchange& ex, const Session& session,
                                    std::string_view method, const std::string& body,
                                    const json::value* id) const {
  std::vector<std::string> bodies(session.members.size(), body);
  std::vector<Answer> answers = co_await askAll(ex, session.members, method, bodies, id);
  int reached = 0;
  for (const Answer& a : answers)
    if (a.reached && a.status < 300) ++reached;
  co_return reached;
}

awaitable<void> Federation::initialize(exchange::Exchange& ex, exchange::McpRecord& rec,
                                       const json::value& message) const {
  const json::value& id = message.at("id");
  Session session;
  json::object capabilities;
  std::string instructions;
  std::vector<Member> fresh;
  for (size_t i = 0; i < servers_.size(); ++i)
    fresh.push_back({i, {}, {}});
  std::vector<std::string> bodies(fresh.size(), json::serialize(message));
  std::vector<Answer> answers = co_await askAll(ex, fresh, "POST", bodies, &id);
  for (size_t i = 0; i < servers_.size(); ++i) {
    Answer& a = answers[i];
    const json::object* result = nullptr;
    if (a.message)
      if (const json::value* r = a.message->as_object().if_contains("result"))
        result = r->if_object();
    if (!result || a.session.empty()) {
      log::warn("MCP federation: a server did not initialize; the session goes without it",
                {{"server", servers_[i].name}, {"status", a.status}});
      continue;
    }
    session.members.push_back({i, a.url, a.session});
    if (session.version.empty())
      if (const json::value* v = result->if_contains("protocolVersion"); v && v->is_string())
        session.version = std::string(v->get_string());
    if (const json::value* caps = result->if_contains("capabilities"); caps && caps->is_object())
      for (const auto& [key, value] : caps->get_object())
        if (key == "tools" || key == "prompts" || key == "resources" || key == "logging" ||
            key == "completions") {
          // The servers' notifications reach clients through the merged GET stream.
          json::object& mine = capabilities[key].is_object()
                                   ? capabilities[key].get_object()
                                   : (capabilities[key] = json::object()).get_object();
          if (const json::object* theirs = value.if_object())
            for (std::string_view flag : {"listChanged", "subscribe"})
              if (const json::value* f = theirs->if_contains(flag);
                  f && f->is_bool() && f->get_bool())
                mine[flag] = true;
        }
    if (const json::value* text = result->if_contains("instructions"); text && text->is_string()) {
      if (!instructions.empty()) instructions += "\n\n";
      instructions += "[" + servers_[i].name + "] " + std::string(text->get_string());
    }
  }
  if (session.members.empty()) {
    replyError(ex, rec, 502, &id, kInternalError, "no federated MCP server answered initialize");
    co_return;
  }
  json::object result{
      {"protocolVersion", session.version},
      {"capabilities", std::move(capabilities)},
      {"serverInfo", json::object{{"name", "causeway-federation"}, {"version", kVersion}}}};
  if (!instructions.empty()) result["instructions"] = instructions;
  replyResult(ex, id, std::move(result));
  ex.response.headers.add(kSessionHeader, ex.arena.copy(seal(session)));
}

awaitable<void> Federation::list(exchange::Exchange& ex, exchange::McpRecord& rec,
                                 const Session& session, const json::value& message,
                                 const PolicySet& policies) const {
  const json::value& id = message.at("id");
  const json::object* params = message.as_object().if_contains("params")
                                   ? message.as_object().at("params").if_object()
                                   : nullptr;
  const ListKind* kind = nullptr;
  for (const ListKind& k : kLists)
    if (k.method == rec.method) kind = &k;
  // The cursor: every server's own cursor, by server name; no cursor is the first page of all.
  std::optional<json::object> cursors;
  if (const json::value* c = params ? params->if_contains("cursor") : nullptr;
      c && c->is_string()) {
    std::string_view text = c->get_string();
    std::string raw;
    bool decoded =
        text.starts_with(kCursorPrefix) && base64UrlDecode(text.substr(kCursorPrefix.size()), raw);
    boost::system::error_code ec;
    json::value v = decoded ? json::parse(raw, ec) : json::value();
    if (!decoded || ec || !v.is_object()) {
      replyError(ex, rec, 200, &id, kInvalidParams, "Invalid cursor");
      co_return;
    }
    cursors = std::move(v.get_object());
  }
  // Every server whose list has not ended, asked at once.
  std::vector<Member> asked;
  std::vector<std::string> bodies;
  for (const Member& m : session.members) {
    json::object p;
    if (cursors) {
      const json::value* own = cursors->if_contains(servers_[m.server].name);
      if (!own || !own->is_string()) continue;  // this server's list has ended
      p["cursor"] = *own;
    }
    const json::value pageParams(std::move(p));
    asked.push_back(m);
    bodies.push_back(json::serialize(request(&id, rec.method, &pageParams)));
  }
  std::vector<Answer> answers = co_await askAll(ex, asked, "POST", bodies, &id);
  json::array merged;
  json::object next;
  for (size_t i = 0; i < asked.size(); ++i) {
    const std::string& name = servers_[asked[i].server].name;
    Answer& a = answers[i];
    const json::object* result = nullptr;
    if (a.message)
      if (const json::value* r = a.message->as_object().if_contains("result"))
        result = r->if_object();
    if (!result) {
      log::warn("MCP federation: a server's list is left out",
                {{"server", name}, {"method", rec.method}, {"status", a.status}});
      continue;
    }
    if (const json::value* entries = result->if_contains(kind->entries);
        entries && entries->is_array())
      for (const json::value& e : entries->get_array()) {
        json::value entry = e;
        if (kind->renamed)
          if (json::object* o = entry.if_object())
            if (json::value* n = o->if_contains("name"); n && n->is_string())
              *n = name + separator_ + std::string(n->get_string());
        merged.push_back(std::move(entry));
      }
    if (const json::value* c = result->if_contains("nextCursor"); c && c->is_string())
      next[name] = *c;
  }
  json::object result{{kind->entries, std::move(merged)}};
  if (!next.empty())
    result["nextCursor"] = std::string(kCursorPrefix) + base64UrlEncode(json::serialize(next));
  if (!policies.empty()) rec.hidden += policies.filter(rec.method, result, ex.claims);
  replyResult(ex, id, std::move(result));
}

awaitable<void> Federation::call(exchange::Exchange& ex, exchange::McpRecord& rec,
                                 const Session& session, const json::value& message) const {
  const json::value* id = message.as_object().if_contains("id");
  std::string_view federated = rec.name;
  const Member* owner = nullptr;
  std::string_view local;
  for (const Member& m : session.members) {  // the longest server name that prefixes it
    const std::string& name = servers_[m.server].name;
    if (federated.size() > name.size() + separator_.size() && federated.starts_with(name) &&
        federated.substr(name.size(), separator_.size()) == separator_ &&
        (!owner || name.size() > servers_[owner->server].name.size())) {
      owner = &m;
      local = federated.substr(name.size() + separator_.size());
    }
  }
  if (!owner) {
    replyError(ex, rec, 200, id, kInvalidParams,
               "Unknown " + std::string(rec.method == "prompts/get" ? "prompt" : "tool") + ": " +
                   std::string(federated));
    co_return;
  }
  // The request goes on as it is, with the server's own name, session and address.
  json::value renamed = message;
  renamed.as_object()["params"].as_object()["name"] = local;
  std::string_view body = ex.arena.copy(json::serialize(renamed));
  ex.request.body = ex.arena.make<exchange::MemoryBody>(body);
  ex.request.headers.remove("Content-Length");
  ex.request.headers.removeWithTwins("Mcp-Name");  // it named the federated tool, not the server's
  std::string_view token =
      ex.request.headers.get(kSessionHeader);  // the federation's, in the arena
  ex.request.headers.set(kSessionHeader, ex.arena.copy(owner->session));
  ex.affinity.url = ex.arena.copy(owner->url);
  co_await servers_[owner->server].service->handler()->handle(ex);
  if (ex.affinity.missed) {
    replyError(ex, rec, 404, nullptr, kSessionNotFound, "Session not found (a server is gone)");
    co_return;
  }
  // The client keeps the federation's session id, never one server's.
  if (ex.response.headers.has(kSessionHeader)) ex.response.headers.set(kSessionHeader, token);
}

awaitable<void> Federation::firstThatHas(exchange::Exchange& ex, exchange::McpRecord& rec,
                                         const Session& session, const json::value& message) const {
  const json::value& id = message.at("id");
  std::string body = json::serialize(message);
  std::optional<json::value> lastError;
  for (const Member& m : session.members) {
    Answer a = co_await ask(ex, m, "POST", body, &id);
    if (!a.message) continue;
    if (const json::value* result = a.message->as_object().if_contains("result")) {
      replyResult(ex, id, *result);
      co_return;
    }
    lastError = a.message;
  }
  if (lastError) {
    ex.response.status = 200;
    ex.response.headers.clear();
    ex.response.headers.add("Content-Type", "application/json");
    ex.response.body = ex.arena.make<exchange::OwnedBody>(json::serialize(*lastError));
    co_return;
  }
  replyError(ex, rec, 200, &id, kInvalidParams, "Resource not found: " + std::string(rec.name));
}

awaitable<void> Federation::listen(exchange::Exchange& ex, const Session& session) const {
  // Each server's GET stream, opened in an exchange of its own that lives as long as the client's.
  std::vector<exchange::BodySource*> streams;
  for (const Member& m : session.members) {
    auto* arena = ex.arena.make<Arena>();
    auto* sub = ex.arena.make<exchange::Exchange>(ex.worker, *arena, ex.connection);
    addressTo(*sub, ex, "GET", "text/event-stream", arena->copy(m.session), arena->copy(m.url));
    co_await servers_[m.server].service->handler()->handle(*sub);
    if (sub->response.status == 200 && sub->response.body &&
        istartsWith(sub->response.headers.get("Content-Type"), "text/event-stream"))
      streams.push_back(sub->response.body);
  }
  if (streams.empty()) {  // no server offers one
    ex.response.status = 405;
    ex.response.headers.clear();
    ex.response.headers.add("Allow", "POST, DELETE");
    co_return;
  }
  exchange::Response& out = ex.response;
  out.status = 200;
  out.headers.clear();
  out.headers.add("Content-Type", "text/event-stream");
  out.headers.add("Cache-Control", "no-cache");
  out.body =
      ex.arena.make<MergedEventStream>(std::move(streams), ex, keepAlive_, size_t(maxAnswerBytes_));
}

awaitable<void> Federation::handle(exchange::Exchange& ex, exchange::McpRecord& rec,
                                   const json::value* message, const PolicySet& policies) const {
  std::optional<Session> session;
  if (std::string_view token = ex.request.headers.get(kSessionHeader); !token.empty()) {
    session = open(token);
    if (!session) {
      replyError(ex, rec, 404, nullptr, kSessionNotFound, "Session not found");
      co_return;
    }
  }
  if (ex.request.method == "GET") {
    if (!session) {
      replyError(ex, rec, 400, nullptr, kInvalidRequest, "Bad Request: Mcp-Session-Id required");
      co_return;
    }
    co_await listen(ex, *session);
    co_return;
  }
  if (ex.request.method == "DELETE") {
    if (!session) {
      replyError(ex, rec, 400, nullptr, kInvalidRequest, "Bad Request: Mcp-Session-Id required");
      co_return;
    }
    const std::string none;
    co_await everyone(ex, *session, "DELETE", none, nullptr);
    ex.response.status = 200;
    ex.response.headers.clear();
    co_return;
  }
  if (!message || ex.request.method != "POST") {
    ex.response.status = 405;
    ex.response.headers.clear();
    ex.response.headers.add("Allow", "POST, DELETE");
    co_return;
  }
  const json::object& o = message->get_object();
  const json::value* id = o.if_contains("id");
  if (rec.method.empty()) {
    replyError(
        ex, rec, 400, id, kInvalidRequest,
        "Invalid Request: answers to a server's requests are not carried through a federation");
    co_return;
  }
  if (rec.method == "initialize") {
    if (!id) {
      replyError(ex, rec, 400, nullptr, kInvalidRequest, "Invalid Request: initialize needs an id");
      co_return;
    }
    co_await initialize(ex, rec, *message);
    co_return;
  }
  if (!session) {
    replyError(ex, rec, 400, id, kInvalidRequest, "Bad Request: Mcp-Session-Id required");
    co_return;
  }
  std::string method(rec.method);
  const std::string body = json::serialize(*message);
  if (method.starts_with("notifications/")) {
    co_await everyone(ex, *session, "POST", body, nullptr);
    ex.response.status = 202;
    ex.response.headers.clear();
    co_return;
  }
  if (!id) {
    replyError(ex, rec, 400, nullptr, kInvalidRequest, "Invalid Request: a request needs an id");
    co_return;
  }
  if (method == "ping") {
    replyResult(ex, *id, json::object());
  } else if (method == "logging/setLevel") {
    co_await everyone(ex, *session, "POST", body, id);
    replyResult(ex, *id, json::object());
  } else if (PolicySet::isList(method)) {
    co_await list(ex, rec, *session, *message, policies);
  } else if (method == "tools/call" || method == "prompts/get") {
    co_await call(ex, rec, *session, *message);
  } else if (method == "resources/read" || method == "resources/subscribe" ||
             method == "resources/unsubscribe") {
    co_await firstThatHas(ex, rec, *session, *message);
  } else {
    replyError(ex, rec, 200, id, kMethodNotFound,
               "Method not found through the federation: " + method);
  }
}

}  // namespace causeway::gateway::mcp
