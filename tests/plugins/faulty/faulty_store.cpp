// A test store that works in memory until a flag file exists, then answers
// every call with TOKEND_UNAVAILABLE, as a store whose backend went away does.
// Options: {"fail_flag": "/path/to/flag", "unconfirmed_flag": "/path"}. Lets
// the integration tests show what tokend does when its store fails, and that
// it recovers. While the optional unconfirmed_flag exists, a put is written
// and then answered UNAVAILABLE, as Redis with wait_replicas answers a write
// no replica confirmed in time.
// It is also a plugin from before store ABI 1.1: its table ends before
// list_entries, so hosts load its users with list + get (the fallback path).
#include <tokend/store.h>

#include <nlohmann/json.hpp>

#include <sys/stat.h>

#include <cstddef>
#include <map>
#include <mutex>
#include <string>

namespace {

struct Faulty {
    const tokend_host_api* host;
    std::string flag;
    std::string unconfirmed_flag;
    std::mutex mutex;
    std::map<std::string, std::string> values[2];
};

Faulty* self(tokend_store* store) { return reinterpret_cast<Faulty*>(store); }
std::string text(const void* data, size_t len) { return len ? std::string(static_cast<const char*>(data), len) : ""; }

bool exists(const std::string& path) {
    struct stat info {};
    return !path.empty() && ::stat(path.c_str(), &info) == 0;
}

// True (and the reply filled) when the store is switched off.
bool switched_off(Faulty* store, tokend_reply* reply) {
    if (!exists(store->flag)) return false;
    static const char message[] = "faulty store: backend switched off";
    store->host->reply_error(reply, message, sizeof message - 1);
    return true;
}

tokend_status f_open(const char* config, size_t len, const tokend_host_api* host, void*, tokend_store** out,
                     tokend_reply* reply) {
    const auto options = nlohmann::json::parse(config, config + len, nullptr, false);
    if (!options.is_object() || !options.contains("fail_flag") || !options["fail_flag"].is_string()) {
        static const char message[] = "faulty store needs {\"fail_flag\": PATH}";
        host->reply_error(reply, message, sizeof message - 1);
        return TOKEND_INVALID;
    }
    const auto unconfirmed = options.value("unconfirmed_flag", nlohmann::json(""));
    if (!unconfirmed.is_string()) {
        static const char message[] = "faulty store: unconfirmed_flag must be a path";
        host->reply_error(reply, message, sizeof message - 1);
        return TOKEND_INVALID;
    }
    *out = reinterpret_cast<tokend_store*>(
        new Faulty{host, options["fail_flag"].get<std::string>(), unconfirmed.get<std::string>(), {}, {}});
    return TOKEND_OK;
}

void f_close(tokend_store* store) { delete self(store); }

tokend_status f_get(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len, tokend_reply* reply) {
    if (switched_off(self(store), reply)) return TOKEND_UNAVAILABLE;
    std::lock_guard<std::mutex> hold(self(store)->mutex);
    auto& values = self(store)->values[ns];
    auto it = values.find(text(key, key_len));
    if (it == values.end()) return TOKEND_NOT_FOUND;
    self(store)->host->reply_value(reply, it->second.data(), it->second.size());
    return TOKEND_OK;
}

tokend_status f_put(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len, const void* value,
                    size_t value_len, tokend_reply* reply) {
    if (switched_off(self(store), reply)) return TOKEND_UNAVAILABLE;
    std::lock_guard<std::mutex> hold(self(store)->mutex);
    self(store)->values[ns][text(key, key_len)] = text(value, value_len);
    if (exists(self(store)->unconfirmed_flag)) {
        static const char message[] = "faulty store: written, but not confirmed durable";
        self(store)->host->reply_error(reply, message, sizeof message - 1);
        return TOKEND_UNAVAILABLE;
    }
    return TOKEND_OK;
}

tokend_status f_del(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len, tokend_reply* reply) {
    if (switched_off(self(store), reply)) return TOKEND_UNAVAILABLE;
    std::lock_guard<std::mutex> hold(self(store)->mutex);
    self(store)->values[ns].erase(text(key, key_len));
    return TOKEND_OK;
}

tokend_status f_take(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len, tokend_reply* reply) {
    if (switched_off(self(store), reply)) return TOKEND_UNAVAILABLE;
    std::lock_guard<std::mutex> hold(self(store)->mutex);
    auto& values = self(store)->values[ns];
    auto it = values.find(text(key, key_len));
    if (it == values.end()) return TOKEND_NOT_FOUND;
    self(store)->host->reply_value(reply, it->second.data(), it->second.size());
    values.erase(it);
    return TOKEND_OK;
}

tokend_status f_list(tokend_store* store, tokend_namespace ns, const void* cursor, size_t cursor_len, uint32_t limit,
                     tokend_reply* reply) {
    if (switched_off(self(store), reply)) return TOKEND_UNAVAILABLE;
    std::lock_guard<std::mutex> hold(self(store)->mutex);
    auto& values = self(store)->values[ns];
    auto it = cursor_len ? values.upper_bound(text(cursor, cursor_len)) : values.begin();
    for (uint32_t given = 0; it != values.end(); ++it) {
        if (self(store)->host->reply_key(reply, it->first.data(), it->first.size()) != 0 || ++given == limit) {
            if (std::next(it) != values.end()) self(store)->host->reply_cursor(reply, it->first.data(), it->first.size());
            break;
        }
    }
    return TOKEND_OK;
}

// Outside the table's struct_size: a host that called it would read past the
// table a 1.0 plugin has. It fails loudly so tests see that.
tokend_status f_list_entries_beyond_table(tokend_store* store, tokend_namespace, const void*, size_t, uint32_t,
                                          tokend_reply* reply) {
    static const char message[] = "faulty store: list_entries lies outside a 1.0 table; the host must not call it";
    self(store)->host->reply_error(reply, message, sizeof message - 1);
    return TOKEND_INTERNAL;
}

tokend_status f_put_if_equal_beyond_table(tokend_store* store, tokend_namespace, const void*, size_t, const void*,
                                          size_t, const void*, size_t, const uint64_t*, tokend_reply* reply) {
    static const char message[] = "faulty store: put_if_equal lies outside a 1.0 table; the host must not call it";
    self(store)->host->reply_error(reply, message, sizeof message - 1);
    return TOKEND_INTERNAL;
}

tokend_status f_validate_options_beyond_table(const char*, size_t, const tokend_host_api* host, void*,
                                              tokend_reply* reply) {
    static const char message[] = "faulty store: validate_options lies outside a 1.0 table; the host must not call it";
    host->reply_error(reply, message, sizeof message - 1);
    return TOKEND_INTERNAL;
}

// Says every key is absent: a host that called it would turn away every flow
// (the integration tests complete flows on this store).
tokend_status f_absent_now_beyond_table(tokend_store*, tokend_namespace, const void*, size_t) {
    return TOKEND_NOT_FOUND;
}

// struct_size as a plugin compiled against the 1.0 header has it.
constexpr uint32_t kTableSize1_0 = offsetof(tokend_store_plugin, list_entries);
static_assert(kTableSize1_0 == TOKEND_STORE_PLUGIN_MIN_SIZE + 4 * sizeof(void*), "the 1.0 table ends after subscribe");

const tokend_store_plugin kTable = {
    kTableSize1_0, (TOKEND_STORE_ABI_MAJOR << 16) | 0, "faulty", "1.0.0", TOKEND_STORE_CAP_THREAD_SAFE,
    f_open, f_close, f_get, f_put, f_del, f_take, f_list, nullptr, nullptr, nullptr, nullptr,
    f_list_entries_beyond_table, f_put_if_equal_beyond_table, f_validate_options_beyond_table,
    f_absent_now_beyond_table};

}  // namespace

extern "C" TOKEND_EXPORT uint32_t tokend_store_abi_version(void) { return TOKEND_STORE_ABI_MAJOR << 16; }
extern "C" TOKEND_EXPORT const tokend_store_plugin* tokend_store_plugin_entry(void) { return &kTable; }
