#include "app/outbound_sender.h"

#include "app/random_source.h"

namespace tokend {

struct OutboundSender::Pending {
    OutboundSender* owner;
    OutboundHttp request;
    std::function<void(OutboundResult)> done;
    int attempts = 0;
    UvTimer timer;  // open only between attempts
};

OutboundSender::OutboundSender(uv_loop_t* loop, HttpClient& client, RetryPolicy policy, const Clock& clock,
                               std::chrono::milliseconds timeout)
    : loop_(loop), client_(client), policy_(policy), clock_(clock), timeout_(timeout) {}

OutboundSender::~OutboundSender() = default;

void OutboundSender::send(const OutboundHttp& request, std::function<void(OutboundResult)> done) {
    auto* pending = new Pending{this, request, std::move(done), 0, {}};
    attempt(pending);
}

void OutboundSender::attempt(Pending* pending) {
    if (closing_) {
        finish(pending, OutboundResult{0, "", "cancelled", pending->attempts, ""});
        return;
    }
    ++pending->attempts;
    HttpClientRequest request;
    request.method = pending->request.method;
    request.url = pending->request.url;
    request.timeout = timeout_;
    if (!pending->request.content_type.empty()) request.headers.emplace_back("Content-Type", pending->request.content_type);
    if (pending->request.authorization) {
        request.headers.emplace_back("Authorization", pending->request.authorization->reveal());
    } else if (pending->request.bearer) {
        request.headers.emplace_back("Authorization", "Bearer " + pending->request.bearer->reveal());
    }
    request.headers.emplace_back("Accept", "application/json");
    request.body = pending->request.body.reveal();
    const auto started = std::chrono::steady_clock::now();
    client_.send(std::move(request), [this, pending, started](HttpClientResponse response) {
        if (observer_ && !response.cancelled) {
            observer_(pending->request, response.status, std::chrono::steady_clock::now() - started);
        }
        OutboundResult result{response.status, std::move(response.body), std::move(response.error), pending->attempts, ""};
        if (const std::string* retry_after = response.header("Retry-After")) result.retry_after = *retry_after;
        if (!pending->request.retry_allowed || closing_ || response.cancelled) {
            finish(pending, std::move(result));
            return;
        }
        AttemptOutcome outcome = attempt_outcome(response);
        if (pending->request.message_answer) {
            outcome.answer_asks_retry = read_message_answer(*pending->request.message_answer, result.status,
                                                            result.body, result.error).kind ==
                                        MessageVerdict::Kind::retry;
        }
        const RetryDecision decision = decide_retry(policy_, pending->attempts, outcome, random_fraction(), clock_.now());
        if (!decision.retry) {
            finish(pending, std::move(result));
            return;
        }
        // Wait on a timer of our own, then try again.
        waiting_.insert(pending);
        ++timers_open_;
        pending->timer.start(loop_, decision.delay, std::chrono::milliseconds(0), [this, pending] {
            waiting_.erase(pending);
            wait_then_attempt(pending);
        });
    });
}

// The wait is over (or cancelled by close): once the timer is closed, try
// again; attempt() finishes the request as cancelled when closing.
void OutboundSender::wait_then_attempt(Pending* pending) {
    pending->timer.close([this, pending] {
        --timers_open_;
        attempt(pending);
    });
}

void OutboundSender::finish(Pending* pending, OutboundResult result) {
    auto done = std::move(pending->done);
    delete pending;
    done(std::move(result));
    maybe_closed();
}

void OutboundSender::maybe_closed() {
    if (!closing_ || !waiting_.empty() || timers_open_ != 0 || !closed_) return;
    auto closed = std::move(closed_);
    closed_ = nullptr;
    closed();
}

void OutboundSender::close(std::function<void()> closed) {
    closing_ = true;
    closed_ = std::move(closed);
    // Each waiting timer is closed; its close callback calls attempt(), which
    // sees closing_ and finishes the request as cancelled.
    std::set<Pending*> waiting;
    waiting.swap(waiting_);
    for (Pending* pending : waiting) wait_then_attempt(pending);
    maybe_closed();
}

}  // namespace tokend
