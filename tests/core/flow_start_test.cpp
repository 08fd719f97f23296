#include "core/flow_start.h"
#include "core/pkce.h"
#include "core/text_template.h"
#include "core/url_encoding.h"

#include <gtest/gtest.h>

namespace tokend {
namespace {

using namespace std::chrono;

TEST(Pkce, MatchesTheRfc7636Example) {
    // RFC 7636 appendix B.
    EXPECT_EQ(s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
              "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

TEST(Pkce, Base64UrlHasNoPaddingAndAUrlSafeAlphabet) {
    EXPECT_EQ(base64url_encode(""), "");
    EXPECT_EQ(base64url_encode("f"), "Zg");
    EXPECT_EQ(base64url_encode("fo"), "Zm8");
    EXPECT_EQ(base64url_encode("foo"), "Zm9v");
    EXPECT_EQ(base64url_encode("\xfb\xff\xbf"), "-_-_");
}

TEST(ByteEncoding, Base64DecodeIsStrictAndTakesTheAlphabetAsked) {
    std::string out;
    EXPECT_TRUE(base64_decode("-_-_", Base64Input::url_unpadded, &out));
    EXPECT_EQ(out, "\xfb\xff\xbf");
    EXPECT_TRUE(base64_decode("Zm8", Base64Input::url_unpadded, &out));
    EXPECT_EQ(out, "fo");
    EXPECT_FALSE(base64_decode("Zm8=", Base64Input::url_unpadded, &out));  // padding
    EXPECT_FALSE(base64_decode("+/+/", Base64Input::url_unpadded, &out));  // the other alphabet
    EXPECT_FALSE(base64_decode("Zm9", Base64Input::url_unpadded, &out));   // unused bits set: a second spelling
    EXPECT_FALSE(base64_decode("Zm9vY", Base64Input::url_unpadded, &out)); // no length has 1 left over
    EXPECT_TRUE(base64_decode("+/+/", Base64Input::any, &out));
    EXPECT_EQ(out, "\xfb\xff\xbf");
    EXPECT_TRUE(base64_decode("Zm8=", Base64Input::any, &out));
    EXPECT_EQ(out, "fo");
    EXPECT_FALSE(base64_decode("Zm 8", Base64Input::any, &out));
    EXPECT_EQ(hex_digit_value('7'), 7);
    EXPECT_EQ(hex_digit_value('b'), 11);
    EXPECT_EQ(hex_digit_value('F'), 15);
    EXPECT_EQ(hex_digit_value('g'), -1);
}

TEST(Pkce, IdentifiersHaveTheRightLength) {
    EXPECT_EQ(make_flow_id(std::string(kFlowIdBytes, '\x01')).size(), 32u);
    const std::string verifier = make_code_verifier(std::string(kCodeVerifierBytes, '\x02'));
    EXPECT_EQ(verifier.size(), 43u);  // RFC 7636: 43 to 128 characters
    EXPECT_THROW(make_flow_id("short"), std::invalid_argument);
}

OAuthSettings settings() {
    OAuthSettings oauth;
    oauth.client_id = "C123";
    oauth.client_secret = Secret("shh");
    oauth.scopes = {"spark:people_read", "spark:kms"};
    oauth.redirect_url = "http://127.0.0.1:6001/redirect";
    return oauth;
}

TEST(FlowStart, BuildsTheOriginalsUrlPlusPkce) {
    const Timestamp now = *parse_iso8601("2026-11-28T10:00:00Z");
    const std::string id_random(kFlowIdBytes, 'i'), verifier_random(kCodeVerifierBytes, 'v');
    const StartedFlow flow = start_flow(settings(), FlowSettings{}, "user-1", now, id_random, verifier_random);
    EXPECT_EQ(flow.flow_id, make_flow_id(id_random));
    EXPECT_EQ(flow.state.user_id, "user-1");
    EXPECT_EQ(flow.state.created, now);
    EXPECT_EQ(flow.expires_at, now + seconds{300});
    ASSERT_TRUE(flow.state.code_verifier);
    EXPECT_EQ(flow.state.code_verifier->reveal(), make_code_verifier(verifier_random));

    const std::string prefix = "https://webexapis.com/v1/authorize?";
    ASSERT_EQ(flow.auth_url.rfind(prefix, 0), 0u) << flow.auth_url;
    auto query = parse_query(flow.auth_url.substr(prefix.size()), {"state"});
    ASSERT_TRUE(query);
    const FormFields expected = {{"client_id", "C123"},
                                 {"response_type", "code"},
                                 {"redirect_uri", "http://127.0.0.1:6001/redirect"},
                                 {"scope", "spark:people_read spark:kms"},
                                 {"state", flow.flow_id},
                                 {"code_challenge", s256_challenge(flow.state.code_verifier->reveal())},
                                 {"code_challenge_method", "S256"}};
    EXPECT_EQ(*query, expected);
    // The verifier itself never appears in the URL.
    EXPECT_EQ(flow.auth_url.find(flow.state.code_verifier->reveal()), std::string::npos);
}

TEST(FlowStart, WithoutPkceTheUrlIsTheOriginals) {
    OAuthSettings oauth = settings();
    oauth.pkce = false;
    oauth.auth_service = "http://127.0.0.1:9/v1/authorize?tenant=x";
    const StartedFlow flow = start_flow(oauth, FlowSettings{seconds{60}, seconds{900}}, "u", Timestamp{},
                                        std::string(kFlowIdBytes, 'a'), std::string(kCodeVerifierBytes, 'b'));
    EXPECT_FALSE(flow.state.code_verifier);
    EXPECT_EQ(flow.auth_url.find("code_challenge"), std::string::npos);
    EXPECT_EQ(flow.auth_url.rfind("http://127.0.0.1:9/v1/authorize?tenant=x&client_id=C123&", 0), 0u);
    EXPECT_EQ(flow.expires_at, Timestamp{} + seconds{60});
}

TEST(FlowStart, ACallerCanAskForAFlowWithoutPkce) {
    // A legacy caller builds the URL itself from the flow id: no challenge, no verifier.
    const StartedFlow flow = start_flow(settings(), FlowSettings{seconds{60}, seconds{900}}, "u", Timestamp{},
                                        std::string(kFlowIdBytes, 'a'), std::string(kCodeVerifierBytes, 'b'),
                                        /*pkce=*/false);
    EXPECT_FALSE(flow.state.code_verifier);
    EXPECT_EQ(flow.auth_url.find("code_challenge"), std::string::npos);
    EXPECT_NE(flow.auth_url.find("state=" + flow.flow_id), std::string::npos);
    // Asked for PKCE while the integration has it off: still none.
    OAuthSettings off = settings();
    off.pkce = false;
    EXPECT_FALSE(start_flow(off, FlowSettings{}, "u", Timestamp{}, std::string(kFlowIdBytes, 'a'),
                            std::string(kCodeVerifierBytes, 'b'), true)
                     .state.code_verifier);
}

TEST(FlowStart, ChecksUserIds) {
    EXPECT_EQ(check_user_id("Y2lzY29zcGFyazovL3VzL1BFT1BMRS9hYmM"), "");
    EXPECT_NE(check_user_id(""), "");
    EXPECT_NE(check_user_id(std::string(257, 'u')), "");
    EXPECT_NE(check_user_id("a\nb"), "");
    EXPECT_EQ(check_user_id("\xc3\xa9t\xc3\xa9"), "");
}

TEST(TextTemplate, FillsPlaceholdersOnce) {
    EXPECT_EQ(fill_template("valid until {expires_at}, {expires_at}!", {{"expires_at", "noon"}}),
              "valid until noon, noon!");
    EXPECT_EQ(fill_template("{email}", {{"email", "{email}"}}), "{email}");
    EXPECT_EQ(fill_template("no placeholders", {{"x", "y"}}), "no placeholders");
}

TEST(TextTemplate, EscapesMarkdownInValues) {
    EXPECT_EQ(escape_markdown("alice@example.com"), "alice@example.com");
    EXPECT_EQ(escape_markdown("john_doe@example.com"), "john\\_doe@example.com");
    EXPECT_EQ(escape_markdown("[click](http://evil.example/)"), "\\[click\\]\\(http\\://evil.example/\\)");
    EXPECT_EQ(escape_markdown("*bold* `code` <b>&amp; ~x~ |t| !"),
              "\\*bold\\* \\`code\\` \\<b\\>\\&amp; \\~x\\~ \\|t\\| \\!");
    EXPECT_EQ(escape_markdown("a\nb\r\tc"), "a b  c");
    EXPECT_EQ(escape_markdown("\\"), "\\\\");
    EXPECT_EQ(escape_markdown("# title"), "\\# title");
    EXPECT_EQ(escape_markdown("- item-x"), "\\- item-x");
    EXPECT_EQ(escape_markdown(""), "");
}

}  // namespace
}  // namespace tokend
