// A string that must never reach a log line, an error message or an event:
// tokens, codes, PKCE verifiers, client secrets, bot tokens. It has no stream
// operator and no fmt formatter, so `log("{}", secret)` does not compile;
// reveal() is the one, greppable, way to the bytes.
#pragma once

#include <ostream>
#include <string>
#include <string_view>

namespace tokend {

class Secret {
public:
    Secret() = default;
    explicit Secret(std::string value) : value_(std::move(value)) {}

    const std::string& reveal() const { return value_; }
    bool empty() const { return value_.empty(); }
    bool operator==(const Secret& other) const = default;

    friend std::ostream& operator<<(std::ostream&, const Secret&) = delete;

private:
    std::string value_;
};

// A Secret's bytes where they are (a cached context's token, an answer being
// written), under the same rules: no stream operator, no formatter.
class SecretView {
public:
    SecretView() = default;
    explicit SecretView(std::string_view value) : value_(value) {}
    explicit SecretView(const Secret& secret) : value_(secret.reveal()) {}

    std::string_view reveal() const { return value_; }

    friend std::ostream& operator<<(std::ostream&, const SecretView&) = delete;

private:
    std::string_view value_;
};

}  // namespace tokend
