#include "config/yaml_duplicates.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/parser.h>

#include <map>
#include <sstream>

namespace tokend {
namespace {

class DuplicateFinder : public YAML::EventHandler {
public:
    explicit DuplicateFinder(std::vector<DuplicateKey>* found) : found_(found) {}

    void OnDocumentStart(const YAML::Mark&) override { frames_.clear(); }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { node(mark, nullptr); }
    void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { node(mark, nullptr); }
    void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t, const std::string& value) override {
        node(mark, &value);
    }
    void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
        node(mark, nullptr);
        frames_.push_back(Frame{false, true, {}});
    }
    void OnSequenceEnd() override { pop(); }
    void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
        node(mark, nullptr);
        frames_.push_back(Frame{true, true, {}});
    }
    void OnMapEnd() override { pop(); }

private:
    struct Frame {
        bool mapping;
        bool expect_key;                  // mapping: the next node is a key
        std::map<std::string, int> keys;  // mapping: scalar key -> its first line
    };

    // A node starts (a scalar, or a collection as a whole) inside the current
    // frame: in a mapping, keys and values alternate.
    void node(const YAML::Mark& mark, const std::string* scalar) {
        if (frames_.empty() || !frames_.back().mapping) return;
        Frame& frame = frames_.back();
        if (frame.expect_key && scalar != nullptr && *scalar != "<<") {
            const int line = mark.line + 1;
            const auto [first, inserted] = frame.keys.emplace(*scalar, line);
            if (!inserted) found_->push_back(DuplicateKey{*scalar, line, first->second});
        }
        frame.expect_key = !frame.expect_key;
    }

    void pop() {
        if (!frames_.empty()) frames_.pop_back();
    }

    std::vector<DuplicateKey>* found_;
    std::vector<Frame> frames_;
};

}  // namespace

std::vector<DuplicateKey> find_duplicate_keys(std::string_view yaml_text) {
    std::vector<DuplicateKey> found;
    std::istringstream stream{std::string(yaml_text)};
    try {
        YAML::Parser parser(stream);
        DuplicateFinder finder(&found);
        // The first document only, as YAML::Load reads it: yaml-cpp reports an
        // endless run of empty documents for some text (" ,"), so a loop to
        // the end would never end (found by fuzz_config).
        parser.HandleNextDocument(finder);
    } catch (const YAML::Exception&) {
        // The configuration parser reports the error itself, with its line.
    }
    return found;
}

}  // namespace tokend
