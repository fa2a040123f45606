
#include <gtest/gtest.h>

#include "admin/api_query.h"

namespace causeway::admin {
namespace {

namespace json = boost::json;

TEST(QueryValue, DecodesLikeGoAndTakesTheFirstValue) {
  EXPECT_EQ(queryValue("search=a+b%40c&search=zzz", "search"), "a b@c");
  EXPECT_EQ(queryValue("x=1&status=enabled", "status"), "enabled");
  EXPECT_EQ(queryValue("status", "status"), "");
  EXPECT_EQ(queryValue("", "status"), "");
  EXPECT_EQ(queryValue("search=%zz&search=ok", "search"), "ok");  // bad escape: pair skipped
  EXPECT_EQ(queryValue("a=1;search=x", "search"), "");             // ';' pairs are rejected (Go 1.17+)
}

TEST(PathUnescape, DecodesAndRejectsBadEscapes) {
  EXPECT_EQ(pathUnescape("a%40file"), "a@file");
  EXPECT_EQ(pathUnescape("a+b"), "a+b");
  EXPECT_FALSE(pathUnescape("a%4"));
  EXPECT_FALSE(pathUnescape("a%zz"));
}

TEST(ListQuery, DefaultsAndErrorsAsTraefik) {
  std::string error;
  auto query = ListQuery::parse("", error);
  ASSERT_TRUE(query);
  EXPECT_EQ(query->page, 1);
  EXPECT_EQ(query->perPage, 100);
  EXPECT_TRUE(query->ascending);
  EXPECT_FALSE(ListQuery::parse("per_page=0", error));
  EXPECT_EQ(error, "invalid request: per_page: 0");
  EXPECT_FALSE(ListQuery::parse("page=x", error));
  EXPECT_EQ(error, "invalid request: page: 0");
  EXPECT_FALSE(ListQuery::parse("page=-2", error));
  EXPECT_EQ(error, "invalid request: page: -2");
  query = ListQuery::parse("direction=desc&sortBy=status&page=2&per_page=5", error);
  ASSERT_TRUE(query);
  EXPECT_FALSE(query->ascending);
  EXPECT_EQ(query->sortBy, "status");
  EXPECT_EQ(query->page, 2);
  EXPECT_EQ(query->perPage, 5);
}

TEST(Paginate, SlicesAndNextPage) {
  std::string error;
  ListQuery q;
  q.perPage = 3;
  q.page = 1;
  auto page = paginate(q, 8, error);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->begin, 0u);
  EXPECT_EQ(page->end, 3u);
  EXPECT_EQ(page->nextPage, 2);
  q.page = 3;
  page = paginate(q, 8, error);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->begin, 6u);
  EXPECT_EQ(page->end, 8u);
  EXPECT_EQ(page->nextPage, 1);  // the last page points back to 1, as Traefik
  q.page = 4;
  EXPECT_FALSE(paginate(q, 8, error));
  EXPECT_EQ(error, "invalid request: page: 4, per_page: 3");
  q.page = 1;
  page = paginate(q, 0, error);  // an empty list is page 1
  ASSERT_TRUE(page);
  EXPECT_EQ(page->end, 0u);
  EXPECT_EQ(page->nextPage, 1);
  q.page = 2;
  q.perPage = 4;
  page = paginate(q, 8, error);  // exactly full: no next page
  ASSERT_TRUE(page);
  EXPECT_EQ(page->nextPage, 1);
}

json::object router(const char* name, const char* status, const char* rule, const char* service,
                    std::vector<std::string> middlewares = {}) {
  json::object r{{"name", name}, {"status", status}, {"rule", rule}, {"service", service}};
  std::string n(name);
  r["provider"] = n.substr(n.find('@') + 1);
  json::array m;
  for (auto& x : middlewares) m.emplace_back(json::string(x));
  if (!m.empty()) r["middlewares"] = m;
  return r;
}

TEST(Filters, RoutersBySearchStatusServiceAndMiddleware) {
  auto r = router("web-app@file", "disabled", "Host(`Shop.example`)", "shop", {"auth", "strip@docker"});
  std::string error;
  auto q = [&](const char* text) { return *ListQuery::parse(text, error); };
  EXPECT_TRUE(keepRouter(q(""), r));
  EXPECT_TRUE(keepRouter(q("status=DISABLED"), r));
  EXPECT_FALSE(keepRouter(q("status=enabled"), r));
  EXPECT_TRUE(keepRouter(q("search=shop.EXAMPLE"), r));  // the rule
  EXPECT_TRUE(keepRouter(q("search=web-app"), r));       // the name
  EXPECT_FALSE(keepRouter(q("search=other"), r));
  EXPECT_TRUE(keepRouter(q("serviceName=shop@file"), r));  // unqualified service: name part
  EXPECT_TRUE(keepRouter(q("serviceName=shop"), r));
  EXPECT_FALSE(keepRouter(q("serviceName=cart@file"), r));
  auto qualified = router("x@file", "enabled", "Path(`/`)", "api@internal");
  EXPECT_TRUE(keepRouter(q("serviceName=api@internal"), qualified));
  EXPECT_FALSE(keepRouter(q("serviceName=api"), qualified));  // qualified: exact only
  EXPECT_TRUE(keepRouter(q("middlewareName=auth"), r));
  EXPECT_TRUE(keepRouter(q("middlewareName=auth@file"), r));
  EXPECT_TRUE(keepRouter(q("middlewareName=strip@docker"), r));
  EXPECT_FALSE(keepRouter(q("middlewareName=strip@file"), r));
  json::object service{{"name", "shop@file"}, {"status", "warning"}};
  EXPECT_TRUE(keepService(q("search=SHOP&status=warning"), service));
  EXPECT_FALSE(keepService(q("status=enabled"), service));
  json::object middleware{{"name", "auth@file"}, {"status", "enabled"}};
  EXPECT_TRUE(keepMiddleware(q("search=aut"), middleware));
  EXPECT_FALSE(keepMiddleware(q("search=zzz"), middleware));
}

std::vector<std::string> names(const std::vector<json::object>& items) {
  std::vector<std::string> out;
  for (const auto& i : items) out.emplace_back(i.at("name").as_string());
  return out;
}

TEST(Sort, ByNameByFieldAndDirection) {
  std::string error;
  std::vector<json::object> items = {
      json::object{{"name", "b@file"}, {"status", "enabled"}, {"priority", 5}},
      json::object{{"name", "c@file"}, {"status", "disabled"}},
      json::object{{"name", "a@file"}, {"status", "enabled"}, {"priority", 9}},
  };
  sortItems(items, "routers", *ListQuery::parse("", error));
  EXPECT_EQ(names(items), (std::vector<std::string>{"a@file", "b@file", "c@file"}));
  sortItems(items, "routers", *ListQuery::parse("direction=desc", error));
  EXPECT_EQ(names(items), (std::vector<std::string>{"c@file", "b@file", "a@file"}));
  sortItems(items, "routers", *ListQuery::parse("sortBy=status", error));  // ties by name
  EXPECT_EQ(names(items), (std::vector<std::string>{"c@file", "a@file", "b@file"}));
  sortItems(items, "routers", *ListQuery::parse("sortBy=priority&direction=desc", error));
  EXPECT_EQ(names(items), (std::vector<std::string>{"a@file", "b@file", "c@file"}));
  sortItems(items, "middlewares", *ListQuery::parse("sortBy=priority", error));  // not a middleware field
  EXPECT_EQ(names(items), (std::vector<std::string>{"a@file", "b@file", "c@file"}));
}

}  // namespace
}  // namespace causeway::admin
