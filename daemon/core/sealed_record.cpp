#include "core/sealed_record.h"

#include "core/json_limits.h"

#include <vector>

namespace tokend {
namespace {

struct SecretField {
    const char* parent;  // nullptr: top level
    const char* name;
};

const std::vector<SecretField>& fields_of(RecordKind kind) {
    static const std::vector<SecretField> user_context{{"tokens", "access_token"}, {"tokens", "refresh_token"}};
    static const std::vector<SecretField> flow{{nullptr, "code_verifier"}};
    return kind == RecordKind::user_context ? user_context : flow;
}

// The field's value when it is a string, else nullptr.
template <typename J>
auto string_field(J* record, const SecretField& field) -> decltype(&(*record)[field.name]) {
    if (!record->is_object()) return nullptr;
    J* holder = record;
    if (field.parent != nullptr) {
        auto parent = record->find(field.parent);
        if (parent == record->end() || !parent->is_object()) return nullptr;
        holder = &*parent;
    }
    auto value = holder->find(field.name);
    if (value == holder->end() || !value->is_string()) return nullptr;
    return &*value;
}

}  // namespace

bool open_record(Json* record, RecordKind kind, std::string_view owner, const TokenKeyRing& ring,
                 OpenFailure* failure) {
    std::vector<std::pair<Json*, std::string>> opened;
    for (const SecretField& field : fields_of(kind)) {
        Json* value = string_field(record, field);
        if (value == nullptr || !is_sealed_value(value->get_ref<const std::string&>())) continue;
        auto plain = open_with_ring(ring, value->get_ref<const std::string&>(), owner, field.name, failure);
        if (!plain) return false;
        opened.emplace_back(value, std::move(plain).value());
    }
    for (auto& [value, plain] : opened) *value = std::move(plain);
    return true;
}

void seal_record(Json* record, RecordKind kind, std::string_view owner, const TokenKeyRing& ring,
                 const NonceSource& nonce) {
    if (!ring.seals()) return;
    const Secret* key = ring.find(ring.active_id);
    for (const SecretField& field : fields_of(kind)) {
        Json* value = string_field(record, field);
        if (value == nullptr) continue;
        *value = seal_value(value->get_ref<const std::string&>(), key->reveal(), ring.active_id, nonce(), owner,
                            field.name);
    }
}

bool record_is_current(const Json& record, RecordKind kind, const TokenKeyRing& ring) {
    for (const SecretField& field : fields_of(kind)) {
        const Json* value = string_field(&record, field);
        if (value == nullptr) continue;
        const std::string& text = value->get_ref<const std::string&>();
        if (!ring.seals()) {
            if (is_sealed_value(text)) return false;
            continue;
        }
        const std::string prefix = "enc:v1:" + ring.active_id + ":";
        if (text.compare(0, prefix.size(), prefix) != 0) return false;
    }
    return true;
}

std::string record_key_ids(const Json& record, RecordKind kind) {
    std::string ids;
    for (const SecretField& field : fields_of(kind)) {
        const Json* value = string_field(&record, field);
        if (value == nullptr || !is_sealed_value(value->get_ref<const std::string&>())) continue;
        auto parsed = parse_sealed_value(value->get_ref<const std::string&>());
        const std::string id = parsed ? parsed->key_id : "?";
        if (ids.find(id) == std::string::npos) ids += (ids.empty() ? "" : ",") + id;
    }
    return ids;
}

bool may_hold_sealed_value(std::string_view text) {
    return text.find("\"enc:") != std::string_view::npos || text.find('\\') != std::string_view::npos;
}

Result<std::string> open_record_text(std::string_view text, RecordKind kind, std::string_view owner,
                                     const TokenKeyRing& ring, OpenFailure* failure) {
    if (!may_hold_sealed_value(text)) return std::string(text);
    if (!json_depth_within(text)) return std::string(text);
    Json record = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (record.is_discarded() || !record.is_object()) return std::string(text);
    if (!open_record(&record, kind, owner, ring, failure)) return Result<std::string>::failure(failure->describe());
    return record.dump();
}

std::string seal_record_text(std::string_view text, RecordKind kind, std::string_view owner,
                             const TokenKeyRing& ring, const NonceSource& nonce) {
    if (!ring.seals()) return std::string(text);
    Json record = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (record.is_discarded() || !record.is_object()) return std::string(text);
    seal_record(&record, kind, owner, ring, nonce);
    return record.dump();
}

Reseal reseal_record(std::string_view stored, RecordKind kind, std::string_view owner, const TokenKeyRing& ring,
                     const NonceSource& nonce) {
    Reseal reseal;
    Json record = json_depth_within(stored) ? Json::parse(stored, nullptr, /*allow_exceptions=*/false) : Json();
    if (record.is_discarded() || !record.is_object()) {
        reseal.kind = Reseal::Kind::unreadable;
        reseal.failure.reason = "not a JSON object";
        return reseal;
    }
    // Opened even when current: a value under the active key that does not
    // decrypt (tampered, truncated) is counted, not taken for done.
    const bool current = record_is_current(record, kind, ring);
    if (!open_record(&record, kind, owner, ring, &reseal.failure)) {
        reseal.kind = Reseal::Kind::unreadable;
        return reseal;
    }
    if (current) return reseal;
    seal_record(&record, kind, owner, ring, nonce);
    reseal.kind = Reseal::Kind::rewrite;
    reseal.text = record.dump();
    return reseal;
}

}  // namespace tokend
