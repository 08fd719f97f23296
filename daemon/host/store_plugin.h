// Loads a store plugin (.so) and validates its table before anything uses it.
#pragma once

#include <tokend/store.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

namespace tokend {

// Thrown at start-up when a plugin cannot be used; what() is the operator's message.
class PluginLoadError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A loaded, validated plugin library. Stays loaded while any Store made from it lives
// (Store holds a shared_ptr), so dlclose happens only at shutdown.
class StorePlugin {
public:
    // name_or_path: a path if it contains '/', else a name looked up as
    // <plugin_dir>/tokend_store_<name>.so. Throws PluginLoadError with a clear message
    // for a missing file, missing symbol, wrong major version, too small table, or a
    // capability bit without its functions.
    static std::shared_ptr<StorePlugin> load(const std::string& name_or_path,
                                             const std::string& plugin_dir);

    // The file a plugin name resolves to in plugin_dir.
    static std::string path_for_name(const std::string& name, const std::string& plugin_dir);

    ~StorePlugin();
    StorePlugin(const StorePlugin&) = delete;
    StorePlugin& operator=(const StorePlugin&) = delete;

    const std::string& path() const { return path_; }
    const std::string& name() const { return name_; }
    const std::string& version() const { return version_; }
    uint32_t abi_version() const { return abi_version_; }
    uint64_t capabilities() const { return capabilities_; }
    bool has(uint64_t capability) const { return (capabilities_ & capability) == capability; }

    // The plugin's table. Only slots inside table_size() may be read; lock and
    // notify slots are guaranteed non-NULL when the matching capability is set.
    const tokend_store_plugin& table() const { return *table_; }
    size_t table_size() const { return table_size_; }

    // The 1.1 list_entries slot, or NULL when the plugin does not provide it (left
    // NULL, or a table from before 1.1 that ends ahead of it).
    decltype(tokend_store_plugin::list_entries) list_entries() const { return list_entries_; }
    // The 1.2 put_if_equal slot, or NULL when the plugin does not provide it.
    decltype(tokend_store_plugin::put_if_equal) put_if_equal() const { return put_if_equal_; }
    // The 1.3 validate_options slot, or NULL when the plugin does not provide it.
    decltype(tokend_store_plugin::validate_options) validate_options() const { return validate_options_; }
    // The 1.4 absent_now slot, or NULL when the plugin does not provide it.
    decltype(tokend_store_plugin::absent_now) absent_now() const { return absent_now_; }

private:
    StorePlugin() = default;

    void* handle_ = nullptr;
    const tokend_store_plugin* table_ = nullptr;
    size_t table_size_ = 0;
    decltype(tokend_store_plugin::list_entries) list_entries_ = nullptr;
    decltype(tokend_store_plugin::put_if_equal) put_if_equal_ = nullptr;
    decltype(tokend_store_plugin::validate_options) validate_options_ = nullptr;
    decltype(tokend_store_plugin::absent_now) absent_now_ = nullptr;
    std::string path_, name_, version_;
    uint32_t abi_version_ = 0;
    uint64_t capabilities_ = 0;
};

}  // namespace tokend
