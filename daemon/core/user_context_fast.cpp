#include "core/user_context_fast.h"

#include "core/plain_string_scan.h"
#include "core/token_cipher.h"

namespace tokend {
namespace {

// A cursor over the text; every read returns false to decline.
class PlainReader {
public:
    explicit PlainReader(std::string_view text) : text_(text) {}

    void skip_space() {
        while (at_ < text_.size() &&
               (text_[at_] == ' ' || text_[at_] == '\n' || text_[at_] == '\r' || text_[at_] == '\t')) {
            ++at_;
        }
    }
    // Skips whitespace, then takes `c` if it comes next.
    bool take(char c) {
        skip_space();
        if (at_ >= text_.size() || text_[at_] != c) return false;
        ++at_;
        return true;
    }
    bool peek(char c) {
        skip_space();
        return at_ < text_.size() && text_[at_] == c;
    }
    // A string of printable ASCII without escapes, its quotes left off.
    bool string(std::string_view* out) {
        if (!take('"')) return false;
        const size_t end = plain_string_end(text_, at_);
        if (end == std::string_view::npos) return false;
        *out = text_.substr(at_, end - at_);
        at_ = end + 1;
        return true;
    }
    bool null() {
        skip_space();
        if (text_.substr(at_, 4) != "null") return false;
        at_ += 4;
        return true;
    }
    bool at_end() {
        skip_space();
        return at_ == text_.size();
    }

private:
    std::string_view text_;
    size_t at_ = 0;
};

// A string or null value; *present says which.
bool string_or_null(PlainReader& in, std::string_view* value, bool* present) {
    if (in.peek('"')) {
        *present = true;
        return in.string(value) && !is_sealed_value(*value);  // only the store's cipher opens those
    }
    *present = false;
    return in.null();
}

bool read_token_field(std::string_view key, PlainReader& in, Tokens* tokens, unsigned* seen) {
    static constexpr std::string_view kFields[] = {"access_token", "expires_at", "refresh_token",
                                                   "refresh_token_expires_at", "token_type", "scope"};
    unsigned index = 0;
    while (index < std::size(kFields) && kFields[index] != key) ++index;
    if (index == std::size(kFields) || (*seen & (1u << index))) return false;  // unknown or repeated
    *seen |= 1u << index;
    std::string_view value;
    bool present = false;
    if (!string_or_null(in, &value, &present)) return false;
    if (!present) return true;
    switch (index) {
        case 0: tokens->access_token = Secret(std::string(value)); return true;
        case 2: tokens->refresh_token = Secret(std::string(value)); return true;
        case 4: tokens->token_type = std::string(value); return true;
        case 5: tokens->scope = std::string(value); return true;
        default: break;
    }
    auto at = parse_iso8601(value);
    if (!at) return false;  // the DOM reader words the error
    (index == 1 ? tokens->expires_at : tokens->refresh_token_expires_at) = *at;
    return true;
}

bool read_tokens(PlainReader& in, Tokens* tokens) {
    if (!in.take('{')) return false;
    unsigned seen = 0;
    if (in.take('}')) return true;
    do {
        std::string_view key;
        if (!in.string(&key) || !in.take(':') || !read_token_field(key, in, tokens, &seen)) return false;
    } while (in.take(','));
    return in.take('}');
}

}  // namespace

std::optional<UserContext> user_context_from_plain_json(std::string_view text) {
    PlainReader in(text);
    UserContext context;
    bool have_user = false;
    bool have_tokens = false;
    if (!in.take('{')) return std::nullopt;
    do {
        std::string_view key;
        if (!in.string(&key) || !in.take(':')) return std::nullopt;
        if (key == "user_id" && !have_user) {
            std::string_view user_id;
            if (!in.string(&user_id) || is_sealed_value(user_id)) return std::nullopt;
            context.user_id = user_id;
            have_user = true;
        } else if (key == "tokens" && !have_tokens) {
            if (!read_tokens(in, &context.tokens)) return std::nullopt;
            have_tokens = true;
        } else {
            return std::nullopt;  // unknown or repeated: the DOM reader keeps or judges it
        }
    } while (in.take(','));
    if (!in.take('}') || !in.at_end() || !have_user || !have_tokens) return std::nullopt;
    return context;
}

}  // namespace tokend
