// The configuration loader (daemon/config): etc/tokend.yml as an operator
// writes it, parsed over the defaults by parse_config.
// Checks: bad text ends in ConfigError (any other exception, yaml-cpp's
// included, reaches libFuzzer as a crash) with a message that starts with the
// source's name; a configuration that parses has sane limits.
#include "fuzz_check.h"

#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace tokend;
    const std::string_view text = fuzz::as_text(data, size);
    const ConfigEnvironment env{"/var/lib/tokend", "/run/tokend"};
    try {
        const Config config = parse_config(text, "tokend.yml", env);
        for (const HttpListen& listen : config.http.listen) FUZZ_CHECK(listen.port >= 0 && listen.port <= 65535);
        for (const HttpListen& listen : config.metrics.listen) FUZZ_CHECK(listen.port >= 0 && listen.port <= 65535);
        FUZZ_CHECK(config.control.max_line_bytes > 0);
        FUZZ_CHECK(config.store.options.is_object());
    } catch (const ConfigError& error) {
        FUZZ_CHECK(std::string_view(error.what()).starts_with("tokend.yml"));
    }
    return 0;
}
