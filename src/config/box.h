// An optional whose value lives on the heap, for the options a configuration struct rarely
// sets: a `Service` carries its `weighted`, `mirroring`, `failover` and `highestRandomWeight`
// sections, and a load balancer its `sticky` and `healthCheck`, as one pointer each instead of
// their whole size (a service was 1,032 bytes, most of it options not set). It reads like
// std::optional, and the decoder and the API's encoder treat it as one (config/decode.h,
// admin/json_encode.h).
#pragma once

#include <memory>
#include <optional>
#include <utility>

namespace causeway::config {

template <class T>
class Box {
 public:
  using value_type = T;

  Box() = default;
  Box(std::nullopt_t) {}
  Box(T value) : value_(std::make_unique<T>(std::move(value))) {}
  Box(const Box& other) : value_(other.value_ ? std::make_unique<T>(*other.value_) : nullptr) {}
  Box(Box&&) noexcept = default;
  Box& operator=(const Box& other) {
    if (this != &other) value_ = other.value_ ? std::make_unique<T>(*other.value_) : nullptr;
    return *this;
  }
  Box& operator=(Box&&) noexcept = default;
  Box& operator=(std::nullopt_t) {
    value_.reset();
    return *this;
  }

  template <class... Args>
  T& emplace(Args&&... args) {
    value_ = std::make_unique<T>(std::forward<Args>(args)...);
    return *value_;
  }
  void reset() { value_.reset(); }

  bool has_value() const { return value_ != nullptr; }
  explicit operator bool() const { return has_value(); }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }
  T* operator->() { return value_.get(); }
  const T* operator->() const { return value_.get(); }
  T value_or(T fallback) const { return value_ ? *value_ : std::move(fallback); }

  friend bool operator==(const Box& a, const Box& b) {
    return a.has_value() == b.has_value() && (!a.has_value() || *a == *b);
  }

 private:
  std::unique_ptr<T> value_;
};

}  // namespace causeway::config
