#include "app/http_routes.h"

#include "core/html_page.h"

namespace tokend {
namespace {

HttpResponse page_response(const HtmlPage& page) {
    HttpResponse response;
    response.status = page.status;
    for (auto& [name, value] : html_page_headers()) response.headers.emplace_back(name, value);
    response.body = render_html(page);
    return response;
}

HttpResponse plain(int status, std::string body) {
    HttpResponse response;
    response.status = status;
    response.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
    response.headers.emplace_back("Cache-Control", "no-store");
    response.body = std::move(body);
    return response;
}

}  // namespace

void serve_readiness(TokenService& service, const HttpRequest& request, HttpResponder respond) {
    if (request.method != "GET" && request.method != "HEAD") {
        HttpResponse response = plain(405, "method not allowed\n");
        response.headers.emplace_back("Allow", "GET, HEAD");
        respond(std::move(response));
        return;
    }
    service.check_ready([respond = std::move(respond)](const std::string& not_ready) {
        respond(not_ready.empty() ? plain(200, "ready\n") : plain(503, "not ready: " + not_ready + "\n"));
    });
}

void HttpRoutes::handle(HttpRequest&& request, HttpResponder respond) {
    if (request.path == "/readyz") {
        serve_readiness(service_, request, std::move(respond));
        return;
    }
    const bool known = request.path == "/redirect" || request.path == "/healthz" || request.path == kAuthLinkPath;
    if (!known) {
        respond(page_response({404, "Not found", "There is nothing here."}));
        return;
    }
    if (request.method != "GET" && request.method != "HEAD") {
        HttpResponse response = plain(405, "method not allowed\n");
        response.headers.emplace_back("Allow", "GET, HEAD");
        respond(std::move(response));
        return;
    }
    if (request.path == "/healthz") {
        const bool healthy = service_.store_healthy();
        respond(plain(healthy ? 200 : 503, healthy ? "ok\n" : "store unavailable\n"));
        return;
    }
    if (request.path == kAuthLinkPath) {  // an auth link: a fresh flow, then off to the provider
        service_.open_auth_link(request.query, request.method == "HEAD", [respond](LinkAnswer answer) {
            HttpResponse response = page_response(answer.page);
            if (!answer.location.empty()) {
                response.status = 302;
                response.headers.emplace_back("Location", answer.location);
            }
            respond(std::move(response));
        });
        return;
    }
    if (request.method == "HEAD") {
        // GET /redirect takes the flow and exchanges the code: not for a HEAD (link
        // previews, scanners), and no answer short of doing so would be true.
        HttpResponse response = plain(405, "method not allowed\n");
        response.headers.emplace_back("Allow", "GET");
        respond(std::move(response));
        return;
    }
    service_.process_redirect_query(request.query, request.peer, [this, respond](const RedirectFlow::Step& step) {
        respond(redirect_page(step));
    });
}

HttpResponse HttpRoutes::redirect_page(const RedirectFlow::Step& step) {
    PreparedPage& cached = redirect_pages_[static_cast<size_t>(step.outcome)];
    const HtmlPage& page = step.page;
    const bool same = cached.response && cached.page.status == page.status && cached.page.title == page.title &&
                      cached.page.message == page.message;
    if (!same) {
        auto prepared = prepare_response(page_response(page));
        if (!prepared) return page_response(page);  // serializing it fails the same way: a 500
        cached = {page, std::move(prepared).value()};
    }
    HttpResponse response;
    response.prepared = cached.response;
    return response;
}

}  // namespace tokend
