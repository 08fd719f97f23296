// Leader/follower group commit. A writer applies its change in memory under the
// store's mutex, takes a sequence number and waits here until a commit covering it
// is durable. One waiting thread at a time leads: it captures every change made so
// far, writes without the mutex, and answers all the writers it covered at once, so
// N concurrent writers cost about one file write instead of N.
#pragma once

#include "status.h"

#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace tokend::yaml_store {

class GroupCommit {
public:
    // What a commit does; implemented by the store.
    class Committer {
    public:
        // Mutex held: capture everything applied so far. May throw (out of memory);
        // the commit then fails and end_commit rolls back.
        virtual void begin_commit() = 0;
        // Mutex not held: make the captured state durable.
        virtual Status write_commit() noexcept = 0;
        // Mutex held: the outcome. On failure the committer must return memory to the
        // last durable state, undoing every change since the last successful commit
        // (those captured and those made while writing): all their writers fail.
        virtual void end_commit(const Status& outcome) noexcept = 0;

    protected:
        ~Committer() = default;
    };

    explicit GroupCommit(Committer& committer) : committer_(committer) {}

    // Mutex held, right after applying a change: that change's sequence number.
    uint64_t note_change() { return ++applied_; }
    // Mutex held: the latest change's number, to wait for the state an operation saw
    // when it changed nothing (a delete of a key whose deletion is not durable yet).
    uint64_t last_change() const { return applied_; }

    // Mutex held through `lock` (which may be released while waiting or leading).
    // Returns once change `sequence` is durable (OK) or its commit failed (the
    // failure, TOKEND_UNAVAILABLE for I/O errors).
    Status wait_durable(std::unique_lock<std::mutex>& lock, uint64_t sequence);

private:
    struct Waiter {
        uint64_t sequence = 0;
        bool done = false;
        Status status;
        Waiter* next = nullptr;
    };

    // noexcept: a leader that stopped half-way would leave every writer waiting
    // forever; running out of memory here ends the process instead. After a failed
    // round it runs one more at once, to make the files agree with memory again.
    void lead(std::unique_lock<std::mutex>& lock) noexcept;
    // Captures, writes and ends one commit, and answers the waiters it settles.
    Status commit_round(std::unique_lock<std::mutex>& lock) noexcept;

    Committer& committer_;
    std::condition_variable wake_;
    // Waiting writers in sequence order, an intrusive list of objects on their stacks,
    // so waiting never allocates (and cannot fail after the change is applied).
    Waiter* first_waiter_ = nullptr;
    Waiter* last_waiter_ = nullptr;
    uint64_t applied_ = 0;     // last change applied in memory
    uint64_t durable_ = 0;     // every change up to this one is on disk
    bool committing_ = false;  // a leader is at work
};

}  // namespace tokend::yaml_store
