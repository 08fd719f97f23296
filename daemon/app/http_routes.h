// The public HTTP endpoints: GET /redirect (the end of an OAuth flow), GET
// /auth (an auth link: starts a flow, 302 to the provider), GET /healthz and
// GET /readyz.
// Everything else is 404, other methods on these paths 405.
#pragma once

#include "app/token_service.h"
#include "io/http_server.h"

#include <array>
#include <memory>

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
    // The page for a redirect's last step, laid out once per outcome: most never
    // change (an unknown or used state's, an expired link's), so serving one
    // again adds only Date, Content-Length and Connection. A page with other
    // text (a provider's error code, an account's name) replaces its outcome's.
    HttpResponse redirect_page(const RedirectFlow::Step& step);

    struct PreparedPage {
        HtmlPage page;
        std::shared_ptr<const PreparedResponse> response;
    };
    TokenService& service_;
    std::array<PreparedPage, kRedirectOutcomeCount> redirect_pages_;
};

}  // namespace tokend
