// --persistent: what was acknowledged survives closing every instance and opening
// again with the same config (a daemon restart).
#include "fixture.h"

#include <set>

namespace tokend::conformance {
namespace {

class Persistence : public ConformanceTest {
protected:
    void SetUp() override {
        ConformanceTest::SetUp();
        if (!under_test().persistent) GTEST_SKIP() << "not asked to check persistence (--persistent)";
    }
};

TEST_F(Persistence, ValuesSurviveCloseAndReopen) {
    const std::string big(300 * 1024, '\xa5');
    const std::string binary("\0\xff\n: -\"'", 9);
    {
        std::unique_ptr<Store> store;
        ASSERT_TRUE(open(&store));
        ASSERT_STORE(ok, store->put(Ns::user, "u1", secret_value("u1")));
        ASSERT_STORE(ok, store->put(Ns::user, "u2", "to be replaced"));
        ASSERT_STORE(ok, store->put(Ns::user, "u2", big));
        ASSERT_STORE(ok, store->put(Ns::user, "u3", "deleted"));
        ASSERT_STORE(ok, store->del(Ns::user, "u3"));
        ASSERT_STORE(ok, store->put(Ns::user, "u4", ""));
        ASSERT_STORE(ok, store->put(Ns::user, "u5", binary));
        ASSERT_STORE(ok, store->put(Ns::flow, "f1", secret_value("f1")));
        ASSERT_STORE(ok, store->put(Ns::flow, "f2", "taken"));
        std::string taken;
        ASSERT_STORE(ok, store->take(Ns::flow, "f2", &taken));
    }
    for (int reopen = 1; reopen <= 2; ++reopen) {
        SCOPED_TRACE("reopen #" + std::to_string(reopen));
        std::unique_ptr<Store> store;
        ASSERT_TRUE(open(&store));
        std::string read;
        ASSERT_STORE(ok, store->get(Ns::user, "u1", &read));
        EXPECT_EQ(read, secret_value("u1"));
        ASSERT_STORE(ok, store->get(Ns::user, "u2", &read));
        EXPECT_TRUE(read == big) << "the replaced 300 KiB value came back different";
        EXPECT_STORE(not_found, store->get(Ns::user, "u3", &read));
        ASSERT_STORE(ok, store->get(Ns::user, "u4", &read));
        EXPECT_EQ(read, "");
        ASSERT_STORE(ok, store->get(Ns::user, "u5", &read));
        EXPECT_EQ(read, binary);
        ASSERT_STORE(ok, store->get(Ns::flow, "f1", &read));
        EXPECT_EQ(read, secret_value("f1"));
        EXPECT_STORE(not_found, store->get(Ns::flow, "f2", &read));
        EXPECT_STORE(not_found, store->get(Ns::flow, "u1", &read));

        std::set<std::string> users;
        ASSERT_STORE(ok, store->for_each_key(Ns::user, [&](std::string_view key) {
            users.emplace(key);
            return true;
        }));
        EXPECT_EQ(users, (std::set<std::string>{"u1", "u2", "u4", "u5"}));
        // A write after reopening must also survive the next reopen.
        if (reopen == 1) {
            ASSERT_STORE(ok, store->put(Ns::user, "u1", secret_value("u1")));
        }
    }
}

}  // namespace
}  // namespace tokend::conformance
