#include "app/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <stdexcept>

namespace tokend {

namespace {

spdlog::level::level_enum parse_level(const std::string& level) {
    const auto parsed = spdlog::level::from_str(level);
    if (parsed == spdlog::level::off && level != "off") throw std::invalid_argument("unknown log level " + level);
    return parsed;
}

}  // namespace

void init_logging(const std::string& level) {
    auto logger = spdlog::stderr_color_mt("tokend");
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %v");
    logger->set_level(parse_level(level));
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(logger);
}

void set_log_level(const std::string& level) {
    const auto parsed = parse_level(level);
    if (spdlog::default_logger()->level() != parsed) {
        spdlog::info("log level is now {}", level);
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
    spdlog::log(spd_level, "store {}: {}", plugin, message);
}

}  // namespace tokend
