// Turns control requests into TokenService calls: checks the caller's class
// (read/write) against the configured allow-lists, validates parameters,
// encodes the answer. Counts requests by op for `stats`.
#pragma once

#include "app/event_hub.h"
#include "app/token_service.h"
#include "config/config.h"
#include "io/control_server.h"

#include "core/context_export.h"

#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace tokend {

class ControlHandler {
public:
    ControlHandler(TokenService& service, EventHub& events, const ControlConfig& config);

    void handle(const std::shared_ptr<ControlServer::Session>& session, ControlRequest&& request,
                ControlServer::Responder respond);

    // Set once the server exists, for the connected-clients count in stats.
    void set_server(const ControlServer* server) { server_ = server; }

private:
    bool allowed(const AccessList& list, const PeerCredentials& peer) const;
    void export_page(const std::shared_ptr<ControlServer::Session>& session, const RequestParams& params,
                     const ControlServer::Responder& respond, const Json& id);
    Json stats() const;
    Json grant_statuses(const std::string& user_id) const;

    TokenService& service_;
    EventHub& events_;
    const ControlConfig& config_;
    const ControlServer* server_ = nullptr;
    std::vector<uint64_t> requests_by_op_ = std::vector<uint64_t>(protocol_ops().size());  // by protocol_ops() index
    uint64_t denied_ = 0;
    std::string answer_;  // the get_token hot path's answer line, reused: no allocation a request
    // Open exports, by connection id: the snapshot each is paging through.
    std::unordered_map<uint64_t, ContextSnapshot> exports_;
    uint64_t export_serial_ = 0;
};

}  // namespace tokend
