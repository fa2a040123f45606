#include "config/node.h"

#include <unordered_set>
#include <cstring>

#include <cassert>

namespace causeway::config {

namespace {

// Maps with at least this many entries keep a hash index; smaller ones are scanned.
constexpr size_t kIndexThreshold = 16;

uint64_t mix(uint64_t x) { // splitmix64 finalizer
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// ASCII 'A'..'Z' of the eight bytes in `w` made lower-case, other bytes as they are.
uint64_t lowerWord(uint64_t w) {
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  uint64_t low7 = w & ~kHigh;
  // Bit 7 of a byte: b + 0x3f crosses it from 'A' on, b + 0x25 from 'Z' + 1 on.
  uint64_t upper = ((low7 + 0x3f3f3f3f3f3f3f3fULL) ^ (low7 + 0x2525252525252525ULL)) & ~w & kHigh;
  return w | (upper >> 2);  // 0x80 >> 2 is the case bit
}

// Eight bytes at a time: every reload hashes every element of the configuration twice
// (the provider's change check, then the decode's reuse check).
uint64_t hashText(std::string_view s, bool lowerCase) {
  uint64_t h = 0x9E3779B97F4A7C15ULL ^ s.size();
  size_t i = 0;
  auto add = [&](uint64_t w) {
    if (lowerCase) w = lowerWord(w);
    h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 31;
  };
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    add(w);
  }
  if (i < s.size()) {
    uint64_t w = 0;
    std::memcpy(&w, s.data() + i, s.size() - i);
    add(w);
  }
  return mix(h);
}

bool needsQuotes(std::string_view s) {
  if (s.empty() || s.front() == ' ' || s.back() == ' ') return true;
  return s.find_first_of(",:{}[]\"#~") != std::string_view::npos;
}

void render(const Node& node, std::string& out) {
  switch (node.kind()) {
  case Node::Kind::Null:
    out += '~';
    break;
  case Node::Kind::Scalar:
    if (needsQuotes(node.text())) {
      out += '"';
      for (char c : node.text()) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
      }
      out += '"';
    } else {
      out += node.text();
    }
    break;
  case Node::Kind::List: {
    out += '[';
    const char* separator = "";
    for (const Node& item : node.items()) {
      out += separator;
      render(item, out);
      separator = ", ";
    }
    out += ']';
    break;
  }
  case Node::Kind::Map: {
    out += '{';
    const char* separator = "";
    for (const NodeEntry& entry : node.entries()) {
      out += separator;
      out += entry.key;
      out += ": ";
      render(entry.value, out);
      separator = ", ";
    }
    out += '}';
    break;
  }
  }
}

} // namespace

Node Node::null(Location location) {
  Node node;
  node.location_ = std::move(location);
  return node;
}

Node Node::scalar(std::string text, Location location) {
  Node node;
  node.body_ = std::move(text);
  node.location_ = std::move(location);
  return node;
}

Node Node::list(Location location) {
  Node node;
  node.body_ = std::vector<Node>();
  node.location_ = std::move(location);
  return node;
}

Node Node::map(Location location) {
  Node node;
  node.body_ = MapBody();
  node.location_ = std::move(location);
  return node;
}

const std::string& Node::text() const {
  static const std::string none;
  const std::string* text = std::get_if<std::string>(&body_);
  return text ? *text : none;
}

const std::vector<Node>& Node::items() const {
  static const std::vector<Node> none;
  const std::vector<Node>* items = std::get_if<std::vector<Node>>(&body_);
  return items ? *items : none;
}

const std::vector<NodeEntry>& Node::entries() const {
  static const std::vector<NodeEntry> none;
  const MapBody* map = mapBody();
  return map ? map->entries : none;
}

Node::MapBody::MapBody(const MapBody& other)
    : entries(other.entries), index(other.index ? std::make_unique<Index>(*other.index) : nullptr) {}

std::string_view Node::kindName() const {
  switch (kind()) {
  case Kind::Null:
    return "an empty value";
  case Kind::Scalar:
    return "a value";
  case Kind::List:
    return "a list";
  case Kind::Map:
    return "a map";
  }
  return "?";
}

Node::Node(const Node& other) : body_(other.body_), location_(other.location_) {}

Node& Node::operator=(const Node& other) {
  if (this != &other) *this = Node(other);
  return *this;
}

Node& Node::append(Node item) {
  assert(isNull() || isList());
  if (isNull()) body_ = std::vector<Node>();
  std::vector<Node>& items = listItems();
  items.push_back(std::move(item));
  return items.back();
}

std::optional<size_t> Node::indexOf(std::string_view key) const {
  const MapBody* map = mapBody();
  if (!map) return std::nullopt;
  if (map->index) return map->index->find(key, map->entries);
  for (size_t i = 0; i < map->entries.size(); ++i)
    if (iequals(map->entries[i].key, key)) return i;
  return std::nullopt;
}

const Node* Node::find(std::string_view key) const {
  auto i = indexOf(key);
  return i ? &mapBody()->entries[*i].value : nullptr;
}

Node* Node::find(std::string_view key) {
  auto i = indexOf(key);
  return i ? &mapBody().entries[*i].value : nullptr;
}

Node& Node::set(std::string key, Node value, Location keyLocation) {
  assert(isNull() || isMap());
  if (isNull()) body_ = MapBody();
  MapBody& map = mapBody();
  if (auto i = indexOf(key)) {
    NodeEntry& entry = map.entries[*i];
    entry.value = std::move(value);
    entry.keyLocation = std::move(keyLocation);
    return entry.value;
  }
  map.entries.push_back(NodeEntry{std::move(key), std::move(keyLocation), std::move(value)});
  if (map.index)
    map.index->added(map.entries.size() - 1, map.entries);
  else if (map.entries.size() >= kIndexThreshold)
    rebuildIndex();
  return map.entries.back().value;
}

bool Node::erase(std::string_view key) {
  auto i = indexOf(key);
  if (!i) return false;
  MapBody& map = mapBody();
  map.entries.erase(map.entries.begin() + std::ptrdiff_t(*i));
  map.index.reset();
  if (map.entries.size() >= kIndexThreshold) rebuildIndex();
  return true;
}

size_t Node::eraseKeys(const std::vector<std::string>& keys) {
  MapBody* map = isMap() ? &mapBody() : nullptr;
  if (keys.empty() || !map || map->entries.empty()) return 0;
  std::unordered_set<std::string_view> doomed(keys.begin(), keys.end());
  size_t before = map->entries.size();
  std::erase_if(map->entries, [&](const NodeEntry& e) { return doomed.count(e.key) > 0; });
  map->index.reset();
  if (map->entries.size() >= kIndexThreshold) rebuildIndex();
  return before - map->entries.size();
}

void Node::rebuildIndex() {
  MapBody& map = mapBody();
  map.index = std::make_unique<Index>(map.entries);
}

Node::Index::Index(const std::vector<NodeEntry>& entries) {
  size_t capacity = 64;
  while (capacity < entries.size() * 2) capacity *= 2;
  slots_.resize(capacity);
  for (size_t i = 0; i < entries.size(); ++i)
    if (!find(entries[i].key, entries))  // the first of keys equal but for case, as set() keeps it
      place(uint32_t(i + 1), uint32_t(CaseInsensitiveHash{}(entries[i].key)));
}

void Node::Index::place(uint32_t position, uint32_t hash) {
  size_t mask = slots_.size() - 1;
  for (size_t at = hash & mask;; at = (at + 1) & mask) {
    if (slots_[at].position == 0) {
      slots_[at] = {position, hash};
      return;
    }
  }
}

std::optional<size_t> Node::Index::find(std::string_view key, const std::vector<NodeEntry>& entries) const {
  auto hash = uint32_t(CaseInsensitiveHash{}(key));
  size_t mask = slots_.size() - 1;
  for (size_t at = hash & mask;; at = (at + 1) & mask) {
    const Slot& slot = slots_[at];
    if (slot.position == 0) return std::nullopt;
    if (slot.hash == hash && iequals(entries[slot.position - 1].key, key)) return slot.position - 1;
  }
}

void Node::Index::added(size_t position, const std::vector<NodeEntry>& entries) {
  if ((position + 1) * 2 > slots_.size()) {
    *this = Index(entries);
    return;
  }
  place(uint32_t(position + 1), uint32_t(CaseInsensitiveHash{}(entries[position].key)));
}

size_t Node::size() const {
  if (isList()) return items().size();
  if (isMap()) return entries().size();
  return 0;
}

std::string Node::toString() const {
  std::string out;
  render(*this, out);
  return out;
}

void overlay(Node& base, const Node& top) {
  if (!base.isMap() || !top.isMap()) {
    base = top;
    return;
  }
  for (const NodeEntry& entry : top.entries()) {
    Node* existing = base.find(entry.key);
    if (existing && existing->isMap() && entry.value.isMap())
      overlay(*existing, entry.value);
    else
      base.set(entry.key, entry.value, entry.keyLocation);
  }
}

uint64_t fingerprint(const Node& node) {
  switch (node.kind()) {
  case Node::Kind::Null:
    return mix(1);
  case Node::Kind::Scalar:
    return mix(2 + hashText(node.text(), false));
  case Node::Kind::List: {
    uint64_t h = mix(3);
    for (const Node& item : node.items())
      h = mix(h * 31 + fingerprint(item));
    return h;
  }
  case Node::Kind::Map: {
    uint64_t sum = 0; // order-independent
    for (const NodeEntry& entry : node.entries())
      sum += mix(hashText(entry.key, true) * 31 + fingerprint(entry.value));
    return mix(4 + sum);
  }
  }
  return 0;
}

bool sameContent(const Node& a, const Node& b) {
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
  case Node::Kind::Null:
    return true;
  case Node::Kind::Scalar:
    return a.text() == b.text();
  case Node::Kind::List: {
    if (a.items().size() != b.items().size()) return false;
    for (size_t i = 0; i < a.items().size(); ++i)
      if (!sameContent(a.items()[i], b.items()[i])) return false;
    return true;
  }
  case Node::Kind::Map: {
    if (a.entries().size() != b.entries().size()) return false;  // keys are unique ignoring case
    for (const NodeEntry& entry : a.entries()) {
      const Node* other = b.find(entry.key);
      if (!other || !sameContent(entry.value, *other)) return false;
    }
    return true;
  }
  }
  return false;
}

} // namespace causeway::config
