#include "core/url_encoding.h"

#include <gtest/gtest.h>

namespace tokend {
namespace {

TEST(UrlEncoding, EncodesLikePythonUrlencode) {
    // urllib.parse.urlencode({"scope": "spark:all spark:kms", "redirect_uri": "http://localhost:6001/redirect"})
    EXPECT_EQ(form_encode(FormFields{{"scope", "spark:all spark:kms"}, {"redirect_uri", "http://localhost:6001/redirect"}}),
              "scope=spark%3Aall+spark%3Akms&redirect_uri=http%3A%2F%2Flocalhost%3A6001%2Fredirect");
    EXPECT_EQ(form_encode("a-b_c.d~e"), "a-b_c.d~e");
    EXPECT_EQ(form_encode("\xc3\xa9&="), "%C3%A9%26%3D");
}

TEST(UrlEncoding, DecodesAndRoundTrips) {
    EXPECT_EQ(*form_decode("a+b%20c%2Bd"), "a b c+d");
    const std::string all = [] {
        std::string bytes;
        for (int c = 0; c < 256; ++c) bytes += static_cast<char>(c);
        return bytes;
    }();
    EXPECT_EQ(*form_decode(form_encode(all)), all);
}

TEST(UrlEncoding, RefusesBadEscapes) {
    for (const char* text : {"%", "%4", "%zz", "abc%g1", "%%"}) EXPECT_FALSE(form_decode(text)) << text;
}

TEST(UrlEncoding, ParsesQueries) {
    auto fields = parse_query("code=abc&state=xyz&&empty=&flag", {"code", "state"});
    ASSERT_TRUE(fields) << fields.error();
    EXPECT_EQ(*find_field(*fields, "code"), "abc");
    EXPECT_EQ(*find_field(*fields, "state"), "xyz");
    EXPECT_EQ(*find_field(*fields, "empty"), "");
    EXPECT_EQ(*find_field(*fields, "flag"), "");
    EXPECT_EQ(find_field(*fields, "missing"), nullptr);
    EXPECT_TRUE(parse_query("", {"code"}));
}

TEST(UrlEncoding, RefusesARepeatedUniqueParameter) {
    auto twice = parse_query("code=a&state=s&code=b", {"code", "state"});
    ASSERT_FALSE(twice);
    EXPECT_EQ(twice.error(), "parameter 'code' given more than once");
    EXPECT_FALSE(parse_query("state=a&st%61te=b", {"code", "state"}));  // same name, encoded
    EXPECT_TRUE(parse_query("scope=a&scope=b", {"code", "state"}));    // not required unique
    EXPECT_FALSE(parse_query("code=%zz", {"code"}));
}

}  // namespace
}  // namespace tokend
