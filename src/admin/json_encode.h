// Typed configuration → JSON, the way Traefik's API shows it (Go's encoding/json with
// `omitempty`): the same `describe` field lists the decoder uses (config/decode.h) name the
// keys, so the API never has a schema of its own.
//
// What is left out, as omitempty does: empty strings, false, zero numbers and durations,
// empty lists and maps, absent optionals, and nested structs with nothing to show. An
// optional that is present is always shown (Go pointers): `weight: 0`, `healthCheck: {}`.
// Durations are Go duration strings ("10s"); raw nodes (middleware options) become JSON with
// "true"/"false" as booleans and numbers as numbers, except below keys whose values Traefik
// types as strings (header maps, status ranges, paths...: see json_encode.cpp).
//
// Pure functions; any thread.
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "config/decode.h"
#include "config/duration.h"
#include "config/node.h"

namespace causeway::admin {

namespace json = boost::json;

// A raw configuration tree as JSON (scalars typed by their text, see above).
json::value nodeToJson(const config::Node& node);

namespace detail {

template <class T> json::value encodeValue(const T& value);

// The field's JSON, or nullopt when omitempty would leave it out.
template <class T> std::optional<json::value> encodeField(const T& value) {
  if constexpr (std::is_same_v<T, bool>) {
    if (!value) return std::nullopt;
    return json::value(true);
  } else if constexpr (std::is_arithmetic_v<T>) {
    if (value == 0) return std::nullopt;
    return encodeValue(value);
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (value.empty()) return std::nullopt;
    return json::value(json::string(value));
  } else if constexpr (std::is_same_v<T, config::Duration>) {
    if (value.isZero()) return std::nullopt;
    return encodeValue(value);
  } else if constexpr (std::is_same_v<T, config::Node>) {
    if (value.isNull()) return std::nullopt;
    return nodeToJson(value);
  } else if constexpr (config::detail::IsOptional<T>::value) {
    if (!value) return std::nullopt;
    return encodeValue(*value);
  } else if constexpr (config::detail::IsVector<T>::value || config::detail::IsMap<T>::value) {
    if (value.empty()) return std::nullopt;
    return encodeValue(value);
  } else {
    json::value out = encodeValue(value);
    if (out.is_object() && out.as_object().empty()) return std::nullopt;
    return out;
  }
}

struct ObjectWriter {
  json::object& out;
  template <class F, class... Options>
  void operator()(std::string_view name, const F& field, const Options&...) {
    if (auto value = encodeField(field)) out[name] = std::move(*value);
  }
};

template <class T> json::value encodeValue(const T& value) {
  if constexpr (std::is_same_v<T, bool>) {
    return json::value(value);
  } else if constexpr (std::is_floating_point_v<T>) {
    return json::value(double(value));
  } else if constexpr (std::is_signed_v<T> && std::is_integral_v<T>) {
    return json::value(int64_t(value));
  } else if constexpr (std::is_integral_v<T>) {
    return json::value(uint64_t(value));
  } else if constexpr (std::is_same_v<T, std::string>) {
    return json::value(json::string(value));
  } else if constexpr (std::is_same_v<T, config::Duration>) {
    return json::value(json::string(value.toString()));
  } else if constexpr (std::is_same_v<T, config::Node>) {
    return nodeToJson(value);
  } else if constexpr (config::detail::IsOptional<T>::value) {
    return value ? encodeValue(*value) : json::value(nullptr);
  } else if constexpr (config::detail::IsVector<T>::value) {
    json::array out;
    out.reserve(value.size());
    for (const auto& item : value) out.push_back(encodeValue(item));
    return out;
  } else if constexpr (config::detail::IsMap<T>::value) {
    json::object out;
    for (const auto& [key, item] : value) out[key] = encodeValue(item);
    return out;
  } else if constexpr (config::detail::IsElement<T>::value) {
    return encodeValue(value.value);
  } else {
    static_assert(config::detail::Described<T>, "a type the decoder knows");
    json::object out;
    ObjectWriter writer{out};
    T::describe(value, writer);
    return out;
  }
}

}  // namespace detail

// A described configuration struct as a JSON object (always an object, maybe empty).
template <class T> json::object toJsonObject(const T& value) {
  json::value out = detail::encodeValue(value);
  return out.is_object() ? std::move(out.as_object()) : json::object();
}

}  // namespace causeway::admin
