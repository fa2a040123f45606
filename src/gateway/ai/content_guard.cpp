// content-guard: finds personal data and secrets (detectors.h) in what goes to an LLM and in
// what comes back, and blocks the exchange or masks what it found. Works on any JSON body (every
// string value is scanned, keys are not) and on plain text; for LLM traffic place it before the
// protocol middleware, where it sees the client's own format.
// Options:
//   detectors  built-in names: email, phone, creditCard, iban, ipAddress, usSsn, ukNino, apiKey
//   patterns   {name: RE2 regex}: custom detectors
//   action     block (default) | mask: "[REDACTED:<name>]" in place of each finding
//   request    scan requests (default true); response: scan answers (default false)
//   maxRequestBodySize (1 MiB), maxResponseBodySize (8 MiB): bodies over them are refused
//              (413, 502), never passed unscanned
// A blocked request is a 400 and a blocked answer a 403, in the client's format (Anthropic's
// for requests carrying anthropic-version or sent to …/messages), naming the detectors and
// never the matched text. Streamed answers are scanned as they pass: the last 128 characters
// of text are held back until the next piece arrives, so a match split across two events is
// still found; in block mode the stream then ends with an error event.
#include <re2/re2.h>

#include <boost/json.hpp>
#include <set>

#include "exchange/middleware_options.h"
#include "gateway/ai/client_reply.h"
#include "gateway/ai/detectors.h"
#include "gateway/ai/sse.h"
#include "gateway/ai/translate.h"
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

constexpr size_t kHoldBack = 128;

struct Options {
  std::vector<std::string> detectors;
  std::map<std::string, std::string> patterns;
  std::string action = "block";
  bool request = true;
  bool response = false;
  int64_t maxRequestBodySize = 1 << 20;
  int64_t maxResponseBodySize = 8 << 20;

  static void describe(auto& self, auto& v) {
    v("detectors", self.detectors);
    v("patterns", self.patterns);
    v("action", self.action, config::OneOf<2>{{"block", "mask"}});
    v("request", self.request);
    v("response", self.response);
    v("maxRequestBodySize", self.maxRequestBodySize);
    v("maxResponseBodySize", self.maxResponseBodySize);
  }
};

struct Guard {
  std::vector<Detector> detectors;
  bool mask = false;
  bool request = true;
  bool response = false;
  int64_t maxRequestBodySize = 0;
  int64_t maxResponseBodySize = 0;
};

// Scans (and in mask mode rewrites) every string value of `v`; the names of what was found.
void guardValue(const Guard& g, json::value& v, std::set<std::string>& found) {
  if (v.is_string()) {
    std::string_view text = v.get_string();
    std::vector<Finding> findings = scan(g.detectors, text);
    if (findings.empty()) return;
    for (const Finding& f : findings) found.insert(f.detector->name);
    if (g.mask) {
      std::string masked(text);
      ai::mask(g.detectors, masked, findings);
      v = json::string(masked);
    }
  } else if (v.is_array()) {
    for (json::value& item : v.get_array()) guardValue(g, item, found);
  } else if (v.is_object()) {
    for (auto& [key, item] : v.get_object()) guardValue(g, item, found);
  }
}

// Scans a whole body: JSON string values, or the text itself. Returns what was found; `body`
// is rewritten in mask mode.
std::set<std::string> guardBody(const Guard& g, std::string& body) {
  std::set<std::string> found;
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (!ec) {
    guardValue(g, v, found);
    if (g.mask && !found.empty()) body = json::serialize(v);
    return found;
  }
  std::vector<Finding> findings = scan(g.detectors, body);
  for (const Finding& f : findings) found.insert(f.detector->name);
  if (g.mask) mask(g.detectors, body, findings);
  return found;
}

std::string names(const std::set<std::string>& found) {
  std::string out;
  for (const std::string& n : found) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// A streamed answer scanned as it passes (see the file comment).
class GuardedStream final : public exchange::BodySource {
 public:
  GuardedStream(exchange::BodySource* upstream, const Guard& g, Wire wire) : upstream_(upstream), g_(g), wire_(wire) {}

  awaitable<exchange::BodyChunk> read() override {
    out_.clear();
    auto onEvent = [&](std::string_view name, std::string_view data) { return event(name, data); };
    while (!done_) {
      exchange::BodyChunk chunk = co_await upstream_->read();
      if (chunk.error) {
        flush();
        done_ = true;
        co_return exchange::BodyChunk{out_, false, true};
      }
      if (!parser_.feed(chunk.data, onEvent) || chunk.last || blocked_) {
        // Once blocked, the rest of the provider's stream is not read: the client's stream
        // ends now, and the provider's connection is closed rather than reused.
        if (!blocked_) flush();
        done_ = true;
        break;
      }
      if (!out_.empty()) break;
    }
    co_return exchange::BodyChunk{out_, done_, false};
  }
  bool finished() const override { return done_; }

 private:
  // The text field of a text event, or null.
  json::value* textOf(json::value& v) {
    if (!v.is_object()) return nullptr;
    json::object& o = v.get_object();
    // The Responses API's text and function-argument deltas (a responses-api route).
    if (std::string_view type = stringField(o, "type");
        type == "response.output_text.delta" || type == "response.function_call_arguments.delta") {
      json::value* delta = o.if_contains("delta");
      return delta && delta->is_string() ? delta : nullptr;
    }
    if (wire_ == Wire::OpenAIChat) {
      json::value* choices = o.if_contains("choices");
      if (!choices || !choices->is_array() || choices->get_array().empty()) return nullptr;
      json::value& choice = choices->get_array()[0];
      if (!choice.is_object()) return nullptr;
      json::value* delta = choice.get_object().if_contains("delta");
      if (!delta || !delta->is_object()) return nullptr;
      json::value* content = delta->get_object().if_contains("content");
      if (content && content->is_string() && !content->get_string().empty()) return content;
      // A tool call's argument fragment (one call per event, as providers stream them).
      json::value* calls = delta->get_object().if_contains("tool_calls");
      if (!calls || !calls->is_array() || calls->get_array().size() != 1 || !calls->get_array()[0].is_object())
        return nullptr;
      json::value* function = calls->get_array()[0].get_object().if_contains("function");
      json::value* arguments = function && function->is_object() ? function->get_object().if_contains("arguments") : nullptr;
      return arguments && arguments->is_string() && !arguments->get_string().empty() ? arguments : nullptr;
    }
    if (stringField(o, "type") != "content_block_delta") return nullptr;
    json::value* delta = o.if_contains("delta");
    if (!delta || !delta->is_object()) return nullptr;
    json::value* text = delta->get_object().if_contains("text");
    if (!text) text = delta->get_object().if_contains("partial_json");
    return text && text->is_string() ? text : nullptr;
  }

  // Which piece of the answer a text event continues: the text, one tool call's arguments, one
  // content block (Anthropic), one output item's part (Responses). Held-back text is never
  // carried into an event of another slot.
  std::string slotOf(const json::value& v) const {
    const json::object& o = v.get_object();
    if (std::string_view type = stringField(o, "type"); type.starts_with("response.")) {
      std::string key(type);
      key += '/';
      key += stringField(o, "item_id");
      if (const json::value* part = o.if_contains("content_index"); part && part->is_int64())
        key += "/" + std::to_string(part->get_int64());
      return key;
    }
    if (wire_ != Wire::OpenAIChat) {
      const json::value* index = o.if_contains("index");
      return "block/" + (index ? json::serialize(*index) : std::string());
    }
    const json::object& delta = o.at("choices").get_array()[0].get_object().at("delta").get_object();
    const json::value* content = delta.if_contains("content");
    const json::value* calls = delta.if_contains("tool_calls");
    if (!calls || (content && content->is_string() && !content->get_string().empty())) return "content";
    const json::value* index = calls->get_array()[0].get_object().if_contains("index");
    return "tool/" + (index ? json::serialize(*index) : std::string());
  }

  // An OpenAI chunk that ends its choice (a finish_reason beside the last text).
  static bool finishes(const json::value& v) {
    const json::value* choices = v.get_object().if_contains("choices");
    if (!choices || !choices->is_array() || choices->get_array().empty()) return false;
    const json::value& choice = choices->get_array()[0];
    const json::value* reason = choice.is_object() ? choice.get_object().if_contains("finish_reason") : nullptr;
    return reason && !reason->is_null();
  }

  // A later piece of the same slot: only the text field is kept, so that a tool call's id,
  // type and name (and a role) are sent once, with the first piece.
  void plainTemplate() {
    if (wire_ != Wire::OpenAIChat || !template_.is_object()) return;
    json::value* choices = template_.get_object().if_contains("choices");
    if (!choices || !choices->is_array() || choices->get_array().empty()) return;
    json::value& choice = choices->get_array()[0];
    json::value* delta = choice.is_object() ? choice.get_object().if_contains("delta") : nullptr;
    if (!delta || !delta->is_object()) return;
    json::object& d = delta->get_object();
    d.erase("role");
    if (json::value* calls = d.if_contains("tool_calls"); calls && calls->is_array() && !calls->get_array().empty()) {
      json::value& call = calls->get_array()[0];
      if (call.is_object()) {
        json::object& c = call.get_object();
        c.erase("id");
        c.erase("type");
        if (json::value* f = c.if_contains("function"); f && f->is_object()) f->get_object().erase("name");
      }
    }
  }

  bool event(std::string_view name, std::string_view data) {
    if (blocked_) return true;
    boost::system::error_code ec;
    json::value v = json::parse(data, ec);
    json::value* text = ec ? nullptr : textOf(v);
    if (!text) {
      flush();  // whatever comes next (a finish, a new block, the end) follows all of the text
      if (!blocked_) appendEvent(out_, name, data);
      return true;
    }
    std::string slot = slotOf(v);
    if (slot != slot_) {
      flush();
      if (blocked_) return true;
      slot_ = std::move(slot);
      template_ = nullptr;
      templateSent_ = false;
    }
    pending_ += text->get_string();
    // The first event of a slot stays the template until it is sent (it carries the slot's
    // metadata); after that each later event is.
    if (templateSent_ || template_.is_null()) {
      template_ = v;
      templateName_ = name;
      if (templateSent_) plainTemplate();
    }
    if (wire_ == Wire::OpenAIChat && finishes(v)) {
      release(true);
      if (blocked_) return true;
      *textOf(v) = json::string();
      appendEvent(out_, name, json::serialize(v));
      template_ = nullptr;
      slot_.clear();
      return true;
    }
    release(false);
    return true;
  }

  // Sends the pending text that can no longer be part of an unfinished match (all of it when
  // `all`), masked; or ends the stream when a finding must block it.
  void release(bool all) {
    std::vector<Finding> findings = scan(g_.detectors, pending_);
    if (!findings.empty() && !g_.mask) {
      std::set<std::string> found;
      for (const Finding& f : findings) found.insert(f.detector->name);
      block(found);
      return;
    }
    size_t boundary = all ? pending_.size() : pending_.size() > kHoldBack ? pending_.size() - kHoldBack : 0;
    std::vector<Finding> sent;
    for (const Finding& f : findings) {
      if (f.offset >= boundary) break;
      boundary = std::max(boundary, f.offset + f.length);
      sent.push_back(f);
    }
    if (boundary == 0 || template_.is_null()) return;
    std::string piece = pending_.substr(0, boundary);
    mask(g_.detectors, piece, sent);
    pending_.erase(0, boundary);
    *textOf(template_) = json::string(piece);
    appendEvent(out_, templateName_, json::serialize(template_));
    templateSent_ = true;
    plainTemplate();
  }

  void flush() {
    if (!pending_.empty() && !blocked_) release(true);
  }

  void block(const std::set<std::string>& found) {
    blocked_ = true;
    pending_.clear();
    std::string message = "the answer was blocked by content-guard: " + names(found);
    if (wire_ == Wire::OpenAIChat) appendEvent(out_, {}, errorBody(wire_, 403, message));
    else appendEvent(out_, "error", errorBody(wire_, 403, message));
  }

  exchange::BodySource* upstream_;
  const Guard& g_;
  Wire wire_;
  SseParser parser_;
  std::string out_;
  std::string pending_;
  json::value template_;  // the event the next piece of text is sent in
  std::string templateName_;
  std::string slot_;
  bool templateSent_ = false;
  bool blocked_ = false;
  bool done_ = false;
};

class ContentGuard final : public Handler {
 public:
  ContentGuard(const Guard& g, HandlerPtr next, const WrapContext&) : g_(g), next_(std::move(next)) {}

  awaitable<void> handle(Exchange& ex) const override {
    Wire wire = clientWireOf(ex);
    if (g_.request && ex.request.body) {
      auto* body = ex.arena.make<std::string>();
      exchange::ReadResult read = co_await exchange::readBody(*ex.request.body, *body, g_.maxRequestBodySize);
      if (read == exchange::ReadResult::TooLarge) {
        ex.record.errorDetail = "content-guard: request body over maxRequestBodySize";
        co_return jsonReply(ex, 413, errorBody(wire, 413, "the request body is too large to be checked"));
      }
      if (read == exchange::ReadResult::Failed) co_return jsonReply(ex, 400, errorBody(wire, 400, "the request body broke off"));
      std::set<std::string> found = guardBody(g_, *body);
      if (!found.empty() && !g_.mask) {
        ex.record.errorDetail = "content-guard blocked the request";
        noteRefusal(ex, "content-guard");
        co_return jsonReply(ex, 400, errorBody(wire, 400, "the request was blocked by content-guard: " + names(found)));
      }
      ex.request.body = ex.arena.make<exchange::MemoryBody>(*body);
      ex.request.headers.remove("Transfer-Encoding");
    }
    if (g_.response) ex.request.headers.remove("Accept-Encoding");  // answers are read here
    co_await next_->handle(ex);
    exchange::Response& r = ex.response;
    if (!g_.response || !r.body || r.tunnel || r.status < 200 || r.status >= 300) co_return;
    if (r.headers.get("Content-Type").starts_with(kEventStreamType)) {
      r.body = ex.arena.make<GuardedStream>(r.body, g_, wire);
      r.headers.remove("Content-Length");
      co_return;
    }
    if (!r.headers.get("Content-Encoding").empty()) {
      // Compressed although not asked to be: it cannot be read here, so it does not pass.
      ex.record.errorDetail = "content-guard: compressed answer";
      noteRefusal(ex, "content-guard");
      co_return jsonReply(ex, 502, errorBody(wire, 502, "the answer could not be checked"));
    }
    std::string body;
    exchange::ReadResult read = co_await exchange::readBody(*r.body, body, g_.maxResponseBodySize);
    if (read != exchange::ReadResult::Complete) {
      ex.record.errorDetail = "content-guard: answer broke off or over maxResponseBodySize";
      co_return jsonReply(ex, 502, errorBody(wire, 502, "the answer could not be checked"));
    }
    std::set<std::string> found = guardBody(g_, body);
    if (!found.empty() && !g_.mask) {
      ex.record.errorDetail = "content-guard blocked the answer";
      noteRefusal(ex, "content-guard");
      co_return jsonReply(ex, 403, errorBody(wire, 403, "the answer was blocked by content-guard: " + names(found)));
    }
    r.headers.remove("Content-Length");
    r.body = ex.arena.make<exchange::OwnedBody>(std::move(body));
  }

 private:
  Guard g_;
  HandlerPtr next_;
};

MiddlewareFactoryPtr create(const config::Node& node, MiddlewareBuildContext& context) {
  std::optional<Options> o = exchange::decodeOptions<Options>(node, context);
  if (!o) return nullptr;
  Guard g;
  for (const std::string& name : o->detectors) {
    std::optional<Detector> d = builtInDetector(name);
    if (!d) {
      std::string known;
      for (std::string_view n : builtInDetectorNames()) known += (known.empty() ? "" : ", ") + std::string(n);
      context.error("detectors: unknown detector \"" + name + "\"; expected one of: " + known);
      return nullptr;
    }
    g.detectors.push_back(std::move(*d));
  }
  for (const auto& [name, pattern] : o->patterns) {
    std::string error;
    std::optional<Detector> d = customDetector(name, pattern, error);
    if (!d) {
      context.error("patterns." + name + ": invalid regular expression: " + error);
      return nullptr;
    }
    g.detectors.push_back(std::move(*d));
  }
  if (g.detectors.empty()) {
    context.error("expected at least one detector (detectors) or pattern (patterns)");
    return nullptr;
  }
  if (o->maxRequestBodySize <= 0 || o->maxResponseBodySize <= 0) {
    context.error("maxRequestBodySize and maxResponseBodySize must be > 0");
    return nullptr;
  }
  g.mask = o->action == "mask";
  g.request = o->request;
  g.response = o->response;
  g.maxRequestBodySize = o->maxRequestBodySize;
  g.maxResponseBodySize = o->maxResponseBodySize;
  return exchange::factoryOf<ContentGuard>(std::move(g));
}

const exchange::MiddlewareRegistration kContentGuard("content-guard", create, "ContentGuard");

}  // namespace
}  // namespace causeway::gateway::ai
