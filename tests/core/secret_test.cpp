#include "core/secret.h"

#include <gtest/gtest.h>

#include <sstream>

namespace tokend {
namespace {

template <typename T>
concept Streamable = requires(std::ostream& out, const T& value) { out << value; };

// A secret cannot be written to a stream (and so not to a log line) by accident.
static_assert(!Streamable<Secret>);
static_assert(!Streamable<SecretView>);
static_assert(Streamable<std::string>);

TEST(Secret, RevealsOnlyOnRequest) {
    Secret secret("sentinel-token");
    EXPECT_EQ(secret.reveal(), "sentinel-token");
    EXPECT_FALSE(secret.empty());
    EXPECT_TRUE(Secret().empty());
    EXPECT_EQ(Secret("a"), Secret("a"));
    EXPECT_NE(Secret("a"), Secret("b"));
}

TEST(Secret, AViewRevealsTheBytesWhereTheyAre) {
    const Secret secret("sentinel-token");
    const SecretView view(secret);
    EXPECT_EQ(view.reveal(), "sentinel-token");
    EXPECT_EQ(view.reveal().data(), secret.reveal().data());
    EXPECT_TRUE(SecretView().reveal().empty());
}

}  // namespace
}  // namespace tokend
