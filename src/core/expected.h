#pragma once

// A value or an error, returned across module boundaries instead of throwing.
// std::expected is C++23 and libstdc++ 12 (Debian 12's g++) lacks it; this is the subset we use.

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

namespace devauth {

template <typename E>
struct Unexpected {
  E error;
};

template <typename E>
Unexpected<std::decay_t<E>> unexpected(E&& error) {
  return {std::forward<E>(error)};
}

template <typename T, typename E>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : storage_(std::in_place_index<0>, std::move(value)) {}
  template <typename F>
  Expected(Unexpected<F> error) : storage_(std::in_place_index<1>, std::move(error.error)) {}

  bool hasValue() const { return storage_.index() == 0; }
  explicit operator bool() const { return hasValue(); }

  T& value() & {
    assert(hasValue());
    return std::get<0>(storage_);
  }
  const T& value() const& {
    assert(hasValue());
    return std::get<0>(storage_);
  }
  T&& value() && {
    assert(hasValue());
    return std::get<0>(std::move(storage_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const E& error() const {
    assert(!hasValue());
    return std::get<1>(storage_);
  }

 private:
  std::variant<T, E> storage_;
};

// The error-or-nothing form, for operations that return no value.
template <typename E>
class [[nodiscard]] Expected<void, E> {
 public:
  Expected() = default;
  template <typename F>
  Expected(Unexpected<F> error) : error_(std::move(error.error)), failed_(true) {}

  bool hasValue() const { return !failed_; }
  explicit operator bool() const { return hasValue(); }
  const E& error() const {
    assert(failed_);
    return error_;
  }

 private:
  E error_{};
  bool failed_ = false;
};

}  // namespace devauth
