#include "app/random_source.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace tokend {

std::string random_bytes(size_t count) {
    std::string bytes(count, '\0');
    size_t filled = 0;
    while (filled < count) {
        const ssize_t got = ::getrandom(bytes.data() + filled, count - filled, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            throw std::runtime_error(std::string("getrandom failed: ") + std::strerror(errno));
        }
        filled += static_cast<size_t>(got);
    }
    return bytes;
}

double random_fraction() {
    uint64_t value = 0;
    const std::string bytes = random_bytes(sizeof value);
    std::memcpy(&value, bytes.data(), sizeof value);
    return static_cast<double>(value >> 11) * 0x1.0p-53;
}

}  // namespace tokend
