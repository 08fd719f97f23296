// Reading one stored user context, as start-up does a million times: the DOM
// reader (nlohmann's tree, then the fields) against user_context_from_json's
// fast path for the original's shape (core/user_context_fast), in the same run,
// on the ~700-byte context bench/redis fills Redis with (json.dumps spacing).
// For load-independent figures run it under callgrind:
//   valgrind --tool=callgrind build/bench/startup/context_parse_bench --benchmark_filter=Dom --benchmark_min_time=0.01
#include "core/user_context.h"

#include <benchmark/benchmark.h>

#include <string>

namespace {

const std::string kContext =
    R"({"user_id": "bench-0", "tokens": {"access_token": ")" + std::string(200, 'A') +
    R"(", "expires_at": "2026-12-13T20:41:07.123456+00:00", "refresh_token": ")" + std::string(200, 'R') +
    R"(", "refresh_token_expires_at": "2027-02-21T20:41:07.123456+00:00", "token_type": "Bearer", )"
    R"("scope": "spark:people_read spark:messages_write spark:rooms_read spark:memberships_read"}})";

void BM_Dom(benchmark::State& state) {
    for (auto _ : state) {
        auto context = tokend::user_context_from_json(tokend::Json::parse(kContext));
        benchmark::DoNotOptimize(context);
    }
}
BENCHMARK(BM_Dom);

void BM_Fast(benchmark::State& state) {
    for (auto _ : state) {
        auto context = tokend::user_context_from_json(std::string_view(kContext));
        benchmark::DoNotOptimize(context);
    }
}
BENCHMARK(BM_Fast);

}  // namespace

BENCHMARK_MAIN();
