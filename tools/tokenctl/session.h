// One connection to tokend through the public C client library
// (tokend/client.h): a request and its answer, or many pipelined.
#pragma once

#include "output.h"

#include <tokend/client.h>

#include <string>

namespace tokenctl {

class Session {
public:
    // Connects, or exits with kConnection.
    explicit Session(const Options& options);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    // Sends a request; returns its result, or reports tokend's error and exits
    // with its code.
    Json call(const Json& request);

    // Pipelining: send() requests, then read() their responses in order. A
    // response is the whole object ({"ok", "result"} or {"ok", "error"}).
    void send(const Json& request);
    Json read();

    // Streams lines (events after watch) to stdout until the connection ends.
    int stream();

    // Exits as call() does for a failed response.
    [[noreturn]] void fail_with(const Json& response);

private:
    const Options& options_;
    tokend_client* client_ = nullptr;
};

}  // namespace tokenctl
