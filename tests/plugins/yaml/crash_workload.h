// The crash test's workload, shared by the writer that gets killed and the test that
// checks what survived: operation number `index` of writer thread `thread` in run
// `generation` is always the same, so the test can replay what was acknowledged.
#pragma once

#include "host/store_status.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

namespace tokend::yaml_crash {

constexpr int kWriterThreads = 4;

struct Op {
    enum class Kind { put, del, take };
    Kind kind = Kind::put;
    Ns ns = Ns::user;
    std::string key;
    std::string value;  // for put
};

Op op_for(int generation, int thread, uint64_t index);

// Store content: (namespace, key) -> value.
using State = std::map<std::pair<Ns, std::string>, std::string>;

// The state after op (put sets, del and take remove).
void apply(const Op& op, State* state);

// The users file the test starts from: `count` realistic contexts, written the way the
// Python bot wrote them (so every run also re-reads a foreign file first).
std::string seed_users_file(int count);

}  // namespace tokend::yaml_crash
