// Carries a store plugin's change notifications (delivered on the plugin's own
// thread) to the loop thread: a locked queue and a uv_async wake-up, the one
// libuv call allowed from other threads. Changes that arrive before start()
// wait in the queue, so subscribing before the contexts are loaded loses none.
#pragma once

#include "host/store.h"
#include "io/uv_handle.h"

#include <uv.h>

#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace tokend {

struct StoreChangeEvent {
    Ns ns;
    StoreChange change;
    std::string key;
};

class StoreChangeInbox {
public:
    using Handler = std::function<void(std::vector<StoreChangeEvent>)>;

    // Any thread.
    void push(Ns ns, StoreChange change, std::string_view key);

    // Loop thread: from now on batches of changes go to `handler`.
    void start(uv_loop_t* loop, Handler handler);
    void close(std::function<void()> closed);

private:
    void deliver();

    std::mutex mutex_;
    std::vector<StoreChangeEvent> queued_;
    bool started_ = false;  // under mutex_
    UvAsync wakeup_;
    Handler handler_;
};

}  // namespace tokend
