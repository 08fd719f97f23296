#include "app/store_change_inbox.h"

#include <gtest/gtest.h>

#include <thread>

namespace tokend {
namespace {

TEST(StoreChangeInboxTest, ChangesFromOtherThreadsReachTheLoopInOrder) {
    uv_loop_t loop;
    uv_loop_init(&loop);
    StoreChangeInbox inbox;
    inbox.push(Ns::user, StoreChange::put, "early");  // before start: kept
    std::vector<std::string> seen;
    inbox.start(&loop, [&](std::vector<StoreChangeEvent> batch) {
        for (auto& event : batch) seen.push_back(event.key);
        if (seen.size() == 1001) inbox.close(nullptr);
    });
    std::thread writer([&] {
        for (int i = 0; i < 1000; ++i) inbox.push(Ns::user, StoreChange::put, "k" + std::to_string(i));
    });
    uv_run(&loop, UV_RUN_DEFAULT);
    writer.join();
    ASSERT_EQ(seen.size(), 1001u);
    EXPECT_EQ(seen[0], "early");
    EXPECT_EQ(seen[1], "k0");
    EXPECT_EQ(seen[1000], "k999");
    inbox.push(Ns::user, StoreChange::del, "late");  // after close: harmless
    EXPECT_EQ(uv_loop_close(&loop), 0);
}

}  // namespace
}  // namespace tokend
