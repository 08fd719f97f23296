#include "app/outbound_sender.h"

#include "app/random_source.h"

namespace tokend {

struct OutboundSender::Pending {
    OutboundSender* owner;
    OutboundHttp request;
    std::function<void(OutboundResult)> done;
    int attempts = 0;
    uv_timer_t timer{};
};

OutboundSender::OutboundSender(uv_loop_t* loop, HttpClient& client, RetryPolicy policy, const Clock& clock,
                               std::chrono::milliseconds timeout)
    : loop_(loop), client_(client), policy_(policy), clock_(clock), timeout_(timeout) {}

OutboundSender::~OutboundSender() = default;

void OutboundSender::send(const OutboundHttp& request, std::function<void(OutboundResult)> done) {
    auto* pending = new Pending{this, request, std::move(done)};
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
    if (pending->request.bearer) {
        request.headers.emplace_back("Authorization", "Bearer " + pending->request.bearer->reveal());
    }
    request.headers.emplace_back("Accept", "application/json");
    request.body = pending->request.body.reveal();
    client_.send(std::move(request), [this, pending](HttpClientResponse response) {
        OutboundResult result{response.status, std::move(response.body), std::move(response.error), pending->attempts, ""};
        const std::string* retry_after = response.header("Retry-After");
        if (retry_after) result.retry_after = *retry_after;
        if (!pending->request.retry_allowed || closing_ || response.cancelled) {
            finish(pending, std::move(result));
            return;
        }
        AttemptOutcome outcome;
        outcome.status = response.status;
        outcome.retry_after = retry_after ? std::string_view(*retry_after) : std::string_view();
        outcome.transport_error = response.status == 0;
        outcome.timed_out = response.timed_out;
        const RetryDecision decision =
            decide_retry(policy_, pending->attempts, outcome, random_fraction(), clock_.now());
        if (!decision.retry) {
            finish(pending, std::move(result));
            return;
        }
        // Wait on a timer of our own, then try again.
        waiting_.insert(pending);
        uv_timer_init(loop_, &pending->timer);
        ++timers_open_;
        pending->timer.data = pending;
        uv_timer_start(&pending->timer, [](uv_timer_t* timer) {
            auto* waiting = static_cast<Pending*>(timer->data);
            waiting->owner->waiting_.erase(waiting);
            uv_close(reinterpret_cast<uv_handle_t*>(timer), on_timer_closed);
        }, static_cast<uint64_t>(decision.delay.count()), 0);
    });
}

// The wait is over (or cancelled by close): try again; attempt() finishes the
// request as cancelled when closing.
void OutboundSender::on_timer_closed(uv_handle_t* handle) {
    auto* pending = static_cast<Pending*>(handle->data);
    OutboundSender* owner = pending->owner;
    --owner->timers_open_;
    owner->attempt(pending);
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
    for (Pending* pending : waiting_) {
        uv_timer_stop(&pending->timer);
        uv_close(reinterpret_cast<uv_handle_t*>(&pending->timer), on_timer_closed);
    }
    waiting_.clear();
    maybe_closed();
}

}  // namespace tokend
