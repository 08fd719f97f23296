#include "io/uv_handle.h"

#include "io/loop_timers.h"

#include <algorithm>
#include <cstdint>

namespace tokend {

void UvTimer::open(uv_loop_t* loop) {
    stop();
    uv_timer_init(loop, &open_block()->handle);
}

void UvTimer::start(uv_loop_t* loop, std::chrono::milliseconds timeout, std::chrono::milliseconds repeat,
                    std::function<void()> fire) {
    if (block_ == nullptr) open(loop);
    block_->callback = std::move(fire);
    loop_timer_start(&block_->handle, [](uv_timer_t* timer) { run(timer); },
                     static_cast<uint64_t>(std::max<int64_t>(0, timeout.count())),
                     static_cast<uint64_t>(std::max<int64_t>(0, repeat.count())));
}

void UvTimer::stop() {
    if (block_ != nullptr) loop_timer_stop(&block_->handle);
}

void UvSignal::start(uv_loop_t* loop, int signum, std::function<void()> caught) {
    Block* block = open_block();
    uv_signal_init(loop, &block->handle);
    block->callback = std::move(caught);
    uv_signal_start(&block->handle, [](uv_signal_t* signal, int) { run(signal); }, signum);
}

void UvAsync::open(uv_loop_t* loop, std::function<void()> wakeup) {
    Block* block = open_block();
    block->callback = std::move(wakeup);
    uv_async_init(loop, &block->handle, [](uv_async_t* async) { run(async); });
}

void UvAsync::send() {
    if (block_ != nullptr) uv_async_send(&block_->handle);
}

}  // namespace tokend
