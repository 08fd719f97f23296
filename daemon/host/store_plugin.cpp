#include "host/store_plugin.h"

#include <dlfcn.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace tokend {
namespace {

std::string version_text(uint32_t version) {
    return std::to_string(version >> 16) + "." + std::to_string(version & 0xffff);
}

// True when the table is large enough to hold the slot at `offset` of `size` bytes.
bool covers(size_t table_size, size_t offset, size_t size) { return table_size >= offset + size; }

#define TOKEND_SLOT(field) \
    offsetof(tokend_store_plugin, field), sizeof(((tokend_store_plugin*)nullptr)->field)

}  // namespace

std::string StorePlugin::path_for_name(const std::string& name, const std::string& plugin_dir) {
    return plugin_dir + "/tokend_store_" + name + ".so";
}

std::shared_ptr<StorePlugin> StorePlugin::load(const std::string& name_or_path,
                                               const std::string& plugin_dir) {
    std::shared_ptr<StorePlugin> plugin(new StorePlugin());
    const bool is_path = name_or_path.find('/') != std::string::npos;
    if (!is_path) {
        if (name_or_path.empty()) throw PluginLoadError("store plugin: no name given");
        plugin->path_ = path_for_name(name_or_path, plugin_dir);
    } else {
        plugin->path_ = name_or_path;
    }
    const std::string& path = plugin->path_;
    const std::string what = "store plugin '" + name_or_path + "' (" + path + ")";

    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) {
        throw PluginLoadError(what + ": cannot open: " + std::strerror(errno) +
                              (is_path ? "" : " (plugin directory: " + plugin_dir + ")"));
    }
    if (!S_ISREG(info.st_mode)) throw PluginLoadError(what + ": not a regular file");

    plugin->handle_ = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (plugin->handle_ == nullptr) {
        const char* detail = ::dlerror();
        throw PluginLoadError(what + ": cannot load: " + (detail ? detail : "unknown error"));
    }

    // Step 1: the version, before any struct is touched.
    auto version_fn = reinterpret_cast<tokend_store_abi_version_fn>(
        ::dlsym(plugin->handle_, TOKEND_STORE_ABI_VERSION_SYMBOL));
    if (version_fn == nullptr) {
        throw PluginLoadError(what + ": missing symbol " TOKEND_STORE_ABI_VERSION_SYMBOL
                              " (not a tokend store plugin?)");
    }
    plugin->abi_version_ = version_fn();
    if ((plugin->abi_version_ >> 16) != TOKEND_STORE_ABI_MAJOR) {
        throw PluginLoadError(what + ": built for store ABI " + version_text(plugin->abi_version_) +
                              ", this tokend speaks " + version_text(TOKEND_STORE_ABI_VERSION) +
                              " (the major version must match)");
    }

    // Step 2: the table, read only as far as its own size says.
    auto table_fn = reinterpret_cast<tokend_store_plugin_entry_fn>(
        ::dlsym(plugin->handle_, TOKEND_STORE_PLUGIN_SYMBOL));
    if (table_fn == nullptr) {
        throw PluginLoadError(what + ": missing symbol " TOKEND_STORE_PLUGIN_SYMBOL);
    }
    const tokend_store_plugin* table = table_fn();
    if (table == nullptr) throw PluginLoadError(what + ": " TOKEND_STORE_PLUGIN_SYMBOL "() returned NULL");
    const size_t size = table->struct_size;
    if (size < TOKEND_STORE_PLUGIN_MIN_SIZE) {
        throw PluginLoadError(what + ": function table is " + std::to_string(size) +
                              " bytes, smaller than the " +
                              std::to_string(TOKEND_STORE_PLUGIN_MIN_SIZE) +
                              " bytes every 1.x plugin must provide");
    }
    plugin->table_ = table;
    plugin->table_size_ = size;
    plugin->name_ = table->name ? table->name : "";
    plugin->version_ = table->version ? table->version : "";
    if (plugin->name_.empty()) throw PluginLoadError(what + ": table has no name");

    struct Required {
        const char* field;
        const void* fn;
    };
    const Required base[] = {{"open", reinterpret_cast<const void*>(table->open)},
                             {"close", reinterpret_cast<const void*>(table->close)},
                             {"get", reinterpret_cast<const void*>(table->get)},
                             {"put", reinterpret_cast<const void*>(table->put)},
                             {"del", reinterpret_cast<const void*>(table->del)},
                             {"take", reinterpret_cast<const void*>(table->take)},
                             {"list", reinterpret_cast<const void*>(table->list)}};
    for (const auto& slot : base) {
        if (slot.fn == nullptr) throw PluginLoadError(what + ": required function '" + slot.field + "' is NULL");
    }

    // Capabilities: each bit needs its functions, inside the table's size.
    const uint64_t known = TOKEND_STORE_CAP_THREAD_SAFE | TOKEND_STORE_CAP_LOCK |
                           TOKEND_STORE_CAP_NOTIFY | TOKEND_STORE_CAP_SHARED;
    const uint64_t caps = table->capabilities;
    // A newer minor version may define bits we do not know; dropping them is safe
    // because the host only uses what it understands.
    plugin->capabilities_ = caps & known;
    auto need = [&](uint64_t cap, const char* cap_name, std::initializer_list<std::pair<const char*, std::pair<size_t, size_t>>> slots) {
        if ((caps & cap) == 0) return;
        for (const auto& [field, where] : slots) {
            if (!covers(size, where.first, where.second)) {
                throw PluginLoadError(what + ": declares " + cap_name + " but its table (" +
                                      std::to_string(size) + " bytes) has no '" + field + "' slot");
            }
            const void* const* fn = reinterpret_cast<const void* const*>(
                reinterpret_cast<const char*>(table) + where.first);
            if (*fn == nullptr) {
                throw PluginLoadError(what + ": declares " + cap_name + " but '" + field + "' is NULL");
            }
        }
    };
    need(TOKEND_STORE_CAP_LOCK, "TOKEND_STORE_CAP_LOCK",
         {{"lock_acquire", {TOKEND_SLOT(lock_acquire)}},
          {"lock_release", {TOKEND_SLOT(lock_release)}},
          {"put_fenced", {TOKEND_SLOT(put_fenced)}}});
    need(TOKEND_STORE_CAP_NOTIFY, "TOKEND_STORE_CAP_NOTIFY", {{"subscribe", {TOKEND_SLOT(subscribe)}}});
    // Optional slots without a capability bit: read only when the table covers them.
    if (covers(size, TOKEND_SLOT(list_entries))) plugin->list_entries_ = table->list_entries;
    if (covers(size, TOKEND_SLOT(put_if_equal))) plugin->put_if_equal_ = table->put_if_equal;
    if (covers(size, TOKEND_SLOT(validate_options))) plugin->validate_options_ = table->validate_options;
    if (covers(size, TOKEND_SLOT(absent_now))) plugin->absent_now_ = table->absent_now;
    return plugin;
}

StorePlugin::~StorePlugin() {
    if (handle_ != nullptr) ::dlclose(handle_);
}

}  // namespace tokend
