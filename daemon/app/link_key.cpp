#include "app/link_key.h"

#include "app/random_source.h"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
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

// Made once: O_EXCL, so that two processes starting at once agree on one key.
bool create_key(const std::string& path) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST) return false;
        throw std::runtime_error("cannot create the link key " + path + ": " + std::strerror(errno));
    }
    const std::string text = hex(random_bytes(kGeneratedBytes)) + "\n";
    const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
    const int saved = errno;
    ::close(fd);
    if (!written) {
        ::unlink(path.c_str());
        throw std::runtime_error("cannot write the link key " + path + ": " + std::strerror(saved));
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

}  // namespace tokend
