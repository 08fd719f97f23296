// One way to own a libuv handle (timer, signal, async). libuv's handle.rst:
// a handle's memory may only be released in its close callback. The owners
// here keep the uv handle in a block of their own on the heap that the close
// callback frees, so an owner can be destroyed (or reused) while a close is
// still pending, and `closed` runs only once libuv is done with the handle.
//
// Loop thread only, except Async::send. Each owner starts closed: open it with
// init/start, close it with close(). Destroying an open owner closes the
// handle without a callback (the loop must run once more to free it), so an
// owner never leaks a handle into uv_loop_close().
#pragma once

#include <uv.h>

#include <chrono>
#include <functional>

namespace tokend {

template <typename Handle>
class UvHandle {
public:
    UvHandle() = default;
    UvHandle(const UvHandle&) = delete;
    UvHandle& operator=(const UvHandle&) = delete;
    ~UvHandle() { close(nullptr); }

    bool is_open() const { return block_ != nullptr; }

    // Closes the handle; `closed` runs from libuv's close callback, or at once
    // when the handle is not open. Callbacks given to the handle never run again.
    void close(std::function<void()> closed = nullptr) {
        if (block_ == nullptr) {
            if (closed) closed();
            return;
        }
        Block* block = block_;
        block_ = nullptr;
        block->callback = nullptr;
        block->closed = std::move(closed);
        uv_close(reinterpret_cast<uv_handle_t*>(&block->handle), [](uv_handle_t* handle) {
            Block* gone = static_cast<Block*>(handle->data);
            std::function<void()> then = std::move(gone->closed);
            delete gone;
            if (then) then();
        });
    }

protected:
    struct Block {
        Handle handle{};
        std::function<void()> callback;
        std::function<void()> closed;
    };

    // A fresh block for a handle that the caller initializes at once.
    Block* open_block() {
        close(nullptr);
        block_ = new Block;
        block_->handle.data = block_;
        return block_;
    }
    // A copy runs: the callback may close (or restart) its own handle.
    static void run(Handle* handle) {
        const std::function<void()> callback = static_cast<Block*>(handle->data)->callback;
        if (callback) callback();
    }

    Block* block_ = nullptr;
};

// Runs on the loop's LoopTimers when it has one (io/loop_timers.h), on libuv's
// timer heap otherwise.
class UvTimer : public UvHandle<uv_timer_t> {
public:
    UvTimer() = default;
    ~UvTimer() { stop(); }  // off the LoopTimers' queue before the handle closes

    // Opens the timer on `loop` (closing one open before); it is not running.
    void open(uv_loop_t* loop);
    // Runs `fire` after `timeout`, then every `repeat` (0: once). Opens the
    // timer on `loop` first when it is not open. Restarting replaces `fire`.
    void start(uv_loop_t* loop, std::chrono::milliseconds timeout, std::chrono::milliseconds repeat,
               std::function<void()> fire);
    // Stops it (it stays open and may be started again); nothing when closed.
    void stop();
    // As UvHandle::close, stopped first.
    void close(std::function<void()> closed = nullptr) {
        stop();
        UvHandle::close(std::move(closed));
    }
};

class UvSignal : public UvHandle<uv_signal_t> {
public:
    // Opens a signal watcher on `loop` and runs `caught` for each `signum`.
    void start(uv_loop_t* loop, int signum, std::function<void()> caught);
};

class UvAsync : public UvHandle<uv_async_t> {
public:
    // Opens the async handle: `wakeup` runs on the loop after send().
    void open(uv_loop_t* loop, std::function<void()> wakeup);
    // Any thread, while open (the caller orders send() before close()).
    void send();
};

}  // namespace tokend
