#include "config/node.h"

#include <unordered_set>

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

uint64_t hashText(std::string_view s, bool lowerCase) {
  uint64_t h = 1469598103934665603ULL; // FNV-1a
  for (char c : s) {
    h ^= uint8_t(lowerCase ? asciiLower(c) : c);
    h *= 1099511628211ULL;
  }
  return mix(h ^ s.size());
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
  node.kind_ = Kind::Scalar;
  node.text_ = std::move(text);
  node.location_ = std::move(location);
  return node;
}

Node Node::list(Location location) {
  Node node;
  node.kind_ = Kind::List;
  node.location_ = std::move(location);
  return node;
}

Node Node::map(Location location) {
  Node node;
  node.kind_ = Kind::Map;
  node.location_ = std::move(location);
  return node;
}

std::string_view Node::kindName() const {
  switch (kind_) {
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

Node::Node(const Node& other)
    : kind_(other.kind_),
      text_(other.text_),
      items_(other.items_),
      entries_(other.entries_),
      index_(other.index_ ? std::make_unique<Index>(*other.index_) : nullptr),
      location_(other.location_) {}

Node& Node::operator=(const Node& other) {
  if (this != &other) *this = Node(other);
  return *this;
}

Node& Node::append(Node item) {
  assert(kind_ == Kind::Null || kind_ == Kind::List);
  kind_ = Kind::List;
  items_.push_back(std::move(item));
  return items_.back();
}

std::optional<size_t> Node::indexOf(std::string_view key) const {
  if (kind_ != Kind::Map) return std::nullopt;
  if (index_) {
    auto it = index_->find(key);
    if (it == index_->end()) return std::nullopt;
    return it->second;
  }
  for (size_t i = 0; i < entries_.size(); ++i)
    if (iequals(entries_[i].key, key)) return i;
  return std::nullopt;
}

const Node* Node::find(std::string_view key) const {
  auto i = indexOf(key);
  return i ? &entries_[*i].value : nullptr;
}

Node* Node::find(std::string_view key) {
  auto i = indexOf(key);
  return i ? &entries_[*i].value : nullptr;
}

Node& Node::set(std::string key, Node value, Location keyLocation) {
  assert(kind_ == Kind::Null || kind_ == Kind::Map);
  kind_ = Kind::Map;
  if (auto i = indexOf(key)) {
    NodeEntry& entry = entries_[*i];
    entry.value = std::move(value);
    entry.keyLocation = std::move(keyLocation);
    return entry.value;
  }
  entries_.push_back(NodeEntry{std::move(key), std::move(keyLocation), std::move(value)});
  if (index_)
    index_->emplace(entries_.back().key, entries_.size() - 1);
  else if (entries_.size() >= kIndexThreshold)
    rebuildIndex();
  return entries_.back().value;
}

bool Node::erase(std::string_view key) {
  auto i = indexOf(key);
  if (!i) return false;
  entries_.erase(entries_.begin() + std::ptrdiff_t(*i));
  index_.reset();
  if (entries_.size() >= kIndexThreshold) rebuildIndex();
  return true;
}

size_t Node::eraseKeys(const std::vector<std::string>& keys) {
  if (keys.empty() || entries_.empty()) return 0;
  std::unordered_set<std::string_view> doomed(keys.begin(), keys.end());
  size_t before = entries_.size();
  std::erase_if(entries_, [&](const NodeEntry& e) { return doomed.count(e.key) > 0; });
  index_.reset();
  if (entries_.size() >= kIndexThreshold) rebuildIndex();
  return before - entries_.size();
}

void Node::rebuildIndex() {
  index_ = std::make_unique<Index>();
  index_->reserve(entries_.size());
  for (size_t i = 0; i < entries_.size(); ++i)
    index_->emplace(entries_[i].key, i);
}

size_t Node::size() const {
  if (kind_ == Kind::List) return items_.size();
  if (kind_ == Kind::Map) return entries_.size();
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

} // namespace causeway::config
