#include "app/token_service.h"

#include "app/random_source.h"
#include "core/flow_start.h"
#include "core/pkce.h"
#include "core/url_encoding.h"

#include <spdlog/spdlog.h>

namespace tokend {
namespace {

constexpr uint32_t kDefaultListLimit = 100;
constexpr uint32_t kMaxListLimit = 1000;

OpResult store_failure(const StoreStatus& status) {
    return OpResult::failure(ErrorCode::store_unavailable, "store: " + status.describe());
}

// The context as callers see it: refresh tokens only for those allowed.
Json visible_context(const UserContext& context, bool include_refresh_token) {
    Json json = to_json(context);
    if (!include_refresh_token) json["tokens"]["refresh_token"] = nullptr;
    return json;
}

}  // namespace

TokenService::TokenService(Executor& executor, Store& store, OutboundSender& outbound, EventHub& events,
                           const Clock& clock, const Config& config, Secret client_secret, Secret bot_token)
    : executor_(executor),
      store_(store),
      outbound_(outbound),
      events_(events),
      clock_(clock),
      config_(config),
      oauth_(config.integration.oauth),
      bot_token_(std::move(bot_token)),
      scheduler_(clock, config.refresh.limits, [this](uint32_t id) { run_refresh(id); }),
      changes_(std::make_shared<StoreChangeInbox>()),
      started_(clock.now()) {
    oauth_.client_secret = std::move(client_secret);
}

TokenService::~TokenService() = default;

void TokenService::start(uv_loop_t* loop) {
    handles_open_ = 2;
    scheduler_.start(loop);
    changes_->start(loop, [this](std::vector<StoreChangeEvent> changes) { on_store_changes(std::move(changes)); });
    start_periodic_resync(loop);
    spdlog::info("refresh schedule: {} users scheduled, next refresh {}", scheduler_.scheduled(),
                 scheduler_.next_deadline() ? format_iso8601(*scheduler_.next_deadline()) : "none");
}

void TokenService::load_contexts() {
    if (store_.can_notify()) {
        // Before reading, so that no change between the read and start() is
        // lost. The sink outlives the service: it holds the inbox itself.
        const StoreStatus subscribed = store_.subscribe(
            [inbox = changes_](Ns ns, StoreChange change, std::string_view key) { inbox->push(ns, change, key); });
        if (!subscribed.ok()) throw std::runtime_error("cannot subscribe to store changes: " + subscribed.describe());
    }
    size_t unreadable = 0;
    // One plugin call per page when the plugin lists entries (ABI 1.1), else a get per user.
    const StoreStatus loaded = store_.for_each_entry(Ns::user, [&](std::string_view user_id, std::string_view text) {
        if (user_id.empty()) {  // only a hand-edited file can hold one
            ++unreadable;
            spdlog::warn("a stored context has an empty user id; ignored and left in the store");
            return true;
        }
        auto context = user_context_from_json(text);
        if (!context) {
            ++unreadable;
            spdlog::warn("user {}: stored context is unreadable ({}); ignored and left in the store", user_id,
                         context.error());
            return true;
        }
        remember(*context, clock_.now());
        return true;
    });
    if (!loaded.ok()) throw std::runtime_error("cannot load user contexts: " + loaded.describe());
    spdlog::info("loaded {} user contexts{}", contexts_.size(),
                 unreadable ? " (" + std::to_string(unreadable) + " unreadable, skipped)" : std::string());
}

void TokenService::track(int delta) {
    in_flight_ = static_cast<size_t>(static_cast<long>(in_flight_) + delta);
    if (draining_ && in_flight_ == 0 && handles_open_ == 0 && on_idle_) {
        auto idle = std::move(on_idle_);
        on_idle_ = nullptr;
        idle();
    }
}

void TokenService::drain(std::function<void()> idle) {
    draining_ = true;
    on_idle_ = std::move(idle);
    // Refreshes not yet started will not be: their callers hear so now.
    std::vector<std::string> waiting;
    for (const auto& [user_id, refresh] : refreshing_) {
        if (!refresh.running) waiting.push_back(user_id);
    }
    for (const std::string& user_id : waiting) {
        complete_refresh(user_id, {RefreshStatus::provider_error, "tokend is shutting down"});
    }
    auto closed = [this] {
        --handles_open_;
        track(0);
    };
    if (handles_open_ == 0) {
        track(0);
        return;
    }
    scheduler_.close(closed);
    changes_->close(closed);
    if (resync_timer_open_) {
        resync_timer_open_ = false;
        uv_close(reinterpret_cast<uv_handle_t*>(&resync_timer_), [](uv_handle_t* handle) {
            auto* self = static_cast<TokenService*>(handle->data);
            --self->handles_open_;
            self->track(0);
        });
    }
}

void TokenService::note_store(const StoreStatus& status) {
    const bool healthy = status.ok() || status.not_found() || status.code == StoreCode::conflict;
    if (healthy != store_healthy_) {
        if (healthy) {
            spdlog::info("store is answering again");
        } else {
            spdlog::error("store failed: {}; requests that need it fail with store_unavailable", status.describe());
        }
    }
    store_healthy_ = healthy;
}

void TokenService::publish(const char* event, const std::string& user_id) {
    events_.publish(Event{event, user_id, format_iso8601(clock_.now())});
}

// ---- flows ----

void TokenService::start_flow(const std::string& user_id, bool pkce, OpCallback done) {
    if (!config_.integration.configured) {
        done(OpResult::failure(ErrorCode::bad_request, "no OAuth integration is configured (see 'integration' in the configuration)"));
        return;
    }
    if (const std::string problem = check_user_id(user_id); !problem.empty()) {
        done(OpResult::failure(ErrorCode::bad_request, problem));
        return;
    }
    if (!pkce && !config_.flows.allow_without_pkce) {
        done(OpResult::failure(ErrorCode::bad_request,
                               "flows without PKCE are not allowed here (flows.allow_without_pkce is false): "
                               "send the user to the auth_url tokend gives"));
        return;
    }
    auto flow = std::make_shared<StartedFlow>(start_flow_for(user_id, pkce));
    track(+1);
    executor_.submit<StoreStatus>(
        [this, flow] { return store_.put(Ns::flow, flow->flow_id, to_stored_text(flow->state)); },
        [this, flow, pkce, done = std::move(done)](StoreStatus status) {
            note_store(status);
            if (!status.ok()) {
                spdlog::error("user {}: cannot store a new flow: {}", flow->state.user_id, status.describe());
                done(store_failure(status));
            } else {
                ++counters_.flows_started;
                if (!pkce) ++counters_.flows_started_without_pkce;
                spdlog::info("user {}: flow {} started{}, expires {}", flow->state.user_id, flow->flow_id,
                             pkce ? "" : " without PKCE (legacy caller)", format_iso8601(flow->expires_at));
                done(OpResult::success({{"flow_id", flow->flow_id},
                                        {"auth_url", flow->auth_url},
                                        {"expires_at", format_iso8601(flow->expires_at)}}));
                sweep_in_background();  // as the original: starting a flow checks whether GC is due
            }
            track(-1);
        });
}

StartedFlow TokenService::start_flow_for(const std::string& user_id, bool pkce) {
    return tokend::start_flow(oauth_, config_.flows, user_id, clock_.now(), random_bytes(kFlowIdBytes),
                              random_bytes(kCodeVerifierBytes), pkce);
}

void TokenService::process_redirect_query(std::string_view query,
                                          std::function<void(const RedirectFlow::Step&)> done) {
    auto flow = std::make_shared<RedirectFlow>(oauth_, config_.flows, config_.messages);
    track(+1);
    drive(flow, flow->begin(query), std::move(done));
}

void TokenService::process_redirect(const std::string& flow_id, Secret code,
                                    std::function<void(const RedirectFlow::Step&)> done) {
    auto flow = std::make_shared<RedirectFlow>(oauth_, config_.flows, config_.messages);
    track(+1);
    drive(flow, flow->begin(flow_id, std::move(code)), std::move(done));
}

void TokenService::drive(std::shared_ptr<RedirectFlow> flow, RedirectFlow::Step step,
                         std::function<void(const RedirectFlow::Step&)> done) {
    using Kind = RedirectFlow::Step::Kind;
    switch (step.kind) {
        case Kind::take_flow: {
            struct Taken {
                StoreStatus status;
                std::string text;
            };
            executor_.submit<Taken>(
                [this, id = step.flow_id] {
                    Taken taken;
                    taken.status = store_.take(Ns::flow, id, &taken.text);
                    return taken;
                },
                [this, flow, done = std::move(done)](Taken taken) mutable {
                    note_store(taken.status);
                    const TakeOutcome outcome = taken.status.ok()          ? TakeOutcome::taken
                                                : taken.status.not_found() ? TakeOutcome::absent
                                                                           : TakeOutcome::failed;
                    drive(flow, flow->on_flow_taken(outcome, taken.text, clock_.now()), std::move(done));
                });
            return;
        }
        case Kind::http:
            outbound_.send(step.http, [this, flow, done = std::move(done)](OutboundResult result) mutable {
                if (result.status == 0) spdlog::warn("flow {}: provider request failed: {}", flow->flow_id(), result.error);
                drive(flow, flow->on_http_response(result.status, result.body, clock_.now()), std::move(done));
            });
            return;
        case Kind::store: {
            auto context = std::make_shared<UserContext>(std::move(step.context));
            executor_.submit<StoreStatus>(
                [this, context] { return store_.put(Ns::user, context->user_id, to_stored_text(*context)); },
                [this, flow, context, done = std::move(done)](StoreStatus status) mutable {
                    note_store(status);
                    if (status.ok()) {
                        remember(*context, clock_.now());
                        publish("context_set", context->user_id);
                    }
                    drive(flow, flow->on_stored(status.ok(), status.describe()), std::move(done));
                });
            return;
        }
        case Kind::finish:
            finish_redirect(*flow, step);
            done(step);
            track(-1);
            return;
    }
}

void TokenService::finish_redirect(const RedirectFlow& flow, const RedirectFlow::Step& step) {
    ++counters_.redirects[std::string(to_string(step.outcome))];
    const std::string user = flow.user_id().empty() ? "(unknown)" : flow.user_id();
    const std::string flow_id = flow.flow_id().empty() ? "(none)" : flow.flow_id();
    if (step.outcome == RedirectOutcome::authenticated) {
        ++counters_.flows_completed;
        spdlog::info("user {}: flow {} completed, tokens stored", user, flow_id);
        publish("flow_completed", flow.user_id());
    } else {
        if (!flow.user_id().empty()) {
            ++counters_.flows_failed;
            publish("flow_failed", flow.user_id());
        }
        spdlog::warn("user {}: flow {} ended {}: {}", user, flow_id, to_string(step.outcome), step.detail);
    }
    if (step.message) send_bot_message(*step.message);
}

void TokenService::send_bot_message(const BotMessage& message) {
    if (bot_token_.empty()) {
        spdlog::warn("user {}: no bot token configured, cannot send the user a message", message.to_person_id);
        return;
    }
    OutboundHttp request;
    request.method = "POST";
    request.url = oauth_.api_base + "/messages";
    request.content_type = "application/json";
    request.body = Secret(Json{{"toPersonId", message.to_person_id}, {"markdown", message.markdown}}.dump());
    request.bearer = bot_token_;
    request.retry_allowed = true;
    track(+1);
    outbound_.send(request, [this, user = message.to_person_id](OutboundResult result) {
        if (result.status >= 200 && result.status < 300) {
            ++counters_.bot_messages_sent;
            spdlog::debug("user {}: bot message sent", user);
        } else {
            ++counters_.bot_messages_failed;
            spdlog::warn("user {}: bot message not delivered after {} attempts: {}", user, result.attempts,
                         result.status ? "HTTP " + std::to_string(result.status) : result.error);
        }
        track(-1);
    });
}

// ---- tokens ----

void TokenService::get_token(const std::string& user_id, OpCallback done) {
    auto it = contexts_.find(user_id);
    if (it == contexts_.end()) {
        done(OpResult::failure(ErrorCode::not_found, "no user context for user " + user_id));
        return;
    }
    const Cached& cached = it->second;
    const Tokens& tokens = cached.context.tokens;
    const Timestamp now = clock_.now();
    if (usable_without_refresh(tokens, now, config_.refresh.policy)) {
        answer_token(cached, std::move(done));  // the hot path: memory only
        return;
    }
    if (!has_refresh_token(tokens)) {
        if (still_valid(tokens, now)) {
            answer_token(cached, std::move(done));
        } else {
            done(OpResult::failure(ErrorCode::reauth_required, "user " + user_id + " must authorize again"));
        }
        return;
    }
    // Refreshes are failing and the next try is scheduled: no extra attempt per
    // read (the backoff protects the provider); the current token while it lasts.
    const auto next_try = scheduler_.deadline_of(cached.id);
    if (cached.failures > 0 && next_try && *next_try > now && !refreshing_.count(user_id)) {
        if (still_valid(tokens, now)) {
            answer_token(cached, std::move(done));
        } else {
            done(OpResult::failure(ErrorCode::provider_error, "refreshing the token of user " + user_id +
                                                                  " keeps failing; next attempt at " +
                                                                  format_iso8601(*next_try)));
        }
        return;
    }
    want_refresh(user_id, [this, user_id, done = std::move(done)](const RefreshOutcome& outcome) {
        answer_after_refresh(user_id, outcome, false, done);
    });
}

// strict: report a failed refresh even when the current token still works (the
// explicit refresh operation).
void TokenService::answer_after_refresh(const std::string& user_id, const RefreshOutcome& outcome, bool strict,
                                        OpCallback done) {
    auto it = contexts_.find(user_id);
    const bool valid = it != contexts_.end() && still_valid(it->second.context.tokens, clock_.now());
    switch (outcome.status) {
        case RefreshStatus::refreshed:
            if (valid) {
                answer_token(it->second, std::move(done));
            } else {
                done(OpResult::failure(ErrorCode::provider_error, "the refreshed token is already expired"));
            }
            return;
        case RefreshStatus::reauth_required:
            done(OpResult::failure(ErrorCode::reauth_required, outcome.message));
            return;
        case RefreshStatus::not_found:
            done(OpResult::failure(ErrorCode::not_found, outcome.message));
            return;
        case RefreshStatus::provider_error:
        case RefreshStatus::store_failed:
            // A passing failure: the current token still works, so hand it out.
            if (valid && !strict) {
                answer_token(it->second, std::move(done));
                return;
            }
            done(OpResult::failure(outcome.status == RefreshStatus::store_failed ? ErrorCode::store_unavailable
                                                                                 : ErrorCode::provider_error,
                                   outcome.message));
            return;
    }
}

void TokenService::answer_token(const Cached& cached, OpCallback done) {
    const Tokens& tokens = cached.context.tokens;
    done(OpResult::success({{"user_id", cached.context.user_id},
                            {"access_token", tokens.access_token->reveal()},
                            {"expires_at", tokens.expires_at ? Json(format_iso8601(*tokens.expires_at)) : Json()}}));
}

void TokenService::refresh(const std::string& user_id, OpCallback done) {
    auto it = contexts_.find(user_id);
    if (it == contexts_.end()) {
        done(OpResult::failure(ErrorCode::not_found, "no user context for user " + user_id));
        return;
    }
    if (!has_refresh_token(it->second.context.tokens)) {
        done(OpResult::failure(ErrorCode::reauth_required, "user " + user_id + " has no refresh token"));
        return;
    }
    want_refresh(user_id, [this, user_id, done = std::move(done)](const RefreshOutcome& outcome) {
        answer_after_refresh(user_id, outcome, true, done);
    });
}

// ---- contexts ----

void TokenService::get_user_context(const std::string& user_id, bool refresh, bool include_refresh_token,
                                    OpCallback done) {
    auto it = contexts_.find(user_id);
    if (it == contexts_.end()) {
        done(OpResult::success({{"user_context", nullptr}}));
        return;
    }
    const Cached& cached = it->second;
    const Timestamp now = clock_.now();
    const auto next_try = scheduler_.deadline_of(cached.id);
    const bool backing_off = cached.failures > 0 && next_try && *next_try > now;
    const bool needs = refresh && has_refresh_token(cached.context.tokens) && !backing_off &&
                       !usable_without_refresh(cached.context.tokens, now, config_.refresh.policy);
    if (needs && !still_valid(cached.context.tokens, now)) {
        // Expired or absent: refresh before answering, as the original did.
        want_refresh(user_id, [this, user_id, include_refresh_token, done = std::move(done)](const RefreshOutcome&) {
            auto again = contexts_.find(user_id);
            done(OpResult::success(
                {{"user_context", again == contexts_.end() ? Json() : visible_context(again->second.context, include_refresh_token)}}));
        });
        return;
    }
    done(OpResult::success({{"user_context", visible_context(cached.context, include_refresh_token)}}));
    if (needs) want_refresh(user_id, [](const RefreshOutcome&) {});  // nearly expired: refresh behind the answer
}

void TokenService::set_user_context(const std::string& user_id, const Json& user_context, ContextWriteFlags flags,
                                    OpCallback done) {
    if (const std::string problem = check_user_id(user_id); !problem.empty()) {
        done(OpResult::failure(ErrorCode::bad_request, problem));
        return;
    }
    if (user_context.is_null()) {
        track(+1);
        executor_.submit<StoreStatus>([this, user_id] { return store_.del(Ns::user, user_id); },
                                      [this, user_id, done = std::move(done)](StoreStatus status) {
                                          note_store(status);
                                          if (!status.ok()) {
                                              done(store_failure(status));
                                          } else {
                                              const bool existed = contexts_.count(user_id) > 0;
                                              forget(user_id);
                                              if (existed) publish("context_cleared", user_id);
                                              if (auto waiting = refreshing_.find(user_id);
                                                  waiting != refreshing_.end() && !waiting->second.running) {
                                                  complete_refresh(user_id, {RefreshStatus::not_found, "user context was cleared"});
                                              }
                                              spdlog::info("user {}: context cleared", user_id);
                                              done(OpResult::success({{"cleared", existed}}));
                                          }
                                          track(-1);
                                      });
        return;
    }
    auto parsed = user_context_from_json(user_context);
    if (!parsed) {
        done(OpResult::failure(ErrorCode::bad_request, "user_context: " + parsed.error()));
        return;
    }
    if (parsed->user_id != user_id) {
        done(OpResult::failure(ErrorCode::bad_request, "user_context.user_id differs from user_id"));
        return;
    }
    if (const std::string problem = check_context_write(*parsed, flags); !problem.empty()) {
        done(OpResult::failure(ErrorCode::bad_request, problem));
        return;
    }
    write_user_context(std::make_shared<UserContext>(std::move(parsed).value()), flags, std::move(done));
}

void TokenService::list_users(const std::string& cursor, uint32_t limit, OpCallback done) {
    if (limit == 0) limit = kDefaultListLimit;
    limit = std::min(limit, kMaxListLimit);
    struct Listed {
        StoreStatus status;
        StorePage page;
    };
    track(+1);
    executor_.submit<Listed>(
        [this, cursor, limit] {
            Listed listed;
            listed.status = store_.list(Ns::user, cursor, limit, &listed.page);
            return listed;
        },
        [this, done = std::move(done)](Listed listed) {
            note_store(listed.status);
            if (!listed.status.ok()) {
                done(store_failure(listed.status));
            } else {
                done(OpResult::success({{"users", listed.page.keys},
                                        {"next", listed.page.next_cursor.empty() ? Json() : Json(listed.page.next_cursor)}}));
            }
            track(-1);
        });
}

// ---- flow maintenance ----

void TokenService::sweep_in_background() {
    flow_maintenance(false, [](OpResult) {});
}

void TokenService::flow_maintenance(bool force, OpCallback done) {
    const Timestamp now = clock_.now();
    if (sweeping_ || !sweep_due(last_sweep_, now, config_.flows.maintenance_interval, force)) {
        done(OpResult::success({{"ran", false}, {"deleted", Json::array()}}));
        return;
    }
    sweeping_ = true;
    last_sweep_ = now;
    struct Swept {
        StoreStatus status;
        bool ran = true;
        std::vector<SweptFlow> deleted;
    };
    const auto ttl = config_.flows.ttl;
    const auto interval = config_.flows.maintenance_interval;
    track(+1);
    executor_.submit<Swept>(
        [this, now, ttl, interval, force] {
            Swept swept;
            // Several processes sharing a store: the lease (held for the whole
            // interval, never released) lets one of them sweep per interval.
            if (store_.can_lock() && !force) {
                uint64_t fence = 0;
                const StoreStatus lease = store_.lock_acquire(Ns::flow, "flow-maintenance", interval, &fence);
                if (lease.code == StoreCode::conflict) {
                    swept.ran = false;
                    return swept;
                }
                if (!lease.ok()) {
                    swept.status = lease;
                    return swept;
                }
            }
            std::vector<std::string> ids;
            swept.status = store_.for_each_key(Ns::flow, [&](std::string_view id) {
                ids.emplace_back(id);
                return true;
            });
            if (!swept.status.ok()) return swept;
            for (const std::string& id : ids) {
                std::string text;
                const StoreStatus got = store_.get(Ns::flow, id, &text);
                if (got.not_found()) continue;
                if (!got.ok()) {
                    swept.status = got;
                    return swept;
                }
                auto decision = sweep_decision(id, text, now, ttl);
                if (!decision) continue;
                const StoreStatus deleted = store_.del(Ns::flow, id);
                if (!deleted.ok()) {
                    swept.status = deleted;
                    return swept;
                }
                swept.deleted.push_back(std::move(*decision));
            }
            return swept;
        },
        [this, done = std::move(done)](Swept swept) {
            sweeping_ = false;
            note_store(swept.status);
            Json deleted = Json::array();
            for (const SweptFlow& flow : swept.deleted) {
                spdlog::info("flow maintenance: deleted {} flow {} of user {}", flow.reason, flow.flow_id,
                             flow.user_id.empty() ? "(unknown)" : flow.user_id);
                deleted.push_back({{"flow_id", flow.flow_id},
                                   {"user_id", flow.user_id.empty() ? Json() : Json(flow.user_id)},
                                   {"created", flow.created ? Json(format_iso8601(*flow.created)) : Json()}});
            }
            counters_.flows_swept += swept.deleted.size();
            if (!swept.status.ok()) {
                spdlog::error("flow maintenance failed: {}", swept.status.describe());
                done(store_failure(swept.status));
            } else {
                done(OpResult::success({{"ran", swept.ran}, {"deleted", std::move(deleted)}}));
            }
            track(-1);
        });
}

// ---- stats ----

void TokenService::count_pending_flows(std::function<void(long long)> done) {
    track(+1);
    struct Counted {
        StoreStatus status;
        long long flows = 0;
    };
    executor_.submit<Counted>(
        [this] {
            Counted counted;
            counted.status = store_.for_each_key(Ns::flow, [&](std::string_view) {
                ++counted.flows;
                return true;
            });
            return counted;
        },
        [this, done = std::move(done)](Counted counted) {
            note_store(counted.status);
            done(counted.status.ok() ? counted.flows : -1);
            track(-1);
        });
}

Json TokenService::stats_json() const {
    Json redirects = Json::object();
    for (const auto& [outcome, count] : counters_.redirects) redirects[outcome] = count;
    const auto next = scheduler_.next_deadline();
    return {{"users", contexts_.size()},
            {"users_reauth_required", without_refresh_token_},
            {"flows", {{"started", counters_.flows_started},
                       {"started_without_pkce", counters_.flows_started_without_pkce},
                       {"completed", counters_.flows_completed},
                       {"failed", counters_.flows_failed},
                       {"swept", counters_.flows_swept}}},
            {"redirects", redirects},
            {"refreshes", {{"succeeded", counters_.refreshes_succeeded},
                           {"failed", counters_.refreshes_failed},
                           {"retried", counters_.refreshes_retried},
                           {"adopted", counters_.refreshes_adopted},
                           {"reauth_required", counters_.reauth_required},
                           {"store_failures", counters_.refresh_store_failures},
                           {"in_flight", scheduler_.in_flight()},
                           {"waiting", scheduler_.waiting_urgent()},
                           {"scheduled", scheduler_.scheduled()},
                           {"next_deadline", next ? Json(format_iso8601(*next)) : Json()}}},
            {"bot_messages", {{"sent", counters_.bot_messages_sent}, {"failed", counters_.bot_messages_failed}}},
            {"links", link_stats()},
            {"store", {{"plugin", store_.plugin().name()},
                       {"healthy", store_healthy_},
                       {"changes_applied", counters_.store_changes_applied},
                       {"resyncs", counters_.store_resyncs}}},
            {"uptime_seconds",
             std::chrono::duration_cast<std::chrono::seconds>(clock_.now() - started_).count()}};
}

}  // namespace tokend
