#include "io/executor.h"

#include <stdexcept>
#include <string>

namespace tokend {

Executor::Executor(uv_loop_t* loop, size_t threads) : loop_(loop) {
    if (int rc = uv_async_init(loop_, &wakeup_, on_async); rc != 0) {
        throw std::runtime_error(std::string("uv_async_init: ") + uv_strerror(rc));
    }
    wakeup_.data = this;
    if (threads == 0) threads = 1;
    for (size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { worker_main(); });
}

Executor::~Executor() {
    // shutdown() joined the workers; if it was never called, do it now so no
    // thread outlives us (the async handle is then left to the loop's owner).
    {
        std::lock_guard<std::mutex> hold(mutex_);
        stopping_workers_ = true;
    }
    work_ready_.notify_all();
    for (auto& worker : workers_) {
        if (worker.joinable()) worker.join();
    }
}

bool Executor::post(std::function<void()> work, std::function<void()> done) {
    if (shutting_down_) return false;
    ++pending_;
    {
        std::lock_guard<std::mutex> hold(mutex_);
        queue_.push_back(Job{std::move(work), std::move(done)});
    }
    work_ready_.notify_one();
    return true;
}

void Executor::worker_main() {
    for (;;) {
        Job job;
        {
            std::unique_lock<std::mutex> hold(mutex_);
            work_ready_.wait(hold, [this] { return stopping_workers_ || !queue_.empty(); });
            if (queue_.empty()) return;  // stopping and nothing left
            job = std::move(queue_.front());
            queue_.pop_front();
        }
        job.work();
        {
            std::lock_guard<std::mutex> hold(mutex_);
            completed_.push_back(std::move(job));
        }
        uv_async_send(&wakeup_);
    }
}

void Executor::on_async(uv_async_t* handle) { static_cast<Executor*>(handle->data)->drain_completions(); }

void Executor::drain_completions() {
    std::deque<Job> ready;
    {
        std::lock_guard<std::mutex> hold(mutex_);
        ready.swap(completed_);
    }
    for (Job& job : ready) {
        --pending_;
        job.done();  // may submit more work (refused once shutting down)
    }
    finish_shutdown_if_idle();
}

void Executor::shutdown(std::function<void()> on_closed) {
    if (shutting_down_) return;
    shutting_down_ = true;
    on_closed_ = std::move(on_closed);
    finish_shutdown_if_idle();
}

void Executor::finish_shutdown_if_idle() {
    if (!shutting_down_ || pending_ != 0 || uv_is_closing(reinterpret_cast<uv_handle_t*>(&wakeup_))) return;
    {
        std::lock_guard<std::mutex> hold(mutex_);
        stopping_workers_ = true;
    }
    work_ready_.notify_all();
    for (auto& worker : workers_) worker.join();
    workers_.clear();
    uv_close(reinterpret_cast<uv_handle_t*>(&wakeup_), [](uv_handle_t* handle) {
        auto* self = static_cast<Executor*>(handle->data);
        if (self->on_closed_) self->on_closed_();
    });
}

}  // namespace tokend
