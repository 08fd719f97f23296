// The control protocol's fast paths: what nearly every line and answer look
// like (a flat request of plain strings and small numbers; a get_token
// answer of three strings), read and written without nlohmann's lexer and
// serializer. Each gives the same result as the general path or declines; the
// general path in control_protocol.cpp stays the reference.
#include "core/control_protocol.h"
#include "core/plain_string_scan.h"

#include <cassert>
#include <charconv>
#include <cstring>

namespace tokend {
namespace {

constexpr size_t kMaxPlainDigits = 19;  // every 19-digit number fits uint64_t

bool json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

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
        const size_t end = plain_string_end(text_, at_);
        if (end == std::string_view::npos) return false;  // an escape, a control or non-ASCII byte, or no end
        *out = text_.substr(at_, end - at_);
        at_ = end + 1;
        return true;
    }

    bool value(Param* out) {
        if (at_ >= text_.size()) return false;
        const char c = text_[at_];
        if (c == '"') {
            out->kind = Param::Kind::string;
            return string(&out->text);
        }
        if (c >= '0' && c <= '9') {
            const size_t start = at_;
            while (at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9') ++at_;
            const size_t digits = at_ - start;
            // A leading zero is valid only alone; what follows a number is checked by the caller.
            if (digits > kMaxPlainDigits || (c == '0' && digits > 1)) return false;
            out->kind = Param::Kind::whole_number;
            std::from_chars(text_.data() + start, text_.data() + at_, out->number);
            return true;
        }
        if (literal("true")) {
            out->kind = Param::Kind::boolean;
            out->flag = true;
        } else if (literal("false")) {
            out->kind = Param::Kind::boolean;
        } else if (literal("null")) {
            out->kind = Param::Kind::null;
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
    if (!plain_text(text)) {
        *out += Json(text).dump(-1, ' ', false, Json::error_handler_t::replace);
        return;
    }
    out->push_back('"');
    out->append(text);
    out->push_back('"');
}

// A null or whole-number id as it is written, in `digits`; empty for any
// other id (nlohmann writes those).
std::string_view simple_id_text(const Json& id, char (&digits)[24]) {
    if (id.is_null()) return "null";
    if (id.is_number_unsigned()) {
        return {digits, static_cast<size_t>(std::to_chars(digits, digits + sizeof digits, id.get<uint64_t>()).ptr - digits)};
    }
    if (id.is_number_integer()) {
        return {digits, static_cast<size_t>(std::to_chars(digits, digits + sizeof digits, id.get<int64_t>()).ptr - digits)};
    }
    return {};
}

void append_json_id(std::string* out, const Json& id) {
    char digits[24];
    const std::string_view text = simple_id_text(id, digits);
    *out += text.empty() ? id.dump(-1, ' ', false, Json::error_handler_t::replace) : std::string(text);
}

// encode_ok_strings for any id and strings: escapes what needs it.
std::string encode_ok_strings_escaped(const Json& id, std::initializer_list<StringMember> result) {
    std::string line = "{\"id\":";
    append_json_id(&line, id);
    line += ",\"ok\":true,\"result\":{";
    bool first = true;
    for (const StringMember& member : result) {
        if (!first) line += ',';
        first = false;
        line += '"';
        line += member.key.text();
        line += "\":";
        if (member.value) {
            append_json_string(&line, *member.value);
        } else {
            line += "null";
        }
    }
    line += "}}\n";
    return line;
}

}  // namespace

std::optional<ControlRequest> parse_plain_request(std::string_view line) {
    std::optional<ControlRequest> parsed(std::in_place);
    if (!parse_plain_request_into(line, &*parsed)) return std::nullopt;
    return parsed;
}

bool parse_plain_request_into(std::string_view line, ControlRequest* request) {
    request->clear();
    // Each early return declines: what was filled in is cleared again.
    struct ClearUnlessKept {
        ControlRequest* request;
        bool keep = false;
        ~ClearUnlessKept() {
            if (!keep) request->clear();
        }
    } guard{request};
    const OpInfo* op = nullptr;
    size_t count = 0;
    PlainScanner scanner(line);
    scanner.skip_space();
    if (!scanner.eat('{')) return false;
    do {
        if (count++ == RequestParams::kMaxPlainMembers) return false;
        std::string_view key;
        Param value;
        scanner.skip_space();
        if (!scanner.string(&key)) return false;  // also `{}`: no op, the full parse says so
        scanner.skip_space();
        if (!scanner.eat(':')) return false;
        scanner.skip_space();
        if (!scanner.value(&value)) return false;
        scanner.skip_space();
        if (request->params.find(key).kind != Param::Kind::absent) return false;  // the full parse keeps the last
        if (key == "op") {
            if (value.kind != Param::Kind::string || (op = find_op(value.text)) == nullptr) return false;
        } else if (key == "id") {
            request->id = value.to_json();  // a scalar: no allocation but for a string
        }
        request->params.add_plain(key, value);
    } while (scanner.eat(','));
    if (!scanner.eat('}')) return false;
    scanner.skip_space();
    if (!scanner.at_end() || op == nullptr) return false;
    request->op = op;
    guard.keep = true;
    return true;
}

std::string encode_ok_strings(const Json& id, std::initializer_list<StringMember> result) {
    std::string line;
    encode_ok_strings(&line, id, result);
    return line;
}

void encode_ok_strings(std::string* line, const Json& id, std::initializer_list<StringMember> result) {
    // The usual answer, a whole-number or null id and plain strings: measured
    // first, then copied into a string sized once.
    char digits[24];
    const std::string_view id_text = simple_id_text(id, digits);
    constexpr std::string_view kHead = "{\"id\":", kOk = ",\"ok\":true,\"result\":{", kEnd = "}}\n";
    bool plain = !id_text.empty();
    size_t size = kHead.size() + id_text.size() + kOk.size() + kEnd.size();
    for (const StringMember& member : result) {
        assert(!member.value_is_plain || !member.value || plain_text(*member.value));
        plain = plain && (!member.value || member.value_is_plain || plain_text(*member.value));
        size += member.key.text().size() + 3 + (member.value ? member.value->size() + 2 : 4) + 1;  // "key": "value" or null, a comma
    }
    if (!plain) {
        *line = encode_ok_strings_escaped(id, result);
        return;
    }
    if (result.size() > 0) --size;  // no comma after the last
    line->resize(size);
    char* at = line->data();
    const auto put = [&at](std::string_view text) {
        if (text.empty()) return;  // a default view's data() is null
        std::memcpy(at, text.data(), text.size());
        at += text.size();
    };
    put(kHead);
    put(id_text);
    put(kOk);
    bool first = true;
    for (const StringMember& member : result) {
        if (!first) *at++ = ',';
        first = false;
        *at++ = '"';
        put(member.key.text());
        put("\":");
        if (member.value) {
            *at++ = '"';
            put(*member.value);
            *at++ = '"';
        } else {
            put("null");
        }
    }
    put(kEnd);
}

}  // namespace tokend
