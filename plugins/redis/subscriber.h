// Change notifications: a thread with its own connection, SUBSCRIBEd to the
// store's channel, that turns each message from another instance into a PUT or
// DELETE callback. Pub/sub delivers at most once: whenever the connection is
// (re)established after a loss, messages may have been missed, so the thread
// reports RESYNC and the host re-reads what it caches.
#pragma once

#include "connection.h"
#include "key_layout.h"

#include <tokend/store.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace tokend::redis_store {

// What one reply read on the subscriber connection is: a change message from
// some instance (*change set, its views pointing into `reply`), a message on
// the channel that is not tokend's, or anything else (subscribe confirmations,
// PING answers). Pure: the thread's decoding, apart from its I/O (fuzzed in
// fuzz/redis_change_fuzzer.cpp).
enum class ReplyKind { other, foreign_message, change };
ReplyKind classify_reply(const redisReply& reply, ChangeMessage* change);

class Subscriber {
public:
    using Log = std::function<void(tokend_log_level, const std::string&)>;

    // Subscribes on the calling thread (so no change after this returns is
    // missed) when Redis answers; if it does not, the thread keeps trying and
    // reports RESYNC once it got through. Then starts the thread.
    Subscriber(Options options, std::string channel, std::string own_origin, tokend_change_fn fn,
               void* fn_ctx, Log log);
    // Stops and joins the thread: no callback runs after this returns.
    ~Subscriber();
    Subscriber(const Subscriber&) = delete;
    Subscriber& operator=(const Subscriber&) = delete;

private:
    void run();
    Status subscribe(std::unique_ptr<Connection>* out);
    // Reads replies until stop, a lost connection or a missed PING answer.
    Status listen(Connection& connection);
    void deliver(const redisReply& reply);
    // Sleeps up to ms; false when asked to stop meanwhile.
    bool pause(int ms);

    const Options options_;
    const std::string channel_;
    const std::string own_origin_;
    const tokend_change_fn fn_;
    void* const fn_ctx_;
    const Log log_;
    int wake_fd_ = -1;  // eventfd: written by the destructor to stop the thread
    std::atomic<bool> stopping_{false};
    std::unique_ptr<Connection> first_;  // the connection subscribed in the constructor
    std::thread thread_;
};

}  // namespace tokend::redis_store
