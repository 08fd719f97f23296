"""A fake generic OpenID Connect provider, Keycloak-shaped, for tokend's `oidc` preset
(docs/providers.md): tokend knows only the issuer and reads everything else from
GET {issuer}/.well-known/openid-configuration (OpenID Connect Discovery 1.0). The
issuer is {url}/realms/test and the endpoints are Keycloak's paths under it, which no
other preset uses, so a test passes only when tokend took them from the document.

Differences from FakeGoogle, whose id_tokens, JWKS, grants and revocation it reuses:
- a refresh token comes with every code exchange (Keycloak's default), no access_type;
- the token endpoint takes client_secret_post only (Basic: 401 invalid_client), as the
  document says, so the discovered client authentication matters;
- set_document("ok" | "fail" | "garbage" | "wrong_issuer" | "no_s256"): the document
  answered from now on (500; not JSON; another issuer's; without S256 for PKCE);
  `discovery_fetches` counts the GETs. Only on loopback.
"""

from fake_google import FakeGoogle
from fake_provider import Reply, json_reply

REALM = "/realms/test"
OIDC = REALM + "/protocol/openid-connect"
DOCUMENT_MODES = ("ok", "fail", "garbage", "wrong_issuer", "no_s256")


class FakeOidc(FakeGoogle):
    shape = "oidc"
    paths = {"authorize": OIDC + "/auth", "token": OIDC + "/token", "jwks": OIDC + "/certs",
             "me": OIDC + "/userinfo", "revoke": OIDC + "/revoke", "api_base": REALM,
             "discovery": REALM + "/.well-known/openid-configuration"}

    def __init__(self, shape="oidc", client_id="tokend-bot", client_secret="fake-client-secret", access_lifetime=300):
        super().__init__(shape, client_id=client_id, client_secret=client_secret, access_lifetime=access_lifetime)
        self.document_mode = "ok"
        self.discovery_fetches = 0

    def issuer(self):
        return self.url + REALM

    def gives_refresh_token(self, params, user):
        return True

    def set_document(self, mode):
        assert mode in DOCUMENT_MODES, mode
        with self.lock:
            self.document_mode = mode

    def document(self):
        with self.lock:
            self.discovery_fetches += 1
            mode = self.document_mode
            self.requests.append(("discovery", "GET", mode))
        if mode == "fail":
            return json_reply(500, {"error": "unknown_error"})
        if mode == "garbage":
            return Reply(200, b"<html><body>Welcome to nginx!</body></html>", "text/html")
        document = {
            "issuer": self.issuer() if mode != "wrong_issuer" else self.url + "/realms/other",
            "authorization_endpoint": self.endpoint("authorize"),
            "token_endpoint": self.endpoint("token"),
            "userinfo_endpoint": self.endpoint("me"),
            "jwks_uri": self.endpoint("jwks"),
            "revocation_endpoint": self.endpoint("revoke"),
            "end_session_endpoint": self.url + OIDC + "/logout",
            "grant_types_supported": ["authorization_code", "implicit", "refresh_token", "password",
                                      "client_credentials"],
            "response_types_supported": ["code", "none", "id_token", "token", "id_token token", "code id_token",
                                         "code token", "code id_token token"],
            "subject_types_supported": ["public", "pairwise"],
            "id_token_signing_alg_values_supported": ["PS384", "ES384", "RS384", "HS256", "HS512", "ES256", "RS256",
                                                      "HS384", "ES512", "PS256", "PS512", "RS512"],
            "scopes_supported": ["openid", "offline_access", "profile", "email"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_post", "tls_client_auth",
                                                      "client_secret_jwt"],
            "code_challenge_methods_supported": ["plain", "S256"] if mode != "no_s256" else ["plain"],
        }
        return json_reply(200, document)

    def token(self, headers, body):
        if headers.get("Authorization", "").startswith("Basic "):
            with self.lock:
                self.requests.append(("token", "basic", "refused"))
            return self._error(401, "unauthorized_client", "Invalid client or Invalid client credentials")
        return super().token(headers, body)

    def routes(self):
        routes = super().routes()
        routes[("GET", self.paths["discovery"])] = lambda headers, query, body: self.document()
        return routes
