#include "app/reencrypt.h"

#include "app/random_source.h"
#include "core/flow_state.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <system_error>
#include <thread>

namespace tokend {
namespace {

constexpr uint32_t kPageSize = 500;
constexpr int kCompareRounds = 5;
constexpr uint64_t kLogEvery = 10000;

struct Page {
    StoreStatus status;
    std::string next_cursor;
    ReencryptCounts counts;
    std::vector<UnreadableRecord> unreadable;
};

// A listed record: its value when the listing gave it, else read before deciding.
struct Listed {
    std::string key;
    std::optional<std::string> raw;
};

// One record: decided and, when needed, rewritten against its raw bytes.
// Returns false on a store failure (in page->status).
bool reseal_one(Store& store, Ns ns, const std::string& key, std::string raw, const TokenKeyRing& ring, Page* page) {
    const RecordKind kind = ns == Ns::user ? RecordKind::user_context : RecordKind::flow;
    ReencryptCounts& counts = page->counts;
    ++counts.examined;
    for (int round = 1;; ++round) {
        Reseal reseal = reseal_record(raw, kind, key, ring, [] { return random_bytes(kTokenNonceBytes); });
        if (reseal.kind == Reseal::Kind::current) {
            ++counts.current;
            return true;
        }
        if (reseal.kind == Reseal::Kind::unreadable) {
            ++counts.unreadable;
            page->unreadable.push_back({ns == Ns::user ? "user" : "flow", ns == Ns::user ? key : flow_log_id(key),
                                        reseal.failure.key_id, reseal.failure.describe()});
            return true;
        }
        std::string now_stored;
        bool changed = false;
        const StoreStatus put = store.put_if_equal(ns, key, raw, reseal.text, std::nullopt, &now_stored, &changed);
        if (put.ok()) {
            ++counts.rewritten;
            return true;
        }
        if (put.not_found()) {
            ++counts.gone;
            return true;
        }
        if (put.code == StoreCode::conflict && changed) {
            if (round >= kCompareRounds) {
                ++counts.busy;
                return true;
            }
            raw = std::move(now_stored);
            continue;
        }
        page->status = put;
        return false;
    }
}

// Reads (when the listing gave no value) and reseals one listed record.
bool visit_one(Store& store, Ns ns, Listed& record, const TokenKeyRing& ring, Page* page) {
    if (!record.raw) {
        std::string raw;
        const StoreStatus got = store.get(ns, record.key, &raw);
        if (got.not_found()) return true;  // deleted since the listing
        if (!got.ok()) {
            page->status = got;
            return false;
        }
        record.raw = std::move(raw);
    }
    return reseal_one(store, ns, record.key, std::move(*record.raw), ring, page);
}

// Reseals a page's records with up to `writers` threads at once (this one
// included). Each record is still its own compare-and-put; running them
// side by side lets a store that batches concurrent writes (the yaml store's
// group commit: one file rewrite for all the writers waiting) cover many
// records per write instead of one. The first store failure stops every
// thread from taking more records.
void reseal_page(Store& store, Ns ns, std::vector<Listed>& records, const TokenKeyRing& ring, size_t writers,
                 Page* page) {
    writers = std::max<size_t>(1, std::min(writers, records.size()));
    std::vector<Page> parts(writers);
    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};
    auto work = [&](Page* part) {
        while (!failed.load(std::memory_order_relaxed)) {
            const size_t i = next.fetch_add(1, std::memory_order_relaxed);
            if (i >= records.size()) return;
            if (!visit_one(store, ns, records[i], ring, part)) failed.store(true, std::memory_order_relaxed);
        }
    };
    std::vector<std::thread> threads;
    try {
        for (size_t i = 1; i < writers; ++i) threads.emplace_back(work, &parts[i]);
    } catch (const std::system_error& error) {
        // Out of threads: the ones started and this one do the page.
        spdlog::warn("re-encryption: {} writer threads of {} started: {}", threads.size() + 1, writers, error.what());
    }
    work(&parts[0]);
    for (std::thread& thread : threads) thread.join();

    for (Page& part : parts) {
        page->counts.examined += part.counts.examined;
        page->counts.rewritten += part.counts.rewritten;
        page->counts.current += part.counts.current;
        page->counts.unreadable += part.counts.unreadable;
        page->counts.gone += part.counts.gone;
        page->counts.busy += part.counts.busy;
        for (UnreadableRecord& record : part.unreadable) page->unreadable.push_back(std::move(record));
        if (page->status.ok() && !part.status.ok()) page->status = part.status;
    }
    // In key order, as one thread would have named them.
    std::sort(page->unreadable.begin(), page->unreadable.end(),
              [](const UnreadableRecord& a, const UnreadableRecord& b) { return a.key < b.key; });
}

// Writers at once: one for a store that serializes its calls anyway.
size_t writers_for(const Store& store) {
    return store.plugin().has(TOKEND_STORE_CAP_THREAD_SAFE) ? Reencryptor::kWriters : 1;
}

}  // namespace

void Reencryptor::run(OpCallback<ReencryptReport> done) {
    waiting_.push_back(std::move(done));
    if (report_.running) return;
    report_ = ReencryptReport{};
    report_.running = true;
    report_.active_key = runtime_.cipher().ring().active_id;
    ns_ = Ns::user;
    cursor_.clear();
    logged_at_ = 0;
    began_ = std::chrono::steady_clock::now();
    spdlog::info("re-encryption started: every stored context and pending flow to {}",
                 report_.active_key.empty() ? "plain text (no active key)" : "key " + report_.active_key);
    next_page();
}

void Reencryptor::next_page() {
    if (runtime_.draining()) {
        finish("tokend is shutting down; run it again to finish (done records are not rewritten)");
        return;
    }
    runtime_.on_store<Page>(
        [this, ns = ns_, cursor = cursor_] {
            Store& store = runtime_.store();
            const TokenKeyRing& ring = runtime_.cipher().ring();
            Page page;
            std::vector<Listed> records;
            if (store.can_list_entries()) {
                StoreEntryPage entries;
                page.status = store.list_entries(ns, cursor, kPageSize, &entries);
                if (!page.status.ok()) return page;
                page.next_cursor = std::move(entries.next_cursor);
                records.reserve(entries.entries.size());
                for (StoreEntry& entry : entries.entries) {
                    if (entry.key.empty()) continue;  // only a hand-edited store holds one
                    records.push_back({std::move(entry.key), std::move(entry.value)});
                }
            } else {
                StorePage keys;
                page.status = store.list(ns, cursor, kPageSize, &keys);
                if (!page.status.ok()) return page;
                page.next_cursor = std::move(keys.next_cursor);
                records.reserve(keys.keys.size());
                for (std::string& key : keys.keys) records.push_back({std::move(key), std::nullopt});
            }
            reseal_page(store, ns, records, ring, writers_for(store), &page);
            return page;
        },
        [this](Page page) {
            ReencryptCounts& counts = ns_ == Ns::user ? report_.contexts : report_.flows;
            counts.examined += page.counts.examined;
            counts.rewritten += page.counts.rewritten;
            counts.current += page.counts.current;
            counts.unreadable += page.counts.unreadable;
            counts.gone += page.counts.gone;
            counts.busy += page.counts.busy;
            for (UnreadableRecord& record : page.unreadable) {
                spdlog::error("re-encryption: {} {} cannot be decrypted: {}; left as it is, not served", record.ns,
                              record.key, record.reason);
                if (report_.unreadable.size() < kMaxNamedUnreadable) report_.unreadable.push_back(std::move(record));
            }
            if (!page.status.ok()) {
                finish("store: " + page.status.describe() + "; run it again to finish (done records are not rewritten)");
                return;
            }
            const uint64_t done = report_.contexts.examined + report_.flows.examined;
            if (done - logged_at_ >= kLogEvery) {
                logged_at_ = done;
                spdlog::info("re-encryption: {} contexts examined ({} rewritten, {} unreadable), {} flows",
                             report_.contexts.examined, report_.contexts.rewritten, report_.contexts.unreadable,
                             report_.flows.examined);
            }
            cursor_ = std::move(page.next_cursor);
            if (cursor_.empty()) {
                if (ns_ == Ns::flow) {
                    finish("");
                    return;
                }
                ns_ = Ns::flow;
            }
            next_page();
        });
}

void Reencryptor::finish(std::string error) {
    report_.running = false;
    report_.finished = error.empty();
    report_.error = std::move(error);
    report_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began_).count();
    const auto level = report_.finished && report_.contexts.unreadable + report_.flows.unreadable == 0
                           ? spdlog::level::info
                           : spdlog::level::warn;
    spdlog::log(level,
                "re-encryption {}: contexts {} examined, {} rewritten, {} already current, {} unreadable, {} busy; "
                "flows {} examined, {} rewritten, {} unreadable; {:.1f} s{}",
                report_.finished ? "finished" : "stopped", report_.contexts.examined, report_.contexts.rewritten,
                report_.contexts.current, report_.contexts.unreadable, report_.contexts.busy, report_.flows.examined,
                report_.flows.rewritten, report_.flows.unreadable, report_.seconds,
                report_.error.empty() ? "" : ": " + report_.error);
    auto waiting = std::move(waiting_);
    waiting_.clear();
    for (auto& done : waiting) done(OpResult<ReencryptReport>::success(report_));
}

}  // namespace tokend
