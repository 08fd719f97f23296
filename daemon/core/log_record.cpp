#include "core/log_record.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstring>

namespace tokend {

std::optional<std::string_view> canonical_log_level(std::string_view level) {
    for (std::string_view known : {"trace", "debug", "info", "warning", "error"}) {
        if (level == known) return known;
    }
    if (level == "warn") return std::string_view("warning");
    return std::nullopt;
}

std::string_view log_levels_accepted() { return "trace, debug, info, warning (or warn), error"; }

int log_priority(std::string_view level) {
    if (level == "trace" || level == "debug") return 7;
    if (level == "info") return 6;
    if (level == "warning") return 4;
    if (level == "error") return 3;
    return 2;  // critical
}

std::string log_json_line(Timestamp time, std::string_view level, std::string_view message, const LogFields& fields) {
    // A fixed width (always six fraction digits) sorts and parses easily.
    const auto days = std::chrono::floor<std::chrono::days>(time);
    const std::chrono::year_month_day date(days);
    const std::chrono::hh_mm_ss clock(time - days);
    char stamp[64];
    std::snprintf(stamp, sizeof stamp, "%04d-%02u-%02uT%02d:%02d:%02d.%06lld+00:00", static_cast<int>(date.year()),
                  static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                  static_cast<int>(clock.hours().count()), static_cast<int>(clock.minutes().count()),
                  static_cast<int>(clock.seconds().count()), static_cast<long long>(clock.subseconds().count()));
    nlohmann::ordered_json line = {{"time", stamp}, {"level", level}, {"message", message}};
    if (!fields.user_id.empty()) line["user_id"] = fields.user_id;
    if (!fields.flow.empty()) line["flow"] = fields.flow;
    if (!fields.outcome.empty()) line["outcome"] = fields.outcome;
    if (!fields.client.empty()) line["client"] = fields.client;
    if (!fields.plugin.empty()) line["plugin"] = fields.plugin;
    if (fields.error_number > 0) {
        line["errno"] = fields.error_number;
        line["error"] = std::strerror(fields.error_number);
    }
    // Text from plugins or peers may not be UTF-8: replaced, never a throw.
    return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::vector<std::string> journal_fields(std::string_view level, std::string_view message, const LogFields& fields) {
    std::vector<std::string> items;
    items.push_back("MESSAGE=" + std::string(message));
    items.push_back("PRIORITY=" + std::to_string(log_priority(level)));
    items.emplace_back("SYSLOG_IDENTIFIER=tokend");
    items.push_back("TOKEND_LEVEL=" + std::string(level));
    if (!fields.user_id.empty()) items.push_back("USER_ID=" + std::string(fields.user_id));
    if (!fields.flow.empty()) items.push_back("FLOW=" + std::string(fields.flow));
    if (!fields.outcome.empty()) items.push_back("OUTCOME=" + std::string(fields.outcome));
    if (!fields.client.empty()) items.push_back("CLIENT=" + std::string(fields.client));
    if (!fields.plugin.empty()) items.push_back("STORE_PLUGIN=" + std::string(fields.plugin));
    if (fields.error_number > 0) items.push_back("ERRNO=" + std::to_string(fields.error_number));
    return items;
}

LogRateLimit::Decision LogRateLimit::note(Timestamp now) {
    if (!started_ || now - window_start_ >= window_ || now < window_start_) {
        started_ = true;
        window_start_ = now;
        logged_in_window_ = 0;
    }
    Decision decision;
    if (logged_in_window_ >= per_window_) {
        ++suppressed_;
        return decision;
    }
    ++logged_in_window_;
    decision.log = true;
    decision.last = logged_in_window_ == per_window_;
    decision.suppressed = suppressed_;
    suppressed_ = 0;
    return decision;
}

}  // namespace tokend
