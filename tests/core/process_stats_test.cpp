// The /proc parsers behind the process_* metrics, on fixed texts.
#include "core/process_stats.h"

#include <gtest/gtest.h>

#include <limits>

namespace tokend {
namespace {

// A real line of /proc/self/stat (tokend), with a name holding ") (" to show the
// fields are counted from the last parenthesis.
constexpr const char* kStat =
    "4242 (tok end) (x)) S 1 4242 4242 0 -1 4194560 1500 0 0 0 250 130 0 0 20 0 6 0 123456 "
    "987654321 2048 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 17 1 0 0 0 0 0\n";

TEST(ProcessStats, StatGivesCpuStartVirtualAndResident) {
    const auto stat = parse_proc_stat(kStat, 100, 4096);
    ASSERT_TRUE(stat);
    EXPECT_DOUBLE_EQ(stat->cpu_seconds, 3.8);  // (250 + 130) / 100
    EXPECT_DOUBLE_EQ(stat->start_seconds_after_boot, 1234.56);
    EXPECT_EQ(stat->virtual_memory_bytes, 987654321u);
    EXPECT_EQ(stat->resident_memory_bytes, 2048u * 4096u);
}

TEST(ProcessStats, AStatLineThatIsCutOrBrokenIsRefused) {
    EXPECT_FALSE(parse_proc_stat("", 100, 4096));
    EXPECT_FALSE(parse_proc_stat("4242 tokend S 1", 100, 4096));  // no parentheses
    EXPECT_FALSE(parse_proc_stat("4242 (tokend) S 1 4242 4242 0 -1 4194560 1500 0 0 0 250", 100, 4096));
    EXPECT_FALSE(parse_proc_stat("4242 (tokend) S 1 4242 4242 0 -1 4194560 1500 0 0 0 x 130 0 0 20 0 6 0 1 2 3\n",
                                 100, 4096));
    EXPECT_FALSE(parse_proc_stat(kStat, 0, 4096));
}

TEST(ProcessStats, BootTimeIsTheBtimeLine) {
    EXPECT_EQ(parse_boot_time("cpu  1 2 3\nintr 5 6\nbtime 1764770000\nprocesses 99\n"), 1764770000u);
    EXPECT_FALSE(parse_boot_time("cpu  1 2 3\nprocesses 99\n"));
    EXPECT_FALSE(parse_boot_time("btime soon\n"));
}

TEST(ProcessStats, MaxOpenFilesIsTheSoftLimit) {
    const char* limits =
        "Limit                     Soft Limit           Hard Limit           Units     \n"
        "Max cpu time              unlimited            unlimited            seconds   \n"
        "Max open files            1024                 524288               files     \n"
        "Max locked memory         8388608              8388608              bytes     \n";
    EXPECT_EQ(parse_max_open_files(limits), 1024u);
    EXPECT_EQ(parse_max_open_files("Max open files            unlimited            unlimited            files\n"),
              std::numeric_limits<uint64_t>::max());
    EXPECT_FALSE(parse_max_open_files("Max cpu time              unlimited            unlimited            seconds\n"));
    EXPECT_FALSE(parse_max_open_files("Max open files\n"));
}

}  // namespace
}  // namespace tokend
