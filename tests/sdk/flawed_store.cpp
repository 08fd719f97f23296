// A store plugin with one defect chosen at open ({"name": ..., "defect": ...}),
// for showing that each conformance check fails on a plugin that breaks its rule
// (Kea's deliberately broken libraries, applied to the conformance suite). With
// "defect": "none" it is a correct store with every capability, and must pass.
// Instances with the same name share data, leases and notifications.
#include <tokend/store.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

const std::set<std::string> kDefects = {
    "none",
    "unknown_option_accepted",  // ignores options it does not know
    "del_missing_not_found",    // del of a missing key is NOT_FOUND
    "value_stops_at_nul",       // keeps a value only up to its first NUL byte
    "json_reformatted",         // gives JSON values back with spaces stripped
    "one_namespace",            // user and flow are one key space
    "take_not_atomic",          // take reads, lets go of the lock, then deletes
    "list_ignores_limit",       // a page holds every remaining key
    "list_index_cursor",        // the cursor is a position, which shifts on deletes
    "list_shows_deleted",       // deleted keys linger in listings
    "logs_values",              // logs every value written
    "lock_reentrant",           // the holder may acquire its own lease again
    "lease_never_lapses",       // ttl ignored
    "fence_not_checked",        // put_fenced writes whatever the fence
    "fence_restarts",           // every lease starts again at fence 1
    "take_not_notified",        // take is not reported to subscribers
    "entries_stale_value",      // list_entries gives a key's value from before its last put
    "entries_skip_empty",       // list_entries leaves out keys whose value is empty
    "compare_ignored",          // put_if_equal writes whatever the stored value
    "compare_not_atomic",       // put_if_equal compares, lets go of the lock, then writes
    "validate_ignores_unknown", // validate_options accepts options it does not know
    "validate_first_only",      // validate_options stops at the first problem
    "absent_ignores_empty",     // absent_now says absent for a key whose value is empty
};

struct Lease {
    uint64_t fence = 0;
    Clock::time_point expires;
};

struct Instance;

struct Backing {
    std::mutex mutex;
    std::map<std::string, std::string> values[2];
    std::set<std::string> tombstones[2];  // list_shows_deleted
    std::map<std::string, std::string> replaced[2];  // entries_stale_value: value before the last put
    std::map<std::string, Lease> leases[2];
    std::map<std::string, uint64_t> last_fence[2];
    std::vector<Instance*> subscribers;
};

struct Instance {
    std::shared_ptr<Backing> backing;
    std::string defect;
    const tokend_host_api* host = nullptr;
    void* host_ctx = nullptr;
    tokend_change_fn change_fn = nullptr;
    void* change_ctx = nullptr;

    bool has(const char* name) const { return defect == name; }
    int space(tokend_namespace ns) const { return has("one_namespace") ? 0 : static_cast<int>(ns); }
};

std::mutex registry_mutex;
std::map<std::string, std::weak_ptr<Backing>> registry;

Instance* self(tokend_store* store) { return reinterpret_cast<Instance*>(store); }
std::string bytes(const void* data, size_t len) {
    return len == 0 ? std::string() : std::string(static_cast<const char*>(data), len);
}
tokend_status fail(const Instance* instance, tokend_reply* reply, tokend_status status, const std::string& why) {
    instance->host->reply_error(reply, why.data(), why.size());
    return status;
}

void notify(Instance* origin, tokend_namespace ns, tokend_change change, const std::string& key) {
    for (Instance* other : origin->backing->subscribers) {
        if (other != origin) other->change_fn(other->change_ctx, ns, change, key.data(), key.size());
    }
}

const Lease* live_lease(Instance* instance, tokend_namespace ns, const std::string& key) {
    auto& leases = instance->backing->leases[instance->space(ns)];
    auto it = leases.find(key);
    if (it == leases.end()) return nullptr;
    if (!instance->has("lease_never_lapses") && it->second.expires <= Clock::now()) {
        leases.erase(it);
        return nullptr;
    }
    return &it->second;
}

std::string stored_form(const Instance* instance, std::string value) {
    if (instance->has("value_stops_at_nul")) value = value.substr(0, value.find('\0'));
    if (instance->has("json_reformatted") && !value.empty() && value.front() == '{') {
        std::erase(value, ' ');
    }
    return value;
}

tokend_status f_open(const char* config_json, size_t config_len, const tokend_host_api* host,
                     void* host_ctx, tokend_store** out, tokend_reply* reply) try {
    auto instance = std::make_unique<Instance>();
    instance->host = host;
    instance->host_ctx = host_ctx;
    const auto config = nlohmann::json::parse(config_json, config_json + config_len, nullptr, false);
    if (!config.is_object()) return fail(instance.get(), reply, TOKEND_INVALID, "options must be an object");
    std::string name, unknown;
    instance->defect = config.value("defect", std::string("none"));
    for (const auto& [option, value] : config.items()) {
        if (option == "name") {
            name = value.get<std::string>();
        } else if (option != "defect") {
            unknown = option;
        }
    }
    if (!kDefects.contains(instance->defect)) {
        return fail(instance.get(), reply, TOKEND_INVALID, "unknown defect '" + instance->defect + "'");
    }
    if (!unknown.empty() && !instance->has("unknown_option_accepted")) {
        return fail(instance.get(), reply, TOKEND_INVALID, "unknown option '" + unknown + "'");
    }
    std::lock_guard<std::mutex> hold(registry_mutex);
    auto& slot = registry[name];
    instance->backing = slot.lock();
    if (!instance->backing) slot = instance->backing = std::make_shared<Backing>();
    *out = reinterpret_cast<tokend_store*>(instance.release());
    return TOKEND_OK;
} catch (...) {
    host->reply_error(reply, "bad options", 11);
    return TOKEND_INVALID;
}

void f_close(tokend_store* store) {
    {
        std::lock_guard<std::mutex> hold(self(store)->backing->mutex);
        std::erase(self(store)->backing->subscribers, self(store));
    }
    delete self(store);
}

tokend_status f_get(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                    tokend_reply* reply) try {
    Instance* instance = self(store);
    std::lock_guard<std::mutex> hold(instance->backing->mutex);
    auto& values = instance->backing->values[instance->space(ns)];
    auto it = values.find(bytes(key, key_len));
    if (it == values.end()) return TOKEND_NOT_FOUND;
    instance->host->reply_value(reply, it->second.data(), it->second.size());
    return TOKEND_OK;
} catch (...) {
    return TOKEND_INTERNAL;
}

tokend_status write(Instance* instance, tokend_namespace ns, const std::string& key, const std::string& value) {
    const int space = instance->space(ns);
    auto& values = instance->backing->values[space];
    if (auto old = values.find(key); old != values.end()) instance->backing->replaced[space][key] = old->second;
    values[key] = stored_form(instance, value);
    instance->backing->tombstones[space].erase(key);
    if (instance->has("logs_values")) {
        const std::string line = "wrote " + key + " = " + value;
        instance->host->log(instance->host_ctx, TOKEND_LOG_DEBUG, line.data(), line.size());
    }
    notify(instance, ns, TOKEND_CHANGE_PUT, key);
    return TOKEND_OK;
}

tokend_status f_put(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                    const void* value, size_t value_len, tokend_reply*) try {
    std::lock_guard<std::mutex> hold(self(store)->backing->mutex);
    return write(self(store), ns, bytes(key, key_len), bytes(value, value_len));
} catch (...) {
    return TOKEND_INTERNAL;
}

// Removes a key; true if it was there.
bool erase(Instance* instance, tokend_namespace ns, const std::string& key) {
    const int space = instance->space(ns);
    instance->backing->replaced[space].erase(key);
    if (instance->backing->values[space].erase(key) == 0) return false;
    if (instance->has("list_shows_deleted")) instance->backing->tombstones[space].insert(key);
    return true;
}

tokend_status f_del(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                    tokend_reply*) try {
    Instance* instance = self(store);
    const std::string name = bytes(key, key_len);
    std::lock_guard<std::mutex> hold(instance->backing->mutex);
    if (!erase(instance, ns, name)) return instance->has("del_missing_not_found") ? TOKEND_NOT_FOUND : TOKEND_OK;
    notify(instance, ns, TOKEND_CHANGE_DELETE, name);
    return TOKEND_OK;
} catch (...) {
    return TOKEND_INTERNAL;
}

tokend_status f_take(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                     tokend_reply* reply) try {
    Instance* instance = self(store);
    const std::string name = bytes(key, key_len);
    std::unique_lock<std::mutex> hold(instance->backing->mutex);
    auto& values = instance->backing->values[instance->space(ns)];
    auto it = values.find(name);
    if (it == values.end()) return TOKEND_NOT_FOUND;
    const std::string value = it->second;
    if (instance->has("take_not_atomic")) {
        // Read, then delete in a second step: the Python original's redirect bug.
        hold.unlock();
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        hold.lock();
    }
    erase(instance, ns, name);
    instance->host->reply_value(reply, value.data(), value.size());
    if (!instance->has("take_not_notified")) notify(instance, ns, TOKEND_CHANGE_DELETE, name);
    return TOKEND_OK;
} catch (...) {
    return TOKEND_INTERNAL;
}

// Lists an ordered container of keys (a std::set, or the keys of a std::map).
template <typename Ordered, typename KeyOf>
void list_page(Instance* instance, const Ordered& keys, KeyOf key_of, const std::string& cursor,
               uint32_t limit, tokend_reply* reply) {
    auto it = keys.begin();
    size_t position = 0;  // for list_index_cursor
    if (!cursor.empty()) {
        if (instance->has("list_index_cursor")) {
            position = std::min<size_t>(std::stoul(cursor), keys.size());
            it = std::next(keys.begin(), static_cast<long>(position));
        } else {
            it = keys.upper_bound(cursor);
        }
    }
    for (uint32_t given = 0; it != keys.end();) {
        const std::string& key = key_of(*it++);
        ++position;
        const bool host_full = instance->host->reply_key(reply, key.data(), key.size()) != 0;
        ++given;
        if (instance->has("list_ignores_limit")) continue;
        if (host_full || given == limit) {
            if (it != keys.end()) {
                const std::string next = instance->has("list_index_cursor") ? std::to_string(position) : key;
                instance->host->reply_cursor(reply, next.data(), next.size());
            }
            return;
        }
    }
}

tokend_status f_list(tokend_store* store, tokend_namespace ns, const void* cursor, size_t cursor_len,
                     uint32_t limit, tokend_reply* reply) try {
    Instance* instance = self(store);
    std::lock_guard<std::mutex> hold(instance->backing->mutex);
    const int space = instance->space(ns);
    const auto& values = instance->backing->values[space];
    const std::string after = bytes(cursor, cursor_len);
    if (instance->has("list_shows_deleted")) {
        std::set<std::string> keys(instance->backing->tombstones[space]);
        for (const auto& entry : values) keys.insert(entry.first);
        list_page(instance, keys, [](const std::string& key) -> const std::string& { return key; }, after,
                  limit, reply);
    } else {
        list_page(instance, values, [](const auto& entry) -> const std::string& { return entry.first; }, after,
                  limit, reply);
    }
    return TOKEND_OK;
} catch (...) {
    return TOKEND_INTERNAL;
}

// Keys in order after the cursor (the last key given), with their values.
tokend_status f_list_entries(tokend_store* store, tokend_namespace ns, const void* cursor, size_t cursor_len,
                             uint32_t limit, tokend_reply* reply) try {
    Instance* instance = self(store);
    std::lock_guard<std::mutex> hold(instance->backing->mutex);
    const int space = instance->space(ns);
    const auto& values = instance->backing->values[space];
    const auto& replaced = instance->backing->replaced[space];
    auto it = cursor_len == 0 ? values.begin() : values.upper_bound(bytes(cursor, cursor_len));
    for (uint32_t given = 0; it != values.end(); ++it) {
        const auto& [key, current] = *it;
        if (instance->has("entries_skip_empty") && current.empty()) continue;
        auto stale = replaced.find(key);
        const std::string& value =
            instance->has("entries_stale_value") && stale != replaced.end() ? stale->second : current;
        const bool host_full = instance->host->reply_entry(reply, key.data(), key.size(), value.data(), value.size()) != 0;
        if (host_full || ++given == limit) {
            if (std::next(it) != values.end()) instance->host->reply_cursor(reply, key.data(), key.size());
            break;
        }
    }
    return TOKEND_OK;
} catch (...) {
    return TOKEND_INTERNAL;
}

tokend_status f_lock_acquire(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                             uint32_t ttl_ms, uint64_t* fence, tokend_reply* reply) try {
    Instance* instance = self(store);
    const std::string name = bytes(key, key_len);
    std::lock_guard<std::mutex> hold(instance->backing->mutex);
    const int space = instance->space(ns);
    const Lease* held = live_lease(instance, ns, name);
    if (held != nullptr && !instance->has("lock_reentrant")) {
        return fail(instance, reply, TOKEND_CONFLICT, "lease is held");
    }
    uint64_t& last = instance->backing->last_fence[space][name];
    last = instance->has("fence_restarts") ? 1 : last + 1;
    instance->backing->leases[space][name] = Lease{last, Clock::now() + std::chrono::milliseconds(ttl_ms)};
    *fence = last;
    return TOKEND_OK;
} catch (...) {
    return TOKEND_INTERNAL;
}

tokend_status f_lock_release(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                             uint64_t fence, tokend_reply*) try {
    Instance* instance = self(store);
    const std::string name = bytes(key, key_len);
    std::lock_guard<std::mutex> hold(instance->backing->mutex);
    const Lease* held = live_lease(instance, ns, name);
    if (held != nullptr && held->fence == fence) instance->backing->leases[instance->space(ns)].erase(name);
    return TOKEND_OK;
} catch (...) {
    return TOKEND_INTERNAL;
}

tokend_status f_put_fenced(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                           const void* value, size_t value_len, uint64_t fence, tokend_reply* reply) try {
    Instance* instance = self(store);
    const std::string name = bytes(key, key_len);
    std::lock_guard<std::mutex> hold(instance->backing->mutex);
    const Lease* held = live_lease(instance, ns, name);
    if (!instance->has("fence_not_checked") && (held == nullptr || held->fence != fence)) {
        return fail(instance, reply, TOKEND_CONFLICT, "stale fence");
    }
    return write(instance, ns, name, bytes(value, value_len));
} catch (...) {
    return TOKEND_INTERNAL;
}

tokend_status f_put_if_equal(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                             const void* expected, size_t expected_len, const void* value, size_t value_len,
                             const uint64_t* fence, tokend_reply* reply) try {
    Instance* instance = self(store);
    const std::string name = bytes(key, key_len);
    std::unique_lock<std::mutex> hold(instance->backing->mutex);
    if (fence != nullptr) {
        const Lease* held = live_lease(instance, ns, name);
        if (held == nullptr || held->fence != *fence) return fail(instance, reply, TOKEND_CONFLICT, "stale fence");
    }
    auto& values = instance->backing->values[instance->space(ns)];
    auto it = values.find(name);
    if (it == values.end()) return TOKEND_NOT_FOUND;
    if (it->second != bytes(expected, expected_len) && !instance->has("compare_ignored")) {
        instance->host->reply_value(reply, it->second.data(), it->second.size());
        return fail(instance, reply, TOKEND_CONFLICT, "changed");
    }
    if (instance->has("compare_not_atomic")) {
        // Compare, then write in a second step: the refresh commit's old race.
        hold.unlock();
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        hold.lock();
    }
    return write(instance, ns, name, bytes(value, value_len));
} catch (...) {
    return TOKEND_INTERNAL;
}

tokend_status f_subscribe(tokend_store* store, tokend_change_fn fn, void* ctx, tokend_reply*) try {
    std::lock_guard<std::mutex> hold(self(store)->backing->mutex);
    self(store)->change_fn = fn;
    self(store)->change_ctx = ctx;
    self(store)->backing->subscribers.push_back(self(store));
    return TOKEND_OK;
} catch (...) {
    return TOKEND_INTERNAL;
}

// validate_options: the same options as open, every unknown one a problem of its own.
tokend_status f_validate_options(const char* config_json, size_t config_len, const tokend_host_api* host, void*,
                                 tokend_reply* reply) try {
    const auto config = nlohmann::json::parse(config_json, config_json + config_len, nullptr, false);
    auto problem = [&](const std::string& option, const std::string& message) {
        host->reply_problem(reply, option.data(), option.size(), message.data(), message.size());
    };
    if (!config.is_object()) {
        problem("", "options must be a JSON object");
        return TOKEND_INVALID;
    }
    const std::string defect = config.value("defect", std::string("none"));
    int found = 0;
    for (const auto& [option, value] : config.items()) {
        if (option == "name" || option == "defect") continue;
        if (defect == "validate_ignores_unknown") continue;
        if (defect == "validate_first_only" && found > 0) break;
        problem(option, "unknown option '" + option + "'");
        ++found;
    }
    if (!kDefects.contains(defect)) {
        problem("defect", "unknown defect '" + defect + "'");
        ++found;
    }
    return found == 0 ? TOKEND_OK : TOKEND_INVALID;
} catch (...) {
    return TOKEND_INTERNAL;
}

tokend_status f_absent_now(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len) try {
    Instance* instance = self(store);
    const std::string name = bytes(key, key_len);
    std::lock_guard<std::mutex> hold(instance->backing->mutex);
    const auto& values = instance->backing->values[instance->space(ns)];
    const auto it = values.find(name);
    if (it == values.end()) return TOKEND_NOT_FOUND;
    if (instance->has("absent_ignores_empty") && it->second.empty()) return TOKEND_NOT_FOUND;
    return TOKEND_OK;
} catch (...) {
    return TOKEND_INTERNAL;
}

const tokend_store_plugin kTable = {
    sizeof(tokend_store_plugin), TOKEND_STORE_ABI_VERSION, "flawed", "0",
    TOKEND_STORE_CAP_THREAD_SAFE | TOKEND_STORE_CAP_LOCK | TOKEND_STORE_CAP_NOTIFY,
    f_open, f_close, f_get, f_put, f_del, f_take, f_list,
    f_lock_acquire, f_lock_release, f_put_fenced, f_subscribe, f_list_entries, f_put_if_equal,
    f_validate_options,
    f_absent_now,
};

}  // namespace

extern "C" TOKEND_EXPORT uint32_t tokend_store_abi_version(void) { return TOKEND_STORE_ABI_VERSION; }
extern "C" TOKEND_EXPORT const tokend_store_plugin* tokend_store_plugin_entry(void) { return &kTable; }
