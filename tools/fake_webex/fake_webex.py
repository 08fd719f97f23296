#!/usr/bin/env python3
"""A fake Webex OAuth provider for tokend's tests and for local development.

It speaks the small part of the Webex API that tokend uses (authorize, access_token,
people/me, messages) and adds a JSON control API under /_control/ through which tests queue
consent decisions, inject faults, revoke grants and read what happened.

It is written independently of tokend (standard library only) so that a misreading of the
OAuth rules in one is not mirrored by the other. See README.md beside this file.

In-process use:

    with FakeWebex(users=[{"id": "u1", "email": "u1@example.com"}]) as fw:
        fw.queue_consent([{"user_id": "u1"}])
        ... point the client at fw.url + "/v1/authorize" ...

Command line: python3 fake_webex.py --help
"""

import argparse
import base64
import collections
import hashlib
import html
import json
import math
import os
import secrets
import selectors
import signal
import socket
import socketserver
import sys
import threading
import time
import traceback
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

DEFAULT_CLIENT_ID = "fake-webex-client-id"
DEFAULT_CLIENT_SECRET = "fake-webex-client-secret"
DEFAULT_BOT_TOKEN = "fake-webex-bot-token"
DEFAULT_ACCESS_LIFETIME = 14 * 24 * 3600   # Webex: about 14 days
DEFAULT_REFRESH_LIFETIME = 90 * 24 * 3600  # Webex: about 90 days
DEFAULT_CODE_LIFETIME = 60
DEFAULT_SCOPE = "spark:people_read"

ENDPOINTS = ("authorize", "access_token", "people_me", "messages")
GRANT_TYPES = ("authorization_code", "refresh_token")
MAX_BODY_BYTES = 1 << 20
MAX_FORM_FIELDS = 100
MAX_SLEEP_SECONDS = 3600
# RFC 7636 section 4.1: 43 to 128 characters from the unreserved set.
PKCE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
FIELD_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.")
# Token request fields shown as-is in last_token_request; every other field becomes a
# boolean that tells whether it was present, so secrets never reach the state.
VISIBLE_TOKEN_FIELDS = ("grant_type", "client_id", "redirect_uri", "scope")
REDACTED_TOKEN_FIELDS = ("client_secret", "code", "code_verifier", "refresh_token")
CONFIG_KEYS = ("access_lifetime", "refresh_lifetime", "code_lifetime",
               "rotate_refresh_tokens", "reuse_revokes_grant", "auto_consent")
AUTHORIZE_PARAMS = ("client_id", "response_type", "redirect_uri", "scope", "state",
                    "code_challenge", "code_challenge_method")
FAULT_KEYS = frozenset(("status", "retry_after", "hang", "garbage", "body", "content_type",
                        "delay", "error", "error_description", "count", "processed"))
GARBAGE_BODY = b"<html><body>502 Bad Gateway</body></html>{\"access_token\": "


class Invalid(Exception):
    """A request (or control call, or configuration) that is not acceptable; str() says why."""


def s256_challenge(verifier):
    """BASE64URL-NOPAD(SHA256(ASCII(verifier))), RFC 7636 section 4.2."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _utc_now_iso():
    return datetime.now(timezone.utc).isoformat()


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_lifetime(name, value):
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise Invalid("%s must be a whole number of seconds >= 1" % name)
    return value


def _single_values(pairs):
    """Turns (name, value) pairs into a dict; a name given twice is an error (RFC 6749 3.1, 3.2)."""
    values = {}
    for name, value in pairs:
        if name in values:
            raise Invalid("parameter %s given more than once" % name)
        values[name] = value
    return values


def _media_type(content_type):
    return (content_type or "").split(";", 1)[0].strip().lower()


def _parse_form(content_type, body):
    """Strictly parses an application/x-www-form-urlencoded body into a dict, or raises Invalid."""
    if _media_type(content_type) != "application/x-www-form-urlencoded":
        raise Invalid("Content-Type must be application/x-www-form-urlencoded")
    try:
        text = body.decode("ascii")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True,
                          encoding="utf-8", errors="strict", max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise Invalid("malformed form body")
    return _single_values(pairs)


def _redacted_form(body):
    """What last_token_request shows: visible fields as sent, every other one as a presence flag."""
    try:
        pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True,
                          max_num_fields=MAX_FORM_FIELDS)
    except ValueError:
        pairs = []
    shown = {name: False for name in REDACTED_TOKEN_FIELDS}
    for name, value in pairs:
        if name in VISIBLE_TOKEN_FIELDS:
            shown.setdefault(name, value)
        elif 0 < len(name) <= 64 and set(name) <= FIELD_NAME_CHARS:
            # A name that is not a plain word (say, a JSON body) could itself hold a secret.
            shown[name] = shown.get(name) is True or value != ""
    return shown


def _bearer_token(authorization):
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def _check_redirect_uri(uri):
    if any(ord(ch) <= 0x20 or ord(ch) >= 0x7f for ch in uri):
        raise Invalid("redirect_uri must be printable ASCII without spaces")
    try:
        parts = urlsplit(uri)
        hostname = parts.hostname
    except ValueError:
        raise Invalid("redirect_uri is not a valid URL")
    if parts.scheme not in ("http", "https") or not parts.netloc or not hostname:
        raise Invalid("redirect_uri must be an absolute http or https URL")
    if parts.fragment or "#" in uri:
        raise Invalid("redirect_uri must not contain a fragment")


def _with_query(uri, params):
    parts = urlsplit(uri)
    extra = urlencode(params)
    query = parts.query + "&" + extra if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


class Reply:
    """One HTTP answer: status, extra headers and body."""

    def __init__(self, status, body=b"", content_type=None, headers=()):
        self.status = status
        self.body = body
        self.headers = list(headers)
        if content_type:
            self.headers.append(("Content-Type", content_type))


def json_reply(status, obj, headers=()):
    body = json.dumps(obj, indent=None, sort_keys=False).encode("utf-8")
    return Reply(status, body, "application/json; charset=utf-8", headers)


def oauth_error(status, error, description):
    return json_reply(status, {"error": error, "error_description": description},
                      [("Cache-Control", "no-store"), ("Pragma", "no-cache")])


def webex_error(status, message, headers=()):
    return json_reply(status, {"message": message, "errors": [{"description": message}],
                               "trackingId": "fake_webex_" + secrets.token_hex(8)}, headers)


_PAGE_STYLE = ("body{font-family:sans-serif;max-width:40em;margin:2em auto}"
               "button{display:block;margin:.5em 0;padding:.4em 1em}"
               "code{background:#eee;padding:0 .2em}")


def html_reply(status, title, body_html, headers=()):
    page = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>%s</title>"
            "<style>%s</style></head><body><h1>%s</h1>\n%s\n</body></html>\n"
            % (html.escape(title), _PAGE_STYLE, html.escape(title), body_html))
    base = [("Cache-Control", "no-store"), ("X-Frame-Options", "DENY"),
            ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")]
    return Reply(status, page.encode("utf-8"), "text/html; charset=utf-8", base + list(headers))


def error_page(status, message):
    return html_reply(status, "Fake Webex: bad request",
                      "<p>%s</p>" % html.escape(message))


def redirect_reply(location):
    body = '<p>Redirecting to <a href="%s">%s</a></p>' % (html.escape(location),
                                                           html.escape(location))
    return html_reply(302, "Fake Webex: redirect", body, [("Location", location)])


class _AuthRequest:
    """A validated authorize request; `params` keeps the original parameters for the form."""

    def __init__(self, params, scope, challenge):
        self.params = params
        self.client_id = params["client_id"]
        self.redirect_uri = params["redirect_uri"]
        self.state = params["state"]
        self.scope = scope
        self.challenge = challenge


class _Code:
    def __init__(self, client_id, redirect_uri, user_id, scope, challenge, expires_at):
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self.user_id = user_id
        self.scope = scope
        self.challenge = challenge
        self.expires_at = expires_at
        self.used = False
        self.grant_id = None


class _Grant:
    """What one code redemption created; revoking it kills every token descended from it."""

    def __init__(self, grant_id, user_id, client_id, scope):
        self.id = grant_id
        self.user_id = user_id
        self.client_id = client_id
        self.scope = scope
        self.revoked = False
        self.current_refresh = None


class _Token:
    def __init__(self, grant_id, expires_at):
        self.grant_id = grant_id
        self.expires_at = expires_at
        self.rotated = False  # refresh tokens only: replaced by a newer one


class Provider:
    """The provider's state and rules. No sockets here: the HTTP handler feeds it requests.

    Every public method takes the one lock; none of them sleeps.
    """

    def __init__(self, client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET,
                 bot_token=DEFAULT_BOT_TOKEN, users=(), auto_consent=None,
                 access_lifetime=DEFAULT_ACCESS_LIFETIME,
                 refresh_lifetime=DEFAULT_REFRESH_LIFETIME,
                 code_lifetime=DEFAULT_CODE_LIFETIME, rotate_refresh_tokens=True,
                 reuse_revokes_grant=True, clock=None):
        for name, value in (("client_id", client_id), ("client_secret", client_secret),
                            ("bot_token", bot_token)):
            if not isinstance(value, str) or not value:
                raise Invalid("%s must be a non-empty string" % name)
        self._client_id = client_id
        self._client_secret = client_secret
        self._bot_token = bot_token
        self._clock = clock or time.monotonic
        self._lock = threading.Lock()
        self._internal_errors = 0  # the fake's own health: kept across resets
        self._initial_users = [self._user_from(u) for u in users]
        initial = {
            "access_lifetime": access_lifetime, "refresh_lifetime": refresh_lifetime,
            "code_lifetime": code_lifetime, "rotate_refresh_tokens": rotate_refresh_tokens,
            "reuse_revokes_grant": reuse_revokes_grant, "auto_consent": auto_consent,
        }
        self._initial_config = self._checked_config({}, initial,
                                                    {u["id"] for u in self._initial_users})
        with self._lock:
            self._reset_locked()

    # ----- state keeping -------------------------------------------------------------------

    def _reset_locked(self):
        self._users = collections.OrderedDict((u["id"], dict(u)) for u in self._initial_users)
        self._config = dict(self._initial_config)
        self._clock_offset = 0.0
        self._codes = {}
        self._grants = {}
        self._access_tokens = {}
        self._refresh_tokens = {}
        self._consent_queue = collections.deque()
        self._faults = {name: collections.deque() for name in ENDPOINTS}
        self._messages = []
        self._token_counts = {name: {"ok": 0, "error": 0, "fault": 0}
                              for name in GRANT_TYPES + ("other",)}
        self._requests = {name: 0 for name in ENDPOINTS}
        self._reuse = {"authorization_code": 0, "refresh_token": 0}
        self._codes_issued = 0
        self._last_token_request = None
        self._issued_since_prune = 0

    def _now(self):
        return self._clock() + self._clock_offset

    @staticmethod
    def _user_from(spec):
        if isinstance(spec, (tuple, list)):
            spec = dict(zip(("id", "email", "name"), spec))
        if not isinstance(spec, dict):
            raise Invalid("a user is an object {\"id\", \"email\", \"name\"}")
        unknown = set(spec) - {"id", "email", "name"}
        if unknown:
            raise Invalid("unknown user field(s): %s" % ", ".join(sorted(unknown)))
        user_id, email, name = spec.get("id"), spec.get("email"), spec.get("name")
        if not isinstance(user_id, str) or not user_id:
            raise Invalid("user id must be a non-empty string")
        if not isinstance(email, str) or not email:
            raise Invalid("user email must be a non-empty string")
        if name is None:
            name = email.split("@", 1)[0]
        if not isinstance(name, str):
            raise Invalid("user name must be a string")
        return {"id": user_id, "email": email, "name": name}

    @staticmethod
    def _checked_config(current, changes, user_ids):
        if not isinstance(changes, dict):
            raise Invalid("config must be an object")
        unknown = set(changes) - set(CONFIG_KEYS)
        if unknown:
            raise Invalid("unknown config key(s): %s" % ", ".join(sorted(unknown)))
        config = dict(current)
        for key, value in changes.items():
            if key.endswith("_lifetime"):
                _check_lifetime(key, value)
            elif key == "auto_consent":
                if value is not None and value not in user_ids:
                    raise Invalid("auto_consent names an unknown user")
            elif not isinstance(value, bool):
                raise Invalid("%s must be true or false" % key)
            config[key] = value
        return config

    def _prune_locked(self, now):
        """Forgets expired tokens and unused expired codes, so long soak runs stay small."""
        self._issued_since_prune += 1
        if self._issued_since_prune < 1024:
            return
        self._issued_since_prune = 0
        for table in (self._access_tokens, self._refresh_tokens):
            for token in [t for t, rec in table.items() if now >= rec.expires_at]:
                del table[token]
        for code in [c for c, rec in self._codes.items() if not rec.used and now >= rec.expires_at]:
            del self._codes[code]

    def _new_grant_locked(self, user_id, client_id, scope):
        grant = _Grant(secrets.token_hex(12), user_id, client_id, scope)
        self._grants[grant.id] = grant
        return grant

    def _issue_tokens_locked(self, grant, now, keep_refresh=None):
        """Issues an access token, plus a refresh token unless `keep_refresh` is reused."""
        self._prune_locked(now)
        access = secrets.token_urlsafe(48)
        access_lifetime = self._config["access_lifetime"]
        self._access_tokens[access] = _Token(grant.id, now + access_lifetime)
        if keep_refresh is None:
            refresh = secrets.token_urlsafe(48)
            refresh_lifetime = self._config["refresh_lifetime"]
            self._refresh_tokens[refresh] = _Token(grant.id, now + refresh_lifetime)
            grant.current_refresh = refresh
        else:
            refresh = keep_refresh
            remaining = self._refresh_tokens[refresh].expires_at - now
            refresh_lifetime = max(0, int(math.ceil(remaining)))
        return {"access_token": access, "expires_in": access_lifetime,
                "refresh_token": refresh, "refresh_token_expires_in": refresh_lifetime,
                "token_type": "Bearer", "scope": grant.scope}

    def _revoke_grant_locked(self, grant_id):
        grant = self._grants.get(grant_id)
        if grant is not None and not grant.revoked:
            grant.revoked = True
            return True
        return False

    # ----- authorize ---------------------------------------------------------------------

    def _validate_authorize_locked(self, values):
        params = {name: values[name] for name in AUTHORIZE_PARAMS if name in values}
        client_id = params.get("client_id")
        if not client_id:
            raise Invalid("client_id is missing")
        if not secrets.compare_digest(client_id.encode(), self._client_id.encode()):
            raise Invalid("unknown client_id")
        redirect_uri = params.get("redirect_uri")
        if not redirect_uri:
            raise Invalid("redirect_uri is missing")
        _check_redirect_uri(redirect_uri)
        if params.get("response_type") != "code":
            raise Invalid("response_type must be code")
        if not params.get("state"):
            raise Invalid("state is missing")
        challenge = params.get("code_challenge")
        method = params.get("code_challenge_method")
        if challenge is None and method is not None:
            raise Invalid("code_challenge_method without code_challenge")
        if challenge is not None:
            if method != "S256":
                raise Invalid("code_challenge_method must be S256")
            if len(challenge) != 43 or not set(challenge) <= PKCE_CHARS or "." in challenge \
                    or "~" in challenge:
                raise Invalid("code_challenge must be 43 base64url characters (S256)")
        scope = " ".join(params.get("scope", "").split()) or DEFAULT_SCOPE
        return _AuthRequest(params, scope, challenge)

    def _decide_locked(self, request, decision):
        if decision.get("deny"):
            return redirect_reply(_with_query(request.redirect_uri, [
                ("error", "access_denied"),
                ("error_description", "The user denied the authorization request"),
                ("state", request.state)]))
        user_id = decision.get("user_id")
        if user_id not in self._users:
            return error_page(400, "unknown user")
        code = secrets.token_urlsafe(32)
        self._codes[code] = _Code(request.client_id, request.redirect_uri, user_id,
                                  request.scope, request.challenge,
                                  self._now() + self._config["code_lifetime"])
        self._codes_issued += 1
        return redirect_reply(_with_query(request.redirect_uri,
                                          [("code", code), ("state", request.state)]))

    def authorize(self, query_pairs):
        """GET /v1/authorize: a queued or automatic decision redirects, else the consent page."""
        with self._lock:
            try:
                request = self._validate_authorize_locked(_single_values(query_pairs))
            except Invalid as exc:
                return error_page(400, str(exc))
            if self._consent_queue:
                return self._decide_locked(request, self._consent_queue.popleft())
            if self._config["auto_consent"] is not None:
                return self._decide_locked(request, {"user_id": self._config["auto_consent"]})
            users = [dict(u) for u in self._users.values()]
        return self._consent_page(request, users)

    @staticmethod
    def _consent_page(request, users):
        esc = html.escape
        hidden = "".join('<input type="hidden" name="%s" value="%s">\n' % (esc(k), esc(v))
                         for k, v in request.params.items())
        buttons = "".join(
            '<button type="submit" name="user_id" value="%s">Allow as %s &lt;%s&gt;</button>\n'
            % (esc(u["id"]), esc(u["name"]), esc(u["email"])) for u in users)
        if not users:
            buttons = ("<p>No users are known. Start with <code>--user ID:EMAIL[:NAME]</code> "
                       "or POST them to <code>/_control/users</code>.</p>\n")
        body = ("<p>Client <code>%s</code> asks for the scope <code>%s</code> and will be sent "
                "back to <code>%s</code>.</p>\n"
                '<form method="post" action="/v1/authorize/decision">\n%s%s'
                '<button type="submit" name="deny" value="1">Deny</button>\n</form>'
                % (esc(request.client_id), esc(request.scope), esc(request.redirect_uri),
                   hidden, buttons))
        return html_reply(200, "Fake Webex: authorize", body)

    def decide(self, content_type, body):
        """POST /v1/authorize/decision: the consent page's form."""
        with self._lock:
            try:
                values = _parse_form(content_type, body)
                decision = {}
                if values.pop("deny", None):
                    decision["deny"] = True
                elif "user_id" in values:
                    decision["user_id"] = values.pop("user_id")
                else:
                    raise Invalid("the form needs user_id or deny")
                request = self._validate_authorize_locked(values)
            except Invalid as exc:
                return error_page(400, str(exc))
            return self._decide_locked(request, decision)

    # ----- access_token ------------------------------------------------------------------

    def token(self, content_type, body):
        """POST /v1/access_token: both grants; counts every request by grant type and outcome."""
        with self._lock:
            self._last_token_request = _redacted_form(body)
            now = self._now()
            try:
                values = _parse_form(content_type, body)
            except Invalid as exc:
                values, reply = {}, oauth_error(400, "invalid_request", str(exc))
            else:
                reply = self._token_locked(values, now)
            # A malformed body still counts under the grant type it seems to name.
            kind = values.get("grant_type", self._last_token_request.get("grant_type"))
            counts = self._token_counts[kind if kind in GRANT_TYPES else "other"]
            counts["ok" if reply.status == 200 else "error"] += 1
            return reply

    def note_token_fault(self, body):
        """Counts a token request that an injected fault answered instead of the rules."""
        with self._lock:
            self._last_token_request = _redacted_form(body)
            kind = self._last_token_request.get("grant_type")
            self._token_counts[kind if kind in GRANT_TYPES else "other"]["fault"] += 1

    def _token_locked(self, values, now):
        grant_type = values.get("grant_type")
        if not grant_type:
            return oauth_error(400, "invalid_request", "grant_type is missing")
        client_id = values.get("client_id", "")
        client_secret = values.get("client_secret", "")
        if not (client_id and client_secret
                and secrets.compare_digest(client_id.encode(), self._client_id.encode())
                and secrets.compare_digest(client_secret.encode(), self._client_secret.encode())):
            return oauth_error(401, "invalid_client", "client authentication failed")
        if grant_type == "authorization_code":
            return self._redeem_code_locked(values, now)
        if grant_type == "refresh_token":
            return self._refresh_locked(values, now)
        return oauth_error(400, "unsupported_grant_type", "unsupported grant_type")

    def _redeem_code_locked(self, values, now):
        code, redirect_uri = values.get("code"), values.get("redirect_uri")
        if not code or not redirect_uri:
            return oauth_error(400, "invalid_request", "code and redirect_uri are required")
        record = self._codes.get(code)
        if record is None:
            return oauth_error(400, "invalid_grant", "unknown authorization code")
        if record.used:
            # RFC 6749 section 10.5: deny, and revoke what was issued for this code.
            self._reuse["authorization_code"] += 1
            if record.grant_id is not None:
                self._revoke_grant_locked(record.grant_id)
            return oauth_error(400, "invalid_grant", "authorization code was already used")
        record.used = True  # single use, even when this attempt fails
        if now >= record.expires_at:
            return oauth_error(400, "invalid_grant", "authorization code expired")
        if record.client_id != values["client_id"]:
            return oauth_error(400, "invalid_grant", "code was issued to another client")
        if record.redirect_uri != redirect_uri:
            return oauth_error(400, "invalid_grant", "redirect_uri does not match")
        verifier = values.get("code_verifier")
        if record.challenge is None:
            if verifier is not None:
                # RFC 9700 section 2.1.1: a verifier without a challenge is a PKCE downgrade.
                return oauth_error(400, "invalid_grant", "code_verifier without code_challenge")
        else:
            if not verifier:
                return oauth_error(400, "invalid_grant", "code_verifier is missing")
            if not 43 <= len(verifier) <= 128 or not set(verifier) <= PKCE_CHARS:
                return oauth_error(400, "invalid_grant", "code_verifier is malformed")
            if not secrets.compare_digest(s256_challenge(verifier), record.challenge):
                return oauth_error(400, "invalid_grant", "code_verifier does not match")
        if record.user_id not in self._users:
            return oauth_error(400, "invalid_grant", "the user is gone")
        grant = self._new_grant_locked(record.user_id, record.client_id, record.scope)
        record.grant_id = grant.id
        return json_reply(200, self._issue_tokens_locked(grant, now),
                          [("Cache-Control", "no-store"), ("Pragma", "no-cache")])

    def _refresh_locked(self, values, now):
        refresh = values.get("refresh_token")
        if not refresh:
            return oauth_error(400, "invalid_request", "refresh_token is required")
        record = self._refresh_tokens.get(refresh)
        if record is None:
            return oauth_error(400, "invalid_grant", "unknown refresh token")
        grant = self._grants[record.grant_id]
        if grant.revoked:
            return oauth_error(400, "invalid_grant", "refresh token was revoked")
        if record.rotated:
            # A rotated refresh token came back: two parties hold the grant. Revoke it all.
            self._reuse["refresh_token"] += 1
            if self._config["reuse_revokes_grant"]:
                self._revoke_grant_locked(grant.id)
            return oauth_error(400, "invalid_grant", "refresh token was already used")
        if now >= record.expires_at:
            return oauth_error(400, "invalid_grant", "refresh token expired")
        if grant.client_id != values["client_id"]:
            return oauth_error(400, "invalid_grant", "refresh token belongs to another client")
        scope = values.get("scope")
        if scope and not set(scope.split()) <= set(grant.scope.split()):
            return oauth_error(400, "invalid_scope", "scope exceeds the granted scope")
        keep = None
        if self._config["rotate_refresh_tokens"]:
            record.rotated = True
        else:
            keep = refresh
        return json_reply(200, self._issue_tokens_locked(grant, now, keep_refresh=keep),
                          [("Cache-Control", "no-store"), ("Pragma", "no-cache")])

    # ----- people/me and messages --------------------------------------------------------

    def people_me(self, authorization):
        token = _bearer_token(authorization)
        with self._lock:
            record = self._access_tokens.get(token) if token else None
            grant = self._grants.get(record.grant_id) if record else None
            if (record is None or grant is None or grant.revoked
                    or self._now() >= record.expires_at or grant.user_id not in self._users):
                return webex_error(401, "The request requires a valid access token set in "
                                        "the Authorization request header.",
                                   [("WWW-Authenticate", 'Bearer error="invalid_token"')])
            user = self._users[grant.user_id]
            return json_reply(200, {"id": user["id"], "emails": [user["email"]],
                                    "displayName": user["name"], "type": "person"})

    def post_message(self, authorization, content_type, body):
        token = _bearer_token(authorization)
        if token is None or not secrets.compare_digest(token.encode(), self._bot_token.encode()):
            return webex_error(401, "The request requires a valid access token set in the "
                                    "Authorization request header.",
                               [("WWW-Authenticate", 'Bearer error="invalid_token"')])
        if _media_type(content_type) != "application/json":
            return webex_error(400, "Content-Type must be application/json")
        try:
            message = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return webex_error(400, "The request body is not valid JSON")
        if not isinstance(message, dict):
            return webex_error(400, "The request body must be a JSON object")
        to_person = message.get("toPersonId")
        if not isinstance(to_person, str) or not to_person:
            return webex_error(400, "toPersonId is required")
        texts = {key: message[key] for key in ("text", "markdown") if key in message}
        if not texts or any(not isinstance(v, str) or not v for v in texts.values()):
            return webex_error(400, "text or markdown is required (non-empty string)")
        record = {"id": "fake-message-" + secrets.token_hex(8), "toPersonId": to_person,
                  "created": _utc_now_iso()}
        record.update(texts)
        with self._lock:
            self._messages.append(record)
        answer = dict(record, roomType="direct", personId="fake-bot")
        return json_reply(200, answer)

    # ----- faults ------------------------------------------------------------------------

    @staticmethod
    def _checked_fault(fault):
        if not isinstance(fault, dict):
            raise Invalid("a fault is an object")
        unknown = set(fault) - FAULT_KEYS
        if unknown:
            raise Invalid("unknown fault key(s): %s" % ", ".join(sorted(unknown)))
        kinds = [k for k in ("hang", "garbage", "error") if k in fault]
        if len(kinds) > 1:
            raise Invalid("a fault has one of hang, garbage, error")
        if not kinds and "status" not in fault and "delay" not in fault:
            raise Invalid("a fault needs status, hang, garbage, error or delay")
        for key in ("hang", "delay"):
            if key in fault and (not _is_number(fault[key])
                                 or not 0 <= fault[key] <= MAX_SLEEP_SECONDS):
                raise Invalid("%s must be a number of seconds in [0, %d]"
                              % (key, MAX_SLEEP_SECONDS))
        if "status" in fault:
            status = fault["status"]
            if not isinstance(status, int) or isinstance(status, bool) or not 200 <= status <= 599:
                raise Invalid("status must be an HTTP status in [200, 599]")
            if kinds and kinds != ["error"]:
                raise Invalid("status goes with error or alone")
        if "garbage" in fault and fault["garbage"] is not True:
            raise Invalid("garbage must be true")
        if "error" in fault and (not isinstance(fault["error"], str) or not fault["error"]):
            raise Invalid("error must be a non-empty string")
        for key in ("body", "content_type", "error_description"):
            if key in fault and not isinstance(fault[key], str):
                raise Invalid("%s must be a string" % key)
        if ("body" in fault or "content_type" in fault) and ("status" not in fault or kinds):
            raise Invalid("body and content_type go with status alone")
        if "retry_after" in fault:
            retry = fault["retry_after"]
            if not ((isinstance(retry, int) and not isinstance(retry, bool) and retry >= 0)
                    or isinstance(retry, str)):
                raise Invalid("retry_after must be whole seconds >= 0 or an HTTP date string")
        count = fault.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise Invalid("count must be a whole number >= 1")
        if "processed" in fault and not isinstance(fault["processed"], bool):
            raise Invalid("processed must be true or false")
        fault = dict(fault)
        fault.pop("count", None)
        return fault, count

    def take_fault(self, endpoint):
        """Counts a request to `endpoint` and returns the fault it gets, if one is queued."""
        with self._lock:
            self._requests[endpoint] += 1
            queue = self._faults[endpoint]
            if not queue:
                return None
            entry = queue[0]
            entry[1] -= 1
            if entry[1] == 0:
                queue.popleft()
            return dict(entry[0])

    def note_internal_error(self):
        with self._lock:
            self._internal_errors += 1

    # ----- control API (also the in-process API) -----------------------------------------

    def add_users(self, users):
        if isinstance(users, dict) and "users" in users:
            users = users["users"]
        if isinstance(users, dict):
            users = [users]
        if not isinstance(users, list):
            raise Invalid("users must be a list of {\"id\", \"email\", \"name\"}")
        checked = [self._user_from(u) for u in users]
        with self._lock:
            for user in checked:
                self._users[user["id"]] = user
            return {"users": [dict(u) for u in self._users.values()]}

    def queue_consent(self, decisions):
        if isinstance(decisions, dict) and "decisions" in decisions:
            decisions = decisions["decisions"]
        if isinstance(decisions, dict):
            decisions = [decisions]
        if not isinstance(decisions, list):
            raise Invalid("consent takes a list of {\"user_id\": ...} or {\"deny\": true}")
        with self._lock:
            checked = []
            for decision in decisions:
                if decision == {"deny": True}:
                    checked.append({"deny": True})
                elif (isinstance(decision, dict) and set(decision) == {"user_id"}
                      and decision["user_id"] in self._users):
                    checked.append({"user_id": decision["user_id"]})
                else:
                    raise Invalid("a decision is {\"user_id\": <known user>} or {\"deny\": true}")
            self._consent_queue.extend(checked)
            return {"pending_consent": len(self._consent_queue)}

    def add_faults(self, endpoint, faults):
        if endpoint not in ENDPOINTS:
            raise Invalid("endpoint must be one of %s" % ", ".join(ENDPOINTS))
        if not isinstance(faults, list):
            raise Invalid("faults must be a list")
        checked = [self._checked_fault(f) for f in faults]
        with self._lock:
            for fault, count in checked:
                self._faults[endpoint].append([fault, count])
            return {"pending_faults": self._pending_faults_locked()}

    def _pending_faults_locked(self):
        return {name: sum(entry[1] for entry in queue) for name, queue in self._faults.items()}

    def revoke_user(self, user_id):
        """Revokes every grant of the user (their access and refresh tokens) and unused codes."""
        if not isinstance(user_id, str) or not user_id:
            raise Invalid("user_id must be a non-empty string")
        with self._lock:
            revoked = sum(1 for g in list(self._grants.values())
                          if g.user_id == user_id and self._revoke_grant_locked(g.id))
            for record in self._codes.values():
                if record.user_id == user_id:
                    record.used = True
            return {"revoked_grants": revoked}

    def configure(self, changes):
        with self._lock:
            self._config = self._checked_config(self._config, changes, set(self._users))
            return {"config": dict(self._config)}

    def issue_tokens(self, user_id, scope=None):
        """Tokens for a user as if they had just consented; the seed for tests."""
        if scope is not None and not isinstance(scope, str):
            raise Invalid("scope must be a string")
        with self._lock:
            if user_id not in self._users:
                raise Invalid("unknown user")
            grant = self._new_grant_locked(user_id, self._client_id,
                                           " ".join((scope or "").split()) or DEFAULT_SCOPE)
            return self._issue_tokens_locked(grant, self._now())

    def advance_clock(self, seconds):
        """Moves the provider's clock (token and code expiry) forward; tokend's clock is its own."""
        if not _is_number(seconds) or seconds < 0:
            raise Invalid("seconds must be a number >= 0")
        with self._lock:
            self._clock_offset += seconds
            return {"clock_offset": self._clock_offset}

    def reset(self):
        """Back to the state at start: start-up users and config, nothing issued or counted."""
        with self._lock:
            self._reset_locked()
        return {}

    def state(self):
        with self._lock:
            now = self._now()
            active = sum(1 for g in self._grants.values()
                         if not g.revoked and g.current_refresh in self._refresh_tokens
                         and now < self._refresh_tokens[g.current_refresh].expires_at)
            return {
                "messages": [dict(m) for m in self._messages],
                "token_requests": {k: dict(v) for k, v in self._token_counts.items()},
                "codes_issued": self._codes_issued,
                "people_me_requests": self._requests["people_me"],
                "last_token_request": (dict(self._last_token_request)
                                       if self._last_token_request is not None else None),
                "requests": dict(self._requests),
                "reuse_detected": dict(self._reuse),
                "active_grants": active,
                "users": [dict(u) for u in self._users.values()],
                "config": dict(self._config),
                "pending_consent": len(self._consent_queue),
                "pending_faults": self._pending_faults_locked(),
                "internal_errors": self._internal_errors,
            }


class _Log:
    """Operator log: one line per request with method, path (no query) and status, no secrets."""

    def __init__(self, stream):
        self._stream = stream
        self._lock = threading.Lock()

    def line(self, text):
        if self._stream is None:
            return
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        with self._lock:
            try:
                self._stream.write("%s fake_webex %s\n" % (stamp, text))
                self._stream.flush()
            except (OSError, ValueError):
                pass


def _loggable_path(raw):
    path = (raw or "").split("?", 1)[0].split("#", 1)[0]
    if not path.startswith("/"):
        return "-"
    return "".join(ch if 0x21 <= ord(ch) < 0x7f else "?" for ch in path[:200])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake_webex/1.0"
    timeout = 60  # idle keep-alive connections are closed after this

    # -- plumbing --

    def version_string(self):
        return self.server_version

    def setup(self):
        super().setup()
        self.server.track(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def log_request(self, code="-", size="-"):
        status = getattr(code, "value", code)
        self.server.log.line("%s %s %s" % (getattr(self, "command", None) or "-",
                                          _loggable_path(getattr(self, "path", "")), status))

    def log_error(self, format, *args):  # noqa: A002 - the base class's signature
        pass  # its messages can quote the request line; log_request already logs the status

    def log_message(self, format, *args):  # noqa: A002
        pass

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def _send(self, reply):
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        body = b"" if self.command == "HEAD" else reply.body
        self.send_header("Content-Length", str(len(reply.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _read_body(self):
        """The request body, or None after an error answer (the connection is then closed)."""
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            self._send(json_reply(411, {"error": "send a Content-Length, not chunks"}))
            return None
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            length = int(length)
            if length < 0:
                raise ValueError
        except ValueError:
            self.close_connection = True
            self._send(json_reply(400, {"error": "bad Content-Length"}))
            return None
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            self._send(json_reply(413, {"error": "body too large"}))
            return None
        body = self.rfile.read(length)
        if len(body) != length:
            raise ConnectionError("body cut short")
        return body

    def _dispatch(self):
        provider = self.server.provider
        try:
            body = self._read_body()
            if body is None:
                return
            path, _, query = self.path.partition("?")
            route = _ROUTES.get(path)
            if route is None:
                if path.startswith("/_control/"):
                    return self._control(path[len("/_control/"):], body)
                return self._send(json_reply(404, {"error": "no such endpoint"}))
            methods, endpoint, action = route
            if self.command not in methods:
                return self._send(json_reply(405, {"error": "method not allowed"},
                                             [("Allow", ", ".join(methods))]))
            run = lambda: action(self, provider, query, body)  # noqa: E731
            fault = provider.take_fault(endpoint) if endpoint else None
            if fault is None:
                return self._send(run())
            reply = self._faulted(fault, endpoint, run, body)
            if reply is not None:
                self._send(reply)
        except (ConnectionError, TimeoutError, socket.timeout):
            self.close_connection = True
        except Exception:
            provider.note_internal_error()
            self.server.log.line("internal error:\n" + traceback.format_exc().rstrip())
            self.close_connection = True
            try:
                self._send(json_reply(500, {"error": "internal error in fake_webex"}))
            except OSError:
                pass

    def _faulted(self, fault, endpoint, run, body):
        """Plays one injected fault; returns the reply to send, or None after a hang."""
        stop = self.server.stopping
        if fault.get("delay"):
            stop.wait(fault["delay"])
        kind = next((k for k in ("hang", "garbage", "error", "status") if k in fault), None)
        if kind is None or fault.get("processed"):
            reply = run()  # the rules run (a delayed answer, or an answer that will be lost)
            if kind is None:
                return reply
        elif endpoint == "access_token":
            self.server.provider.note_token_fault(body)
        if kind == "hang":
            stop.wait(fault["hang"])
            self.close_connection = True
            self.server.log.line("%s %s hang, closed without answer"
                                 % (self.command, _loggable_path(self.path)))
            return None
        headers = []
        if "retry_after" in fault:
            headers.append(("Retry-After", str(fault["retry_after"])))
        if kind == "garbage":
            return Reply(200, GARBAGE_BODY, "application/json", headers)
        if kind == "error":
            return json_reply(fault.get("status", 400),
                              {"error": fault["error"],
                               "error_description": fault.get("error_description",
                                                              "injected fault")}, headers)
        if "body" in fault:
            return Reply(fault["status"], fault["body"].encode("utf-8"),
                         fault.get("content_type", "application/json"), headers)
        return json_reply(fault["status"], {"message": "injected fault",
                                            "trackingId": "fake_webex_fault"}, headers)

    # -- endpoints --

    def _authorize(self, provider, query, body):
        return provider.authorize(parse_qsl(query, keep_blank_values=True))

    def _decision(self, provider, query, body):
        return provider.decide(self.headers.get("Content-Type"), body)

    def _access_token(self, provider, query, body):
        return provider.token(self.headers.get("Content-Type"), body)

    def _people_me(self, provider, query, body):
        return provider.people_me(self.headers.get("Authorization"))

    def _messages(self, provider, query, body):
        return provider.post_message(self.headers.get("Authorization"),
                                     self.headers.get("Content-Type"), body)

    def _index(self, provider, query, body):
        text = ("fake_webex: a fake Webex OAuth provider for tokend development and tests.\n"
                "  GET  /v1/authorize   POST /v1/authorize/decision   POST /v1/access_token\n"
                "  GET  /v1/people/me   POST /v1/messages   /_control/... (see README.md)\n")
        return Reply(200, text.encode(), "text/plain; charset=utf-8")

    def _control(self, name, body):
        provider = self.server.provider
        handlers = {
            "users": lambda a: provider.add_users(a),
            "consent": lambda a: provider.queue_consent(a),
            "faults": lambda a: provider.add_faults(a.get("endpoint"), a.get("faults")),
            "revoke": lambda a: provider.revoke_user(a.get("user_id")),
            "config": lambda a: provider.configure(a),
            "reset": lambda a: provider.reset(),
            "issue_tokens": lambda a: provider.issue_tokens(a.get("user_id"), a.get("scope")),
            "advance_clock": lambda a: provider.advance_clock(a.get("seconds")),
        }
        if name == "state":
            if self.command != "GET":
                return self._send(json_reply(405, {"error": "method not allowed"},
                                             [("Allow", "GET")]))
            return self._send(json_reply(200, provider.state()))
        if name not in handlers:
            return self._send(json_reply(404, {"error": "no such control endpoint"}))
        if self.command != "POST":
            return self._send(json_reply(405, {"error": "method not allowed"},
                                         [("Allow", "POST")]))
        try:
            args = json.loads(body.decode("utf-8")) if body.strip() else {}
        except (UnicodeDecodeError, ValueError):
            return self._send(json_reply(400, {"error": "body is not JSON"}))
        if name not in ("users", "consent") and not isinstance(args, dict):
            return self._send(json_reply(400, {"error": "body must be a JSON object"}))
        try:
            result = handlers[name](args)
        except Invalid as exc:
            return self._send(json_reply(400, {"error": str(exc)}))
        self._send(json_reply(200, result))


_ROUTES = {
    "/": (("GET",), None, _Handler._index),
    "/v1/authorize": (("GET",), "authorize", _Handler._authorize),
    "/v1/authorize/decision": (("POST",), "authorize", _Handler._decision),
    "/v1/access_token": (("POST",), "access_token", _Handler._access_token),
    "/v1/people/me": (("GET",), "people_me", _Handler._people_me),
    "/v1/messages": (("POST",), "messages", _Handler._messages),
}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 4096  # the kernel caps it at net.core.somaxconn
    allow_reuse_address = True

    def __init__(self, address, provider, log):
        self.provider = provider
        self.log = log
        self.stopping = threading.Event()  # wakes hanging and delayed handlers at stop
        self._connections = set()
        self._connections_lock = threading.Lock()
        self._wake_reader, self._wake_writer = socket.socketpair()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        try:
            super().__init__(address, _Handler)
        except BaseException:
            self._wake_reader.close()
            self._wake_writer.close()
            raise

    def serve_forever(self, poll_interval=None):
        # Like BaseServer.serve_forever, but stop() wakes it at once instead of waiting for a
        # poll interval to pass (which made every in-process stop cost up to that interval).
        with selectors.DefaultSelector() as selector:
            selector.register(self, selectors.EVENT_READ)
            selector.register(self._wake_reader, selectors.EVENT_READ)
            while not self.stopping.is_set():
                for key, _ in selector.select():
                    if key.fileobj is self and not self.stopping.is_set():
                        self._handle_request_noblock()

    def wake(self):
        self._wake_writer.send(b"x")

    def server_close(self):
        super().server_close()
        self._wake_reader.close()
        self._wake_writer.close()

    def server_bind(self):
        # HTTPServer.server_bind calls socket.getfqdn(), a DNS lookup that can stall for seconds.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def track(self, connection):
        with self._connections_lock:
            self._connections.add(connection)

    def untrack(self, connection):
        with self._connections_lock:
            self._connections.discard(connection)

    def close_connections(self):
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            return  # the client went away
        self.provider.note_internal_error()
        self.log.line("internal error:\n" + traceback.format_exc().rstrip())


class FakeWebex:
    """The fake provider as an object: start() binds and serves on a thread, stop() ends it.

    The control API is also available as methods (add_users, queue_consent, add_faults,
    revoke_user, configure, state, reset, issue_tokens, advance_clock); they raise
    `Invalid` where the HTTP API answers 400.
    """

    def __init__(self, host="127.0.0.1", port=0, log=None, **provider_options):
        """`log` is a text stream for request lines (None: silent); `provider_options` are
        Provider's: client_id, client_secret, bot_token, users, auto_consent,
        access_lifetime, refresh_lifetime, code_lifetime, rotate_refresh_tokens,
        reuse_revokes_grant, clock (a monotonic seconds function)."""
        self.provider = Provider(**provider_options)
        self._address = (host, port)
        self._log = _Log(log)
        self._server = None
        self._thread = None

    def start(self):
        if self._server is not None:
            raise RuntimeError("already started")
        self._server = _Server(self._address, self.provider, self._log)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="fake_webex", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        server, self._server = self._server, None
        if server is None:
            return
        server.stopping.set()  # also wakes handlers that hang or delay
        server.wake()
        self._thread.join()
        server.close_connections()
        server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def host(self):
        return self._server.server_address[0]

    @property
    def port(self):
        return self._server.server_address[1]

    @property
    def url(self):
        host = self.host
        return "http://%s:%d" % ("[%s]" % host if ":" in host else host, self.port)

    def log_line(self, text):
        """Writes an operator line to the log; never pass it a secret."""
        self._log.line(text)

    # The control API, in-process (same arguments and answers as the /_control/ bodies).

    def add_users(self, users):
        return self.provider.add_users(users)

    def queue_consent(self, decisions):
        return self.provider.queue_consent(decisions)

    def add_faults(self, endpoint, faults):
        return self.provider.add_faults(endpoint, faults)

    def revoke_user(self, user_id):
        return self.provider.revoke_user(user_id)

    def configure(self, changes):
        return self.provider.configure(changes)

    def issue_tokens(self, user_id, scope=None):
        return self.provider.issue_tokens(user_id, scope)

    def advance_clock(self, seconds):
        return self.provider.advance_clock(seconds)

    def reset(self):
        return self.provider.reset()

    def state(self):
        return self.provider.state()


# ----- command line ------------------------------------------------------------------------

def _parse_user(text):
    parts = text.split(":", 2)
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise argparse.ArgumentTypeError("expected ID:EMAIL[:NAME], got %r" % text)
    return {"id": parts[0], "email": parts[1], "name": parts[2] if len(parts) == 3 else None}


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError("must be a whole number >= 1")
    return value


def _port(text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be a port number in [0, 65535]")
    return value


def _read_secret_file(path, what):
    try:
        with open(path, encoding="utf-8") as handle:
            value = handle.read().strip()
    except OSError as exc:
        raise Invalid("cannot read %s: %s" % (what, exc.strerror or exc))
    if not value:
        raise Invalid("%s is empty" % what)
    return value


def _write_port_file(path, port):
    directory = os.path.dirname(os.path.abspath(path))
    temporary = os.path.join(directory, ".%s.%d.tmp" % (os.path.basename(path), os.getpid()))
    with open(temporary, "w", encoding="ascii") as handle:
        handle.write("%d\n" % port)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _arguments(argv):
    parser = argparse.ArgumentParser(
        prog="fake_webex.py",
        description="A fake Webex OAuth provider for tokend development and tests.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=_port, default=0, help="port; 0 picks a free one (0)")
    parser.add_argument("--port-file", help="write the bound port here (atomically)")
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    secret = parser.add_mutually_exclusive_group()
    secret.add_argument("--client-secret", help="the client secret (visible in ps; prefer a file)")
    secret.add_argument("--client-secret-file", help="file holding the client secret")
    bot = parser.add_mutually_exclusive_group()
    bot.add_argument("--bot-token", help="the bot token /v1/messages accepts")
    bot.add_argument("--bot-token-file", help="file holding the bot token")
    parser.add_argument("--user", action="append", type=_parse_user, default=[],
                        metavar="ID:EMAIL[:NAME]", help="a user who can consent (repeatable)")
    parser.add_argument("--auto-consent", metavar="USER_ID",
                        help="consent as this user at once, without the page")
    parser.add_argument("--access-lifetime", type=_positive_int, default=DEFAULT_ACCESS_LIFETIME,
                        metavar="SECONDS")
    parser.add_argument("--refresh-lifetime", type=_positive_int,
                        default=DEFAULT_REFRESH_LIFETIME, metavar="SECONDS")
    parser.add_argument("--code-lifetime", type=_positive_int, default=DEFAULT_CODE_LIFETIME,
                        metavar="SECONDS")
    parser.add_argument("--no-refresh-rotation", action="store_true",
                        help="refreshing returns the same refresh token")
    parser.add_argument("--log-file", help="append request log lines here (default: stderr)")
    return parser.parse_args(argv)


def main(argv=None):
    args = _arguments(argv)
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log_stream = None
    try:
        client_secret = DEFAULT_CLIENT_SECRET if args.client_secret is None else args.client_secret
        if args.client_secret_file:
            client_secret = _read_secret_file(args.client_secret_file, "--client-secret-file")
        bot_token = DEFAULT_BOT_TOKEN if args.bot_token is None else args.bot_token
        if args.bot_token_file:
            bot_token = _read_secret_file(args.bot_token_file, "--bot-token-file")
        log_stream = open(args.log_file, "a", encoding="utf-8") if args.log_file else sys.stderr
        fake = FakeWebex(
            host=args.host, port=args.port, log=log_stream, client_id=args.client_id,
            client_secret=client_secret, bot_token=bot_token, users=args.user,
            auto_consent=args.auto_consent, access_lifetime=args.access_lifetime,
            refresh_lifetime=args.refresh_lifetime, code_lifetime=args.code_lifetime,
            rotate_refresh_tokens=not args.no_refresh_rotation)
        fake.start()
    except (Invalid, OSError) as exc:
        sys.stderr.write("fake_webex: cannot start: %s\n" % exc)
        if log_stream is not None and log_stream is not sys.stderr:
            log_stream.close()
        return 1
    try:
        if args.port_file:
            _write_port_file(args.port_file, fake.port)
        fake.log_line("started: client_id=%s users=%d auto_consent=%s rotation=%s"
                       % (args.client_id, len(args.user), args.auto_consent or "-",
                          "off" if args.no_refresh_rotation else "on"))
        sys.stdout.write("fake_webex listening on %s\n" % fake.url)
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
        fake.log_line("stopping on signal")
    except OSError as exc:
        sys.stderr.write("fake_webex: %s\n" % exc)
        return 1
    finally:
        fake.stop()
        if log_stream is not None and log_stream is not sys.stderr:
            log_stream.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
