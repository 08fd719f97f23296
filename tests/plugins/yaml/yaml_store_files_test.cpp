// What the yaml store does to files: nothing at open, 0600 files, stale temp files
// removed, one instance per file, only the changed file rewritten, and a failed write
// undone in memory and reported.
#include "yaml_test_support.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <nlohmann/json.hpp>

#include <filesystem>

namespace tokend::yaml_test {
namespace {

ino_t inode_of(const std::string& path) {
    struct stat info {};
    return ::stat(path.c_str(), &info) == 0 ? info.st_ino : 0;
}

TEST(YamlStoreFiles, AMissingFileIsAnEmptyStoreAndOpenWritesNothing) {
    TempDir dir;
    auto store = open_yaml_or_fail(dir.file("users.yml"));
    ASSERT_NE(store, nullptr);
    EXPECT_TRUE(all_keys(*store, Ns::user).empty());
    EXPECT_TRUE(all_keys(*store, Ns::flow).empty());
    std::string value;
    EXPECT_TRUE(store->get(Ns::user, "u", &value).not_found());
    store.reset();
    EXPECT_FALSE(file_exists(dir.file("users.yml")));
    EXPECT_FALSE(file_exists(dir.file("users.flows.yml")));
}

TEST(YamlStoreFiles, EmptyAndCommentOnlyFilesAreEmptyStores) {
    TempDir dir;
    write_file(dir.file("users.yml"), "");
    write_file(dir.file("users.flows.yml"), "# nothing yet\n");
    auto store = open_yaml_or_fail(dir.file("users.yml"));
    ASSERT_NE(store, nullptr);
    EXPECT_TRUE(all_keys(*store, Ns::user).empty());
    ASSERT_TRUE(store->put(Ns::user, "u", "{}").ok());
    ASSERT_TRUE(store->del(Ns::user, "u").ok());
    // An empty store is written as {} so that yaml.safe_load gives a dict, not None.
    const std::string text = read_file(dir.file("users.yml"));
    EXPECT_NE(text.find("\n{}\n"), std::string::npos) << text;
}

TEST(YamlStoreFiles, FilesAreCreatedWithMode0600WhateverTheUmask) {
    TempDir dir;
    write_file(dir.file("users.yml"), "old:\n  user_id: old\n");
    ::chmod(dir.file("users.yml").c_str(), 0644);  // as the Python bot left it
    const mode_t saved = ::umask(0);
    auto store = open_yaml_or_fail(dir.file("users.yml"));
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->put(Ns::user, "u", "{}").ok());
    ASSERT_TRUE(store->put(Ns::flow, "f", "{}").ok());
    ::umask(saved);
    EXPECT_EQ(file_mode(dir.file("users.yml")), 0600u);
    EXPECT_EQ(file_mode(dir.file("users.flows.yml")), 0600u);
    EXPECT_EQ(file_mode(dir.file("users.yml.lock")), 0600u);
}

TEST(YamlStoreFiles, StaleTempFilesAreRemovedAtOpen) {
    TempDir dir;
    write_file(dir.file("users.yml"), "u:\n  user_id: \"u\"\n");
    write_file(dir.file("users.yml.tmp"), "half a fil");
    write_file(dir.file("users.flows.yml.tmp"), "");
    LogCapture log;
    auto store = open_yaml_or_fail(dir.file("users.yml"), &log);
    ASSERT_NE(store, nullptr);
    EXPECT_FALSE(file_exists(dir.file("users.yml.tmp")));
    EXPECT_FALSE(file_exists(dir.file("users.flows.yml.tmp")));
    EXPECT_TRUE(log.contains("removed temp file " + dir.file("users.yml.tmp")));
    std::string value;
    ASSERT_TRUE(store->get(Ns::user, "u", &value).ok());
    EXPECT_EQ(value, R"({"user_id":"u"})");
}

TEST(YamlStoreFiles, ASecondOpenOfTheSameFilesIsRefused) {
    TempDir dir;
    auto first = open_yaml_or_fail(dir.file("users.yml"));
    ASSERT_NE(first, nullptr);
    std::unique_ptr<Store> second;
    StoreStatus status = open_yaml(path_config(dir.file("users.yml")), &second);
    EXPECT_EQ(status.code, StoreCode::unavailable);
    EXPECT_NE(
        status.message.find("is in use by another tokend (lock " + dir.file("users.yml.lock")),
        std::string::npos)
        << status.message;

    // Another users file that shares the flows file is refused too.
    const std::string sharing =
        nlohmann::json{{"path", dir.file("other.yml")}, {"flows_path", dir.file("users.flows.yml")}}
            .dump();
    status = open_yaml(sharing, &second);
    EXPECT_EQ(status.code, StoreCode::unavailable) << status.describe();

    first.reset();
    EXPECT_TRUE(open_yaml(path_config(dir.file("users.yml")), &second).ok());
}

TEST(YamlStoreFiles, OnlyTheChangedFileIsRewritten) {
    TempDir dir;
    auto store = open_yaml_or_fail(dir.file("users.yml"));
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->put(Ns::user, "u", "{}").ok());
    ASSERT_TRUE(store->put(Ns::flow, "f", "{}").ok());
    const ino_t users = inode_of(dir.file("users.yml"));
    const ino_t flows = inode_of(dir.file("users.flows.yml"));
    ASSERT_TRUE(store->put(Ns::flow, "g", "{}").ok());
    EXPECT_EQ(inode_of(dir.file("users.yml")), users);
    EXPECT_NE(inode_of(dir.file("users.flows.yml")), flows);
    ASSERT_TRUE(store->put(Ns::user, "v", "{}").ok());
    EXPECT_NE(inode_of(dir.file("users.yml")), users);
    // Nothing to do, nothing written.
    const ino_t users_now = inode_of(dir.file("users.yml"));
    ASSERT_TRUE(store->del(Ns::user, "absent").ok());
    EXPECT_EQ(inode_of(dir.file("users.yml")), users_now);
}

TEST(YamlStoreFiles, AFailedWriteIsReportedAndUndoneInMemory) {
    TempDir dir;
    const std::string secret = "SECRET-ACCESS-TOKEN-5f2a";
    LogCapture log;
    auto store = open_yaml_or_fail(dir.file("users.yml"), &log);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->put(Ns::user, "kept", R"({"v":"before"})").ok());
    ASSERT_TRUE(store->put(Ns::user, "gone", R"({"v":"x"})").ok());
    const std::string before = read_file(dir.file("users.yml"));

    // A directory where the temp file goes makes the next commit fail (even for root).
    ASSERT_TRUE(std::filesystem::create_directory(dir.file("users.yml.tmp")));
    StoreStatus status = store->put(Ns::user, "kept", R"({"v":")" + secret + R"("})");
    EXPECT_EQ(status.code, StoreCode::unavailable);
    EXPECT_NE(status.message.find(dir.file("users.yml")), std::string::npos) << status.message;
    EXPECT_EQ(status.message.find(secret), std::string::npos);
    EXPECT_EQ(store->del(Ns::user, "gone").code, StoreCode::unavailable);
    std::string value;
    EXPECT_EQ(store->take(Ns::user, "gone", &value).code, StoreCode::unavailable);

    // Memory is back at the durable state, and the file did not change.
    ASSERT_TRUE(store->get(Ns::user, "kept", &value).ok());
    EXPECT_EQ(value, R"({"v":"before"})");
    EXPECT_TRUE(store->get(Ns::user, "gone", &value).ok());
    EXPECT_EQ(read_file(dir.file("users.yml")), before);
    // A commit rewrites every file that may differ from memory, so until the users
    // file can be written again, flow writes fail too (and are undone too).
    EXPECT_EQ(store->put(Ns::flow, "f", "{}").code, StoreCode::unavailable);
    EXPECT_TRUE(store->get(Ns::flow, "f", &value).not_found());
    EXPECT_TRUE(log.contains("cannot write users file"));
    for (const std::string& line : log.lines()) EXPECT_EQ(line.find(secret), std::string::npos);

    // Once the disk is usable again, writes go through.
    std::filesystem::remove(dir.file("users.yml.tmp"));
    ASSERT_TRUE(store->put(Ns::user, "new", R"({"v":"after"})").ok());
    store.reset();
    store = open_yaml_or_fail(dir.file("users.yml"));
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->get(Ns::user, "kept", &value).ok());
    EXPECT_EQ(value, R"({"v":"before"})");
    EXPECT_TRUE(store->get(Ns::user, "gone", &value).ok());
    EXPECT_TRUE(store->get(Ns::user, "new", &value).ok());
}

}  // namespace
}  // namespace tokend::yaml_test
