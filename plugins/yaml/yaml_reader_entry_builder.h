// What the fast reader (yaml_reader_fast) makes of one entry's block mapping as it
// meets its nodes: either the entry's two texts written at once (EntryTextBuilder,
// the usual way: no JSON object is built), or a JSON object handed to
// make_mapping_entry (EntryTreeBuilder, for what the first does not write the same
// way by construction). Both give the Entry make_mapping_entry gives for the object
// yaml-cpp's reader builds.
#pragma once

#include "entry.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tokend::yaml_store {

// Receives an entry's nodes in file order. A call returning false means the builder
// cannot take what follows; the reader then reads the entry again with another.
class EntryBuilder {
public:
    virtual ~EntryBuilder() = default;
    // Starts the entry `key`, whose value is a non-empty block mapping.
    virtual void start(const std::string& key) = 0;
    // The next key of the innermost open mapping; its value follows.
    virtual bool key(std::string key) = 0;
    // The last key's value is a block mapping, whose keys follow until end_mapping.
    virtual void begin_mapping() = 0;
    virtual void end_mapping() = 0;
    // The last key's value as a scalar: plain (resolved as the core schema does),
    // quoted (always a string), or nothing (null).
    virtual bool plain(const std::string& text) = 0;
    virtual void quoted(const std::string& text) = 0;
    virtual void null() = 0;
    // {} or [].
    virtual void empty_mapping() = 0;
    virtual void empty_sequence() = 0;
    // The entry; nullptr when its object cannot be written back (never expected:
    // the reader passes only valid UTF-8).
    virtual EntryPtr finish() = 0;
};

// Writes the entry's compact JSON and its YAML text as make_mapping_entry would.
// Refuses a key given twice in one mapping (its first place keeps the last value)
// and floats (nlohmann's own shortest form): those entries go to EntryTreeBuilder.
// Reusable: start() begins the next entry with the buffers of the last.
class EntryTextBuilder final : public EntryBuilder {
public:
    void start(const std::string& key) override;
    bool key(std::string key) override;
    void begin_mapping() override;
    void end_mapping() override;
    bool plain(const std::string& text) override;
    void quoted(const std::string& text) override;
    void null() override;
    void empty_mapping() override;
    void empty_sequence() override;
    EntryPtr finish() override;

private:
    void scalar_text(std::string_view json, std::string_view yaml);
    // as_is: the text is printable ASCII without '"' or '\', which JSON and the
    // writer both quote as it is.
    void append_json_string(const std::string& text, bool as_is);

    std::string json_;
    std::string yaml_;
    int indent_ = 0;
    std::vector<std::string> keys_;    // of every open mapping, outermost first
    std::vector<size_t> level_start_;  // where each open mapping's keys begin in keys_
};

// Builds the entry's JSON object as yaml-cpp's reader does (a key given twice keeps
// its first place and its last value) and hands it to make_mapping_entry.
class EntryTreeBuilder final : public EntryBuilder {
public:
    void start(const std::string& key) override;
    bool key(std::string key) override;
    void begin_mapping() override;
    void end_mapping() override;
    bool plain(const std::string& text) override;
    void quoted(const std::string& text) override;
    void null() override;
    void empty_mapping() override;
    void empty_sequence() override;
    EntryPtr finish() override;

private:
    void set(nlohmann::ordered_json value);

    std::string entry_key_;
    nlohmann::ordered_json root_;
    std::vector<nlohmann::ordered_json*> open_;  // the innermost last
    std::string pending_key_;
};

}  // namespace tokend::yaml_store
