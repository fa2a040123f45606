// The generic configuration tree. Every format (YAML, TOML, CLI flags, environment variables,
// later Docker labels and KV keys) decodes into a Node; one decoder (decode.h) turns a Node into
// typed structs. No format has its own schema.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "config/config_error.h"
#include "core/strings.h"

namespace causeway::config {

struct NodeEntry;

// A value tree node: null, scalar (the text as written, never interpreted here), list, or map.
// Maps keep insertion order and look keys up case-insensitively; a key is unique ignoring case.
// Every node carries the Location it came from. Nodes are plain values: copying copies the tree.
class Node {
public:
  enum class Kind : uint8_t { Null, Scalar, List, Map };

  Node() = default; // null, unknown location
  Node(const Node& other);
  Node& operator=(const Node& other);
  Node(Node&&) noexcept = default;
  Node& operator=(Node&&) noexcept = default;
  ~Node() = default;
  static Node null(Location location = {});
  static Node scalar(std::string text, Location location = {});
  static Node list(Location location = {});
  static Node map(Location location = {});

  Kind kind() const { return Kind(body_.index()); }  // the body's alternatives are in Kind's order
  bool isNull() const { return kind() == Kind::Null; }
  bool isScalar() const { return kind() == Kind::Scalar; }
  bool isList() const { return kind() == Kind::List; }
  bool isMap() const { return kind() == Kind::Map; }
  // For messages: "an empty value", "a value", "a list" or "a map".
  std::string_view kindName() const;

  const Location& location() const { return location_; }
  void setLocation(Location location) { location_ = std::move(location); }

  // Scalar text as written; empty for other kinds.
  const std::string& text() const;

  // List items; empty for other kinds.
  const std::vector<Node>& items() const;
  // Appends a list item (a null node becomes a list first; other kinds are a bug). Returns it.
  Node& append(Node item);

  // Map entries in insertion order; empty for other kinds.
  const std::vector<NodeEntry>& entries() const;
  // Case-insensitive key lookup; nullptr when absent or when this is not a map.
  const Node* find(std::string_view key) const;
  Node* find(std::string_view key);
  std::optional<size_t> indexOf(std::string_view key) const;
  // Sets a map entry (a null node becomes a map first; other kinds are a bug). An existing key
  // (compared case-insensitively) keeps its position and spelling and gets the new value and
  // key location. Returns the stored value.
  Node& set(std::string key, Node value, Location keyLocation = {});
  // Removes a map entry; false when absent.
  bool erase(std::string_view key);
  // Removes every map entry whose key is in `keys` (compared exactly), rebuilding the index once:
  // many removals from a large map. Returns how many were removed.
  size_t eraseKeys(const std::vector<std::string>& keys);

  // Number of list items or map entries; 0 for null and scalars.
  size_t size() const;

  // Compact flow-style rendering for tests and debug logs, e.g. {a: 1, b: [x, y], c: ~}.
  std::string toString() const;

private:
  void rebuildIndex();

  // Key → position in entries, only for maps with many entries (most maps are small): open
  // addressing over the entries' own keys, compared case-insensitively, so that a large map
  // (100,000 routers) holds its keys once and a lookup allocates nothing.
  class Index {
   public:
    explicit Index(const std::vector<NodeEntry>& entries);
    std::optional<size_t> find(std::string_view key, const std::vector<NodeEntry>& entries) const;
    // entries[position] was appended.
    void added(size_t position, const std::vector<NodeEntry>& entries);

   private:
    struct Slot {
      uint32_t position = 0;  // in entries, plus one; 0: empty
      uint32_t hash = 0;      // the key's, truncated: most probes end without comparing keys
    };
    void place(uint32_t position, uint32_t hash);
    std::vector<Slot> slots_;  // a power of two, at most half full
  };
  struct MapBody {
    MapBody() = default;
    MapBody(const MapBody& other);
    MapBody(MapBody&&) noexcept = default;
    MapBody& operator=(MapBody&&) noexcept = default;
    std::vector<NodeEntry> entries;
    std::unique_ptr<Index> index;
  };
  std::string& scalarText() { return std::get<std::string>(body_); }
  std::vector<Node>& listItems() { return std::get<std::vector<Node>>(body_); }
  MapBody& mapBody() { return std::get<MapBody>(body_); }
  const MapBody* mapBody() const { return std::get_if<MapBody>(&body_); }

  // What the kind has, and nothing for the others: a configuration tree holds a node per value,
  // and one of these instead of a member for each kind keeps a node at 64 bytes (was 152).
  std::variant<std::monostate, std::string, std::vector<Node>, MapBody> body_;
  Location location_;
};

struct NodeEntry {
  std::string key;      // as written
  Location keyLocation; // where the key was written (errors about the entry point here)
  Node value;
};

// Merges `top` into `base`: when both are maps, entries merge recursively (keys compared
// case-insensitively; new keys are appended); otherwise `top` replaces `base`, locations
// included. Used to layer file < environment < flags.
void overlay(Node& base, const Node& top);

// Hash of the content (kinds, scalar text, keys compared case-insensitively, list order; not
// map order, not locations). Equal content gives an equal fingerprint, in every process.
uint64_t fingerprint(const Node& node);
// Equal content by the fingerprint's rules (kinds, scalar text, keys ignoring case, list
// order; not map order, not locations), compared in full: where two definitions from
// different authors must really be the same, an equal fingerprint is only the quick test
// (it is a fast hash, not a collision-resistant one).
bool sameContent(const Node& a, const Node& b);

} // namespace causeway::config
