#include "connection_pool.h"

#include "sentinel.h"

namespace tokend::redis_store {

ConnectionPool::ConnectionPool(Options options,
                               std::function<void(bool, const std::string&)> on_health)
    : options_(std::move(options)), on_health_(std::move(on_health)) {}

Status ConnectionPool::connect(std::unique_ptr<Connection>* out) {
    uint64_t generation = 0;
    const Endpoint endpoint = master_endpoint(options_, &generation);
    Status status = Connection::open(endpoint, options_.connect_timeout_ms, options_.command_timeout_ms, out);
    if (status.ok()) (*out)->generation = generation;
    return status;
}

uint64_t ConnectionPool::generation() const { return options_.master ? options_.master->generation() : 0; }

void ConnectionPool::mark(bool healthy, const std::string& why) {
    bool changed = false;
    {
        std::lock_guard<std::mutex> hold(mutex_);
        changed = healthy_ != healthy;
        healthy_ = healthy;
    }
    if (changed && on_health_) on_health_(healthy, why);
}

Status ConnectionPool::checkout(std::unique_ptr<Connection>* out, bool* reused) {
    {
        std::lock_guard<std::mutex> hold(mutex_);
        const uint64_t now_at = generation();
        while (!idle_.empty()) {
            std::unique_ptr<Connection> connection = std::move(idle_.back());
            idle_.pop_back();
            // A connection to a master Sentinel has since replaced is dropped.
            if (connection->generation == now_at && !connection->peer_closed()) {
                *out = std::move(connection);
                *reused = true;
                return Status::success();
            }
        }
        const auto now = Clock::now();
        // The backoff was for the old master: a new one is tried at once.
        if (now < next_attempt_ && failed_generation_ == now_at) {
            const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_attempt_ - now);
            return Status::error(TOKEND_UNAVAILABLE, last_error_ + " (next attempt in " +
                                                         std::to_string(wait.count()) + " ms)");
        }
    }
    *reused = false;
    Status status = connect(out);
    std::lock_guard<std::mutex> hold(mutex_);
    if (status.ok()) {
        backoff_ = kFirstBackoff;
        next_attempt_ = {};
    } else {
        // Whatever went wrong, for this call it is "try again later".
        status.code = TOKEND_UNAVAILABLE;
        last_error_ = status.message;
        failed_generation_ = generation();
        next_attempt_ = Clock::now() + backoff_;
        backoff_ = std::min(backoff_ * 2, kMaxBackoff);
    }
    return status;
}

void ConnectionPool::checkin(std::unique_ptr<Connection> connection) {
    std::lock_guard<std::mutex> hold(mutex_);
    if (connection->broken()) {
        // Redis went away or stalled: the other idle connections are likely dead too.
        idle_.clear();
        return;
    }
    if (connection->generation != generation()) return;  // the master moved meanwhile
    if (idle_.size() < kMaxIdle) idle_.push_back(std::move(connection));
}

Status ConnectionPool::run(bool idempotent, const std::function<Status(Connection&)>& fn) {
    for (int attempt = 0;; ++attempt) {
        std::unique_ptr<Connection> connection;
        bool reused = false;
        Status status = checkout(&connection, &reused);
        if (!status.ok()) {
            mark(false, status.message);
            return status;
        }
        status = fn(*connection);
        const bool broken = connection->broken();
        checkin(std::move(connection));
        if (!broken) {
            mark(true, "");
            return status;
        }
        if (!(reused && idempotent && attempt == 0)) {
            mark(false, status.message);
            return status;
        }
    }
}

}  // namespace tokend::redis_store
