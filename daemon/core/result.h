// A value or the reason there is none; for parsers on request paths, where
// exceptions are not used.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace tokend {

template <typename T>
class Result {
public:
    // Implicit on purpose; two overloads, so a value is moved in once (a
    // control request is some 500 bytes).
    Result(const T& value) : value_(value) {}       // NOLINT
    Result(T&& value) : value_(std::move(value)) {}  // NOLINT
    static Result failure(std::string error) { return Result(std::move(error), 0); }

    bool ok() const { return value_.has_value(); }
    explicit operator bool() const { return ok(); }
    const T& value() const& { return *value_; }
    T& value() & { return *value_; }
    T&& value() && { return std::move(*value_); }
    const T& operator*() const& { return *value_; }
    const T* operator->() const { return &*value_; }
    const std::string& error() const { return error_; }

private:
    Result(std::string error, int) : error_(std::move(error)) {}
    std::optional<T> value_;
    std::string error_;
};

}  // namespace tokend
