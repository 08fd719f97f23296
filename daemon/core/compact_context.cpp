#include "core/compact_context.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace tokend {

uint32_t InternPool::acquire(const std::optional<std::string>& value) {
    if (!value) return kNone;
    if (auto found = index_.find(*value); found != index_.end()) {
        ++entries_[found->second].references;
        return found->second;
    }
    uint32_t id;
    if (free_.empty()) {
        id = static_cast<uint32_t>(entries_.size());
        entries_.emplace_back();
    } else {
        id = free_.back();
        free_.pop_back();
    }
    entries_[id].text = std::make_unique<const std::string>(*value);
    entries_[id].references = 1;
    index_.emplace(*entries_[id].text, id);
    return id;
}

void InternPool::release(uint32_t id) {
    if (id == kNone) return;
    Entry& entry = entries_[id];
    if (--entry.references > 0) return;
    index_.erase(*entry.text);
    entry.text.reset();
    free_.push_back(id);
}

std::optional<std::string> InternPool::value_of(uint32_t id) const {
    if (id == kNone) return std::nullopt;
    return *entries_[id].text;
}

namespace {

enum Flag : uint8_t {
    kAccess = 1,          // an access token (maybe empty) is present
    kRefresh = 2,         // a refresh token is present
    kExpires = 4,         // expires_at is set
    kRefreshExpires = 8,  // refresh_token_expires_at is set
    kExtra = 16,          // unknown fields: two lengths and their JSON texts follow the tokens
};

enum Text { kUserId, kAccessToken, kRefreshToken, kTexts };

}  // namespace

// Followed in the same allocation by the user id, the access token and the
// refresh token, then (kExtra) two uint32 lengths and the JSON texts of the
// context's and the tokens' unknown fields ("" for none).
struct CompactContext::Header {
    int64_t expires_at;  // microseconds since the epoch, as Timestamp holds them
    int64_t refresh_token_expires_at;
    uint32_t scope;
    uint32_t token_type;
    uint32_t lengths[kTexts];
    uint8_t flags;

    const char* text() const { return reinterpret_cast<const char*>(this + 1); }
    std::string_view field(int which) const {
        size_t at = 0;
        for (int i = 0; i < which; ++i) at += lengths[i];
        return {text() + at, lengths[which]};
    }
    // Where the unknown fields' lengths start.
    const char* extra() const { return text() + lengths[kUserId] + lengths[kAccessToken] + lengths[kRefreshToken]; }
    // The context's (0) or the tokens' (1) unknown fields as JSON text, "" for none.
    std::string_view extra_text(int which) const {
        if (!(flags & kExtra)) return {};
        uint32_t sizes[2];
        std::memcpy(sizes, extra(), sizeof sizes);
        const char* at = extra() + sizeof sizes + (which == 1 ? sizes[0] : 0);
        return {at, sizes[which]};
    }
};

void CompactContext::Free::operator()(Header* header) const {
    header->~Header();
    std::free(header);
}

namespace {

std::string extra_json(const Json& extra) { return extra.is_null() ? std::string() : extra.dump(); }

Json extra_from(std::string_view text) { return text.empty() ? Json() : Json::parse(text); }

Timestamp timestamp_of(int64_t micros) { return Timestamp(std::chrono::microseconds(micros)); }

}  // namespace

CompactContext CompactContext::pack(const UserContext& context, InternPool& pool) {
    const Tokens& tokens = context.tokens;
    const std::string_view access = tokens.access_token ? std::string_view(tokens.access_token->reveal()) : "";
    const std::string_view refresh = tokens.refresh_token ? std::string_view(tokens.refresh_token->reveal()) : "";
    const std::string context_extra = extra_json(context.extra);
    const std::string tokens_extra = extra_json(tokens.extra);
    const bool has_extra = !context_extra.empty() || !tokens_extra.empty();

    const size_t texts = context.user_id.size() + access.size() + refresh.size() +
                         (has_extra ? 2 * sizeof(uint32_t) + context_extra.size() + tokens_extra.size() : 0);
    void* memory = std::malloc(sizeof(Header) + texts);
    if (memory == nullptr) throw std::bad_alloc();
    CompactContext packed;
    packed.block_.reset(new (memory) Header{});
    Header& header = *packed.block_;
    header.flags = static_cast<uint8_t>((tokens.access_token ? kAccess : 0) | (tokens.refresh_token ? kRefresh : 0) |
                                        (tokens.expires_at ? kExpires : 0) |
                                        (tokens.refresh_token_expires_at ? kRefreshExpires : 0) |
                                        (has_extra ? kExtra : 0));
    header.expires_at = tokens.expires_at ? tokens.expires_at->time_since_epoch().count() : 0;
    header.refresh_token_expires_at =
        tokens.refresh_token_expires_at ? tokens.refresh_token_expires_at->time_since_epoch().count() : 0;
    header.lengths[kUserId] = static_cast<uint32_t>(context.user_id.size());
    header.lengths[kAccessToken] = static_cast<uint32_t>(access.size());
    header.lengths[kRefreshToken] = static_cast<uint32_t>(refresh.size());

    char* out = static_cast<char*>(memory) + sizeof(Header);
    auto put = [&out](const void* bytes, size_t size) {
        if (size) std::memcpy(out, bytes, size);
        out += size;
    };
    put(context.user_id.data(), context.user_id.size());
    put(access.data(), access.size());
    put(refresh.data(), refresh.size());
    if (has_extra) {
        const uint32_t sizes[2] = {static_cast<uint32_t>(context_extra.size()),
                                   static_cast<uint32_t>(tokens_extra.size())};
        put(sizes, sizeof sizes);
        put(context_extra.data(), context_extra.size());
        put(tokens_extra.data(), tokens_extra.size());
    }
    // Last, so nothing above can throw with a reference taken.
    header.scope = pool.acquire(tokens.scope);
    header.token_type = pool.acquire(tokens.token_type);
    return packed;
}

Tokens CompactContext::tokens(const InternPool& pool) const {
    Tokens tokens;
    if (!block_) return tokens;
    const Header& header = *block_;
    if (header.flags & kAccess) tokens.access_token = Secret(std::string(header.field(kAccessToken)));
    if (header.flags & kRefresh) tokens.refresh_token = Secret(std::string(header.field(kRefreshToken)));
    if (header.flags & kExpires) tokens.expires_at = timestamp_of(header.expires_at);
    if (header.flags & kRefreshExpires) tokens.refresh_token_expires_at = timestamp_of(header.refresh_token_expires_at);
    tokens.token_type = pool.value_of(header.token_type);
    tokens.scope = pool.value_of(header.scope);
    tokens.extra = extra_from(header.extra_text(1));
    return tokens;
}

UserContext CompactContext::unpack(const InternPool& pool) const {
    UserContext context;
    if (!block_) return context;
    context.user_id = std::string(user_id());
    context.tokens = tokens(pool);
    context.extra = extra_from(block_->extra_text(0));
    return context;
}

bool CompactContext::equals(const UserContext& context, const InternPool& pool) const {
    return block_ && user_id() == context.user_id && unpack(pool) == context;
}

void CompactContext::release_into(InternPool& pool) {
    if (!block_) return;
    pool.release(block_->scope);
    pool.release(block_->token_type);
    block_.reset();
}

std::string_view CompactContext::user_id() const { return block_ ? block_->field(kUserId) : std::string_view(); }

std::optional<std::string_view> CompactContext::access_token() const {
    if (!block_ || !(block_->flags & kAccess)) return std::nullopt;
    return block_->field(kAccessToken);
}

TokenTimes CompactContext::times() const {
    TokenTimes times;
    if (!block_) return times;
    const Header& header = *block_;
    times.access_token = header.lengths[kAccessToken] > 0;  // only a present token has bytes
    times.refresh_token = header.lengths[kRefreshToken] > 0;
    if (header.flags & kExpires) times.expires_at = timestamp_of(header.expires_at);
    if (header.flags & kRefreshExpires) times.refresh_token_expires_at = timestamp_of(header.refresh_token_expires_at);
    return times;
}

size_t CompactContext::allocated_bytes() const {
    if (!block_) return 0;
    const Header& header = *block_;
    size_t bytes = sizeof(Header) + header.lengths[kUserId] + header.lengths[kAccessToken] + header.lengths[kRefreshToken];
    if (header.flags & kExtra) {
        bytes += 2 * sizeof(uint32_t) + header.extra_text(0).size() + header.extra_text(1).size();
    }
    return bytes;
}

}  // namespace tokend
