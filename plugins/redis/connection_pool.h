// The connections the store's calls share. The store is THREAD_SAFE: each call
// borrows an idle connection (or opens one) for its duration, so concurrent
// calls never share a hiredis context. Reconnects are paced by a backoff, so
// calls fail fast with UNAVAILABLE while Redis is away instead of each waiting
// for a connect timeout.
#pragma once

#include "connection.h"

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace tokend::redis_store {

class ConnectionPool {
public:
    // on_health(true/false) is called when Redis starts or stops answering.
    ConnectionPool(Options options, std::function<void(bool healthy, const std::string& why)> on_health);

    // Runs fn on a connection. An I/O failure throws the connection away; if it
    // came from the idle pool (Redis may have restarted since) and `idempotent`
    // says fn may run twice, fn is tried once more on a fresh connection.
    Status run(bool idempotent, const std::function<Status(Connection&)>& fn);

    // Opens a connection now (no backoff): open() uses it to check Redis answers.
    Status connect(std::unique_ptr<Connection>* out);

private:
    Status checkout(std::unique_ptr<Connection>* out, bool* reused);
    void checkin(std::unique_ptr<Connection> connection);
    void mark(bool healthy, const std::string& why);
    uint64_t generation() const;

    using Clock = std::chrono::steady_clock;
    static constexpr size_t kMaxIdle = 8;
    static constexpr std::chrono::milliseconds kFirstBackoff{50};
    static constexpr std::chrono::milliseconds kMaxBackoff{1000};

    const Options options_;
    std::function<void(bool, const std::string&)> on_health_;
    std::mutex mutex_;
    std::vector<std::unique_ptr<Connection>> idle_;
    Clock::time_point next_attempt_{};
    std::chrono::milliseconds backoff_{kFirstBackoff};
    std::string last_error_;
    uint64_t failed_generation_ = 0;
    bool healthy_ = true;
};

}  // namespace tokend::redis_store
