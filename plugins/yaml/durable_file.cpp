#include "durable_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>

namespace tokend::yaml_store {
namespace {

constexpr mode_t kPrivateMode = 0600;  // the files hold tokens

SysError fail(const char* step) { return SysError{errno != 0 ? errno : EIO, step}; }

// writev in batches of IOV_MAX, resuming after short writes.
SysError write_chunks(int fd, const std::vector<std::string_view>& chunks) {
    std::vector<iovec> batch;
    size_t index = 0;   // first chunk not fully written
    size_t offset = 0;  // bytes of chunks[index] already written
    while (index < chunks.size()) {
        batch.clear();
        for (size_t k = index; k < chunks.size() && batch.size() < IOV_MAX; ++k) {
            const size_t skip = k == index ? offset : 0;
            batch.push_back(
                iovec{const_cast<char*>(chunks[k].data() + skip), chunks[k].size() - skip});
        }
        const ssize_t written = ::writev(fd, batch.data(), static_cast<int>(batch.size()));
        if (written < 0) {
            if (errno == EINTR) continue;
            return fail("write temp file");
        }
        size_t left = static_cast<size_t>(written);
        bool progressed = false;
        while (index < chunks.size()) {
            const size_t pending = chunks[index].size() - offset;
            if (left < pending) {
                offset += left;
                progressed = progressed || left > 0;
                break;
            }
            left -= pending;
            ++index;
            offset = 0;
            progressed = true;
        }
        if (!progressed) return SysError{EIO, "write temp file (no progress)"};
    }
    return {};
}

}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = other.release();
    }
    return *this;
}

UniqueFd::~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
}

std::string SysError::describe() const { return std::string(step) + ": " + std::strerror(error); }

SysError read_whole_file(const std::string& path, std::string* text, bool* exists) {
    text->clear();
    *exists = false;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        if (errno == ENOENT) return {};
        return fail("open");
    }
    *exists = true;
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0) return fail("stat");
    if (!S_ISREG(info.st_mode)) return SysError{EINVAL, "open (not a regular file)"};
    text->reserve(static_cast<size_t>(info.st_size));
    char buffer[64 * 1024];
    for (;;) {
        const ssize_t got = ::read(fd.get(), buffer, sizeof buffer);
        if (got < 0) {
            if (errno == EINTR) continue;
            return fail("read");
        }
        if (got == 0) return {};
        text->append(buffer, static_cast<size_t>(got));
    }
}

SysError open_directory(const std::string& path, UniqueFd* out) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0) return fail("open directory");
    *out = std::move(fd);
    return {};
}

SysError lock_file(const std::string& lock_path, UniqueFd* out) {
    UniqueFd fd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, kPrivateMode));
    if (fd.get() < 0) return fail("open lock file");
    while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno != EINTR) return fail("lock");
    }
    *out = std::move(fd);
    return {};
}

SysError write_temp_file(const std::string& temp_path,
                         const std::vector<std::string_view>& chunks) {
    // A new inode every time: after a failed fdatasync the state of the old file's
    // pages is unknown (the kernel may have dropped them and reports the error only
    // once), so no attempt ever reuses a file, or an fsync result, of an earlier one.
    ::unlink(temp_path.c_str());  // normally absent: the last attempt removed or renamed it
    UniqueFd fd(::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                       kPrivateMode));
    if (fd.get() < 0) return fail("create temp file");
    SysError error;
    // fchmod: O_CREAT's mode is filtered by the umask, and an old file keeps its mode.
    if (::fchmod(fd.get(), kPrivateMode) != 0) error = fail("chmod temp file");
    if (!error) error = write_chunks(fd.get(), chunks);
    if (!error && ::fdatasync(fd.get()) != 0) error = fail("fsync temp file");
    if (!error && ::close(fd.release()) != 0) error = fail("close temp file");
    if (error) ::unlink(temp_path.c_str());
    return error;
}

SysError rename_file(const std::string& from, const std::string& to) {
    if (::rename(from.c_str(), to.c_str()) != 0) return fail("rename temp file");
    return {};
}

SysError sync_directory(int directory_fd) {
    if (::fsync(directory_fd) != 0) return fail("fsync directory");
    return {};
}

SysError remove_file(const std::string& path, bool* removed) {
    *removed = false;
    if (::unlink(path.c_str()) == 0) {
        *removed = true;
        return {};
    }
    if (errno == ENOENT) return {};
    return fail("remove");
}

std::string parent_directory(const std::string& path) {
    const std::filesystem::path parent = std::filesystem::path(path).parent_path();
    return parent.empty() ? std::string(".") : parent.string();
}

}  // namespace tokend::yaml_store
