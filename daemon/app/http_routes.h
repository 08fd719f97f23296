// The public HTTP endpoints: GET /redirect (the end of an OAuth flow), GET
// /auth (an auth link: starts a flow, 302 to the provider) and GET /healthz. Everything else is 404, other methods on these paths 405.
#pragma once

#include "app/token_service.h"
#include "io/http_server.h"

namespace tokend {

class HttpRoutes {
public:
    explicit HttpRoutes(TokenService& service) : service_(service) {}
    void handle(HttpRequest&& request, HttpResponder respond);

private:
    TokenService& service_;
};

}  // namespace tokend
