#include "list_cursor.h"

#include <charconv>
#include <cstdint>
#include <iterator>

namespace tokend::redis_store {

void ListCursor::give_back(std::vector<std::string>& keys, size_t from) {
    pending.insert(pending.begin(), std::make_move_iterator(keys.begin() + static_cast<long>(from)),
                   std::make_move_iterator(keys.end()));
    keys.resize(from);
}

std::string ListCursor::encode() const {
    std::string text = "s" + scan + ":";
    for (const std::string& key : pending) text += std::to_string(key.size()) + ":" + key;
    return text;
}

bool ListCursor::decode(std::string_view text, ListCursor* out) {
    ListCursor cursor;
    cursor.started = true;
    if (!text.starts_with("s")) return false;
    text.remove_prefix(1);
    const size_t colon = text.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    cursor.scan = std::string(text.substr(0, colon));
    // SSCAN's cursor: an unsigned 64-bit number (Redis refuses anything else).
    uint64_t scan = 0;
    const auto [scan_end, scan_error] = std::from_chars(cursor.scan.data(), cursor.scan.data() + cursor.scan.size(), scan);
    if (scan_error != std::errc() || scan_end != cursor.scan.data() + cursor.scan.size()) return false;
    text.remove_prefix(colon + 1);
    while (!text.empty()) {
        size_t length = 0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), length);
        if (error != std::errc() || end == text.data() + text.size() || *end != ':') return false;
        text.remove_prefix(static_cast<size_t>(end - text.data()) + 1);
        if (length > text.size()) return false;
        cursor.pending.emplace_back(text.substr(0, length));
        text.remove_prefix(length);
    }
    *out = std::move(cursor);
    return true;
}

}  // namespace tokend::redis_store
