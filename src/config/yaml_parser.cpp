// YAML → Node, with libyaml's event parser: the events are built into Nodes directly, with
// no document model in between. (yaml-cpp, used before, built its own node graph first and
// took 250 ms for a file of 10,000 routers; the events of the same file take 13 ms.)
//
// What a YAML file means here (docs/architecture.md, "Configuration pipeline"): the first
// document; scalars as written (a plain empty, ~ or null is a null node); tags ignored;
// anchors and aliases (a copy of the anchored node); merge keys `<<`; keys compared
// case-insensitively, a duplicate is a warning and the later value wins.

#include <yaml.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>

#include "config/parse.h"

namespace causeway::config {

namespace {

// Deeper nesting is an error, not a stack overflow (no configuration comes near it).
constexpr int kMaxDepth = 500;

class EventBuilder {
public:
  EventBuilder(std::string_view text, std::shared_ptr<const std::string> source,
               std::vector<ConfigError>& errors)
      : text_(text), source_(std::move(source)), errors_(errors) {
    yaml_parser_initialize(&parser_);
    yaml_parser_set_input_string(&parser_, reinterpret_cast<const unsigned char*>(text.data()),
                                 text.size());
  }
  ~EventBuilder() {
    if (hasEvent_) yaml_event_delete(&event_);
    yaml_parser_delete(&parser_);
  }
  EventBuilder(const EventBuilder&) = delete;
  EventBuilder& operator=(const EventBuilder&) = delete;

  // The first document's root; a null node (and an error unless the stream is empty) otherwise.
  Node document() {
    Location start{source_, 0, 0};
    if (!next() || !next()) return Node();  // STREAM-START, then DOCUMENT-START or STREAM-END
    if (event_.type != YAML_DOCUMENT_START_EVENT) return Node::null(start);
    if (!next()) return Node();
    Node root = node(start, 0);
    // The document must end here, and what follows must be the end or another document
    // ("---", not read): text after a flow root ("{…}} junk") is an error too.
    if (failed_ || !next() || !next()) return Node();
    if (event_.type != YAML_STREAM_END_EVENT && event_.type != YAML_DOCUMENT_START_EVENT) {
      fail(at(event_.start_mark), "invalid YAML: text after the end of the document");
      return Node();
    }
    return root;
  }

private:
  Location at(const yaml_mark_t& mark) const {
    return Location{source_, int(mark.line) + 1, int(mark.column) + 1};
  }
  Location atOffset(size_t offset) const {
    offset = std::min(offset, text_.size());
    size_t lineStart = text_.rfind('\n', offset == 0 ? 0 : offset - 1);
    lineStart = lineStart == std::string_view::npos || offset == 0 ? 0 : lineStart + 1;
    int line = 1 + int(std::count(text_.begin(), text_.begin() + long(lineStart), '\n'));
    return Location{source_, line, int(offset - lineStart) + 1};
  }

  // Reads the next event into event_; false (with the error recorded) when the text is not
  // YAML.
  bool next() {
    if (hasEvent_) {
      yaml_event_delete(&event_);
      hasEvent_ = false;
    }
    if (failed_) return false;
    if (!yaml_parser_parse(&parser_, &event_)) {
      std::string message = "invalid YAML: ";
      message += parser_.problem ? parser_.problem : "unreadable text";
      if (parser_.context)
        message += std::string(" (") + parser_.context + " at line " + std::to_string(parser_.context_mark.line + 1) + ")";
      // The reader's errors (bad UTF-8, control characters) carry only an offset.
      fail(parser_.error == YAML_READER_ERROR ? atOffset(parser_.problem_offset) : at(parser_.problem_mark),
           std::move(message));
      return false;
    }
    hasEvent_ = true;
    return true;
  }

  void fail(Location location, std::string message) {
    if (failed_) return;
    failed_ = true;
    errors_.push_back({std::move(location), {}, std::move(message), false});
  }

  static std::string anchorOf(const unsigned char* anchor) {
    return anchor ? std::string(reinterpret_cast<const char*>(anchor)) : std::string();
  }

  // The node that starts at the current event; on return the current event is its last one.
  // `fallback` is where an implicit empty value is reported (its key).
  Node node(const Location& fallback, int depth) {
    if (depth > kMaxDepth) {
      fail(at(event_.start_mark), "invalid YAML: nesting too deep");
      return Node();
    }
    switch (event_.type) {
    case YAML_SCALAR_EVENT: {
      const auto& s = event_.data.scalar;
      std::string_view text(reinterpret_cast<const char*>(s.value), s.length);
      // Null: an untagged plain empty, ~ or null, or a value tagged !!null ("!!str null" is text).
      std::string_view tag = s.tag ? reinterpret_cast<const char*>(s.tag) : "";
      bool plain = tag.empty() && (s.style == YAML_PLAIN_SCALAR_STYLE || s.style == YAML_ANY_SCALAR_STYLE);
      Node out;
      if ((plain || tag == YAML_NULL_TAG) && text.empty()) out = Node::null(fallback);
      else if ((plain && (text == "~" || text == "null" || text == "Null" || text == "NULL")) || tag == YAML_NULL_TAG)
        out = Node::null(at(event_.start_mark));
      else out = Node::scalar(std::string(text), at(event_.start_mark));
      remember(anchorOf(s.anchor), out);
      return out;
    }
    case YAML_ALIAS_EVENT: {
      std::string name = anchorOf(event_.data.alias.anchor);
      auto it = anchors_.find(name);
      if (it == anchors_.end()) {
        fail(at(event_.start_mark), "invalid YAML: the alias *" + name + " refers to no anchor before it");
        return Node();
      }
      return it->second;
    }
    case YAML_SEQUENCE_START_EVENT: {
      std::string anchor = anchorOf(event_.data.sequence_start.anchor);
      Node list = Node::list(at(event_.start_mark));
      const Location& here = list.location();
      while (next() && event_.type != YAML_SEQUENCE_END_EVENT) {
        list.append(node(here, depth + 1));
        if (failed_) return Node();
      }
      remember(anchor, list);
      return list;
    }
    case YAML_MAPPING_START_EVENT:
      return mapping(depth);
    default:
      fail(at(event_.start_mark), "invalid YAML: unexpected event");
      return Node();
    }
  }

  Node mapping(int depth) {
    std::string anchor = anchorOf(event_.data.mapping_start.anchor);
    Node map = Node::map(at(event_.start_mark));
    std::vector<Node> mergeSources;  // values of `<<` keys, applied after the explicit keys
    while (next() && event_.type != YAML_MAPPING_END_EVENT) {
      Location keyLocation = at(event_.start_mark);
      // A key may carry an anchor or be an alias; it must come out a scalar.
      Node keyNode = node(keyLocation, depth + 1);
      if (failed_) return Node();
      bool plainKey = keyNode.isScalar();
      std::string key = plainKey ? keyNode.text() : std::string();
      if (!plainKey) errors_.push_back({keyLocation, {}, "map keys must be plain values", false});
      if (!next()) return Node();
      Node value = node(keyLocation, depth + 1);
      if (failed_) return Node();
      if (!plainKey) continue;
      if (key == "<<") {
        mergeSources.push_back(std::move(value));
        continue;
      }
      if (const auto i = map.indexOf(key)) {
        errors_.push_back({keyLocation,
                           {},
                           "duplicate key '" + key +
                               "' (keys are case-insensitive; the first is '" +
                               map.entries()[*i].key + "'); the later value wins",
                           true});
      }
      map.set(std::move(key), std::move(value), std::move(keyLocation));
    }
    if (failed_) return Node();
    for (const Node& source : mergeSources) merge(map, source);
    remember(anchor, map);
    return map;
  }

  // YAML merge key: entries of the merged map(s) that the map does not define itself.
  void merge(Node& map, const Node& source) {
    if (source.isList()) {
      for (const Node& item : source.items()) merge(map, item);
      return;
    }
    if (!source.isMap()) {
      errors_.push_back({source.location(), {}, "a merge key '<<' expects a map or a list of maps", false});
      return;
    }
    for (const NodeEntry& entry : source.entries())
      if (!map.find(entry.key)) map.set(entry.key, entry.value, entry.keyLocation);
  }

  void remember(const std::string& anchor, const Node& node) {
    if (!anchor.empty()) anchors_[anchor] = node;
  }

  std::string_view text_;
  yaml_parser_t parser_;
  yaml_event_t event_{};
  bool hasEvent_ = false;
  bool failed_ = false;
  std::shared_ptr<const std::string> source_;
  std::vector<ConfigError>& errors_;
  std::map<std::string, Node> anchors_;  // a later anchor of the same name replaces it
};

} // namespace

ParseResult parseYaml(std::string_view text, const std::string& name) {
  ParseResult result;
  EventBuilder builder(text, sourceName(name), result.errors);
  result.root = builder.document();
  return result;
}

} // namespace causeway::config
