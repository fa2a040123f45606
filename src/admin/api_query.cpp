#include "admin/api_query.h"

#include <algorithm>
#include <charconv>

#include "core/strings.h"
#include "http/uri.h"
#include "router/query_string.h"

namespace causeway::admin {
namespace json = boost::json;
namespace {

std::string stringField(const json::object& object, std::string_view key) {
  auto it = object.find(key);
  if (it == object.end() || !it->value().is_string()) return {};
  return std::string(it->value().as_string());
}

bool containsFolded(std::string_view haystack, const std::string& needleLower) {
  return toLower(haystack).find(needleLower) != std::string::npos;
}

bool withStatus(const ListQuery& query, const json::object& item) {
  return query.status.empty() || iequals(stringField(item, "status"), query.status);
}

bool searchIn(const ListQuery& query, std::initializer_list<std::string> values) {
  if (query.search.empty()) return true;
  std::string needle = toLower(query.search);
  for (const auto& value : values)
    if (containsFolded(value, needle)) return true;
  return false;
}

// The query parameter as a positive integer; Go's message on failure.
bool intParam(std::string_view rawQuery, std::string_view key, int fallback, int& out,
              std::string& error) {
  std::string raw = queryValue(rawQuery, key);
  if (raw.empty()) {
    out = fallback;
    return true;
  }
  int value = 0;
  auto [at, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), value);
  if (ec != std::errc() || at != raw.data() + raw.size() || value <= 0) {
    if (ec != std::errc() || at != raw.data() + raw.size()) value = 0;
    error = "invalid request: " + std::string(key) + ": " + std::to_string(value);
    return false;
  }
  out = value;
  return true;
}

struct SortKey {
  bool numeric = false;
  int64_t number = 0;
  std::string text;
  auto operator<=>(const SortKey&) const = default;
};

size_t arraySize(const json::object& object, std::string_view key) {
  auto it = object.find(key);
  return it != object.end() && it->value().is_array() ? it->value().as_array().size() : 0;
}

SortKey keyOf(const json::object& item, std::string_view field) {
  SortKey key;
  if (field == "priority") {
    key.numeric = true;
    auto it = item.find("priority");
    if (it != item.end() && it->value().is_int64()) key.number = it->value().as_int64();
    else if (it != item.end() && it->value().is_uint64()) key.number = int64_t(it->value().as_uint64() >> 1);
  } else if (field == "entryPoints") {
    key.numeric = true;
    key.number = int64_t(arraySize(item, "entryPoints"));
  } else if (field == "servers") {
    key.numeric = true;
    auto lb = item.find("loadBalancer");
    if (lb != item.end() && lb->value().is_object()) key.number = int64_t(arraySize(lb->value().as_object(), "servers"));
  } else {
    key.text = stringField(item, field);
  }
  return key;
}

}  // namespace

std::string queryValue(std::string_view rawQuery, std::string_view key) {
  // Go's url.Values.Get: the first value of the first pair whose decoded key is `key`.
  std::string value;
  router::detail::forEachQueryPair(rawQuery, [&](std::string_view rawKey, std::string_view rawValue) {
    if (!router::detail::queryUnescapedEquals(rawKey, key)) return false;
    router::detail::appendQueryUnescaped(rawValue, value);
    return true;
  });
  return value;
}

std::optional<std::string> pathUnescape(std::string_view text) {
  std::string out;
  if (!http::pathUnescape(text, out)) return std::nullopt;
  return out;
}

std::optional<ListQuery> ListQuery::parse(std::string_view rawQuery, std::string& error) {
  ListQuery query;
  query.search = queryValue(rawQuery, "search");
  query.status = queryValue(rawQuery, "status");
  query.serviceName = queryValue(rawQuery, "serviceName");
  query.middlewareName = queryValue(rawQuery, "middlewareName");
  query.sortBy = queryValue(rawQuery, "sortBy");
  std::string direction = queryValue(rawQuery, "direction");
  query.ascending = direction.empty() || direction == "asc";
  if (!intParam(rawQuery, "per_page", 100, query.perPage, error)) return std::nullopt;
  if (!intParam(rawQuery, "page", 1, query.page, error)) return std::nullopt;
  return query;
}

std::optional<PageSlice> paginate(const ListQuery& query, size_t total, std::string& error) {
  uint64_t start = uint64_t(query.page - 1) * uint64_t(query.perPage);
  if (start != 0 && start >= total) {
    error = "invalid request: page: " + std::to_string(query.page) +
            ", per_page: " + std::to_string(query.perPage);
    return std::nullopt;
  }
  PageSlice slice;
  slice.begin = size_t(start);
  slice.end = size_t(std::min<uint64_t>(start + uint64_t(query.perPage), total));
  slice.nextPage = uint64_t(query.page) * uint64_t(query.perPage) < total ? query.page + 1 : 1;
  return slice;
}

bool keepRouter(const ListQuery& query, const json::object& router) {
  if (!withStatus(query, router)) return false;
  if (!searchIn(query, {stringField(router, "rule"), stringField(router, "name")})) return false;
  if (!query.serviceName.empty()) {
    // Traefik: a qualified service must match exactly; an unqualified one matches the
    // name part of the filter.
    std::string service = stringField(router, "service");
    if (service.find('@') != std::string::npos) {
      if (service != query.serviceName) return false;
    } else {
      std::string_view wanted = query.serviceName;
      wanted = wanted.substr(0, wanted.find('@'));
      if (service != wanted) return false;
    }
  }
  if (!query.middlewareName.empty()) {
    // The router's middlewares as configured; a qualified filter also matches the
    // unqualified spelling of the router's own provider.
    std::string provider = stringField(router, "provider");
    bool found = false;
    auto it = router.find("middlewares");
    if (it != router.end() && it->value().is_array()) {
      for (const auto& m : it->value().as_array()) {
        if (!m.is_string()) continue;
        std::string name(m.as_string());
        if (name == query.middlewareName ||
            (name.find('@') == std::string::npos && name + "@" + provider == query.middlewareName))
          found = true;
      }
    }
    if (!found) return false;
  }
  return true;
}

bool keepService(const ListQuery& query, const json::object& service) {
  return withStatus(query, service) && searchIn(query, {stringField(service, "name")});
}

bool keepMiddleware(const ListQuery& query, const json::object& middleware) {
  return withStatus(query, middleware) && searchIn(query, {stringField(middleware, "name")});
}

void sortItems(std::vector<json::object>& items, std::string_view kind, const ListQuery& query) {
  static const std::vector<std::string_view> routerFields = {"provider", "priority", "status", "rule",
                                                             "service", "entryPoints"};
  static const std::vector<std::string_view> serviceFields = {"type", "servers", "provider", "status"};
  static const std::vector<std::string_view> middlewareFields = {"type", "provider", "status"};
  const auto& allowed = kind == "routers" ? routerFields : kind == "services" ? serviceFields : middlewareFields;
  std::string_view field = "name";
  if (std::find(allowed.begin(), allowed.end(), query.sortBy) != allowed.end()) field = query.sortBy;
  std::vector<std::pair<SortKey, size_t>> keys;
  keys.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) keys.emplace_back(keyOf(items[i], field), i);
  std::vector<std::string> names;
  names.reserve(items.size());
  for (const auto& item : items) names.push_back(stringField(item, "name"));
  std::sort(keys.begin(), keys.end(), [&](const auto& a, const auto& b) {
    if (field != "name" && a.first != b.first) return query.ascending ? a.first < b.first : b.first < a.first;
    const std::string& na = names[a.second];
    const std::string& nb = names[b.second];
    return query.ascending ? na < nb : nb < na;
  });
  std::vector<json::object> sorted;
  sorted.reserve(items.size());
  for (const auto& [key, index] : keys) sorted.push_back(std::move(items[index]));
  items = std::move(sorted);
}

}  // namespace causeway::admin
