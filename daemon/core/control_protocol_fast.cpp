// The control protocol's fast paths: what nearly every line and answer look
// like (a flat request of plain strings and small numbers; a get_token
// answer of three strings), read and written without nlohmann's lexer and
// serializer. Each gives the same result as the general path or declines; the
// general path in control_protocol.cpp stays the reference.
#include "core/control_protocol.h"

#include <array>
#include <charconv>

namespace tokend {
namespace {

constexpr size_t kMaxPlainMembers = 8;
constexpr size_t kMaxPlainDigits = 19;  // every 19-digit number fits uint64_t

bool json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Printable ASCII that JSON strings carry as is: no quote, no backslash, no
// control character, nothing that needs UTF-8 validation. A table: the loops
// over tokens run one lookup a byte.
constexpr std::array<bool, 256> kPlainChars = [] {
    std::array<bool, 256> plain{};
    for (int c = 0x20; c <= 0x7e; ++c) plain[static_cast<size_t>(c)] = c != '"' && c != '\\';
    return plain;
}();
bool plain_char(char c) { return kPlainChars[static_cast<unsigned char>(c)]; }

class PlainScanner {
public:
    explicit PlainScanner(std::string_view text) : text_(text) {}

    void skip_space() {
        while (at_ < text_.size() && json_space(text_[at_])) ++at_;
    }
    bool eat(char c) {
        if (at_ >= text_.size() || text_[at_] != c) return false;
        ++at_;
        return true;
    }
    bool at_end() const { return at_ == text_.size(); }

    bool string(std::string_view* out) {
        if (!eat('"')) return false;
        const size_t start = at_;
        while (at_ < text_.size() && plain_char(text_[at_])) ++at_;
        if (at_ >= text_.size() || text_[at_] != '"') return false;  // an escape, a control or non-ASCII byte, or no end
        *out = text_.substr(start, at_ - start);
        ++at_;
        return true;
    }

    bool value(Json* out) {
        if (at_ >= text_.size()) return false;
        const char c = text_[at_];
        if (c == '"') {
            std::string_view text;
            if (!string(&text)) return false;
            *out = std::string(text);
            return true;
        }
        if (c >= '0' && c <= '9') {
            const size_t start = at_;
            while (at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9') ++at_;
            const size_t digits = at_ - start;
            // A leading zero is valid only alone; what follows a number is checked by the caller.
            if (digits > kMaxPlainDigits || (c == '0' && digits > 1)) return false;
            uint64_t number = 0;
            std::from_chars(text_.data() + start, text_.data() + at_, number);
            *out = number;
            return true;
        }
        if (literal("true")) {
            *out = true;
        } else if (literal("false")) {
            *out = false;
        } else if (literal("null")) {
            *out = nullptr;
        } else {
            return false;  // an object, an array, a negative or broken number
        }
        return true;
    }

private:
    bool literal(std::string_view word) {
        if (text_.substr(at_, word.size()) != word) return false;
        at_ += word.size();
        return true;
    }

    std::string_view text_;
    size_t at_ = 0;
};

// nlohmann's dump() of a JSON string as encode_ok writes it (invalid UTF-8
// replaced); plain text is copied, anything else goes through nlohmann.
void append_json_string(std::string* out, std::string_view text) {
    for (char c : text) {
        if (!plain_char(c)) {
            *out += Json(text).dump(-1, ' ', false, Json::error_handler_t::replace);
            return;
        }
    }
    out->push_back('"');
    out->append(text);
    out->push_back('"');
}

void append_json_id(std::string* out, const Json& id) {
    char digits[24];
    if (id.is_null()) {
        *out += "null";
    } else if (id.is_number_unsigned()) {
        *out += std::string_view(digits, std::to_chars(digits, digits + sizeof digits, id.get<uint64_t>()).ptr - digits);
    } else if (id.is_number_integer()) {
        *out += std::string_view(digits, std::to_chars(digits, digits + sizeof digits, id.get<int64_t>()).ptr - digits);
    } else {
        *out += id.dump(-1, ' ', false, Json::error_handler_t::replace);
    }
}

}  // namespace

std::optional<ControlRequest> parse_plain_request(std::string_view line) {
    struct Member {
        std::string_view key;
        Json value;
    };
    std::array<Member, kMaxPlainMembers> members;
    size_t count = 0;
    PlainScanner scanner(line);
    scanner.skip_space();
    if (!scanner.eat('{')) return std::nullopt;
    do {
        if (count == members.size()) return std::nullopt;
        Member& member = members[count++];
        scanner.skip_space();
        if (!scanner.string(&member.key)) return std::nullopt;  // also `{}`: no op, the full parse says so
        scanner.skip_space();
        if (!scanner.eat(':')) return std::nullopt;
        scanner.skip_space();
        if (!scanner.value(&member.value)) return std::nullopt;
        scanner.skip_space();
    } while (scanner.eat(','));
    if (!scanner.eat('}')) return std::nullopt;
    scanner.skip_space();
    if (!scanner.at_end()) return std::nullopt;

    ControlRequest request;
    const Member* op = nullptr;
    for (size_t i = 0; i < count; ++i) {
        for (size_t j = 0; j < i; ++j) {
            if (members[j].key == members[i].key) return std::nullopt;  // the full parse keeps the last one
        }
        if (members[i].key == "op") op = &members[i];
        if (members[i].key == "id") request.id = members[i].value;
    }
    if (op == nullptr || !op->value.is_string()) return std::nullopt;
    request.op = op->value.get_ref<const std::string&>();
    if (find_op(request.op) == nullptr) return std::nullopt;
    Json::object_t params;
    params.reserve(count);
    for (size_t i = 0; i < count; ++i) params.emplace_back(std::string(members[i].key), std::move(members[i].value));
    request.params = std::move(params);
    return request;
}

std::string encode_ok_strings(const Json& id, std::initializer_list<StringMember> result) {
    std::string line;
    size_t size = 40;
    for (const StringMember& member : result) size += member.key.size() + (member.value ? member.value->size() : 4) + 6;
    line.reserve(size);
    line += "{\"id\":";
    append_json_id(&line, id);
    line += ",\"ok\":true,\"result\":{";
    bool first = true;
    for (const StringMember& member : result) {
        if (!first) line += ',';
        first = false;
        append_json_string(&line, member.key);
        line += ':';
        if (member.value) {
            append_json_string(&line, *member.value);
        } else {
            line += "null";
        }
    }
    line += "}}\n";
    return line;
}

}  // namespace tokend
