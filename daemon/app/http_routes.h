// The public HTTP endpoints: GET /redirect (the end of an OAuth flow), GET
// /auth (an auth link: starts a flow, 302 to the provider), GET /healthz and
// GET /readyz.
// Everything else is 404, other methods on these paths 405.
#pragma once

#include "app/token_service.h"
#include "io/http_server.h"

namespace tokend {

// GET/HEAD /readyz, on the public listener and the metrics listener alike:
// 200 "ready" when the contexts are loaded and the store answers a call now,
// else 503 with the reason in one line. Other methods 405.
void serve_readiness(TokenService& service, const HttpRequest& request, HttpResponder respond);

class HttpRoutes {
public:
    explicit HttpRoutes(TokenService& service) : service_(service) {}
    void handle(HttpRequest&& request, HttpResponder respond);

private:
    TokenService& service_;
};

}  // namespace tokend
