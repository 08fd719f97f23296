// The control protocol's codec: newline-delimited JSON, one request object per
// line, one response per line, no I/O. Shared by the daemon's control server,
// tokenctl and the C client library. docs/protocol.md is the reference.
#pragma once

#include "core/request_params.h"
#include "core/result.h"
#include "core/tokens.h"

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tokend {

constexpr int kProtocolVersion = 1;
constexpr size_t kDefaultMaxLineBytes = 64 * 1024;

enum class ErrorCode {
    bad_request,
    unknown_op,
    not_found,
    permission_denied,
    reauth_required,
    provider_error,
    store_unavailable,
    internal,
    unknown_integration,  // "integration" names none of this tokend's
    provider_unavailable  // the provider's settings are not known yet (the oidc preset before discovery)
};
std::string_view to_string(ErrorCode code);
std::optional<ErrorCode> error_code_from_string(std::string_view name);

// Who may call an operation (checked against the caller's uid/gid).
enum class OpClass { read, write };

struct OpInfo {
    std::string_view name;
    OpClass op_class;
};
// Every operation of protocol version 1, in documentation order.
const std::vector<OpInfo>& protocol_ops();
const OpInfo* find_op(std::string_view name);

// A plain line's request refers to the line (core/request_params.h): it is
// good while the line is.
struct ControlRequest {
    Json id;                      // null when absent; otherwise the request's scalar, echoed back
    const OpInfo* op = nullptr;   // its entry in protocol_ops()
    RequestParams params;         // the whole request's members (op and id included)

    // As default-constructed, for the next parse.
    void clear();
};

struct ProtocolError {
    ErrorCode code;
    std::string message;
    Json id;  // the request's id when it could be read, else null
};

// Parses one line (without its newline). Fails with bad_request for anything
// that is not a JSON object with a string "op" and a scalar (or absent) "id",
// and with unknown_op for an op this version does not have.
Result<ControlRequest> parse_request(std::string_view line, ProtocolError* error);
// The same into *request (cleared first), without moving a request out: the
// control server parses each line into one request it keeps.
bool parse_request_into(std::string_view line, ControlRequest* request, ProtocolError* error);

// parse_request's fast path, for what clients send: one flat object of up to
// 8 members whose keys and string values hold ASCII 0x20-0x7f and no escapes
// and whose other values are unsigned integers (up to 19 digits), true, false
// or null, with a known op. Gives exactly what the full parse gives for such
// a line; nullopt for any other line, which the full parse then decides
// (the control_request fuzz target checks the two agree).
std::optional<ControlRequest> parse_plain_request(std::string_view line);
// The same into *request (cleared first); false (and *request cleared) for a declined line.
bool parse_plain_request_into(std::string_view line, ControlRequest* request);
// parse_request without the fast path: the reference it is checked against.
Result<ControlRequest> parse_request_fully(std::string_view line, ProtocolError* error);

// Response and event lines, each ending in '\n'.
std::string encode_ok(const Json& id, const Json& result);
std::string encode_error(const Json& id, ErrorCode code, std::string_view message);
// revocation: a signed_out event's outcome ("revoked", ...); integration: the
// user's integration (a tokend with several); empty: no such member.
std::string encode_event(std::string_view event, std::string_view user_id, std::string_view at,
                         std::string_view revocation = {}, std::string_view integration = {});

// A member name in encode_ok_strings' answers: a literal, checked when the
// program is compiled to need no JSON escaping (so it is not scanned per answer).
class AnswerKey {
public:
    consteval AnswerKey(const char* text) : text_(text) {  // implicit: keys are written as literals
        for (const char c : text_) {
            const auto byte = static_cast<unsigned char>(c);
            // Throwing is not a constant expression: a key that needs escaping does not compile.
            if (byte == '"' || byte == '\\' || byte < 0x20 || byte >= 0x80) throw "answer key needs escaping";
        }
    }
    std::string_view text() const { return text_; }

private:
    std::string_view text_;
};

// encode_ok for a result that is a flat object of strings (a null member when
// the value is nullopt), in the order given: the same bytes as encode_ok with
// that object, without building one (get_token's answer, the hot path).
struct StringMember {
    AnswerKey key;
    std::optional<std::string_view> value;
    // The caller's word that value needs no escaping (format_iso8601_text's
    // text): not scanned. Checked in builds with assertions.
    bool value_is_plain = false;
};
std::string encode_ok_strings(const Json& id, std::initializer_list<StringMember> result);
// The same into *line, replacing what it held: a buffer reused answer after
// answer allocates nothing once it is large enough.
void encode_ok_strings(std::string* line, const Json& id, std::initializer_list<StringMember> result);

// Splits a byte stream into lines with a hard limit on line length. A line over
// the limit is dropped (its bytes are not kept) and reported once as too long,
// after which the stream continues with the next line.
class LineSplitter {
public:
    explicit LineSplitter(size_t max_line_bytes = kDefaultMaxLineBytes) : max_(max_line_bytes) {}

    struct Line {
        std::string text;
        bool too_long = false;  // text is empty then
    };
    struct LineView {
        std::string_view text;
        bool too_long = false;  // text is empty then
    };

    // Feeds bytes; appends each complete line to *lines.
    void feed(std::string_view bytes, std::vector<Line>* lines);
    // The same without copying: each line points into `bytes` or (a line
    // begun by an earlier feed) into the splitter, valid until the next feed.
    void feed_views(std::string_view bytes, std::vector<LineView>* lines);
    // Bytes held for an incomplete line (never more than the limit).
    size_t buffered() const { return partial_.size(); }

private:
    size_t max_;
    std::string partial_;
    std::string assembled_;  // the one line a feed completes from partial_
    bool discarding_ = false;
};

}  // namespace tokend
