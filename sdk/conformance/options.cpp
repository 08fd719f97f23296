#include "options.h"

#include <algorithm>
#include <string_view>

namespace tokend::conformance {
namespace {

// Accepts "--name value" and "--name=value"; *at moves past what was used.
bool take_value(int argc, char** argv, int* at, std::string_view name, std::string* value,
                std::string* error) {
    const std::string_view arg = argv[*at];
    if (arg == name) {
        if (*at + 1 >= argc) {
            *error = std::string(name) + " needs a value";
            return true;
        }
        *value = argv[++*at];
        return true;
    }
    if (arg.size() > name.size() && arg.starts_with(name) && arg[name.size()] == '=') {
        *value = std::string(arg.substr(name.size() + 1));
        return true;
    }
    return false;
}

}  // namespace

std::string parse_options(int argc, char** argv, Options* out) {
    Options options;
    options.rest.emplace_back(argc > 0 ? argv[0] : "tokend-store-conformance");
    std::string error;
    for (int at = 1; at < argc && error.empty(); ++at) {
        const std::string_view arg = argv[at];
        if (take_value(argc, argv, &at, "--plugin", &options.plugin, &error) ||
            take_value(argc, argv, &at, "--plugin-dir", &options.plugin_dir, &error) ||
            take_value(argc, argv, &at, "--config", &options.config, &error)) {
            continue;
        }
        if (arg == "--persistent") {
            options.persistent = true;
        } else if (arg == "--help" || arg == "-h") {
            options.help = true;
        } else {
            options.rest.emplace_back(arg);  // GoogleTest decides
        }
    }
    if (!error.empty()) return error;
    const bool listing_only = std::find(options.rest.begin(), options.rest.end(), "--gtest_list_tests") !=
                              options.rest.end();
    if (!options.help && !listing_only && options.plugin.empty()) return "--plugin is required";
    *out = std::move(options);
    return {};
}

std::string usage(const std::string& program) {
    return "usage: " + program +
           " --plugin <path-or-name> [--plugin-dir DIR] [--config JSON] [--persistent]"
           " [gtest flags]\n"
           "\n"
           "Runs the tokend store plugin conformance suite against one plugin.\n"
           "\n"
           "  --plugin X      a path to a .so (contains '/'), or a name looked up as\n"
           "                  <plugin-dir>/tokend_store_<name>.so\n"
           "  --plugin-dir D  where names are looked up (default: the installed plugin\n"
           "                  directory next to this program)\n"
           "  --config JSON   the plugin's options, a JSON object (default {}). In it,\n"
           "                  @TMPDIR@ becomes a fresh empty directory for each test case\n"
           "                  (removed afterwards) and @UNIQUE@ a string unique to the test\n"
           "                  case, so that every test starts from an empty store, e.g.\n"
           "                  '{\"path\":\"@TMPDIR@/users.yml\"}' or '{\"name\":\"@UNIQUE@\"}'\n"
           "  --persistent    also check that values survive close and reopen\n"
           "\n"
           "Every other argument goes to GoogleTest (try --gtest_list_tests or\n"
           "--gtest_filter=Lock*). Exit status: 0 all passed, 1 a test failed,\n"
           "2 bad usage or the plugin could not be loaded.\n";
}

}  // namespace tokend::conformance
