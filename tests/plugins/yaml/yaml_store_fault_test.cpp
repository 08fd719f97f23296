// Issue 13, item 15: a failed fsync is never acknowledged. The real yaml plugin,
// loaded through the host, while the LD_PRELOAD shim of tests/support/fault_shim.c
// makes its write, fdatasync, rename or directory fsync fail with EIO or ENOSPC:
// the writer gets an error, memory and the file agree afterwards, nothing
// acknowledged before is lost, and once the fault clears writes go through again.
//
// The binary re-executes itself with the shim preloaded (before main, see below),
// so every run, from ctest or by hand, is a process with the shim in place.
#include "yaml_reader.h"
#include "yaml_test_support.h"

#include <gtest/gtest.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>
#include <sstream>

namespace tokend::yaml_test {
namespace {

constexpr char kReexecMark[] = "TOKEND_FAULT_TEST_REEXEC";

// Before main: without the shim, run this same program again with it preloaded (the
// ASan runtime first in a sanitizer build, as CMake wrote TOKEND_FAULT_PRELOAD).
__attribute__((constructor)) void reexec_with_the_shim() {
    if (dlsym(RTLD_DEFAULT, "tokend_fault_shim_loaded") != nullptr) return;
    if (std::getenv(kReexecMark) != nullptr) return;  // tried once: the tests say so
    ::setenv(kReexecMark, "1", 1);
    ::setenv("LD_PRELOAD", TOKEND_FAULT_PRELOAD, 1);
    std::ifstream cmdline("/proc/self/cmdline");
    std::vector<std::string> args;
    for (std::string arg; std::getline(cmdline, arg, '\0');) args.push_back(arg);
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    ::execv("/proc/self/exe", argv.data());
    // execv failed: the tests report the missing shim.
}

bool shim_loaded() { return dlsym(RTLD_DEFAULT, "tokend_fault_shim_loaded") != nullptr; }

// The control file of the shim, in a directory of its own (so rules on the store's
// directory never match it), set for this process while the object lives.
class FaultControl {
public:
    FaultControl() {
        ::setenv("TOKEND_FAULT_CONTROL", file().c_str(), 1);
        set("");
    }
    ~FaultControl() { ::unsetenv("TOKEND_FAULT_CONTROL"); }

    // Replaces the rules ("CALL ERRNO SKIP COUNT PATH" lines); counting restarts.
    void set(const std::string& rules) {
        ++generation_;
        const std::string temp = file() + ".new";
        write_file(temp, "# " + std::to_string(generation_) + "\n" + rules);
        std::filesystem::rename(temp, file());
    }
    void clear() { set(""); }

    // The failures injected so far, one "CALL ERRNO PATH" line each.
    std::vector<std::string> injected() const {
        std::vector<std::string> lines;
        if (!file_exists(file() + ".log")) return lines;
        std::istringstream text(read_file(file() + ".log"));
        for (std::string line; std::getline(text, line);) lines.push_back(line);
        return lines;
    }

private:
    std::string file() const { return dir_.file("control"); }
    TempDir dir_;
    int generation_ = 0;
};

// Every user in memory, through list and get.
std::map<std::string, std::string> users_in_memory(Store& store) {
    std::map<std::string, std::string> users;
    for (const std::string& key : all_keys(store, Ns::user)) {
        std::string value;
        EXPECT_TRUE(store.get(Ns::user, key, &value).ok()) << key;
        users[key] = value;
    }
    return users;
}

// Every user in the file, as the reader of a restarted store would see it.
std::map<std::string, std::string> users_in_file(const std::string& path) {
    std::map<std::string, std::string> users;
    for (auto& [key, entry] : yaml_store::parse_store_file(read_file(path), path)) {
        users[key] = entry->value;
    }
    return users;
}

struct Fault {
    const char* name;
    const char* call;
    const char* error;    // as the shim reads it
    const char* message;  // what the writer's error says
    const char* target;   // "temp": the users temp file; "dir": the store's directory
};

void PrintTo(const Fault& fault, std::ostream* out) { *out << fault.name; }

std::string rule_for(const Fault& fault, const TempDir& dir, int count) {
    const std::string path =
        std::string(fault.target) == "dir" ? dir.path() : dir.file("users.yml.tmp");
    return std::string(fault.call) + " " + fault.error + " 0 " + std::to_string(count) + " " +
           path + "\n";
}

class YamlStoreFault : public ::testing::TestWithParam<Fault> {
protected:
    void SetUp() override {
        ASSERT_TRUE(shim_loaded()) << "the fault shim is not preloaded (LD_PRELOAD="
                                   << TOKEND_FAULT_PRELOAD << ")";
        store_ = open_yaml_or_fail(dir_.file("users.yml"), &log_);
        ASSERT_NE(store_, nullptr);
        ASSERT_TRUE(store_->put(Ns::user, "alice", R"({"v":"alice-1"})").ok());
        ASSERT_TRUE(store_->put(Ns::user, "bob", R"({"v":"bob-1"})").ok());
        acknowledged_ = {{"alice", R"({"v":"alice-1"})"}, {"bob", R"({"v":"bob-1"})"}};
    }

    void expect_failed(const StoreStatus& status) {
        EXPECT_EQ(status.code, StoreCode::unavailable) << status.describe();
        EXPECT_NE(status.message.find(dir_.file("users.yml")), std::string::npos)
            << status.message;
        EXPECT_NE(status.message.find(GetParam().message), std::string::npos) << status.message;
    }

    // Memory holds what was acknowledged, and so does the file.
    void expect_agreement() {
        EXPECT_EQ(users_in_memory(*store_), acknowledged_);
        EXPECT_EQ(users_in_file(dir_.file("users.yml")), acknowledged_);
        EXPECT_FALSE(file_exists(dir_.file("users.yml.tmp")));
    }

    // After the store is closed and opened again, it reads back exactly that.
    void expect_restart_reads_acknowledged() {
        store_.reset();
        store_ = open_yaml_or_fail(dir_.file("users.yml"));
        ASSERT_NE(store_, nullptr);
        EXPECT_EQ(users_in_memory(*store_), acknowledged_);
    }

    TempDir dir_;
    FaultControl faults_;
    LogCapture log_;
    std::unique_ptr<Store> store_;
    std::map<std::string, std::string> acknowledged_;
};

// One failure: that write fails, the repair round right after it (a whole new
// commit) succeeds, so the file agrees with memory at once.
TEST_P(YamlStoreFault, OneFailureIsReportedAndTheFileAgreesAtOnce) {
    faults_.set(rule_for(GetParam(), dir_, 1));
    expect_failed(store_->put(Ns::user, "alice", R"({"v":"alice-2"})"));
    EXPECT_EQ(faults_.injected().size(), 1u);
    expect_agreement();
    EXPECT_TRUE(log_.contains("cannot write users file"));
    EXPECT_TRUE(log_.contains("rewritten from memory after a failed write"));

    ASSERT_TRUE(store_->put(Ns::user, "carol", R"({"v":"carol-1"})").ok());
    acknowledged_["carol"] = R"({"v":"carol-1"})";
    expect_agreement();
    expect_restart_reads_acknowledged();
}

// A lasting fault: nothing is acknowledged while it lasts (no fsync is taken for a
// success on a second try), reads serve what was acknowledged before, and once it
// clears the next write makes the file agree again.
TEST_P(YamlStoreFault, NothingIsAcknowledgedWhileTheFaultLasts) {
    faults_.set(rule_for(GetParam(), dir_, 0));
    expect_failed(store_->put(Ns::user, "alice", R"({"v":"alice-2"})"));
    expect_failed(store_->put(Ns::user, "dave", R"({"v":"dave-1"})"));
    expect_failed(store_->del(Ns::user, "bob"));
    std::string value;
    expect_failed(store_->take(Ns::user, "bob", &value));
    // Each write failed, and so did the repair round after it.
    EXPECT_GE(faults_.injected().size(), 8u);
    EXPECT_EQ(users_in_memory(*store_), acknowledged_);
    // The visible file holds the acknowledged entries, whatever step fails (after a
    // failed directory fsync the repair's own rename went through).
    EXPECT_EQ(users_in_file(dir_.file("users.yml")), acknowledged_);

    faults_.clear();
    const size_t injected = faults_.injected().size();
    ASSERT_TRUE(store_->put(Ns::user, "carol", R"({"v":"carol-1"})").ok());
    acknowledged_["carol"] = R"({"v":"carol-1"})";
    EXPECT_EQ(faults_.injected().size(), injected);
    expect_agreement();
    expect_restart_reads_acknowledged();
}

INSTANTIATE_TEST_SUITE_P(
    Steps, YamlStoreFault,
    ::testing::Values(
        Fault{"WriteEIO", "write", "EIO", "write temp file: Input/output error", "temp"},
        Fault{"WriteENOSPC", "write", "ENOSPC", "write temp file: No space left on device", "temp"},
        Fault{"FdatasyncEIO", "fdatasync", "EIO", "fsync temp file: Input/output error", "temp"},
        Fault{"FdatasyncENOSPC", "fdatasync", "ENOSPC", "fsync temp file: No space left on device",
              "temp"},
        Fault{"RenameEIO", "rename", "EIO", "rename temp file: Input/output error", "temp"},
        Fault{"RenameENOSPC", "rename", "ENOSPC", "rename temp file: No space left on device",
              "temp"},
        Fault{"DirectoryFsyncEIO", "fsync", "EIO", "fsync directory: Input/output error", "dir"},
        Fault{"DirectoryFsyncENOSPC", "fsync", "ENOSPC", "fsync directory: No space left on device",
              "dir"}),
    [](const ::testing::TestParamInfo<Fault>& info) { return std::string(info.param.name); });

// The shim itself: a rule fires only on its call and path, SKIP and COUNT hold, and
// without a rule nothing fails (so the tests above cannot pass by accident).
TEST(FaultShim, FiresOnlyAsTold) {
    ASSERT_TRUE(shim_loaded());
    TempDir dir;
    FaultControl faults;
    const std::string target = dir.file("target");
    faults.set("fdatasync EIO 1 2 " + target + "\n");
    const int fd = ::open(target.c_str(), O_WRONLY | O_CREAT, 0600);
    ASSERT_GE(fd, 0);
    const int other = ::open(dir.file("other").c_str(), O_WRONLY | O_CREAT, 0600);
    ASSERT_GE(other, 0);
    EXPECT_EQ(::fdatasync(other), 0);
    EXPECT_EQ(::fdatasync(fd), 0);  // skipped
    EXPECT_EQ(::fdatasync(fd), -1);
    EXPECT_EQ(errno, EIO);
    EXPECT_EQ(::fsync(fd), 0);  // another call
    EXPECT_EQ(::fdatasync(fd), -1);
    EXPECT_EQ(::fdatasync(fd), 0);  // count spent
    EXPECT_EQ(faults.injected().size(), 2u);
    faults.set("write ENOSPC 0 0 " + target + "\n");
    EXPECT_EQ(::write(fd, "x", 1), -1);
    EXPECT_EQ(errno, ENOSPC);
    EXPECT_EQ(::write(other, "x", 1), 1);
    faults.clear();
    EXPECT_EQ(::write(fd, "x", 1), 1);
    ::close(fd);
    ::close(other);
}

}  // namespace
}  // namespace tokend::yaml_test
