#include "host/entry_read_ahead.h"

#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace tokend {
namespace {

// One page of entries in one buffer (no allocation per entry), reused once
// visited, so a walk of a million users allocates a few pages in all.
class Batch {
public:
    void add(std::string_view key, std::string_view value) {
        spans_.push_back(Span{bytes_.size(), key.size(), value.size()});
        bytes_.append(key).append(value);
    }
    size_t size() const { return spans_.size(); }
    std::string_view key(size_t i) const { return {bytes_.data() + spans_[i].at, spans_[i].key_size}; }
    std::string_view value(size_t i) const {
        return {bytes_.data() + spans_[i].at + spans_[i].key_size, spans_[i].value_size};
    }
    void clear() {
        spans_.clear();
        bytes_.clear();
    }

private:
    struct Span {
        size_t at;  // the key's first byte; the value follows it
        size_t key_size;
        size_t value_size;
    };
    std::string bytes_;
    std::vector<Span> spans_;
};

// The pages between the reading thread and the visitor, and how the walk ended.
class Handoff {
public:
    explicit Handoff(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

    // Reader: waits for room; false once the visitor has stopped.
    bool push(Batch&& batch) {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return stopped_ || ready_.size() < capacity_; });
        if (stopped_) return false;
        ready_.push_back(std::move(batch));
        changed_.notify_all();
        return true;
    }
    // Reader: an emptied batch to fill (a visited one when there is one).
    Batch spare() {
        std::lock_guard lock(mutex_);
        if (spares_.empty()) return {};
        Batch batch = std::move(spares_.back());
        spares_.pop_back();
        return batch;
    }
    // Reader: no more pages; how the walk ended.
    void finish(StoreStatus status) {
        std::lock_guard lock(mutex_);
        status_ = std::move(status);
        finished_ = true;
        changed_.notify_all();
    }
    // Visitor: the next page, waiting for it; false when the walk has ended and
    // every page was taken.
    bool pop(Batch* out) {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return finished_ || !ready_.empty(); });
        if (ready_.empty()) return false;
        *out = std::move(ready_.front());
        ready_.pop_front();
        changed_.notify_all();
        return true;
    }
    void give_back(Batch&& batch) {
        batch.clear();
        std::lock_guard lock(mutex_);
        spares_.push_back(std::move(batch));
    }
    // Visitor: takes no more pages; the reader stops at its next entry.
    void stop() {
        std::lock_guard lock(mutex_);
        stopped_ = true;
        stopping_.store(true, std::memory_order_relaxed);
        changed_.notify_all();
    }
    // Reader, per entry: without the lock (a million entries).
    bool stopping() const { return stopping_.load(std::memory_order_relaxed); }
    StoreStatus status() {
        std::lock_guard lock(mutex_);
        return status_;
    }

private:
    const size_t capacity_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<Batch> ready_;
    std::vector<Batch> spares_;
    bool finished_ = false;
    bool stopped_ = false;
    std::atomic<bool> stopping_{false};  // stopped_, for the reader's look without the lock
    StoreStatus status_;
};

// The reading thread. Store::for_each_entry calls this visitor outside its
// plugin calls (never under the store's serialization lock), so a reader
// waiting in push blocks no store call of the visitor's.
void read_pages(Store& store, Ns ns, uint32_t page_size, Handoff& handoff) {
    ::pthread_setname_np(::pthread_self(), "tokend-load");  // for top, perf and gdb; best effort
    StoreStatus status;
    try {
        Batch batch = handoff.spare();
        bool stopped = false;
        status = store.for_each_entry(ns, [&](std::string_view key, std::string_view value) {
            if (handoff.stopping()) {
                stopped = true;
                return false;
            }
            batch.add(key, value);
            if (batch.size() < page_size) return true;
            if (!handoff.push(std::move(batch))) {
                stopped = true;
                return false;
            }
            batch = handoff.spare();
            return true;
        }, page_size);
        // What was read before a failure is visited before the failure is told.
        if (!stopped && batch.size() > 0) handoff.push(std::move(batch));
    } catch (const std::exception& e) {
        status = StoreStatus::error(StoreCode::internal, std::string("reading entries: ") + e.what());
    } catch (...) {
        status = StoreStatus::error(StoreCode::internal, "reading entries: unknown exception");
    }
    handoff.finish(std::move(status));
}

}  // namespace

StoreStatus for_each_entry_read_ahead(Store& store, Ns ns, const StoreEntryVisitor& visit, uint32_t page_size,
                                      size_t pages_ahead) {
    if (page_size == 0) return store.for_each_entry(ns, visit, page_size);  // the store's own error
    Handoff handoff(pages_ahead);
    std::thread reader;
    try {
        reader = std::thread(read_pages, std::ref(store), ns, page_size, std::ref(handoff));
    } catch (const std::system_error&) {
        return store.for_each_entry(ns, visit, page_size);
    }
    // The reader ends before this frame does, whatever visit does.
    struct JoinOnExit {
        Handoff& handoff;
        std::thread& reader;
        ~JoinOnExit() {
            handoff.stop();
            reader.join();
        }
    } join_on_exit{handoff, reader};
    Batch batch;
    while (handoff.pop(&batch)) {
        for (size_t i = 0; i < batch.size(); ++i) {
            if (!visit(batch.key(i), batch.value(i))) return StoreStatus::success();
        }
        handoff.give_back(std::move(batch));
    }
    return handoff.status();
}

}  // namespace tokend
