#include "middleware/redirect/redirect.h"

#include "exchange/replies.h"
#include "http/go_text.h"
#include "http/go_url.h"

namespace causeway::middleware::redirect {

void appendPathAndQuery(std::string& url, const exchange::Request& request) {
  url += request.path.empty() ? std::string_view("/") : request.path;
  if (request.hasQuery) {
    url += '?';
    url += request.query;
  }
}

bool redirectIfRewritten(exchange::Exchange& ex, const router::GoRegexp& regex, std::string_view replacement,
                         const std::string& oldUrl, bool permanent, std::string_view errorDetail) {
  if (!regex.matchString(oldUrl)) return false;
  std::string newUrl = regex.replaceAllString(oldUrl, replacement);
  std::string error;
  auto parsed = http::gourl::parse(newUrl, error);
  if (!parsed) {
    if (!errorDetail.empty()) ex.record.errorDetail = errorDetail;
    exchange::bareReply(ex, 500, http::goStatusText(500));
    return true;
  }
  if (newUrl == oldUrl) return false;
  exchange::redirectReply(ex, parsed->string(), permanent);
  return true;
}

}  // namespace causeway::middleware::redirect
