// The redis store through the host's Store wrapper, against a redis-server of
// the test's own: options, the original's key layout both ways, leases on the
// flow-maintenance mark, and faults (kill -9 and restart, SIGSTOP, SHUTDOWN
// NOSAVE) with recovery on the same instance, SIGPIPE, and pub/sub resync.
// The conformance suite (tests/sdk) covers the ABI contract itself.
#include "host/store.h"
#include "host/store_plugin.h"
#include "options.h"
#include "redis_test_server.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace tokend::redis_test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::shared_ptr<StorePlugin> redis_plugin() {
    static const auto plugin = StorePlugin::load("redis", TOKEND_BUILD_PLUGIN_DIR);
    return plugin;
}

// Log lines of one instance, to check that no value or password shows up.
struct Logs {
    std::mutex mutex;
    std::vector<std::string> lines;
    StoreLogSink sink() {
        return [this](tokend_log_level, std::string_view line) {
            std::lock_guard<std::mutex> hold(mutex);
            lines.emplace_back(line);
        };
    }
    bool mention(std::string_view text) {
        std::lock_guard<std::mutex> hold(mutex);
        for (const auto& line : lines) {
            if (line.find(text) != std::string::npos) return true;
        }
        return false;
    }
};

StoreStatus open_store(const nlohmann::json& options, std::unique_ptr<Store>* out, Logs* logs = nullptr) {
    return Store::open(redis_plugin(), options.dump(), logs ? logs->sink() : StoreLogSink(), out);
}

// The exact text pydantic's .json() gave the original for a user context and a
// flow: spaces after separators, a \u escape, microseconds and +00:00.
const std::string kOriginalContext =
    R"({"user_id": "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9hbGljZQ", "tokens": {"access_token": "NjE0ZTlmM2Yt\u00e9", )"
    R"("expires_at": "2026-12-12T10:00:00.123456+00:00", "refresh_token": "MzQ1Njc4OTAt", )"
    R"("refresh_token_expires_at": "2027-02-10T10:00:00.123456+00:00", "token_type": "Bearer", )"
    R"("scope": "spark:people_read spark:messages_write", "expires_in": null, "refresh_token_expires_in": null}})";
const std::string kOriginalFlow =
    R"({"user_id": "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9hbGljZQ", "created": "2026-11-28T09:00:00.654321+00:00"})";

// Retries a call until it succeeds or the deadline passes: recovery is not instant
// (reconnect backoff), but must come without reopening.
StoreStatus until_ok(const std::function<StoreStatus()>& call, std::chrono::milliseconds deadline = 5s) {
    const auto end = Clock::now() + deadline;
    StoreStatus status = call();
    while (!status.ok() && Clock::now() < end) {
        std::this_thread::sleep_for(20ms);
        status = call();
    }
    return status;
}

class RedisStoreTest : public ::testing::Test {
protected:
    nlohmann::json options(bool tcp = false) const {
        return {{"redis_url", tcp ? server.tcp_url() : server.unix_url()},
                {"command_timeout_ms", 300},
                {"connect_timeout_ms", 300}};
    }
    std::unique_ptr<Store> open_or_fail(const nlohmann::json& config, Logs* logs = nullptr) {
        std::unique_ptr<Store> store;
        const StoreStatus status = open_store(config, &store, logs);
        EXPECT_TRUE(status.ok()) << status.describe();
        return store;
    }

    RedisTestServer server;
};

// ---- options ----

TEST(RedisTlsOptions, RedissAndTheTlsOptionsAreParsedAndCheckedTogether) {
    redis_store::Options options;
    ASSERT_TRUE(redis_store::parse_options(R"({"redis_url":"rediss://u:secret-pw@cache.example:6380/2"})",
                                           &options)
                    .ok());
    EXPECT_TRUE(options.endpoint.tls);
    EXPECT_NE(options.endpoint.tls_client, nullptr);
    EXPECT_EQ(options.endpoint.host, "cache.example");
    EXPECT_EQ(options.endpoint.port, 6380);
    EXPECT_EQ(options.endpoint.db, 2);
    EXPECT_EQ(options.endpoint.password, "secret-pw");
    // The original's redis_host with tls: true.
    ASSERT_TRUE(redis_store::parse_options(R"({"redis_host":"cache.example","tls":true,"tls_server_name":"r.example"})",
                                           &options)
                    .ok());
    EXPECT_TRUE(options.endpoint.tls);
    EXPECT_EQ(options.tls.server_name, "r.example");
    for (const char* bad : {
             R"({"redis_url":"redis://h","tls_ca_file":"/etc/ssl/certs/ca-certificates.crt"})",  // no TLS
             R"({"redis_url":"rediss://h","tls":false})",
             R"({"redis_url":"unix:///run/r.sock","tls":true})",
             R"({"redis_url":"rediss://h","tls_cert_file":"/x.pem"})",  // no key
             R"({"redis_url":"rediss://h","tls_skip_verify":"yes"})",
             R"({"redis_url":"rediss://h","tls_skip_verify":true,"tls_ca_file":"/x.pem"})",
             R"({"redis_url":"rediss://h","tls_ca_file":"/nonexistent/ca.pem"})",
         }) {
        const redis_store::Status status = redis_store::parse_options(bad, &options);
        EXPECT_EQ(status.code, TOKEND_INVALID) << bad;
        EXPECT_EQ(status.message.find("secret"), std::string::npos) << status.message;
    }
}

TEST(RedisSentinelOptions, SentinelsAndTheMasterNameComeTogether) {
    redis_store::Options options;
    ASSERT_TRUE(redis_store::parse_options(
                    R"({"sentinels":["10.0.0.1:26380","s2.example","[::1]:26381"],"sentinel_master":"m",
                        "password":"pw","redis_db":2})",
                    &options)
                    .ok());
    ASSERT_EQ(options.sentinels.size(), 3u);
    EXPECT_EQ(options.sentinels[0].host, "10.0.0.1");
    EXPECT_EQ(options.sentinels[0].port, 26380);
    EXPECT_EQ(options.sentinels[1].host, "s2.example");
    EXPECT_EQ(options.sentinels[1].port, 26379);
    EXPECT_EQ(options.sentinels[2].host, "::1");
    EXPECT_EQ(options.sentinels[2].port, 26381);
    EXPECT_EQ(options.sentinel_master, "m");
    EXPECT_EQ(options.endpoint.password, "pw");
    EXPECT_EQ(options.endpoint.db, 2);
    for (const char* bad : {
             R"({"sentinels":["h:1"]})",                          // no master name
             R"({"sentinel_master":"m","redis_url":"redis://h"})",  // no sentinels
             R"({"sentinels":[],"sentinel_master":"m"})",
             R"({"sentinels":"h:1","sentinel_master":"m"})",
             R"({"sentinels":["u:p@h:1"],"sentinel_master":"m"})",
             R"({"sentinels":["h:0"],"sentinel_master":"m"})",
             R"({"sentinels":["h:1"],"sentinel_master":"m","redis_url":"unix:///r.sock"})",
         }) {
        EXPECT_EQ(redis_store::parse_options(bad, &options).code, TOKEND_INVALID) << bad;
    }
}

TEST_F(RedisStoreTest, UnknownOptionsAndBadUrlsAreRefusedByName) {
    std::unique_ptr<Store> store;
    StoreStatus status = open_store({{"redis_url", server.unix_url()}, {"redis_hots", "x"}}, &store);
    EXPECT_EQ(status.code, StoreCode::invalid);
    EXPECT_NE(status.message.find("redis_hots"), std::string::npos) << status.message;
    EXPECT_EQ(open_store({{"redis_url", "http://x"}}, &store).code, StoreCode::invalid);
    EXPECT_EQ(open_store({{"redis_url", "redis://h:99999"}}, &store).code, StoreCode::invalid);
    EXPECT_EQ(open_store(nlohmann::json::object(), &store).code, StoreCode::invalid);
}

TEST(RedisUrl, PartsAreParsedAsTheOriginalDid) {
    redis_store::Endpoint endpoint;
    ASSERT_TRUE(redis_store::parse_url("redis://bob:p%40ss@cache.example:6380/3", &endpoint).ok());
    EXPECT_EQ(endpoint.host, "cache.example");
    EXPECT_EQ(endpoint.port, 6380);
    EXPECT_EQ(endpoint.db, 3);
    EXPECT_EQ(endpoint.username, "bob");
    EXPECT_EQ(endpoint.password, "p@ss");
    EXPECT_EQ(endpoint.describe(), "cache.example:6380");
    ASSERT_TRUE(redis_store::parse_url("redis://:only-password@[::1]", &endpoint).ok());
    EXPECT_EQ(endpoint.host, "::1");
    EXPECT_EQ(endpoint.port, 6379);
    EXPECT_EQ(endpoint.username, "");
    EXPECT_EQ(endpoint.password, "only-password");
    ASSERT_TRUE(redis_store::parse_url("unix:///run/redis/redis.sock", &endpoint).ok());
    EXPECT_EQ(endpoint.unix_path, "/run/redis/redis.sock");
    EXPECT_FALSE(redis_store::parse_url("unix://relative", &endpoint).ok());
}

TEST_F(RedisStoreTest, RedisHostWinsOverRedisUrl) {
    Logs logs;
    // The URL points at a port where nothing listens; the host at our server.
    auto store = open_or_fail({{"redis_url", "redis://127.0.0.1:1"},
                               {"redis_host", "127.0.0.1:" + std::to_string(server.port())}},
                              &logs);
    ASSERT_TRUE(store);
    EXPECT_TRUE(store->put(Ns::user, "u", "v").ok());
    EXPECT_TRUE(logs.mention("using redis_host"));
}

TEST(RedisPassword, AFileOrTheUrlLogsIn) {
    RedisTestServer server({"--requirepass", "s3cret pass"});
    std::unique_ptr<Store> store;
    StoreStatus status = open_store({{"redis_url", server.tcp_url()}}, &store);
    EXPECT_EQ(status.code, StoreCode::invalid) << "NOAUTH on the first command must stop the open";
    status = open_store({{"redis_url", server.tcp_url()}, {"password", "wrong"}}, &store);
    EXPECT_EQ(status.code, StoreCode::invalid);
    EXPECT_EQ(status.message.find("wrong"), std::string::npos) << status.message;

    const std::string file = "/tmp/tokend-redis-pw-" + std::to_string(::getpid());
    std::ofstream(file) << "s3cret pass\n";
    status = open_store({{"redis_url", server.tcp_url()}, {"password_file", file}}, &store);
    std::remove(file.c_str());
    ASSERT_TRUE(status.ok()) << status.describe();
    EXPECT_TRUE(store->put(Ns::user, "u", "v").ok());
    status = open_store({{"redis_url", "redis://:s3cret%20pass@127.0.0.1:" + std::to_string(server.port())}},
                        &store);
    EXPECT_TRUE(status.ok()) << status.describe();
}

TEST_F(RedisStoreTest, ADatabaseAndAPrefixKeepDataApart) {
    auto plain = open_or_fail(options());
    auto prefixed = open_or_fail({{"redis_url", server.unix_url()}, {"key_prefix", "app2:"}});
    auto db2 = open_or_fail({{"redis_url", server.tcp_url() + "/2"}});
    ASSERT_TRUE(plain && prefixed && db2);
    ASSERT_TRUE(plain->put(Ns::user, "u", "plain").ok());
    ASSERT_TRUE(prefixed->put(Ns::user, "u", "prefixed").ok());
    ASSERT_TRUE(db2->put(Ns::user, "u", "db2").ok());
    std::string value;
    ASSERT_TRUE(plain->get(Ns::user, "u", &value).ok());
    EXPECT_EQ(value, "plain");
    ASSERT_TRUE(prefixed->get(Ns::user, "u", &value).ok());
    EXPECT_EQ(value, "prefixed");
    EXPECT_EQ(server.command({"GET", "app2:user-u"}).text, "prefixed");
    EXPECT_EQ(server.command({"SISMEMBER", "app2:users", "app2:user-u"}).integer, 1);
    ASSERT_TRUE(db2->get(Ns::user, "u", &value).ok());
    EXPECT_EQ(value, "db2");
}

// ---- the original's layout, both ways ----

TEST_F(RedisStoreTest, ReadsWhatTheOriginalWrote) {
    // As RedisTokenManager.set_user_context and start_flow did it.
    const std::string user = "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9hbGljZQ";
    server.command({"SET", "user-" + user, kOriginalContext});
    server.command({"SADD", "users", "user-" + user});
    server.command({"SET", "flows-7d5e0a3c-1f1e-4d0b-9c53-0d7cbe0b6a11", kOriginalFlow});
    server.command({"SADD", "flows", "flows-7d5e0a3c-1f1e-4d0b-9c53-0d7cbe0b6a11"});
    server.command({"SET", "flow-maintenance", "2026-11-28T09:00:00.000001+00:00"});
    server.command({"SET", "unrelated", "x"});

    auto store = open_or_fail(options());
    ASSERT_TRUE(store);
    std::string value;
    ASSERT_TRUE(store->get(Ns::user, user, &value).ok());
    EXPECT_EQ(value, kOriginalContext) << "must come back byte for byte";
    std::vector<std::string> users, flows;
    ASSERT_TRUE(store->for_each_key(Ns::user, [&](std::string_view key) {
        users.emplace_back(key);
        return true;
    }).ok());
    ASSERT_TRUE(store->for_each_key(Ns::flow, [&](std::string_view key) {
        flows.emplace_back(key);
        return true;
    }).ok());
    EXPECT_EQ(users, std::vector<std::string>{user});
    EXPECT_EQ(flows, std::vector<std::string>{"7d5e0a3c-1f1e-4d0b-9c53-0d7cbe0b6a11"});
    ASSERT_TRUE(store->take(Ns::flow, "7d5e0a3c-1f1e-4d0b-9c53-0d7cbe0b6a11", &value).ok());
    EXPECT_EQ(value, kOriginalFlow);
    EXPECT_EQ(server.command({"EXISTS", "flows-7d5e0a3c-1f1e-4d0b-9c53-0d7cbe0b6a11"}).integer, 0);
    EXPECT_EQ(server.command({"SCARD", "flows"}).integer, 0) << "take leaves no member behind";
}

TEST_F(RedisStoreTest, WritesWhatTheOriginalReads) {
    auto store = open_or_fail(options(true));
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->put(Ns::user, "alice", kOriginalContext).ok());
    ASSERT_TRUE(store->put(Ns::flow, "f-1", kOriginalFlow).ok());
    EXPECT_EQ(server.command({"GET", "user-alice"}).text, kOriginalContext);
    EXPECT_EQ(server.command({"TYPE", "user-alice"}).text, "string");
    EXPECT_EQ(server.command({"SMEMBERS", "users"}).items, std::vector<std::string>{"user-alice"});
    EXPECT_EQ(server.command({"GET", "flows-f-1"}).text, kOriginalFlow);
    EXPECT_EQ(server.command({"SMEMBERS", "flows"}).items, std::vector<std::string>{"flows-f-1"});
    // Clearing a context deletes the key and its membership in one step.
    ASSERT_TRUE(store->del(Ns::user, "alice").ok());
    EXPECT_EQ(server.command({"EXISTS", "user-alice"}).integer, 0);
    EXPECT_EQ(server.command({"SCARD", "users"}).integer, 0);
    // Nothing else: no lease or counter appears before a lease is taken.
    const std::vector<std::string> keys = server.command({"KEYS", "*"}).items;
    EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()), (std::set<std::string>{"flows-f-1", "flows"}));
}

TEST_F(RedisStoreTest, TheSweepLeaseIsClaimedOnceAndWritesTheOriginalsMark) {
    auto a = open_or_fail(options());
    auto b = open_or_fail(options(true));
    ASSERT_TRUE(a && b);
    // A mark the Python bot left (no expiry) does not block tokend's sweep.
    server.command({"SET", "flow-maintenance", "2026-11-28T09:00:00+00:00"});
    uint64_t fence_a = 0, fence_b = 0;
    ASSERT_TRUE(a->lock_acquire(Ns::flow, "flow-maintenance", 60s, &fence_a).ok());
    EXPECT_EQ(b->lock_acquire(Ns::flow, "flow-maintenance", 60s, &fence_b).code, StoreCode::conflict);
    const std::string mark = server.command({"GET", "flow-maintenance"}).text;
    // Python's datetime.fromisoformat reads it: YYYY-MM-DDTHH:MM:SS.ffffff+00:00.
    ASSERT_EQ(mark.size(), 32u) << mark;
    EXPECT_EQ(mark.substr(26), "+00:00");
    EXPECT_NE(mark, "2026-11-28T09:00:00+00:00");
    EXPECT_EQ(server.command({"TTL", "flow-maintenance"}).integer, -1) << "the mark keeps the original's meaning";
    EXPECT_EQ(server.command({"SCARD", "flows"}).integer, 0) << "a lease is not a flow";
}

// Item 12 of issue 13: tokend reads a context under its lease, the Python module
// (which takes no lease) SETs the same key, then tokend commits its refresh. The
// compare-and-put script must refuse, hand back the Python value and leave it.
TEST_F(RedisStoreTest, APlainSetOfTheOriginalBetweenReadAndCommitIsNotOverwritten) {
    auto store = open_or_fail(options());
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->compares_atomically());
    const std::string ours = R"({"user_id":"alice","tokens":{"access_token":"tokend-read"}})";
    ASSERT_TRUE(store->put(Ns::user, "alice", ours).ok());
    uint64_t fence = 0;
    ASSERT_TRUE(store->lock_acquire(Ns::user, "alice", 30s, &fence).ok());
    std::string read;
    ASSERT_TRUE(store->get(Ns::user, "alice", &read).ok());
    ASSERT_EQ(read, ours);

    // As RedisTokenManager.set_user_context wrote it: a plain SET, no lease, no notification.
    server.command({"SET", "user-alice", kOriginalContext});
    std::string current;
    bool changed = false;
    const StoreStatus refused = store->put_if_equal(Ns::user, "alice", read, R"({"user_id":"alice","tokens":{}})",
                                                    fence, &current, &changed);
    EXPECT_EQ(refused.code, StoreCode::conflict) << refused.describe();
    EXPECT_TRUE(changed);
    EXPECT_EQ(current, kOriginalContext);
    EXPECT_EQ(refused.message.find("MzQ1Njc4OTAt"), std::string::npos) << "a token in the message";
    EXPECT_EQ(server.command({"GET", "user-alice"}).text, kOriginalContext) << "the original's write was lost";

    // Compared again with what is there, the write goes through, membership and all.
    server.command({"SREM", "users", "user-alice"});
    const StoreStatus again = store->put_if_equal(Ns::user, "alice", current, ours, fence, &current, &changed);
    EXPECT_TRUE(again.ok()) << again.describe();
    EXPECT_EQ(server.command({"GET", "user-alice"}).text, ours);
    EXPECT_EQ(server.command({"SISMEMBER", "users", "user-alice"}).integer, 1);
    // The original deleted it (clear_user_context): nothing is recreated.
    server.command({"DEL", "user-alice"});
    EXPECT_EQ(store->put_if_equal(Ns::user, "alice", ours, ours, fence, &current, &changed).code,
              StoreCode::not_found);
    EXPECT_EQ(server.command({"EXISTS", "user-alice"}).integer, 0);
    // Without a fence (a store shared without leases) the comparison alone decides.
    server.command({"SET", "user-alice", "x"});
    EXPECT_TRUE(store->put_if_equal(Ns::user, "alice", "x", ours, std::nullopt, &current, &changed).ok());
    ASSERT_TRUE(store->lock_release(Ns::user, "alice", fence).ok());
    EXPECT_EQ(store->put_if_equal(Ns::user, "alice", ours, "late", fence, &current, &changed).code,
              StoreCode::conflict);
    EXPECT_FALSE(changed) << "a released lease is fenced out, not a change";
    EXPECT_EQ(server.command({"GET", "user-alice"}).text, ours);
}

TEST_F(RedisStoreTest, FencesStayAboveACounterThatRedisLost) {
    auto store = open_or_fail(options());
    ASSERT_TRUE(store);
    uint64_t before = 0, after = 0;
    ASSERT_TRUE(store->lock_acquire(Ns::user, "u", 10s, &before).ok());
    server.kill();
    server.restart();  // no persistence: the counter is gone
    ASSERT_TRUE(until_ok([&] { return store->lock_acquire(Ns::user, "u", 10s, &after); }).ok());
    EXPECT_GT(after, before);
}

TEST_F(RedisStoreTest, ListingALargeSetInSmallPagesGivesEveryKeyOnce) {
    auto store = open_or_fail(options());
    ASSERT_TRUE(store);
    std::set<std::string> written;
    for (int i = 0; i < 3000; ++i) {
        written.insert("user-" + std::to_string(i));
        ASSERT_TRUE(store->put(Ns::user, "user-" + std::to_string(i), "v").ok());
    }
    server.command({"SADD", "users", "not-ours"});  // someone else's member is skipped
    std::multiset<std::string> listed;
    std::string cursor;
    size_t pages = 0, longest_cursor = 0;
    do {
        StorePage page;
        ASSERT_TRUE(store->list(Ns::user, cursor, 7, &page).ok());
        ASSERT_LE(page.keys.size(), 7u);
        listed.insert(page.keys.begin(), page.keys.end());
        cursor = page.next_cursor;
        longest_cursor = std::max(longest_cursor, cursor.size());
        ASSERT_LT(++pages, 5000u) << "the listing does not end";
    } while (!cursor.empty());
    EXPECT_EQ(std::set<std::string>(listed.begin(), listed.end()), written);
    EXPECT_EQ(listed.size(), written.size()) << "no key twice while nothing changed";
    EXPECT_LT(longest_cursor, 2000u) << "a cursor carries at most one SSCAN batch";
}

// ---- list_entries (store ABI 1.1): SSCAN, then one MGET per page ----

TEST_F(RedisStoreTest, ListEntriesReadsTheOriginalsUsersInPages) {
    // As the original's set_user_context left them, under a prefix.
    std::map<std::string, std::string> written;
    for (int i = 0; i < 300; ++i) {
        const std::string user = "Y2lz-" + std::to_string(i);
        const std::string context = kOriginalContext + (i % 2 ? std::string("\0tail", 5) : "");
        server.command({"SET", "bot:user-" + user, context});
        server.command({"SADD", "bot:users", "bot:user-" + user});
        written[user] = context;
    }
    server.command({"SET", "bot:user-empty", ""});
    server.command({"SADD", "bot:users", "bot:user-empty"});
    written["empty"] = "";
    // A member whose key is gone (deleted between a SSCAN and its MGET looks the
    // same), and members that are not ours: all left out.
    server.command({"SADD", "bot:users", "bot:user-gone", "not-ours", "user-unprefixed"});
    server.command({"SET", "user-unprefixed", "x"});

    nlohmann::json config = options();
    config["key_prefix"] = "bot:";
    auto store = open_or_fail(config);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->can_list_entries());
    std::map<std::string, std::string> seen;
    size_t pages = 0;
    std::string cursor;
    do {
        StoreEntryPage page;
        ASSERT_TRUE(store->list_entries(Ns::user, cursor, 7, &page).ok());
        ASSERT_LE(page.entries.size(), 7u);
        for (const StoreEntry& entry : page.entries) {
            EXPECT_TRUE(seen.emplace(entry.key, entry.value).second) << "twice: " << entry.key;
        }
        cursor = page.next_cursor;
        ASSERT_LT(++pages, 1000u) << "the listing does not end";
    } while (!cursor.empty());
    EXPECT_EQ(seen, written);
}

TEST_F(RedisStoreTest, ACursorThisStoreNeverGaveIsRefused) {
    auto store = open_or_fail(options());
    ASSERT_TRUE(store);
    const std::string garbage[] = {"x", "s", "s:", "s12", "sx:", "s0:5:ab", "s0:9999999999999999999999:a",
                                   "s0:-1:a", "s0:3a", std::string("s0:\0", 4),
                                   "s99999999999999999999999999:"};
    for (const std::string& cursor : garbage) {
        SCOPED_TRACE(cursor);
        StorePage keys;
        EXPECT_EQ(store->list(Ns::user, cursor, 10, &keys).code, StoreCode::invalid);
        StoreEntryPage entries;
        EXPECT_EQ(store->list_entries(Ns::user, cursor, 10, &entries).code, StoreCode::invalid);
        EXPECT_TRUE(entries.entries.empty());
    }
}

TEST_F(RedisStoreTest, ForEachEntryMatchesGetAndSurvivesAHostThatStopsEarly) {
    auto store = open_or_fail(options(true));
    ASSERT_TRUE(store);
    std::map<std::string, std::string> written;
    for (int i = 0; i < 2500; ++i) {
        const std::string user = "u" + std::to_string(i);
        written[user] = std::string("ctx\0", 4) + user;
        ASSERT_TRUE(store->put(Ns::user, user, written[user]).ok());
    }
    ASSERT_TRUE(store->put(Ns::flow, "u1", "a flow, not a user").ok());
    std::map<std::string, int> calls;
    store->set_call_observer(
        [&calls](std::string_view operation, auto, const StoreStatus&) { ++calls[std::string(operation)]; });
    std::map<std::string, std::string> seen;
    ASSERT_TRUE(store->for_each_entry(Ns::user, [&](std::string_view key, std::string_view value) {
        seen.emplace(key, value);
        return true;
    }).ok());
    EXPECT_EQ(seen, written);
    EXPECT_EQ(calls["get"], 0);
    EXPECT_GE(calls["list_entries"], 3) << "pages of at most 1000";

    // The visitor stops after 10: a walk ends there.
    int visited = 0;
    ASSERT_TRUE(store->for_each_entry(Ns::user, [&](std::string_view, std::string_view) { return ++visited < 10; }).ok());
    EXPECT_EQ(visited, 10);
}

// ---- faults ----

class RedisFaultTest : public RedisStoreTest {
protected:
    void SetUp() override {
        store = open_or_fail(options(true), &logs);
        ASSERT_TRUE(store);
        ASSERT_TRUE(store->put(Ns::user, "cached", "v1").ok());
    }
    // While Redis is away: an error, quickly, never NOT_FOUND and never a hang.
    void expect_unavailable() {
        const auto start = Clock::now();
        std::string value;
        EXPECT_EQ(store->get(Ns::user, "cached", &value).code, StoreCode::unavailable);
        EXPECT_EQ(store->put(Ns::user, "cached", "v2").code, StoreCode::unavailable);
        EXPECT_EQ(store->take(Ns::flow, "f", &value).code, StoreCode::unavailable);
        uint64_t fence = 0;
        EXPECT_EQ(store->lock_acquire(Ns::user, "cached", 1s, &fence).code, StoreCode::unavailable);
        EXPECT_LT(Clock::now() - start, 3s) << "each call is bounded by the timeouts";
    }
    void expect_recovered() {
        ASSERT_TRUE(until_ok([&] { return store->put(Ns::user, "after", "v3"); }).ok());
        std::string value;
        ASSERT_TRUE(store->get(Ns::user, "after", &value).ok());
        EXPECT_EQ(value, "v3");
    }
    Logs logs;
    std::unique_ptr<Store> store;
};

TEST_F(RedisFaultTest, KilledAndRestartedRedisIsUsedAgainWithoutReopening) {
    server.kill();
    expect_unavailable();
    EXPECT_TRUE(logs.mention("writes fail until it is back")) << "the operator is told once";
    server.restart();
    expect_recovered();
    EXPECT_TRUE(logs.mention("answers again"));
    std::string value;
    EXPECT_EQ(store->get(Ns::user, "cached", &value).code, StoreCode::not_found)
        << "the restarted Redis has no persistence: the old value is gone, and says so";
}

TEST_F(RedisFaultTest, AFrozenRedisAnswersWithinTheCommandTimeout) {
    server.freeze();
    expect_unavailable();
    server.thaw();
    expect_recovered();
    // The put that timed out had reached the frozen Redis, which ran it once
    // thawed: a timeout is an unknown outcome, reported as a failure (never as
    // done). docs/redis.md says so.
    std::string value;
    ASSERT_TRUE(store->get(Ns::user, "cached", &value).ok());
    EXPECT_TRUE(value == "v1" || value == "v2") << value;
}

TEST_F(RedisFaultTest, ShutdownNosaveAndBack) {
    server.shutdown_nosave();
    expect_unavailable();
    server.restart();
    expect_recovered();
}

TEST_F(RedisStoreTest, SigpipeFromAVanishedRedisDoesNotKillTheProcess) {
    // The default disposition: the plugin itself must keep SIGPIPE away.
    struct sigaction previous {};
    struct sigaction deflt {};
    deflt.sa_handler = SIG_DFL;
    sigaction(SIGPIPE, &deflt, &previous);
    auto store = open_or_fail(options(true));
    ASSERT_TRUE(store);
    const std::string big(32 << 20, 'x');  // long enough to be mid-write when Redis dies
    std::thread killer([&] {
        std::this_thread::sleep_for(5ms);
        server.kill();
    });
    for (int i = 0; i < 20; ++i) {
        const StoreStatus status = store->put(Ns::user, "big", big);
        EXPECT_TRUE(status.ok() || status.code == StoreCode::unavailable) << status.describe();
    }
    killer.join();
    sigaction(SIGPIPE, &previous, nullptr);
    SUCCEED() << "still alive";
}

// ---- notifications ----

struct Heard {
    std::mutex mutex;
    std::vector<std::pair<StoreChange, std::string>> events;
    StoreChangeSink sink() {
        return [this](Ns, StoreChange change, std::string_view key) {
            std::lock_guard<std::mutex> hold(mutex);
            events.emplace_back(change, std::string(key));
        };
    }
    bool saw(StoreChange change, const std::string& key, std::chrono::milliseconds within = 3s) {
        const auto end = Clock::now() + within;
        do {
            {
                std::lock_guard<std::mutex> hold(mutex);
                for (const auto& event : events) {
                    if (event.first == change && event.second == key) return true;
                }
            }
            std::this_thread::sleep_for(10ms);
        } while (Clock::now() < end);
        return false;
    }
};

TEST_F(RedisStoreTest, AReconnectedSubscriberAsksForAResyncAndHearsChangesAgain) {
    Heard heard;
    Logs logs;
    std::unique_ptr<Store> listener;
    ASSERT_TRUE(open_store(options(), &listener, &logs).ok());
    ASSERT_TRUE(listener->subscribe(heard.sink()).ok());
    auto writer = open_or_fail(options(true));
    ASSERT_TRUE(writer);
    ASSERT_TRUE(writer->put(Ns::user, "before", "v").ok());
    EXPECT_TRUE(heard.saw(StoreChange::put, "before"));
    EXPECT_FALSE(heard.saw(StoreChange::resync, "", 0ms)) << "no resync without a lost connection";

    server.kill();
    server.restart();
    EXPECT_TRUE(heard.saw(StoreChange::resync, "", 5s)) << "events may have been lost meanwhile";
    ASSERT_TRUE(until_ok([&] { return writer->del(Ns::user, "gone"); }).ok());
    ASSERT_TRUE(writer->put(Ns::user, "after", "v").ok());
    EXPECT_TRUE(heard.saw(StoreChange::put, "after"));
    EXPECT_TRUE(logs.mention("resync"));
}

TEST_F(RedisStoreTest, AFrozenRedisIsNoticedByTheSubscriber) {
    Heard heard;
    std::unique_ptr<Store> listener;
    ASSERT_TRUE(open_store(options(true), &listener).ok());
    ASSERT_TRUE(listener->subscribe(heard.sink()).ok());
    server.freeze();
    std::this_thread::sleep_for(2s);  // a PING goes unanswered
    server.thaw();
    EXPECT_TRUE(heard.saw(StoreChange::resync, "", 5s));
}

// ---- issue 15 item 3: WAIT for replicas after a user context is written ----

TEST(RedisWaitOptions, WaitReplicasAndItsTimeoutAreCheckedTogether) {
    redis_store::Options options;
    ASSERT_TRUE(redis_store::parse_options(R"({"redis_url":"redis://h"})", &options).ok());
    EXPECT_EQ(options.wait_replicas, 0u) << "off by default";
    ASSERT_TRUE(redis_store::parse_options(
                    R"({"redis_url":"redis://h","wait_replicas":2,"wait_timeout_ms":250,"wait_on_timeout":"warn"})",
                    &options)
                    .ok());
    EXPECT_EQ(options.wait_replicas, 2u);
    EXPECT_EQ(options.wait_timeout_ms, 250u);
    EXPECT_FALSE(options.wait_required);
    ASSERT_TRUE(redis_store::parse_options(R"({"redis_url":"redis://h","wait_replicas":1})", &options).ok());
    EXPECT_TRUE(options.wait_required) << "a timeout fails the write unless told otherwise";
    for (const char* bad : {
             R"({"redis_url":"redis://h","wait_replicas":-1})",
             R"({"redis_url":"redis://h","wait_replicas":"1"})",
             R"({"redis_url":"redis://h","wait_replicas":1,"wait_on_timeout":"ignore"})",
             R"({"redis_url":"redis://h","wait_replicas":1,"wait_timeout_ms":0})",
             // WAIT would outlast the connection's own command timeout.
             R"({"redis_url":"redis://h","wait_replicas":1,"wait_timeout_ms":1000})",
             R"({"redis_url":"redis://h","wait_replicas":1,"wait_timeout_ms":900,"command_timeout_ms":500})",
         }) {
        EXPECT_EQ(redis_store::parse_options(bad, &options).code, TOKEND_INVALID) << bad;
    }
}

// A master of the test's own and a replica of it.
class RedisReplicaTest : public ::testing::Test {
protected:
    // No 5 s wait for more replicas before the master streams the first sync.
    RedisReplicaTest()
        : master({"--repl-diskless-sync-delay", "0"}),
          replica({"--replicaof", "127.0.0.1", std::to_string(master.port())}) {}

    void SetUp() override {
        // The replica has synced and the master counts it: a condition, not a sleep.
        const auto deadline = Clock::now() + 30s;
        while (Clock::now() < deadline && !linked()) std::this_thread::sleep_for(20ms);
        ASSERT_TRUE(linked()) << replica.command({"INFO", "replication"}).text;
    }
    bool linked() {
        return replica.command({"INFO", "replication"}).text.find("master_link_status:up") != std::string::npos &&
               master.command({"INFO", "replication"}).text.find("connected_slaves:1") != std::string::npos;
    }
    nlohmann::json options(uint32_t wait_timeout_ms, const char* on_timeout) const {
        return {{"redis_url", master.unix_url()},
                {"wait_replicas", 1},
                {"wait_timeout_ms", wait_timeout_ms},
                {"wait_on_timeout", on_timeout},
                {"command_timeout_ms", 30000},
                {"connect_timeout_ms", 5000}};
    }

    RedisTestServer master;
    RedisTestServer replica;
};

TEST_F(RedisReplicaTest, EachWriteOfAUserContextIsOnTheReplicaWhenItReturns) {
    Logs logs;
    std::unique_ptr<Store> store;
    // Generous: WAIT answers as soon as the replica acknowledges.
    ASSERT_TRUE(open_store(options(20000, "fail"), &store, &logs).ok());
    // A grant (the /redirect's put), a set_user_context under a lease, a refresh.
    ASSERT_TRUE(store->put(Ns::user, "alice", "grant").ok());
    EXPECT_EQ(replica.command({"GET", "user-alice"}).text, "grant");
    uint64_t fence = 0;
    ASSERT_TRUE(store->lock_acquire(Ns::user, "alice", 30s, &fence).ok());
    ASSERT_TRUE(store->put_fenced(Ns::user, "alice", "context", fence).ok());
    EXPECT_EQ(replica.command({"GET", "user-alice"}).text, "context");
    std::string current;
    bool changed = false;
    ASSERT_TRUE(store->put_if_equal(Ns::user, "alice", "context", "refreshed", fence, &current, &changed).ok());
    EXPECT_EQ(replica.command({"GET", "user-alice"}).text, "refreshed");
    EXPECT_EQ(replica.command({"SISMEMBER", "users", "user-alice"}).integer, 1);
    EXPECT_FALSE(logs.mention("replicas required"));
}

TEST_F(RedisReplicaTest, AStoppedReplicaFailsTheWriteButTheMasterKeepsIt) {
    Logs logs;
    std::unique_ptr<Store> store;
    ASSERT_TRUE(open_store(options(200, "fail"), &store, &logs).ok());
    {
        // Written while the replica runs, with a deadline a loaded machine meets.
        std::unique_ptr<Store> patient;
        ASSERT_TRUE(open_store(options(20000, "fail"), &patient).ok());
        ASSERT_TRUE(patient->put(Ns::user, "alice", "old").ok());
    }
    uint64_t fence = 0;
    ASSERT_TRUE(store->lock_acquire(Ns::user, "alice", 60s, &fence).ok());
    replica.freeze();
    // The refresh's compare-and-put: on the master, but not known to be durable.
    std::string current;
    bool changed = false;
    const StoreStatus refresh = store->put_if_equal(Ns::user, "alice", "old", "rotated", fence, &current, &changed);
    EXPECT_EQ(refresh.code, StoreCode::unavailable) << refresh.describe();
    EXPECT_FALSE(changed);
    EXPECT_NE(refresh.message.find("0 of the 1 replicas"), std::string::npos) << refresh.message;
    EXPECT_EQ(refresh.message.find("rotated"), std::string::npos) << "a value in the message";
    EXPECT_EQ(master.command({"GET", "user-alice"}).text, "rotated") << "a rotated refresh token must not be undone";
    // A grant and a fenced write alike.
    EXPECT_EQ(store->put(Ns::user, "bob", "grant").code, StoreCode::unavailable);
    EXPECT_EQ(master.command({"GET", "user-bob"}).text, "grant");
    EXPECT_EQ(store->put_fenced(Ns::user, "alice", "context", fence).code, StoreCode::unavailable);
    // Writes that hold no tokens, and compare-and-puts that wrote nothing, do not wait.
    EXPECT_TRUE(store->put(Ns::flow, "f", "flow").ok());
    EXPECT_EQ(store->put_if_equal(Ns::user, "alice", "stale", "x", fence, &current, &changed).code,
              StoreCode::conflict);
    EXPECT_TRUE(changed);
    replica.thaw();
    // The replica catches up; writes are acknowledged again, without reopening.
    ASSERT_TRUE(until_ok([&] { return store->put(Ns::user, "carol", "grant"); }, 30s).ok());
    EXPECT_EQ(replica.command({"GET", "user-alice"}).text, "context");
}

TEST_F(RedisReplicaTest, WithWarnATimedOutWriteIsReportedStoredAndLogged) {
    Logs logs;
    std::unique_ptr<Store> store;
    ASSERT_TRUE(open_store(options(200, "warn"), &store, &logs).ok());
    replica.freeze();
    EXPECT_TRUE(store->put(Ns::user, "alice", "grant").ok());
    replica.thaw();
    EXPECT_TRUE(logs.mention("0 of the 1 replicas required (wait_replicas) acknowledged it within 200 ms"));
    EXPECT_TRUE(logs.mention("wait_on_timeout: warn"));
    EXPECT_FALSE(logs.mention("grant"));
}

}  // namespace
}  // namespace tokend::redis_test
