#include "io/http_client_transfer.h"

#include <algorithm>
#include <memory>

namespace tokend {
namespace {

// All response header lines together, status lines included. curl has its own
// per-line limit (100 KiB); this bounds the sum, which curl does not.
constexpr size_t kMaxHeaderBytes = 64 * 1024;
// Pieces of a URL shorter than this are too common to mean anything in an
// error text ("v1", "token"), so only longer ones are looked for.
constexpr size_t kMinSecretPiece = 6;

bool is_token_char(unsigned char c) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool is_token(std::string_view text) {
    return !text.empty() &&
           std::all_of(text.begin(), text.end(), [](char c) { return is_token_char(static_cast<unsigned char>(c)); });
}

bool equals_ignore_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
               return lower(x) == lower(y);
           });
}

std::string_view trim(std::string_view text) {
    auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
    return text;
}

struct UrlDeleter {
    void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
struct CurlStringDeleter {
    void operator()(char* text) const { curl_free(text); }
};
using CurlString = std::unique_ptr<char, CurlStringDeleter>;

CurlString url_part(CURLU* url, CURLUPart part, unsigned flags) {
    char* text = nullptr;
    if (curl_url_get(url, part, &text, flags) != CURLUE_OK) return nullptr;
    return CurlString(text);
}

}  // namespace

Result<HttpTarget> parse_http_target(const std::string& url) {
    std::unique_ptr<CURLU, UrlDeleter> parsed(curl_url());
    if (!parsed) return Result<HttpTarget>::failure("out of memory");
    if (curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
        return Result<HttpTarget>::failure("invalid URL");
    }
    CurlString scheme = url_part(parsed.get(), CURLUPART_SCHEME, 0);
    CurlString host = url_part(parsed.get(), CURLUPART_HOST, 0);
    CurlString port = url_part(parsed.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT);
    if (!scheme || !host || !port || *host == '\0') return Result<HttpTarget>::failure("invalid URL");
    const std::string_view scheme_text = scheme.get();
    if (scheme_text != "http" && scheme_text != "https") {
        return Result<HttpTarget>::failure("unsupported URL scheme (only http and https)");
    }
    HttpTarget target;
    target.host = host.get();
    target.key = std::string(scheme_text) + "://" + target.host + ":" + port.get();
    return target;
}

std::string check_request(const HttpClientRequest& request) {
    if (!is_token(request.method)) return "invalid request method";
    for (const auto& [name, value] : request.headers) {
        if (!is_token(name)) return "invalid request header name";
        // curl frames the body itself; a second opinion would desynchronise
        // the connection.
        if (equals_ignore_case(name, "Content-Length") || equals_ignore_case(name, "Transfer-Encoding")) {
            return "request header " + name + " is set by the client itself";
        }
        if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
            return "invalid value in request header " + name;
        }
    }
    return {};
}

namespace {

// Adds `url`, its user info, its path-query-fragment and the longer pieces of that.
void add_url_secrets(std::string_view url, std::vector<std::string_view>& secrets) {
    if (url.empty()) return;
    secrets.push_back(url);
    const size_t scheme_end = url.find("://");
    const size_t authority_start = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
    const size_t authority_end = std::min(url.find_first_of("/?#", authority_start), url.size());
    const std::string_view authority = url.substr(authority_start, authority_end - authority_start);
    if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
        secrets.push_back(authority.substr(0, at));  // user:password
    }
    const std::string_view rest = url.substr(authority_end);
    if (rest.size() > 1) secrets.push_back(rest);
    size_t piece_start = 0;
    for (size_t i = 0; i <= rest.size(); ++i) {
        if (i == rest.size() || std::string_view("/?&=#;").find(rest[i]) != std::string_view::npos) {
            if (i - piece_start >= kMinSecretPiece) secrets.push_back(rest.substr(piece_start, i - piece_start));
            piece_start = i + 1;
        }
    }
}

}  // namespace

std::vector<std::string_view> url_secrets(std::string_view url, std::string_view proxy) {
    std::vector<std::string_view> secrets;
    add_url_secrets(url, secrets);
    add_url_secrets(proxy, secrets);
    return secrets;
}

std::string describe_transfer_error(std::string_view host, CURLcode code, std::string_view detail,
                                    const std::vector<std::string_view>& secrets) {
    detail = trim(detail);
    const bool leaks = std::any_of(secrets.begin(), secrets.end(), [&](std::string_view secret) {
        return !secret.empty() && detail.find(secret) != std::string_view::npos;
    });
    if (detail.empty() || leaks) detail = curl_easy_strerror(code);
    std::string text(host);
    text += ": ";
    text += detail;
    return text;
}

HttpTransfer::HttpTransfer(HttpClientRequest request, HttpTarget target, Done done)
    : request_(std::move(request)), target_(std::move(target)), done_(std::move(done)) {}

HttpTransfer::~HttpTransfer() {
    if (easy_) curl_easy_cleanup(easy_);
    curl_slist_free_all(header_list_);
}

std::string HttpTransfer::prepare(const HttpClientOptions& options) {
    easy_ = curl_easy_init();
    if (!easy_) return target_.host + ": out of memory";

    for (const auto& [name, value] : request_.headers) {
        // "Name;" is curl's way to send a header with an empty value.
        const std::string line = value.empty() ? name + ";" : name + ": " + value;
        curl_slist* grown = curl_slist_append(header_list_, line.c_str());
        if (!grown) return target_.host + ": out of memory";
        header_list_ = grown;
    }
    const bool has_expect = std::any_of(request_.headers.begin(), request_.headers.end(),
                                        [](const auto& header) { return equals_ignore_case(header.first, "Expect"); });
    if (!has_expect) {
        // No "Expect: 100-continue" for large bodies: it costs a round trip
        // (or a one-second stall with servers that ignore it).
        curl_slist* grown = curl_slist_append(header_list_, "Expect:");
        if (!grown) return target_.host + ": out of memory";
        header_list_ = grown;
    }

    const long timeout_ms = static_cast<long>(std::max<std::chrono::milliseconds::rep>(request_.timeout.count(), 1));
    const long connect_timeout_ms =
        static_cast<long>(std::max<std::chrono::milliseconds::rep>(request_.connect_timeout.count(), 1));

    // Each call checked (the first failure wins) rather than wrapped, so
    // curl's compile-time type checks still see every option and value.
    CURLcode rc = CURLE_OK;
    auto check = [&rc](CURLcode result) {
        if (rc == CURLE_OK) rc = result;
    };
    check(curl_easy_setopt(easy_, CURLOPT_PRIVATE, static_cast<void*>(this)));
    check(curl_easy_setopt(easy_, CURLOPT_URL, request_.url.c_str()));
    check(curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, error_buffer_));
    // Signals are the daemon's: curl must not install handlers or use alarm().
    check(curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L));
    check(curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "http,https"));
    check(curl_easy_setopt(easy_, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"));
    check(curl_easy_setopt(easy_, CURLOPT_FOLLOWLOCATION, 0L));
    // curl's defaults; set anyway so that nothing elsewhere turns them off unseen.
    check(curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYPEER, 1L));
    check(curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYHOST, 2L));
    check(curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, timeout_ms));
    check(curl_easy_setopt(easy_, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms));
    check(curl_easy_setopt(easy_, CURLOPT_USERAGENT, options.user_agent.c_str()));
    check(curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, header_list_));
    check(curl_easy_setopt(easy_, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L));
    check(curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &HttpTransfer::on_body));
    check(curl_easy_setopt(easy_, CURLOPT_WRITEDATA, static_cast<void*>(this)));
    check(curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, &HttpTransfer::on_header));
    check(curl_easy_setopt(easy_, CURLOPT_HEADERDATA, static_cast<void*>(this)));
    // Fails early when Content-Length already says too much; on_body catches
    // the rest. Not for HEAD, whose Content-Length describes a body never sent.
    if (request_.method != "HEAD") {
        check(curl_easy_setopt(easy_, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(request_.max_response_bytes)));
    }
    // Without this, cancelling or timing out a transfer that is still
    // resolving its host name joins curl's resolver thread (curl 7.88
    // Curl_resolver_kill), blocking the loop for as long as getaddrinfo()
    // takes. With it the thread is detached and cleans up after itself.
    check(curl_easy_setopt(easy_, CURLOPT_QUICK_EXIT, 1L));
    if (!options.ca_file.empty()) check(curl_easy_setopt(easy_, CURLOPT_CAINFO, options.ca_file.c_str()));
    if (options.proxy) {
        proxy_ = *options.proxy;
        check(curl_easy_setopt(easy_, CURLOPT_PROXY, proxy_.c_str()));
    }

    const std::string& method = request_.method;
    if (method == "HEAD") {
        check(curl_easy_setopt(easy_, CURLOPT_NOBODY, 1L));
    } else if (method == "POST" || !request_.body.empty()) {
        check(curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request_.body.size())));
        check(curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, request_.body.data()));
        if (method != "POST") check(curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, method.c_str()));
    } else if (method != "GET") {
        check(curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, method.c_str()));
    }
    if (rc != CURLE_OK) return target_.host + ": could not set up the request: " + curl_easy_strerror(rc);
    return {};
}

size_t HttpTransfer::on_body(char* data, size_t size, size_t count, void* self_pointer) {
    auto* self = static_cast<HttpTransfer*>(self_pointer);
    const size_t bytes = size * count;
    // body.size() never exceeds the limit, so the subtraction cannot wrap.
    if (bytes > self->request_.max_response_bytes - self->response_.body.size()) {
        self->body_too_large_ = true;
        return bytes == 0 ? 1 : 0;  // any count but `bytes` makes curl fail the transfer
    }
    self->response_.body.append(data, bytes);
    return bytes;
}

size_t HttpTransfer::on_header(char* data, size_t size, size_t count, void* self_pointer) {
    auto* self = static_cast<HttpTransfer*>(self_pointer);
    const size_t bytes = size * count;
    self->header_bytes_ += bytes;
    if (self->header_bytes_ > kMaxHeaderBytes) {
        self->headers_too_large_ = true;
        return bytes == 0 ? 1 : 0;
    }
    const std::string_view line(data, bytes);
    auto& headers = self->response_.headers;
    if (line.substr(0, 5) == "HTTP/") {
        headers.clear();  // a new response begins: drop an interim 1xx's headers
        return bytes;
    }
    if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
        // Obsolete line folding: continues the previous header's value.
        if (!headers.empty()) {
            const std::string_view more = trim(line);
            if (!more.empty()) {
                if (!headers.back().second.empty()) headers.back().second += ' ';
                headers.back().second += more;
            }
        }
        return bytes;
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return bytes;  // the blank end line, or junk
    headers.emplace_back(std::string(line.substr(0, colon)), std::string(trim(line.substr(colon + 1))));
    return bytes;
}

HttpClientResponse HttpTransfer::finish(CURLcode code) {
    HttpClientResponse response = std::move(response_);
    long status = 0;
    if (code == CURLE_OK) {
        curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status);
        if (status > 0) {
            response.status = static_cast<int>(status);
            return response;
        }
    }
    response.status = 0;
    response.body.clear();
    response.headers.clear();
    response.timed_out = code == CURLE_OPERATION_TIMEDOUT;
    if (body_too_large_ || code == CURLE_FILESIZE_EXCEEDED) {
        response.error =
            target_.host + ": response body larger than " + std::to_string(request_.max_response_bytes) + " bytes";
    } else if (headers_too_large_) {
        response.error = target_.host + ": response headers larger than " + std::to_string(kMaxHeaderBytes) + " bytes";
    } else if (code == CURLE_OK) {
        response.error = target_.host + ": no HTTP status in the response";
    } else {
        response.error = describe_transfer_error(target_.host, code, error_buffer_, url_secrets(request_.url, proxy_));
    }
    return response;
}

}  // namespace tokend
