#include "admin/api_query.h"

#include <algorithm>
#include <charconv>

#include "core/strings.h"

namespace causeway::admin {
namespace json = boost::json;
namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding; `plusIsSpace` for query components.
std::optional<std::string> unescape(std::string_view text, bool plusIsSpace) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int high = hexValue(text[i + 1]), low = hexValue(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out.push_back(char(high * 16 + low));
      i += 2;
    } else if (c == '+' && plusIsSpace) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return out;
}

std::string stringField(const json::object& object, std::string_view key) {
  auto it = object.find(key);
  if (it == object.end() || !it->value().is_string()) return {};
  return std::string(it->value().as_string());
}

bool containsFolded(std::string_view haystack, const std::string& needleLower) {
  return lower(haystack).find(needleLower) != std::string::npos;
}

bool withStatus(const ListQuery& query, const json::object& item) {
  return query.status.empty() || iequals(stringField(item, "status"), query.status);
}

bool searchIn(const ListQuery& query, std::initializer_list<std::string> values) {
  if (query.search.empty()) return true;
  std::string needle = lower(query.search);
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
  while (!rawQuery.empty()) {
    size_t amp = rawQuery.find('&');
    std::string_view pair = rawQuery.substr(0, amp);
    rawQuery = amp == std::string_view::npos ? std::string_view() : rawQuery.substr(amp + 1);
    if (pair.empty() || pair.find(';') != std::string_view::npos) continue;
    size_t eq = pair.find('=');
    auto name = unescape(pair.substr(0, eq), true);
    if (!name || *name != key) continue;
    auto value = unescape(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
    if (!value) continue;
    return *value;
  }
  return {};
}

std::optional<std::string> pathUnescape(std::string_view text) { return unescape(text, false); }

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
