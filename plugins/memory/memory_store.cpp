// The in-process store: keeps everything in memory, loses it at exit. It is the
// test backend and the reference implementation of every capability: instances
// opened with the same "name" share data, leases and change notifications, so
// the conformance suite can play several tokend processes inside one.
#include <tokend/store.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Lease {
    uint64_t fencing_token = 0;
    Clock::time_point expires;
};

struct Instance;

// What instances of one name share.
struct Backing {
    std::mutex mutex;
    std::map<std::string, std::string> values[2];
    std::map<std::string, Lease> leases[2];
    std::map<std::string, uint64_t> last_fence[2];  // per key, so fences only grow
    std::vector<Instance*> subscribers;
};

struct Instance {
    std::shared_ptr<Backing> backing;
    const tokend_host_api* host = nullptr;
    tokend_change_fn change_fn = nullptr;
    void* change_ctx = nullptr;
};

std::mutex registry_mutex;
std::map<std::string, std::weak_ptr<Backing>>& registry() {
    static auto* named = new std::map<std::string, std::weak_ptr<Backing>>();
    return *named;
}

Instance* as_instance(tokend_store* store) { return reinterpret_cast<Instance*>(store); }
std::string to_string(const void* data, size_t len) {
    return len == 0 ? std::string() : std::string(static_cast<const char*>(data), len);
}

tokend_status fail(const tokend_host_api* host, tokend_reply* reply, tokend_status status,
                   const std::string& message) {
    if (host != nullptr) host->reply_error(reply, message.data(), message.size());
    return status;
}

bool valid_ns(tokend_namespace ns) { return ns == TOKEND_NS_USER || ns == TOKEND_NS_FLOW; }

// Tells every other subscribed instance of the backing. Caller holds backing->mutex;
// callbacks must not call into the store (ABI rule), so this cannot deadlock.
void notify(Instance* origin, tokend_namespace ns, tokend_change change, const std::string& key) {
    for (Instance* other : origin->backing->subscribers) {
        if (other != origin) other->change_fn(other->change_ctx, ns, change, key.data(), key.size());
    }
}

// A lease that has lapsed is as good as absent.
const Lease* live_lease(Backing& backing, tokend_namespace ns, const std::string& key) {
    auto it = backing.leases[ns].find(key);
    if (it == backing.leases[ns].end()) return nullptr;
    if (it->second.expires <= Clock::now()) {
        backing.leases[ns].erase(it);
        return nullptr;
    }
    return &it->second;
}

tokend_status memory_open(const char* config_json, size_t config_len, const tokend_host_api* host,
                          void*, tokend_store** out, tokend_reply* reply) try {
    *out = nullptr;
    const auto config = nlohmann::json::parse(config_json, config_json + config_len, nullptr, false);
    if (config.is_discarded() || !config.is_object()) {
        return fail(host, reply, TOKEND_INVALID, "memory store options must be a JSON object");
    }
    std::string name;
    for (auto it = config.begin(); it != config.end(); ++it) {
        if (it.key() == "name" && it->is_string()) {
            name = it->get<std::string>();
        } else if (it.key() == "name") {
            return fail(host, reply, TOKEND_INVALID, "memory store option 'name' must be a string");
        } else {
            return fail(host, reply, TOKEND_INVALID, "memory store: unknown option '" + it.key() + "'");
        }
    }
    auto instance = std::make_unique<Instance>();
    instance->host = host;
    if (name.empty()) {
        instance->backing = std::make_shared<Backing>();
    } else {
        std::lock_guard<std::mutex> hold(registry_mutex);
        // Forget names whose instances are all closed, so the registry does not grow.
        std::erase_if(registry(), [](const auto& item) { return item.second.expired(); });
        auto& slot = registry()[name];
        instance->backing = slot.lock();
        if (!instance->backing) {
            instance->backing = std::make_shared<Backing>();
            slot = instance->backing;
        }
    }
    *out = reinterpret_cast<tokend_store*>(instance.release());
    return TOKEND_OK;
} catch (...) {
    return fail(host, reply, TOKEND_INTERNAL, "memory store: out of memory");
}

void memory_close(tokend_store* store) {
    Instance* instance = as_instance(store);
    {
        std::lock_guard<std::mutex> hold(instance->backing->mutex);
        auto& subscribers = instance->backing->subscribers;
        std::erase(subscribers, instance);
    }
    delete instance;
}

tokend_status memory_get(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                         tokend_reply* reply) try {
    Instance* self = as_instance(store);
    if (!valid_ns(ns)) return fail(self->host, reply, TOKEND_INVALID, "unknown namespace");
    std::lock_guard<std::mutex> hold(self->backing->mutex);
    auto& values = self->backing->values[ns];
    auto it = values.find(to_string(key, key_len));
    if (it == values.end()) return TOKEND_NOT_FOUND;
    self->host->reply_value(reply, it->second.data(), it->second.size());
    return TOKEND_OK;
} catch (...) {
    return fail(as_instance(store)->host, reply, TOKEND_INTERNAL, "memory store: out of memory");
}

tokend_status memory_put(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                         const void* value, size_t value_len, tokend_reply* reply) try {
    Instance* self = as_instance(store);
    if (!valid_ns(ns)) return fail(self->host, reply, TOKEND_INVALID, "unknown namespace");
    std::string name = to_string(key, key_len);
    std::lock_guard<std::mutex> hold(self->backing->mutex);
    self->backing->values[ns][name] = to_string(value, value_len);
    notify(self, ns, TOKEND_CHANGE_PUT, name);
    return TOKEND_OK;
} catch (...) {
    return fail(as_instance(store)->host, reply, TOKEND_INTERNAL, "memory store: out of memory");
}

tokend_status memory_del(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                         tokend_reply* reply) try {
    Instance* self = as_instance(store);
    if (!valid_ns(ns)) return fail(self->host, reply, TOKEND_INVALID, "unknown namespace");
    std::string name = to_string(key, key_len);
    std::lock_guard<std::mutex> hold(self->backing->mutex);
    if (self->backing->values[ns].erase(name) > 0) notify(self, ns, TOKEND_CHANGE_DELETE, name);
    return TOKEND_OK;
} catch (...) {
    return fail(as_instance(store)->host, reply, TOKEND_INTERNAL, "memory store: out of memory");
}

tokend_status memory_take(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                          tokend_reply* reply) try {
    Instance* self = as_instance(store);
    if (!valid_ns(ns)) return fail(self->host, reply, TOKEND_INVALID, "unknown namespace");
    std::string name = to_string(key, key_len);
    std::lock_guard<std::mutex> hold(self->backing->mutex);
    auto& values = self->backing->values[ns];
    auto it = values.find(name);
    if (it == values.end()) return TOKEND_NOT_FOUND;
    self->host->reply_value(reply, it->second.data(), it->second.size());
    values.erase(it);
    notify(self, ns, TOKEND_CHANGE_DELETE, name);
    return TOKEND_OK;
} catch (...) {
    return fail(as_instance(store)->host, reply, TOKEND_INTERNAL, "memory store: out of memory");
}

// The cursor is the last key given; keys are sorted, so the next page starts after it.
// give hands one entry to the host and returns its reply (non-zero: stop).
template <typename Give>
tokend_status list_page(tokend_store* store, tokend_namespace ns, const void* cursor, size_t cursor_len,
                        uint32_t limit, tokend_reply* reply, Give&& give) try {
    Instance* self = as_instance(store);
    if (!valid_ns(ns)) return fail(self->host, reply, TOKEND_INVALID, "unknown namespace");
    if (limit == 0) return fail(self->host, reply, TOKEND_INVALID, "limit must be at least 1");
    std::lock_guard<std::mutex> hold(self->backing->mutex);
    auto& values = self->backing->values[ns];
    auto it = cursor_len == 0 ? values.begin() : values.upper_bound(to_string(cursor, cursor_len));
    uint32_t given = 0;
    for (; it != values.end(); ++it) {
        ++given;
        const bool host_full = give(self->host, *it) != 0;
        if (host_full || given == limit) {
            if (std::next(it) != values.end()) {
                self->host->reply_cursor(reply, it->first.data(), it->first.size());
            }
            break;
        }
    }
    return TOKEND_OK;
} catch (...) {
    return fail(as_instance(store)->host, reply, TOKEND_INTERNAL, "memory store: out of memory");
}

tokend_status memory_list(tokend_store* store, tokend_namespace ns, const void* cursor,
                          size_t cursor_len, uint32_t limit, tokend_reply* reply) {
    return list_page(store, ns, cursor, cursor_len, limit, reply,
                     [reply](const tokend_host_api* host, const auto& entry) {
                         return host->reply_key(reply, entry.first.data(), entry.first.size());
                     });
}

// Keys and values are read under the one mutex, so each value is the key's at that moment.
tokend_status memory_list_entries(tokend_store* store, tokend_namespace ns, const void* cursor,
                                  size_t cursor_len, uint32_t limit, tokend_reply* reply) {
    return list_page(store, ns, cursor, cursor_len, limit, reply,
                     [reply](const tokend_host_api* host, const auto& entry) {
                         return host->reply_entry(reply, entry.first.data(), entry.first.size(),
                                                  entry.second.data(), entry.second.size());
                     });
}

tokend_status memory_lock_acquire(tokend_store* store, tokend_namespace ns, const void* key,
                                  size_t key_len, uint32_t ttl_ms, uint64_t* fencing_token,
                                  tokend_reply* reply) try {
    Instance* self = as_instance(store);
    if (!valid_ns(ns)) return fail(self->host, reply, TOKEND_INVALID, "unknown namespace");
    if (ttl_ms == 0) return fail(self->host, reply, TOKEND_INVALID, "lease ttl must be positive");
    std::string name = to_string(key, key_len);
    std::lock_guard<std::mutex> hold(self->backing->mutex);
    Backing& backing = *self->backing;
    if (live_lease(backing, ns, name) != nullptr) {
        return fail(self->host, reply, TOKEND_CONFLICT, "lease is held by another owner");
    }
    const uint64_t fence = ++backing.last_fence[ns][name];
    backing.leases[ns][name] = Lease{fence, Clock::now() + std::chrono::milliseconds(ttl_ms)};
    *fencing_token = fence;
    return TOKEND_OK;
} catch (...) {
    return fail(as_instance(store)->host, reply, TOKEND_INTERNAL, "memory store: out of memory");
}

tokend_status memory_lock_release(tokend_store* store, tokend_namespace ns, const void* key,
                                  size_t key_len, uint64_t fencing_token, tokend_reply* reply) try {
    Instance* self = as_instance(store);
    if (!valid_ns(ns)) return fail(self->host, reply, TOKEND_INVALID, "unknown namespace");
    std::string name = to_string(key, key_len);
    std::lock_guard<std::mutex> hold(self->backing->mutex);
    const Lease* lease = live_lease(*self->backing, ns, name);
    if (lease != nullptr && lease->fencing_token == fencing_token) self->backing->leases[ns].erase(name);
    return TOKEND_OK;
} catch (...) {
    return fail(as_instance(store)->host, reply, TOKEND_INTERNAL, "memory store: out of memory");
}

tokend_status memory_put_fenced(tokend_store* store, tokend_namespace ns, const void* key,
                                size_t key_len, const void* value, size_t value_len,
                                uint64_t fencing_token, tokend_reply* reply) try {
    Instance* self = as_instance(store);
    if (!valid_ns(ns)) return fail(self->host, reply, TOKEND_INVALID, "unknown namespace");
    std::string name = to_string(key, key_len);
    std::lock_guard<std::mutex> hold(self->backing->mutex);
    const Lease* lease = live_lease(*self->backing, ns, name);
    if (lease == nullptr || lease->fencing_token != fencing_token) {
        return fail(self->host, reply, TOKEND_CONFLICT, "fencing token no longer holds the lease");
    }
    self->backing->values[ns][name] = to_string(value, value_len);
    notify(self, ns, TOKEND_CHANGE_PUT, name);
    return TOKEND_OK;
} catch (...) {
    return fail(as_instance(store)->host, reply, TOKEND_INTERNAL, "memory store: out of memory");
}

tokend_status memory_subscribe(tokend_store* store, tokend_change_fn fn, void* ctx,
                               tokend_reply* reply) try {
    Instance* self = as_instance(store);
    if (fn == nullptr) return fail(self->host, reply, TOKEND_INVALID, "no callback given");
    std::lock_guard<std::mutex> hold(self->backing->mutex);
    if (self->change_fn != nullptr) return fail(self->host, reply, TOKEND_INVALID, "already subscribed");
    self->change_fn = fn;
    self->change_ctx = ctx;
    self->backing->subscribers.push_back(self);
    return TOKEND_OK;
} catch (...) {
    return fail(as_instance(store)->host, reply, TOKEND_INTERNAL, "memory store: out of memory");
}

const tokend_store_plugin kPlugin = {
    sizeof(tokend_store_plugin),
    TOKEND_STORE_ABI_VERSION,
    "memory",
    "1.1.0",
    TOKEND_STORE_CAP_THREAD_SAFE | TOKEND_STORE_CAP_LOCK | TOKEND_STORE_CAP_NOTIFY,
    memory_open,
    memory_close,
    memory_get,
    memory_put,
    memory_del,
    memory_take,
    memory_list,
    memory_lock_acquire,
    memory_lock_release,
    memory_put_fenced,
    memory_subscribe,
    memory_list_entries,
};

}  // namespace

extern "C" TOKEND_EXPORT uint32_t tokend_store_abi_version(void) { return TOKEND_STORE_ABI_VERSION; }
extern "C" TOKEND_EXPORT const tokend_store_plugin* tokend_store_plugin_entry(void) { return &kPlugin; }
