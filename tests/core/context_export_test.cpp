#include "core/context_export.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tokend {
namespace {

std::vector<UserContext> contexts(size_t count) {
    std::vector<UserContext> all;
    for (size_t i = 0; i < count; ++i) {
        UserContext c;
        char id[32];
        std::snprintf(id, sizeof id, "u%05zu", i);
        c.user_id = id;
        c.tokens.access_token = Secret("AT-" + c.user_id);
        c.tokens.expires_at = *parse_iso8601("2026-12-01T10:00:00+00:00");
        c.tokens.refresh_token = Secret("RT-" + c.user_id);
        all.push_back(std::move(c));
    }
    return all;
}

const Timestamp kNow = *parse_iso8601("2026-12-01T09:00:00+00:00");

// Walks every page from the first; returns the contexts and counts the pages.
std::vector<Json> walk(const ContextSnapshot& snapshot, size_t budget, size_t* pages) {
    std::vector<Json> seen;
    *pages = 0;
    size_t offset = 0;
    for (;;) {
        const ContextSnapshot::Page page = snapshot.page(offset, budget);
        ++*pages;
        for (const Json& c : page.user_contexts) seen.push_back(c);
        if (!page.next) return seen;
        const auto next = snapshot.offset_of(*page.next);
        EXPECT_TRUE(next.has_value()) << *page.next;
        if (!next) return seen;
        offset = *next;
    }
}

TEST(ContextSnapshot, PagesHoldEveryContextOnceInOrderUnderTheBudget) {
    const ContextSnapshot snapshot(7, kNow, true, contexts(1000));
    size_t pages = 0;
    const std::vector<Json> seen = walk(snapshot, 4096, &pages);
    ASSERT_EQ(seen.size(), 1000u);
    for (size_t i = 0; i < seen.size(); ++i) {
        char id[32];
        std::snprintf(id, sizeof id, "u%05zu", i);
        EXPECT_EQ(seen[i]["user_id"], id);
        EXPECT_EQ(seen[i]["tokens"]["refresh_token"], std::string("RT-") + id);
    }
    EXPECT_GT(pages, 10u);
    // Each page's JSON stays within the budget.
    EXPECT_LE(snapshot.page(0, 4096).user_contexts.dump().size(), 4096u);
}

TEST(ContextSnapshot, OneContextLargerThanTheBudgetStillMakesAPage) {
    const ContextSnapshot snapshot(1, kNow, true, contexts(3));
    size_t pages = 0;
    EXPECT_EQ(walk(snapshot, 10, &pages).size(), 3u);
    EXPECT_EQ(pages, 3u);
}

TEST(ContextSnapshot, EmptyIsOneEmptyPage) {
    const ContextSnapshot snapshot(1, kNow, true, {});
    const ContextSnapshot::Page page = snapshot.page(0);
    EXPECT_TRUE(page.user_contexts.empty());
    EXPECT_FALSE(page.next);
}

TEST(ContextSnapshot, WithoutRefreshTokensShowsThemNull) {
    const ContextSnapshot snapshot(1, kNow, false, contexts(2));
    const ContextSnapshot::Page page = snapshot.page(0);
    ASSERT_EQ(page.user_contexts.size(), 2u);
    EXPECT_TRUE(page.user_contexts[0]["tokens"]["refresh_token"].is_null());
    EXPECT_EQ(page.user_contexts[0]["tokens"]["access_token"], "AT-u00000");
    EXPECT_FALSE(snapshot.refresh_tokens());
}

TEST(ContextSnapshot, CursorsOfAnotherSnapshotOrMadeUpAreRefused) {
    const ContextSnapshot snapshot(7, kNow, true, contexts(10));
    const ContextSnapshot other(8, kNow, true, contexts(10));
    const auto next = snapshot.page(0, 100).next;
    ASSERT_TRUE(next);
    EXPECT_TRUE(snapshot.offset_of(*next));
    EXPECT_FALSE(other.offset_of(*next));
    for (const char* bad : {"", "7", "7:", ":1", "7:0", "7:10", "7:99", "7:-1", "7:1x", "x:1", "7:1:2",
                            "99999999999999999999:1"}) {
        EXPECT_FALSE(snapshot.offset_of(bad)) << bad;
    }
    EXPECT_EQ(snapshot.offset_of("7:9"), 9u);
}

}  // namespace
}  // namespace tokend
