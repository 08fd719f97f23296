#include "yaml_store.h"

#include "yaml_reader.h"

#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <new>

namespace tokend::yaml_store {
namespace {

constexpr char kUsersHeader[] =
    "# tokend users: user id -> user context. Rewritten atomically by tokend;\n"
    "# edit only while tokend is stopped.\n";
constexpr char kFlowsHeader[] =
    "# tokend pending OAuth flows: flow id -> flow state. Rewritten atomically by tokend.\n";
constexpr char kEmptyMapping[] = "{}\n";  // PyYAML reads an empty file as None, not {}

// Open-time errors: a wrong path is the operator's to fix; anything else may pass.
tokend_status setup_status(int error) {
    switch (error) {
        case ENOENT:
        case ENOTDIR:
        case EACCES:
        case EPERM:
        case ELOOP:
        case ENAMETOOLONG:
        case EROFS: return TOKEND_INVALID;
        default: return TOKEND_UNAVAILABLE;
    }
}

}  // namespace

YamlStore::YamlStore(Log log) : log_(std::move(log)) {
    files_[0].label = "users";
    files_[0].header = kUsersHeader;
    files_[1].label = "flows";
    files_[1].header = kFlowsHeader;
}

Status YamlStore::open(const Options& options, Log log, std::unique_ptr<YamlStore>* out) {
    std::unique_ptr<YamlStore> store(new YamlStore(std::move(log)));
    Status status = store->open_file(store->files_[0], options.path);
    if (status.ok()) status = store->open_file(store->files_[1], options.flows_path);
    if (!status.ok()) return status;

    struct stat users_dir {
    }, flows_dir{};
    store->same_directory_ = ::fstat(store->files_[0].directory.get(), &users_dir) == 0 &&
                             ::fstat(store->files_[1].directory.get(), &flows_dir) == 0 &&
                             users_dir.st_dev == flows_dir.st_dev &&
                             users_dir.st_ino == flows_dir.st_ino;
    if (store->log_) {
        store->log_(TOKEND_LOG_DEBUG, "yaml store: loaded " +
                                         std::to_string(store->files_[0].state.size()) +
                                         " users from " + store->files_[0].path + " and " +
                                         std::to_string(store->files_[1].state.size()) +
                                         " pending flows from " + store->files_[1].path);
    }
    *out = std::move(store);
    return Status::success();
}

Status YamlStore::open_file(File& file, const std::string& configured_path) {
    // Absolute, so that a later chdir of the process cannot move the files.
    std::error_code error_code;
    const std::string path = std::filesystem::absolute(configured_path, error_code).string();
    if (error_code) {
        return Status::error(TOKEND_INVALID, "cannot resolve " + std::string(file.label) +
                                                 " file path " + configured_path + ": " +
                                                 error_code.message());
    }
    file.path = path;
    file.temp_path = path + ".tmp";
    file.lock_path = path + ".lock";
    const std::string what = std::string(file.label) + " file " + path;

    // The lock first: only its holder may remove temp files or write.
    if (SysError error = lock_file(file.lock_path, &file.lock)) {
        if (error.error == EWOULDBLOCK) {
            return Status::error(TOKEND_UNAVAILABLE, what + " is in use by another tokend (lock " +
                                                         file.lock_path + ")");
        }
        return Status::error(setup_status(error.error),
                             what + ": cannot lock " + file.lock_path + ": " + error.describe());
    }
    const std::string directory = parent_directory(path);
    if (SysError error = open_directory(directory, &file.directory)) {
        return Status::error(setup_status(error.error), what + ": " + error.describe());
    }

    bool removed = false;
    if (SysError error = remove_file(file.temp_path, &removed)) {
        if (log_) {
            log_(TOKEND_LOG_WARN, "yaml store: cannot remove stale temp file " + file.temp_path +
                                      ": " + error.describe());
        }
    } else if (removed && log_) {
        log_(TOKEND_LOG_INFO, "yaml store: removed temp file " + file.temp_path +
                                  " left by an interrupted write; " + path + " is intact");
    }

    std::string text;
    bool exists = false;
    if (SysError error = read_whole_file(path, &text, &exists)) {
        return Status::error(TOKEND_CORRUPT, "cannot read " + what + ": " + error.describe());
    }
    try {
        for (auto& [key, entry] : parse_store_file(text, path)) {
            file.state.load(std::move(key), std::move(entry));
        }
    } catch (const CorruptFile& error) {
        return Status::error(TOKEND_CORRUPT, std::string(file.label) + " file " + error.what());
    }

    struct stat info {};
    if (exists && log_ && ::stat(path.c_str(), &info) == 0 && (info.st_mode & 077) != 0) {
        log_(TOKEND_LOG_WARN,
             "yaml store: " + what + " is readable by other users; its next rewrite makes it 0600");
    }
    return Status::success();
}

YamlStore::~YamlStore() {
    try {
        std::unique_lock<std::mutex> lock(mutex_);
        if (files_[0].state.unsettled() || files_[1].state.unsettled()) {
            // Only after a failed commit: the files may hold changes memory rolled back.
            const Status status = commit_.wait_durable(lock, commit_.last_change());
            if (log_) {
                log_(status.ok() ? TOKEND_LOG_INFO : TOKEND_LOG_ERROR,
                     status.ok() ? "yaml store: rewrote the files after an earlier failed write"
                                 : "yaml store: final rewrite failed: " + status.message);
            }
        }
    } catch (...) {
        // close() never fails; what was acknowledged is on disk already.
    }
}

Status YamlStore::get(tokend_namespace ns, std::string_view key, EntryPtr* found) {
    std::lock_guard<std::mutex> hold(mutex_);
    *found = file_for(ns).state.find(key);
    return *found ? Status::success() : Status{TOKEND_NOT_FOUND, {}};
}

Status YamlStore::put(tokend_namespace ns, std::string_view key, std::string_view value) {
    EntryPtr entry = make_entry(key, value);  // parse and emit outside the lock
    std::unique_lock<std::mutex> lock(mutex_);
    file_for(ns).state.put(key, std::move(entry));
    return commit_.wait_durable(lock, commit_.note_change());
}

Status YamlStore::put_if_equal(tokend_namespace ns, std::string_view key, std::string_view expected,
                               std::string_view value, EntryPtr* current) {
    EntryPtr entry = make_entry(key, value);  // parse and emit outside the lock
    std::unique_lock<std::mutex> lock(mutex_);
    NamespaceState& state = file_for(ns).state;
    EntryPtr found = state.find(key);
    if (!found) return Status{TOKEND_NOT_FOUND, {}};
    if (found->value != expected) {
        *current = std::move(found);
        return Status::error(TOKEND_CONFLICT, "the stored value changed");
    }
    state.put(key, std::move(entry));
    return commit_.wait_durable(lock, commit_.note_change());
}

Status YamlStore::del(tokend_namespace ns, std::string_view key) {
    std::unique_lock<std::mutex> lock(mutex_);
    NamespaceState& state = file_for(ns).state;
    if (state.erase(key)) return commit_.wait_durable(lock, commit_.note_change());
    // Absent in memory, but maybe only because a deletion is still being written.
    if (!state.unsettled()) return Status::success();
    return commit_.wait_durable(lock, commit_.last_change());
}

Status YamlStore::take(tokend_namespace ns, std::string_view key, EntryPtr* taken) {
    std::unique_lock<std::mutex> lock(mutex_);
    NamespaceState& state = file_for(ns).state;
    // Removing under the mutex is what makes take atomic: a concurrent take finds nothing.
    EntryPtr entry = state.erase(key);
    if (!entry) {
        if (!state.unsettled()) return Status{TOKEND_NOT_FOUND, {}};
        const Status status = commit_.wait_durable(lock, commit_.last_change());
        return status.ok() ? Status{TOKEND_NOT_FOUND, {}} : status;
    }
    const Status status = commit_.wait_durable(lock, commit_.note_change());
    if (status.ok()) *taken = std::move(entry);
    return status;
}

bool YamlStore::absent_now(tokend_namespace ns, std::string_view key) {
    std::lock_guard<std::mutex> hold(mutex_);
    const NamespaceState& state = file_for(ns).state;
    return !state.unsettled() && !state.find(key);
}

Status YamlStore::list(tokend_namespace ns, std::string_view cursor, uint32_t limit,
                       const KeyVisitor& visit, std::string* next_cursor) {
    return list_entries(
        ns, cursor, limit, [&](std::string_view key, const Entry&) { return visit(key); }, next_cursor);
}

Status YamlStore::list_entries(tokend_namespace ns, std::string_view cursor, uint32_t limit,
                               const EntryVisitor& visit, std::string* next_cursor) {
    next_cursor->clear();
    if (limit == 0) return Status::error(TOKEND_INVALID, "list limit must be at least 1");
    std::optional<std::string_view> after;
    if (!cursor.empty()) {
        if (cursor[0] != 'k') return Status::error(TOKEND_INVALID, "malformed list cursor");
        after = cursor.substr(1);
    }
    bool more = false;
    // Entries are immutable and shared: the page holds them without copying values,
    // and the host is called outside the mutex.
    std::vector<std::pair<std::string, EntryPtr>> page;
    {
        std::lock_guard<std::mutex> hold(mutex_);
        page = file_for(ns).state.entries_after(after, limit, &more);
    }
    for (size_t i = 0; i < page.size(); ++i) {
        if (!visit(page[i].first, *page[i].second)) {
            more = more || i + 1 < page.size();
            page.resize(i + 1);
            break;
        }
    }
    if (more && !page.empty()) *next_cursor = "k" + page.back().first;
    return Status::success();
}

void YamlStore::begin_commit() {
    for (File& file : files_) file.snapshot = file.state.begin_commit();
}

Status YamlStore::write_failure(const File& file, const SysError& error) const {
    return Status::error(TOKEND_UNAVAILABLE, std::string("cannot write ") + file.label + " file " +
                                                 file.path + ": " + error.describe());
}

Status YamlStore::write_commit() noexcept {
    Status outcome;
    try {
        // Every changed file goes to its temp file first, then all renames: a failure
        // while writing leaves every file as it was.
        std::vector<File*> written;
        for (File& file : files_) {
            if (!file.snapshot) continue;
            std::vector<std::string_view> chunks;
            chunks.reserve(file.snapshot->size() + 2);
            chunks.emplace_back(file.header);
            if (file.snapshot->empty()) chunks.emplace_back(kEmptyMapping);
            for (const EntryPtr& entry : *file.snapshot) chunks.emplace_back(entry->yaml);
            if (SysError error = write_temp_file(file.temp_path, chunks)) {
                outcome = write_failure(file, error);
                break;
            }
            written.push_back(&file);
        }
        if (!outcome.ok()) {
            for (File* file : written) {
                bool removed = false;
                remove_file(file->temp_path, &removed);
            }
        }
        for (size_t i = 0; outcome.ok() && i < written.size(); ++i) {
            if (SysError error = rename_file(written[i]->temp_path, written[i]->path)) {
                outcome = write_failure(*written[i], error);
            }
        }
        for (size_t i = 0; outcome.ok() && i < written.size(); ++i) {
            if (i > 0 && same_directory_) break;
            if (SysError error = sync_directory(written[i]->directory.get())) {
                outcome = write_failure(*written[i], error);
            }
        }
    } catch (const std::bad_alloc&) {
        outcome = Status::error(TOKEND_UNAVAILABLE, "out of memory while writing the yaml store");
    } catch (...) {
        outcome =
            Status::error(TOKEND_UNAVAILABLE, "unexpected error while writing the yaml store");
    }
    // Drop the captured entries here, without the mutex.
    for (File& file : files_) file.snapshot.reset();
    return outcome;
}

void YamlStore::end_commit(const Status& outcome) noexcept {
    // A failed commit is not retried: memory goes back to the last durable state and
    // every writer not yet answered gets TOKEND_UNAVAILABLE, so nobody is told a change
    // is stored that is not. The files stay marked dirty, so the next commit (or close)
    // rewrites them even if a rename went through before the failure.
    // The group commit then rewrites the files from memory at once (GroupCommit::lead).
    for (File& file : files_) {
        if (outcome.ok()) {
            file.state.commit_succeeded();
        } else {
            file.state.commit_failed();
        }
    }
    const bool recovered = outcome.ok() && last_commit_failed_;
    last_commit_failed_ = !outcome.ok();
    if (!log_ || (outcome.ok() && !recovered)) return;
    try {
        if (recovered) {
            log_(TOKEND_LOG_INFO,
                 "yaml store: the files were rewritten from memory after a failed write; "
                 "they hold exactly what was acknowledged");
        } else {
            log_(TOKEND_LOG_ERROR, "yaml store: " + outcome.message +
                                       "; changes not yet on disk were undone and their "
                                       "writers told to retry");
        }
    } catch (...) {
    }
}

}  // namespace tokend::yaml_store
