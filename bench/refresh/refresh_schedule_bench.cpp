// Cost of the refresh schedule with 1,000,000 users scheduled over 90 days:
//   Reschedule: move one random user's deadline (what every refresh, set and
//     store change costs), O(log n);
//   TickIdle: one scheduler wake-up with nothing due (next() and pop_due());
//   TickOneDue: a wake-up that finds one user due, pops it and schedules its
//     next deadline (what one refresh costs the schedule).
// Baseline, same run, same operations: std::set<(deadline, id)> plus an id ->
// deadline vector, the straightforward O(log n) alternative. Quote ratios.
#include "core/refresh_schedule.h"

#include <benchmark/benchmark.h>

#include <random>
#include <set>
#include <vector>

namespace {

using tokend::RefreshSchedule;
using tokend::Timestamp;
using namespace std::chrono;

constexpr uint32_t kUsers = 1000000;
const Timestamp kStart{sys_days{year{2026} / December / 1}};

int64_t random_offset_us(std::mt19937_64& random) {
    return std::uniform_int_distribution<int64_t>(0, int64_t{90} * 86400 * 1000000)(random);
}

// The baseline with the same interface as far as the benchmarks need.
class SetSchedule {
public:
    void set(uint32_t id, Timestamp at) {
        if (id >= deadlines_.size()) deadlines_.resize(id + 1, Timestamp::min());
        if (deadlines_[id] != Timestamp::min()) entries_.erase({deadlines_[id], id});
        deadlines_[id] = at;
        entries_.insert({at, id});
    }
    std::optional<Timestamp> next() const {
        if (entries_.empty()) return std::nullopt;
        return entries_.begin()->first;
    }
    std::optional<uint32_t> pop_due(Timestamp now) {
        if (entries_.empty() || entries_.begin()->first > now) return std::nullopt;
        const uint32_t id = entries_.begin()->second;
        entries_.erase(entries_.begin());
        deadlines_[id] = Timestamp::min();
        return id;
    }

private:
    std::set<std::pair<Timestamp, uint32_t>> entries_;
    std::vector<Timestamp> deadlines_;
};

template <typename Schedule>
Schedule& filled() {
    static Schedule schedule = [] {
        Schedule s;
        std::mt19937_64 random(1);
        for (uint32_t id = 0; id < kUsers; ++id) s.set(id, kStart + microseconds(random_offset_us(random)));
        return s;
    }();
    return schedule;
}

template <typename Schedule>
void Reschedule(benchmark::State& state) {
    Schedule& schedule = filled<Schedule>();
    std::mt19937_64 random(2);
    for (auto _ : state) {
        const auto id = static_cast<uint32_t>(random() % kUsers);
        schedule.set(id, kStart + microseconds(random_offset_us(random)));
    }
}

template <typename Schedule>
void TickIdle(benchmark::State& state) {
    Schedule& schedule = filled<Schedule>();
    const Timestamp before_all = kStart - hours(1);
    for (auto _ : state) {
        benchmark::DoNotOptimize(schedule.next());
        benchmark::DoNotOptimize(schedule.pop_due(before_all));
    }
}

template <typename Schedule>
void TickOneDue(benchmark::State& state) {
    Schedule& schedule = filled<Schedule>();
    std::mt19937_64 random(3);
    const Timestamp far = kStart + hours(24 * 365);
    for (auto _ : state) {
        const auto id = schedule.pop_due(far);
        // Its next deadline: somewhere in the next 90 days, as after a refresh.
        schedule.set(*id, kStart + microseconds(random_offset_us(random)));
    }
}

template <typename Schedule>
void ScheduleAll(benchmark::State& state) {
    for (auto _ : state) {
        Schedule schedule;
        std::mt19937_64 random(4);
        for (uint32_t id = 0; id < kUsers; ++id) schedule.set(id, kStart + microseconds(random_offset_us(random)));
        benchmark::DoNotOptimize(schedule.next());
    }
    state.SetItemsProcessed(state.iterations() * kUsers);
}

BENCHMARK_TEMPLATE(Reschedule, RefreshSchedule);
BENCHMARK_TEMPLATE(Reschedule, SetSchedule);
BENCHMARK_TEMPLATE(TickIdle, RefreshSchedule);
BENCHMARK_TEMPLATE(TickIdle, SetSchedule);
BENCHMARK_TEMPLATE(TickOneDue, RefreshSchedule);
BENCHMARK_TEMPLATE(TickOneDue, SetSchedule);
BENCHMARK_TEMPLATE(ScheduleAll, RefreshSchedule)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK_TEMPLATE(ScheduleAll, SetSchedule)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
