#include "provider/etcd_gateway.h"

#include "core/bytes.h"

namespace causeway::provider::etcd {
namespace json = boost::json;

clients::http::Request post(std::string_view path, const json::object& body, const std::string& token) {
  clients::http::Request request;
  request.method = "POST";
  request.target = std::string(path);
  request.body = json::serialize(body);
  request.headers.emplace_back("Content-Type", "application/json");
  if (!token.empty()) request.headers.emplace_back("Authorization", token);
  return request;
}

std::string errorOf(const clients::http::Answer& answer) {
  if (answer.status == 0) return answer.error;
  std::string text = "etcd answered " + std::to_string(answer.status);
  error_code ec;
  json::value v = json::parse(answer.body, ec);
  if (!ec && v.is_object())
    if (const json::value* m = v.as_object().if_contains("message"); m && m->is_string())
      text += ": " + std::string(m->as_string());
  return text;
}

std::string prefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    if (static_cast<unsigned char>(prefix.back()) < 0xff) {
      prefix.back() = char(prefix.back() + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return std::string(1, '\0');
}

bool bytesField(const json::object& o, std::string_view name, std::string& out) {
  out.clear();
  const json::value* v = o.if_contains(name);
  if (!v) return true;
  return v->is_string() && base64Decode(std::string_view(v->as_string()), out);
}

awaitable<std::string> authenticate(asio::io_context& io, const clients::http::Endpoint& endpoint,
                                    const std::string& username, const std::string& password,
                                    std::chrono::milliseconds timeout, std::string& error) {
  json::object body{{"name", username}, {"password", password}};
  const std::string noToken;
  const clients::http::Request request = post("/v3/auth/authenticate", body, noToken);
  clients::http::Answer answer = co_await clients::http::fetch(io, endpoint, request, timeout, 1 << 20);
  if (answer.status != 200) {
    error = "authentication failed: " + errorOf(answer);
    co_return "";
  }
  error_code ec;
  json::value v = json::parse(answer.body, ec);
  const json::value* t = !ec && v.is_object() ? v.as_object().if_contains("token") : nullptr;
  if (!t || !t->is_string() || t->as_string().empty()) {
    error = "authentication failed: no token in etcd's answer";
    co_return "";
  }
  co_return std::string(t->as_string());
}

}  // namespace causeway::provider::etcd
