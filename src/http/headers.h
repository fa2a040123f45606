// The header (and trailer) list of the one internal HTTP message model. Every codec
// produces it and every middleware edits it. Fields are views: their bytes live in the
// owning message's Arena (or in static storage), never in this object, so copying a
// Headers copies only views. Names keep the case they arrived with; lookups ignore case.
#pragma once

#include <algorithm>
#include <string_view>

#include <boost/container/small_vector.hpp>

#include "core/strings.h"

namespace causeway::http {

struct HeaderField {
  std::string_view name;
  std::string_view value;
};

class Headers {
 public:
  // Typical messages carry fewer than 16 fields: those live inline, so creating a message
  // (several per proxied request) allocates nothing.
  using FieldList = boost::container::small_vector<HeaderField, 16>;
  using const_iterator = FieldList::const_iterator;
  const_iterator begin() const { return fields_.begin(); }
  const_iterator end() const { return fields_.end(); }
  size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }
  const HeaderField& operator[](size_t i) const { return fields_[i]; }

  // First value of `name`, or an empty view when absent (use has() to tell empty from absent).
  std::string_view get(std::string_view name) const {
    for (const auto& f : fields_)
      if (iequals(f.name, name)) return f.value;
    return {};
  }
  const HeaderField* find(std::string_view name) const {
    for (const auto& f : fields_)
      if (iequals(f.name, name)) return &f;
    return nullptr;
  }
  bool has(std::string_view name) const { return find(name) != nullptr; }
  size_t count(std::string_view name) const {
    size_t n = 0;
    for (const auto& f : fields_) n += iequals(f.name, name);
    return n;
  }

  // Appends a field. The caller guarantees both views outlive this list.
  void add(std::string_view name, std::string_view value) { fields_.push_back({name, value}); }
  // Replaces every field called `name` with one field (added at the end if absent).
  void set(std::string_view name, std::string_view value);
  // Removes every field called `name`; returns how many were removed.
  size_t remove(std::string_view name);
  // Removes `name` and its underscore twins ("X_WebAuth_User" for "X-WebAuth-User"), which
  // CGI, WSGI and nginx-style upstreams read as the same field: before causeway sets a field
  // an upstream trusts, so that a client cannot smuggle a second value (docs/security.md, S37).
  size_t removeWithTwins(std::string_view name);
  // Removes fields for which pred(field) is true.
  template <class Pred>
  size_t removeIf(Pred pred) {
    auto end = std::remove_if(fields_.begin(), fields_.end(), pred);
    size_t removed = size_t(fields_.end() - end);
    fields_.erase(end, fields_.end());
    return removed;
  }
  void clear() { fields_.clear(); }

  FieldList& fields() { return fields_; }
  const FieldList& fields() const { return fields_; }

 private:
  FieldList fields_;
};

inline void Headers::set(std::string_view name, std::string_view value) {
  for (size_t i = 0; i < fields_.size(); ++i) {
    if (iequals(fields_[i].name, name)) {
      fields_[i].value = value;
      for (size_t j = fields_.size(); j-- > i + 1;)
        if (iequals(fields_[j].name, name)) fields_.erase(fields_.begin() + long(j));
      return;
    }
  }
  fields_.push_back({name, value});
}

inline size_t Headers::remove(std::string_view name) {
  return removeIf([name](const HeaderField& f) { return iequals(f.name, name); });
}

// Equality of field names that ignores case and treats '_' like '-'.
inline bool sameFieldName(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] == '_' ? '-' : (a[i] >= 'A' && a[i] <= 'Z' ? char(a[i] + 32) : a[i]);
    char y = b[i] == '_' ? '-' : (b[i] >= 'A' && b[i] <= 'Z' ? char(b[i] + 32) : b[i]);
    if (x != y) return false;
  }
  return true;
}

inline size_t Headers::removeWithTwins(std::string_view name) {
  return removeIf([name](const HeaderField& f) { return sameFieldName(f.name, name); });
}

}  // namespace causeway::http
