#include "core/context_export.h"

#include <charconv>

namespace tokend {

ContextSnapshot::ContextSnapshot(uint64_t serial, Timestamp taken_at, bool refresh_tokens,
                                 const std::vector<UserContext>& contexts)
    : serial_(serial), taken_at_(taken_at), refresh_tokens_(refresh_tokens) {
    texts_.reserve(contexts.size());
    for (const UserContext& context : contexts) {
        if (refresh_tokens || !context.tokens.refresh_token) {
            texts_.push_back(to_stored_text(context));
        } else {
            UserContext shown = context;
            shown.tokens.refresh_token.reset();
            Json json = to_json(shown);
            json["tokens"]["refresh_token"] = nullptr;  // shown as null, as get_user_context does
            texts_.push_back(json.dump());
        }
    }
}

std::string ContextSnapshot::cursor_at(size_t offset) const {
    return std::to_string(serial_) + ":" + std::to_string(offset);
}

ContextSnapshot::Page ContextSnapshot::page(size_t offset, size_t budget) const {
    Page page{Json::array(), std::nullopt};
    size_t bytes = 0;
    size_t end = offset;
    while (end < texts_.size() && (end == offset || bytes + texts_[end].size() + 1 <= budget)) {
        bytes += texts_[end].size() + 1;
        page.user_contexts.push_back(Json::parse(texts_[end]));
        ++end;
    }
    if (end < texts_.size()) page.next = cursor_at(end);
    return page;
}

std::optional<size_t> ContextSnapshot::offset_of(std::string_view cursor) const {
    const size_t colon = cursor.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    uint64_t serial = 0;
    size_t offset = 0;
    const std::string_view serial_text = cursor.substr(0, colon), offset_text = cursor.substr(colon + 1);
    auto parse = [](std::string_view text, auto* value) {
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *value);
        return !text.empty() && error == std::errc() && end == text.data() + text.size();
    };
    if (!parse(serial_text, &serial) || !parse(offset_text, &offset)) return std::nullopt;
    if (serial != serial_ || offset == 0 || offset >= texts_.size()) return std::nullopt;
    return offset;
}

}  // namespace tokend
