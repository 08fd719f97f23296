// What the fuzz targets share: an invariant check that stops the run with a
// message (libFuzzer then saves the input as crash-*), and a tiny reader that
// splits one input into several fields.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

// Fails the run when `condition` is false: an invariant of the parser is broken.
#define FUZZ_CHECK(condition)                                                                     \
    do {                                                                                          \
        if (!(condition)) {                                                                       \
            std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #condition); \
            std::abort();                                                                         \
        }                                                                                         \
    } while (0)

namespace tokend::fuzz {

// The fuzzer's bytes as text.
inline std::string_view as_text(const uint8_t* data, size_t size) {
    return std::string_view(reinterpret_cast<const char*>(data), size);
}

// Splits an input at a separator line, so that a seed stays readable: the
// fields of "a\n----\nb" are "a" and "b". Missing fields are empty.
class Fields {
public:
    explicit Fields(std::string_view text, std::string_view separator = "\n----\n")
        : rest_(text), separator_(separator) {}

    std::string_view next() {
        const size_t at = rest_.find(separator_);
        std::string_view field = rest_.substr(0, at);
        rest_ = at == std::string_view::npos ? std::string_view() : rest_.substr(at + separator_.size());
        return field;
    }
    bool empty() const { return rest_.empty(); }

private:
    std::string_view rest_;
    std::string_view separator_;
};

}  // namespace tokend::fuzz
