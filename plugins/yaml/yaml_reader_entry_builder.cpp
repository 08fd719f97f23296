#include "yaml_reader_entry_builder.h"

#include "yaml_reader_scalars.h"
#include "yaml_writer.h"

#include <memory>
#include <stdexcept>
#include <utility>

namespace tokend::yaml_store {
namespace {

using nlohmann::ordered_json;

// Printable ASCII but '"' and '\': text that both JSON and tokend's YAML quote as
// it is. Any other string takes nlohmann's and the writer's own escaping.
bool quotes_as_is(std::string_view text) {
    for (const char c : text) {
        if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return false;
    }
    return true;
}

}  // namespace

void EntryTextBuilder::start(const std::string& key) {
    json_.assign(1, '{');
    yaml_.clear();
    append_key(yaml_, key, 0);
    yaml_ += '\n';
    indent_ = 2;
    keys_.clear();
    level_start_.assign(1, 0);
}

void EntryTextBuilder::append_json_string(const std::string& text, bool as_is) {
    if (as_is) {
        json_ += '"';
        json_ += text;
        json_ += '"';
    } else {
        json_ += ordered_json(text).dump();
    }
}

bool EntryTextBuilder::key(std::string key) {
    const size_t first = level_start_.back();
    for (size_t i = first; i < keys_.size(); ++i) {
        if (keys_[i] == key) return false;
    }
    if (keys_.size() > first) json_ += ',';
    append_json_string(key, quotes_as_is(key));
    json_ += ':';
    append_key(yaml_, key, indent_);
    keys_.push_back(std::move(key));
    return true;
}

void EntryTextBuilder::begin_mapping() {
    json_ += '{';
    yaml_ += '\n';
    indent_ += 2;
    level_start_.push_back(keys_.size());
}

void EntryTextBuilder::end_mapping() {
    json_ += '}';
    indent_ -= 2;
    keys_.resize(level_start_.back());
    level_start_.pop_back();
}

void EntryTextBuilder::scalar_text(std::string_view json, std::string_view yaml) {
    json_ += json;
    yaml_ += ' ';
    yaml_ += yaml;
    yaml_ += '\n';
}

bool EntryTextBuilder::plain(const std::string& text) {
    const ordered_json value = resolve_plain(text);
    if (value.is_string()) {
        quoted(text);
        return true;
    }
    if (value.is_number_float()) return false;
    // null, true, false or an integer: JSON and the writer spell them alike.
    const std::string spelled = value.dump();
    scalar_text(spelled, spelled);
    return true;
}

void EntryTextBuilder::quoted(const std::string& text) {
    const bool as_is = quotes_as_is(text);
    append_json_string(text, as_is);
    yaml_ += ' ';
    if (as_is) {
        yaml_ += '"';
        yaml_ += text;
        yaml_ += '"';
    } else {
        append_quoted(yaml_, text);
    }
    yaml_ += '\n';
}

void EntryTextBuilder::null() { scalar_text("null", "null"); }
void EntryTextBuilder::empty_mapping() { scalar_text("{}", "{}"); }
void EntryTextBuilder::empty_sequence() { scalar_text("[]", "[]"); }

EntryPtr EntryTextBuilder::finish() {
    json_ += '}';
    auto entry = std::make_shared<Entry>();
    entry->value = json_;
    entry->yaml = yaml_;
    return entry;
}

void EntryTreeBuilder::start(const std::string& key) {
    entry_key_ = key;
    root_ = ordered_json::object();
    open_.assign(1, &root_);
}

bool EntryTreeBuilder::key(std::string key) {
    pending_key_ = std::move(key);
    return true;
}

void EntryTreeBuilder::set(ordered_json value) { (*open_.back())[pending_key_] = std::move(value); }

void EntryTreeBuilder::begin_mapping() {
    // Only the innermost mapping grows, so the pointers to the outer ones stay valid.
    ordered_json& nested = (*open_.back())[pending_key_];
    nested = ordered_json::object();
    open_.push_back(&nested);
}

void EntryTreeBuilder::end_mapping() { open_.pop_back(); }

bool EntryTreeBuilder::plain(const std::string& text) {
    set(resolve_plain(text));
    return true;
}

void EntryTreeBuilder::quoted(const std::string& text) { set(text); }
void EntryTreeBuilder::null() { set(nullptr); }
void EntryTreeBuilder::empty_mapping() { set(ordered_json::object()); }
void EntryTreeBuilder::empty_sequence() { set(ordered_json::array()); }

EntryPtr EntryTreeBuilder::finish() {
    try {
        return make_mapping_entry(entry_key_, root_);
    } catch (const std::exception&) {
        return nullptr;
    }
}

}  // namespace tokend::yaml_store
