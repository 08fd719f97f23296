// Encryption at rest at the store boundary (docs/encryption.md): the key ring
// read from the files the configuration names, and the one place records are
// sealed on their way to any store plugin and opened on their way back. Every
// plugin (memory, yaml, redis, third-party ones) stores only what comes out of
// seal(); nothing in the store ABI knows.
//
// Records are opened when they are loaded or change (start-up, the change
// feed, a resync, the read before a write), never per get_token: the cache
// holds them opened. Immutable once built: any thread may use it.
#pragma once

#include "config/config.h"
#include "core/flow_state.h"
#include "core/sealed_record.h"
#include "core/user_context.h"

#include <string>
#include <string_view>

namespace tokend {

class StoreCipher {
public:
    StoreCipher() = default;  // no key ring: values are written and read in plain text
    explicit StoreCipher(TokenKeyRing ring) : ring_(std::move(ring)) {}

    // Reads every configured key (a file, or a systemd credential under
    // $CREDENTIALS_DIRECTORY). Throws std::runtime_error naming the key id and
    // its source when one is missing, empty or not 32 bytes; never the key.
    static StoreCipher from_config(const EncryptionConfig& config);

    const TokenKeyRing& ring() const { return ring_; }
    bool configured() const { return !ring_.keys.empty(); }
    // One line for the start-up log: "off", or the active key and the others.
    std::string describe() const;

    // Stored text to text with its secrets opened (unchanged when it holds no
    // sealed value). The error names the field and key id, never a byte of it.
    Result<std::string> open(RecordKind kind, std::string_view store_key, std::string_view stored,
                             OpenFailure* failure = nullptr) const;
    bool open_json(Json* record, RecordKind kind, std::string_view store_key, OpenFailure* failure) const;

    // A stored user context, parsed and opened in one JSON pass (start-up reads
    // every context through this). *undecryptable tells a value that does not
    // decrypt (the error names field and key id) from a malformed record.
    Result<UserContext> open_context(std::string_view user_id, std::string_view stored, bool* undecryptable) const;

    // What goes to the store: the record with its secrets sealed under the
    // active key (fresh nonces), or as it is when no key is active.
    std::string seal(const UserContext& context) const;
    std::string seal(std::string_view flow_id, const FlowState& flow) const;
    std::string seal_text(RecordKind kind, std::string_view store_key, std::string_view plain) const;
    void seal_json(Json* record, RecordKind kind, std::string_view store_key) const;

private:
    TokenKeyRing ring_;
};

}  // namespace tokend
