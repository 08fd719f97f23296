// StoreCipher::open_context, the one reader of every stored context at
// start-up: plain text through the fast reader, sealed values opened with the
// ring or refused as undecryptable, and every other shape read as the DOM
// reader reads it.
#include "app/store_cipher.h"

#include <gtest/gtest.h>

#include <string>

namespace tokend {
namespace {

TokenKeyRing ring_with_key() {
    TokenKeyRing ring;
    ring.active_id = "k1";
    ring.keys.emplace("k1", Secret(std::string(32, 'k')));
    return ring;
}

UserContext alice() {
    UserContext context;
    context.user_id = "alice";
    context.tokens.access_token = Secret(std::string("AT-alice"));
    context.tokens.refresh_token = Secret(std::string("RT-alice"));
    context.tokens.scope = "spark:people_read";
    context.tokens.token_type = "Bearer";
    return context;
}

TEST(StoreCipherOpenContext, PlainTextIsReadWithOrWithoutARing) {
    const std::string stored = to_stored_text(alice());
    for (const StoreCipher& cipher : {StoreCipher(), StoreCipher(ring_with_key())}) {
        bool undecryptable = true;
        auto opened = cipher.open_context("alice", stored, &undecryptable);
        ASSERT_TRUE(opened) << opened.error();
        EXPECT_FALSE(undecryptable);
        EXPECT_EQ(*opened, alice());
    }
}

TEST(StoreCipherOpenContext, SealedTokensOpenWithTheRingOnly) {
    const StoreCipher sealing(ring_with_key());
    const std::string stored = sealing.seal(alice());
    ASSERT_EQ(stored.find("AT-alice"), std::string::npos);
    bool undecryptable = true;
    auto opened = sealing.open_context("alice", stored, &undecryptable);
    ASSERT_TRUE(opened) << opened.error();
    EXPECT_FALSE(undecryptable);
    EXPECT_EQ(*opened, alice());

    // Without the key, or copied to another user: never served as plain tokens.
    auto keyless = StoreCipher().open_context("alice", stored, &undecryptable);
    EXPECT_FALSE(keyless);
    EXPECT_TRUE(undecryptable);
    auto copied = sealing.open_context("bob", stored, &undecryptable);
    EXPECT_FALSE(copied);
    EXPECT_TRUE(undecryptable);
}

TEST(StoreCipherOpenContext, AnEscapedSealedValueIsStillTakenAsSealed) {
    // "\u0065nc:" is "enc:" once parsed: as docs/encryption.md says, taken as encrypted.
    const std::string stored = R"({"user_id":"alice","tokens":{"access_token":"\u0065nc:v1:k1:AAAA"}})";
    bool undecryptable = false;
    auto opened = StoreCipher().open_context("alice", stored, &undecryptable);
    EXPECT_FALSE(opened);
    EXPECT_TRUE(undecryptable);
}

TEST(StoreCipherOpenContext, OtherShapesReadAsTheDomReaderReadsThem) {
    for (const char* stored : {
             R"({"user_id":"alice","tokens":{"access_token":"AT","scope":"enc:not a secret field"}})",
             R"({"user_id":"enc:alice","tokens":{}})",
             R"({"user_id":"alice","tokens":{"access_token":"A\u0054"}})",
             R"({"user_id":"alice","tokens":null})",
             R"({"user_id":"alice","tokens":{},"bot":"kept"})",
             R"({"user_id":"alice")",
         }) {
        bool undecryptable = true;
        auto opened = StoreCipher(ring_with_key()).open_context("alice", stored, &undecryptable);
        auto dom = user_context_from_json(std::string_view(stored));
        EXPECT_FALSE(undecryptable) << stored;
        ASSERT_EQ(bool(opened), bool(dom)) << stored;
        if (opened) {
            EXPECT_EQ(*opened, *dom) << stored;
        } else {
            EXPECT_EQ(opened.error(), dom.error()) << stored;
        }
    }
}

}  // namespace
}  // namespace tokend
