#include "config/static_keys.h"

#include <type_traits>

#include "config/static_config.h"

namespace causeway::config {
namespace {

template <class T> struct IsVector : std::false_type {};
template <class T> struct IsVector<std::vector<T>> : std::true_type {};
template <class T> struct IsMap : std::false_type {};
template <class T> struct IsMap<std::map<std::string, T>> : std::true_type {};
template <class T> struct IsOptional : std::false_type {};
template <class T> struct IsOptional<std::optional<T>> : std::true_type {};

template <class T> FlagKind kindOf(std::span<const std::string> path);

// Finds the described field named path[0] and continues below it.
struct FieldKind {
  std::span<const std::string> path;
  FlagKind result = FlagKind::Unknown;
  bool found = false;
  template <class F, class... Options>
  void operator()(std::string_view name, F& field, const Options&...) {
    if (found || !iequals(name, path.front())) return;
    found = true;
    result = kindOf<F>(path.subspan(1));
  }
};

template <class T> FlagKind kindOf(std::span<const std::string> path) {
  if constexpr (std::is_same_v<T, bool>) {
    return path.empty() ? FlagKind::Bool : FlagKind::Unknown;
  } else if constexpr (std::is_same_v<T, Node>) {
    return path.empty() ? FlagKind::Section : FlagKind::Value;  // raw: anything below
  } else if constexpr (IsOptional<T>::value) {
    using U = typename T::value_type;
    if constexpr (std::is_same_v<U, bool>) return path.empty() ? FlagKind::Bool : FlagKind::Unknown;
    else if constexpr (detail::Described<U> || std::is_same_v<U, Node>)
      return path.empty() ? FlagKind::Section : kindOf<U>(path);
    else return kindOf<U>(path);
  } else if constexpr (IsMap<T>::value) {
    return path.empty() ? FlagKind::Section : kindOf<typename T::mapped_type>(path.subspan(1));
  } else if constexpr (IsVector<T>::value) {
    if (path.empty()) return FlagKind::List;
    return kindOf<typename T::value_type>(path.subspan(1));
  } else if constexpr (detail::Described<T>) {
    if (path.empty()) return FlagKind::Section;
    T probe{};
    FieldKind finder{path};
    T::describe(probe, finder);
    return finder.result;
  } else {
    return path.empty() ? FlagKind::Value : FlagKind::Unknown;
  }
}

template <class T> std::string defaultText(const T& value) {
  if constexpr (std::is_same_v<T, std::string>) return value.empty() ? std::string() : "\"" + value + "\"";
  else if constexpr (std::is_same_v<T, bool>) return value ? "true" : "false";
  else if constexpr (std::is_same_v<T, Duration>) return value.isZero() ? "0s" : value.toString();
  else if constexpr (std::is_arithmetic_v<T>) {
    if constexpr (std::is_floating_point_v<T>) {
      std::string text = std::to_string(value);
      while (text.size() > 1 && text.back() == '0') text.pop_back();
      if (text.back() == '.') text.pop_back();
      return text;
    } else {
      return std::to_string(value);
    }
  } else if constexpr (IsVector<T>::value) {
    std::string out;
    for (const auto& item : value) {
      std::string text = defaultText(item);
      if (text.size() >= 2 && text.front() == '"') text = text.substr(1, text.size() - 2);
      if (!out.empty()) out += ',';
      out += text;
    }
    return out.empty() ? out : "\"" + out + "\"";
  } else {
    return {};
  }
}

template <class T> void listKeys(const std::string& prefix, const T& value, bool notYet, std::vector<StaticKey>& out);

struct KeyLister {
  const std::string& prefix;
  std::vector<StaticKey>& out;
  template <class F, class... Options>
  void operator()(std::string_view name, F& field, const Options&...) {
    constexpr bool notYet = (std::is_same_v<Options, NotYet> || ...);
    listKeys(prefix + "." + std::string(name), field, notYet, out);
  }
};

template <class T> void listKeys(const std::string& prefix, const T& value, bool notYet, std::vector<StaticKey>& out) {
  if constexpr (std::is_same_v<T, Node>) {
    out.push_back({prefix, {}, true, notYet});
  } else if constexpr (IsOptional<T>::value) {
    using U = typename T::value_type;
    if constexpr (std::is_same_v<U, Node>) {
      out.push_back({prefix, "false", true, notYet});
    } else if constexpr (detail::Described<U>) {
      out.push_back({prefix, "false", true, notYet});
      U defaults{};
      KeyLister lister{prefix, out};
      U::describe(defaults, lister);
    } else {
      out.push_back({prefix, value ? defaultText(*value) : std::string(), false, notYet});
    }
  } else if constexpr (IsMap<T>::value) {
    using U = typename T::mapped_type;
    if constexpr (detail::Described<U>) {
      U defaults{};
      KeyLister lister{prefix + ".<name>", out};
      U::describe(defaults, lister);
    } else {
      out.push_back({prefix + ".<name>", {}, false, notYet});
    }
  } else if constexpr (IsVector<T>::value) {
    using U = typename T::value_type;
    if constexpr (detail::Described<U>) {
      U defaults{};
      KeyLister lister{prefix + "[n]", out};
      U::describe(defaults, lister);
    } else {
      out.push_back({prefix, defaultText(value), false, notYet});
    }
  } else if constexpr (detail::Described<T>) {
    KeyLister lister{prefix, out};
    T::describe(const_cast<T&>(value), lister);
  } else {
    out.push_back({prefix, defaultText(value), false, notYet});
  }
}

}  // namespace

FlagKind flagKind(std::span<const std::string> path) {
  if (path.empty()) return FlagKind::Unknown;
  return kindOf<StaticConfig>(path);
}

std::vector<StaticKey> listStaticKeys() {
  std::vector<StaticKey> out;
  StaticConfig defaults;
  KeyLister lister{std::string(), out};
  StaticConfig::describe(defaults, lister);
  for (StaticKey& key : out) key.flag = "--" + key.flag.substr(1);  // ".a.b" → "--a.b"
  return out;
}

}  // namespace causeway::config
