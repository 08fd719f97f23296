#include "app/store_change_inbox.h"

namespace tokend {

void StoreChangeInbox::push(Ns ns, StoreChange change, std::string_view key) {
    std::lock_guard lock(mutex_);
    queued_.push_back(StoreChangeEvent{ns, change, std::string(key)});
    if (started_) wakeup_.send();
}

void StoreChangeInbox::start(uv_loop_t* loop, Handler handler) {
    handler_ = std::move(handler);
    wakeup_.open(loop, [this] { deliver(); });
    {
        std::lock_guard lock(mutex_);
        started_ = true;
    }
    deliver();  // what came before start
}

void StoreChangeInbox::deliver() {
    std::vector<StoreChangeEvent> batch;
    {
        std::lock_guard lock(mutex_);
        batch.swap(queued_);
    }
    Handler handler = handler_;  // the handler may close the inbox
    if (!batch.empty() && handler) handler(std::move(batch));
}

void StoreChangeInbox::close(std::function<void()> closed) {
    {
        std::lock_guard lock(mutex_);
        if (!started_) {
            if (closed) closed();
            return;
        }
        started_ = false;  // later pushes only queue (the store is closed after the loop)
    }
    handler_ = nullptr;
    wakeup_.close(std::move(closed));
}

}  // namespace tokend
