// Redis Sentinel: where the master is now. MasterTracker asks the configured
// sentinels (in order, skipping one that does not answer) for the master's
// address, then listens on one of them for +switch-master and moves the
// address; each move bumps a generation, so the pool drops connections to the
// old master and the subscriber resubscribes on the new one (and asks for a
// resync). Sentinels are reached without TLS or AUTH.
#pragma once

#include "connection.h"
#include "options.h"

#include <tokend/store.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace tokend::redis_store {

class MasterTracker {
public:
    using Log = std::function<void(tokend_log_level, const std::string&)>;

    // base: the master's credentials, database and TLS (host and port unused).
    MasterTracker(Endpoint base, std::vector<SentinelAddress> sentinels, std::string master_name,
                  uint32_t connect_timeout_ms, uint32_t command_timeout_ms, Log log);
    ~MasterTracker();  // stops and joins the thread
    MasterTracker(const MasterTracker&) = delete;
    MasterTracker& operator=(const MasterTracker&) = delete;

    // Asks the sentinels now; UNAVAILABLE (saying why for each) when none knows the master.
    Status resolve();
    // Starts the thread that follows +switch-master.
    void start();

    // The master's endpoint now and its generation.
    Endpoint current(uint64_t* generation) const;
    uint64_t generation() const { return generation_.load(); }

private:
    void run();
    // Connects to one sentinel, asks for the master (updating it), subscribes.
    Status watch(const SentinelAddress& sentinel, std::unique_ptr<Connection>* out);
    Status listen(Connection& connection);
    void move_to(const std::string& host, uint16_t port, const char* why);
    bool pause(int ms);

    const Endpoint base_;
    const std::vector<SentinelAddress> sentinels_;
    const std::string master_name_;
    const uint32_t connect_timeout_ms_;
    const uint32_t command_timeout_ms_;
    const Log log_;
    mutable std::mutex mutex_;
    std::string host_;
    uint16_t port_ = 0;
    std::atomic<uint64_t> generation_{0};
    int wake_fd_ = -1;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

// The endpoint to connect to: the sentinels' master when options use Sentinel,
// else options.endpoint (generation 0).
Endpoint master_endpoint(const Options& options, uint64_t* generation);

}  // namespace tokend::redis_store
