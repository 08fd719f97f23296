#include "app/flows.h"

#include "app/logging.h"
#include "app/random_source.h"
#include "core/flow_state.h"
#include "core/flow_sweep.h"
#include "core/pkce.h"
#include "core/text_template.h"

#include <spdlog/spdlog.h>

namespace tokend {
namespace {

OpResult<FlowLink> link_failure(const StoreStatus& status) {
    return OpResult<FlowLink>::failure(ErrorCode::store_unavailable, "store: " + status.describe());
}

}  // namespace

Flows::Flows(ServiceRuntime& runtime, ContextCache& cache, AuthLinks& links, OutboundSender& outbound,
             const IntegrationSet& integrations)
    : runtime_(runtime), cache_(cache), links_(links), outbound_(outbound), integrations_(integrations),
      oidc_keys_(outbound) {}

// The flow's state holds the user key, which names its integration (/redirect reads it back).
StartedFlow Flows::new_flow(const std::string& user_id, bool pkce) {
    return start_flow(integrations_.owner_of(user_id).integration->oauth, runtime_.config().flows, user_id, runtime_.now(), random_bytes(kFlowIdBytes),
                      random_bytes(kCodeVerifierBytes), pkce);
}

void Flows::store_flow(std::shared_ptr<StartedFlow> flow, std::function<void(const StoreStatus&)> stored) {
    runtime_.on_store<StoreStatus>(
        [this, flow] {
            return runtime_.store().put(Ns::flow, flow->flow_id, runtime_.cipher().seal(flow->flow_id, flow->state));
        },
        [stored = std::move(stored)](StoreStatus status) { stored(status); });
}

void Flows::start(const std::string& user_id, bool pkce, OpCallback<FlowLink> done) {
    if (!runtime_.config().integration.configured) {
        done(OpResult<FlowLink>::failure(ErrorCode::bad_request,
                                         "no OAuth integration is configured (see 'integration' in the configuration)"));
        return;
    }
    if (const std::string problem = check_user_id(user_id); !problem.empty()) {
        done(OpResult<FlowLink>::failure(ErrorCode::bad_request, problem));
        return;
    }
    if (const Integration& integration = *integrations_.owner_of(user_id).integration; integration.awaiting_discovery) {
        done(OpResult<FlowLink>::failure(ErrorCode::provider_unavailable,
                                         "integration " + integration.name + ": the provider's OpenID Connect discovery "
                                         "document is not read yet; try again later"));
        return;
    }
    if (!pkce && !runtime_.config().flows.allow_without_pkce) {
        done(OpResult<FlowLink>::failure(ErrorCode::bad_request,
                                         "flows without PKCE are not allowed here (flows.allow_without_pkce is false): "
                                         "send the user to the auth_url tokend gives"));
        return;
    }
    auto flow = std::make_shared<StartedFlow>(new_flow(user_id, pkce));
    store_flow(flow, [this, flow, pkce, done = std::move(done)](const StoreStatus& status) {
        if (!status.ok()) {
            spdlog::error("user {}: cannot store a new flow: {}", flow->state.user_id, status.describe());
            done(link_failure(status));
            return;
        }
        IntegrationCounters& counters = runtime_.counters_of(flow->state.user_id);
        ++counters.flows_started;
        if (!pkce) ++counters.flows_started_without_pkce;
        spdlog::info("user {}: flow {} started{}, expires {}", flow->state.user_id, flow_log_id(flow->flow_id),
                     pkce ? "" : " without PKCE (legacy caller)", format_iso8601(flow->expires_at));
        done(OpResult<FlowLink>::success({flow->flow_id, flow->auth_url, flow->expires_at}));
        // As the original: starting a flow checks whether GC is due.
        sweep(SweepCause::check, [](OpResult<FlowSweep>) {});
    });
}

void Flows::open_link(std::string_view query, bool head, std::function<void(LinkAnswer)> done) {
    if (!links_.available()) {
        done({"", {503, "Not available", "Authorization links are not available here. Please ask the bot for help."}});
        return;
    }
    const LinkCheck check = links_.check(query);
    if (check.status != LinkCheck::Status::valid) {
        done({"", link_page(check.status)});
        return;
    }
    if (head) {  // link checkers and previews: nothing starts
        done({"", {200, "Authorization link", "Open this link in a browser to authorize the bot."}});
        return;
    }
    if (runtime_.draining()) {
        done({"", {503, "Try again", "tokend is restarting. Please open the link again in a moment."}});
        return;
    }
    if (integrations_.owner_of(check.user_id).integration->awaiting_discovery) {
        done({"", {503, "Try again", "The identity provider cannot be reached yet. Please open the link again in a moment."}});
        return;
    }
    auto flow = std::make_shared<StartedFlow>(new_flow(check.user_id));
    store_flow(flow, [this, flow, done = std::move(done)](const StoreStatus& status) {
        if (!status.ok()) {
            spdlog::error("user {}: cannot store a flow for an auth link: {}", flow->state.user_id, status.describe());
            done({"", {503, "Try again", "The authorization could not be started. Please open the link again in a moment."}});
            return;
        }
        IntegrationCounters& counters = runtime_.counters_of(flow->state.user_id);
        ++counters.flows_started;
        ++counters.links_opened;
        spdlog::info("user {}: flow {} started from an auth link, expires {}", flow->state.user_id,
                     flow_log_id(flow->flow_id),
                     format_iso8601(flow->expires_at));
        done({flow->auth_url, {302, "Redirecting", "Continue to the identity provider."}});
        // As start_flow: starting a flow checks whether GC is due.
        sweep(SweepCause::check, [](OpResult<FlowSweep>) {});
    });
}

// One bot message per dead grant, with an auth link that outlives a flow (or,
// without a link key, a fresh flow's URL: the flow is stored first).
void Flows::tell_reauth(const std::string& user_id) {
    const Integration& integration = *integrations_.owner_of(user_id).integration;
    const bool can_message = !integration.oauth.provider.message.url.empty();
    if (!integration.configured || (can_message && integration.bot_token.empty())) {
        spdlog::warn("user {}: must authorize again; no bot token configured to tell them", user_id);
        return;
    }
    if (!can_message) {
        spdlog::info("user {}: must authorize again; the {} provider has no message request, so only the "
                     "reauth_required event tells the bot", user_id, integration.oauth.provider.name);
        return;
    }
    if (links_.available()) {
        const SignedLink link = links_.sign(user_id);
        spdlog::info("user {}: auth link sent for reauthorization, valid until {}", user_id,
                     format_iso8601(link.expires_at));
        send_bot_message(BotMessage{user_id, fill_template(integration.messages.reauth_required,
                                                           {{"auth_url", link.url},
                                                            {"expires_at", format_iso8601(link.expires_at)}})});
        return;
    }
    auto flow = std::make_shared<StartedFlow>(new_flow(user_id));
    store_flow(flow, [this, flow, &integration](const StoreStatus& status) {
        if (!status.ok()) {
            spdlog::error("user {}: cannot store a flow for the reauthorization message: {}", flow->state.user_id,
                          status.describe());
            return;
        }
        ++runtime_.counters_of(flow->state.user_id).flows_started;
        spdlog::info("user {}: flow {} started for reauthorization, expires {}", flow->state.user_id,
                     flow_log_id(flow->flow_id),
                     format_iso8601(flow->expires_at));
        send_bot_message(BotMessage{flow->state.user_id,
                                    fill_template(integration.messages.reauth_required,
                                                  {{"auth_url", flow->auth_url},
                                                   {"expires_at", format_iso8601(flow->expires_at)}})});
    });
}

void Flows::process_redirect_query(std::string_view query, std::string client, RedirectDone done) {
    auto flow = std::make_shared<RedirectFlow>(integrations_, runtime_.config().flows);
    runtime_.track(+1);
    if (client.empty()) client = "an unknown address";
    drive(flow, flow->begin(query), warn_unknown_flow(flow, std::move(client), std::move(done)));
}

void Flows::process_redirect(const std::string& flow_id, Secret code, RedirectDone done) {
    auto flow = std::make_shared<RedirectFlow>(integrations_, runtime_.config().flows);
    runtime_.track(+1);
    drive(flow, flow->begin(flow_id, std::move(code)), warn_unknown_flow(flow, "a control client", std::move(done)));
}

Flows::RedirectDone Flows::warn_unknown_flow(std::shared_ptr<RedirectFlow> flow, std::string client,
                                             RedirectDone done) {
    return [this, flow, client = std::move(client), done = std::move(done)](const RedirectFlow::Step& step) {
        if (step.outcome == RedirectOutcome::unknown_flow) {
            const LogRateLimit::Decision decision = unknown_flow_log_.note(runtime_.now());
            if (decision.log) {  // the id's hash only for a line that is written
                const std::string flow_id = flow->flow_id().empty() ? "(none)" : flow_log_id(flow->flow_id());
                log_event(spdlog::level::warn,
                          LogFields().with_flow(flow_id).with_outcome("unknown_flow").with_client(client),
                          "redirect from {}: flow {} ended unknown_flow: {} (a link opened twice, a flow already "
                          "finished or collected, or a state nobody issued); nothing to do unless it repeats{}{}",
                          client, flow_id, step.detail,
                          decision.suppressed ? "; " + std::to_string(decision.suppressed) + " more since, not logged"
                                              : std::string(),
                          decision.last ? "; more in the next minute are counted, not logged" : "");
            }
        }
        done(step);
    };
}

// Each step the machine returns is carried out here and its result fed back;
// the flow counts as in flight from begin to finish.
void Flows::drive(std::shared_ptr<RedirectFlow> flow, RedirectFlow::Step step, RedirectDone done) {
    using Kind = RedirectFlow::Step::Kind;
    switch (step.kind) {
        case Kind::take_flow: {
            // An unknown or used state, from a store that knows at once (ABI 1.4):
            // answered here, without the trip to the executor. Anything else,
            // and every flow that is there, goes to take(), the one atomic step
            // that picks the winner among redirects of one flow.
            if (runtime_.store().absent_now(Ns::flow, step.flow_id)) {
                drive(flow, flow->on_flow_taken(TakeOutcome::absent, {}, runtime_.now()), std::move(done));
                return;
            }
            struct Taken {
                StoreStatus status;
                std::string text;
            };
            runtime_.on_store<Taken>(
                [this, id = step.flow_id] {
                    Taken taken;
                    taken.status = runtime_.store().take(Ns::flow, id, &taken.text);
                    if (taken.status.ok()) {
                        auto opened = runtime_.cipher().open(RecordKind::flow, id, taken.text);
                        if (!opened) {
                            spdlog::error("flow {}: its PKCE verifier cannot be decrypted: {}; the flow fails",
                                          flow_log_id(id), opened.error());
                            taken.status = StoreStatus{StoreCode::invalid, "the flow cannot be decrypted"};
                        } else {
                            taken.text = std::move(opened).value();
                        }
                    }
                    return taken;
                },
                [this, flow, done = std::move(done)](Taken taken) mutable {
                    const TakeOutcome outcome = taken.status.ok()          ? TakeOutcome::taken
                                                : taken.status.not_found() ? TakeOutcome::absent
                                                                           : TakeOutcome::failed;
                    drive(flow, flow->on_flow_taken(outcome, taken.text, runtime_.now()), std::move(done));
                });
            return;
        }
        case Kind::http:
            if (flow->integration()) step.http.integration = flow->integration()->name;
            if (integrations_.owner_of(flow->user_id()).integration->awaiting_discovery) {
                // The oidc preset without its document: no endpoint to ask, so no request.
                spdlog::warn("flow {}: the provider's OpenID Connect discovery document is not read yet; the flow "
                             "fails", flow_log_id(flow->flow_id()));
                drive(flow, flow->on_http_response(0, "", runtime_.now()), std::move(done));
                return;
            }
            outbound_.send(step.http, [this, flow, done = std::move(done)](OutboundResult result) mutable {
                if (result.status == 0) {
                    spdlog::warn("flow {}: provider request failed: {} (check integration.token_service, api_base "
                                 "and the network)", flow_log_id(flow->flow_id()), result.error);
                }
                drive(flow, flow->on_http_response(result.status, result.body, runtime_.now()), std::move(done));
            });
            return;
        case Kind::keys:
            oidc_keys_.keys_for(flow->oauth().provider.openid.jwks_uri, step.key_id, runtime_.now(),
                                [this, flow, done = std::move(done)](std::shared_ptr<const JsonWebKeySet> keys,
                                                                     std::string error) mutable {
                                    drive(flow, flow->on_keys(keys.get(), error, runtime_.now()), std::move(done));
                                });
            return;
        case Kind::store: {
            auto context = std::make_shared<UserContext>(std::move(step.context));
            runtime_.on_store<StoreStatus>(
                [this, context] {
                    keep_stored_refresh_token(context.get());
                    return runtime_.store().put(Ns::user, context->user_id, runtime_.cipher().seal(*context));
                },
                [this, flow, context, done = std::move(done)](StoreStatus status) mutable {
                    if (status.ok()) {
                        cache_.remember(*context, runtime_.now());
                        runtime_.publish("context_set", context->user_id);
                    }
                    drive(flow, flow->on_stored(status.ok(), status.describe()), std::move(done));
                });
            return;
        }
        case Kind::finish:
            finish_redirect(*flow, step);
            done(step);
            runtime_.track(-1);
            return;
    }
}

// A code exchange without a refresh token (Google gives one only at a
// consent: a user who authorizes again without being asked to consent gets
// none) keeps the refresh token stored for the user, which still works.
// On the executor.
void Flows::keep_stored_refresh_token(UserContext* context) {
    if (context->tokens.refresh_token) return;
    std::string stored;
    if (!runtime_.store().get(Ns::user, context->user_id, &stored).ok()) return;
    bool undecryptable = false;
    auto previous = runtime_.cipher().open_context(context->user_id, stored, &undecryptable);
    if (previous && previous->tokens.refresh_token) {
        context->tokens.refresh_token = previous->tokens.refresh_token;
        context->tokens.refresh_token_expires_at = previous->tokens.refresh_token_expires_at;
    }
}

void Flows::finish_redirect(const RedirectFlow& flow, const RedirectFlow::Step& step) {
    // A state that named no flow (unknown, used, malformed) counts for no integration.
    IntegrationCounters& counters = flow.integration() ? runtime_.counters().of(integrations_.index_of(*flow.integration()))
                                                       : runtime_.counters().unattributed();
    ++counters.redirect(step.outcome);
    const std::string user = flow.user_id().empty() ? "(unknown)" : flow.user_id();
    // The id's hash (a SHA-256) only for a line that is written.
    const auto flow_id = [&flow] { return flow.flow_id().empty() ? std::string("(none)") : flow_log_id(flow.flow_id()); };
    if (step.outcome == RedirectOutcome::authenticated) {
        ++counters.flows_completed;
        const std::string id = flow_id();
        log_event(spdlog::level::info, LogFields().with_user(user).with_flow(id).with_outcome("authenticated"),
                  "user {}: flow {} completed, tokens stored", user, id);
        runtime_.publish("flow_completed", flow.user_id());
    } else {
        if (!flow.user_id().empty()) {
            ++counters.flows_failed;
            runtime_.publish("flow_failed", flow.user_id());
        }
        // An unknown flow is warned about with its client by warn_unknown_flow.
        if (step.outcome != RedirectOutcome::unknown_flow) {
            const std::string id = flow_id();
            log_event(spdlog::level::warn,
                      LogFields().with_user(flow.user_id()).with_flow(id).with_outcome(to_string(step.outcome)),
                      "user {}: flow {} ended {}: {}", user, id, to_string(step.outcome), step.detail);
        }
    }
    if (step.message) send_bot_message(*step.message);
}

// message.to_person_id is a user key: the message goes through that
// integration's bot, to the user id the provider knows.
void Flows::send_bot_message(const BotMessage& message) {
    const UserKeyOwner owner = integrations_.owner_of(message.to_person_id);
    const Integration& integration = *owner.integration;
    std::optional<OutboundHttp> request =
        message_request(integration.oauth, integration.bot_token, BotMessage{std::string(owner.user_id), message.markdown});
    if (!request) {
        spdlog::debug("user {}: the {} provider has no message request; the events tell the bot",
                      message.to_person_id, integration.oauth.provider.name);
        return;
    }
    if (integration.bot_token.empty()) {
        spdlog::warn("user {}: no bot token configured, cannot send the user a message (set integration.bot_token)",
                     message.to_person_id);
        return;
    }
    request->integration = integration.name;
    runtime_.track(+1);
    outbound_.send(*request, [this, user = message.to_person_id,
                              message_answer = *request->message_answer](OutboundResult result) {
        IntegrationCounters& counters = runtime_.counters_of(user);
        const MessageVerdict verdict = read_message_answer(message_answer, result.status, result.body, result.error);
        if (verdict.kind == MessageVerdict::Kind::sent) {
            ++counters.bot_messages_sent;
            spdlog::debug("user {}: bot message sent", user);
        } else {
            ++counters.bot_messages_failed;
            spdlog::warn("user {}: bot message not delivered after {} attempts: {} (check the bot token and that the "
                         "bot may message this user)", user, result.attempts, verdict.reason);
        }
        runtime_.track(-1);
    });
}

void Flows::sweep(SweepCause cause, OpCallback<FlowSweep> done) {
    const bool force = cause == SweepCause::forced;
    const Timestamp now = runtime_.now();
    const FlowSettings& settings = runtime_.config().flows;
    if (sweeping_ || !sweep_due(cause, last_sweep_, now, settings.maintenance_interval)) {
        done(OpResult<FlowSweep>::success({}));
        return;
    }
    sweeping_ = true;
    last_sweep_ = now;
    struct Swept {
        StoreStatus status;
        FlowSweep sweep{true, {}};
        std::optional<uint64_t> fence;
    };
    runtime_.on_store<Swept>(
        [this, now, ttl = settings.ttl, lease_ttl = sweep_lease_ttl(settings.maintenance_interval), force,
         held = maintenance_fence_] {
            Store& store = runtime_.store();
            Swept swept;
            // Several processes sharing a store: the lease (held for about the
            // whole interval, never released) lets one of them sweep per interval.
            // A forced sweep takes it too (this process's own is taken anew), as
            // the original's forced sweep reset its mark: the redis plugin writes
            // the original's `flow-maintenance` mark when the lease is taken.
            if (store.can_lock()) {
                uint64_t fence = 0;
                StoreStatus lease = store.lock_acquire(Ns::flow, "flow-maintenance", lease_ttl, &fence);
                if (lease.code == StoreCode::conflict && force && held) {
                    store.lock_release(Ns::flow, "flow-maintenance", *held);
                    lease = store.lock_acquire(Ns::flow, "flow-maintenance", lease_ttl, &fence);
                }
                if (lease.ok()) swept.fence = fence;
                if (lease.code == StoreCode::conflict && !force) {
                    swept.sweep.ran = false;
                    return swept;
                }
                if (!lease.ok() && lease.code != StoreCode::conflict) {
                    swept.status = lease;
                    return swept;
                }
            }
            std::vector<std::string> ids;
            swept.status = store.for_each_key(Ns::flow, [&](std::string_view id) {
                ids.emplace_back(id);
                return true;
            });
            if (!swept.status.ok()) return swept;
            for (const std::string& id : ids) {
                std::string text;
                const StoreStatus got = store.get(Ns::flow, id, &text);
                if (got.not_found()) continue;
                if (!got.ok()) {
                    swept.status = got;
                    return swept;
                }
                auto decision = sweep_decision(id, text, now, ttl);
                if (!decision) continue;
                const StoreStatus deleted = store.del(Ns::flow, id);
                if (!deleted.ok()) {
                    swept.status = deleted;
                    return swept;
                }
                swept.sweep.deleted.push_back(std::move(*decision));
            }
            return swept;
        },
        [this, done = std::move(done)](Swept swept) {
            sweeping_ = false;
            if (swept.fence) maintenance_fence_ = swept.fence;
            for (const SweptFlow& flow : swept.sweep.deleted) {
                spdlog::info("flow maintenance: deleted {} flow {} of user {}", flow.reason, flow_log_id(flow.flow_id),
                             flow.user_id.empty() ? "(unknown)" : flow.user_id);
            }
            for (const SweptFlow& flow : swept.sweep.deleted) {
                IntegrationCounters& counters = flow.user_id.empty() ? runtime_.counters().unattributed()
                                                                     : runtime_.counters_of(flow.user_id);
                ++counters.flows_swept;
            }
            if (!swept.status.ok()) {
                spdlog::error("flow maintenance failed: {}", swept.status.describe());
                done(OpResult<FlowSweep>::failure(ErrorCode::store_unavailable, "store: " + swept.status.describe()));
            } else {
                done(OpResult<FlowSweep>::success(std::move(swept.sweep)));
            }
        });
}

void Flows::count_pending(std::function<void(long long)> done) {
    struct Counted {
        StoreStatus status;
        long long flows = 0;
    };
    runtime_.on_store<Counted>(
        [this] {
            Counted counted;
            counted.status = runtime_.store().for_each_key(Ns::flow, [&](std::string_view) {
                ++counted.flows;
                return true;
            });
            return counted;
        },
        [done = std::move(done)](Counted counted) { done(counted.status.ok() ? counted.flows : -1); });
}

}  // namespace tokend
