// TokenService::reconfigure, apart from the service's own file (see
// token_service.h): what a reload changes in a running service.
#include "app/token_service.h"

namespace tokend {

void TokenService::reconfigure(const Config& config, Secret client_secret, Secret bot_token) {
    // Flows in progress finish with the new secret: a code exchange sends the
    // secret in force when it is made, which is what a rotation at the
    // provider needs. TTL and messages are read from config_ on every use.
    oauth_ = config.integration.oauth;
    oauth_.client_secret = std::move(client_secret);
    bot_token_ = std::move(bot_token);
}

}  // namespace tokend
