#include "core/provider_url.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cctype>

namespace tokend {

std::string url_host(std::string_view url) {
    const size_t scheme = url.find("://");
    const size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
    const size_t end = url.find_first_of("/?#", start);
    std::string authority(url.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (const size_t at = authority.rfind('@'); at != std::string::npos) authority = authority.substr(at + 1);
    if (!authority.empty() && authority.front() == '[') {
        const size_t close = authority.find(']');
        return close == std::string::npos ? authority : authority.substr(1, close - 1);
    }
    return authority.substr(0, authority.find(':'));
}

bool is_loopback_host(std::string host) {
    for (char& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (host == "localhost" || host == "localhost.") return true;
    in_addr v4{};
    if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
    in6_addr v6{};
    return ::inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

bool is_provider_url(std::string_view url) {
    if (url.rfind("https://", 0) == 0) return url.size() > 8;
    return url.rfind("http://", 0) == 0 && is_loopback_host(url_host(url));
}

std::string issuer_problem(std::string_view issuer) {
    if (!is_provider_url(issuer)) {
        return "must be an https:// URL (http:// is allowed only to a loopback host: 127.0.0.0/8, ::1 or "
               "localhost)";
    }
    if (issuer.find_first_of("?#") != std::string_view::npos) return "must have no query or fragment";
    if (url_host(issuer).empty()) return "names no host";
    return "";
}

std::string discovery_url(std::string_view issuer) {
    while (!issuer.empty() && issuer.back() == '/') issuer.remove_suffix(1);
    return std::string(issuer) + "/.well-known/openid-configuration";
}

}  // namespace tokend
