// The published test vectors (docs/encryption.md, computed independently with
// Python's cryptography AESGCM) and the tamper cases.
#include "core/sealed_record.h"
#include "core/token_cipher.h"

#include <gtest/gtest.h>

#include <string>

namespace tokend {
namespace {

std::string from_hex(std::string_view hex) {
    std::string out;
    for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
    return out;
}

const std::string kKey1 = from_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
const std::string kNonce1 = from_hex("000102030405060708090a0b");
const std::string kKey2(32, '\xff');
const std::string kNonce2(12, '\xa5');

struct Vector {
    std::string key, key_id, nonce, owner, field, plaintext, sealed;
};

const Vector kVectors[] = {
    {kKey1, "k1", kNonce1, "alice@example.com", "access_token", "ZDI3MGE2MzUtYWNjZXNz",
     "enc:v1:k1:AAECAwQFBgcICQoLHUafKIiihynAO8L_6L42B9mOyU5aS5l18iNS9ywgotP9hidy"},
    {kKey1, "k1", kNonce1, "alice@example.com", "refresh_token", "ZDI3MGE2MzUtYWNjZXNz",
     "enc:v1:k1:AAECAwQFBgcICQoLHUafKIiihynAO8L_6L42B9mOyU7ykaGYTrM87jzE0hUZ8l_w"},
    {kKey2, "2026-12.b", kNonce2, "bob", "code_verifier", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
     "enc:v1:2026-12.b:paWlpaWlpaWlpaWl2aBoweJNIsohwJKR71VsBLKt-Ah8X31GQ_c69_6-q1fsrWGIu6ijn5ao_n3WwXffQ466e_11VcNVBOQ"},
    {kKey1, "k1", kNonce1, "alice@example.com", "access_token", "",
     "enc:v1:k1:AAECAwQFBgcICQoLZEc13R7GpcZ8WoOxMQIclA"},
};

Result<std::string> open_text(std::string_view text, std::string_view key, std::string_view owner,
                              std::string_view field) {
    auto parsed = parse_sealed_value(text);
    if (!parsed) return Result<std::string>::failure(parsed.error());
    return open_sealed_value(*parsed, key, owner, field);
}

TEST(TokenCipher, SealsThePublishedVectors) {
    for (const Vector& v : kVectors) {
        EXPECT_EQ(seal_value(v.plaintext, v.key, v.key_id, v.nonce, v.owner, v.field), v.sealed) << v.field;
    }
}

TEST(TokenCipher, OpensThePublishedVectors) {
    for (const Vector& v : kVectors) {
        auto opened = open_text(v.sealed, v.key, v.owner, v.field);
        ASSERT_TRUE(opened) << opened.error();
        EXPECT_EQ(*opened, v.plaintext);
    }
}

TEST(TokenCipher, FormatsAndParsesTheTextForm) {
    auto parsed = parse_sealed_value(kVectors[0].sealed);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->key_id, "k1");
    EXPECT_EQ(parsed->payload.substr(0, 12), kNonce1);
    EXPECT_EQ(parsed->payload.size(), 12u + 20u + 16u);
    EXPECT_EQ(format_sealed_value(*parsed), kVectors[0].sealed);
    EXPECT_TRUE(is_sealed_value("enc:anything"));
    EXPECT_FALSE(is_sealed_value("ZDI3MGE2"));
    EXPECT_FALSE(is_sealed_value("enc"));
}

// Flips one bit of the payload at byte `at` and re-formats.
std::string flipped(const std::string& sealed, size_t at) {
    auto parsed = parse_sealed_value(sealed);
    parsed.value().payload[at] = static_cast<char>(parsed.value().payload[at] ^ 0x01);
    return format_sealed_value(*parsed);
}

TEST(TokenCipher, TamperedValuesDoNotOpen) {
    const Vector& v = kVectors[0];
    const size_t size = parse_sealed_value(v.sealed)->payload.size();
    EXPECT_FALSE(open_text(flipped(v.sealed, 0), v.key, v.owner, v.field)) << "nonce";
    EXPECT_FALSE(open_text(flipped(v.sealed, 11), v.key, v.owner, v.field)) << "nonce end";
    EXPECT_FALSE(open_text(flipped(v.sealed, 12), v.key, v.owner, v.field)) << "ciphertext";
    EXPECT_FALSE(open_text(flipped(v.sealed, size - 16), v.key, v.owner, v.field)) << "tag";
    EXPECT_FALSE(open_text(flipped(v.sealed, size - 1), v.key, v.owner, v.field)) << "tag end";
}

TEST(TokenCipher, TruncatedValuesDoNotOpen) {
    const Vector& v = kVectors[0];
    // Shorter by one payload byte (tag cut), by a whole block, and below nonce + tag.
    auto parsed = parse_sealed_value(v.sealed).value();
    SealedValue cut = parsed;
    cut.payload.pop_back();
    EXPECT_FALSE(open_text(format_sealed_value(cut), v.key, v.owner, v.field));
    cut.payload.resize(27);
    auto short_one = parse_sealed_value(format_sealed_value(cut));
    ASSERT_FALSE(short_one);
    EXPECT_EQ(short_one.error(), "encrypted value is truncated");
    EXPECT_FALSE(parse_sealed_value("enc:v1:k1:"));
    // A cut in the text that leaves an impossible base64 length.
    EXPECT_FALSE(parse_sealed_value(v.sealed.substr(0, v.sealed.size() - 3)));
}

TEST(TokenCipher, WrongOwnerFieldKeyOrKeyIdDoNotOpen) {
    const Vector& v = kVectors[0];
    EXPECT_FALSE(open_text(v.sealed, v.key, "mallory@example.com", v.field)) << "other user";
    EXPECT_FALSE(open_text(v.sealed, v.key, v.owner, "refresh_token")) << "other field";
    EXPECT_FALSE(open_text(v.sealed, kKey2, v.owner, v.field)) << "wrong key";
    // The same bytes relabelled with another key id (the id is in the AAD).
    std::string relabelled = v.sealed;
    relabelled.replace(7, 2, "k2");
    EXPECT_FALSE(open_text(relabelled, v.key, v.owner, v.field));
    auto failed = open_text(v.sealed, kKey2, v.owner, v.field);
    EXPECT_EQ(failed.error().find(v.plaintext), std::string::npos);
}

TEST(TokenCipher, WrongVersionAndMalformedTextAreRefused) {
    EXPECT_EQ(parse_sealed_value("enc:v2:k1:AAECAwQFBgcICQoLZEc13R7GpcZ8WoOxMQIclA").error(),
              "unknown encryption format version (tokend reads v1)");
    EXPECT_FALSE(parse_sealed_value("enc:v1:AAECAwQFBgcICQoLZEc13R7GpcZ8WoOxMQIclA"));
    EXPECT_FALSE(parse_sealed_value("enc:v1:k/1:AAECAwQFBgcICQoLZEc13R7GpcZ8WoOxMQIclA"));
    EXPECT_FALSE(parse_sealed_value("enc:v1:k1:AAECAwQFBgcICQoLZEc13R7GpcZ8WoOx+QIclA")) << "not base64url";
    EXPECT_FALSE(parse_sealed_value("enc:v1:k1:AAECAwQFBgcICQoLZEc13R7GpcZ8WoOxMQIclA==")) << "padding";
    EXPECT_FALSE(parse_sealed_value("plain"));
}

TEST(TokenCipher, BadKeyOrNonceShapesThrow) {
    EXPECT_THROW(seal_value("x", std::string(31, 'k'), "k1", kNonce1, "u", "f"), std::invalid_argument);
    EXPECT_THROW(seal_value("x", kKey1, "k1", std::string(11, 'n'), "u", "f"), std::invalid_argument);
    EXPECT_THROW(seal_value("x", kKey1, "bad id", kNonce1, "u", "f"), std::invalid_argument);
}

TEST(TokenCipher, KeyIds) {
    EXPECT_EQ(check_key_id("2026-12.b_x"), "");
    EXPECT_NE(check_key_id(""), "");
    EXPECT_NE(check_key_id(std::string(33, 'a')), "");
    EXPECT_NE(check_key_id("a:b"), "");
}

TEST(TokenCipher, KeyRingNamesTheUnknownKeyId) {
    TokenKeyRing ring;
    ring.active_id = "k2";
    ring.keys.emplace("k2", Secret(kKey2));
    OpenFailure failure;
    auto opened = open_with_ring(ring, kVectors[0].sealed, "alice@example.com", "access_token", &failure);
    ASSERT_FALSE(opened);
    EXPECT_EQ(failure.key_id, "k1");
    EXPECT_EQ(opened.error(), "access_token under key id k1: no such key in the key ring");
    ring.keys.emplace("k1", Secret(kKey1));
    opened = open_with_ring(ring, kVectors[0].sealed, "alice@example.com", "access_token", &failure);
    ASSERT_TRUE(opened);
    EXPECT_EQ(*opened, kVectors[0].plaintext);
    // Plain values pass through.
    EXPECT_EQ(*open_with_ring(ring, "plain-token", "alice", "access_token", &failure), "plain-token");
    TokenKeyRing none;
    EXPECT_EQ(open_with_ring(none, kVectors[0].sealed, "alice@example.com", "access_token", &failure).error(),
              "access_token under key id k1: encryption is not configured (no key ring)");
}

TEST(TokenCipher, KeyFileText) {
    EXPECT_EQ(parse_key_text("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n")->reveal(), kKey1);
    EXPECT_EQ(parse_key_text("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")->reveal(), kKey1);
    EXPECT_EQ(parse_key_text("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")->reveal(), kKey1);
    EXPECT_EQ(parse_key_text("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxw=").error(), "the key is 29 bytes, not 32");
    EXPECT_FALSE(parse_key_text("not a key at all!"));
    EXPECT_FALSE(parse_key_text(""));
}

// Records: the secret fields, nothing else.
TEST(SealedRecord, SealsAndOpensAContextsTokensOnly) {
    TokenKeyRing ring;
    ring.active_id = "k1";
    ring.keys.emplace("k1", Secret(kKey1));
    int calls = 0;
    NonceSource nonce = [&] { ++calls; return std::string(12, static_cast<char>(calls)); };
    const std::string plain =
        R"({"user_id":"alice","tokens":{"access_token":"AT","expires_at":"2026-12-03T10:00:00+00:00","refresh_token":"RT","token_type":"Bearer"},"note":"AT"})";
    const std::string sealed = seal_record_text(plain, RecordKind::user_context, "alice", ring, nonce);
    EXPECT_EQ(calls, 2);
    EXPECT_EQ(sealed.find("\"AT\""), sealed.rfind("\"AT\"")) << "only the extra field keeps AT";
    EXPECT_EQ(sealed.find("\"RT\""), std::string::npos);
    EXPECT_NE(sealed.find("\"expires_at\":\"2026-12-03T10:00:00+00:00\""), std::string::npos);
    EXPECT_TRUE(record_is_current(Json::parse(sealed), RecordKind::user_context, ring));
    EXPECT_FALSE(record_is_current(Json::parse(plain), RecordKind::user_context, ring));
    EXPECT_EQ(record_key_ids(Json::parse(sealed), RecordKind::user_context), "k1");
    OpenFailure failure;
    auto opened = open_record_text(sealed, RecordKind::user_context, "alice", ring, &failure);
    ASSERT_TRUE(opened) << opened.error();
    EXPECT_EQ(*opened, plain);
    // Copied to another user: refused, naming the field and key.
    auto copied = open_record_text(sealed, RecordKind::user_context, "bob", ring, &failure);
    ASSERT_FALSE(copied);
    EXPECT_EQ(failure.field, "access_token");
    EXPECT_EQ(failure.key_id, "k1");
    // The downgrade ring (no active key) writes plain and counts sealed as not current.
    TokenKeyRing downgrade = ring;
    downgrade.active_id.clear();
    EXPECT_EQ(seal_record_text(plain, RecordKind::user_context, "alice", downgrade, nonce), plain);
    EXPECT_FALSE(record_is_current(Json::parse(sealed), RecordKind::user_context, downgrade));
    EXPECT_TRUE(record_is_current(Json::parse(plain), RecordKind::user_context, downgrade));
}

TEST(SealedRecord, SealsAFlowsVerifier) {
    TokenKeyRing ring;
    ring.active_id = "k1";
    ring.keys.emplace("k1", Secret(kKey1));
    NonceSource nonce = [] { return std::string(12, 'n'); };
    const std::string plain = R"({"user_id":"alice","created":"2026-12-03T10:00:00+00:00","code_verifier":"V"})";
    const std::string sealed = seal_record_text(plain, RecordKind::flow, "FLOWID", ring, nonce);
    EXPECT_EQ(sealed.find("\"V\""), std::string::npos);
    EXPECT_NE(sealed.find("\"user_id\":\"alice\""), std::string::npos);
    OpenFailure failure;
    EXPECT_EQ(*open_record_text(sealed, RecordKind::flow, "FLOWID", ring, &failure), plain);
    EXPECT_FALSE(open_record_text(sealed, RecordKind::flow, "OTHER", ring, &failure));
    // Not JSON: left for the caller's parser to refuse.
    EXPECT_EQ(*open_record_text("not json \"enc:", RecordKind::flow, "F", ring, &failure), "not json \"enc:");
}

}  // namespace
}  // namespace tokend

namespace tokend {
namespace {

TEST(SealedRecord, ResealDecidesPerRecord) {
    TokenKeyRing old_ring;
    old_ring.active_id = "k1";
    old_ring.keys.emplace("k1", Secret(kKey1));
    TokenKeyRing ring = old_ring;
    ring.keys.emplace("k2", Secret(kKey2));
    ring.active_id = "k2";
    NonceSource nonce = [] { return std::string(12, 'n'); };
    const std::string plain = R"({"user_id":"u","tokens":{"access_token":"AT","refresh_token":"RT"}})";
    const std::string under_k1 = seal_record_text(plain, RecordKind::user_context, "u", old_ring, nonce);
    // plain -> k2, k1 -> k2, k2 stays.
    Reseal from_plain = reseal_record(plain, RecordKind::user_context, "u", ring, nonce);
    ASSERT_EQ(from_plain.kind, Reseal::Kind::rewrite);
    EXPECT_EQ(record_key_ids(Json::parse(from_plain.text), RecordKind::user_context), "k2");
    Reseal from_k1 = reseal_record(under_k1, RecordKind::user_context, "u", ring, nonce);
    ASSERT_EQ(from_k1.kind, Reseal::Kind::rewrite);
    EXPECT_EQ(from_k1.text, from_plain.text) << "same nonce source, same result";
    EXPECT_EQ(reseal_record(from_k1.text, RecordKind::user_context, "u", ring, nonce).kind, Reseal::Kind::current);
    // Under the active key but tampered: unreadable, not taken for done.
    std::string tampered = from_k1.text;
    const size_t at = tampered.find("enc:v1:k2:") + 20;
    tampered[at] = tampered[at] == 'A' ? 'B' : 'A';
    EXPECT_EQ(reseal_record(tampered, RecordKind::user_context, "u", ring, nonce).kind, Reseal::Kind::unreadable);
    // Downgrade: back to the plain text.
    TokenKeyRing downgrade = ring;
    downgrade.active_id.clear();
    Reseal back = reseal_record(from_k1.text, RecordKind::user_context, "u", downgrade, nonce);
    ASSERT_EQ(back.kind, Reseal::Kind::rewrite);
    EXPECT_EQ(back.text, plain);
    // A key no longer in the ring: unreadable, named.
    TokenKeyRing without_k1;
    without_k1.active_id = "k2";
    without_k1.keys.emplace("k2", Secret(kKey2));
    Reseal lost = reseal_record(under_k1, RecordKind::user_context, "u", without_k1, nonce);
    EXPECT_EQ(lost.kind, Reseal::Kind::unreadable);
    EXPECT_EQ(lost.failure.key_id, "k1");
    EXPECT_EQ(reseal_record("{not json", RecordKind::user_context, "u", ring, nonce).kind, Reseal::Kind::unreadable);
}

// The start-up test for plain text: a string starting "enc:" anywhere means
// maybe sealed (a key too: the full parse decides), and so does any escape;
// the letters inside a string or unquoted do not.
TEST(SealedRecord, MayHoldSealedValueLooksForAStringStartingEnc) {
    EXPECT_TRUE(may_hold_sealed_value(R"({"tokens":{"access_token":"enc:v1:k:abc"}})"));
    EXPECT_TRUE(may_hold_sealed_value(R"("enc:)"));
    EXPECT_TRUE(may_hold_sealed_value(R"({"enc:":1})"));
    EXPECT_FALSE(may_hold_sealed_value(R"({"tokens":{"access_token":"xenc:1"}})"));
    EXPECT_FALSE(may_hold_sealed_value(R"({"a":"enc" , "b":"enc :"})"));
    EXPECT_FALSE(may_hold_sealed_value(""));
    EXPECT_FALSE(may_hold_sealed_value("\"enc"));
    EXPECT_FALSE(may_hold_sealed_value(std::string_view()));
    // An escape may spell one ("\u0065nc:" is "enc:"): only the parse can tell.
    EXPECT_TRUE(may_hold_sealed_value(R"({"tokens":{"access_token":"\u0065nc:v1:k:abc"}})"));
    // Every position, so a search that skips ahead cannot jump over one.
    const std::string filler(70, '"');
    for (size_t at = 0; at <= filler.size(); ++at) {
        std::string text = filler;
        text.insert(at, "\"enc:");
        EXPECT_TRUE(may_hold_sealed_value(text)) << at;
        text[at + 4] = ';';
        EXPECT_FALSE(may_hold_sealed_value(text)) << at;
    }
}

}  // namespace
}  // namespace tokend
