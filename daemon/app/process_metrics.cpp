#include "app/process_metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace tokend {
namespace {

std::optional<std::string> read_text(const char* path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) return std::nullopt;
    std::ostringstream text;
    text << file.rdbuf();
    if (file.bad()) return std::nullopt;
    return text.str();
}

// Entries of /proc/self/fd, less the one opendir itself holds.
std::optional<uint64_t> count_open_fds() {
    DIR* dir = ::opendir("/proc/self/fd");
    if (dir == nullptr) return std::nullopt;
    uint64_t count = 0;
    while (const dirent* entry = ::readdir(dir)) {
        if (entry->d_name[0] != '.') ++count;
    }
    ::closedir(dir);
    return count > 0 ? count - 1 : 0;
}

}  // namespace

ProcessSample sample_process() {
    ProcessSample sample;
    if (auto text = read_text("/proc/self/stat")) {
        sample.stat = parse_proc_stat(*text, ::sysconf(_SC_CLK_TCK), ::sysconf(_SC_PAGESIZE));
    }
    if (auto text = read_text("/proc/stat")) sample.boot_time = parse_boot_time(*text);
    if (auto text = read_text("/proc/self/limits")) sample.max_fds = parse_max_open_files(*text);
    sample.open_fds = count_open_fds();
    return sample;
}

}  // namespace tokend
