#include "yaml_reader_scalars.h"

#include <yaml-cpp/binary.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <vector>

namespace tokend::yaml_store {
namespace {

bool all_digits(std::string_view text) {
    if (text.empty()) return false;
    for (char c : text) {
        if (c < '0' || c > '9') return false;
    }
    return true;
}

std::string_view without_sign(std::string_view text) {
    if (!text.empty() && (text[0] == '+' || text[0] == '-')) text.remove_prefix(1);
    return text;
}

// [-+]? ( .digits | digits ( . digits? )? ) ( [eE] [-+]? digits )?
bool looks_like_float(std::string_view text) {
    text = without_sign(text);
    const size_t exponent = text.find_first_of("eE");
    std::string_view mantissa = text.substr(0, exponent);
    if (exponent != std::string_view::npos &&
        !all_digits(without_sign(text.substr(exponent + 1)))) {
        return false;
    }
    const size_t dot = mantissa.find('.');
    if (dot == std::string_view::npos) return all_digits(mantissa);
    const std::string_view whole = mantissa.substr(0, dot);
    const std::string_view fraction = mantissa.substr(dot + 1);
    if (whole.empty()) return all_digits(fraction);
    return all_digits(whole) && (fraction.empty() || all_digits(fraction));
}

}  // namespace

nlohmann::ordered_json resolve_plain(const std::string& text) {
    if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
        return nullptr;
    }
    if (text == "true" || text == "True" || text == "TRUE") return true;
    if (text == "false" || text == "False" || text == "FALSE") return false;
    const std::string_view digits = without_sign(text);
    const char* first = text.data() + (text[0] == '+' ? 1 : 0);
    const char* last = text.data() + text.size();
    if (all_digits(digits)) {
        int64_t signed_value = 0;
        auto [end, error] = std::from_chars(first, last, signed_value);
        if (error == std::errc() && end == last) return signed_value;
        uint64_t unsigned_value = 0;
        auto [uend, uerror] = std::from_chars(first, last, unsigned_value);
        if (uerror == std::errc() && uend == last) return unsigned_value;
    }
    if (looks_like_float(text)) {
        double value = 0;
        auto [end, error] = std::from_chars(first, last, value);
        if (error == std::errc() && end == last && std::isfinite(value)) return value;
    }
    return text;
}

// yaml-cpp 0.7's DecodeBase64 looks each character up in a 256-entry table by its
// value as an unsigned int, so a byte of 0x80 or more (a negative char) reads
// gigabytes past the table: tokend crashed (SIGSEGV) reading such a file at every
// start. Only ASCII reaches it here (fuzz/yaml_reader_fuzzer.cpp found it).
std::optional<std::string> decode_base64(const std::string& text) {
    for (const char c : text) {
        if (static_cast<unsigned char>(c) >= 0x80) return std::nullopt;
    }
    const std::vector<unsigned char> bytes = YAML::DecodeBase64(text);
    if (bytes.empty() && text.find_first_not_of(" \t\r\n") != std::string::npos) return std::nullopt;
    return std::string(bytes.begin(), bytes.end());
}

}  // namespace tokend::yaml_store
