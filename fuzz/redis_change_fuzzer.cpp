// The Redis change notifications (plugins/redis): bytes of the subscriber
// connection, read by hiredis's reply reader as the thread reads them, then
// classify_reply and decode_change, which any process that can PUBLISH on the
// channel feeds. The input is also given to decode_change as one message.
// Checks: a decoded change encodes (encode_change) back to exactly the
// message's bytes, its origin is 16 bytes, and its key views lie inside it.
#include "fuzz_check.h"

#include "key_layout.h"
#include "subscriber.h"

#include <hiredis/hiredis.h>

#include <cctype>

namespace {

using namespace tokend::redis_store;

void check_decoded(std::string_view message, const ChangeMessage& change) {
    FUZZ_CHECK(change.origin.size() == 16);
    FUZZ_CHECK(change.origin.data() == message.data());
    FUZZ_CHECK(change.key.data() + change.key.size() == message.data() + message.size());
    FUZZ_CHECK(encode_change(change.origin, change.ns, change.change, change.key) == message);
}

// hiredis allocates what a multi-bulk or bulk length announces before reading
// it; a Redis server is trusted not to announce gigabytes, so such inputs are
// skipped rather than reported as out-of-memory.
bool announces_huge_lengths(std::string_view bytes) {
    for (size_t i = 0; i + 1 < bytes.size(); ++i) {
        if (bytes[i] != '*' && bytes[i] != '$') continue;
        size_t digits = 0;
        while (i + 1 + digits < bytes.size() && std::isdigit(static_cast<unsigned char>(bytes[i + 1 + digits]))) {
            ++digits;
        }
        if (digits > 6) return true;
    }
    return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view bytes = tokend::fuzz::as_text(data, size);
    if (const auto change = decode_change(bytes)) check_decoded(bytes, *change);

    if (announces_huge_lengths(bytes)) return 0;
    redisReader* reader = redisReaderCreate();
    FUZZ_CHECK(reader != nullptr);
    if (redisReaderFeed(reader, bytes.data(), bytes.size()) == REDIS_OK) {
        for (;;) {
            void* raw = nullptr;
            if (redisReaderGetReply(reader, &raw) != REDIS_OK || raw == nullptr) break;
            auto* reply = static_cast<redisReply*>(raw);
            ChangeMessage change{};
            const ReplyKind kind = classify_reply(*reply, &change);
            if (kind != ReplyKind::other) {
                FUZZ_CHECK(reply->type == REDIS_REPLY_ARRAY && reply->elements == 3);
                const redisReply& payload = *reply->element[2];
                const std::string_view message(payload.str, payload.len);
                FUZZ_CHECK(decode_change(message).has_value() == (kind == ReplyKind::change));
                if (kind == ReplyKind::change) check_decoded(message, change);
            }
            freeReplyObject(reply);
        }
    }
    redisReaderFree(reader);
    return 0;
}
