#include "group_commit.h"

#include <new>

namespace tokend::yaml_store {

Status GroupCommit::wait_durable(std::unique_lock<std::mutex>& lock, uint64_t sequence) {
    if (sequence <= durable_) return Status::success();
    Waiter waiter;
    waiter.sequence = sequence;
    if (last_waiter_ != nullptr) {
        last_waiter_->next = &waiter;
    } else {
        first_waiter_ = &waiter;
    }
    last_waiter_ = &waiter;
    while (!waiter.done) {
        if (!committing_) {
            lead(lock);
        } else {
            wake_.wait(lock);
        }
    }
    return waiter.status;
}

Status GroupCommit::commit_round(std::unique_lock<std::mutex>& lock) noexcept {
    const uint64_t target = applied_;
    Status outcome;
    bool captured = false;
    try {
        committer_.begin_commit();
        captured = true;
    } catch (const std::bad_alloc&) {
        outcome = Status::error(TOKEND_UNAVAILABLE, "out of memory while preparing a commit");
    } catch (...) {
        outcome = Status::error(TOKEND_UNAVAILABLE, "unexpected error while preparing a commit");
    }
    if (captured) {
        lock.unlock();
        outcome = committer_.write_commit();
        lock.lock();
    }
    committer_.end_commit(outcome);

    if (outcome.ok()) {
        durable_ = target;
        while (first_waiter_ != nullptr && first_waiter_->sequence <= target) {
            Waiter* answered = first_waiter_;
            first_waiter_ = answered->next;
            answered->done = true;  // its thread may free it once we release the mutex
        }
    } else {
        // end_commit rolled back every change not yet durable, so every waiter fails,
        // including those whose change came after the capture.
        for (Waiter* waiter = first_waiter_; waiter != nullptr; waiter = waiter->next) {
            waiter->status = outcome;
            waiter->done = true;
        }
        first_waiter_ = nullptr;
    }
    if (first_waiter_ == nullptr) last_waiter_ = nullptr;
    return outcome;
}

void GroupCommit::lead(std::unique_lock<std::mutex>& lock) noexcept {
    committing_ = true;
    if (!commit_round(lock).ok()) {
        // Its writers are answered; now the files may hold what memory just undid (a
        // rename went through before a later step failed). One more round, at once,
        // rewrites them from memory, so a crash before the next write cannot bring an
        // unacknowledged change back. It is a whole new commit (new temp file, its
        // own fsyncs), never a retry of the failed fsync, and acknowledges only
        // changes made since, if it succeeds. If it fails too, the files stay
        // suspect and the next write tries again.
        wake_.notify_all();
        commit_round(lock);
    }
    committing_ = false;
    wake_.notify_all();
}

}  // namespace tokend::yaml_store
