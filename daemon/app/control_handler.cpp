#include "app/control_handler.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace tokend {
namespace {

// A required string parameter where it is (the request line or object), or
// nullopt and a bad_request message.
std::optional<std::string_view> string_param_view(const RequestParams& params, const char* name, std::string* error) {
    const Param param = params.find(name);
    if (param.kind != Param::Kind::string || param.text.empty()) {
        *error = std::string("\"") + name + "\" must be a non-empty string";
        return std::nullopt;
    }
    return param.text;
}

bool string_param(const RequestParams& params, const char* name, std::string* out, std::string* error) {
    const auto value = string_param_view(params, name, error);
    if (value) *out = *value;
    return value.has_value();
}

// An optional string parameter (absent or null: empty); false and a
// bad_request message when it is something else.
bool optional_string_param(const RequestParams& params, const char* name, std::string* out, std::string* error) {
    const Param param = params.find(name);
    if (!param.given()) return true;
    if (param.kind != Param::Kind::string) {
        *error = std::string("\"") + name + "\" must be a string or null";
        return false;
    }
    *out = param.text;
    return true;
}

// The user a request names, as a user key (core/integrations.h): user_id in
// "integration" (absent or null: the default integration). On failure, the
// code and message to answer with.
struct UserParam {
    std::string key;
    const Integration* integration = nullptr;
    ErrorCode code = ErrorCode::bad_request;
    std::string error;
    bool ok() const { return integration != nullptr; }
};

std::string integration_names(const IntegrationSet& integrations) {
    std::string names;
    for (const Integration& integration : integrations.all()) names += (names.empty() ? "" : ", ") + integration.name;
    return names;
}

// Only the integration; `user_id` already read.
UserParam user_param(const IntegrationSet& integrations, const RequestParams& params, std::string_view user_id) {
    UserParam user;
    const Integration* integration = &integrations.default_integration();
    bool named = false;
    if (const Param given = params.find("integration"); given.given()) {
        named = true;
        if (given.kind != Param::Kind::string || given.text.empty()) {
            user.error = "\"integration\" must be a non-empty string (an integration's name) or absent";
            return user;
        }
        integration = integrations.find(given.text);
        if (integration == nullptr) {
            user.code = ErrorCode::unknown_integration;
            user.error = "no integration named '" + std::string(given.text) + "' (this tokend has: " +
                         integration_names(integrations) + ")";
            return user;
        }
    }
    if (integration == &integrations.default_integration() && integrations.ambiguous_default_user(user_id)) {
        const UserKeyOwner owner = integrations.owner_of(user_id);
        if (!named) {
            // A user key as list_users and export give it ("github/alice"): that integration's user,
            // so an export imports back as it was.
            user.key = std::string(user_id);
            user.integration = owner.integration;
            return user;
        }
        user.error = "user_id '" + std::string(user_id) + "' reads as user '" + std::string(owner.user_id) +
                     "' of integration " + owner.integration->name + ": give \"integration\": \"" + owner.integration->name +
                     "\" and the user id alone";
        return user;
    }
    user.key = integrations.key_of(*integration, user_id);
    user.integration = integration;
    return user;
}

bool bool_param(const RequestParams& params, const char* name, bool* out, std::string* error) {
    const Param param = params.find(name);
    if (!param.given()) return true;
    if (param.kind != Param::Kind::boolean) {
        *error = std::string("\"") + name + "\" must be true or false";
        return false;
    }
    *out = param.flag;
    return true;
}

// The typed results as protocol JSON (docs/protocol.md).
Json to_result(const FlowLink& link) {
    return {{"flow_id", link.flow_id}, {"auth_url", link.auth_url}, {"expires_at", format_iso8601(link.expires_at)}};
}

// get_token's and refresh's result: {"user_id", "access_token", "expires_at"},
// written directly into *line (the same bytes as encode_ok with the object).
void encode_token(std::string* line, const Json& id, const TokenAnswer& answer) {
    Iso8601Text expires_at;
    if (answer.expires_at) expires_at = format_iso8601_text(*answer.expires_at);
    encode_ok_strings(line, id, {{"user_id", answer.user_id},
                                 {"access_token", answer.access_token.reveal()},
                                 {"expires_at", answer.expires_at ? std::optional(expires_at.view()) : std::nullopt,
                                  /*value_is_plain=*/true}});
}

std::string encode_token(const Json& id, const TokenAnswer& answer) {
    std::string line;
    encode_token(&line, id, answer);
    return line;
}

// The context as callers see it: refresh tokens only for those allowed.
Json to_result(const ContextAnswer& answer) {
    if (!answer.context) return {{"user_context", nullptr}};
    Json json = to_json(*answer.context);
    if (!answer.include_refresh_token) json["tokens"]["refresh_token"] = nullptr;
    return {{"user_context", std::move(json)}};
}

Json to_result(const ContextWritten& written) {
    Json result = written.cleared ? Json{{"cleared", written.existed}}
                                  : Json{{"tokens", to_string(written.tokens)},
                                         {"refresh_token", to_string(written.refresh_token)}};
    if (written.dry_run) {
        if (!written.cleared) result["change"] = to_string(written.change);
        result["dry_run"] = true;
    }
    return result;
}

Json to_result(const ContextSnapshot& snapshot, const ContextSnapshot::Page& page) {
    return {{"taken_at", format_iso8601(snapshot.taken_at())},
            {"users", snapshot.size()},
            {"refresh_tokens", snapshot.refresh_tokens()},
            {"user_contexts", page.user_contexts},
            {"next", page.next ? Json(*page.next) : Json()}};
}

Json to_result(const SignedOut& signed_out) {
    Json revocation;  // null: not asked for
    if (signed_out.revoke) {
        const RevocationAnswer& answer = signed_out.revocation;
        revocation = {{"outcome", std::string(to_string(answer.outcome))}};
        if (answer.outcome == RevocationOutcome::revoked) revocation["token"] = signed_out.revoked_hint;
        if (answer.outcome == RevocationOutcome::failed) {
            revocation["status"] = answer.status == 0 ? Json() : Json(answer.status);
            revocation["reason"] = answer.reason;
        }
    }
    return {{"cleared", signed_out.cleared}, {"revocation", std::move(revocation)}};
}

Json to_result(const GrantStatusAnswer& answer) {
    const GrantStatus& s = answer.status;
    auto time = [](const std::optional<Timestamp>& at) { return at ? Json(format_iso8601(*at)) : Json(); };
    return {{"user_id", answer.user_id},
            {"integration", answer.integration},
            {"provider", answer.provider},
            {"context", s.context},
            {"access_token_valid", s.access_token_valid},
            {"access_token_fresh", s.access_token_fresh},
            {"expires_at", time(s.expires_at)},
            {"refreshable", s.refreshable},
            {"refresh_token_expires_at", time(s.refresh_token_expires_at)},
            {"reauth_required", s.reauth_required},
            {"refresh_failures", s.refresh_failures}};
}

Json to_result(const SignedLink& link) {
    return {{"url", link.url}, {"expires_at", format_iso8601(link.expires_at)}};
}

Json to_result(const UsersPage& page) {
    return {{"users", page.users}, {"next", page.next.empty() ? Json() : Json(page.next)}};
}

Json to_result(const FlowSweep& sweep) {
    Json deleted = Json::array();
    for (const SweptFlow& flow : sweep.deleted) {
        deleted.push_back({{"flow_id", flow.flow_id},
                           {"user_id", flow.user_id.empty() ? Json() : Json(flow.user_id)},
                           {"created", flow.created ? Json(format_iso8601(*flow.created)) : Json()}});
    }
    return {{"ran", sweep.ran}, {"deleted", std::move(deleted)}};
}

// The counts of stats, for the totals and for each integration alike.
Json redirects_of(const IntegrationCounters& c) {
    Json redirects = Json::object();  // the outcomes that happened
    for (size_t i = 0; i < kRedirectOutcomeCount; ++i) {
        if (c.redirects[i] != 0) redirects[std::string(to_string(static_cast<RedirectOutcome>(i)))] = c.redirects[i];
    }
    return redirects;
}

Json sign_outs_of(const IntegrationCounters& c) {
    Json sign_outs = Json::object();
    for (size_t i = 0; i < kSignOutRevocationCount; ++i) {
        sign_outs[std::string(to_string(static_cast<SignOutRevocation>(i)))] = c.sign_outs[i];
    }
    return sign_outs;
}

Json flows_of(const IntegrationCounters& c) {
    return {{"started", c.flows_started},
            {"started_without_pkce", c.flows_started_without_pkce},
            {"completed", c.flows_completed},
            {"failed", c.flows_failed},
            {"swept", c.flows_swept}};
}

Json refreshes_of(const IntegrationCounters& c) {
    return {{"succeeded", c.refreshes_succeeded}, {"failed", c.refreshes_failed},
            {"retried", c.refreshes_retried},     {"adopted", c.refreshes_adopted},
            {"reauth_required", c.reauth_required}, {"store_failures", c.refresh_store_failures}};
}

// What stats says of a set of users, the totals' and each integration's alike:
// the gauges given, the counts, refreshes with `refreshes_extra` added.
Json users_part(size_t users, size_t users_reauth_required, const IntegrationCounters& c, Json refreshes_extra) {
    Json refreshes = refreshes_of(c);
    refreshes.update(refreshes_extra);
    return {{"users", users},
            {"users_reauth_required", users_reauth_required},
            {"flows", flows_of(c)},
            {"redirects", redirects_of(c)},
            {"refreshes", std::move(refreshes)},
            {"bot_messages", {{"sent", c.bot_messages_sent}, {"failed", c.bot_messages_failed}}},
            {"sign_outs", sign_outs_of(c)},
            {"links", {{"issued", c.links_issued}, {"opened", c.links_opened}, {"expired", c.links_expired}}}};
}

Json to_result(const ServiceStats& stats) {
    const ServiceCounters& counters = stats.counters;
    const IntegrationCounters total = counters.total();
    Json result = users_part(
        stats.users, stats.users_reauth_required, total,
        {{"in_flight", stats.refreshes_in_flight},
         {"waiting", stats.refreshes_waiting},
         {"scheduled", stats.refreshes_scheduled},
         {"next_deadline", stats.next_refresh ? Json(format_iso8601(*stats.next_refresh)) : Json()}});
    result["links"]["invalid"] = total.links_invalid;  // an invalid link names nobody: in the totals only
    result["store"] = {{"plugin", stats.store_plugin},
                       {"healthy", stats.store_healthy},
                       {"changes_applied", counters.store_changes_applied},
                       {"resyncs", counters.store_resyncs}};
    result["uptime_seconds"] = stats.uptime_seconds;
    // Each integration's share (the totals above also hold what belongs to
    // none: redirects whose state named no flow, invalid links, unreadable flows).
    Json integrations = Json::object();
    for (size_t i = 0; i < stats.integrations.size(); ++i) {
        const IntegrationGauges& gauges = stats.integrations[i];
        integrations[gauges.name] = users_part(gauges.users, gauges.users_reauth_required, counters.of(i),
                                               {{"scheduled", gauges.refreshes_scheduled}});
    }
    result["integrations"] = std::move(integrations);
    return result;
}

Json to_result(const ReencryptCounts& counts) {
    return {{"examined", counts.examined}, {"rewritten", counts.rewritten}, {"current", counts.current},
            {"unreadable", counts.unreadable}, {"gone", counts.gone}, {"busy", counts.busy}};
}

Json to_result(const ReencryptReport& report) {
    Json unreadable = Json::array();
    for (const UnreadableRecord& record : report.unreadable) {
        unreadable.push_back({{"ns", record.ns},
                              {"key", record.key},
                              {"key_id", record.key_id.empty() ? Json() : Json(record.key_id)},
                              {"reason", record.reason}});
    }
    return {{"running", report.running},
            {"finished", report.finished},
            {"active_key", report.active_key.empty() ? Json() : Json(report.active_key)},
            {"contexts", to_result(report.contexts)},
            {"flows", to_result(report.flows)},
            {"unreadable", std::move(unreadable)},
            {"error", report.error.empty() ? Json() : Json(report.error)},
            {"seconds", report.seconds}};
}

}  // namespace

ControlHandler::ControlHandler(TokenService& service, EventHub& events, const ControlConfig& config)
    : service_(service), events_(events), config_(config) {}

bool ControlHandler::allowed(const AccessList& list, const PeerCredentials& peer) const {
    if (list.open()) return true;
    for (long uid : list.uids) {
        if (static_cast<uid_t>(uid) == peer.uid) return true;
    }
    // The groups the connecting process held (read at accept, as the socket
    // file's mode check saw them): no group database lookup on the loop.
    for (long gid : list.gids) {
        if (static_cast<gid_t>(gid) == peer.gid) return true;
        for (gid_t group : peer.groups) {
            if (static_cast<gid_t>(gid) == group) return true;
        }
    }
    return false;
}

void ControlHandler::handle(const std::shared_ptr<ControlServer::Session>& session, ControlRequest&& request,
                            ControlServer::Responder respond) {
    const OpInfo* op = request.op;  // the codec refused unknown ops already
    ++requests_by_op_[static_cast<size_t>(op - protocol_ops().data())];
    const PeerCredentials& peer = session->peer();
    const AccessList& access = op->op_class == OpClass::read ? config_.read : config_.write;
    if (!allowed(access, peer)) {
        ++denied_;
        spdlog::warn("control: {} denied to uid {} gid {} pid {}", op->name, peer.uid, peer.gid, peer.pid);
        respond(encode_error(request.id, ErrorCode::permission_denied,
                             "uid " + std::to_string(peer.uid) + " may not call " + std::string(op->name)));
        return;
    }
    const RequestParams& params = request.params;
    std::string user_id, error;
    if (op->name == "get_token") {
        // The hot path: no copies of the responder, the id or the user id, no result Json built.
        const auto user = string_param_view(params, "user_id", &error);
        if (!user) return respond(encode_error(request.id, ErrorCode::bad_request, error));
        if (!service_.integrations().several() && params.find("integration").kind == Param::Kind::absent) {
            if (const auto now = service_.token_now(*user)) {
                encode_token(&answer_, request.id, *now);
                return respond(std::string_view(answer_));  // copied only if it cannot be written at once
            }
            service_.get_token(*user, [id = std::move(request.id), respond = std::move(respond)](
                                          const OpResult<TokenAnswer>& result) {
                respond(result.ok() ? encode_token(id, result.value())
                                    : encode_error(id, result.code(), result.message()));
            });
            return;
        }
        UserParam named = user_param(service_.integrations(), params, *user);
        if (!named.ok()) return respond(encode_error(request.id, named.code, named.error));
        service_.get_token(named.key, [id = std::move(request.id), respond = std::move(respond),
                                       plain = std::string(*user)](const OpResult<TokenAnswer>& result) {
            if (!result.ok()) return respond(encode_error(id, result.code(), result.message()));
            TokenAnswer answer = result.value();
            answer.user_id = plain;
            respond(encode_token(id, answer));
        });
        return;
    }

    const Json id = request.id;
    // One responder for every typed result: to_result() above encodes it.
    auto reply = [id, respond](const auto& result) {
        respond(result.ok() ? encode_ok(id, to_result(result.value())) : encode_error(id, result.code(), result.message()));
    };
    auto bad = [&](const std::string& message) { respond(encode_error(id, ErrorCode::bad_request, message)); };
    const IntegrationSet& integrations = service_.integrations();
    // user_id (and integration) as a user key in `named`; false: answered already.
    UserParam named;
    auto user_named = [&]() {
        if (!string_param(params, "user_id", &user_id, &error)) {
            bad(error);
            return false;
        }
        named = user_param(integrations, params, user_id);
        if (!named.ok()) respond(encode_error(id, named.code, named.error));
        return named.ok();
    };

    if (op->name == "ping") {
        respond(encode_ok(id, {{"version", TOKEND_VERSION}, {"protocol", kProtocolVersion}}));
    } else if (op->name == "start_flow") {
        bool pkce = true;
        if (!user_named()) return;
        if (!bool_param(params, "pkce", &pkce, &error)) return bad(error);
        service_.start_flow(named.key, pkce, reply);
    } else if (op->name == "auth_link") {
        if (!user_named()) return;
        service_.auth_link(named.key, reply);
    } else if (op->name == "process_redirect") {
        std::string flow_id, code;
        if (!string_param(params, "flow_id", &flow_id, &error) || !string_param(params, "code", &code, &error)) {
            return bad(error);
        }
        service_.process_redirect(flow_id, Secret(std::move(code)), [id, respond](const RedirectFlow::Step& step) {
            respond(encode_ok(id, {{"status", to_string(step.outcome)}, {"message", step.page.message}}));
        });
    } else if (op->name == "get_user_context") {
        bool refresh = false;
        if (!user_named()) return;
        if (!bool_param(params, "refresh", &refresh, &error)) return bad(error);
        const bool may_see_refresh = config_.refresh_token_readers_set && allowed(config_.refresh_token_readers, peer);
        service_.get_user_context(named.key, refresh, may_see_refresh,
                                  [id, respond, user_id](const OpResult<ContextAnswer>& result) {
                                      if (!result.ok()) return respond(encode_error(id, result.code(), result.message()));
                                      Json answer = to_result(result.value());
                                      // A user key of another integration is shown as the user id it holds.
                                      if (answer["user_context"].is_object()) answer["user_context"]["user_id"] = user_id;
                                      respond(encode_ok(id, answer));
                                  });
    } else if (op->name == "refresh") {
        if (!user_named()) return;
        service_.refresh(named.key, [id, respond, user_id](const OpResult<TokenAnswer>& result) {
            if (!result.ok()) return respond(encode_error(id, result.code(), result.message()));
            TokenAnswer answer = result.value();
            answer.user_id = user_id;
            respond(encode_token(id, answer));
        });
    } else if (op->name == "set_user_context") {
        if (!user_named()) return;
        const Param found = params.find("user_context");
        if (found.kind == Param::Kind::absent) return bad("\"user_context\" is required (null clears the context)");
        // The full parse's value where it is; a plain line's (null or a scalar) as JSON.
        Json given = found.json == nullptr ? found.to_json() : Json();
        const Json* context = found.json == nullptr ? &given : found.json;
        if (named.key != user_id && context->is_object()) {
            // Another integration's context names its user by the user key.
            if (auto inner = context->find("user_id"); inner != context->end() && *inner == user_id) {
                given = *context;
                given["user_id"] = named.key;
                context = &given;
            }
        }
        ContextWriteFlags flags;
        if (!bool_param(params, "clear_refresh_token", &flags.clear_refresh_token, &error) ||
            !bool_param(params, "force", &flags.force, &error) || !bool_param(params, "dry_run", &flags.dry_run, &error)) {
            return bad(error);
        }
        service_.set_user_context(named.key, *context, flags, reply);
    } else if (op->name == "sign_out") {
        bool revoke = true;
        if (!user_named()) return;
        if (!bool_param(params, "revoke", &revoke, &error)) return bad(error);
        service_.sign_out(named.key, revoke, reply);
    } else if (op->name == "grant_status") {
        if (!user_named()) return;
        const bool list_all = integrations.several() && params.find("integration").kind == Param::Kind::absent;
        service_.grant_status(named.key, [this, id, respond, user_id, list_all](const OpResult<GrantStatusAnswer>& result) {
            if (!result.ok()) return respond(encode_error(id, result.code(), result.message()));
            Json answer = to_result(result.value());
            answer["user_id"] = user_id;
            if (list_all) answer["integrations"] = grant_statuses(user_id);
            respond(encode_ok(id, answer));
        });
    } else if (op->name == "list_users") {
        std::string cursor;
        uint32_t limit = 0;
        if (!optional_string_param(params, "cursor", &cursor, &error)) return bad(error);
        if (const Param given = params.find("limit"); given.given()) {
            if (given.kind != Param::Kind::whole_number || given.number == 0 || given.number > 1000) {
                return bad("\"limit\" must be a whole number from 1 to 1000");
            }
            limit = static_cast<uint32_t>(given.number);
        }
        service_.list_users(cursor, limit, reply);
    } else if (op->name == "export") {
        export_page(session, params, respond, id);
    } else if (op->name == "flow_maintenance") {
        bool force = false;
        if (!bool_param(params, "force", &force, &error)) return bad(error);
        service_.flow_maintenance(force, reply);
    } else if (op->name == "stats") {
        service_.count_pending_flows([this, id, respond](long long flows) {
            Json result = stats();
            result["pending_flows"] = flows >= 0 ? Json(flows) : Json();  // null: the store did not answer
            respond(encode_ok(id, result));
        });
    } else if (op->name == "reencrypt") {
        bool status = false;
        if (!bool_param(params, "status", &status, &error)) return bad(error);
        service_.reencrypt(status, reply);
    } else if (op->name == "watch") {
        std::string filter;
        if (params.find("user_id").given()) {
            if (!user_named()) return;
            filter = named.key;
        } else if (params.find("integration").given()) {
            // Only an integration: its users' events (the filter keeps the integration, below).
            named = user_param(integrations, params, "-");
            if (!named.ok()) return respond(encode_error(id, named.code, named.error));
        }
        respond(encode_ok(id, Json::object()));
        session->set_watching();
        std::weak_ptr<ControlServer::Session> weak = session;
        const Integration* only = filter.empty() ? named.integration : nullptr;
        const uint64_t subscription = events_.subscribe(filter, [this, weak, only](const Event& event) {
            auto watcher = weak.lock();
            if (!watcher) return;
            const IntegrationSet& all = service_.integrations();
            if (!all.several()) {
                watcher->push(encode_event(event.name, event.user_id, event.at, event.revocation));
                return;
            }
            const UserKeyOwner owner = all.owner_of(event.user_id);
            if (only != nullptr && owner.integration != only) return;
            watcher->push(encode_event(event.name, owner.user_id, event.at, event.revocation, owner.integration->name));
        });
        session->on_close([this, subscription] { events_.unsubscribe(subscription); });
    }
}

// export: the first call (no cursor) takes the snapshot, in this loop turn,
// and keeps it for this connection; each call answers one page; the last page
// (or the connection's end, or a new export on it) drops it.
void ControlHandler::export_page(const std::shared_ptr<ControlServer::Session>& session, const RequestParams& params,
                                 const ControlServer::Responder& respond, const Json& id) {
    auto bad = [&](const std::string& message) { respond(encode_error(id, ErrorCode::bad_request, message)); };
    std::string error;
    bool refresh_tokens = true;
    if (!bool_param(params, "refresh_tokens", &refresh_tokens, &error)) return bad(error);
    std::string cursor;
    if (!optional_string_param(params, "cursor", &cursor, &error)) return bad(error);
    const uint64_t connection = session->id();
    if (cursor.empty()) {
        const PeerCredentials& peer = session->peer();
        if (refresh_tokens && !(config_.refresh_token_readers_set && allowed(config_.refresh_token_readers, peer))) {
            ++denied_;
            spdlog::warn("control: export with refresh tokens denied to uid {} gid {} pid {}", peer.uid, peer.gid,
                         peer.pid);
            respond(encode_error(id, ErrorCode::permission_denied,
                                 "uid " + std::to_string(peer.uid) +
                                     " is not in control.refresh_token_readers: no export with refresh tokens "
                                     "(\"refresh_tokens\": false exports without them)"));
            return;
        }
        const bool first_on_connection = exports_.count(connection) == 0;
        exports_.insert_or_assign(connection, service_.snapshot_contexts(++export_serial_, refresh_tokens));
        if (first_on_connection) session->on_close([this, connection] { exports_.erase(connection); });
        const ContextSnapshot& snapshot = exports_.at(connection);
        spdlog::info("control: export of {} user contexts ({} refresh tokens) to uid {} pid {}", snapshot.size(),
                     refresh_tokens ? "with" : "without", peer.uid, peer.pid);
    }
    auto it = exports_.find(connection);
    std::optional<size_t> offset = 0;
    if (!cursor.empty()) {
        offset = it == exports_.end() ? std::nullopt : it->second.offset_of(cursor);
        if (!offset) {
            return bad("export: unknown cursor (a cursor is good on the connection whose export gave it, "
                       "until the last page)");
        }
    }
    const ContextSnapshot::Page page = it->second.page(*offset);
    std::string answer = encode_ok(id, to_result(it->second, page));
    // Before the answer: writing it may close the connection, whose close drops the export.
    if (!page.next) exports_.erase(it);
    respond(std::move(answer));
}

// grant_status without "integration" on a tokend with several: the user's
// grant in each integration, so a bot can ask which it holds a working one for.
Json ControlHandler::grant_statuses(const std::string& user_id) const {
    Json list = Json::array();
    const IntegrationSet& integrations = service_.integrations();
    for (const Integration& integration : integrations.all()) {
        if (&integration == &integrations.default_integration() && integrations.ambiguous_default_user(user_id)) continue;
        // grant_status answers at once, from the cache.
        service_.grant_status(integrations.key_of(integration, user_id), [&](const OpResult<GrantStatusAnswer>& result) {
            if (!result.ok()) return;
            Json one = to_result(result.value());
            one.erase("user_id");
            list.push_back(std::move(one));
        });
    }
    return list;
}

Json ControlHandler::stats() const {
    Json stats = to_result(service_.stats());
    // By name, as the map they were counted in gave them before.
    std::map<std::string_view, uint64_t> by_name;
    for (size_t i = 0; i < requests_by_op_.size(); ++i) {
        if (requests_by_op_[i] > 0) by_name[protocol_ops()[i].name] = requests_by_op_[i];
    }
    Json by_op = Json::object();
    for (const auto& [op, count] : by_name) by_op[std::string(op)] = count;
    stats["requests"] = by_op;
    stats["requests_denied"] = denied_;
    stats["control_clients"] = server_ ? server_->connections() : 0;
    stats["watchers"] = events_.listeners();
    return stats;
}

}  // namespace tokend
