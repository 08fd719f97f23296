// validate_options() (store ABI 1.3, optional): the check `tokend
// --check-config` and a reload run on the store's options without opening the
// store. It must accept the options under test, touch nothing (no file
// created, no lock taken: it runs beside a running instance), and report every
// problem, each unknown option by its name. Skipped for a plugin that does not
// provide it (tokend then says the options could not be checked).
#include "fixture.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <set>

namespace tokend::conformance {
namespace {

class ValidateOptions : public ConformanceTest {
protected:
    void SetUp() override {
        ConformanceTest::SetUp();
        if (HasFatalFailure()) return;
        if (under_test().plugin->validate_options() == nullptr) {
            GTEST_SKIP() << "the plugin does not provide validate_options";
        }
    }

    StoreStatus validate(const std::string& config_json, std::vector<OptionProblem>* problems) {
        StoreLogSink log = [this](tokend_log_level, std::string_view message) {
            EXPECT_EQ(message.find(secret_marker()), std::string_view::npos);
        };
        return Store::validate_options(*under_test().plugin, config_json, log, problems);
    }

    // The config under test with extra options added.
    std::string with_options(const nlohmann::json& extra) const {
        nlohmann::ordered_json config = nlohmann::ordered_json::parse(this->config());
        for (const auto& [name, value] : extra.items()) config[name] = value;
        return config.dump();
    }

    std::set<std::string> temp_dir_entries() const {
        std::set<std::string> names;
        if (temp_dir().empty()) return names;
        for (const auto& entry : std::filesystem::directory_iterator(temp_dir())) {
            names.insert(entry.path().filename().string());
        }
        return names;
    }

    // True when some problem concerns `option`: names it as its option, or in its message.
    static bool names(const std::vector<OptionProblem>& problems, const std::string& option) {
        for (const OptionProblem& problem : problems) {
            if (problem.option == option || problem.message.find(option) != std::string::npos) return true;
        }
        return false;
    }

    static std::string listed(const std::vector<OptionProblem>& problems) {
        std::string text;
        for (const OptionProblem& problem : problems) text += "\n  [" + problem.option + "] " + problem.message;
        return text.empty() ? " (none)" : text;
    }
};

TEST_F(ValidateOptions, AcceptsTheOptionsUnderTestAndTouchesNothing) {
    const std::set<std::string> before = temp_dir_entries();
    std::vector<OptionProblem> problems;
    EXPECT_STORE(ok, validate(config(), &problems));
    EXPECT_TRUE(problems.empty()) << "problems reported for good options:" << listed(problems);
    EXPECT_EQ(temp_dir_entries(), before) << "validate_options created or removed files";

    // Beside an open instance (tokend checks a reload's options while its store runs).
    std::unique_ptr<Store> store;
    ASSERT_TRUE(open(&store));
    ASSERT_STORE(ok, store->put(Ns::user, "validate-" + unique(), secret_value("validate")));
    EXPECT_STORE(ok, validate(config(), &problems));
    EXPECT_TRUE(problems.empty()) << "problems reported beside an open instance:" << listed(problems);
    std::string value;
    EXPECT_STORE(ok, store->get(Ns::user, "validate-" + unique(), &value));
    EXPECT_EQ(value, secret_value("validate"));
}

TEST_F(ValidateOptions, NamesAnUnknownOption) {
    const std::string option = "conformance_no_such_option";
    std::vector<OptionProblem> problems;
    EXPECT_STORE(invalid, validate(with_options({{option, 1}}), &problems));
    EXPECT_TRUE(names(problems, option)) << "no problem names " << option << ":" << listed(problems);
    EXPECT_TRUE(temp_dir_entries().empty()) << "validate_options created files";
}

TEST_F(ValidateOptions, ReportsEveryProblemNotOnlyTheFirst) {
    const std::string first = "conformance_unknown_first";
    const std::string second = "conformance_unknown_second";
    std::vector<OptionProblem> problems;
    EXPECT_STORE(invalid, validate(with_options({{first, true}, {second, "x"}}), &problems));
    EXPECT_TRUE(names(problems, first)) << "no problem names " << first << ":" << listed(problems);
    EXPECT_TRUE(names(problems, second)) << "no problem names " << second << ":" << listed(problems);
}

TEST_F(ValidateOptions, RefusesOptionsThatAreNotAnObject) {
    std::vector<OptionProblem> problems;
    EXPECT_STORE(invalid, validate("[1, 2", &problems));
    EXPECT_FALSE(problems.empty()) << "broken JSON needs a problem saying so";
}

}  // namespace
}  // namespace tokend::conformance
