// Sends the core's OutboundHttp requests through the HTTP client, retrying the
// ones that allow it (never a code exchange) with backoff and Retry-After, and
// a message whose 2xx answer asks for it (OutboundHttp::message_answer).
// Loop thread only.
#pragma once

#include "core/iso_time.h"
#include "core/redirect_flow.h"
#include "core/retry_policy.h"
#include "io/http_client.h"
#include "io/uv_handle.h"

#include <uv.h>

#include <functional>
#include <memory>
#include <set>
#include <string>

namespace tokend {

struct OutboundResult {
    int status = 0;     // 0: no HTTP answer (error says why)
    std::string body;
    std::string error;  // host and reason, never a secret
    int attempts = 0;
    std::string retry_after;  // the last answer's Retry-After header, if any
};

// Sees every attempt (a retried request is seen once per attempt): the request,
// the HTTP status (0: no answer) and how long the attempt took. For metrics.
using OutboundObserver =
    std::function<void(const OutboundHttp& request, int status, std::chrono::steady_clock::duration took)>;

class OutboundSender {
public:
    OutboundSender(uv_loop_t* loop, HttpClient& client, RetryPolicy policy, const Clock& clock,
                   std::chrono::milliseconds timeout);
    ~OutboundSender();

    void send(const OutboundHttp& request, std::function<void(OutboundResult)> done);

    void set_observer(OutboundObserver observer) { observer_ = std::move(observer); }

    // Cancels retries that are waiting (their done gets status 0, "cancelled"),
    // then calls closed. Requests already with the client finish through it.
    void close(std::function<void()> closed);

private:
    struct Pending;
    void attempt(Pending* pending);
    void finish(Pending* pending, OutboundResult result);
    void wait_then_attempt(Pending* pending);
    void maybe_closed();

    uv_loop_t* loop_;
    HttpClient& client_;
    RetryPolicy policy_;
    const Clock& clock_;
    std::chrono::milliseconds timeout_;
    std::set<Pending*> waiting_;  // between attempts, with a timer
    bool closing_ = false;
    size_t timers_open_ = 0;
    std::function<void()> closed_;
    OutboundObserver observer_;
};

}  // namespace tokend
