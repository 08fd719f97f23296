// The cache's packed context (core/compact_context) and its index
// (core/id_index): everything a UserContext holds comes back unchanged, and
// the stored text written from it is byte for byte the one written before.
#include "core/compact_context.h"
#include "core/id_index.h"
#include "core/user_context_fast.h"

#include <gtest/gtest.h>

#include <random>
#include <unordered_map>

namespace tokend {
namespace {

Timestamp at(int64_t micros) { return Timestamp(std::chrono::microseconds(micros)); }

UserContext full_context() {
    UserContext context;
    context.user_id = "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9hYmM";
    context.tokens.access_token = Secret("ZjM0-AT");
    context.tokens.expires_at = at(1'797'069'600'123'456);
    context.tokens.refresh_token = Secret("MDA1-RT");
    context.tokens.refresh_token_expires_at = at(1'803'981'600'000'001);
    context.tokens.token_type = "Bearer";
    context.tokens.scope = "spark:kms spark:people_read";
    return context;
}

void expect_round_trip(const UserContext& context) {
    InternPool pool;
    CompactContext packed = CompactContext::pack(context, pool);
    const UserContext back = packed.unpack(pool);
    EXPECT_EQ(back, context);
    EXPECT_EQ(packed.tokens(pool), context.tokens);
    EXPECT_TRUE(packed.equals(context, pool));
    EXPECT_EQ(packed.user_id(), context.user_id);
    EXPECT_EQ(to_stored_text(back), to_stored_text(context));
    const TokenTimes times = packed.times();
    const TokenTimes expected = token_times(context.tokens);
    EXPECT_EQ(times.access_token, expected.access_token);
    EXPECT_EQ(times.refresh_token, expected.refresh_token);
    EXPECT_EQ(times.expires_at, expected.expires_at);
    EXPECT_EQ(times.refresh_token_expires_at, expected.refresh_token_expires_at);
    if (context.tokens.access_token) {
        EXPECT_EQ(packed.access_token(), std::string_view(context.tokens.access_token->reveal()));
    } else {
        EXPECT_FALSE(packed.access_token());
    }
    packed.release_into(pool);
    EXPECT_TRUE(packed.empty());
    EXPECT_EQ(pool.distinct(), 0u);
}

TEST(CompactContext, RoundTripsEveryField) { expect_round_trip(full_context()); }

TEST(CompactContext, RoundTripsAbsentAndEmptyFields) {
    UserContext nothing;
    nothing.user_id = "u";
    expect_round_trip(nothing);
    UserContext empty = full_context();  // present but empty is not absent
    empty.tokens.access_token = Secret("");
    empty.tokens.refresh_token = Secret("");
    empty.tokens.token_type = "";
    empty.tokens.scope = "";
    expect_round_trip(empty);
    UserContext times_only = nothing;
    times_only.tokens.expires_at = at(-1);  // before the epoch
    times_only.tokens.refresh_token_expires_at = at(0);
    expect_round_trip(times_only);
}

TEST(CompactContext, RoundTripsUnknownFieldsOnlyWhenPresent) {
    UserContext context = full_context();
    context.extra = Json::parse(R"({"bot":"kept","n":[1,-2,3.5,1e300,18446744073709551615],"o":{"z":null,"a":true}})");
    context.tokens.extra = Json::parse(R"({"id_token":"x.y.z","é":"ü\u0001"})");
    expect_round_trip(context);
    UserContext empty_objects = full_context();  // {} is not null
    empty_objects.extra = Json::object();
    expect_round_trip(empty_objects);
    UserContext tokens_only = full_context();
    tokens_only.tokens.extra = Json::parse(R"({"k":"v"})");
    expect_round_trip(tokens_only);

    InternPool pool;
    const UserContext plain = full_context();
    CompactContext lean = CompactContext::pack(plain, pool);
    CompactContext rich = CompactContext::pack(context, pool);
    EXPECT_EQ(lean.allocated_bytes() - plain.user_id.size(), rich.allocated_bytes() - context.user_id.size() -
                                                                 2 * sizeof(uint32_t) - context.extra.dump().size() -
                                                                 context.tokens.extra.dump().size());
    lean.release_into(pool);
    rich.release_into(pool);
}

// Every text the readers take (the fast one and the DOM one) writes back as before.
TEST(CompactContext, StoredTextIsUnchangedForWhatTheReadersTake) {
    const char* texts[] = {
        R"({"user_id": "Y2lz", "tokens": {"access_token": "AT", "expires_at": "2026-12-12T10:00:00.123456+00:00", )"
        R"("refresh_token": "RT", "refresh_token_expires_at": "2027-02-26T10:00:00+00:00", "token_type": "Bearer", )"
        R"("scope": "spark:kms"}})",
        R"({"tokens":{"scope":null,"access_token":null},"user_id":"u2","bot":{"room":"r","n":7}})",
        R"({"user_id":"u3","tokens":{"access_token":"A\u00e9","id_token":"t","expires_at":"2026-01-01 10:00:00Z"},"x":[]})",
    };
    for (const char* text : texts) {
        auto context = user_context_from_json(std::string_view(text));
        ASSERT_TRUE(context) << context.error();
        InternPool pool;
        CompactContext packed = CompactContext::pack(*context, pool);
        EXPECT_EQ(to_stored_text(packed.unpack(pool)), to_stored_text(*context)) << text;
        packed.release_into(pool);
    }
}

TEST(CompactContext, OneAllocationHoldsTheIdAndBothTokens) {
    InternPool pool;
    const UserContext context = full_context();
    CompactContext packed = CompactContext::pack(context, pool);
    const size_t strings = context.user_id.size() + context.tokens.access_token->reveal().size() +
                           context.tokens.refresh_token->reveal().size();
    EXPECT_LE(packed.allocated_bytes(), strings + 40);  // header: two times, two pool ids, three lengths, flags
    packed.release_into(pool);
}

TEST(InternPool, SharesValuesAndFreesUnusedOnes) {
    InternPool pool;
    EXPECT_EQ(pool.acquire(std::nullopt), InternPool::kNone);
    const uint32_t a = pool.acquire(std::string("spark:kms"));
    const uint32_t b = pool.acquire(std::string("spark:kms"));
    const uint32_t c = pool.acquire(std::string("Bearer"));
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c);
    EXPECT_EQ(pool.distinct(), 2u);
    pool.release(a);
    EXPECT_EQ(pool.value_of(b), "spark:kms");
    pool.release(b);
    EXPECT_EQ(pool.distinct(), 1u);
    const uint32_t d = pool.acquire(std::string("other"));  // reuses the freed id
    EXPECT_EQ(d, a);
    EXPECT_EQ(pool.value_of(d), "other");
    EXPECT_EQ(pool.value_of(c), "Bearer");
    pool.release(InternPool::kNone);
    EXPECT_EQ(pool.value_of(InternPool::kNone), std::nullopt);
}

// Against std::unordered_map through inserts and erases in random order (long
// probe runs, erasures inside them, growth).
TEST(IdIndex, AgreesWithAHashMap) {
    std::vector<std::string> keys;
    for (int i = 0; i < 5000; ++i) keys.push_back("user-" + std::to_string(i * 7919));
    const auto key_of = [&keys](uint32_t id) { return std::string_view(keys[id]); };
    IdIndex index;
    std::unordered_map<std::string, uint32_t> expected;
    std::mt19937 random(16);
    for (int round = 0; round < 40000; ++round) {
        const uint32_t id = random() % keys.size();
        if (expected.count(keys[id])) {
            EXPECT_TRUE(index.erase(keys[id], key_of));
            expected.erase(keys[id]);
        } else {
            index.insert(id, key_of);
            expected[keys[id]] = id;
        }
        if (round % 997 == 0) {
            for (uint32_t k = 0; k < keys.size(); ++k) {
                const auto found = index.find(keys[k], key_of);
                ASSERT_EQ(found.has_value(), expected.count(keys[k]) == 1) << keys[k];
                if (found) {
                    EXPECT_EQ(*found, k);
                }
            }
        }
    }
    EXPECT_EQ(index.size(), expected.size());
    EXPECT_LE(index.size() * 4, index.capacity() * 3);
    EXPECT_FALSE(index.erase("absent", key_of));
    EXPECT_FALSE(IdIndex().find("absent", key_of));
}

}  // namespace
}  // namespace tokend
