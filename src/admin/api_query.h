// The query of the API's list endpoints (Traefik pkg/api/criterion.go, sort.go): filters
// `search`, `status`, `serviceName`, `middlewareName`; pages `page` and `per_page` (default
// 100) with the `X-Next-Page` header; order `sortBy` and `direction` (asc by default).
//
// Pure functions; any thread.
#pragma once

#include <boost/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace causeway::admin {

// Go's url.ParseQuery + Values.Get: the first value of `key`, decoded ('+' is a space);
// "" when absent. Pairs with bad escapes are skipped, as Go does.
std::string queryValue(std::string_view rawQuery, std::string_view key);

// Go's url.PathUnescape; nullopt on a bad escape.
std::optional<std::string> pathUnescape(std::string_view text);

struct ListQuery {
  std::string search;          // case-insensitive substring of the name (routers: or rule)
  std::string status;          // enabled, disabled, warning (ignoring case)
  std::string serviceName;     // routers: their service
  std::string middlewareName;  // routers: one of their middlewares
  std::string sortBy;          // field; "" or unknown → name
  bool ascending = true;       // direction=asc (default); anything else is descending
  int page = 1;
  int perPage = 100;

  // nullopt with `error` set ("invalid request: page: 0") for a bad page or per_page.
  static std::optional<ListQuery> parse(std::string_view rawQuery, std::string& error);
};

// Which slice of `total` items a page shows, and the page after it (1 when it is the last,
// as Traefik). nullopt with `error` set when the page starts past the end.
struct PageSlice {
  size_t begin = 0;
  size_t end = 0;
  int nextPage = 1;
};
std::optional<PageSlice> paginate(const ListQuery& query, size_t total, std::string& error);

// The filters, applied to one element's JSON representation (name, status, rule,
// service, middlewares as shown by the API).
bool keepRouter(const ListQuery& query, const boost::json::object& router);
bool keepService(const ListQuery& query, const boost::json::object& service);
bool keepMiddleware(const ListQuery& query, const boost::json::object& middleware);

// Sorts API representations in place. `kind`: "routers" (name, provider, priority, status,
// rule, service, entryPoints), "services" (name, type, servers, provider, status) or
// "middlewares" (name, type, provider, status). Ties are broken by name.
void sortItems(std::vector<boost::json::object>& items, std::string_view kind, const ListQuery& query);

}  // namespace causeway::admin
