// User context JSON (core/user_context, core/tokens, core/json_limits), and the
// pending flow JSON (core/flow_state): stored values any writer of the store
// (the Python module, another tokend, an operator) may have put there, and the
// payload of set_user_context.
// Checks: bounded parsing never yields a value deeper than kMaxJsonDepth; a
// parsed context or flow, stored (to_stored_text) and parsed again, is the
// same value, and storing that gives the same text; what the fast reader
// (core/user_context_fast) takes, the DOM reader reads to the same context;
// the cache's packed form (core/compact_context) unpacks to the same context.
#include "fuzz_check.h"

#include "core/compact_context.h"
#include "core/flow_state.h"
#include "core/json_limits.h"
#include "core/sealed_record.h"
#include "core/user_context.h"
#include "core/user_context_fast.h"

namespace {

using namespace tokend;

// Depth as json_depth_within counts it; the value is already bounded, so the
// recursion is too.
size_t depth_of(const Json& json) {
    if (!json.is_structured()) return 0;
    size_t deepest = 0;
    for (const auto& item : json) deepest = std::max(deepest, depth_of(item));
    return deepest + 1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text = fuzz::as_text(data, size);

    const Json json = parse_bounded_json(text);
    if (!json.is_discarded()) FUZZ_CHECK(depth_of(json) <= kMaxJsonDepth);

    if (auto plain = user_context_from_plain_json(text)) {
        FUZZ_CHECK(!json.is_discarded());
        // StoreCipher::open_context takes what the fast reader takes as plain
        // text: were a sealed value in it, ciphertext would be served as a token.
        FUZZ_CHECK(!may_hold_sealed_value(text));
        auto dom = user_context_from_json(json);
        FUZZ_CHECK(dom);
        FUZZ_CHECK(*dom == *plain);
    }

    if (auto context = user_context_from_json(text)) {
        const std::string stored = to_stored_text(*context);
        auto again = user_context_from_json(std::string_view(stored));
        FUZZ_CHECK(again);
        FUZZ_CHECK(again->user_id == context->user_id);
        FUZZ_CHECK(again->tokens.access_token == context->tokens.access_token);
        FUZZ_CHECK(again->tokens.refresh_token == context->tokens.refresh_token);
        FUZZ_CHECK(again->tokens.expires_at == context->tokens.expires_at);
        FUZZ_CHECK(again->tokens.refresh_token_expires_at == context->tokens.refresh_token_expires_at);
        FUZZ_CHECK(again->tokens.token_type == context->tokens.token_type);
        FUZZ_CHECK(again->tokens.scope == context->tokens.scope);
        FUZZ_CHECK(to_stored_text(*again) == stored);
        InternPool pool;
        CompactContext packed = CompactContext::pack(*context, pool);
        FUZZ_CHECK(packed.unpack(pool) == *context);
        FUZZ_CHECK(to_stored_text(packed.unpack(pool)) == stored);
        packed.release_into(pool);
        FUZZ_CHECK(pool.distinct() == 0);
        // What the parse of `json` gave must agree with the text form.
        FUZZ_CHECK(!json.is_discarded());
        FUZZ_CHECK(user_context_from_json(json));
    }

    if (auto flow = flow_state_from_json(text)) {
        const std::string stored = to_stored_text(*flow);
        auto again = flow_state_from_json(stored);
        FUZZ_CHECK(again);
        FUZZ_CHECK(again->user_id == flow->user_id && again->created == flow->created &&
                   again->code_verifier == flow->code_verifier);
        FUZZ_CHECK(to_stored_text(*again) == stored);
    }
    return 0;
}
