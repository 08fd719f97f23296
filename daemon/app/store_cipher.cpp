#include "app/store_cipher.h"

#include "app/random_source.h"
#include "app/secret_loader.h"
#include "core/json_limits.h"
#include "core/user_context_fast.h"

#include <stdexcept>

namespace tokend {
namespace {

std::string fresh_nonce() { return random_bytes(kTokenNonceBytes); }

}  // namespace

StoreCipher StoreCipher::from_config(const EncryptionConfig& config) {
    TokenKeyRing ring;
    for (const EncryptionKeySource& key : config.keys) {
        const std::string what = "encryption key " + key.id;
        const std::string where = key.source.file.empty()
                                      ? "systemd credential " + key.source.credential_name
                                      : key.source.file;
        Secret text = load_secret(key.source, what);
        if (text.empty()) {
            throw std::runtime_error(what + ": " + where +
                                     " not found ($CREDENTIALS_DIRECTORY is unset or holds no such file: see "
                                     "LoadCredential= in docs/encryption.md)");
        }
        auto parsed = parse_key_text(text.reveal());
        if (!parsed) throw std::runtime_error(what + ": " + where + ": " + parsed.error());
        ring.keys.emplace(key.id, std::move(parsed).value());
    }
    ring.active_id = config.active_key;
    return StoreCipher(std::move(ring));
}

std::string StoreCipher::describe() const {
    if (!configured()) return "off (tokens are stored in plain text)";
    std::string others;
    for (const auto& [id, key] : ring_.keys) {
        if (id != ring_.active_id) others += (others.empty() ? "" : ", ") + id;
    }
    std::string text = ring_.seals() ? "on, writing with key " + ring_.active_id
                                     : "reading only (no active_key: tokens are written in plain text)";
    if (!others.empty()) text += "; reading also key" + std::string(ring_.keys.size() > 2 ? "s " : " ") + others;
    return text;
}

Result<std::string> StoreCipher::open(RecordKind kind, std::string_view store_key, std::string_view stored,
                                      OpenFailure* failure) const {
    OpenFailure local;
    return open_record_text(stored, kind, store_key, ring_, failure != nullptr ? failure : &local);
}

bool StoreCipher::open_json(Json* record, RecordKind kind, std::string_view store_key, OpenFailure* failure) const {
    return open_record(record, kind, store_key, ring_, failure);
}

Result<UserContext> StoreCipher::open_context(std::string_view user_id, std::string_view stored,
                                              bool* undecryptable) const {
    *undecryptable = false;
    // Plain text (no sealed value): the parser alone, as without encryption.
    // The fast reader declines sealed values, so it goes first: start-up reads
    // a million contexts, and searching each for a sealed value cost as much.
    if (auto plain = user_context_from_plain_json(stored)) return std::move(*plain);
    if (!may_hold_sealed_value(stored)) return user_context_from_json(stored);
    if (!json_depth_within(stored)) return user_context_from_json(stored);  // its error
    Json record = Json::parse(stored, nullptr, /*allow_exceptions=*/false);
    if (record.is_discarded()) return user_context_from_json(stored);
    OpenFailure failure;
    if (!open_record(&record, RecordKind::user_context, user_id, ring_, &failure)) {
        *undecryptable = true;
        return Result<UserContext>::failure(failure.describe());
    }
    return user_context_from_json(record);
}

std::string StoreCipher::seal(const UserContext& context) const {
    if (!ring_.seals()) return to_stored_text(context);
    Json json = to_json(context);
    seal_record(&json, RecordKind::user_context, context.user_id, ring_, fresh_nonce);
    return json.dump();
}

std::string StoreCipher::seal(std::string_view flow_id, const FlowState& flow) const {
    if (!ring_.seals()) return to_stored_text(flow);
    Json json = to_json(flow);
    seal_record(&json, RecordKind::flow, flow_id, ring_, fresh_nonce);
    return json.dump();
}

std::string StoreCipher::seal_text(RecordKind kind, std::string_view store_key, std::string_view plain) const {
    return seal_record_text(plain, kind, store_key, ring_, fresh_nonce);
}

void StoreCipher::seal_json(Json* record, RecordKind kind, std::string_view store_key) const {
    seal_record(record, kind, store_key, ring_, fresh_nonce);
}

}  // namespace tokend
