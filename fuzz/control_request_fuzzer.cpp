// The control protocol's request decoding (core/control_protocol): bytes a
// local process writes to the control socket, split into lines by
// LineSplitter (fed in pieces of fuzzed sizes) and each parsed by
// parse_request, then answered with encode_ok / encode_error.
// Checks: a line is never longer than the limit and never holds '\n'; the bytes
// held for a partial line stay within the limit; a parsed request names a
// known op and has a scalar id; a failure sets an error code; every answer is
// one line of valid JSON that echoes the id. The fast paths agree with the
// general ones: parse_plain_request, when it takes a line, gives what the
// full parse gives (every member read the same through RequestParams::find),
// and encode_ok_strings writes encode_ok's bytes. parse_request_into, which
// the control server gives one request for every line of a connection, gives
// what a fresh parse gives, whatever the lines before were.
#include "fuzz_check.h"

#include "core/control_protocol.h"
#include "core/json_limits.h"

namespace {

using namespace tokend;

void check_answer(const std::string& line, const Json& id) {
    FUZZ_CHECK(!line.empty() && line.back() == '\n');
    FUZZ_CHECK(line.find('\n') == line.size() - 1);
    const Json parsed = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    FUZZ_CHECK(parsed.is_object());
    // Invalid UTF-8 in a string id would be replaced; everything else is echoed as given.
    if (!id.is_string()) FUZZ_CHECK(parsed["id"] == id);
}

// Same value, same types (1 unsigned is not 1 signed), same bytes.
bool same_json(const Json& a, const Json& b) {
    if (a != b || a.type() != b.type()) return false;
    if (a.is_object()) {
        if (a.size() != b.size()) return false;
        for (auto x = a.begin(), y = b.begin(); x != a.end(); ++x, ++y) {
            if (x.key() != y.key() || !same_json(*x, *y)) return false;
        }
    }
    return a.dump(-1, ' ', false, Json::error_handler_t::replace) == b.dump(-1, ' ', false, Json::error_handler_t::replace);
}

void check_fast_paths(std::string_view line) {
    ProtocolError error{ErrorCode::internal, "", nullptr};
    const auto full = parse_request_fully(line, &error);
    if (const auto fast = parse_plain_request(line)) {
        FUZZ_CHECK(full);
        FUZZ_CHECK(fast->op == full->op);
        FUZZ_CHECK(same_json(fast->id, full->id));
        const Json fast_params = fast->params.to_json();
        FUZZ_CHECK(same_json(fast_params, full->params.to_json()));
        for (auto member = fast_params.begin(); member != fast_params.end(); ++member) {
            const Param a = fast->params.find(member.key());
            const Param b = full->params.find(member.key());
            FUZZ_CHECK(a.kind == b.kind && a.text == b.text && a.number == b.number && a.flag == b.flag);
        }
    }
    // The line's own text as a value (keys are literals checked when compiled),
    // its id (when it has one) as the id.
    const Json id = full ? full->id : error.id;
    FUZZ_CHECK(encode_ok_strings(id, {{"user_id", line}, {"access_token", std::nullopt}, {"k", "x"}}) ==
               encode_ok(id, Json::object({{"user_id", line}, {"access_token", nullptr}, {"k", "x"}})));
}

void check_reused_request(std::string_view line, const Result<ControlRequest>& fresh) {
    static ControlRequest reused;  // kept across lines and inputs, as a connection keeps it
    ProtocolError error{ErrorCode::internal, "", nullptr};
    const bool parsed = parse_request_into(line, &reused, &error);
    FUZZ_CHECK(parsed == static_cast<bool>(fresh));
    if (!parsed) return;
    FUZZ_CHECK(reused.op == fresh->op);
    FUZZ_CHECK(same_json(reused.id, fresh->id));
    FUZZ_CHECK(same_json(reused.params.to_json(), fresh->params.to_json()));
}

void parse_line(std::string_view line) {
    check_fast_paths(line);
    ProtocolError error{ErrorCode::internal, "", nullptr};
    auto request = parse_request(line, &error);
    check_reused_request(line, request);
    if (!request) {
        FUZZ_CHECK(error.code == ErrorCode::bad_request || error.code == ErrorCode::unknown_op);
        FUZZ_CHECK(!error.id.is_structured());
        check_answer(encode_error(error.id, error.code, error.message), error.id);
        return;
    }
    FUZZ_CHECK(request->op != nullptr && find_op(request->op->name) == request->op);
    FUZZ_CHECK(!request->id.is_structured());
    const Json params = request->params.to_json();
    FUZZ_CHECK(params.is_object() && params.contains("op"));
    check_answer(encode_ok(request->id, params), request->id);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    // The first byte picks the line limit (small ones exercise "too long"),
    // the second the size of the pieces the rest arrives in.
    const size_t limit = data[0] < 128 ? kDefaultMaxLineBytes : 1 + data[0] % 64;
    const size_t piece = 1 + data[1] % 32;
    const std::string_view bytes = fuzz::as_text(data + 2, size - 2);

    LineSplitter splitter(limit);
    std::vector<LineSplitter::Line> lines;
    for (size_t at = 0; at < bytes.size(); at += piece) {
        splitter.feed(bytes.substr(at, piece), &lines);
        FUZZ_CHECK(splitter.buffered() <= limit);
    }
    size_t newlines = 0;
    for (char c : bytes) newlines += c == '\n';
    FUZZ_CHECK(lines.size() <= newlines + 1);
    for (const auto& line : lines) {
        FUZZ_CHECK(line.text.size() <= limit);
        FUZZ_CHECK(line.text.find('\n') == std::string::npos);
        if (line.too_long) {
            FUZZ_CHECK(line.text.empty());
            continue;
        }
        parse_line(line.text);
    }
    // The whole input as one line too: what a client with a raised limit sends.
    parse_line(bytes);
    return 0;
}
