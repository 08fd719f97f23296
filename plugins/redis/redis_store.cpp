#include "redis_store.h"

#include "list_cursor.h"
#include "scripts.h"
#include "sentinel.h"

#include <algorithm>
#include <chrono>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <random>

namespace tokend::redis_store {
namespace {

std::string random_origin() {
    std::random_device device;
    const uint64_t bits = (static_cast<uint64_t>(device()) << 32) | device();
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(bits));
    return text;
}

// Now as Python's datetime.isoformat() writes an aware UTC time, as the
// original stored its flow-maintenance mark.
std::string iso_now() {
    const auto now = std::chrono::system_clock::now();
    const auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
    const std::time_t seconds = static_cast<std::time_t>(micros / 1000000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char text[96];
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06d+00:00", utc.tm_year + 1900,
                  utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                  static_cast<int>(micros % 1000000));
    return text;
}

std::string_view text_of(const redisReply& reply) {
    return reply.str != nullptr ? std::string_view(reply.str, reply.len) : std::string_view();
}

Status unexpected(std::string_view doing) {
    return Status::error(TOKEND_INTERNAL, "redis " + std::string(doing) + ": unexpected reply type");
}

}  // namespace

RedisStore::RedisStore(Options options, Log log)
    : options_(std::move(options)),
      log_(std::move(log)),
      layout_(options_.key_prefix, options_.channel),
      origin_(random_origin()),
      pool_(options_, [this](bool healthy, const std::string& why) {
          if (healthy) {
              log_(TOKEND_LOG_INFO, "redis " + options_.endpoint.describe() + " answers again");
          } else {
              log_(TOKEND_LOG_WARN, why + "; writes fail until it is back, retrying");
          }
      }) {}

RedisStore::~RedisStore() = default;

Status RedisStore::open(Options options, Log log, std::unique_ptr<RedisStore>* out) {
    if (!options.sentinels.empty()) {
        // Ask the sentinels where the master is before anything connects to it.
        options.master = std::make_shared<MasterTracker>(options.endpoint, options.sentinels,
                                                         options.sentinel_master, options.connect_timeout_ms,
                                                         options.command_timeout_ms, log);
        if (Status status = options.master->resolve(); !status.ok()) return status;
        uint64_t generation = 0;
        log(TOKEND_LOG_INFO, "redis sentinel: master " + options.sentinel_master + " is at " +
                                 options.master->current(&generation).describe());
        options.master->start();
    }
    std::unique_ptr<RedisStore> store(new RedisStore(std::move(options), std::move(log)));
    if (store->options_.url_ignored) {
        store->log_(TOKEND_LOG_INFO, "redis_host and redis_url are both set: using redis_host " +
                                         store->options_.endpoint.describe() + ", as the original did");
    }
    const Endpoint& endpoint = store->options_.endpoint;
    if (endpoint.tls && store->options_.tls.skip_verify) {
        store->log_(TOKEND_LOG_WARN,
                    "redis TLS to " + endpoint.describe() +
                        ": CERTIFICATE VERIFICATION IS OFF (tls_skip_verify: true); anyone on the path can "
                        "pose as Redis and read or change every token; give tls_ca_file instead");
    }
    // Redis must answer now: a wrong address or password stops tokend at start.
    Status status = store->pool_.run(true, [](Connection& connection) {
        Reply reply;
        Status sent = connection.command({"PING"}, &reply);
        if (!sent.ok()) return sent;
        if (reply->type != REDIS_REPLY_ERROR) return Status::success();
        Status refused = server_error(*reply, "PING");
        // Not logged in: the operator must give the password (or the right one).
        const std::string_view text = text_of(*reply);
        if (text.starts_with("NOAUTH") || text.starts_with("WRONGPASS")) refused.code = TOKEND_INVALID;
        return refused;
    });
    if (!status.ok()) {
        std::unique_ptr<Connection> probe;  // say why without the backoff's wording
        Status direct = store->pool_.connect(&probe);
        return direct.ok() ? status : direct;
    }
    if (Status cluster = store->refuse_cluster(); !cluster.ok()) return cluster;
    *out = std::move(store);
    return Status::success();
}

// Redis Cluster is refused (docs/redis.md, "Redis Cluster"): the original's
// layout keeps the users and flows sets beside the user-* and flows-* keys, and
// every write script touches both, which hash to different slots.
Status RedisStore::refuse_cluster() {
    Reply reply;
    Status status = pool_.run(true, [&](Connection& connection) {
        return connection.command({"INFO", "cluster"}, &reply);
    });
    if (!status.ok()) return status;
    if (reply->type == REDIS_REPLY_ERROR) {
        // An ACL without INFO: say so once; a cluster then fails on its first write.
        log_(TOKEND_LOG_WARN, "redis " + options_.endpoint.describe() +
                                  " refused INFO cluster, so tokend cannot check that it is not a "
                                  "Redis Cluster node (the minimal ACL in docs/redis.md allows it): " +
                                  std::string(text_of(*reply).substr(0, 200)));
        return Status::success();
    }
    if (reply->type != REDIS_REPLY_STRING && reply->type != REDIS_REPLY_STATUS) return Status::success();
    if (text_of(*reply).find("cluster_enabled:1") != std::string_view::npos) {
        return Status::error(TOKEND_INVALID,
                             "redis " + options_.endpoint.describe() +
                                 " is a Redis Cluster node (cluster_enabled:1): not supported, because the "
                                 "original's key layout keeps the users and flows sets beside the user-* "
                                 "and flows-* keys and every write updates both in one script, which a "
                                 "cluster refuses across hash slots (CROSSSLOT); use a single Redis, "
                                 "with replicas and Sentinel for availability (docs/redis.md)");
    }
    return Status::success();
}

Status RedisStore::eval(bool idempotent, const char* script, const std::vector<std::string_view>& keys,
                        const std::vector<std::string_view>& args, Reply* reply,
                        std::string_view doing, Wrote wrote) {
    const std::string key_count = std::to_string(keys.size());
    std::vector<std::string_view> argv{"EVAL", script, key_count};
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    return pool_.run(idempotent, [&](Connection& connection) {
        Status status = connection.command(argv, reply);
        if (!status.ok()) return status;
        if ((*reply)->type == REDIS_REPLY_ERROR) return server_error(**reply, doing);
        if (wrote != nullptr && wrote(**reply)) return wait_for_replicas(connection, doing);
        return Status::success();
    });
}

// Redis replicates asynchronously: a write the master acknowledged is lost if
// the master fails before a replica has it. WAIT holds the answer (and so the
// tokens, which the host hands out only after the write returns) until
// wait_replicas replicas have it. The write is never undone on a timeout: it
// may hold a rotated refresh token, the only one the provider still accepts.
Status RedisStore::wait_for_replicas(Connection& connection, std::string_view doing) {
    const std::string replicas = std::to_string(options_.wait_replicas);
    const std::string timeout = std::to_string(options_.wait_timeout_ms);
    Reply reply;
    Status status = connection.command({"WAIT", replicas, timeout}, &reply);
    if (!status.ok()) return status;
    if (reply->type == REDIS_REPLY_ERROR) return server_error(*reply, "WAIT after " + std::string(doing));
    if (reply->type != REDIS_REPLY_INTEGER) return unexpected("WAIT");
    if (reply->integer >= static_cast<long long>(options_.wait_replicas)) return Status::success();
    const std::string what = "redis " + std::string(doing) + ": written on the master, but " +
                             std::to_string(reply->integer) + " of the " + replicas +
                             " replicas required (wait_replicas) acknowledged it within " + timeout +
                             " ms, so a failover now could lose it";
    if (options_.wait_required) {
        // The host keeps the tokens in memory as unsaved and writes them again later.
        return Status::error(TOKEND_UNAVAILABLE, what + " (wait_on_timeout: fail: the write is reported failed)");
    }
    log_(TOKEND_LOG_WARN, what + " (wait_on_timeout: warn: reported stored)");
    return Status::success();
}

Status RedisStore::get(tokend_namespace ns, std::string_view key, std::string* value) {
    const std::string name = layout_.value_key(ns, key);
    Reply reply;
    Status status = pool_.run(true, [&](Connection& connection) {
        Status sent = connection.command({"GET", name}, &reply);
        if (!sent.ok()) return sent;
        if (reply->type == REDIS_REPLY_ERROR) return server_error(*reply, "GET " + name);
        return Status::success();
    });
    if (!status.ok()) return status;
    if (reply->type == REDIS_REPLY_NIL) return Status::error(TOKEND_NOT_FOUND, "");
    if (reply->type != REDIS_REPLY_STRING) return unexpected("GET");
    value->assign(text_of(*reply));
    return Status::success();
}

Status RedisStore::put(tokend_namespace ns, std::string_view key, std::string_view value) {
    const std::string name = layout_.value_key(ns, key);
    const std::string set = layout_.set_key(ns);
    const std::string message = encode_change(origin_, ns, TOKEND_CHANGE_PUT, key);
    Reply reply;
    // Idempotent: writing the same value twice leaves the same state.
    return eval(true, scripts::kPut, {name, set}, {value, layout_.channel(), message}, &reply,
                "put " + name, durable(ns, [](const redisReply&) { return true; }));
}

Status RedisStore::del(tokend_namespace ns, std::string_view key) {
    const std::string name = layout_.value_key(ns, key);
    const std::string set = layout_.set_key(ns);
    const std::string message = encode_change(origin_, ns, TOKEND_CHANGE_DELETE, key);
    Reply reply;
    return eval(true, scripts::kDel, {name, set}, {layout_.channel(), message}, &reply, "delete " + name);
}

Status RedisStore::take(tokend_namespace ns, std::string_view key, std::string* value) {
    const std::string name = layout_.value_key(ns, key);
    const std::string set = layout_.set_key(ns);
    const std::string message = encode_change(origin_, ns, TOKEND_CHANGE_DELETE, key);
    Reply reply;
    // Not idempotent: a second try after a lost answer would find nothing.
    Status status =
        eval(false, scripts::kTake, {name, set}, {layout_.channel(), message}, &reply, "take " + name);
    if (!status.ok()) return status;
    if (reply->type == REDIS_REPLY_NIL) return Status::error(TOKEND_NOT_FOUND, "");
    if (reply->type != REDIS_REPLY_STRING) return unexpected("take");
    value->assign(text_of(*reply));
    return Status::success();
}

Status RedisStore::next_keys(tokend_namespace ns, ListCursor& cursor, uint32_t limit,
                             std::vector<std::string>* keys) {
    // Keys left over from the previous page's SSCAN batch come first.
    auto take_pending = [&] {
        const size_t used = std::min<size_t>(cursor.pending.size(), limit - keys->size());
        auto first = cursor.pending.begin(), last = first + static_cast<long>(used);
        keys->insert(keys->end(), std::make_move_iterator(first), std::make_move_iterator(last));
        cursor.pending.erase(first, last);
    };
    take_pending();
    const bool walked_through = cursor.started && cursor.scan == "0";
    if (keys->size() >= limit || walked_through) return Status::success();
    // One SSCAN per page at most: a page may be short, the next one continues.
    const std::string set = layout_.set_key(ns);
    const std::string count = std::to_string(std::max<uint32_t>(limit, 10));
    Reply reply;
    Status status = pool_.run(true, [&](Connection& connection) {
        Status sent = connection.command({"SSCAN", set, cursor.scan, "COUNT", count}, &reply);
        if (!sent.ok()) return sent;
        if (reply->type == REDIS_REPLY_ERROR) return server_error(*reply, "SSCAN " + set);
        return Status::success();
    });
    if (!status.ok()) return status;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_STRING || reply->element[1]->type != REDIS_REPLY_ARRAY) {
        return unexpected("SSCAN");
    }
    cursor.scan = std::string(text_of(*reply->element[0]));
    cursor.started = true;
    const redisReply& members = *reply->element[1];
    for (size_t i = 0; i < members.elements; ++i) {
        if (members.element[i]->type != REDIS_REPLY_STRING) continue;
        // Members that are not one of our value keys (written by someone else) are skipped.
        if (auto key = layout_.key_of_member(ns, text_of(*members.element[i]))) {
            cursor.pending.emplace_back(*key);
        }
    }
    take_pending();
    return Status::success();
}

Status RedisStore::page_keys(const char* operation, tokend_namespace ns, std::string_view cursor_text,
                             uint32_t limit, ListCursor* cursor, std::vector<std::string>* keys) {
    if (limit == 0) return Status::error(TOKEND_INVALID, std::string(operation) + ": limit must be at least 1");
    if (!cursor_text.empty() && !ListCursor::decode(cursor_text, cursor)) {
        return Status::error(TOKEND_INVALID, std::string(operation) + ": not a cursor of this store");
    }
    return next_keys(ns, *cursor, limit, keys);
}

Status RedisStore::list(tokend_namespace ns, std::string_view cursor_text, uint32_t limit,
                        const std::function<bool(std::string_view)>& give, std::string* next) {
    next->clear();
    ListCursor cursor;
    std::vector<std::string> keys;
    Status status = page_keys("list", ns, cursor_text, limit, &cursor, &keys);
    if (!status.ok()) return status;
    for (size_t i = 0; i < keys.size(); ++i) {
        if (!give(keys[i])) {
            cursor.give_back(keys, i + 1);
            break;
        }
    }
    if (!cursor.complete()) *next = cursor.encode();
    return Status::success();
}

Status RedisStore::list_entries(tokend_namespace ns, std::string_view cursor_text, uint32_t limit,
                                const std::function<bool(std::string_view, std::string_view)>& give,
                                std::string* next) {
    next->clear();
    ListCursor cursor;
    std::vector<std::string> keys;
    Status status = page_keys("list_entries", ns, cursor_text, limit, &cursor, &keys);
    if (!status.ok()) return status;
    if (!keys.empty()) {
        // The whole page's values in one round trip, read at one moment.
        std::vector<std::string> names;
        names.reserve(keys.size());
        for (const std::string& key : keys) names.push_back(layout_.value_key(ns, key));
        std::vector<std::string_view> argv{"MGET"};
        argv.insert(argv.end(), names.begin(), names.end());
        Reply reply;
        status = pool_.run(true, [&](Connection& connection) {
            Status sent = connection.command(argv, &reply);
            if (!sent.ok()) return sent;
            if (reply->type == REDIS_REPLY_ERROR) return server_error(*reply, "MGET");
            return Status::success();
        });
        if (!status.ok()) return status;
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements != keys.size()) return unexpected("MGET");
        for (size_t i = 0; i < keys.size(); ++i) {
            const redisReply& value = *reply->element[i];
            if (value.type == REDIS_REPLY_NIL) continue;  // deleted since the SSCAN
            if (value.type != REDIS_REPLY_STRING) return unexpected("MGET");
            if (!give(keys[i], text_of(value))) {
                cursor.give_back(keys, i + 1);
                break;
            }
        }
    }
    if (!cursor.complete()) *next = cursor.encode();
    return Status::success();
}

Status RedisStore::lock_acquire(tokend_namespace ns, std::string_view key, uint32_t ttl_ms,
                                uint64_t* fence) {
    if (ttl_ms == 0) return Status::error(TOKEND_INVALID, "lock_acquire: ttl must be positive");
    const std::string lease = layout_.lease_key(ns, key);
    const std::string counter = layout_.fence_counter();
    const std::string mark = layout_.maintenance_mark();
    // The flow sweep's lease also writes the original's mark, so a Python bot
    // sharing this Redis sees a recent sweep and leaves the flows alone.
    const std::string mark_value = KeyLayout::is_maintenance_lease(ns, key) ? iso_now() : "";
    const std::string ttl = std::to_string(ttl_ms);
    Reply reply;
    Status status = eval(false, scripts::kLockAcquire, {lease, counter, mark}, {origin_, ttl, mark_value},
                         &reply, "lock " + lease);
    if (!status.ok()) return status;
    if (reply->type == REDIS_REPLY_NIL) {
        return Status::error(TOKEND_CONFLICT, "lease " + lease + " is held by another owner");
    }
    if (reply->type != REDIS_REPLY_INTEGER || reply->integer <= 0) return unexpected("lock");
    *fence = static_cast<uint64_t>(reply->integer);
    return Status::success();
}

Status RedisStore::lock_release(tokend_namespace ns, std::string_view key, uint64_t fence) {
    const std::string lease = layout_.lease_key(ns, key);
    Reply reply;
    return eval(true, scripts::kLockRelease, {lease}, {holder(fence)}, &reply, "release " + lease);
}

Status RedisStore::put_fenced(tokend_namespace ns, std::string_view key, std::string_view value,
                              uint64_t fence) {
    const std::string lease = layout_.lease_key(ns, key);
    const std::string name = layout_.value_key(ns, key);
    const std::string set = layout_.set_key(ns);
    const std::string message = encode_change(origin_, ns, TOKEND_CHANGE_PUT, key);
    Reply reply;
    // Idempotent: a repeat under the same live lease writes the same value.
    Status status = eval(true, scripts::kPutFenced, {lease, name, set},
                         {holder(fence), value, layout_.channel(), message}, &reply, "put " + name,
                         durable(ns, [](const redisReply& wrote) { return wrote.type != REDIS_REPLY_NIL; }));
    if (!status.ok()) return status;
    if (reply->type == REDIS_REPLY_NIL) {
        return Status::error(TOKEND_CONFLICT, "fencing token no longer holds the lease " + lease);
    }
    return Status::success();
}

Status RedisStore::put_if_equal(tokend_namespace ns, std::string_view key, std::string_view expected,
                                std::string_view value, const uint64_t* fence, std::string* current,
                                bool* changed) {
    *changed = false;
    const std::string lease = layout_.lease_key(ns, key);
    const std::string name = layout_.value_key(ns, key);
    const std::string set = layout_.set_key(ns);
    const std::string message = encode_change(origin_, ns, TOKEND_CHANGE_PUT, key);
    const std::string owner = fence != nullptr ? holder(*fence) : std::string();
    Reply reply;
    // Not idempotent: after a lost answer a retry would find its own value and
    // report it as another writer's.
    Status status = eval(false, scripts::kPutIfEqual, {lease, name, set},
                         {owner, expected, value, layout_.channel(), message}, &reply, "put " + name,
                         durable(ns, [](const redisReply& wrote) {
                             return wrote.type == REDIS_REPLY_INTEGER && wrote.integer == 1;
                         }));
    if (!status.ok()) return status;
    if (reply->type == REDIS_REPLY_NIL) {
        return Status::error(TOKEND_CONFLICT, "fencing token no longer holds the lease " + lease);
    }
    if (reply->type == REDIS_REPLY_STRING) {
        current->assign(text_of(*reply));
        *changed = true;
        return Status::error(TOKEND_CONFLICT, name + " changed since it was read");
    }
    if (reply->type != REDIS_REPLY_INTEGER) return unexpected("put_if_equal");
    if (reply->integer == 0) return Status::error(TOKEND_NOT_FOUND, "");
    return Status::success();
}

Status RedisStore::subscribe(tokend_change_fn fn, void* ctx) {
    if (fn == nullptr) return Status::error(TOKEND_INVALID, "subscribe: no callback given");
    if (subscriber_) return Status::error(TOKEND_INVALID, "subscribe: already subscribed");
    subscriber_ = std::make_unique<Subscriber>(options_, layout_.channel(), origin_, fn, ctx, log_);
    return Status::success();
}

}  // namespace tokend::redis_store
