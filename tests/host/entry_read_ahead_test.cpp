// for_each_entry_read_ahead against Store::for_each_entry on the same store: the
// same entries in the same order, the same stop and the same failure, with the
// reads on a thread of their own (this binary also runs under TSan).
#include "host/entry_read_ahead.h"
#include "open_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

namespace tokend {
namespace {

using Entries = std::vector<std::pair<std::string, std::string>>;

void fill(Store& store, int count) {
    for (int i = 0; i < count; ++i) {
        const std::string key = "user-" + std::to_string(i);
        const std::string value = i % 3 == 0 ? std::string("a\0b", 3) + key : i % 3 == 1 ? "" : "{\"n\":" + key + "}";
        ASSERT_TRUE(store.put(Ns::user, key, value).ok());
    }
    ASSERT_TRUE(store.put(Ns::flow, "flow-1", "not a user").ok());
}

struct Walk {
    Entries seen;
    StoreStatus status;
};

template <typename Reader>
Walk walk(Reader&& read) {
    Walk result;
    result.status = read([&](std::string_view key, std::string_view value) {
        result.seen.emplace_back(key, value);
        return true;
    });
    return result;
}

TEST(EntryReadAhead, VisitsWhatForEachEntryVisitsInItsOrder) {
    auto store = open_store("memory");
    fill(*store, 2500);
    for (uint32_t page : {1u, 7u, 1000u, 5000u}) {
        for (size_t ahead : {1u, 3u}) {
            const Walk direct = walk([&](auto visit) { return store->for_each_entry(Ns::user, visit, page); });
            const Walk ahead_walk =
                walk([&](auto visit) { return for_each_entry_read_ahead(*store, Ns::user, visit, page, ahead); });
            ASSERT_TRUE(ahead_walk.status.ok()) << ahead_walk.status.describe();
            EXPECT_EQ(direct.seen.size(), 2500u);
            EXPECT_EQ(ahead_walk.seen, direct.seen) << "page " << page << ", ahead " << ahead;
        }
    }
}

TEST(EntryReadAhead, AnEmptyStoreIsWalkedAtOnce) {
    auto store = open_store("memory");
    const Walk walked = walk([&](auto visit) { return for_each_entry_read_ahead(*store, Ns::user, visit); });
    EXPECT_TRUE(walked.status.ok());
    EXPECT_TRUE(walked.seen.empty());
}

TEST(EntryReadAhead, AZeroPageSizeIsTheStoresOwnError) {
    auto store = open_store("memory");
    const Walk walked = walk([&](auto visit) { return for_each_entry_read_ahead(*store, Ns::user, visit, 0); });
    EXPECT_EQ(walked.status.code, store->for_each_entry(Ns::user, [](auto, auto) { return true; }, 0).code);
    EXPECT_FALSE(walked.status.ok());
}

TEST(EntryReadAhead, TheVisitorStopsTheReadsToo) {
    auto store = open_store("memory");
    fill(*store, 1000);
    std::atomic<int> calls{0};
    store->set_call_observer([&](std::string_view operation, auto, const StoreStatus&) {
        if (operation == "list_entries") ++calls;
    });
    int visited = 0;
    const StoreStatus status = for_each_entry_read_ahead(
        *store, Ns::user, [&](std::string_view, std::string_view) { return ++visited < 10; }, 4, 2);
    ASSERT_TRUE(status.ok()) << status.describe();
    EXPECT_EQ(visited, 10);
    // Pages 1-3 visited, at most two waiting and one more read before the reader saw the stop.
    EXPECT_LE(calls.load(), 3 + 2 + 1);
}

// The reader waits for the visitor: at any call, at most pages_ahead pages
// wait, one is being visited and one is being read.
TEST(EntryReadAhead, TheReaderStaysWithinPagesAhead) {
    auto store = open_store("memory");
    fill(*store, 400);
    constexpr uint32_t kPage = 4;
    constexpr size_t kAhead = 2;
    std::mutex mutex;
    std::condition_variable called;
    int calls = 0;
    std::atomic<int> pages_visited{0};
    std::atomic<int> worst_lead{0};
    store->set_call_observer([&](std::string_view operation, auto, const StoreStatus&) {
        if (operation != "list_entries") return;
        std::lock_guard lock(mutex);
        ++calls;
        worst_lead = std::max(worst_lead.load(), calls - pages_visited.load());
        called.notify_all();
    });
    int visited = 0;
    bool reached = false;
    bool went_further = false;
    const StoreStatus status = for_each_entry_read_ahead(*store, Ns::user, [&](std::string_view, std::string_view) {
        if (visited == 0) {
            // The reader gets exactly this far while the first entry is visited:
            // page 1 here, kAhead pages waiting, one more read and blocked on the
            // full hand-over. It must get there, and no further.
            std::unique_lock lock(mutex);
            const int most = static_cast<int>(kAhead) + 2;
            reached = called.wait_for(lock, std::chrono::seconds(30), [&] { return calls >= most; });
            went_further = called.wait_for(lock, std::chrono::milliseconds(200), [&] { return calls > most; });
        }
        if (++visited % kPage == 0) ++pages_visited;
        return true;
    }, kPage, kAhead);
    ASSERT_TRUE(status.ok()) << status.describe();
    EXPECT_TRUE(reached) << "the reader did not read ahead";
    EXPECT_FALSE(went_further) << "the reader read past pages_ahead";
    EXPECT_EQ(visited, 400);
    EXPECT_LE(worst_lead.load(), static_cast<int>(kAhead) + 2);
}

// The faulty store (a 1.0 plugin: list, then a get per key) fails every call
// once its flag file exists; the flag is set from the reading thread after a
// given number of gets, so both walks fail at the same entry.
struct FaultyStore {
    std::string flag = std::filesystem::temp_directory_path() / ("tokend-ahead-" + std::to_string(::getpid()));
    std::unique_ptr<Store> store = open_store(TOKEND_FAULTY_STORE, R"({"fail_flag":")" + flag + "\"}");
    ~FaultyStore() { std::remove(flag.c_str()); }
    void fail_after_gets(int gets) {
        std::remove(flag.c_str());
        auto count = std::make_shared<std::atomic<int>>(0);
        store->set_call_observer([this, count, gets](std::string_view operation, auto, const StoreStatus&) {
            if (operation == "get" && ++*count == gets) std::ofstream(flag) << "off";
        });
    }
};

TEST(EntryReadAhead, EntriesBeforeAFailureAreVisitedThenTheFailureIsReturned) {
    FaultyStore faulty;
    fill(*faulty.store, 30);
    faulty.fail_after_gets(15);
    const Walk direct = walk([&](auto visit) { return faulty.store->for_each_entry(Ns::user, visit, 10); });
    faulty.fail_after_gets(15);
    const Walk ahead_walk =
        walk([&](auto visit) { return for_each_entry_read_ahead(*faulty.store, Ns::user, visit, 10, 2); });
    EXPECT_EQ(direct.seen.size(), 15u);
    EXPECT_EQ(ahead_walk.seen, direct.seen);
    EXPECT_EQ(direct.status.code, StoreCode::unavailable);
    EXPECT_EQ(ahead_walk.status.code, direct.status.code);
    EXPECT_EQ(ahead_walk.status.message, direct.status.message);
}

TEST(EntryReadAhead, AThrowingVisitorEndsTheReaderAndPropagates) {
    auto store = open_store("memory");
    fill(*store, 100);
    int visited = 0;
    EXPECT_THROW(for_each_entry_read_ahead(*store, Ns::user, [&](std::string_view, std::string_view) -> bool {
        if (++visited == 5) throw std::runtime_error("visitor failed");
        return true;
    }, 3, 1), std::runtime_error);
    // The store is still whole and usable: the reader has ended.
    const Walk again = walk([&](auto visit) { return for_each_entry_read_ahead(*store, Ns::user, visit, 3, 1); });
    EXPECT_TRUE(again.status.ok());
    EXPECT_EQ(again.seen.size(), 100u);
}

// On the 1.0 path (list, then a get per key) a stop ends the reader's page of
// gets: it does not finish the page. The reader is held at the 1,500th get
// (the middle of page two) until the visitor has stopped, then slowed to a get
// every 2 ms, so finishing the page would take a second: only a reader that
// ignores the stop gets there (no count of gets in between is asserted: how
// many run before the stop reaches the reader depends on scheduling).
TEST(EntryReadAhead, AStopEndsTheGetsOfThePageInFlight) {
    FaultyStore faulty;  // never switched off here
    Store* store = faulty.store.get();
    ASSERT_FALSE(store->can_list_entries());
    fill(*store, 3000);
    std::mutex mutex;
    std::condition_variable changed;
    int gets = 0;
    bool held = false;     // the reader waits at get 1,500
    bool stopped = false;  // the visitor has said stop
    store->set_call_observer([&](std::string_view operation, auto, const StoreStatus&) {
        if (operation != "get") return;
        std::unique_lock lock(mutex);
        ++gets;
        if (gets == 1500) {
            held = true;
            changed.notify_all();
            changed.wait(lock, [&] { return stopped; });
        } else if (gets > 1500) {
            lock.unlock();
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
    });
    int visited = 0;
    const StoreStatus status = for_each_entry_read_ahead(*store, Ns::user, [&](std::string_view, std::string_view) {
        std::unique_lock lock(mutex);
        changed.wait(lock, [&] { return held; });
        stopped = true;
        changed.notify_all();
        return ++visited < 1;
    }, 1000, 1);
    ASSERT_TRUE(status.ok()) << status.describe();
    EXPECT_EQ(visited, 1);
    std::lock_guard lock(mutex);
    EXPECT_LT(gets, 2000) << "the reader finished its page of gets after the stop";
}

}  // namespace
}  // namespace tokend
