// The yaml store: users and pending flows in two YAML files, served from memory and
// written back with durable, atomic, group-committed rewrites. Thread-safe.
#pragma once

#include "durable_file.h"
#include "entry.h"
#include "group_commit.h"
#include "namespace_state.h"
#include "options.h"
#include "status.h"

#include <array>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tokend::yaml_store {

class YamlStore final : private GroupCommit::Committer {
public:
    using Log = std::function<void(tokend_log_level level, const std::string& message)>;
    // Returns false to stop listing.
    using KeyVisitor = std::function<bool(std::string_view key)>;
    using EntryVisitor = std::function<bool(std::string_view key, const Entry& entry)>;

    // Locks both files against other instances, removes temp files a crash left and
    // loads the files. Writes nothing: a file that cannot be parsed stays as it is.
    static Status open(const Options& options, Log log, std::unique_ptr<YamlStore>* out);
    // Retries a commit that failed, if memory and files may differ, then unlocks.
    ~YamlStore();

    YamlStore(const YamlStore&) = delete;
    YamlStore& operator=(const YamlStore&) = delete;

    // Reads are served from memory. They see a change as soon as its writer applied it,
    // possibly before it is durable (and, if its commit then fails, it is rolled back).
    Status get(tokend_namespace ns, std::string_view key, EntryPtr* found);
    // put, del and take return once the change is on disk (or TOKEND_UNAVAILABLE when
    // writing failed; the change is then undone in memory).
    Status put(tokend_namespace ns, std::string_view key, std::string_view value);
    // put() only if key holds exactly `expected`, compared and applied under the
    // one mutex every writer takes. TOKEND_NOT_FOUND when absent; TOKEND_CONFLICT
    // with *current set when it holds other bytes. Nothing written then.
    Status put_if_equal(tokend_namespace ns, std::string_view key, std::string_view expected,
                        std::string_view value, EntryPtr* current);
    Status del(tokend_namespace ns, std::string_view key);
    Status take(tokend_namespace ns, std::string_view key, EntryPtr* taken);
    // Whether a take would surely find nothing now without waiting: absent,
    // and no change of this file still being written (a failed write may
    // bring a taken entry back). Never waits for the disk.
    bool absent_now(tokend_namespace ns, std::string_view key);
    // Keys in byte order after cursor; the cursor is "k" + the last key given, so an
    // empty key can be a cursor too. *next_cursor stays empty when the listing is done.
    Status list(tokend_namespace ns, std::string_view cursor, uint32_t limit,
                const KeyVisitor& visit, std::string* next_cursor);
    // list() with each key's entry, as it was when the page was read from memory.
    Status list_entries(tokend_namespace ns, std::string_view cursor, uint32_t limit,
                        const EntryVisitor& visit, std::string* next_cursor);

private:
    struct File {
        const char* label = "";   // "users" or "flows", for messages
        const char* header = "";  // comment line at the top of the file
        std::string path, temp_path, lock_path;
        UniqueFd lock;
        UniqueFd directory;
        NamespaceState state;
        std::optional<std::vector<EntryPtr>> snapshot;  // the leader's, during a commit
    };

    explicit YamlStore(Log log);
    Status open_file(File& file, const std::string& configured_path);
    File& file_for(tokend_namespace ns) { return files_[ns == TOKEND_NS_FLOW ? 1 : 0]; }
    Status write_failure(const File& file, const SysError& error) const;

    void begin_commit() override;
    Status write_commit() noexcept override;
    void end_commit(const Status& outcome) noexcept override;

    Log log_;
    std::mutex mutex_;             // guards both files' state and the group commit
    std::array<File, 2> files_;    // users, flows
    bool same_directory_ = false;  // one directory fsync covers both files
    bool last_commit_failed_ = false;  // the files may differ from memory until a commit succeeds
    GroupCommit commit_{*this};
};

}  // namespace tokend::yaml_store
