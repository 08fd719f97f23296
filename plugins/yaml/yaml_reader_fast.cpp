#include "yaml_reader_fast.h"

#include "yaml_reader_entry_builder.h"
#include "yaml_reader_scalars.h"
#include "yaml_writer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace tokend::yaml_store {
namespace {

using nlohmann::ordered_json;
using Entries = std::vector<std::pair<std::string, EntryPtr>>;

// Real contexts nest three levels; deeper files go to yaml-cpp.
constexpr int kMaxDepth = 32;
// yaml-cpp takes an implicit key of up to 1024 characters; stay well inside.
constexpr size_t kMaxKeyBytes = 1000;

bool is_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool plain_key_char(char c) {
    return is_alnum(c) || std::strchr("_-./+=@$", c) != nullptr;
}

// A first character yaml-cpp never reads as an indicator (or as the start of
// "- ", "? ", ": ").
bool plain_start(char c, char next) {
    if (is_alnum(c) || (c != '\0' && std::strchr("_./+(~$^=;", c) != nullptr)) return true;
    return c == '-' && (is_alnum(next) || next == '.');
}

bool is_null_word(std::string_view word) {
    return word == "null" || word == "Null" || word == "NULL";
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

void append_utf8(std::string& out, uint32_t c) {
    if (c <= 0x7f) {
        out += static_cast<char>(c);
    } else if (c <= 0x7ff) {
        out += static_cast<char>(0xc0 | (c >> 6));
        out += static_cast<char>(0x80 | (c & 0x3f));
    } else if (c <= 0xffff) {
        out += static_cast<char>(0xe0 | (c >> 12));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (c & 0x3f));
    } else {
        out += static_cast<char>(0xf0 | (c >> 18));
        out += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (c & 0x3f));
    }
}

// What a double-quoted "\c" stands for in yaml-cpp (Exp::Escape), for the escapes
// without digits; nullptr for the ones this reader leaves to yaml-cpp (\N, \_, \L
// and \P: rare, and 0.7 writes the first two as a lone byte, which is not UTF-8).
const char* simple_escape(char c) {
    switch (c) {
        case '0': return "\0";  // one NUL byte; its length comes from escape_length
        case 'a': return "\x07";
        case 'b': return "\x08";
        case 't': return "\x09";
        case 'n': return "\x0a";
        case 'v': return "\x0b";
        case 'f': return "\x0c";
        case 'r': return "\x0d";
        case 'e': return "\x1b";
        case ' ': return " ";
        case '"': return "\"";
        case '\'': return "'";
        case '\\': return "\\";
        case '/': return "/";
        default: return nullptr;  // \N and \_ are one byte (not UTF-8) in yaml-cpp 0.7
    }
}

class FastReader {
public:
    FastReader(std::string_view text, Declined* declined) : text_(text), declined_(declined) {}

    std::optional<Entries> read() {
        Entries entries;
        if (!check_bytes() || !skip_header() || !read_entries(&entries)) return std::nullopt;
        return entries;
    }

private:
    // The line the reader is at: [start, end) without its '\n'.
    struct Line {
        size_t start = 0;
        size_t end = 0;
        size_t indent = 0;
    };

    bool decline(const char* what) {
        if (declined_ != nullptr) {
            declined_->line = line_number_;
            declined_->what = what;
        }
        return false;
    }

    // The end of the text reads as a line end.
    char at(size_t i) const { return i < text_.size() ? text_[i] : '\n'; }

    bool at_end() const { return next_ >= text_.size(); }

    // Tabs, CR and other control characters mean indentation or line ends this
    // reader does not model; NUL would make yaml-cpp guess UTF-16 or UTF-32.
    bool check_bytes() {
        for (size_t i = 0; i < text_.size(); ++i) {
            const auto c = static_cast<unsigned char>(text_[i]);
            if ((c < 0x20 && c != '\n') || c == 0x7f) {
                line_number_ = 1 + static_cast<size_t>(std::count(text_.begin(), text_.begin() + i, '\n'));
                return decline("a tab, carriage return or other control character");
            }
        }
        return true;
    }

    // Comment and empty lines before the first entry.
    bool skip_header() {
        while (!at_end() && (text_[next_] == '#' || text_[next_] == '\n')) {
            const size_t end = text_.find('\n', next_);
            next_ = end == std::string_view::npos ? text_.size() : end + 1;
            ++line_number_;
        }
        return true;
    }

    // Makes the line at next_ current. False (declined) for a blank or comment line.
    bool load_line() {
        const void* found = std::memchr(text_.data() + next_, '\n', text_.size() - next_);
        line_.start = next_;
        line_.end = found != nullptr ? static_cast<size_t>(static_cast<const char*>(found) - text_.data())
                                     : text_.size();
        size_t i = line_.start;
        while (i < line_.end && text_[i] == ' ') ++i;
        line_.indent = i - line_.start;
        next_ = line_.end + 1;
        if (i == line_.end) return decline("a blank line after the first entry");
        if (text_[i] == '#') return decline("a comment after the first entry");
        if (text_[line_.end - 1] == ' ') return decline("trailing spaces");
        return true;
    }

    // Moves to the next line; false at the end of the text (or when declined, which
    // *ok says).
    bool advance(bool* ok) {
        ++line_number_;
        if (at_end()) return false;
        *ok = load_line();
        return *ok;
    }

    bool read_entries(Entries* entries) {
        if (at_end()) return true;
        if (!load_line()) return false;
        if (line_.indent != 0) return decline("a top level indented");
        while (true) {
            size_t i = line_.start;
            std::string key;
            if (!read_key(&i, &key)) return false;
            EntryPtr entry;
            bool ok = true;
            bool more = false;
            if (i == line_.end) {
                if (!read_mapping_entry(key, &entry, &more)) return false;
            } else if (text_.compare(i, line_.end - i, " {}") == 0) {
                entry = make_mapping_entry(key, ordered_json::object());
                more = advance(&ok);
            } else if (text_.compare(i, 11, " !!binary \"") == 0) {
                i += 10;
                std::string base64;
                if (!read_double_quoted(&i, &base64)) return false;
                if (i != line_.end) return decline("text after a !!binary scalar");
                const std::optional<std::string> bytes = decode_base64(base64);
                if (!bytes) return decline("a !!binary value that is not base64");
                entry = make_binary_entry(key, *bytes);
                more = advance(&ok);
            } else {
                return decline("an entry that is not a block mapping, {} or !!binary");
            }
            if (!ok) return false;
            entries->emplace_back(std::move(key), std::move(entry));
            if (!more) return true;
            if (line_.indent != 0) return decline("a line indented between two levels");
        }
    }

    // The block mapping after "key:" on the current line, written by the text
    // builder, or read again into a JSON object when that one refuses it.
    bool read_mapping_entry(const std::string& key, EntryPtr* entry, bool* more) {
        const Line entry_line = line_;
        const size_t entry_next = next_;
        const size_t entry_line_number = line_number_;
        for (EntryBuilder* builder : {static_cast<EntryBuilder*>(&text_builder_),
                                      static_cast<EntryBuilder*>(&tree_builder_)}) {
            line_ = entry_line;
            next_ = entry_next;
            line_number_ = entry_line_number;
            builder_ = builder;
            refused_ = false;
            bool ok = true;
            *more = advance(&ok);
            if (!ok) return false;
            if (!*more || line_.indent == 0) return decline("an entry that is not a mapping");
            builder->start(key);
            if (!read_mapping(1, more)) {
                if (refused_) continue;
                return false;
            }
            *entry = builder->finish();
            return *entry != nullptr || decline("an entry tokend cannot write back");
        }
        return decline("an entry no builder takes");  // never: the tree builder takes all
    }

    // The builder refused what the reader met: the entry is read again with the next.
    bool refuse() {
        refused_ = true;
        return false;
    }

    // The block mapping whose first line is the current one, to the builder.
    // Returns with the first line indented less than its keys current, or *more
    // false at the end of the text.
    bool read_mapping(int depth, bool* more) {
        if (depth > kMaxDepth) return decline("mappings nested too deep");
        const size_t indent = line_.indent;
        while (true) {
            size_t i = line_.start + indent;
            std::string key;
            if (!read_key(&i, &key)) return false;
            if (!builder_->key(std::move(key))) return refuse();
            bool ok = true;
            if (i == line_.end) {
                *more = advance(&ok);
                if (!ok) return false;
                if (*more && line_.indent > indent) {
                    builder_->begin_mapping();
                    if (!read_mapping(depth + 1, more)) return false;
                    builder_->end_mapping();
                } else {
                    builder_->null();  // "key:" alone
                }
            } else if (!read_inline_value(i + 1, indent, more)) {
                return false;
            }
            if (!*more || line_.indent < indent) return true;
            if (line_.indent > indent) return decline("a line indented deeper than its mapping's keys");
        }
    }

    // The value after "key: " at i, to the end of its line (or lines, for a plain
    // scalar going on deeper), to the builder; moves past them.
    bool read_inline_value(size_t i, size_t indent, bool* more) {
        bool ok = true;
        const char c = at(i);
        const std::string_view rest = text_.substr(i, line_.end - i);
        if (rest == "{}") {
            builder_->empty_mapping();
        } else if (rest == "[]") {
            builder_->empty_sequence();
        } else if (c == '"' || c == '\'') {
            std::string text;
            if (!(c == '"' ? read_double_quoted(&i, &text) : read_single_quoted(&i, &text))) {
                return false;
            }
            if (i != line_.end) return decline("text after a quoted scalar");
            builder_->quoted(text);
        } else if (plain_start(c, at(i + 1))) {
            if (!check_plain(rest)) return false;
            std::string text(rest);
            // Deeper lines go on with the scalar, each line break folded to a space.
            while ((*more = advance(&ok)) && line_.indent > indent) {
                const size_t first = line_.start + line_.indent;
                const std::string_view next = text_.substr(first, line_.end - first);
                if (!plain_start(next[0], at(first + 1))) {
                    return decline("a plain scalar line starting with an indicator");
                }
                if (!check_plain(next)) return false;
                text += ' ';
                text.append(next);
            }
            if (!ok) return false;
            return builder_->plain(text) || refuse();
        } else {
            return decline("a value this reader does not take (sequence, anchor, alias, tag, block scalar...)");
        }
        *more = advance(&ok);
        return ok;
    }

    // The characters of one line of a plain scalar: printable ASCII, no comment,
    // no ": " (which would make it a key), no trailing colon.
    bool check_plain(std::string_view text) {
        for (size_t k = 0; k < text.size(); ++k) {
            const char c = text[k];
            if (c < 0x20 || c > 0x7e || c == '#') return decline("a plain scalar with a comment or non-ASCII");
            if (c == ':' && (k + 1 == text.size() || text[k + 1] == ' ')) {
                return decline("a plain scalar holding \": \"");
            }
        }
        return true;
    }

    // A key at *i and its ':'; leaves *i after the ':', at a space or the line's end.
    bool read_key(size_t* i, std::string* key) {
        const size_t start = *i;
        const char c = at(start);
        if (c == '"') {
            if (!read_double_quoted(i, key)) return false;
        } else if (c == '\'') {
            if (!read_single_quoted(i, key)) return false;
        } else if (is_alnum(c) || c == '_') {
            while (*i < line_.end && plain_key_char(text_[*i])) ++*i;
            key->assign(text_.substr(start, *i - start));
            if (is_null_word(*key)) return decline("a null key");
        } else {
            return decline("a line that does not start with a key");
        }
        if (*i - start > kMaxKeyBytes) return decline("a key over 1000 bytes");
        if (at(*i) != ':') return decline("a key without \": \"");
        ++*i;
        if (*i != line_.end && text_[*i] != ' ') return decline("a key without \": \"");
        return true;
    }

    // 'text' on one line, '' standing for '; *i from the opening quote to after
    // the closing one.
    bool read_single_quoted(size_t* i, std::string* out) {
        bool raw_utf8 = false;
        for (size_t k = *i + 1;; ++k) {
            const size_t run = literal_run(k, '\'');
            out->append(text_, k, run);
            k += run;
            if (k >= line_.end) return decline("a quoted scalar over several lines");
            const char c = text_[k];
            if (c == '\'') {
                if (at(k + 1) != '\'') {
                    *i = k + 1;
                    break;
                }
                ++k;
            }
            raw_utf8 |= static_cast<unsigned char>(c) >= 0x80;
            *out += c;
        }
        return !raw_utf8 || is_valid_utf8(*out) || decline("a quoted scalar that is not UTF-8");
    }

    // The length of the run at k of characters a quoted scalar holds as they are.
    size_t literal_run(size_t k, char quote) const {
        size_t end = k;
        while (end < line_.end && text_[end] != quote && text_[end] != '\\' &&
               static_cast<unsigned char>(text_[end]) < 0x80) {
            ++end;
        }
        return end - k;
    }

    // "text" on one line with yaml-cpp's escapes; *i from the opening quote to
    // after the closing one.
    bool read_double_quoted(size_t* i, std::string* out) {
        bool raw_utf8 = false;
        for (size_t k = *i + 1;; ++k) {
            const size_t run = literal_run(k, '"');
            out->append(text_, k, run);
            k += run;
            if (k >= line_.end) return decline("a quoted scalar over several lines");
            const char c = text_[k];
            if (c == '"') {
                *i = k + 1;
                break;
            }
            if (c != '\\') {
                raw_utf8 |= static_cast<unsigned char>(c) >= 0x80;
                *out += c;
                continue;
            }
            const char e = at(++k);
            if (k >= line_.end) return decline("a quoted scalar over several lines");
            const int digits = e == 'x' ? 2 : e == 'u' ? 4 : e == 'U' ? 8 : 0;
            if (digits == 0) {
                const char* stands_for = simple_escape(e);
                if (stands_for == nullptr) return decline("an unknown escape");
                out->append(stands_for, e == '0' ? 1 : std::strlen(stands_for));
                continue;
            }
            uint32_t code_point = 0;
            for (int d = 0; d < digits; ++d) {
                const int value = hex_digit(at(++k));
                if (value < 0 || k >= line_.end) return decline("an escape without its hex digits");
                code_point = (code_point << 4) | static_cast<uint32_t>(value);
            }
            if ((code_point >= 0xd800 && code_point <= 0xdfff) || code_point > 0x10ffff) {
                return decline("an escape that is not a Unicode scalar value");
            }
            append_utf8(*out, code_point);
        }
        return !raw_utf8 || is_valid_utf8(*out) || decline("a quoted scalar that is not UTF-8");
    }

    std::string_view text_;
    Declined* declined_;
    EntryTextBuilder text_builder_;
    EntryTreeBuilder tree_builder_;
    EntryBuilder* builder_ = nullptr;
    bool refused_ = false;  // the builder refused the entry (not a decline)
    size_t next_ = 0;         // start of the line after the current one
    size_t line_number_ = 1;  // of the current line
    Line line_;
};

}  // namespace

std::optional<std::vector<std::pair<std::string, EntryPtr>>> parse_store_file_fast(
    std::string_view text, Declined* declined) {
    return FastReader(text, declined).read();
}

}  // namespace tokend::yaml_store
