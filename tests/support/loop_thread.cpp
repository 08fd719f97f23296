#include "loop_thread.h"

namespace tokend::test {

LoopThread::LoopThread() {
    uv_loop_init(&loop_);
    uv_async_init(&loop_, &wakeup_, on_async);
    wakeup_.data = this;
}

LoopThread::~LoopThread() {
    if (!stopped_) stop([](std::function<void()> done) { done(); });
}

void LoopThread::start() {
    started_ = true;
    thread_ = std::thread([this] { uv_run(&loop_, UV_RUN_DEFAULT); });
}

void LoopThread::on_async(uv_async_t* handle) {
    auto* self = static_cast<LoopThread*>(handle->data);
    std::vector<std::function<void()>> work;
    {
        std::lock_guard<std::mutex> hold(self->mutex_);
        work.swap(self->queue_);
    }
    for (auto& fn : work) fn();
}

void LoopThread::run_on_loop(std::function<void()> fn) {
    if (!started_) {
        fn();
        return;
    }
    std::promise<void> done;
    {
        std::lock_guard<std::mutex> hold(mutex_);
        queue_.push_back([&] {
            fn();
            done.set_value();
        });
    }
    uv_async_send(&wakeup_);
    done.get_future().wait();
}

int LoopThread::stop(std::function<void(std::function<void()> done)> shutdown) {
    stopped_ = true;
    std::promise<void> finished;
    auto body = [&] {
        shutdown([&] {
            uv_close(reinterpret_cast<uv_handle_t*>(&wakeup_), nullptr);
            finished.set_value();
        });
    };
    if (started_) {
        {
            std::lock_guard<std::mutex> hold(mutex_);
            queue_.push_back(body);
        }
        uv_async_send(&wakeup_);
        thread_.join();
    } else {
        body();
        uv_run(&loop_, UV_RUN_DEFAULT);
    }
    return uv_loop_close(&loop_);
}

}  // namespace tokend::test
