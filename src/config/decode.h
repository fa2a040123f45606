// The one decoder: generic tree (node.h) → typed structs, with defaults, case-insensitive keys
// and errors that name the element and what was expected.
//
// A struct takes part by listing its fields in a static `describe` member, one line per field;
// defaults are the member initialisers:
//
//   struct Ping {
//     std::string entryPoint = "traefik";
//     bool manualRouting = false;
//     static void describe(auto& self, auto& v) {
//       v("entryPoint", self.entryPoint);
//       v("manualRouting", self.manualRouting);
//     }
//   };
//
// Field names must be string literals. A field may take options: `v("strategy", self.strategy,
// OneOf{"wrr", "p2c"})`. Optional hooks on a struct:
//   void validate(DecodeContext&) const;            checks after decoding (e.g. "exactly one of")
//   void decodeNode(const Node&, DecodeContext&);   replaces field decoding entirely
//
// What each target type accepts:
//   std::string       a scalar, as written
//   bool              true/false (also 1/0, t/f), ignoring case
//   integers, double  decimal text; out-of-range is an error
//   Duration          see duration.h
//   Node              anything, kept raw
//   std::vector<T>    a list; a scalar split on commas (CLI/env lists); a map whose keys are all
//                     indexes ("0", "1", ... from flags and env), in index order. Replaces the
//                     default.
//   std::map<string,T> a map of named entries (names as written)
//   std::optional<T>  absent → nullopt. For a struct T: an empty value, {} or "true" → present
//                     with defaults; "false" → nullopt. std::optional<Node>: present as written
//                     (raw sections whose presence matters, e.g. `providers.docker:`).
//   Element<T>        T plus its own errors, location and fingerprint (per-element status)
//   structs           a map of the described fields; unknown keys are errors; "true"/"false" are
//                     accepted (section presence) and leave the defaults
// An empty value (`key:` in YAML) leaves a scalar, list or map field at its default.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "config/box.h"
#include "config/config_error.h"
#include "config/decode_context.h"
#include "config/duration.h"
#include "config/node.h"

namespace causeway::config {

// Field option: the allowed values of a string field, matched ignoring case; the value is stored
// with the spelling listed here.
template <size_t N> struct OneOf { std::array<std::string_view, N> values; };
template <class... A> OneOf(A...) -> OneOf<sizeof...(A)>;

// Field option: a Traefik option causeway does not implement yet. When the key is present its
// value is kept (decoded as usual) and an `unsupported` warning names it with `what` (what is
// ignored and what happens instead), so that nothing is ignored in silence.
struct NotYet {
  std::string_view what;
};

// A named dynamic element (router, service, ...) with its own status: an element with errors
// is disabled, its siblings are not affected.
template <class T> struct Element {
  T value;
  Location location;               // where its name was written
  std::vector<ConfigError> errors; // errors about this element (also reported to the caller)
  uint64_t fingerprint = 0;        // fingerprint() of its raw node: equal → unchanged

  bool ok() const { return !hasErrors(errors); }
};

template <class T> void decode(const Node& node, T& out, DecodeContext& context);

namespace detail {

template <class T> struct IsVector : std::false_type {};
template <class T> struct IsVector<std::vector<T>> : std::true_type {};
template <class T> struct IsMap : std::false_type {};
template <class T> struct IsMap<std::map<std::string, T>> : std::true_type {};
template <class T> struct IsOptional : std::false_type {};
template <class T> struct IsOptional<std::optional<T>> : std::true_type {};
template <class T> struct IsOptional<Box<T>> : std::true_type {};
template <class T> struct IsElement : std::false_type {};
template <class T> struct IsElement<Element<T>> : std::true_type {};

// Visitor that records field names (used for "expected one of" messages and key lists).
struct NameCollector {
  std::vector<std::string_view> names;
  template <class F, class... Options>
  void operator()(std::string_view name, F&, const Options&...) {
    names.push_back(name);
  }
};

template <class T>
concept Described = requires(T& t, NameCollector& v) {
  T::describe(t, v);
};
template <class T>
concept CustomDecoded = requires(T& t, const Node& n, DecodeContext& c) {
  t.decodeNode(n, c);
};
template <class T>
concept Validated = requires(const T& t, DecodeContext& c) {
  t.validate(c);
};

template <class T>
constexpr bool kIsScalarType =
    std::is_arithmetic_v<T> || std::is_same_v<T, std::string> || std::is_same_v<T, Duration>;

// Scalar decoders: leave `out` unchanged on an empty value or an error.
void decodeString(const Node& node, std::string& out, DecodeContext& context);
void decodeBool(const Node& node, bool& out, DecodeContext& context);
void decodeSigned(const Node& node, int64_t& out, int64_t min, int64_t max, DecodeContext& context);
void decodeUnsigned(const Node& node, uint64_t& out, uint64_t max, DecodeContext& context);
void decodeDouble(const Node& node, double& out, DecodeContext& context);
void decodeDuration(const Node& node, Duration& out, DecodeContext& context);

// "a, b, c" → scalar nodes a, b, c (same location; empty pieces dropped).
std::vector<Node> splitCommaList(const Node& scalar);
// A map whose keys are all decimal indexes → its values in index order; nullopt otherwise.
std::optional<std::vector<const Node*>> indexedItems(const Node& map);
// Checks `value` against `allowed` ignoring case and normalises its spelling; false if absent.
bool matchOneOf(std::string& value, std::span<const std::string_view> allowed);
std::string joinNames(std::span<const std::string_view> names);
bool isPresenceFlag(const Node& node); // scalar "true" or "false", ignoring case
bool isFalse(const Node& node);        // scalar "false", ignoring case

template <class T> const std::vector<std::string_view>& fieldNames() {
  static const std::vector<std::string_view> names = [] { // views of string literals
    T probe{};
    NameCollector collector;
    T::describe(probe, collector);
    return collector.names;
  }();
  return names;
}

// Visitor that decodes the described fields of a struct from a map node.
class FieldDecoder {
public:
  FieldDecoder(const Node& map, DecodeContext& context)
      : map_(map), context_(context), used_(map.size(), false) {}

  template <class F> void operator()(std::string_view name, F& field) {
    if (const NodeEntry* entry = take(name)) {
      auto scope = context_.enter(name, entry->keyLocation);
      decode(entry->value, field, context_);
    }
  }

  template <class F, size_t N>
  void operator()(std::string_view name, F& field, const OneOf<N>& allowed) {
    const NodeEntry* entry = take(name);
    if (!entry) return;
    auto scope = context_.enter(name, entry->keyLocation);
    decode(entry->value, field, context_);
    std::string* value = nullptr;
    if constexpr (std::is_same_v<F, std::string>) value = &field;
    if constexpr (std::is_same_v<F, std::optional<std::string>> || std::is_same_v<F, Box<std::string>>)
      value = field ? &*field : nullptr;
    static_assert(std::is_same_v<F, std::string> || std::is_same_v<F, std::optional<std::string>> ||
                      std::is_same_v<F, Box<std::string>>,
                  "OneOf applies to string fields");
    if (value && entry->value.isScalar() && !matchOneOf(*value, allowed.values))
      context_.error(entry->value.location(), "invalid value '" + *value + "'; expected one of: " +
                                                  joinNames(allowed.values));
  }

  template <class F> void operator()(std::string_view name, F& field, const NotYet& notYet) {
    const NodeEntry* entry = take(name);
    if (!entry) return;
    auto scope = context_.enter(name, entry->keyLocation);
    decode(entry->value, field, context_);
    if (!isFalse(entry->value)) context_.unsupported(entry->keyLocation, std::string(notYet.what));
  }

  // Reports every map key that no field claimed (with the closest expected name as a hint).
  void reportUnknownKeys(std::span<const std::string_view> expected);

private:
  const NodeEntry* take(std::string_view name);

  const Node& map_;
  DecodeContext& context_;
  std::vector<bool> used_;
};

template <class T> void decodeStruct(const Node& node, T& out, DecodeContext& context) {
  if (node.isMap()) {
    FieldDecoder decoder(node, context);
    T::describe(out, decoder);
    decoder.reportUnknownKeys(fieldNames<T>());
  } else if (!node.isNull() && !isPresenceFlag(node)) {
    context.error(node.location(), "expected a map with keys: " + joinNames(fieldNames<T>()) +
                                       "; got " + std::string(node.kindName()));
    return;
  }
  if constexpr (Validated<T>) out.validate(context);
}

template <class T> void decodeList(const Node& node, std::vector<T>& out, DecodeContext& context) {
  if (node.isNull()) return;
  std::vector<T> result;
  auto decodeItem = [&](const Node& item) {
    auto scope = context.enterIndex(result.size(), item.location());
    T value{};
    decode(item, value, context);
    result.push_back(std::move(value));
  };
  if (node.isList()) {
    for (const Node& item : node.items())
      decodeItem(item);
  } else if (node.isScalar() && kIsScalarType<T>) {
    for (const Node& item : splitCommaList(node))
      decodeItem(item);
  } else if (auto items = node.isMap() ? indexedItems(node) : std::nullopt) {
    for (const Node* item : *items)
      decodeItem(*item);
  } else {
    context.error(node.location(), "expected a list; got " + std::string(node.kindName()));
    return;
  }
  out = std::move(result);
}

// An unchanged element of the previous decoding (DecodeContext::previous), copied into `out`.
template <class E>
bool reuseElement(const NodeEntry& entry, const std::map<std::string, E>& before,
                  std::map<std::string, E>& out, const DecodeContext& context) {
  auto it = before.find(entry.key);
  if (it == before.end() || !it->second.errors.empty()) return false;
  const Location& was = it->second.location;
  const Location& now = context.location();
  if (was.source != now.source && !(was.source && now.source && *was.source == *now.source))
    return false;
  if (was.line != now.line || was.column != now.column) return false;
  if (fingerprint(entry.value) != it->second.fingerprint) return false;
  out.insert_or_assign(entry.key, it->second);
  return true;
}

template <class T>
void decodeMap(const Node& node, std::map<std::string, T>& out, DecodeContext& context) {
  if (node.isNull()) return;
  if (!node.isMap()) {
    context.error(node.location(),
                  "expected a map of named entries; got " + std::string(node.kindName()));
    return;
  }
  const std::map<std::string, T>* before = nullptr;
  if constexpr (IsElement<T>::value)
    if (context.previous)
      before = static_cast<const std::map<std::string, T>*>(context.previous(context.path()));
  for (const NodeEntry& entry : node.entries()) {
    auto scope = context.enter(entry.key, entry.keyLocation);
    if constexpr (IsElement<T>::value) {
      if (before && reuseElement(entry, *before, out, context)) continue;
    }
    T value{};
    decode(entry.value, value, context);
    if constexpr (IsElement<T>::value) {
      if (entry.key.find('@') != std::string::npos)
        value.errors.push_back(context.error("invalid name '" + entry.key +
                                             "': '@' separates a name from its provider"));
    }
    out.insert_or_assign(entry.key, std::move(value));
  }
}

template <class Optional>
void decodeOptional(const Node& node, Optional& out, DecodeContext& context) {
  using T = typename Optional::value_type;
  if constexpr (std::is_same_v<T, Node>) {
    out = node; // a raw section: present, whatever its value
  } else if constexpr (Described<T> || CustomDecoded<T>) {
    if (isFalse(node)) {
      out.reset();
      return;
    }
    if (!out) out.emplace();
    decode(node, *out, context);
  } else {
    if (node.isNull()) return;
    const size_t errorsBefore = context.errors().size();
    T value = out.value_or(T{});
    decode(node, value, context);
    if (context.errors().size() == errorsBefore) out = std::move(value);
  }
}

template <class T> void decodeElement(const Node& node, Element<T>& out, DecodeContext& context) {
  const size_t errorsBefore = context.errors().size();
  out.location = context.location();
  out.fingerprint = fingerprint(node);
  decode(node, out.value, context);
  out.errors.assign(context.errors().begin() + std::ptrdiff_t(errorsBefore),
                    context.errors().end());
}

} // namespace detail

// Decodes `node` into `out` (which holds the defaults), recording errors in `context`. Never
// throws on bad input; a field with a bad value keeps its default.
template <class T> void decode(const Node& node, T& out, DecodeContext& context) {
  if constexpr (std::is_same_v<T, std::string>) {
    detail::decodeString(node, out, context);
  } else if constexpr (std::is_same_v<T, bool>) {
    detail::decodeBool(node, out, context);
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    int64_t value = out;
    detail::decodeSigned(node, value, std::numeric_limits<T>::min(), std::numeric_limits<T>::max(),
                         context);
    out = T(value);
  } else if constexpr (std::is_integral_v<T>) {
    uint64_t value = out;
    detail::decodeUnsigned(node, value, std::numeric_limits<T>::max(), context);
    out = T(value);
  } else if constexpr (std::is_floating_point_v<T>) {
    double value = out;
    detail::decodeDouble(node, value, context);
    out = T(value);
  } else if constexpr (std::is_same_v<T, Duration>) {
    detail::decodeDuration(node, out, context);
  } else if constexpr (std::is_same_v<T, Node>) {
    out = node;
  } else if constexpr (detail::IsVector<T>::value) {
    detail::decodeList(node, out, context);
  } else if constexpr (detail::IsMap<T>::value) {
    detail::decodeMap(node, out, context);
  } else if constexpr (detail::IsOptional<T>::value) {
    detail::decodeOptional(node, out, context);
  } else if constexpr (detail::IsElement<T>::value) {
    detail::decodeElement(node, out, context);
  } else if constexpr (detail::CustomDecoded<T>) {
    out.decodeNode(node, context);
  } else if constexpr (detail::Described<T>) {
    detail::decodeStruct(node, out, context);
  } else {
    static_assert(sizeof(T) == 0, "no decoder for this type: add a static describe(self, v)");
  }
}

// The described field names of T, in order (e.g. the keys a section accepts).
template <class T> const std::vector<std::string_view>& fieldNames() {
  return detail::fieldNames<T>();
}

} // namespace causeway::config
