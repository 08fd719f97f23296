// The reference reader: yaml-cpp builds the document's node tree, which is then
// turned into entries. It takes any YAML and says where a file is wrong, but costs
// about 100 us a Webex-sized user; parse_store_file (yaml_reader.cpp) uses it only
// for files the fast reader (yaml_reader_fast) declines.
#include "yaml_reader.h"
#include "yaml_reader_scalars.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <optional>
#include <sstream>

namespace tokend::yaml_store {
namespace {

using nlohmann::ordered_json;

const std::string kCoreTag = "tag:yaml.org,2002:";

std::string position(const std::string& file, const YAML::Mark& mark) {
    if (mark.is_null()) return file;
    return file + ": line " + std::to_string(mark.line + 1);
}

[[noreturn]] void corrupt(const std::string& file, const YAML::Mark& mark,
                          const std::string& what) {
    throw CorruptFile(position(file, mark) + ": " + what);
}

ordered_json to_json(const YAML::Node& node, const std::string& file);

ordered_json scalar_to_json(const YAML::Node& node, const std::string& file) {
    const std::string& tag = node.Tag();
    const std::string& text = node.Scalar();
    if (tag == "?") return resolve_plain(text);
    // "!" marks a quoted or block scalar: always a string.
    if (tag == "!" || tag == kCoreTag + "str" || tag == kCoreTag + "timestamp") return text;
    if (tag == kCoreTag + "null") return nullptr;
    if (tag == kCoreTag + "bool" || tag == kCoreTag + "int" || tag == kCoreTag + "float") {
        return resolve_plain(text);
    }
    corrupt(file, node.Mark(), "unsupported tag " + tag.substr(0, 64) + " inside an entry");
}

ordered_json to_json(const YAML::Node& node, const std::string& file) {
    const std::string& tag = node.Tag();
    switch (node.Type()) {
        case YAML::NodeType::Null:
            return tag == "!" || tag == kCoreTag + "str" ? ordered_json("") : ordered_json();
        case YAML::NodeType::Scalar: return scalar_to_json(node, file);
        case YAML::NodeType::Sequence: {
            if (tag != "?" && tag != "!" && tag != "" && tag != kCoreTag + "seq") break;
            ordered_json array = ordered_json::array();
            for (const YAML::Node& item : node) array.push_back(to_json(item, file));
            return array;
        }
        case YAML::NodeType::Map: {
            if (tag != "?" && tag != "!" && tag != "" && tag != kCoreTag + "map") break;
            ordered_json object = ordered_json::object();
            for (const auto& pair : node) {
                if (!pair.first.IsScalar() || pair.first.Tag() == kCoreTag + "binary") {
                    corrupt(file, pair.first.Mark(),
                            "a mapping key inside an entry is not a string");
                }
                object[pair.first.Scalar()] = to_json(pair.second, file);  // last one wins
            }
            return object;
        }
        case YAML::NodeType::Undefined: break;
    }
    corrupt(file, node.Mark(), "unsupported node " + tag.substr(0, 64) + " inside an entry");
}

std::string entry_key(const YAML::Node& key, const std::string& file) {
    if (!key.IsScalar()) corrupt(file, key.Mark(), "an entry key is not a string");
    if (key.Tag() != kCoreTag + "binary") return key.Scalar();
    std::optional<std::string> bytes = decode_base64(key.Scalar());
    if (!bytes) corrupt(file, key.Mark(), "an entry key is not valid base64");
    return std::move(*bytes);
}

EntryPtr entry_value(const std::string& key, const YAML::Node& value, const YAML::Mark& key_mark,
                     const std::string& file) {
    // An empty value's mark points past it; the key's line is where the entry is.
    const YAML::Mark mark = value.IsNull() || value.Mark().is_null() ? key_mark : value.Mark();
    try {
        if (value.IsMap()) return make_mapping_entry(key, to_json(value, file));
        if (value.IsScalar() && value.Tag() == kCoreTag + "binary") {
            const std::optional<std::string> bytes = decode_base64(value.Scalar());
            if (!bytes) corrupt(file, mark, "an entry's !!binary value is not valid base64");
            return make_binary_entry(key, *bytes);
        }
    } catch (const nlohmann::json::exception&) {
        corrupt(file, mark, "an entry holds text that is not valid UTF-8");
    } catch (const std::invalid_argument&) {
        corrupt(file, mark, "an entry holds text that is not valid UTF-8");
    }
    corrupt(file, mark, "an entry is not a mapping (nor !!binary)");
}

// Counts a text's documents, reading events only, notes where the second
// one's first node is, and stops at the first alias (*name). Not YAML::LoadAll: on a stray ',' at the top level (",",
// "[a],") yaml-cpp 0.7's parser hands out an empty document again and again
// without moving on, and LoadAll collected them until memory ran out -- tokend
// hung at start, growing (found by fuzz/yaml_reader_fuzzer.cpp). Stopping at
// the second document makes any such text "more than one document".
// Aliases: neither tokend nor the Python bot (yaml.safe_dump of fresh dicts)
// writes them, so a store file holding one was made by hand or by someone
// else: refused, like any other entry tokend cannot read, before any node is
// built (an "&a [*b, *b, ...]" chain of 11 levels in 429 bytes expanded to
// 428 MB). Anchors alone are harmless.
class DocumentCounter final : public YAML::EventHandler {
public:
    explicit DocumentCounter(const std::string& file) : file_(file) {}
    int documents = 0;
    YAML::Mark second;  // the second document's first node, when there is one

    void OnDocumentStart(const YAML::Mark& mark) override {
        if (++documents == 2) second = mark;
    }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
    void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
        corrupt(file_, mark,
                "uses a YAML alias (*name); tokend refuses aliases in its store files, as "
                "expanding nested aliases takes unbounded time and memory: write the value "
                "itself in place of the alias");
    }
    void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t, const std::string&) override {
        node(mark);
    }
    void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {
        node(mark);
    }
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
        node(mark);
    }
    void OnMapEnd() override {}

private:
    void node(const YAML::Mark& mark) {
        if (documents == 2 && !second_node_) {
            second = mark;
            second_node_ = true;
        }
    }
    const std::string& file_;
    bool second_node_ = false;
};

}  // namespace

std::vector<std::pair<std::string, EntryPtr>> parse_store_file_with_yaml_cpp(
    const std::string& text, const std::string& file_name) {
    YAML::Node root;
    DocumentCounter counter(file_name);
    try {
        std::istringstream stream(text);
        YAML::Parser parser(stream);
        while (counter.documents < 2 && parser.HandleNextDocument(counter)) {
        }
        if (counter.documents < 2) root = YAML::Load(text);
    } catch (const YAML::Exception& error) {
        std::string where = position(file_name, error.mark);
        if (!error.mark.is_null()) where += ", column " + std::to_string(error.mark.column + 1);
        throw CorruptFile(where + ": " + error.msg);
    }
    if (counter.documents > 1) corrupt(file_name, counter.second, "holds more than one YAML document");
    std::vector<std::pair<std::string, EntryPtr>> entries;
    if (!root.IsDefined() || root.IsNull()) return entries;
    if (!root.IsMap()) {
        corrupt(file_name, root.Mark(),
                std::string("the top level is a ") + (root.IsSequence() ? "sequence" : "scalar") +
                    ", not a mapping of ids to entries");
    }
    for (const auto& pair : root) {
        std::string key = entry_key(pair.first, file_name);
        EntryPtr entry = entry_value(key, pair.second, pair.first.Mark(), file_name);
        entries.emplace_back(std::move(key), std::move(entry));
    }
    return entries;
}

}  // namespace tokend::yaml_store
