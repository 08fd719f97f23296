#include "app/secret_loader.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace tokend {
namespace {

std::string read_file(const std::string& path, const std::string& what) {
    std::ifstream file(path, std::ios::binary);
    if (!file) throw std::system_error(errno, std::generic_category(), what + ": cannot read " + path);
    std::ostringstream text;
    text << file.rdbuf();
    std::string value = text.str();
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
    if (value.empty()) throw std::runtime_error(what + ": " + path + " is empty");
    return value;
}

}  // namespace

Secret load_secret(const SecretSource& source, const std::string& what) {
    if (!source.file.empty()) return Secret(read_file(source.file, what));
    if (!source.env.empty()) {
        const char* value = std::getenv(source.env.c_str());
        if (value == nullptr || *value == '\0') {
            throw std::runtime_error(what + ": environment variable " + source.env + " is not set");
        }
        return Secret(value);
    }
    if (const char* dir = std::getenv("CREDENTIALS_DIRECTORY"); dir != nullptr && !source.credential_name.empty()) {
        const std::string path = std::string(dir) + "/" + source.credential_name;
        if (std::filesystem::exists(path)) return Secret(read_file(path, what));
    }
    return Secret();
}

}  // namespace tokend
