#include "core/process_stats.h"

#include <charconv>
#include <limits>
#include <string>
#include <vector>

namespace tokend {
namespace {

std::optional<uint64_t> number(std::string_view text) {
    uint64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return value;
}

std::vector<std::string_view> words(std::string_view text) {
    std::vector<std::string_view> out;
    size_t at = 0;
    while (at < text.size()) {
        const size_t start = text.find_first_not_of(" \t\n", at);
        if (start == std::string_view::npos) break;
        const size_t end = text.find_first_of(" \t\n", start);
        out.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
        at = end == std::string_view::npos ? text.size() : end;
    }
    return out;
}

}  // namespace

std::optional<ProcStat> parse_proc_stat(std::string_view text, long ticks_per_second, long page_size) {
    const size_t close = text.rfind(')');
    if (close == std::string_view::npos || ticks_per_second <= 0 || page_size <= 0) return std::nullopt;
    // After the name: field 3 (state) is the first word.
    const std::vector<std::string_view> fields = words(text.substr(close + 1));
    auto field = [&](size_t number_in_proc5) -> std::optional<uint64_t> {
        const size_t index = number_in_proc5 - 3;
        if (index >= fields.size()) return std::nullopt;
        return number(fields[index]);
    };
    const auto utime = field(14), stime = field(15), start = field(22), vsize = field(23), rss = field(24);
    if (!utime || !stime || !start || !vsize || !rss) return std::nullopt;
    ProcStat stat;
    const double ticks = static_cast<double>(ticks_per_second);
    stat.cpu_seconds = static_cast<double>(*utime + *stime) / ticks;
    stat.start_seconds_after_boot = static_cast<double>(*start) / ticks;
    stat.virtual_memory_bytes = *vsize;
    stat.resident_memory_bytes = *rss * static_cast<uint64_t>(page_size);
    return stat;
}

std::optional<uint64_t> parse_boot_time(std::string_view proc_stat_text) {
    size_t at = 0;
    while (at < proc_stat_text.size()) {
        size_t end = proc_stat_text.find('\n', at);
        if (end == std::string_view::npos) end = proc_stat_text.size();
        const std::vector<std::string_view> line = words(proc_stat_text.substr(at, end - at));
        if (line.size() == 2 && line[0] == "btime") return number(line[1]);
        at = end + 1;
    }
    return std::nullopt;
}

std::optional<uint64_t> parse_max_open_files(std::string_view limits_text) {
    constexpr std::string_view kName = "Max open files";
    size_t at = 0;
    while (at < limits_text.size()) {
        size_t end = limits_text.find('\n', at);
        if (end == std::string_view::npos) end = limits_text.size();
        const std::string_view line = limits_text.substr(at, end - at);
        if (line.substr(0, kName.size()) == kName) {
            const std::vector<std::string_view> rest = words(line.substr(kName.size()));
            if (rest.empty()) return std::nullopt;
            if (rest[0] == "unlimited") return std::numeric_limits<uint64_t>::max();
            return number(rest[0]);
        }
        at = end + 1;
    }
    return std::nullopt;
}

}  // namespace tokend
