// Traefik's KV layout → the configuration tree (provider/kv_layout.h, nodeFromKeyValues).
#include <gtest/gtest.h>

#include "provider/kv_layout.h"

namespace causeway::provider {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

TEST(KvLayout, PathsBecomeMapsAndIndexesStayKeys) {
  std::vector<config::ConfigError> errors;
  config::Node root = nodeFromKeyValues(
      Pairs{{"traefik/http/routers/api/rule", "Host(`a`)"},
            {"traefik/http/routers/api/entryPoints/0", "web"},
            {"traefik/http/routers/api/entryPoints/1", "websecure"},
            {"traefik/tls/options/modern/minVersion", "VersionTLS13"}},
      "traefik", "redis 127.0.0.1:6379", errors);
  EXPECT_TRUE(errors.empty());
  const config::Node* api = root.find("http")->find("routers")->find("api");
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(api->find("rule")->text(), "Host(`a`)");
  // Index keys stay map keys; the decoder reads such a map as a list.
  EXPECT_EQ(api->find("entryPoints")->find("1")->text(), "websecure");
  EXPECT_EQ(root.find("TLS")->find("options")->find("modern")->find("minversion")->text(),
            "VersionTLS13");  // names match case-insensitively
  EXPECT_EQ(api->find("rule")->location().toString(), "redis 127.0.0.1:6379 traefik/http/routers/api/rule");
}

TEST(KvLayout, OtherRootsAreSkippedAndEmptySegmentsAreErrors) {
  std::vector<config::ConfigError> errors;
  config::Node root = nodeFromKeyValues(Pairs{{"other/http/routers/x/rule", "Host(`x`)"},
                                              {"traefikx/http/routers/y/rule", "Host(`y`)"},
                                              {"traefik/http//z", "1"},
                                              {"traefik/", "1"},
                                              {"traefik/http/routers/ok/rule", "Host(`ok`)"}},
                                        "traefik", "redis", errors);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].element, "traefik/http//z");
  EXPECT_NE(errors[0].message.find("without empty segments"), std::string::npos);
  const config::Node* routers = root.find("http")->find("routers");
  EXPECT_EQ(routers->entries().size(), 1u);
  EXPECT_NE(routers->find("ok"), nullptr);
}

TEST(KvLayout, ASectionWinsOverAValueAtTheSamePath) {
  std::vector<config::ConfigError> errors;
  // Both orders: `…/tls` = "true" and `…/tls/options` = "modern".
  for (const Pairs& pairs : {Pairs{{"traefik/http/routers/r/tls", "true"},
                                   {"traefik/http/routers/r/tls/options", "modern"}},
                             Pairs{{"traefik/http/routers/r/tls/options", "modern"},
                                   {"traefik/http/routers/r/tls", "true"}}}) {
    config::Node root = nodeFromKeyValues(pairs, "traefik", "redis", errors);
    const config::Node* tls = root.find("http")->find("routers")->find("r")->find("tls");
    ASSERT_TRUE(tls->isMap());
    EXPECT_EQ(tls->find("options")->text(), "modern");
  }
}

}  // namespace
}  // namespace causeway::provider

namespace causeway::provider {
namespace {

// KvTree, kept key by key, gives the tree a full build gives; a tree handed on does not change.
TEST(KvTree, KeyByKeyEqualsAFullBuildAndSharedTreesStay) {
  KvTree tree("traefik", "etcd");
  tree.put("traefik/http/routers/a/rule", "Host(`a`)");
  tree.put("traefik/http/routers/a/tls", "true");
  tree.put("traefik/http/routers/a/tls/certResolver", "le");
  tree.put("traefik/http/routers/b/rule", "Host(`b`)");
  tree.put("traefik/http//bad", "x");
  std::shared_ptr<const config::Node> before = tree.tree();
  std::string snapshot = before->toString();

  tree.remove("traefik/http/routers/b/rule");  // b's map is left empty: it goes
  tree.remove("traefik/http/routers/a/tls");   // a directory of other keys: it stays
  tree.put("traefik/http/routers/a/rule", "Host(`c`)");
  tree.remove("traefik/http//bad");
  EXPECT_EQ(before->toString(), snapshot);  // what was handed on did not change

  std::vector<config::ConfigError> errors;
  config::Node full = nodeFromKeyValues(
      std::map<std::string, std::string>{{"traefik/http/routers/a/rule", "Host(`c`)"},
                                         {"traefik/http/routers/a/tls/certResolver", "le"}},
      "traefik", "etcd", errors);
  EXPECT_EQ(tree.tree()->toString(), full.toString());
  EXPECT_EQ(config::fingerprint(*tree.tree()), config::fingerprint(full));
  EXPECT_TRUE(tree.errors().empty());
}

}  // namespace
}  // namespace causeway::provider
