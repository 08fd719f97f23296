#include "app/link_key.h"

#include "app/random_source.h"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace tokend {
namespace {

constexpr size_t kGeneratedBytes = 32;

Secret read_key(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) throw std::runtime_error("cannot read the link key " + path + ": " + std::strerror(errno));
    std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    if (file.bad()) throw std::runtime_error("error while reading the link key " + path);
    if (!bytes.empty() && bytes.back() == '\n') bytes.pop_back();
    if (bytes.size() < kMinLinkKeyBytes) {
        throw std::runtime_error("the link key " + path + " is shorter than " + std::to_string(kMinLinkKeyBytes) +
                                 " bytes (make one with: openssl rand -hex 32 > " + path + ")");
    }
    return Secret(std::move(bytes));
}

std::string hex(const std::string& bytes) {
    static const char digits[] = "0123456789abcdef";
    std::string text;
    for (unsigned char c : bytes) {
        text.push_back(digits[c >> 4]);
        text.push_back(digits[c & 15]);
    }
    return text;
}

std::string directory_of(const std::string& path) {
    const size_t slash = path.rfind('/');
    return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

// Made once, whole or not at all: written and synced under a temporary name,
// then published with link(2), which fails with EEXIST if another process
// starting at the same time published first (both then read that one key).
// A crash leaves at most a stray temporary file, never a short key.
bool create_key(const std::string& path) {
    std::string temp = path + ".XXXXXX";
    const int fd = ::mkostemp(temp.data(), O_CLOEXEC);
    if (fd < 0) throw std::runtime_error("cannot create a file beside the link key " + path + ": " + std::strerror(errno));
    const std::string text = hex(random_bytes(kGeneratedBytes)) + "\n";
    const bool written = ::fchmod(fd, 0600) == 0 &&
                         ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                         ::fsync(fd) == 0;
    int saved = errno;
    ::close(fd);
    bool published = false;
    if (written) {
        published = ::link(temp.c_str(), path.c_str()) == 0;
        saved = errno;
    }
    ::unlink(temp.c_str());
    if (!written) throw std::runtime_error("cannot write the link key " + path + ": " + std::strerror(saved));
    if (!published) {
        if (saved == EEXIST) return false;
        throw std::runtime_error("cannot create the link key " + path + ": " + std::strerror(saved));
    }
    // The new name must survive a crash too.
    const int dir = ::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
        ::fsync(dir);
        ::close(dir);
    }
    return true;
}

}  // namespace

Secret load_link_key(const Config& config) {
    if (!config.links.key_file.empty()) return read_key(config.links.key_file);
    const std::string path = config.state_dir + "/link.key";
    if (create_key(path)) spdlog::info("made a new key for auth links: {} (mode 0600)", path);
    struct stat info {};
    if (::stat(path.c_str(), &info) == 0 && (info.st_mode & 077) != 0) {
        spdlog::warn("the link key {} can be read by others (mode {:o}); chmod 600 it", path, info.st_mode & 0777);
    }
    return read_key(path);
}

std::string check_link_key(const Config& config) {
    std::string path = config.links.key_file;
    if (path.empty()) {
        path = config.state_dir + "/link.key";
        struct stat info {};
        if (::stat(path.c_str(), &info) != 0 && errno == ENOENT) return {};
    }
    try {
        read_key(path);
    } catch (const std::exception& error) {
        return error.what();
    }
    return {};
}

}  // namespace tokend
