// What every part of the token service shares (ContextCache, Refresher, Flows,
// UserContexts): the store and the executor its calls run on, the store's
// health as the last call saw it, the count of work in flight that a drain
// waits for, the counters and the event hub. Loop thread only.
#pragma once

#include "app/event_hub.h"
#include "app/store_cipher.h"
#include "config/config.h"
#include "core/integrations.h"
#include "core/iso_time.h"
#include "core/service_counters.h"
#include "host/store.h"
#include "io/executor.h"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

namespace tokend {

// The status a store visit's result reports: the result itself, or its `status`.
inline const StoreStatus& status_of(const StoreStatus& status) { return status; }
template <typename Visit>
const StoreStatus& status_of(const Visit& visit) {
    return visit.status;
}

class ServiceRuntime {
public:
    // `integrations` (the token service's) numbers the counters' sets.
    ServiceRuntime(Executor& executor, Store& store, EventHub& events, const Clock& clock, const Config& config,
                   const IntegrationSet& integrations)
        : executor_(executor), store_(store), events_(events), clock_(clock), config_(config),
          integrations_(integrations), counters_(integrations.all().size()) {}

    // Runs `visit` (store calls) on the executor, then, on the loop: notes the
    // store's health from the result's status, calls `done` with the result.
    // The work counts as in flight until `done` returned.
    template <typename Result>
    void on_store(std::function<Result()> visit, std::function<void(Result)> done) {
        track(+1);
        executor_.submit<Result>(std::move(visit), [this, done = std::move(done)](Result result) {
            note_store(status_of(result));
            done(std::move(result));
            track(-1);
        });
    }

    // Healthy unless the call failed (not found and a lease conflict are answers;
    // `invalid`, a malformed request such as a client's cursor, leaves it as it was).
    void note_store(const StoreStatus& status);
    bool store_healthy() const { return store_healthy_; }

    void publish(const char* event, const std::string& user_id, std::string revocation = {});

    // Work in flight (drain waits for it): +1 when it starts, -1 when it ends.
    void track(int delta);
    // Handles of the service's own (timers, async): opened, and closed.
    void handle_opened() { ++handles_open_; }
    void handle_closed();

    // Stops new work; `idle` runs once nothing is in flight and every handle
    // is closed, checked at the next track() or handle_closed() (track(0)
    // checks without counting).
    void drain(std::function<void()> idle);
    bool draining() const { return draining_; }

    Store& store() { return store_; }
    const Store& store() const { return store_; }
    const Clock& clock() const { return clock_; }
    Timestamp now() const { return clock_.now(); }
    const Config& config() const { return config_; }
    // Seals records on their way to the store and opens them on the way back.
    // Set once at start, before any store work (read from executor threads).
    const StoreCipher& cipher() const { return cipher_; }
    void set_cipher(StoreCipher cipher) { cipher_ = std::move(cipher); }
    ServiceCounters& counters() { return counters_; }
    const ServiceCounters& counters() const { return counters_; }
    // The counts of the integration a user key belongs to.
    IntegrationCounters& counters_of(std::string_view user_key) {
        return counters_.of(integrations_.index_of_key(user_key));
    }
    const IntegrationSet& integrations() const { return integrations_; }

private:
    void maybe_idle();

    Executor& executor_;
    Store& store_;
    EventHub& events_;
    const Clock& clock_;
    const Config& config_;
    const IntegrationSet& integrations_;
    ServiceCounters counters_;
    StoreCipher cipher_;
    bool store_healthy_ = true;
    size_t in_flight_ = 0;
    size_t handles_open_ = 0;
    bool draining_ = false;
    std::function<void()> on_idle_;
};

}  // namespace tokend
