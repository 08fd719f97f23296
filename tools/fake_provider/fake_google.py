"""A fake Google OAuth 2.0 / OpenID Connect provider in Google's documented shape, for
tokend's `google` preset (docs/providers.md). Written independently of tokend's code,
from Google's documentation ("OpenID Connect", "Using OAuth 2.0 for Web Server
Applications"); it signs id_tokens RS256 with a key it makes (python3-cryptography).

- GET /o/oauth2/v2/auth: client_id, redirect_uri, response_type=code, a scope with
  `openid`, PKCE S256 when a challenge is sent; the nonce is put in the id_token.
  A refresh token comes only with access_type=offline and a consent: the user's first,
  or each one asked for with prompt=consent (else the exchange has none).
- POST /token: authorization_code and refresh_token grants, client_secret_post or
  client_secret_basic. Answers {access_token, expires_in, scope, token_type, id_token
  [, refresh_token]}; a refresh answer has no refresh_token (they do not rotate) and the
  refresh token stays valid. Errors: 400 invalid_grant ("Bad Request", "Token has been
  expired or revoked."), 401 invalid_client.
- GET /oauth2/v3/certs: the JWKS (RSA keys with kid, alg RS256, use sig).
- GET /v1/userinfo: {sub, email, email_verified, name, ...} with a bearer token.
- POST /revoke: token (an access or a refresh token); 200 and the grant ends, access and
  refresh tokens alike; 400 {"error": "invalid_token"} for a token it does not know
  ("Revoking a token" in "Using OAuth 2.0 for Web Server Applications").

Tests drive it in-process like tools/fake_provider: add_users, queue_consent,
revoke_user, rotate_key, id_token_fault (a forged or wrong id_token on the next
exchange), and `requests`, `refreshes`, `jwks_fetches`, `revocations`. Only on loopback.
"""

import base64
import json
import secrets
import threading
import time
import urllib.parse

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from fake_provider import FakeServer, Reply, json_reply, s256

ISSUER = "https://accounts.google.com"
FAULTS = ("tampered", "unknown_key", "unpublished_kid", "wrong_nonce", "wrong_audience", "wrong_issuer", "expired",
          "alg_none", "hs256", "no_id_token")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def int_bytes(number):
    return number.to_bytes((number.bit_length() + 7) // 8, "big")


class SigningKey:
    def __init__(self):
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(20)

    def jwk(self):
        numbers = self.private.public_key().public_numbers()
        return {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": self.kid,
                "n": b64url(int_bytes(numbers.n)), "e": b64url(int_bytes(numbers.e))}

    def sign(self, header, claims):
        signing_input = (b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())).encode()
        signature = self.private.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        return signing_input.decode() + "." + b64url(signature)


class FakeGoogle(FakeServer):
    shape = "google"
    paths = {"authorize": "/o/oauth2/v2/auth", "token": "/token", "jwks": "/oauth2/v3/certs",
             "me": "/v1/userinfo", "revoke": "/revoke", "api_base": "/v1"}

    def __init__(self, shape="google", client_id="fake-client-id.apps.googleusercontent.com",
                 client_secret="fake-client-secret", access_lifetime=3599):
        self.client_id = client_id
        self.client_secret = client_secret
        self.access_lifetime = access_lifetime
        self.lock = threading.Lock()
        self.keys = [SigningKey()]   # published; the last one signs
        self.users = {}              # sub -> userinfo
        self.consented = set()       # subs that consented once (a refresh token was issued)
        self.consents = []
        self.codes = {}
        self.access = {}             # access token -> sub
        self.refresh = {}            # refresh token -> {user, scope}
        self.spent_refresh = set()
        self.fault = None            # for the next code exchange's id_token
        self.requests = []
        self.refreshes = []          # (refresh token used, refresh token issued or None)
        self.jwks_fetches = 0
        self.revocations = []        # (token_type_hint, "refresh" or "access"): tokens revoked

    def endpoint(self, name):
        return self.url + self.paths[name]

    def issuer(self):
        """The id_tokens' iss."""
        return ISSUER

    def gives_refresh_token(self, params, user):
        """Google: only with access_type=offline, at a consent (the user's first, or prompt=consent)."""
        offline = params.get("access_type") == "offline"
        return offline and ("consent" in params.get("prompt", "").split(" ") or user not in self.consented)

    # -- control, for tests --
    def add_users(self, users):
        """users: [(sub, email)]."""
        with self.lock:
            for sub, email in users:
                self.users[sub] = {"sub": sub, "name": email.split("@")[0].title(), "given_name": email.split("@")[0],
                                   "picture": "https://lh3.googleusercontent.com/a/default-user", "email": email,
                                   "email_verified": True, "hd": email.split("@")[1]}

    def queue_consent(self, decisions):
        with self.lock:
            self.consents.extend(decisions)

    def revoke_user(self, sub):
        """The user removes the app's access (myaccount.google.com/permissions)."""
        with self.lock:
            self.access = {t: u for t, u in self.access.items() if u != sub}
            for token in [t for t, g in self.refresh.items() if g["user"] == sub]:
                del self.refresh[token]
                self.spent_refresh.add(token)
            self.consented.discard(sub)

    def grant(self, sub, scope="openid email"):
        """A grant made before the test (a context the bot already holds), no flow: its refresh token."""
        with self.lock:
            return self._issue(sub, scope, None, True)["refresh_token"]

    def rotate_key(self):
        """A new signing key is published and signs from now on (the old one stays published)."""
        with self.lock:
            self.keys.append(SigningKey())

    def id_token_fault(self, fault):
        assert fault in FAULTS, fault
        with self.lock:
            self.fault = fault

    def tokens_of(self, sub):
        with self.lock:
            return {"access": [t for t, u in self.access.items() if u == sub],
                    "refresh": [t for t, g in self.refresh.items() if g["user"] == sub]}

    # -- the provider --
    def authorize(self, query):
        params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        if params.get("client_id") != self.client_id or not params.get("redirect_uri"):
            return Reply(400, b"Error 401: invalid_client", "text/html")
        if params.get("response_type") != "code":
            return Reply(400, b"Error 400: unsupported_response_type", "text/html")
        if "openid" not in params.get("scope", "").split(" "):
            return Reply(400, b"Error 400: invalid_scope (openid)", "text/html")
        challenge = params.get("code_challenge")
        if challenge and params.get("code_challenge_method") != "S256":
            return Reply(400, b"Error 400: invalid_request (code_challenge_method)", "text/html")
        with self.lock:
            decision = self.decide_consent()
            if "error" in decision:
                out = {"error": decision["error"]}
            else:
                user = decision["user_id"]
                code = "4/0A" + secrets.token_urlsafe(40)
                self.codes[code] = {"user": user, "redirect_uri": params["redirect_uri"], "challenge": challenge,
                                    "scope": params.get("scope", ""), "nonce": params.get("nonce"),
                                    "refresh": self.gives_refresh_token(params, user)}
                out = {"code": code, "scope": params.get("scope", "")}
        return self.redirect_back(params, out)

    def _id_token(self, user, nonce, fault=None):
        now = int(time.time())
        claims = {"iss": self.issuer(), "azp": self.client_id, "aud": self.client_id, "sub": user,
                  "email": self.users[user]["email"], "email_verified": True, "at_hash": b64url(secrets.token_bytes(16)),
                  "name": self.users[user]["name"], "iat": now, "exp": now + 3599}
        if nonce is not None:
            claims["nonce"] = nonce
        key = self.keys[-1]
        header = {"alg": "RS256", "kid": key.kid, "typ": "JWT"}
        if fault == "wrong_nonce":
            claims["nonce"] = b64url(secrets.token_bytes(32))
        elif fault == "wrong_audience":
            claims["aud"] = claims["azp"] = "another-client.apps.googleusercontent.com"
        elif fault == "wrong_issuer":
            claims["iss"] = "https://accounts.google.example"
        elif fault == "expired":
            claims["iat"], claims["exp"] = now - 7200, now - 3600
        elif fault == "unknown_key":
            return SigningKey().sign(header, claims)  # same kid, another key
        elif fault == "unpublished_kid":
            other = SigningKey()
            return other.sign({"alg": "RS256", "kid": other.kid, "typ": "JWT"}, claims)
        elif fault == "alg_none":
            return b64url(json.dumps({"alg": "none"}).encode()) + "." + b64url(json.dumps(claims).encode()) + "."
        elif fault == "hs256":
            import hmac
            import hashlib
            signing_input = b64url(json.dumps({"alg": "HS256"}).encode()) + "." + b64url(json.dumps(claims).encode())
            mac = hmac.new(self.client_secret.encode(), signing_input.encode(), hashlib.sha256).digest()
            return signing_input + "." + b64url(mac)
        token = key.sign(header, claims)
        if fault == "tampered":  # the sub changed after signing
            head, _, rest = token.partition(".")
            _, _, signature = rest.partition(".")
            forged = dict(claims, sub=next(u for u in self.users if u != user))
            token = head + "." + b64url(json.dumps(forged).encode()) + "." + signature
        return token

    def _issue(self, user, scope, nonce, with_refresh, fault=None):
        access = "ya29.a0" + secrets.token_urlsafe(60)
        answer = {"access_token": access, "expires_in": self.access_lifetime, "scope": scope, "token_type": "Bearer"}
        if fault != "no_id_token":
            answer["id_token"] = self._id_token(user, nonce, fault)
        self.access[access] = user
        if with_refresh:
            refresh = "1//0g" + secrets.token_urlsafe(60)
            answer["refresh_token"] = refresh
            self.refresh[refresh] = {"user": user, "scope": scope}
            self.consented.add(user)
        return answer

    def _error(self, status, error, description):
        return json_reply(status, {"error": error, "error_description": description})

    def token(self, headers, body):
        if not headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            return self._error(400, "invalid_request", "Invalid Content-Type")
        form = dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
        client = (form.get("client_id"), form.get("client_secret"))
        scheme, _, credentials = headers.get("Authorization", "").partition(" ")
        if scheme == "Basic":
            user, _, password = base64.b64decode(credentials).decode().partition(":")
            client = (urllib.parse.unquote_plus(user), urllib.parse.unquote_plus(password))
        grant = form.get("grant_type", "")
        with self.lock:
            if client != (self.client_id, self.client_secret):
                self.requests.append(("token", grant, "bad client"))
                return self._error(401, "invalid_client", "Unauthorized")
            if grant == "authorization_code":
                return self._redeem(form)
            if grant == "refresh_token":
                return self._refresh(form)
            self.requests.append(("token", grant, "bad grant_type"))
            return self._error(400, "unsupported_grant_type", "Invalid grant_type: " + grant)

    def _redeem(self, form):
        issued = self.codes.pop(form.get("code", ""), None)
        bad = issued is None or issued["redirect_uri"] != form.get("redirect_uri")
        if not bad and issued["challenge"]:
            bad = s256(form.get("code_verifier", "")) != issued["challenge"]
        if bad:
            self.requests.append(("token", "authorization_code", "bad code"))
            return self._error(400, "invalid_grant", "Bad Request")
        self.requests.append(("token", "authorization_code", "ok"))
        fault, self.fault = self.fault, None
        return json_reply(200, self._issue(issued["user"], issued["scope"], issued["nonce"], issued["refresh"], fault))

    def _refresh(self, form):
        token = form.get("refresh_token", "")
        grant = self.refresh.get(token)
        if grant is None:
            self.requests.append(("token", "refresh_token", "dead" if token in self.spent_refresh else "unknown"))
            return self._error(400, "invalid_grant", "Token has been expired or revoked.")
        self.requests.append(("token", "refresh_token", "ok"))
        answer = self._issue(grant["user"], grant["scope"], None, False)
        self.refreshes.append((token, answer.get("refresh_token")))
        return json_reply(200, answer)

    def userinfo(self, headers):
        scheme, _, token = headers.get("Authorization", "").partition(" ")
        with self.lock:
            user = self.access.get(token) if scheme.lower() == "bearer" else None
            self.requests.append(("me", "GET", "ok" if user else "unauthorized"))
            if user is None:
                return json_reply(401, {"error": "invalid_request",
                                        "error_description": "Invalid Credentials"})
            return json_reply(200, self.users[user])

    def jwks(self):
        with self.lock:
            self.jwks_fetches += 1
            self.requests.append(("jwks", "GET", "ok"))
            return json_reply(200, {"keys": [key.jwk() for key in self.keys]})

    def revoke(self, headers, body):
        """POST /revoke, token=<an access or refresh token>: 200 and the whole grant ends (an access
        token's refresh token too); 400 invalid_token for a token Google does not know (or no longer)."""
        form = dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
        token = form.get("token", "")
        with self.lock:
            if token in self.refresh:
                user, kind = self.refresh[token]["user"], "refresh"
            elif token in self.access:
                user, kind = self.access[token], "access"
            else:
                self.requests.append(("revoke", form.get("token_type_hint"), "invalid_token"))
                return self._error(400, "invalid_token", "Token expired or revoked")
            self.revocations.append((form.get("token_type_hint"), kind))
            self.requests.append(("revoke", form.get("token_type_hint"), "ok"))
        self.revoke_user(user)
        return Reply(200, b"{}")

    # -- the server (FakeServer) --
    def routes(self):
        return {("GET", self.paths["authorize"]): lambda headers, query, body: self.authorize(query),
                ("GET", self.paths["jwks"]): lambda headers, query, body: self.jwks(),
                ("GET", self.paths["me"]): lambda headers, query, body: self.userinfo(headers),
                ("POST", self.paths["token"]): lambda headers, query, body: self.token(headers, body),
                ("POST", self.paths["revoke"]): lambda headers, query, body: self.revoke(headers, body)}
