// ListCursor::decode (plugins/redis/list_cursor): the opaque cursor a client
// hands back to list_users, straight from the control socket.
// Checks: a decoded cursor encodes to text that decodes to the same cursor
// (scan, pending keys), and the keys cannot be longer than the text.
#include "fuzz_check.h"

#include "list_cursor.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using tokend::redis_store::ListCursor;
    const std::string_view text = tokend::fuzz::as_text(data, size);
    ListCursor cursor;
    if (!ListCursor::decode(text, &cursor)) return 0;
    FUZZ_CHECK(cursor.started);
    size_t bytes = cursor.scan.size();
    for (const std::string& key : cursor.pending) bytes += key.size();
    FUZZ_CHECK(bytes <= text.size());

    const std::string encoded = cursor.encode();
    ListCursor again;
    FUZZ_CHECK(ListCursor::decode(encoded, &again));
    FUZZ_CHECK(again.scan == cursor.scan && again.pending == cursor.pending && again.started);
    FUZZ_CHECK(again.encode() == encoded);
    return 0;
}
