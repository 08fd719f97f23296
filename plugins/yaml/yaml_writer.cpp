#include "yaml_writer.h"

#include <yaml-cpp/binary.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <stdexcept>

namespace tokend::yaml_store {
namespace {

using nlohmann::ordered_json;

// YAML parsers refuse implicit keys longer than 1024 characters; longer ones are
// written in the explicit "? key" form.
constexpr size_t kMaxImplicitKey = 1000;

// Decodes one UTF-8 sequence at text[i]; returns its length, 0 when invalid.
size_t decode_utf8(std::string_view text, size_t i, uint32_t* code_point) {
    const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char lead = byte(i);
    size_t length = 0;
    uint32_t value = 0;
    uint32_t minimum = 0;
    if (lead < 0x80) {
        *code_point = lead;
        return 1;
    } else if ((lead & 0xe0) == 0xc0) {
        length = 2, value = lead & 0x1f, minimum = 0x80;
    } else if ((lead & 0xf0) == 0xe0) {
        length = 3, value = lead & 0x0f, minimum = 0x800;
    } else if ((lead & 0xf8) == 0xf0) {
        length = 4, value = lead & 0x07, minimum = 0x10000;
    } else {
        return 0;
    }
    if (i + length > text.size()) return 0;
    for (size_t k = 1; k < length; ++k) {
        if ((byte(i + k) & 0xc0) != 0x80) return 0;
        value = (value << 6) | (byte(i + k) & 0x3f);
    }
    if (value < minimum || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff)) return 0;
    *code_point = value;
    return length;
}

// Characters PyYAML accepts raw in a stream and that no YAML version reads as a line
// break; everything else is escaped.
bool printable_raw(uint32_t c) {
    if (c >= 0x20 && c <= 0x7e) return true;
    if (c >= 0xa0 && c <= 0xd7ff) return c != 0x2028 && c != 0x2029;
    if (c >= 0xe000 && c <= 0xfffd) return c != 0xfeff;
    return c >= 0x10000 && c <= 0x10ffff;
}

void append_escape(std::string& out, uint32_t c) {
    static constexpr char kHex[] = "0123456789abcdef";
    switch (c) {
        case '"': out += "\\\""; return;
        case '\\': out += "\\\\"; return;
        case '\t': out += "\\t"; return;
        case '\n': out += "\\n"; return;
        case '\r': out += "\\r"; return;
        default: break;
    }
    const int digits = c <= 0xff ? 2 : c <= 0xffff ? 4 : 8;
    out += digits == 2 ? "\\x" : digits == 4 ? "\\u" : "\\U";
    for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) out += kHex[(c >> shift) & 0xf];
}

// Words a YAML 1.1 reader (PyYAML) resolves to a bool or null when plain.
bool is_reserved_word(std::string_view word) {
    static constexpr std::array<std::string_view, 25> kWords = {
        "y",  "Y",    "n",    "N",    "yes",   "Yes",   "YES",   "no", "No",
        "NO", "true", "True", "TRUE", "false", "False", "FALSE", "on", "On",
        "ON", "off",  "Off",  "OFF",  "null",  "Null",  "NULL"};
    for (std::string_view reserved : kWords) {
        if (word == reserved) return true;
    }
    return false;
}

// Identifiers such as user_id or a Webex person id read back as the same string in
// every YAML version, so keys like these are written plain, as PyYAML writes them.
// Values are always quoted.
bool plain_key_ok(std::string_view key) {
    if (key.empty() || key.size() > 200 || is_reserved_word(key)) return false;
    const auto letter = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    };
    if (!letter(key[0])) return false;
    for (char c : key) {
        if (!letter(c) && !(c >= '0' && c <= '9')) return false;
    }
    return true;
}

std::string base64(std::string_view bytes) {
    return YAML::EncodeBase64(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

// A key as a scalar: plain, double-quoted, or !!binary for bytes that are not UTF-8.
std::string key_scalar(std::string_view key) {
    if (plain_key_ok(key)) return std::string(key);
    std::string scalar;
    if (is_valid_utf8(key)) {
        append_quoted(scalar, key);
    } else {
        scalar = "!!binary \"" + base64(key) + "\"";
    }
    return scalar;
}

void append_indent(std::string& out, int indent) { out.append(static_cast<size_t>(indent), ' '); }

// PyYAML resolves a float only with a dot and a signed exponent: "1.0e+20".
void append_float(std::string& out, double number) {
    if (!std::isfinite(number)) {
        out += "null";  // what JSON makes of it too
        return;
    }
    std::string text = ordered_json(number).dump();
    if (text.find('.') == std::string::npos) {
        const size_t exponent = text.find_first_of("eE");
        if (exponent == std::string::npos) {
            text += ".0";
        } else {
            text.insert(exponent, ".0");
        }
    }
    out += text;
}

void append_scalar(std::string& out, const ordered_json& value) {
    switch (value.type()) {
        case ordered_json::value_t::null: out += "null"; break;
        case ordered_json::value_t::boolean: out += value.get<bool>() ? "true" : "false"; break;
        case ordered_json::value_t::number_integer:
            out += std::to_string(value.get<int64_t>());
            break;
        case ordered_json::value_t::number_unsigned:
            out += std::to_string(value.get<uint64_t>());
            break;
        case ordered_json::value_t::number_float: append_float(out, value.get<double>()); break;
        case ordered_json::value_t::string:
            append_quoted(out, value.get_ref<const std::string&>());
            break;
        default:  // binary and discarded values never come out of the JSON parser
            throw std::invalid_argument("value cannot be written as YAML");
    }
}

void append_mapping(std::string& out, const ordered_json& object, int indent);
void append_sequence(std::string& out, const ordered_json& array, int indent);

// What follows "key:" or "-": a nested block, a flow-style empty collection or a scalar.
void append_node_after_indicator(std::string& out, const ordered_json& value, int indent) {
    if (value.is_object() && !value.empty()) {
        out += '\n';
        append_mapping(out, value, indent + 2);
    } else if (value.is_array() && !value.empty()) {
        out += '\n';
        append_sequence(out, value, indent + 2);
    } else {
        out += ' ';
        if (value.is_object()) {
            out += "{}";
        } else if (value.is_array()) {
            out += "[]";
        } else {
            append_scalar(out, value);
        }
        out += '\n';
    }
}

void append_mapping(std::string& out, const ordered_json& object, int indent) {
    for (const auto& [key, value] : object.items()) {
        append_key(out, key, indent);
        append_node_after_indicator(out, value, indent);
    }
}

void append_sequence(std::string& out, const ordered_json& array, int indent) {
    for (const ordered_json& item : array) {
        if (item.is_object() && !item.empty()) {
            // Compact "- key: value" form: the mapping's first line shares the dash's line.
            std::string nested;
            append_mapping(nested, item, indent + 2);
            if (nested.compare(static_cast<size_t>(indent + 2), 2, "? ") != 0) {
                append_indent(out, indent);
                out += "- ";
                out.append(nested, static_cast<size_t>(indent + 2));
                continue;
            }
            append_indent(out, indent);
            out += "-\n";
            out += nested;
            continue;
        }
        append_indent(out, indent);
        out += '-';
        append_node_after_indicator(out, item, indent);
    }
}

}  // namespace

// "key:" at indent, in the explicit "? key" form when the key is too long.
void append_key(std::string& out, std::string_view key, int indent) {
    const std::string scalar = key_scalar(key);
    append_indent(out, indent);
    if (scalar.size() > kMaxImplicitKey) {
        out += "? ";
        out += scalar;
        out += '\n';
        append_indent(out, indent);
        out += ':';
    } else {
        out += scalar;
        out += ':';
    }
}

bool is_valid_utf8(std::string_view text) {
    uint32_t code_point = 0;
    for (size_t i = 0; i < text.size();) {
        const size_t length = decode_utf8(text, i, &code_point);
        if (length == 0) return false;
        i += length;
    }
    return true;
}

void append_quoted(std::string& out, std::string_view text) {
    out += '"';
    uint32_t code_point = 0;
    for (size_t i = 0; i < text.size();) {
        const size_t length = decode_utf8(text, i, &code_point);
        if (length == 0) throw std::invalid_argument("string is not valid UTF-8");
        if (printable_raw(code_point) && code_point != '"' && code_point != '\\') {
            out.append(text, i, length);
        } else {
            append_escape(out, code_point);
        }
        i += length;
    }
    out += '"';
}

std::string emit_mapping_entry(std::string_view key, const nlohmann::ordered_json& object) {
    if (!object.is_object()) throw std::invalid_argument("entry value is not an object");
    std::string out;
    append_key(out, key, 0);
    append_node_after_indicator(out, object, 0);
    return out;
}

std::string emit_binary_entry(std::string_view key, std::string_view bytes) {
    std::string out;
    append_key(out, key, 0);
    out += " !!binary \"";
    out += base64(bytes);
    out += "\"\n";
    return out;
}

}  // namespace tokend::yaml_store
