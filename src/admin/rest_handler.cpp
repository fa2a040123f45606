#include "admin/rest_handler.h"

#include "config/parse.h"
#include "core/strings.h"
#include "exchange/body.h"
#include "exchange/local_reply.h"

namespace causeway::admin {

namespace {
constexpr int64_t kMaxBody = 8 << 20;
constexpr std::string_view kPrefix = "/api/providers/";
}  // namespace

awaitable<void> RestHandler::handle(exchange::Exchange& ex) const {
  std::string_view path = ex.request.path;
  if (!path.starts_with(kPrefix) || path.size() == kPrefix.size() ||
      path.find('/', kPrefix.size()) != std::string_view::npos) {
    exchange::errorReply(ex, 404, "404 page not found");
    co_return;
  }
  if (ex.request.method != "PUT") {
    exchange::errorReply(ex, 405, "Method Not Allowed");
    ex.response.headers.set("Allow", "PUT");
    co_return;
  }
  if (path.substr(kPrefix.size()) != "rest") {
    exchange::errorReply(ex, 400, "Only 'rest' provider can be updated through the REST API");
    co_return;
  }
  std::string body;
  exchange::ReadResult read = exchange::ReadResult::Complete;
  if (ex.request.body) read = co_await exchange::readBody(*ex.request.body, body, kMaxBody);
  if (read == exchange::ReadResult::TooLarge) {
    exchange::errorReply(ex, 413, "the configuration is larger than 8 MiB");
    co_return;
  }
  if (read != exchange::ReadResult::Complete) {
    exchange::errorReply(ex, 400, "the request body broke off");
    co_return;
  }
  config::Node root;
  std::vector<config::ConfigError> warnings;
  std::string error;
  if (!config::parseDynamicText(body, "rest request", root, warnings, error)) {
    exchange::errorReply(ex, 400, error);
    co_return;
  }
  if (!deliver_(std::move(root))) {
    exchange::errorReply(ex, 503, "causeway is not ready to take a configuration");
    co_return;
  }
  ex.response.status = 200;
  ex.response.reason = {};
  ex.response.headers.clear();
  ex.response.body = nullptr;
}

}  // namespace causeway::admin
