#include "service/service.h"

namespace causeway::service {

void addSetCookie(exchange::Response& response, std::string_view value) {
  auto& fields = response.headers.fields();
  fields.insert(fields.begin(), http::HeaderField{"Set-Cookie", value});
}

}  // namespace causeway::service
