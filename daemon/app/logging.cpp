#include "app/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <sys/stat.h>
#include <sys/uio.h>
// Without it, sd_journal_sendv adds CODE_FILE/CODE_LINE of this sink, which
// would name the same line for every record.
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace tokend {

namespace detail {
namespace {
thread_local const LogFields* current_fields = nullptr;
}  // namespace

const LogFields* current_log_fields() { return current_fields; }
ScopedLogFields::ScopedLogFields(const LogFields& fields) : previous_(current_fields) { current_fields = &fields; }
ScopedLogFields::~ScopedLogFields() { current_fields = previous_; }
}  // namespace detail

namespace {

const LogFields& fields_of_this_record() {
    static const LogFields none;
    const LogFields* fields = detail::current_log_fields();
    return fields != nullptr ? *fields : none;
}

// spdlog's own names are ours: trace, debug, info, warning, error, critical.
std::string_view level_name(spdlog::level::level_enum level) {
    const auto name = spdlog::level::to_string_view(level);
    return {name.data(), name.size()};
}

std::string_view payload_of(const spdlog::details::log_msg& msg) { return {msg.payload.data(), msg.payload.size()}; }

// Native journal entries. If the journal socket cannot take one, the record
// goes to stderr (the journal's stream, under systemd) with a "<priority>"
// prefix, which journald reads as the priority.
class JournalSink final : public spdlog::sinks::base_sink<std::mutex> {
protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        const std::string_view level = level_name(msg.level);
        const std::vector<std::string> items = journal_fields(level, payload_of(msg), fields_of_this_record());
        std::vector<iovec> vectors;
        vectors.reserve(items.size());
        for (const std::string& item : items) vectors.push_back({const_cast<char*>(item.data()), item.size()});
        if (sd_journal_sendv(vectors.data(), static_cast<int>(vectors.size())) < 0) {
            const std::string line =
                "<" + std::to_string(log_priority(level)) + ">" + std::string(payload_of(msg)) + "\n";
            std::fwrite(line.data(), 1, line.size(), stderr);
            std::fflush(stderr);
        }
    }
    void flush_() override {}
};

class JsonSink final : public spdlog::sinks::base_sink<std::mutex> {
protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        const Timestamp time = std::chrono::floor<std::chrono::microseconds>(msg.time);
        const std::string line =
            log_json_line(time, level_name(msg.level), payload_of(msg), fields_of_this_record()) + "\n";
        std::fwrite(line.data(), 1, line.size(), stderr);
        std::fflush(stderr);
    }
    void flush_() override { std::fflush(stderr); }
};

spdlog::level::level_enum parse_level(const std::string& level) {
    const auto canonical = canonical_log_level(level);
    if (!canonical) {
        throw std::invalid_argument("unknown log level '" + level + "': use one of " +
                                    std::string(log_levels_accepted()));
    }
    return spdlog::level::from_str(std::string(*canonical));
}

spdlog::sink_ptr make_sink(const std::string& format) {
    if (format == "json") return std::make_shared<JsonSink>();
    if (format == "auto" && stderr_is_journal()) return std::make_shared<JournalSink>();
    if (format == "text" || format == "auto") {
        auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
        // UTC with its offset, so lines from hosts in other zones sort together.
        sink->set_formatter(std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%e%z %^%-7l%$ %v",
                                                                         spdlog::pattern_time_type::utc));
        return sink;
    }
    throw std::invalid_argument("unknown log format '" + format + "': use auto, text or json");
}

}  // namespace

bool stderr_is_journal() {
    const char* stream = std::getenv("JOURNAL_STREAM");
    if (stream == nullptr) return false;
    unsigned long long device = 0;
    unsigned long long inode = 0;
    char rest = 0;
    if (std::sscanf(stream, "%llu:%llu%c", &device, &inode, &rest) != 2) return false;
    struct stat info {};
    if (fstat(STDERR_FILENO, &info) != 0) return false;
    return info.st_dev == device && info.st_ino == inode;
}

void init_logging(const LogSetup& setup) {
    const auto level = parse_level(setup.level);
    auto logger = std::make_shared<spdlog::logger>("tokend", make_sink(setup.format));
    logger->set_level(level);
    logger->flush_on(spdlog::level::trace);
    spdlog::set_default_logger(logger);
}

void set_log_level(const std::string& level) {
    const auto parsed = parse_level(level);
    if (spdlog::default_logger()->level() != parsed) {
        spdlog::info("log level is now {}", level_name(parsed));
        spdlog::default_logger()->set_level(parsed);
    }
}

void log_from_plugin(std::string_view plugin, tokend_log_level level, std::string_view message) {
    auto spd_level = spdlog::level::info;
    switch (level) {
        case TOKEND_LOG_DEBUG: spd_level = spdlog::level::debug; break;
        case TOKEND_LOG_INFO: spd_level = spdlog::level::info; break;
        case TOKEND_LOG_WARN: spd_level = spdlog::level::warn; break;
        case TOKEND_LOG_ERROR: spd_level = spdlog::level::err; break;
    }
    log_event(spd_level, LogFields().with_plugin(plugin), "store {}: {}", plugin, message);
}

}  // namespace tokend
