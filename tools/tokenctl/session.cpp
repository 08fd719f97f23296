#include "session.h"

#include "core/json_limits.h"

#include <iostream>
#include <string_view>

namespace tokenctl {

using tokend::parse_bounded_json;

Session::Session(const Options& options) : options_(options) {
    char error[512] = "";
    client_ = tokend_client_connect(options.socket.empty() ? nullptr : options.socket.c_str(),
                                    options.timeout_s * 1000, 0, error, sizeof error);
    if (client_ == nullptr) fail(options, kConnection, "connection", error);
}

Session::~Session() { tokend_client_close(client_); }

void Session::send(const Json& request) {
    std::string text;
    if (!options_.integration.empty() && (request.contains("user_id") || request.value("op", "") == "watch")) {
        Json named = request;
        named["integration"] = options_.integration;
        text = named.dump();
    } else {
        text = request.dump();
    }
    if (tokend_client_send(client_, text.data(), text.size()) != 0) {
        fail(options_, kConnection, "connection", tokend_client_error(client_));
    }
}

Json Session::read() {
    const char* line = nullptr;
    size_t length = 0;
    if (tokend_client_read_line(client_, &line, &length) != 0) {
        fail(options_, kConnection, "connection", tokend_client_error(client_));
    }
    // Bounded like every JSON tokend parses (core/json_limits.h): a value
    // nested 100,000 deep would crash the copy below, not just fail.
    Json response = parse_bounded_json(std::string_view(line, length));
    if (response.is_discarded() || !response.is_object()) {
        fail(options_, kTokendError, "response", "tokend sent an unreadable response");
    }
    return response;
}

void Session::fail_with(const Json& response) {
    const Json error = response.value("error", Json::object());
    const std::string code = error.value("code", "internal");
    fail(options_, exit_for(code), code, code + ": " + error.value("message", ""));
}

Json Session::call(const Json& request) {
    send(request);
    Json response = read();
    if (!response.value("ok", false)) fail_with(response);
    return response.value("result", Json::object());
}

int Session::stream() {
    for (;;) {
        const char* line = nullptr;
        size_t length = 0;
        if (tokend_client_read_line(client_, &line, &length) != 0) return kConnection;
        if (options_.json) {
            std::cout << std::string_view(line, length) << std::endl;
        } else {
            const Json event = parse_bounded_json(std::string_view(line, length));
            if (event.is_object()) {
                std::cout << event.value("at", "") << "  " << event.value("event", "") << "  "
                          << event.value("user_id", "") << std::endl;
            }
        }
    }
}

}  // namespace tokenctl
