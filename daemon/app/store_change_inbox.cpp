#include "app/store_change_inbox.h"

#include <memory>

namespace tokend {

void StoreChangeInbox::push(Ns ns, StoreChange change, std::string_view key) {
    std::lock_guard lock(mutex_);
    queued_.push_back(StoreChangeEvent{ns, change, std::string(key)});
    if (started_) uv_async_send(&wakeup_);
}

void StoreChangeInbox::start(uv_loop_t* loop, Handler handler) {
    handler_ = std::move(handler);
    uv_async_init(loop, &wakeup_, [](uv_async_t* async) { static_cast<StoreChangeInbox*>(async->data)->deliver(); });
    wakeup_.data = this;
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
    auto* done = new std::function<void()>(std::move(closed));
    wakeup_.data = done;
    uv_close(reinterpret_cast<uv_handle_t*>(&wakeup_), [](uv_handle_t* handle) {
        std::unique_ptr<std::function<void()>> callback(static_cast<std::function<void()>*>(handle->data));
        if (*callback) (*callback)();
    });
}

}  // namespace tokend
