// Test helper: renders a decoded struct back into a Node through its `describe` member, so two
// decoded configurations can be compared field by field (fingerprint or toString).
#pragma once

#include <string>

#include "config/decode.h"
#include "config/dynamic_config.h"

namespace causeway::config::testing {

template <class T> Node encode(const T& value);

struct Encoder {
  Node& out;
  template <class F, class... Options>
  void operator()(std::string_view name, const F& field, const Options&...) {
    out.set(std::string(name), encode(field));
  }
};

template <class T> Node encode(const T& value) {
  if constexpr (std::is_same_v<T, std::string>) {
    return Node::scalar(value);
  } else if constexpr (std::is_same_v<T, bool>) {
    return Node::scalar(value ? "true" : "false");
  } else if constexpr (std::is_arithmetic_v<T>) {
    return Node::scalar(std::to_string(value));
  } else if constexpr (std::is_same_v<T, Duration>) {
    return Node::scalar(value.toString());
  } else if constexpr (std::is_same_v<T, Node>) {
    return value;
  } else if constexpr (detail::IsVector<T>::value) {
    Node list = Node::list();
    for (const auto& item : value)
      list.append(encode(item));
    return list;
  } else if constexpr (detail::IsMap<T>::value) {
    Node map = Node::map();
    for (const auto& [key, item] : value)
      map.set(key, encode(item));
    return map;
  } else if constexpr (detail::IsOptional<T>::value) {
    return value ? encode(*value) : Node::scalar("<absent>");
  } else if constexpr (detail::IsElement<T>::value) {
    Node node = encode(value.value);
    if (!value.errors.empty())
      node.set("<errors>", Node::scalar(std::to_string(value.errors.size())));
    return node;
  } else if constexpr (std::is_same_v<T, Middleware>) {
    Node node = Node::map();
    node.set(value.type, value.options);
    return node;
  } else {
    Node map = Node::map();
    Encoder encoder{map};
    T::describe(value, encoder);
    return map;
  }
}

} // namespace causeway::config::testing
