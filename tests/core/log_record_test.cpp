#include "core/log_record.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace tokend {
namespace {

using namespace std::chrono_literals;

Timestamp at(long long micros) { return Timestamp(std::chrono::microseconds(micros)); }

bool has(const std::vector<std::string>& items, const std::string& item) {
    return std::find(items.begin(), items.end(), item) != items.end();
}

TEST(LogLevels, OneSpellingWithWarnAsAlias) {
    EXPECT_EQ(canonical_log_level("warning"), "warning");
    EXPECT_EQ(canonical_log_level("warn"), "warning");
    for (const char* level : {"trace", "debug", "info", "error"}) EXPECT_EQ(canonical_log_level(level), level);
    for (const char* level : {"", "WARNING", "err", "critical", "off", "information", "warn "}) {
        EXPECT_FALSE(canonical_log_level(level)) << level;
    }
}

TEST(LogLevels, SyslogPriorities) {
    EXPECT_EQ(log_priority("trace"), 7);
    EXPECT_EQ(log_priority("debug"), 7);
    EXPECT_EQ(log_priority("info"), 6);
    EXPECT_EQ(log_priority("warning"), 4);
    EXPECT_EQ(log_priority("error"), 3);
    EXPECT_EQ(log_priority("critical"), 2);
}

TEST(LogJson, OneObjectWithUtcTimeAndTheFieldsGiven) {
    // 2026-12-03T15:19:28.000042Z
    const Timestamp time = at(1796311168LL * 1000000 + 42);
    const std::string line = log_json_line(time, "warning", "user alice: \"quoted\"\nsecond line",
                                           LogFields().with_user("alice").with_flow("0a1b2c3d").with_errno(2));
    EXPECT_EQ(line.find('\n'), std::string::npos) << line;
    const auto json = nlohmann::json::parse(line);
    EXPECT_EQ(json["time"], "2026-12-03T15:19:28.000042+00:00");
    EXPECT_EQ(json["level"], "warning");
    EXPECT_EQ(json["message"], "user alice: \"quoted\"\nsecond line");
    EXPECT_EQ(json["user_id"], "alice");
    EXPECT_EQ(json["flow"], "0a1b2c3d");
    EXPECT_EQ(json["errno"], 2);
    EXPECT_EQ(json["error"], "No such file or directory");
    EXPECT_FALSE(json.contains("outcome"));
    EXPECT_FALSE(json.contains("client"));
    EXPECT_FALSE(json.contains("plugin"));
}

TEST(LogJson, TextThatIsNotUtf8IsReplacedNotThrown) {
    const std::string line = log_json_line(at(0), "info", std::string("bad \xff byte"), LogFields());
    const auto json = nlohmann::json::parse(line);
    EXPECT_EQ(json["time"], "1970-01-01T00:00:00.000000+00:00");
    EXPECT_NE(json["message"].get<std::string>().find("bad "), std::string::npos);
}

TEST(LogJournal, PriorityMessageIdentifierAndFields) {
    const auto items = journal_fields("error", "flow 0a1b2c3d ended provider_error",
                                      LogFields()
                                          .with_user("alice")
                                          .with_flow("0a1b2c3d")
                                          .with_outcome("provider_error")
                                          .with_client("127.0.0.1:5555")
                                          .with_plugin("yaml")
                                          .with_errno(13));
    EXPECT_TRUE(has(items, "MESSAGE=flow 0a1b2c3d ended provider_error"));
    EXPECT_TRUE(has(items, "PRIORITY=3"));
    EXPECT_TRUE(has(items, "SYSLOG_IDENTIFIER=tokend"));
    EXPECT_TRUE(has(items, "TOKEND_LEVEL=error"));
    EXPECT_TRUE(has(items, "USER_ID=alice"));
    EXPECT_TRUE(has(items, "FLOW=0a1b2c3d"));
    EXPECT_TRUE(has(items, "OUTCOME=provider_error"));
    EXPECT_TRUE(has(items, "CLIENT=127.0.0.1:5555"));
    EXPECT_TRUE(has(items, "STORE_PLUGIN=yaml"));
    EXPECT_TRUE(has(items, "ERRNO=13"));
    for (const std::string& item : items) EXPECT_NE(item.rfind("TIMESTAMP", 0), 0u) << item;
}

TEST(LogJournal, EmptyFieldsAreLeftOut) {
    const auto items = journal_fields("info", "started", LogFields());
    EXPECT_EQ(items.size(), 4u);
}

TEST(LogRateLimitTest, AtMostNPerWindowThenACount) {
    LogRateLimit limit(3, 60s);
    const Timestamp start = at(1000000000000);
    for (int i = 0; i < 3; ++i) {
        const auto decision = limit.note(start + std::chrono::seconds(i));
        EXPECT_TRUE(decision.log);
        EXPECT_EQ(decision.last, i == 2);
        EXPECT_EQ(decision.suppressed, 0);
    }
    for (int i = 0; i < 5; ++i) EXPECT_FALSE(limit.note(start + 10s).log);
    EXPECT_FALSE(limit.note(start + 59s).log);
    const auto next = limit.note(start + 60s);
    EXPECT_TRUE(next.log);
    EXPECT_EQ(next.suppressed, 6);
    EXPECT_EQ(limit.note(start + 61s).suppressed, 0);
}

TEST(LogRateLimitTest, AClockThatStepsBackStartsAWindow) {
    LogRateLimit limit(1, 60s);
    const Timestamp start = at(1000000000000);
    EXPECT_TRUE(limit.note(start).log);
    EXPECT_FALSE(limit.note(start + 1s).log);
    const auto back = limit.note(start - 3600s);
    EXPECT_TRUE(back.log);
    EXPECT_EQ(back.suppressed, 1);
}

}  // namespace
}  // namespace tokend
