#include "crash_workload.h"

#include <nlohmann/json.hpp>

namespace tokend::yaml_crash {
namespace {

std::string user_key(int thread, uint64_t slot) {
    return "crash-t" + std::to_string(thread) + "-u" + std::to_string(slot);
}

std::string flow_key(int thread, uint64_t slot) {
    return "crash-t" + std::to_string(thread) + "-f" + std::to_string(slot);
}

// About 700 bytes of JSON, like a real Webex user context.
std::string context(const std::string& user_id, const std::string& stamp) {
    return nlohmann::ordered_json{
        {"user_id", user_id},
        {"tokens",
         {{"access_token", "at-" + stamp + "-" + std::string(180, 'a')},
          {"expires_at", "2026-12-12T10:00:00.123456+00:00"},
          {"refresh_token", "rt-" + stamp + "-" + std::string(180, 'r')},
          {"refresh_token_expires_at", "2027-03-12T10:00:00.654321+00:00"},
          {"token_type", "Bearer"},
          {"scope",
           "spark:kms spark:people_read spark:rooms_read spark:messages_write "
           "spark:rooms_write spark:memberships_read"}}}}
        .dump();
}

}  // namespace

Op op_for(int generation, int thread, uint64_t index) {
    const std::string stamp = "g" + std::to_string(generation) + "-t" + std::to_string(thread) +
                              "-i" + std::to_string(index);
    const uint64_t round = index / 10;
    Op op;
    switch (index % 10) {
        case 5:  // opaque bytes, stored as !!binary
            op = {Op::Kind::put, Ns::flow, flow_key(thread, index % 3),
                  std::string("raw\0", 4) + stamp + "\xff"};
            break;
        case 6: op = {Op::Kind::del, Ns::user, user_key(thread, round % 6), {}}; break;
        case 7:
            op = {Op::Kind::put, Ns::flow, flow_key(thread, round % 3),
                  nlohmann::ordered_json{{"user_id", user_key(thread, 0)},
                                         {"created", "2026-12-12T10:00:00+00:00"},
                                         {"stamp", stamp}}
                      .dump()};
            break;
        case 8: op = {Op::Kind::take, Ns::flow, flow_key(thread, (round + 1) % 3), {}}; break;
        case 9: op = {Op::Kind::del, Ns::flow, flow_key(thread, (round + 2) % 3), {}}; break;
        default: {
            const std::string key = user_key(thread, index % 6);
            op = {Op::Kind::put, Ns::user, key, context(key, stamp)};
        }
    }
    return op;
}

void apply(const Op& op, State* state) {
    if (op.kind == Op::Kind::put) {
        (*state)[{op.ns, op.key}] = op.value;
    } else {
        state->erase({op.ns, op.key});
    }
}

std::string seed_users_file(int count) {
    std::string text;
    for (int i = 0; i < count; ++i) {
        const std::string id = "seed-user-" + std::to_string(i);
        text += "'" + id +
                "':\n  tokens:\n"
                "    access_token: AT" +
                std::string(180, 'x') + std::to_string(i) +
                "\n"
                "    expires_at: '2026-12-12T10:00:00.123456+00:00'\n"
                "    refresh_token: RT" +
                std::string(180, 'y') + std::to_string(i) +
                "\n"
                "    refresh_token_expires_at: '2027-03-12T10:00:00.654321+00:00'\n"
                "    scope: spark:kms spark:people_read\n"
                "    token_type: Bearer\n"
                "  user_id: " +
                id + "\n";
    }
    return text;
}

}  // namespace tokend::yaml_crash
