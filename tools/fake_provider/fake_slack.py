"""A fake Slack in the documented shape of OAuth v2 user tokens with token rotation, for
tokend's `slack` preset (docs/providers.md). Standard library only, written from Slack's
documentation (docs.slack.dev: "Installing with OAuth", the oauth.v2.access, auth.test and
chat.postMessage methods, "Using token rotation"), independently of tokend's code.

- GET /oauth/v2/authorize: client_id, user_scope (the user token's scopes, comma-separated;
  a `scope` would ask for a bot token, which the fake refuses), redirect_uri, state, PKCE
  S256 when a challenge is sent.
- POST /api/oauth.v2.access: every answer is HTTP 200 with `ok`. A code exchange answers
  {ok, app_id, authed_user: {id, scope, access_token, token_type: user, refresh_token,
  expires_in}, team, enterprise, is_enterprise_install} (no top-level token: no bot scopes
  were asked for); a refresh (grant_type=refresh_token) answers the new pair at the top
  level {ok, access_token, expires_in, refresh_token, token_type: user, scope, ...} and
  spends the refresh token and the access token it came with. Errors: {ok: false, error}:
  invalid_code, bad_redirect_uri, invalid_client_id, bad_client_secret,
  invalid_refresh_token (spent or unknown), token_revoked (the user removed the app),
  invalid_grant_type. The client authenticates in the form or with HTTP Basic.
- GET or POST /api/auth.test with the user token as a bearer: {ok, url, team, user,
  team_id, user_id}; {ok: false, error: invalid_auth} otherwise (HTTP 200).
- POST /api/chat.postMessage with the bot token as a bearer and a JSON {channel, text}:
  {ok, channel, ts, message}; {ok: false, error: invalid_auth | not_authed | no_text |
  channel_not_found} otherwise. `messages` records (channel, text) of the messages posted;
  `fail_messages([error, ...])` makes the next requests answer {ok: false, error} in turn
  (HTTP 200, nothing posted), and `message_attempts` counts every chat.postMessage request.

Tests drive it like tools/fake_provider (add_users, queue_consent, revoke_user,
fail_token_once, tokens_of, `requests`, `refreshes`). Only on loopback.
"""

import json
import secrets
import time
import urllib.parse

from fake_provider import FakeProvider, json_reply, s256

ACCESS_LIFETIME = 43200  # 12 hours with token rotation


def slack_error(error):
    return json_reply(200, {"ok": False, "error": error})


class FakeSlack(FakeProvider):
    SHAPES = ("slack",)
    paths = {"authorize": "/oauth/v2/authorize", "token": "/api/oauth.v2.access", "me": "/api/auth.test",
             "message": "/api/chat.postMessage", "api_base": "/api"}

    def __init__(self, shape="slack", client_id="1234567890.0987654321", client_secret="fake-client-secret",
                 bot_token="xoxb-fake-bot-token", access_lifetime=ACCESS_LIFETIME):
        super().__init__(shape, client_id=client_id, client_secret=client_secret, access_lifetime=access_lifetime)
        self.bot_token = bot_token
        self.team = {"id": "T9TK3CUKW", "name": "Fake Team"}
        self.messages = []  # (channel, text) of each message posted with the bot token
        self.revoked_refresh = set()  # refresh tokens of users who removed the app
        self.token_failures = []      # errors the next token requests answer (ok: false), in order
        self.message_failures = []    # errors the next chat.postMessage requests answer (ok: false), in order
        self.message_attempts = 0     # chat.postMessage requests, answered either way

    def add_users(self, users):
        """users: [(id, name)]: a Slack user id ("U0G9QF9C6") and the user's name."""
        with self.lock:
            for user_id, name in users:
                self.users[user_id] = name

    def authorize(self, query):
        params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        if params.get("client_id") != self.client_id or not params.get("redirect_uri"):
            return json_reply(400, {"ok": False, "error": "invalid_client_id"})
        if "scope" in params or not params.get("user_scope"):
            return json_reply(400, {"ok": False, "error": "the fake refuses: user scopes go in user_scope"})
        challenge = params.get("code_challenge")
        if challenge and params.get("code_challenge_method") != "S256":
            return json_reply(400, {"ok": False, "error": "invalid_code_challenge_method"})
        with self.lock:
            decision = self.decide_consent()
            if "error" in decision:
                out = {"error": decision["error"]}
            else:
                code = f"{self.team['id'][1:]}.{secrets.randbelow(10**12)}.{secrets.token_hex(32)}"
                self.codes[code] = {"user": decision["user_id"], "redirect_uri": params["redirect_uri"],
                                    "challenge": challenge, "scope": params["user_scope"]}
                out = {"code": code}
        return self.redirect_back(params, out)

    def _pair(self, user, scope):
        access, refresh = "xoxe.xoxp-1-" + secrets.token_hex(40), "xoxe-1-" + secrets.token_hex(60)
        self.access[access] = user
        self.refresh[refresh] = {"user": user, "access": access, "scope": scope}
        return access, refresh

    def fail_token_once(self, error):
        """The next token request answers {ok: false, error} (ratelimited, internal_error, ...)."""
        with self.lock:
            self.token_failures.append(error)

    def fail_messages(self, errors):
        """The next chat.postMessage requests answer {ok: false, error} with HTTP 200, one error each, in order."""
        with self.lock:
            self.message_failures.extend(errors)

    def token(self, headers, body):
        form = dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
        grant = form.get("grant_type", "authorization_code")
        with self.lock:
            if self.token_failures:
                self.requests.append(("token", grant, "failed"))
                return slack_error(self.token_failures.pop(0))
            if self._client_auth(headers, form) is None:
                self.requests.append(("token", grant, "bad client"))
                return slack_error("invalid_client_id" if form.get("client_id") != self.client_id
                                   else "bad_client_secret")
            if grant == "authorization_code":
                return self._redeem(form)
            if grant == "refresh_token":
                return self._refresh(form)
            self.requests.append(("token", grant, "bad grant_type"))
            return slack_error("invalid_grant_type")

    def _redeem(self, form):
        issued = self.codes.pop(form.get("code", ""), None)
        if issued is None:
            self.requests.append(("token", "authorization_code", "bad code"))
            return slack_error("invalid_code")
        if issued["redirect_uri"] != form.get("redirect_uri"):
            self.requests.append(("token", "authorization_code", "bad redirect_uri"))
            return slack_error("bad_redirect_uri")
        if issued["challenge"] and s256(form.get("code_verifier", "")) != issued["challenge"]:
            self.requests.append(("token", "authorization_code", "bad verifier"))
            return slack_error("invalid_code_verifier")
        self.requests.append(("token", "authorization_code", "ok"))
        access, refresh = self._pair(issued["user"], issued["scope"])
        return json_reply(200, {"ok": True, "app_id": "A0KRD7HC3",
                                "authed_user": {"id": issued["user"], "scope": issued["scope"], "access_token": access,
                                                "token_type": "user", "refresh_token": refresh,
                                                "expires_in": self.access_lifetime},
                                "team": self.team, "enterprise": None, "is_enterprise_install": False})

    def _refresh(self, form):
        token = form.get("refresh_token", "")
        grant = self.refresh.pop(token, None)
        if grant is None:
            revoked = token in self.spent_refresh and token in self.revoked_refresh
            self.requests.append(("token", "refresh_token", "dead" if token in self.spent_refresh else "unknown"))
            return slack_error("token_revoked" if revoked else "invalid_refresh_token")
        self.spent_refresh.add(token)
        self.access.pop(grant["access"], None)  # the rotated pair replaces the old one
        self.requests.append(("token", "refresh_token", "ok"))
        access, refresh = self._pair(grant["user"], grant["scope"])
        self.refreshes.append((token, refresh))
        return json_reply(200, {"ok": True, "app_id": "A0KRD7HC3", "access_token": access,
                                "expires_in": self.access_lifetime, "refresh_token": refresh, "token_type": "user",
                                "scope": grant["scope"], "team": self.team, "enterprise": None,
                                "is_enterprise_install": False})

    def revoke_user(self, user_id):
        """The user removed the app: their tokens stop working and a refresh answers token_revoked."""
        with self.lock:
            self.revoked_refresh.update(t for t, g in self.refresh.items() if g["user"] == user_id)
        super().revoke_user(user_id)

    def _bearer(self, headers):
        scheme, _, token = headers.get("Authorization", "").partition(" ")
        return token if scheme.lower() == "bearer" else None

    def me(self, headers):
        """auth.test with the user token."""
        token = self._bearer(headers)
        with self.lock:
            user = self.access.get(token) if token else None
            self.requests.append(("me", "auth.test", "ok" if user else "unauthorized"))
            if user is None:
                return slack_error("invalid_auth" if token else "not_authed")
            return json_reply(200, {"ok": True, "url": "https://fake-team.slack.com/", "team": self.team["name"],
                                    "user": self.users[user], "team_id": self.team["id"], "user_id": user})

    def post_message(self, headers, body):
        with self.lock:
            self.message_attempts += 1
            if self.message_failures:
                return slack_error(self.message_failures.pop(0))
        token = self._bearer(headers)
        if token is None:
            return slack_error("not_authed")
        if token != self.bot_token:
            return slack_error("invalid_auth")
        try:
            message = json.loads(body)
        except ValueError:
            return slack_error("invalid_json")
        if not headers.get("Content-Type", "").startswith("application/json"):
            return slack_error("invalid_form_data")
        if not message.get("text"):
            return slack_error("no_text")
        with self.lock:
            if message.get("channel") not in self.users:
                return slack_error("channel_not_found")
            self.messages.append((message["channel"], message["text"]))
        ts = f"{time.time():.6f}"
        return json_reply(200, {"ok": True, "channel": "D" + message["channel"][1:], "ts": ts,
                                "message": {"type": "message", "text": message["text"], "bot_id": "B0FAKE", "ts": ts}})

    def routes(self):
        routes = super().routes()
        del routes[("POST", "/oauth2/revoke")]  # Slack has no RFC 7009 endpoint
        routes[("POST", self.paths["me"])] = routes[("GET", self.paths["me"])]
        routes[("POST", self.paths["message"])] = lambda headers, query, body: self.post_message(headers, body)
        return routes
