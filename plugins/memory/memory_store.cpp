// The in-process store: keeps everything in memory, loses it at exit. It is the
// test backend and the reference implementation of every capability: instances
// opened with the same "name" share data, leases and change notifications, so
// the conformance suite can play several tokend processes inside one.
// Each entry point is one call of the shared glue (plugins/common/abi_glue.h).
#include "abi_glue.h"
#include "option_helpers.h"
#include "packed_values.h"

#include <tokend/store.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Lease {
    uint64_t fencing_token = 0;
    Clock::time_point expires;
};

struct Backing;

}  // namespace

// The instance handle the host holds. Defined here, opaque to the host.
struct tokend_store {
    std::shared_ptr<Backing> backing;
    const tokend_host_api* host = nullptr;
    tokend_change_fn change_fn = nullptr;
    void* change_ctx = nullptr;
};

namespace {

using tokend::plugin_support::absent_call;
using tokend::plugin_support::bytes;
using tokend::plugin_support::check_input;
using tokend::plugin_support::close_call;
using tokend::plugin_support::keyed_call;
using tokend::plugin_support::open_call;
using tokend::plugin_support::page_call;
using tokend::plugin_support::Status;
using tokend::plugin_support::store_call;

using Instance = tokend_store;

constexpr const char* kWho = "memory store";

// What instances of one name share.
struct Backing {
    std::mutex mutex;
    tokend::memory_store::PackedValues values[2];
    std::map<std::string, Lease> leases[2];
    // One counter per namespace: every key's fences still only grow, and a key
    // once leased leaves no entry behind (a million users, a million nodes).
    uint64_t last_fence[2] = {0, 0};
    std::vector<Instance*> subscribers;
};

std::mutex registry_mutex;
std::map<std::string, std::weak_ptr<Backing>>& registry() {
    static auto* named = new std::map<std::string, std::weak_ptr<Backing>>();
    return *named;
}

Status invalid(std::string message) { return Status::error(TOKEND_INVALID, std::move(message)); }

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

// The one option, "name" (instances with the same name share data). With
// problems (validate_options) every bad option is recorded, not only the first.
Status parse_options(std::string_view text, std::string* name, tokend::plugin_support::OptionProblems* problems) {
    nlohmann::json config;
    Status status = tokend::plugin_support::parse_options_object(text, &config);
    if (!status.ok()) return status;
    for (auto it = config.begin(); it != config.end(); ++it) {
        if (it.key() == "name") {
            status = tokend::plugin_support::string_option(*it, "name", name, true);
        } else {
            status = invalid("memory store: unknown option '" + tokend::plugin_support::printable(it.key()) + "'");
        }
        if (!status.ok() && tokend::plugin_support::stop_parsing(status, it.key(), problems)) return status;
    }
    return Status::success();
}

// Nothing to create or reach: checking the options is parsing them.
tokend_status memory_validate_options(const char* config_json, size_t config_len, const tokend_host_api* host,
                                      void*, tokend_reply* reply) {
    return tokend::plugin_support::validate_call(
        kWho, config_json, config_len, host, reply,
        [&](std::string_view text, tokend::plugin_support::OptionProblems* problems) {
            std::string name;
            return parse_options(text, &name, problems);
        });
}

tokend_status memory_open(const char* config_json, size_t config_len, const tokend_host_api* host,
                          void*, tokend_store** out, tokend_reply* reply) {
    return open_call(kWho, config_json, config_len, host, out, reply, [&](std::string_view text) {
        std::string name;
        Status status = parse_options(text, &name, nullptr);
        if (!status.ok()) return status;
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
        *out = instance.release();
        return Status::success();
    });
}

void memory_close(tokend_store* store) {
    if (store != nullptr) {
        std::lock_guard<std::mutex> hold(store->backing->mutex);
        std::erase(store->backing->subscribers, store);
    }
    close_call(store);
}

tokend_status memory_get(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                         tokend_reply* reply) {
    return keyed_call(kWho, store, ns, key, key_len, reply, [&](Instance& self, std::string_view name) {
        std::lock_guard<std::mutex> hold(self.backing->mutex);
        auto& values = self.backing->values[ns];
        auto it = values.find(name);
        if (it == values.end()) return Status{TOKEND_NOT_FOUND, {}};
        self.host->reply_value(reply, it->value().data(), it->value().size());
        return Status::success();
    });
}

tokend_status memory_put(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                         const void* value, size_t value_len, tokend_reply* reply) {
    return keyed_call(kWho, store, ns, key, key_len, reply, [&](Instance& self, std::string_view name) {
        Status status = check_input(value, value_len, "value");
        if (!status.ok()) return status;
        std::string key_text(name);
        std::lock_guard<std::mutex> hold(self.backing->mutex);
        tokend::memory_store::put_value(self.backing->values[ns], key_text, bytes(value, value_len));
        notify(&self, ns, TOKEND_CHANGE_PUT, key_text);
        return Status::success();
    });
}

tokend_status memory_del(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                         tokend_reply* reply) {
    return keyed_call(kWho, store, ns, key, key_len, reply, [&](Instance& self, std::string_view name) {
        std::string key_text(name);
        std::lock_guard<std::mutex> hold(self.backing->mutex);
        auto& values = self.backing->values[ns];
        if (auto it = values.find(key_text); it != values.end()) {
            values.erase(it);
            notify(&self, ns, TOKEND_CHANGE_DELETE, key_text);
        }
        return Status::success();
    });
}

tokend_status memory_take(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                          tokend_reply* reply) {
    return keyed_call(kWho, store, ns, key, key_len, reply, [&](Instance& self, std::string_view name) {
        std::string key_text(name);
        std::lock_guard<std::mutex> hold(self.backing->mutex);
        auto& values = self.backing->values[ns];
        auto it = values.find(key_text);
        if (it == values.end()) return Status{TOKEND_NOT_FOUND, {}};
        self.host->reply_value(reply, it->value().data(), it->value().size());
        values.erase(it);
        notify(&self, ns, TOKEND_CHANGE_DELETE, key_text);
        return Status::success();
    });
}

// The cursor is the last key given; keys are sorted, so the next page starts after it.
// give hands one entry to the host and returns its reply (non-zero: stop).
template <typename Give>
tokend_status list_page(tokend_store* store, tokend_namespace ns, const void* cursor, size_t cursor_len,
                        uint32_t limit, tokend_reply* reply, Give&& give) {
    return page_call(kWho, store, ns, cursor, cursor_len, reply,
                     [&](Instance& self, std::string_view from, std::string* next) {
                         if (limit == 0) return invalid("limit must be at least 1");
                         std::lock_guard<std::mutex> hold(self.backing->mutex);
                         auto& values = self.backing->values[ns];
                         auto it = from.empty() ? values.begin() : values.upper_bound(from);
                         uint32_t given = 0;
                         for (; it != values.end(); ++it) {
                             ++given;
                             const bool host_full = give(self.host, *it) != 0;
                             if (host_full || given == limit) {
                                 if (std::next(it) != values.end()) *next = it->key();
                                 break;
                             }
                         }
                         return Status::success();
                     });
}

tokend_status memory_list(tokend_store* store, tokend_namespace ns, const void* cursor,
                          size_t cursor_len, uint32_t limit, tokend_reply* reply) {
    return list_page(store, ns, cursor, cursor_len, limit, reply,
                     [reply](const tokend_host_api* host, const auto& entry) {
                         return host->reply_key(reply, entry.key().data(), entry.key().size());
                     });
}

// Keys and values are read under the one mutex, so each value is the key's at that moment.
tokend_status memory_list_entries(tokend_store* store, tokend_namespace ns, const void* cursor,
                                  size_t cursor_len, uint32_t limit, tokend_reply* reply) {
    return list_page(store, ns, cursor, cursor_len, limit, reply,
                     [reply](const tokend_host_api* host, const auto& entry) {
                         return host->reply_entry(reply, entry.key().data(), entry.key().size(),
                                                  entry.value().data(), entry.value().size());
                     });
}

tokend_status memory_lock_acquire(tokend_store* store, tokend_namespace ns, const void* key,
                                  size_t key_len, uint32_t ttl_ms, uint64_t* fencing_token,
                                  tokend_reply* reply) {
    return keyed_call(kWho, store, ns, key, key_len, reply, [&](Instance& self, std::string_view name) {
        if (ttl_ms == 0) return invalid("lease ttl must be positive");
        if (fencing_token == nullptr) return invalid("lock_acquire: fencing_token is NULL");
        std::string key_text(name);
        std::lock_guard<std::mutex> hold(self.backing->mutex);
        Backing& backing = *self.backing;
        if (live_lease(backing, ns, key_text) != nullptr) {
            return Status::error(TOKEND_CONFLICT, "lease is held by another owner");
        }
        const uint64_t fence = ++backing.last_fence[ns];
        backing.leases[ns][key_text] = Lease{fence, Clock::now() + std::chrono::milliseconds(ttl_ms)};
        *fencing_token = fence;
        return Status::success();
    });
}

tokend_status memory_lock_release(tokend_store* store, tokend_namespace ns, const void* key,
                                  size_t key_len, uint64_t fencing_token, tokend_reply* reply) {
    return keyed_call(kWho, store, ns, key, key_len, reply, [&](Instance& self, std::string_view name) {
        std::string key_text(name);
        std::lock_guard<std::mutex> hold(self.backing->mutex);
        const Lease* lease = live_lease(*self.backing, ns, key_text);
        if (lease != nullptr && lease->fencing_token == fencing_token) self.backing->leases[ns].erase(key_text);
        return Status::success();
    });
}

tokend_status memory_put_fenced(tokend_store* store, tokend_namespace ns, const void* key,
                                size_t key_len, const void* value, size_t value_len,
                                uint64_t fencing_token, tokend_reply* reply) {
    return keyed_call(kWho, store, ns, key, key_len, reply, [&](Instance& self, std::string_view name) {
        Status status = check_input(value, value_len, "value");
        if (!status.ok()) return status;
        std::string key_text(name);
        std::lock_guard<std::mutex> hold(self.backing->mutex);
        const Lease* lease = live_lease(*self.backing, ns, key_text);
        if (lease == nullptr || lease->fencing_token != fencing_token) {
            return Status::error(TOKEND_CONFLICT, "fencing token no longer holds the lease");
        }
        tokend::memory_store::put_value(self.backing->values[ns], key_text, bytes(value, value_len));
        notify(&self, ns, TOKEND_CHANGE_PUT, key_text);
        return Status::success();
    });
}

// Fence, presence, comparison and write under the one mutex every writer takes.
tokend_status memory_put_if_equal(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len,
                                  const void* expected, size_t expected_len, const void* value,
                                  size_t value_len, const uint64_t* fencing_token, tokend_reply* reply) {
    return keyed_call(kWho, store, ns, key, key_len, reply, [&](Instance& self, std::string_view name) {
        Status status = check_input(expected, expected_len, "expected");
        if (status.ok()) status = check_input(value, value_len, "value");
        if (!status.ok()) return status;
        std::string key_text(name);
        std::lock_guard<std::mutex> hold(self.backing->mutex);
        if (fencing_token != nullptr) {
            const Lease* lease = live_lease(*self.backing, ns, key_text);
            if (lease == nullptr || lease->fencing_token != *fencing_token) {
                return Status::error(TOKEND_CONFLICT, "fencing token no longer holds the lease");
            }
        }
        auto& values = self.backing->values[ns];
        auto it = values.find(key_text);
        if (it == values.end()) return Status{TOKEND_NOT_FOUND, {}};
        if (it->value() != bytes(expected, expected_len)) {
            self.host->reply_value(reply, it->value().data(), it->value().size());
            return Status::error(TOKEND_CONFLICT, "the stored value changed");
        }
        it->set_value(bytes(value, value_len));
        notify(&self, ns, TOKEND_CHANGE_PUT, key_text);
        return Status::success();
    });
}

tokend_status memory_subscribe(tokend_store* store, tokend_change_fn fn, void* ctx, tokend_reply* reply) {
    return store_call(kWho, store, reply, [&](Instance& self) {
        if (fn == nullptr) return invalid("no callback given");
        std::lock_guard<std::mutex> hold(self.backing->mutex);
        if (self.change_fn != nullptr) return invalid("already subscribed");
        self.change_fn = fn;
        self.change_ctx = ctx;
        self.backing->subscribers.push_back(&self);
        return Status::success();
    });
}

// Answered under the one mutex, which no call holds for longer than a map
// operation: the loop thread may ask (store ABI 1.4).
tokend_status memory_absent_now(tokend_store* store, tokend_namespace ns, const void* key, size_t key_len) {
    return absent_call(store, ns, key, key_len, [&](Instance& self, std::string_view name) {
        std::string key_text(name);
        std::lock_guard<std::mutex> hold(self.backing->mutex);
        return self.backing->values[ns].contains(std::string_view(key_text)) ? TOKEND_OK : TOKEND_NOT_FOUND;
    });
}

const tokend_store_plugin kPlugin = {
    sizeof(tokend_store_plugin),
    TOKEND_STORE_ABI_VERSION,
    "memory",
    "1.4.0",
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
    memory_put_if_equal,
    memory_validate_options,
    memory_absent_now,
};

}  // namespace

extern "C" TOKEND_EXPORT uint32_t tokend_store_abi_version(void) { return TOKEND_STORE_ABI_VERSION; }
extern "C" TOKEND_EXPORT const tokend_store_plugin* tokend_store_plugin_entry(void) { return &kPlugin; }
