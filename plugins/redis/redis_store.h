// One open redis store: the operations of the store ABI in the original
// module's key layout (key_layout.h), each write one atomic Lua script that
// also publishes the change. Thread-safe: calls run on pooled connections.
#pragma once

#include "connection_pool.h"
#include "key_layout.h"
#include "list_cursor.h"
#include "options.h"
#include "status.h"
#include "subscriber.h"

#include <tokend/store.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tokend::redis_store {

class RedisStore {
public:
    using Log = std::function<void(tokend_log_level, const std::string&)>;

    // Connects and checks that Redis answers (as the original did at start).
    static Status open(Options options, Log log, std::unique_ptr<RedisStore>* out);
    ~RedisStore();

    // TOKEND_NOT_FOUND (no message) when absent.
    Status get(tokend_namespace ns, std::string_view key, std::string* value);
    Status put(tokend_namespace ns, std::string_view key, std::string_view value);
    Status del(tokend_namespace ns, std::string_view key);
    Status take(tokend_namespace ns, std::string_view key, std::string* value);
    // One page: gives keys to `give` (false: the host wants no more) and sets
    // *next to the cursor of the next page, empty when the listing is complete.
    Status list(tokend_namespace ns, std::string_view cursor, uint32_t limit,
                const std::function<bool(std::string_view)>& give, std::string* next);
    // list() with values: after the page's SSCAN, one MGET for all its keys. Keys
    // deleted since the SSCAN are left out.
    Status list_entries(tokend_namespace ns, std::string_view cursor, uint32_t limit,
                        const std::function<bool(std::string_view key, std::string_view value)>& give,
                        std::string* next);

    Status lock_acquire(tokend_namespace ns, std::string_view key, uint32_t ttl_ms, uint64_t* fence);
    Status lock_release(tokend_namespace ns, std::string_view key, uint64_t fence);
    Status put_fenced(tokend_namespace ns, std::string_view key, std::string_view value,
                      uint64_t fence);

    // Writes only if the key holds exactly `expected` (and, with a fence, while
    // it holds the lease): one script. TOKEND_NOT_FOUND when absent; TOKEND_CONFLICT
    // with *changed and *current set when it holds other bytes, without them
    // when the fence lost the lease.
    Status put_if_equal(tokend_namespace ns, std::string_view key, std::string_view expected,
                        std::string_view value, const uint64_t* fence, std::string* current, bool* changed);

    Status subscribe(tokend_change_fn fn, void* ctx);

private:
    RedisStore(Options options, Log log);
    // INVALID when Redis reports cluster_enabled:1 (INFO cluster).
    Status refuse_cluster();
    // Says whether a write script's reply means it wrote (and so must replicate).
    using Wrote = bool (*)(const redisReply& reply);
    // Runs a script; *reply is its answer unless the status is an error. With
    // `wrote` and wait_replicas set, a script that wrote is followed by WAIT on
    // the same connection: WAIT counts the writes of the connection it is sent on.
    Status eval(bool idempotent, const char* script, const std::vector<std::string_view>& keys,
                const std::vector<std::string_view>& args, Reply* reply, std::string_view doing,
                Wrote wrote = nullptr);
    // WAIT wait_replicas wait_timeout_ms after a user context was written: too
    // few replicas is UNAVAILABLE (wait_on_timeout: fail) or a warning (warn).
    Status wait_for_replicas(Connection& connection, std::string_view doing);
    // The writes WAIT guards: user contexts, i.e. tokens (docs/redis.md, "Grants that survive a failover").
    Wrote durable(tokend_namespace ns, Wrote wrote) const {
        return options_.wait_replicas > 0 && ns == TOKEND_NS_USER ? wrote : nullptr;
    }
    // Up to limit keys of the next page into *keys: the cursor's pending keys,
    // then one SSCAN batch if those were not enough. Advances cursor.
    Status next_keys(tokend_namespace ns, ListCursor& cursor, uint32_t limit, std::vector<std::string>* keys);
    // list and list_entries alike: checks limit and cursor, then the page's keys.
    Status page_keys(const char* operation, tokend_namespace ns, std::string_view cursor_text,
                     uint32_t limit, ListCursor* cursor, std::vector<std::string>* keys);
    std::string holder(uint64_t fence) const { return origin_ + " " + std::to_string(fence); }

    const Options options_;
    const Log log_;
    const KeyLayout layout_;
    const std::string origin_;  // this instance's random id: lease owner and change origin
    ConnectionPool pool_;
    std::unique_ptr<Subscriber> subscriber_;
};

}  // namespace tokend::redis_store
