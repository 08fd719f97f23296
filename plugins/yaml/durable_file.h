// POSIX file work of the yaml store: whole-file reads, the instance lock, and
// crash-safe replacement (temp file, fsync, rename, fsync of the directory).
// Functions report failures as an errno value plus the step that failed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tokend::yaml_store {

// An owned file descriptor, closed on destruction.
class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept;
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd();

    int get() const { return fd_; }
    int release() {
        const int fd = fd_;
        fd_ = -1;
        return fd;
    }

private:
    int fd_ = -1;
};

// A failed system call: errno and what we were doing ("fsync temp file").
struct SysError {
    int error = 0;
    const char* step = "";

    explicit operator bool() const { return error != 0; }
    std::string describe() const;  // "fsync temp file: No space left on device"
};

// Reads the whole file. A missing file is not an error: *exists becomes false.
SysError read_whole_file(const std::string& path, std::string* text, bool* exists);

// Opens a directory for fsync.
SysError open_directory(const std::string& path, UniqueFd* out);

// Creates (mode 0600) and locks lock_path with a non-blocking exclusive flock. The
// lock lives as long as *out. EWOULDBLOCK means another holder has it.
SysError lock_file(const std::string& lock_path, UniqueFd* out);

// Writes chunks to a new temp_path (any old file there is unlinked first; created
// with mode 0600 whatever the umask) and fdatasyncs it. On failure the temp file is
// removed; it is never written or synced again.
SysError write_temp_file(const std::string& temp_path, const std::vector<std::string_view>& chunks);

// rename(2), then the caller fsyncs the directory with sync_directory.
SysError rename_file(const std::string& from, const std::string& to);
SysError sync_directory(int directory_fd);

// Removes a file; *removed tells whether there was one.
SysError remove_file(const std::string& path, bool* removed);

// The directory part of a path ("." for a bare file name).
std::string parent_directory(const std::string& path);

}  // namespace tokend::yaml_store
