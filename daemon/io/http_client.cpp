// The libuv side of the HTTP client: curl's multi-socket interface (see
// curl's docs/examples/multi-uv.c) with our own queue for the concurrency
// limits, plus the close sequence.
//
// How curl and libuv meet:
//  - curl says which sockets to watch through on_socket (CURLMOPT_SOCKETFUNCTION);
//    each gets a heap SocketWatch holding a uv_poll_t, remembered on curl's side
//    with curl_multi_assign. CURL_POLL_REMOVE closes the poll (freed in its
//    close callback). curl sends REMOVE before it closes a socket, so when it
//    reuses the fd number for a new socket it arrives with no assignment and
//    gets a new poll; the old one is already stopped and out of epoll (libuv's
//    uv_poll_init refuses an fd another *active* poll still watches).
//  - curl says when to call it back through on_curl_timer (CURLMOPT_TIMERFUNCTION);
//    one uv_timer_t does that. curl must not be re-entered from that callback,
//    so even a 0 ms timeout goes through the timer.
//  - after every curl_multi_socket_action, finished transfers are collected
//    with curl_multi_info_read (CURLMSG_DONE).
#include "io/http_client.h"

#include "io/http_client_transfer.h"

#include <curl/curl.h>

#include <algorithm>
#include <list>
#include <mutex>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

namespace tokend {
namespace {

constexpr char kCancelled[] = "cancelled";

// curl_global_init is not thread-safe in every curl; once per process, and
// never cleaned up (other users of curl in the process may still need it).
void init_curl_once() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw std::runtime_error("curl_global_init failed");
    });
}

HttpClientResponse failed_response(std::string error) {
    HttpClientResponse response;
    response.error = std::move(error);
    return response;
}

HttpClientResponse cancelled_response() {
    HttpClientResponse response = failed_response(kCancelled);
    response.cancelled = true;
    return response;
}

}  // namespace

struct HttpClient::Impl {
    using Done = std::function<void(HttpClientResponse)>;

    // A socket curl asked us to watch.
    struct SocketWatch {
        uv_poll_t poll{};
        curl_socket_t socket = CURL_SOCKET_BAD;
        int events = 0;  // UV_READABLE / UV_WRITABLE, as curl last asked
        Impl* owner = nullptr;
    };

    // A request waiting for a free slot.
    struct Queued {
        HttpClientRequest request;
        HttpTarget target;
        Done done;
    };

    // A `done` to call with its response on a later loop turn.
    struct Completion {
        Done done;
        HttpClientResponse response;
    };

    Impl(uv_loop_t* loop, HttpClientOptions options);

    void send(HttpClientRequest request, Done done);
    void close(std::function<void()> closed);

    void start_queued();
    void start(Queued queued);
    void complete_later(Done done, HttpClientResponse response);
    void collect_finished();
    void finish(CURL* easy, CURLcode code);
    void close_watch(SocketWatch* watch);
    void handle_closed();
    void run_completions();

    static int on_socket(CURL* easy, curl_socket_t socket, int what, void* self, void* socket_data);
    static int on_curl_timer(CURLM* multi, long timeout_ms, void* self);
    static void on_poll(uv_poll_t* poll, int status, int events);
    static void on_timer(uv_timer_t* timer);
    static void on_completions(uv_timer_t* timer);

    uv_loop_t* loop;
    HttpClientOptions options;
    CURLM* multi = nullptr;
    uv_timer_t curl_timer{};         // curl's timeout
    uv_timer_t completions_timer{};  // runs `completions` on the next loop turn

    std::unordered_map<CURL*, std::unique_ptr<HttpTransfer>> running;
    std::unordered_map<std::string, size_t> running_per_host;  // by HttpTarget::key
    std::list<Queued> queued;
    std::list<Completion> completions;         // refused up front, or cancelled by close()
    std::unordered_set<SocketWatch*> watches;  // open polls (closing ones are not here)

    size_t open_handles = 0;  // timers and polls whose close callback has not run
    bool closing = false;
    bool closed = false;     // close callbacks all ran
    bool abandoned = false;  // the HttpClient was destroyed: drop callbacks, free self
    std::function<void()> on_closed;
};

HttpClient::Impl::Impl(uv_loop_t* event_loop, HttpClientOptions client_options)
    : loop(event_loop), options(std::move(client_options)) {
    init_curl_once();
    if (options.max_concurrent == 0) options.max_concurrent = 1;
    if (options.max_per_host == 0) options.max_per_host = 1;
    multi = curl_multi_init();
    if (!multi) throw std::runtime_error("curl_multi_init failed");
    CURLMcode rc = curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &Impl::on_socket);
    if (rc == CURLM_OK) rc = curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, static_cast<void*>(this));
    if (rc == CURLM_OK) rc = curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &Impl::on_curl_timer);
    if (rc == CURLM_OK) rc = curl_multi_setopt(multi, CURLMOPT_TIMERDATA, static_cast<void*>(this));
    // Idle connections kept for reuse; never more than can be busy at once.
    if (rc == CURLM_OK) rc = curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, static_cast<long>(options.max_concurrent));
    if (rc != CURLM_OK) {
        curl_multi_cleanup(multi);
        throw std::runtime_error(std::string("curl_multi_setopt: ") + curl_multi_strerror(rc));
    }
    // Timer init cannot fail on Unix; done last so nothing above leaves a handle behind.
    uv_timer_init(loop, &curl_timer);
    uv_timer_init(loop, &completions_timer);
    curl_timer.data = this;
    completions_timer.data = this;
    open_handles = 2;
}

void HttpClient::Impl::send(HttpClientRequest request, Done done) {
    if (closing) {
        done(cancelled_response());
        return;
    }
    auto target = parse_http_target(request.url);
    if (!target) {
        complete_later(std::move(done), failed_response(target.error()));
        return;
    }
    if (std::string problem = check_request(request); !problem.empty()) {
        complete_later(std::move(done), failed_response(target->host + ": " + problem));
        return;
    }
    queued.push_back(Queued{std::move(request), std::move(target).value(), std::move(done)});
    start_queued();
}

// Starts queued requests, oldest first, while the limits allow; one whose
// host is busy does not hold up those behind it for other hosts.
void HttpClient::Impl::start_queued() {
    for (auto it = queued.begin(); it != queued.end() && running.size() < options.max_concurrent && !closing;) {
        auto host = running_per_host.find(it->target.key);
        if (host != running_per_host.end() && host->second >= options.max_per_host) {
            ++it;
            continue;
        }
        Queued next = std::move(*it);
        it = queued.erase(it);
        start(std::move(next));
    }
}

void HttpClient::Impl::start(Queued next) {
    auto transfer =
        std::make_unique<HttpTransfer>(std::move(next.request), std::move(next.target), std::move(next.done));
    if (std::string problem = transfer->prepare(options); !problem.empty()) {
        complete_later(transfer->take_done(), failed_response(std::move(problem)));
        return;
    }
    if (CURLMcode rc = curl_multi_add_handle(multi, transfer->easy()); rc != CURLM_OK) {
        complete_later(transfer->take_done(),
                       failed_response(transfer->target().host + ": " + curl_multi_strerror(rc)));
        return;
    }
    // curl_multi_add_handle asked on_curl_timer for a 0 ms timeout: the
    // transfer really starts on the next loop turn, not inside send().
    ++running_per_host[transfer->target().key];
    CURL* easy = transfer->easy();
    running.emplace(easy, std::move(transfer));
}

void HttpClient::Impl::complete_later(Done done, HttpClientResponse response) {
    completions.push_back(Completion{std::move(done), std::move(response)});
    if (!closing) uv_timer_start(&completions_timer, &Impl::on_completions, 0, 0);
}

void HttpClient::Impl::on_completions(uv_timer_t* timer) {
    auto* self = static_cast<Impl*>(timer->data);
    // A `done` may send (appending here) or close (taking the rest over).
    while (!self->closing && !self->completions.empty()) {
        Completion next = std::move(self->completions.front());
        self->completions.pop_front();
        next.done(std::move(next.response));
    }
}

void HttpClient::Impl::collect_finished() {
    int left = 0;
    // A `done` may call close(), which tears the multi handle down: stop then.
    while (!closing) {
        CURLMsg* message = curl_multi_info_read(multi, &left);
        if (!message) break;
        if (message->msg != CURLMSG_DONE) continue;
        // The message is gone once its handle is removed: copy what we need first.
        CURL* easy = message->easy_handle;
        const CURLcode code = message->data.result;
        finish(easy, code);
    }
}

void HttpClient::Impl::finish(CURL* easy, CURLcode code) {
    auto found = running.find(easy);
    if (found == running.end()) return;  // not ours; cannot happen
    std::unique_ptr<HttpTransfer> transfer = std::move(found->second);
    running.erase(found);
    curl_multi_remove_handle(multi, easy);
    HttpClientResponse response = transfer->finish(code);
    Done done = transfer->take_done();
    auto host = running_per_host.find(transfer->target().key);
    if (host != running_per_host.end() && --host->second == 0) running_per_host.erase(host);
    transfer.reset();  // curl_easy_cleanup; the connection stays in curl's cache
    // Free slot first, so requests queued earlier start before any that
    // `done` sends now.
    start_queued();
    done(std::move(response));
}

int HttpClient::Impl::on_socket(CURL*, curl_socket_t socket, int what, void* self_pointer, void* socket_data) {
    auto* self = static_cast<Impl*>(self_pointer);
    auto* watch = static_cast<SocketWatch*>(socket_data);
    if (what == CURL_POLL_REMOVE) {
        if (watch) {
            if (!self->closing) curl_multi_assign(self->multi, socket, nullptr);
            self->close_watch(watch);
        }
        return 0;
    }
    if (self->closing) return 0;  // nothing more is watched while tearing down
    if (!watch) {
        watch = new SocketWatch;
        watch->socket = socket;
        watch->owner = self;
        if (int rc = uv_poll_init_socket(self->loop, &watch->poll, socket); rc != 0) {
            // Only possible if a poll we forgot to close still holds the fd.
            delete watch;
            return -1;  // curl fails the transfers instead of hanging them
        }
        watch->poll.data = watch;
        ++self->open_handles;
        self->watches.insert(watch);
        curl_multi_assign(self->multi, socket, watch);
    }
    int events = 0;
    if (what & CURL_POLL_IN) events |= UV_READABLE;
    if (what & CURL_POLL_OUT) events |= UV_WRITABLE;
    watch->events = events;
    // Also changes the events of a poll that is already running.
    if (uv_poll_start(&watch->poll, events, &Impl::on_poll) != 0) return -1;
    return 0;
}

void HttpClient::Impl::close_watch(SocketWatch* watch) {
    watches.erase(watch);
    uv_close(reinterpret_cast<uv_handle_t*>(&watch->poll), [](uv_handle_t* handle) {
        auto* closed_watch = static_cast<SocketWatch*>(handle->data);
        Impl* owner = closed_watch->owner;
        delete closed_watch;
        owner->handle_closed();
    });
}

int HttpClient::Impl::on_curl_timer(CURLM*, long timeout_ms, void* self_pointer) {
    auto* self = static_cast<Impl*>(self_pointer);
    if (self->closing) return 0;  // the timer is closing or closed
    if (timeout_ms < 0) {
        uv_timer_stop(&self->curl_timer);
    } else {
        uv_timer_start(&self->curl_timer, &Impl::on_timer, static_cast<uint64_t>(timeout_ms), 0);
    }
    return 0;
}

void HttpClient::Impl::on_timer(uv_timer_t* timer) {
    auto* self = static_cast<Impl*>(timer->data);
    int running_handles = 0;
    curl_multi_socket_action(self->multi, CURL_SOCKET_TIMEOUT, 0, &running_handles);
    self->collect_finished();
}

void HttpClient::Impl::on_poll(uv_poll_t* poll, int status, int events) {
    auto* watch = static_cast<SocketWatch*>(poll->data);
    Impl* self = watch->owner;
    // On POLLERR libuv reports an error (UV_EBADF) instead of events, and
    // stops the poll. We then pass no events at all, which makes curl look at
    // the socket itself: it reads the real error (ECONNREFUSED, ECONNRESET).
    // Passing CURL_CSELECT_ERR instead fails the transfer outright with
    // "select/poll returned error" -- even when the server merely closed a
    // reused keep-alive connection, which curl would otherwise retry on a
    // fresh one.
    int flags = 0;
    if (status >= 0) {
        if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
        if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
    }
    int running_handles = 0;
    // May close `watch` through on_socket (it stays allocated until its close
    // callback, but then is no longer in `watches`).
    curl_multi_socket_action(self->multi, watch->socket, flags, &running_handles);
    if (status < 0 && !self->closing && self->watches.count(watch) != 0 &&
        !uv_is_active(reinterpret_cast<uv_handle_t*>(&watch->poll))) {
        // curl kept the socket and still waits on it: watch it again, or the
        // transfer would stall until its timeout. (A socket error is cleared
        // once read, so this does not spin.)
        uv_poll_start(&watch->poll, watch->events, &Impl::on_poll);
    }
    self->collect_finished();
}

void HttpClient::Impl::close(std::function<void()> closed_callback) {
    if (closing) return;
    closing = true;
    on_closed = std::move(closed_callback);

    // Everything not yet completed gets "cancelled", in the order sent as far
    // as we know it: running transfers, then the queue. Refused-up-front ones
    // already in `completions` keep their own errors.
    for (auto& [easy, transfer] : running) {
        // May call on_socket(REMOVE) for the transfer's sockets.
        curl_multi_remove_handle(multi, easy);
        completions.push_back(Completion{transfer->take_done(), cancelled_response()});
    }
    running.clear();  // curl_easy_cleanup for each
    running_per_host.clear();
    for (Queued& waiting : queued) completions.push_back(Completion{std::move(waiting.done), cancelled_response()});
    queued.clear();

    // Close the polls of sockets curl still holds (idle connections in its
    // cache) while their fds are still open, and unassign them, so that
    // curl_multi_cleanup, which closes those sockets, finds nothing to hand
    // back to on_socket.
    for (SocketWatch* watch : std::vector<SocketWatch*>(watches.begin(), watches.end())) {
        curl_multi_assign(multi, watch->socket, nullptr);
        close_watch(watch);
    }
    curl_multi_cleanup(multi);
    multi = nullptr;

    uv_close(reinterpret_cast<uv_handle_t*>(&curl_timer),
             [](uv_handle_t* handle) { static_cast<Impl*>(handle->data)->handle_closed(); });
    uv_close(reinterpret_cast<uv_handle_t*>(&completions_timer),
             [](uv_handle_t* handle) { static_cast<Impl*>(handle->data)->handle_closed(); });
}

void HttpClient::Impl::handle_closed() {
    if (--open_handles != 0 || !closing) return;
    // The last close callback: nothing of ours is left in the loop.
    closed = true;
    if (abandoned) {
        delete this;
        return;
    }
    run_completions();
}

void HttpClient::Impl::run_completions() {
    // Take everything into locals first: `closed` may destroy the client, and
    // a `done` may call send() (which then completes at once, cancelled).
    std::list<Completion> pending = std::move(completions);
    completions.clear();
    std::function<void()> closed_callback = std::move(on_closed);
    for (Completion& completion : pending) completion.done(std::move(completion.response));
    if (closed_callback) closed_callback();
}

const std::string* HttpClientResponse::header(std::string_view name) const {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
    for (const auto& [key, value] : headers) {
        if (key.size() == name.size() &&
            std::equal(key.begin(), key.end(), name.begin(), [&](char a, char b) { return lower(a) == lower(b); })) {
            return &value;
        }
    }
    return nullptr;
}

AttemptOutcome attempt_outcome(const HttpClientResponse& response) {
    AttemptOutcome outcome;
    outcome.status = response.status;
    if (const std::string* retry_after = response.header("Retry-After")) outcome.retry_after = *retry_after;
    outcome.transport_error = response.status == 0;
    outcome.timed_out = response.timed_out;
    outcome.cancelled = response.cancelled;
    return outcome;
}

HttpClient::HttpClient(uv_loop_t* loop, HttpClientOptions options)
    : impl_(std::make_unique<Impl>(loop, std::move(options))) {}

HttpClient::~HttpClient() {
    if (!impl_ || impl_->closed) return;
    // Still open or still closing: drop the callbacks (their captures may be
    // gone with our owner) and let the last close callback free the rest.
    Impl* impl = impl_.release();
    impl->abandoned = true;
    impl->on_closed = nullptr;
    impl->completions.clear();
    impl->close(nullptr);
}

void HttpClient::send(HttpClientRequest request, std::function<void(HttpClientResponse)> done) {
    impl_->send(std::move(request), std::move(done));
}

void HttpClient::close(std::function<void()> closed) { impl_->close(std::move(closed)); }

size_t HttpClient::in_flight() const {
    return impl_->running.size() + impl_->queued.size() + impl_->completions.size();
}

size_t HttpClient::running() const { return impl_->running.size(); }

}  // namespace tokend
