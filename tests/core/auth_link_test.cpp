#include "core/auth_link.h"

#include "core/url_encoding.h"

#include <gtest/gtest.h>

namespace tokend {
namespace {

using std::chrono::seconds;

const Secret kKey(std::string(32, 'k'));
const Timestamp kNow = *parse_iso8601("2026-12-01T10:00:00+00:00");
const Timestamp kExpires = kNow + seconds(7 * 86400);

std::string replace_field(const std::string& query, const std::string& name, const std::string& value) {
    FormFields fields = *parse_query(query, {});
    for (auto& [key, old] : fields) {
        if (key == name) old = value;
    }
    return form_encode(fields);
}

TEST(AuthLink, AFreshLinkIsValidForItsUser) {
    const std::string query = sign_auth_link(kKey, "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9hYmM", kExpires);
    const LinkCheck check = verify_auth_link(kKey, query, kNow);
    EXPECT_EQ(check.status, LinkCheck::Status::valid) << check.detail;
    EXPECT_EQ(check.user_id, "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9hYmM");
    EXPECT_EQ(check.expires_at, kExpires);
}

TEST(AuthLink, UserIdsOfAnyBytesRoundTrip) {
    for (const std::string& user : {std::string("a"), std::string("\xc3\xa9t\xc3\xa9 & =?/"), std::string(256, 'x')}) {
        const LinkCheck check = verify_auth_link(kKey, sign_auth_link(kKey, user, kExpires), kNow);
        EXPECT_EQ(check.status, LinkCheck::Status::valid);
        EXPECT_EQ(check.user_id, user);
    }
}

TEST(AuthLink, ExpiresAtItsTimeNotBefore) {
    const std::string query = sign_auth_link(kKey, "u1", kExpires);
    EXPECT_EQ(verify_auth_link(kKey, query, kExpires - seconds(1)).status, LinkCheck::Status::valid);
    const LinkCheck at = verify_auth_link(kKey, query, kExpires);
    EXPECT_EQ(at.status, LinkCheck::Status::expired);
    EXPECT_EQ(at.user_id, "u1");
    EXPECT_EQ(verify_auth_link(kKey, query, kExpires + seconds(86400)).status, LinkCheck::Status::expired);
}

TEST(AuthLink, AWrongKeyIsInvalid) {
    const std::string query = sign_auth_link(kKey, "u1", kExpires);
    const LinkCheck check = verify_auth_link(Secret(std::string(32, 'o')), query, kNow);
    EXPECT_EQ(check.status, LinkCheck::Status::invalid);
    EXPECT_EQ(check.detail, "bad signature");
    EXPECT_TRUE(check.user_id.empty());
}

TEST(AuthLink, ALinkCannotBeTurnedIntoOneForAnotherUser) {
    const std::string alice = sign_auth_link(kKey, "alice", kExpires);
    const std::string bob = sign_auth_link(kKey, "bob", kExpires);
    const FormFields bob_fields = *parse_query(bob, {});
    // Alice's signature with bob's user id, and the other way round.
    EXPECT_EQ(verify_auth_link(kKey, replace_field(alice, "u", bob_fields[0].second), kNow).status,
              LinkCheck::Status::invalid);
    EXPECT_EQ(verify_auth_link(kKey, replace_field(bob, "s", (*parse_query(alice, {}))[2].second), kNow).status,
              LinkCheck::Status::invalid);
}

TEST(AuthLink, AnEditedExpiryIsInvalidNotExpiredOrValid) {
    const std::string query = sign_auth_link(kKey, "u1", kNow + seconds(60));
    const std::string later = std::to_string(
        std::chrono::duration_cast<seconds>((kNow + seconds(86400 * 365)).time_since_epoch()).count());
    EXPECT_EQ(verify_auth_link(kKey, replace_field(query, "e", later), kNow + seconds(120)).status,
              LinkCheck::Status::invalid);
}

TEST(AuthLink, EveryTamperedOrBrokenQueryIsInvalid) {
    const std::string query = sign_auth_link(kKey, "u1", kExpires);
    const FormFields fields = *parse_query(query, {});
    std::string flipped = fields[2].second;
    flipped[3] = flipped[3] == 'A' ? 'B' : 'A';
    for (const std::string& bad :
         {std::string(), std::string("u=dTE"), replace_field(query, "s", flipped), replace_field(query, "s", ""),
          replace_field(query, "s", fields[2].second.substr(0, 20)), replace_field(query, "u", ""),
          replace_field(query, "u", "%%%"), replace_field(query, "e", "-5"), replace_field(query, "e", "12x"),
          replace_field(query, "e", "99999999999999999999"), query + "&s=" + fields[2].second,
          std::string("u=dTE&e=1&s=!!"), query.substr(0, query.size() - 1)}) {
        const LinkCheck check = verify_auth_link(kKey, bad, kNow);
        EXPECT_EQ(check.status, LinkCheck::Status::invalid) << bad;
        EXPECT_FALSE(check.detail.empty());
    }
}

TEST(AuthLink, TheSignatureDependsOnUserExpiryAndKey) {
    EXPECT_NE(sign_auth_link(kKey, "u1", kExpires), sign_auth_link(kKey, "u2", kExpires));
    EXPECT_NE(sign_auth_link(kKey, "u1", kExpires), sign_auth_link(kKey, "u1", kExpires + seconds(1)));
    EXPECT_NE(sign_auth_link(kKey, "u1", kExpires), sign_auth_link(Secret(std::string(32, 'j')), "u1", kExpires));
    EXPECT_EQ(sign_auth_link(kKey, "u1", kExpires), sign_auth_link(kKey, "u1", kExpires));
}

TEST(AuthLink, TheUrlHoldsNoKeyAndJoinsTheBase) {
    const std::string url = auth_link_url("https://bot.example.com/auth", kKey, "u1", kExpires);
    EXPECT_EQ(url.rfind("https://bot.example.com/auth?u=", 0), 0u);
    EXPECT_EQ(url.find(kKey.reveal()), std::string::npos);
    EXPECT_EQ(auth_link_url("https://h/auth?x=1", kKey, "u1", kExpires).rfind("https://h/auth?x=1&u=", 0), 0u);
}

TEST(AuthLink, TheDefaultUrlSitsBesideTheRedirect) {
    EXPECT_EQ(default_link_url("https://bot.example.com/redirect"), "https://bot.example.com/auth");
    EXPECT_EQ(default_link_url("https://bot.example.com/tokend/redirect?x=1"), "https://bot.example.com/tokend/auth");
    EXPECT_EQ(default_link_url("http://127.0.0.1:6001/redirect"), "http://127.0.0.1:6001/auth");
    EXPECT_EQ(default_link_url("https://bot.example.com"), "https://bot.example.com/auth");
}

TEST(AuthLink, PagesSayWhatHappened) {
    EXPECT_EQ(link_page(LinkCheck::Status::expired).status, 410);
    EXPECT_EQ(link_page(LinkCheck::Status::invalid).status, 400);
    EXPECT_NE(link_page(LinkCheck::Status::expired).message.find("expired"), std::string::npos);
}

}  // namespace
}  // namespace tokend
