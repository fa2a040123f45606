
#include <gtest/gtest.h>

#include "config/node.h"
#include "config/parse.h"

namespace causeway::config {
namespace {

Node yaml(std::string_view text) {
  ParseResult result = parseYaml(text, "test.yml");
  EXPECT_TRUE(result.errors.empty()) << result.errors.front().toString();
  return result.root;
}

TEST(Node, MapKeysAreCaseInsensitiveAndOrdered) {
  Node map = Node::map();
  map.set("Beta", Node::scalar("1"));
  map.set("alpha", Node::scalar("2"));
  map.set("BETA", Node::scalar("3")); // replaces, keeps position and spelling
  ASSERT_EQ(map.size(), 2u);
  EXPECT_EQ(map.entries()[0].key, "Beta");
  EXPECT_EQ(map.find("beta")->text(), "3");
  EXPECT_EQ(map.find("ALPHA")->text(), "2");
  EXPECT_EQ(map.find("gamma"), nullptr);
  EXPECT_TRUE(map.erase("alpha"));
  EXPECT_FALSE(map.erase("alpha"));
  EXPECT_EQ(map.toString(), "{Beta: 3}");
}

TEST(Node, LargeMapsUseTheIndexConsistently) {
  Node map = Node::map();
  for (int i = 0; i < 100; ++i)
    map.set("Key" + std::to_string(i), Node::scalar(std::to_string(i)));
  map.set("KEY42", Node::scalar("x"));
  EXPECT_EQ(map.size(), 100u);
  EXPECT_EQ(map.find("key42")->text(), "x");
  EXPECT_TRUE(map.erase("key0"));
  EXPECT_EQ(map.find("KEY99")->text(), "99");
  EXPECT_EQ(map.entries().front().key, "Key1");
}

TEST(Node, TheIndexGrowsAndIsCopiedWithTheMap) {
  Node map = Node::map();
  for (int i = 0; i < 5000; ++i) map.set("r" + std::to_string(i), Node::scalar(std::to_string(i)));
  map.set("R4999", Node::scalar("last"));  // an existing key, through the grown index
  Node copy = map;
  map.set("r0", Node::scalar("changed"));
  EXPECT_EQ(copy.size(), 5000u);
  for (int i = 0; i < 4999; ++i) {
    ASSERT_NE(copy.find("R" + std::to_string(i)), nullptr) << i;
    EXPECT_EQ(copy.find("r" + std::to_string(i))->text(), std::to_string(i));
  }
  EXPECT_EQ(copy.find("r4999")->text(), "last");
  EXPECT_EQ(map.find("R0")->text(), "changed");
  EXPECT_EQ(copy.find("r5000"), nullptr);
}

TEST(Node, EraseKeysRemovesManyAndKeepsTheIndex) {
  Node map = Node::map();
  for (int i = 0; i < 40; ++i) map.set("k" + std::to_string(i), Node::scalar(std::to_string(i)));
  EXPECT_EQ(map.eraseKeys({"k3", "k17", "absent", "k39"}), 3u);
  EXPECT_EQ(map.size(), 37u);
  EXPECT_EQ(map.find("k17"), nullptr);
  ASSERT_NE(map.find("K18"), nullptr);  // still found through the index, case-insensitively
  EXPECT_EQ(map.find("k18")->text(), "18");
  EXPECT_EQ(map.eraseKeys({}), 0u);
}

TEST(Node, ToString) {
  Node node = yaml("a: 1\nb: [x, 'y z']\nc:\nd: {e: ''}\n");
  EXPECT_EQ(node.toString(), "{a: 1, b: [x, y z], c: ~, d: {e: \"\"}}");
}

TEST(Overlay, MapsMergeRecursivelyAndOtherValuesReplace) {
  Node base = yaml("entryPoints:\n  web:\n    address: ':80'\n    reusePort: true\n"
                   "log: {level: INFO}\nlist: [a, b]\n");
  Node top = yaml("EntryPoints:\n  WEB:\n    address: ':8080'\n  websecure:\n    address: ':443'\n"
                  "log: DEBUG\nlist: [c]\n");
  overlay(base, top);
  EXPECT_EQ(base.toString(),
            "{entryPoints: {web: {address: \":8080\", reusePort: true}, websecure: "
            "{address: \":443\"}}, log: DEBUG, list: [c]}");
  // The replaced value carries its new location.
  EXPECT_EQ(base.find("log")->location().line, 6);
}

TEST(Overlay, ReplacesNonMapBase) {
  Node base = Node::scalar("true");
  overlay(base, yaml("a: 1"));
  EXPECT_EQ(base.toString(), "{a: 1}");
  Node map = yaml("a: 1");
  overlay(map, Node::map());
  EXPECT_EQ(map.toString(), "{a: 1}");
}

TEST(Fingerprint, EqualContentEqualFingerprint) {
  Node a = yaml("http:\n  routers:\n    r: {rule: 'Host(`a`)', priority: 1}\n");
  Node b = yaml("\n\nhttp:\n  routers:\n    r:\n      priority: 1\n      Rule: 'Host(`a`)'\n");
  EXPECT_EQ(fingerprint(a), fingerprint(b)); // locations, key case and map order don't count
  EXPECT_EQ(fingerprint(a), fingerprint(a));
  // Keys compare case-insensitively past the first eight bytes too; values do not.
  EXPECT_EQ(fingerprint(yaml("loadBalancerServers: [x]\n")), fingerprint(yaml("LOADBALANCERservers: [x]\n")));
  EXPECT_NE(fingerprint(yaml("a: loadBalancerServers\n")), fingerprint(yaml("a: LOADBALANCERservers\n")));
  EXPECT_NE(fingerprint(yaml("a: x@[\n")), fingerprint(yaml("a: x`{\n")));  // bytes beside the letters
  EXPECT_NE(fingerprint(yaml("a@: 1\n")), fingerprint(yaml("a`: 1\n")));
}

TEST(Fingerprint, DifferentContentDifferentFingerprint) {
  const uint64_t base = fingerprint(yaml("a: [x, y]\nb: 1\n"));
  EXPECT_NE(base, fingerprint(yaml("a: [y, x]\nb: 1\n"))); // list order counts
  EXPECT_NE(base, fingerprint(yaml("a: [x, y]\nb: 2\n")));
  EXPECT_NE(base, fingerprint(yaml("a: [x, y]\nc: 1\n")));
  EXPECT_NE(base, fingerprint(yaml("a: [x, y]\nb: 1\nc: 1\n")));
  EXPECT_NE(fingerprint(Node::null()), fingerprint(Node::scalar("")));
  EXPECT_NE(fingerprint(Node::map()), fingerprint(Node::list()));
  EXPECT_NE(fingerprint(yaml("a: {b: 1}")), fingerprint(yaml("b: {a: 1}")));
}

TEST(Fingerprint, SameContentComparesInFull) {
  EXPECT_TRUE(sameContent(yaml("a: [x, y]\nB: {c: 1, d: ~}\n"), yaml("b: {D: ~, c: 1}\na: [x, y]\n")));
  EXPECT_FALSE(sameContent(yaml("a: [x, y]\n"), yaml("a: [y, x]\n")));
  EXPECT_FALSE(sameContent(yaml("a: 1\n"), yaml("a: 1\nb: 2\n")));
  EXPECT_FALSE(sameContent(yaml("a: x\n"), yaml("a: X\n")));
  EXPECT_FALSE(sameContent(yaml("a: ~\n"), yaml("a: ''\n")));
  // Two texts of one length with the same fast hash (found by search) are still different.
  Node first = Node::scalar("routerA-servicex"), second = Node::scalar("0000f620O5Lj.7gE");
  EXPECT_FALSE(sameContent(first, second));
}

TEST(Fingerprint, StableAcrossRuns) {
  // The value must not depend on the process (no random seeds, no pointers).
  Node node = Node::map();
  node.set("rule", Node::scalar("Host(`example.com`)"));
  EXPECT_EQ(fingerprint(node), fingerprint(yaml("rule: Host(`example.com`)")));
  // Pinned, so that a change of the hash is a decision: fingerprints are compared within one
  // process only today (reload reuse), but a cache shared across versions would need them equal.
  // (Changed once: FNV-1a byte by byte → eight bytes at a time.)
  EXPECT_EQ(fingerprint(node), 8081590496235043670ULL);
}

} // namespace
} // namespace causeway::config
