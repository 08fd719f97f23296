"""Fake OAuth providers in the documented shapes of GitHub and Microsoft Entra ID,
for tokend's provider presets (docs/providers.md). Standard library only, and written
independently of tokend's code: the shapes come from the providers' documentation.

- github: a GitHub App with expiring user tokens. GET /login/oauth/authorize,
  POST /login/oauth/access_token (errors answered with HTTP 200 and an `error`
  member: bad_verification_code, incorrect_client_credentials, bad_refresh_token;
  a refresh token works once: refreshing spends it and the access token it came
  with), GET /api/user ({login, id (a number), ...}; 401 "Bad credentials").
- microsoft: Entra ID v2. GET /common/oauth2/v2.0/authorize, POST
  /common/oauth2/v2.0/token (errors with 400/401 and error, error_description
  with an AADSTS code, error_codes, trace_id; a refresh answers a new refresh
  token; refresh_token requests must carry `scope`, and an access token only
  comes with a refresh token when `offline_access` was granted), GET
  /graph/v1.0/me ({id, displayName, userPrincipalName, mail, ...}; 401 with
  {"error": {"code": "InvalidAuthenticationToken", ...}}).

Both check the client's credentials in the form body (client_secret_post), the
redirect_uri, and PKCE S256 when a challenge was sent.

Every shape also has an RFC 7009 revocation endpoint at POST /oauth2/revoke
(neither GitHub nor Entra ID has one; Google's https://oauth2.googleapis.com/revoke
is one): `token` and an optional `token_type_hint`, the client authenticated in
the body or with HTTP Basic (401 invalid_client otherwise), 200 for any token,
known or not (RFC 7009 2.2). Revoking a refresh token ends its grant: the access
tokens issued with it stop working too. `revocations` records (hint, "refresh",
"access" or "unknown", how the client authenticated); `fail_revocation(503)`
answers 503 from then on, `fail_revocation("timeout")` never answers within 30 s,
`fail_revocation("access_tokens_only")` refuses a refresh token with 400
unsupported_token_type (RFC 7009 2.2.1, recorded in `refused_revocations`) and
revokes an access token alone, its refresh token living on.
`hold_next_refresh()` makes the next successful refresh rotate the tokens at once but hold
its answer until the test releases it (a refresh in flight at tokend), returning the
(held, release) pair of threading.Events. Tests drive it in-process:
add_users, queue_consent, revoke_user, and read `requests` (what was asked, never
a secret). Only on loopback.
"""

import base64
import hashlib
import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SHAPES = ("github", "microsoft")


def s256(verifier):
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class Reply:
    def __init__(self, status, body=b"", content_type="application/json", headers=()):
        self.status, self.body, self.content_type, self.headers = status, body, content_type, list(headers)


def json_reply(status, obj):
    return Reply(status, json.dumps(obj).encode())


class FakeServer:
    """The HTTP side the fakes share: start() binds 127.0.0.1:0 and sets url; each request is
    answered with routes()[(method, path)](headers, query, body), a Reply (404 for any other)."""
    server = None
    url = None

    def routes(self):
        raise NotImplementedError

    def decide_consent(self):
        """The user's decision at the consent screen: the next queued one ({"user_id": ...} or
        {"error": ...}); none queued: the user declines. Call with self.lock held."""
        return self.consents.pop(0) if self.consents else {"error": "access_denied"}

    @staticmethod
    def redirect_back(params, out):
        """The browser sent back to the client's redirect_uri with `out` (the code, or the
        error) and the request's state."""
        uri = params["redirect_uri"]
        query = urllib.parse.urlencode(dict(out, state=params.get("state", "")))
        return Reply(302, b"", "text/html", [("Location", uri + ("&" if "?" in uri else "?") + query)])

    def start(self):
        routes = self.routes()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self, reply):
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                for name, value in reply.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def _route(self, method, body):
                path, _, query = self.path.partition("?")
                route = routes.get((method, path))
                if route is None:
                    return self._answer(json_reply(404, {"message": "Not Found"}))
                return self._answer(route(self.headers, query, body))

            def do_GET(self):
                self._route("GET", b"")

            def do_POST(self):
                self._route("POST", self.rfile.read(int(self.headers.get("Content-Length") or 0)))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


class FakeProvider(FakeServer):
    """One fake provider of a shape; start() binds 127.0.0.1:0 and sets url."""
    SHAPES = SHAPES

    def __init__(self, shape, client_id="fake-client-id", client_secret="fake-client-secret",
                 access_lifetime=None):
        if shape not in self.SHAPES:
            raise ValueError(f"unknown shape {shape!r}")
        self.shape = shape
        self.client_id = client_id
        self.client_secret = client_secret
        self.access_lifetime = access_lifetime or (28800 if shape == "github" else 3599)
        self.lock = threading.Lock()
        self.users = {}        # user id -> the identity answer
        self.consents = []     # queued decisions: {"user_id": ...} or {"error": ...}
        self.codes = {}        # code -> {user, redirect_uri, challenge, scope}
        self.access = {}       # access token -> user id
        self.refresh = {}      # refresh token -> {user, access, scope}
        self.spent_refresh = set()
        self.requests = []     # (endpoint, grant_type or method, outcome)
        self.refreshes = []    # (the refresh token used, the one issued): successful refreshes
        self.revocations = []  # (token_type_hint, which kind the token was, client auth): answered 200
        self.revocation_failure = None  # None, an HTTP status, "timeout" or "access_tokens_only"
        self.refused_revocations = []  # (token_type_hint, which kind the token was): 400 unsupported_token_type
        self.refresh_hold = None  # (held, release): the next refresh answer waits for release

    # -- the paths of this shape --
    @property
    def paths(self):
        if self.shape == "github":
            return {"authorize": "/login/oauth/authorize", "token": "/login/oauth/access_token", "me": "/api/user",
                    "api_base": "/api"}
        return {"authorize": "/common/oauth2/v2.0/authorize", "token": "/common/oauth2/v2.0/token",
                "me": "/graph/v1.0/me", "api_base": "/graph/v1.0"}

    def endpoint(self, name):
        return self.url + self.paths[name]

    # -- control, for tests --
    def add_users(self, users):
        """users: [(id, name)]: a GitHub login or a Microsoft userPrincipalName."""
        with self.lock:
            for number, (user_id, name) in enumerate(users, start=1):
                if self.shape == "github":
                    self.users[user_id] = {"login": name, "id": int(user_id), "node_id": f"MDQ6VXNlcj{number}",
                                           "type": "User", "site_admin": False, "name": name.title(),
                                           "email": None}
                else:
                    self.users[user_id] = {
                        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
                        "businessPhones": [], "displayName": name.split("@")[0].title(), "givenName": None,
                        "jobTitle": None, "mail": name, "mobilePhone": None, "officeLocation": None,
                        "preferredLanguage": "en-US", "surname": None, "userPrincipalName": name, "id": user_id}

    def queue_consent(self, decisions):
        with self.lock:
            self.consents.extend(decisions)

    def revoke_user(self, user_id):
        """The user withdraws the app's authorization: every token of theirs stops working."""
        with self.lock:
            self.access = {t: u for t, u in self.access.items() if u != user_id}
            for token in [t for t, g in self.refresh.items() if g["user"] == user_id]:
                del self.refresh[token]
                self.spent_refresh.add(token)

    def fail_revocation(self, failure):
        """None: answer again; 503 (any status): answer it; "timeout": hold the request 30 s;
        "access_tokens_only": refuse refresh tokens (400 unsupported_token_type)."""
        with self.lock:
            self.revocation_failure = failure

    def hold_next_refresh(self):
        """The next successful refresh is done (the refresh token spent, the new pair issued) but
        its answer waits until `release` is set; `held` is set once it waits. Returns (held, release)."""
        held, release = threading.Event(), threading.Event()
        with self.lock:
            self.refresh_hold = (held, release)
        return held, release

    def tokens_of(self, user_id):
        with self.lock:
            return {"access": [t for t, u in self.access.items() if u == user_id],
                    "refresh": [t for t, g in self.refresh.items() if g["user"] == user_id]}

    # -- the provider --
    def authorize(self, query):
        params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        if params.get("client_id") != self.client_id or not params.get("redirect_uri"):
            return json_reply(400, {"error": "the fake refuses: unknown client_id or no redirect_uri"})
        if self.shape == "microsoft" and params.get("response_type") != "code":
            return json_reply(400, {"error": "unsupported_response_type"})
        challenge = params.get("code_challenge")
        if challenge and params.get("code_challenge_method") != "S256":
            return json_reply(400, {"error": "only S256 is accepted"})
        with self.lock:
            decision = self.decide_consent()
            if "error" in decision:
                out = {"error": decision["error"],
                       "error_description": "The user has denied access to the scope requested by the client application."}
            else:
                code = secrets.token_hex(10) if self.shape == "github" else "M." + secrets.token_urlsafe(30)
                self.codes[code] = {"user": decision["user_id"], "redirect_uri": params["redirect_uri"],
                                    "challenge": challenge, "scope": params.get("scope", "")}
                out = {"code": code}
        return self.redirect_back(params, out)

    def _error(self, status, error, description, codes=(9002313,)):
        if self.shape == "github":
            # GitHub answers token-endpoint errors with 200.
            return json_reply(200, {"error": error, "error_description": description,
                                    "error_uri": "https://docs.github.com/apps/managing-oauth-apps/"
                                                 "troubleshooting-oauth-app-access-token-request-errors"})
        return json_reply(status, {"error": error, "error_description": f"AADSTS{codes[0]}: {description}",
                                   "error_codes": list(codes), "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ"),
                                   "trace_id": secrets.token_hex(8), "correlation_id": secrets.token_hex(8)})

    def _issue(self, user, scope):
        if self.shape == "github":
            access, refresh = "ghu_" + secrets.token_hex(18), "ghr_" + secrets.token_hex(38)
            answer = {"access_token": access, "expires_in": self.access_lifetime, "refresh_token": refresh,
                      "refresh_token_expires_in": 15897600, "scope": "", "token_type": "bearer"}
        else:
            access = "eyJ0eXAiOiJKV1QiLCJub25jZSI6" + secrets.token_urlsafe(40)
            refresh = "0.AS8A" + secrets.token_urlsafe(60)
            answer = {"token_type": "Bearer", "scope": scope, "expires_in": self.access_lifetime,
                      "ext_expires_in": self.access_lifetime, "access_token": access}
            if "offline_access" in scope.split(" "):
                answer["refresh_token"] = refresh
            else:
                refresh = None
        self.access[access] = user
        if refresh:
            self.refresh[refresh] = {"user": user, "access": access, "scope": scope}
        return answer

    def token(self, headers, body):
        if not headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            return self._error(400, "invalid_request", "the body must be form-encoded", (900144,))
        form = dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
        grant = form.get("grant_type", "authorization_code" if self.shape == "github" else "")
        with self.lock:
            if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
                self.requests.append(("token", grant, "bad client"))
                if self.shape == "github":
                    return self._error(200, "incorrect_client_credentials",
                                       "The client_id and/or client_secret passed are incorrect.")
                return self._error(401, "invalid_client", "Invalid client secret provided.", (7000215,))
            if grant == "authorization_code":
                return self._redeem(form)
            if grant == "refresh_token":
                reply, hold = self._refresh(form), None
                if reply.status == 200 and b'"access_token"' in reply.body:
                    hold, self.refresh_hold = self.refresh_hold, None
            else:
                self.requests.append(("token", grant, "bad grant_type"))
                return self._error(400, "unsupported_grant_type", "unsupported grant_type", (70003,))
        # Held outside the lock: the other endpoints (revocation) answer meanwhile.
        if hold is not None:
            hold[0].set()
            hold[1].wait(30)
        return reply

    def _redeem(self, form):
        issued = self.codes.pop(form.get("code", ""), None)
        bad = issued is None or issued["redirect_uri"] != form.get("redirect_uri")
        if not bad and issued["challenge"]:
            bad = s256(form.get("code_verifier", "")) != issued["challenge"]
        if bad:
            self.requests.append(("token", "authorization_code", "bad code"))
            if self.shape == "github":
                return self._error(200, "bad_verification_code", "The code passed is incorrect or expired.")
            return self._error(400, "invalid_grant", "The provided authorization code or refresh token has "
                                                     "expired due to inactivity.", (70008,))
        self.requests.append(("token", "authorization_code", "ok"))
        return json_reply(200, self._issue(issued["user"], issued["scope"]))

    def _refresh(self, form):
        token = form.get("refresh_token", "")
        grant = self.refresh.pop(token, None)
        if self.shape == "microsoft" and grant is not None and not form.get("scope"):
            self.refresh[token] = grant
            self.requests.append(("token", "refresh_token", "no scope"))
            return self._error(400, "invalid_request", "The request body must contain the parameter: 'scope'.",
                               (900144,))
        if grant is None:
            self.requests.append(("token", "refresh_token", "dead" if token in self.spent_refresh else "unknown"))
            if self.shape == "github":
                return self._error(200, "bad_refresh_token", "The refresh token passed is incorrect or expired.")
            return self._error(400, "invalid_grant", "The refresh token has expired or was revoked.", (700082,))
        self.spent_refresh.add(token)
        if self.shape == "github":
            self.access.pop(grant["access"], None)  # "that refresh token and the old user access token no longer work"
        self.requests.append(("token", "refresh_token", "ok"))
        answer = self._issue(grant["user"], grant["scope"])
        self.refreshes.append((token, answer.get("refresh_token")))
        return json_reply(200, answer)

    def _client_auth(self, headers, form):
        """How the client authenticated ("post" or "basic"), or None."""
        scheme, _, encoded = headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                pair = base64.b64decode(encoded, validate=True).decode()
            except ValueError:
                return None
            client_id, _, secret = pair.partition(":")
            ok = (urllib.parse.unquote_plus(client_id), urllib.parse.unquote_plus(secret)) == \
                (self.client_id, self.client_secret)
            return "basic" if ok else None
        ok = form.get("client_id") == self.client_id and form.get("client_secret") == self.client_secret
        return "post" if ok else None

    def revoke(self, headers, body):
        """RFC 7009 2.1: POST token, token_type_hint; 200 even for a token it does not know."""
        with self.lock:
            failure = self.revocation_failure
        if failure == "timeout":
            time.sleep(30)
            return json_reply(503, {"error": "temporarily_unavailable"})
        if failure is not None and failure != "access_tokens_only":
            return json_reply(failure, {"error": "temporarily_unavailable",
                                        "error_description": "The revocation service is down."})
        form = dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
        with self.lock:
            auth = self._client_auth(headers, form)
            if auth is None:
                return json_reply(401, {"error": "invalid_client", "error_description": "Client authentication failed."})
            if "token" not in form:
                return json_reply(400, {"error": "invalid_request", "error_description": "Missing token."})
            token, hint = form["token"], form.get("token_type_hint")
            if failure == "access_tokens_only" and token in self.refresh:
                self.refused_revocations.append((hint, "refresh"))
                return json_reply(400, {"error": "unsupported_token_type",
                                        "error_description": "Only access tokens can be revoked."})
            if token in self.refresh:
                grant = self.refresh.pop(token)
                self.spent_refresh.add(token)
                self.access.pop(grant["access"], None)  # RFC 7009 2.1: the grant's access tokens go too
                kind = "refresh"
            elif token in self.access:
                del self.access[token]
                kind = "access"
            else:
                kind = "unknown"
            self.revocations.append((hint, kind, auth))
        return Reply(200, b"", "text/plain")

    def me(self, headers):
        authorization = headers.get("Authorization", "")
        scheme, _, token = authorization.partition(" ")
        with self.lock:
            user = self.access.get(token) if scheme.lower() in ("bearer", "token") else None
            self.requests.append(("me", "GET", "ok" if user else "unauthorized"))
            if user is None:
                if self.shape == "github":
                    return json_reply(401, {"message": "Bad credentials",
                                            "documentation_url": "https://docs.github.com/rest", "status": "401"})
                return json_reply(401, {"error": {"code": "InvalidAuthenticationToken",
                                                  "message": "Access token is empty."}})
            return json_reply(200, self.users[user])

    # -- the server (FakeServer) --
    def routes(self):
        return {("GET", self.paths["authorize"]): lambda headers, query, body: self.authorize(query),
                ("GET", self.paths["me"]): lambda headers, query, body: self.me(headers),
                ("POST", self.paths["token"]): lambda headers, query, body: self.token(headers, body),
                ("POST", "/oauth2/revoke"): lambda headers, query, body: self.revoke(headers, body)}
