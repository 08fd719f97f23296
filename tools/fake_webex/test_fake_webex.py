"""Self-tests of the fake Webex provider (standard library only).

Run: /usr/bin/python3 -m unittest discover -s tools/fake_webex -v
Each test starts its own provider in-process on port 0; the CLI tests run it as a subprocess.
"""

import base64
import contextlib
import hashlib
import http.client
import io
import json
import os
import re
import resource
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlencode, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import fake_webex  # noqa: E402
from fake_webex import FakeWebex, Invalid  # noqa: E402

CLIENT_ID = "test-client-id"
CLIENT_SECRET = "test-client-secret-0123456789"
BOT_TOKEN = "test-bot-token-0123456789"
REDIRECT = "http://127.0.0.1:9/redirect"
USERS = [{"id": "user-1", "email": "one@example.com", "name": "User One"},
         {"id": "user-2", "email": "two@example.com", "name": "User Two"}]
# RFC 7636 appendix B: a verifier and its S256 challenge, computed by someone else.
RFC_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
RFC_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


# No proxies from the environment, no following redirects: we look at the 302 itself.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def text(self):
        return self.body.decode("utf-8")


def call(base, method, path, body=None, headers=None, timeout=10):
    request = urllib.request.Request(base + path, data=body, method=method,
                                     headers=headers or {})
    try:
        with OPENER.open(request, timeout=timeout) as answer:
            return Response(answer.status, answer.headers, answer.read())
    except urllib.error.HTTPError as error:
        with error:
            return Response(error.code, error.headers, error.read())


def location_params(response):
    location = response.headers["Location"]
    return location, {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


class ProviderTestCase(unittest.TestCase):
    """Starts a provider per test; fails the test if the provider hit an internal error."""

    options = {}

    def setUp(self):
        self.log = io.StringIO()
        options = dict(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, bot_token=BOT_TOKEN,
                       users=USERS)
        options.update(self.options)
        self.fw = FakeWebex(log=self.log, **options).start()
        self.addCleanup(self.fw.stop)
        self.base = self.fw.url

    def tearDown(self):
        self.assertEqual(self.fw.state()["internal_errors"], 0, self.log.getvalue())

    # -- helpers --

    def get(self, path, headers=None, **kwargs):
        return call(self.base, "GET", path, headers=headers, **kwargs)

    def post_form(self, path, fields, headers=None):
        all_headers = {"Content-Type": "application/x-www-form-urlencoded"}
        all_headers.update(headers or {})
        return call(self.base, "POST", path, urlencode(fields).encode(), all_headers)

    def post_json(self, path, obj, headers=None):
        all_headers = {"Content-Type": "application/json"}
        all_headers.update(headers or {})
        return call(self.base, "POST", path, json.dumps(obj).encode(), all_headers)

    def control(self, name, obj=None, expect=200):
        response = self.post_json("/_control/" + name, {} if obj is None else obj)
        self.assertEqual(response.status, expect, response.body)
        return response.json()

    def state(self):
        response = self.get("/_control/state")
        self.assertEqual(response.status, 200)
        return response.json()

    def authorize_params(self, **overrides):
        params = {"client_id": CLIENT_ID, "response_type": "code", "redirect_uri": REDIRECT,
                  "scope": "spark:people_read spark:messages_write", "state": "flow-123"}
        params.update(overrides)
        return {k: v for k, v in params.items() if v is not None}

    def authorize(self, **overrides):
        return self.get("/v1/authorize?" + urlencode(self.authorize_params(**overrides)))

    def get_code(self, user_id="user-1", **overrides):
        self.control("consent", [{"user_id": user_id}])
        response = self.authorize(**overrides)
        self.assertEqual(response.status, 302, response.body)
        _, params = location_params(response)
        self.assertEqual(params["state"], self.authorize_params(**overrides)["state"])
        return params["code"]

    def exchange(self, code, **overrides):
        fields = {"grant_type": "authorization_code", "client_id": CLIENT_ID,
                  "client_secret": CLIENT_SECRET, "code": code, "redirect_uri": REDIRECT}
        fields.update(overrides)
        return self.post_form("/v1/access_token", {k: v for k, v in fields.items()
                                                   if v is not None})

    def tokens_for(self, user_id="user-1"):
        response = self.exchange(self.get_code(user_id))
        self.assertEqual(response.status, 200, response.body)
        return response.json()

    def refresh(self, refresh_token, **overrides):
        fields = {"grant_type": "refresh_token", "client_id": CLIENT_ID,
                  "client_secret": CLIENT_SECRET, "refresh_token": refresh_token}
        fields.update(overrides)
        return self.post_form("/v1/access_token", {k: v for k, v in fields.items()
                                                   if v is not None})

    def me(self, access_token):
        return self.get("/v1/people/me", {"Authorization": "Bearer " + access_token})

    def assertOAuthError(self, response, status, error):
        self.assertEqual(response.status, status, response.body)
        self.assertEqual(response.json()["error"], error, response.body)


class AuthorizeTest(ProviderTestCase):

    def test_index_page(self):
        response = self.get("/")
        self.assertEqual(response.status, 200)
        self.assertIn("/v1/authorize", response.text())

    def test_consent_page_lists_users_with_the_original_parameters(self):
        response = self.authorize()
        self.assertEqual(response.status, 200)
        self.assertTrue(response.headers["Content-Type"].startswith("text/html"))
        self.assertIsNone(response.headers["Location"])
        page = response.text()
        self.assertIn('action="/v1/authorize/decision"', page)
        self.assertIn('name="user_id" value="user-1">Allow as User One', page)
        self.assertIn('name="user_id" value="user-2">Allow as User Two', page)
        self.assertIn('name="deny"', page)
        for name, value in self.authorize_params().items():
            self.assertIn('name="%s" value="%s"' % (name, value), page)

    def test_consent_page_escapes_everything(self):
        self.control("users", [{"id": 'evil"id', "email": "e@x<y>.org",
                                "name": "<script>alert(1)</script>"}])
        response = self.authorize(state='"><script>alert(2)</script>',
                                  scope="a<b>&c")
        self.assertEqual(response.status, 200)
        page = response.text()
        self.assertNotIn("<script>", page)
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;", page)
        self.assertIn('value="&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;"', page)
        self.assertIn('value="evil&quot;id"', page)
        self.assertIn("a&lt;b&gt;&amp;c", page)

    def test_error_page_escapes_and_never_redirects(self):
        cases = {
            "missing client_id": dict(client_id=None),
            "wrong client_id": dict(client_id="<b>other</b>"),
            "response_type token": dict(response_type="token"),
            "missing response_type": dict(response_type=None),
            "missing redirect_uri": dict(redirect_uri=None),
            "relative redirect_uri": dict(redirect_uri="/redirect"),
            "javascript redirect_uri": dict(redirect_uri="javascript:alert(1)"),
            "ftp redirect_uri": dict(redirect_uri="ftp://example.com/x"),
            "fragment": dict(redirect_uri=REDIRECT + "#frag"),
            "header injection": dict(redirect_uri=REDIRECT + "\r\nSet-Cookie: a=b"),
            "space": dict(redirect_uri="http://exa mple.com/"),
            "bad ipv6": dict(redirect_uri="http://[::1/x"),
            "missing state": dict(state=None),
            "empty state": dict(state=""),
            "plain pkce": dict(code_challenge=RFC_CHALLENGE, code_challenge_method="plain"),
            "pkce without method": dict(code_challenge=RFC_CHALLENGE),
            "method without challenge": dict(code_challenge_method="S256"),
            "short challenge": dict(code_challenge="abc", code_challenge_method="S256"),
        }
        self.control("consent", [{"user_id": "user-1"}])
        for label, overrides in cases.items():
            with self.subTest(label):
                response = self.authorize(**overrides)
                self.assertEqual(response.status, 400, response.body)
                self.assertIsNone(response.headers["Location"])
                self.assertNotIn("<b>", response.text())
        duplicated = urlencode(self.authorize_params()) + "&state=second"
        response = self.get("/v1/authorize?" + duplicated)
        self.assertEqual(response.status, 400)
        # No invalid request consumed the queued decision.
        self.assertEqual(self.state()["pending_consent"], 1)
        self.assertEqual(self.state()["codes_issued"], 0)

    def test_form_decision_allow_and_deny(self):
        fields = dict(self.authorize_params(), user_id="user-2")
        response = self.post_form("/v1/authorize/decision", fields)
        self.assertEqual(response.status, 302)
        location, params = location_params(response)
        self.assertTrue(location.startswith(REDIRECT + "?"))
        self.assertEqual(params["state"], "flow-123")
        tokens = self.exchange(params["code"]).json()
        self.assertEqual(self.me(tokens["access_token"]).json()["id"], "user-2")

        fields = dict(self.authorize_params(), deny="1")
        response = self.post_form("/v1/authorize/decision", fields)
        self.assertEqual(response.status, 302)
        _, params = location_params(response)
        self.assertEqual(params["error"], "access_denied")
        self.assertEqual(params["state"], "flow-123")
        self.assertIn("error_description", params)
        self.assertNotIn("code", params)

    def test_form_decision_is_validated_again(self):
        for label, fields in {
            "unknown user": dict(self.authorize_params(), user_id="nobody"),
            "no choice": self.authorize_params(),
            "forged client": dict(self.authorize_params(client_id="other"), user_id="user-1"),
            "bad redirect": dict(self.authorize_params(redirect_uri="x"), deny="1"),
        }.items():
            with self.subTest(label):
                response = self.post_form("/v1/authorize/decision", fields)
                self.assertEqual(response.status, 400)
                self.assertIsNone(response.headers["Location"])
        self.assertEqual(self.get("/v1/authorize/decision").status, 405)

    def test_queued_decisions_are_used_in_order(self):
        self.control("consent", [{"user_id": "user-2"}, {"deny": True}])
        _, first = location_params(self.authorize())
        self.assertIn("code", first)
        _, second = location_params(self.authorize(state="s2"))
        self.assertEqual((second["error"], second["state"]), ("access_denied", "s2"))
        self.assertEqual(self.authorize().status, 200)  # queue empty: the page again
        tokens = self.exchange(first["code"]).json()
        self.assertEqual(self.me(tokens["access_token"]).json()["id"], "user-2")

    def test_auto_consent_and_redirect_uri_with_a_query(self):
        self.control("config", {"auto_consent": "user-2"})
        redirect = "https://bot.example.com/cb?tenant=a%20b"
        response = self.authorize(redirect_uri=redirect)
        self.assertEqual(response.status, 302)
        location, params = location_params(response)
        self.assertTrue(location.startswith(redirect + "&code="), location)
        self.assertEqual(params["tenant"], "a b")
        tokens = self.exchange(params["code"], redirect_uri=redirect).json()
        self.assertEqual(self.me(tokens["access_token"]).json()["id"], "user-2")
        self.assertEqual(self.state()["codes_issued"], 1)


class AutoConsentOptionTest(ProviderTestCase):
    options = {"auto_consent": "user-1"}

    def test_auto_consent_option(self):
        response = self.authorize()
        self.assertEqual(response.status, 302)
        self.assertIn("code", location_params(response)[1])

    def test_unknown_auto_consent_user_is_refused(self):
        with self.assertRaises(Invalid):
            FakeWebex(users=USERS, auto_consent="nobody")
        self.control("config", {"auto_consent": "nobody"}, expect=400)


class TokenTest(ProviderTestCase):

    def test_code_exchange_and_people_me(self):
        code = self.get_code("user-1")
        response = self.exchange(code)
        self.assertEqual(response.status, 200, response.body)
        self.assertEqual(response.headers["Cache-Control"], "no-store")
        tokens = response.json()
        self.assertEqual(set(tokens), {"access_token", "expires_in", "refresh_token",
                                       "refresh_token_expires_in", "token_type", "scope"})
        self.assertEqual(tokens["token_type"], "Bearer")
        self.assertEqual(tokens["expires_in"], fake_webex.DEFAULT_ACCESS_LIFETIME)
        self.assertEqual(tokens["refresh_token_expires_in"], fake_webex.DEFAULT_REFRESH_LIFETIME)
        self.assertEqual(tokens["scope"], "spark:people_read spark:messages_write")
        self.assertNotEqual(tokens["access_token"], tokens["refresh_token"])
        me = self.me(tokens["access_token"])
        self.assertEqual(me.status, 200)
        self.assertEqual(me.json(), {"id": "user-1", "emails": ["one@example.com"],
                                     "displayName": "User One", "type": "person"})
        state = self.state()
        self.assertEqual(state["token_requests"]["authorization_code"],
                         {"ok": 1, "error": 0, "fault": 0})
        self.assertEqual(state["codes_issued"], 1)
        self.assertEqual(state["people_me_requests"], 1)
        self.assertEqual(state["active_grants"], 1)

    def test_code_reuse_is_refused_and_revokes_its_tokens(self):
        code = self.get_code()
        tokens = self.exchange(code).json()
        self.assertEqual(self.me(tokens["access_token"]).status, 200)
        self.assertOAuthError(self.exchange(code), 400, "invalid_grant")
        self.assertEqual(self.me(tokens["access_token"]).status, 401)
        self.assertOAuthError(self.refresh(tokens["refresh_token"]), 400, "invalid_grant")
        state = self.state()
        self.assertEqual(state["reuse_detected"]["authorization_code"], 1)
        self.assertEqual(state["token_requests"]["authorization_code"],
                         {"ok": 1, "error": 1, "fault": 0})
        self.assertEqual(state["active_grants"], 0)

    def test_code_reuse_also_revokes_tokens_refreshed_from_it(self):
        code = self.get_code()
        first = self.exchange(code).json()
        second = self.refresh(first["refresh_token"]).json()
        self.assertOAuthError(self.exchange(code), 400, "invalid_grant")
        self.assertEqual(self.me(second["access_token"]).status, 401)
        self.assertOAuthError(self.refresh(second["refresh_token"]), 400, "invalid_grant")

    def test_code_is_bound_to_redirect_uri_and_single_use_even_on_failure(self):
        code = self.get_code()
        self.assertOAuthError(self.exchange(code, redirect_uri=REDIRECT + "/other"),
                              400, "invalid_grant")
        self.assertOAuthError(self.exchange(code), 400, "invalid_grant")

    def test_unknown_code(self):
        self.assertOAuthError(self.exchange("no-such-code"), 400, "invalid_grant")

    def test_pkce_with_the_right_verifier(self):
        code = self.get_code(code_challenge=RFC_CHALLENGE, code_challenge_method="S256")
        response = self.exchange(code, code_verifier=RFC_VERIFIER)
        self.assertEqual(response.status, 200, response.body)

    def test_pkce_with_a_fresh_verifier(self):
        verifier = base64.urlsafe_b64encode(os.urandom(40)).rstrip(b"=").decode()
        challenge = base64.urlsafe_b64encode(
            hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        code = self.get_code(code_challenge=challenge, code_challenge_method="S256")
        self.assertEqual(self.exchange(code, code_verifier=verifier).status, 200)

    def test_pkce_wrong_missing_or_malformed_verifier(self):
        for label, verifier in {"wrong": RFC_VERIFIER[:-1] + "l", "missing": None,
                                "empty": "", "too short": "abc",
                                "bad characters": RFC_VERIFIER[:-1] + "+"}.items():
            with self.subTest(label):
                code = self.get_code(code_challenge=RFC_CHALLENGE, code_challenge_method="S256")
                self.assertOAuthError(self.exchange(code, code_verifier=verifier),
                                      400, "invalid_grant")

    def test_verifier_without_challenge_is_refused(self):
        code = self.get_code()
        self.assertOAuthError(self.exchange(code, code_verifier=RFC_VERIFIER),
                              400, "invalid_grant")

    def test_refresh_rotation_and_reuse_detection(self):
        first = self.tokens_for()
        response = self.refresh(first["refresh_token"])
        self.assertEqual(response.status, 200, response.body)
        second = response.json()
        self.assertNotEqual(second["refresh_token"], first["refresh_token"])
        self.assertNotEqual(second["access_token"], first["access_token"])
        self.assertEqual(second["scope"], first["scope"])
        self.assertEqual(self.me(second["access_token"]).json()["id"], "user-1")
        # The old refresh token comes back: refused, and the whole grant is revoked.
        self.assertOAuthError(self.refresh(first["refresh_token"]), 400, "invalid_grant")
        self.assertOAuthError(self.refresh(second["refresh_token"]), 400, "invalid_grant")
        self.assertEqual(self.me(second["access_token"]).status, 401)
        state = self.state()
        self.assertEqual(state["reuse_detected"]["refresh_token"], 1)
        self.assertEqual(state["token_requests"]["refresh_token"],
                         {"ok": 1, "error": 2, "fault": 0})

    def test_reuse_without_grant_revocation(self):
        self.control("config", {"reuse_revokes_grant": False})
        first = self.tokens_for()
        second = self.refresh(first["refresh_token"]).json()
        self.assertOAuthError(self.refresh(first["refresh_token"]), 400, "invalid_grant")
        self.assertEqual(self.refresh(second["refresh_token"]).status, 200)

    def test_refresh_without_rotation(self):
        self.control("config", {"rotate_refresh_tokens": False})
        first = self.tokens_for()
        for _ in range(2):
            response = self.refresh(first["refresh_token"])
            self.assertEqual(response.status, 200, response.body)
            self.assertEqual(response.json()["refresh_token"], first["refresh_token"])
            self.assertLessEqual(response.json()["refresh_token_expires_in"],
                                 fake_webex.DEFAULT_REFRESH_LIFETIME)

    def test_concurrent_refreshes_of_one_token_destroy_the_grant(self):
        # The original module's defect 1: with rotation, racing refreshes lose the grant.
        tokens = self.tokens_for()
        results = []
        barrier = threading.Barrier(20)

        def racer():
            barrier.wait()
            results.append(self.refresh(tokens["refresh_token"]).status)

        threads = [threading.Thread(target=racer) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(sorted(results), [200] + [400] * 19)
        self.assertEqual(self.state()["active_grants"], 0)

    def test_refresh_scope_may_only_narrow(self):
        tokens = self.tokens_for()
        self.assertEqual(self.refresh(tokens["refresh_token"], scope="spark:people_read")
                         .status, 200)
        tokens = self.tokens_for()
        self.assertOAuthError(self.refresh(tokens["refresh_token"], scope="spark:admin"),
                              400, "invalid_scope")

    def test_unknown_refresh_token(self):
        self.assertOAuthError(self.refresh("no-such-token"), 400, "invalid_grant")

    def test_bad_client(self):
        code = self.get_code()
        for label, overrides in {"wrong secret": {"client_secret": "nope"},
                                 "missing secret": {"client_secret": None},
                                 "empty secret": {"client_secret": ""},
                                 "wrong client": {"client_id": "other"},
                                 "missing client": {"client_id": None}}.items():
            with self.subTest(label):
                self.assertOAuthError(self.exchange(code, **overrides), 401, "invalid_client")
        # Credentials in an Authorization header instead of the body are not what Webex takes.
        basic = base64.b64encode(("%s:%s" % (CLIENT_ID, CLIENT_SECRET)).encode()).decode()
        response = self.post_form("/v1/access_token",
                                  {"grant_type": "authorization_code", "code": code,
                                   "redirect_uri": REDIRECT},
                                  {"Authorization": "Basic " + basic})
        self.assertOAuthError(response, 401, "invalid_client")
        # A failed client authentication did not consume the code.
        self.assertEqual(self.exchange(code).status, 200)
        self.assertEqual(self.state()["token_requests"]["authorization_code"]["error"], 6)

    def test_malformed_and_unsupported_requests(self):
        good = {"grant_type": "authorization_code", "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET, "code": "x", "redirect_uri": REDIRECT}
        response = self.post_form("/v1/access_token", dict(good, grant_type="password"))
        self.assertOAuthError(response, 400, "unsupported_grant_type")
        response = self.post_form("/v1/access_token", {k: v for k, v in good.items()
                                                       if k != "grant_type"})
        self.assertOAuthError(response, 400, "invalid_request")
        response = self.post_form("/v1/access_token", {k: v for k, v in good.items()
                                                       if k != "code"})
        self.assertOAuthError(response, 400, "invalid_request")
        response = self.post_json("/v1/access_token", good)
        self.assertOAuthError(response, 400, "invalid_request")
        raw = urlencode(good) + "&code=again"
        response = call(self.base, "POST", "/v1/access_token", raw.encode(),
                        {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertOAuthError(response, 400, "invalid_request")
        for body in (b"grant_type=refresh_token&&x", b"grant_type=%FF%FE", b"\xff\xfe=1"):
            with self.subTest(body):
                response = call(self.base, "POST", "/v1/access_token", body,
                                {"Content-Type": "application/x-www-form-urlencoded"})
                self.assertOAuthError(response, 400, "invalid_request")
        self.assertEqual(self.get("/v1/access_token").status, 405)
        counts = self.state()["token_requests"]
        # Malformed bodies count under the grant type they seem to name.
        self.assertEqual(counts["other"]["error"], 5)
        self.assertEqual(counts["authorization_code"]["error"], 2)
        self.assertEqual(counts["refresh_token"]["error"], 1)

    def test_last_token_request_hides_secrets(self):
        code = self.get_code(code_challenge=RFC_CHALLENGE, code_challenge_method="S256")
        tokens = self.exchange(code, code_verifier=RFC_VERIFIER).json()
        last = self.state()["last_token_request"]
        self.assertEqual(last, {"grant_type": "authorization_code", "client_id": CLIENT_ID,
                                "redirect_uri": REDIRECT, "client_secret": True, "code": True,
                                "code_verifier": True, "refresh_token": False})
        self.refresh(tokens["refresh_token"], client_secret=None)
        last = self.state()["last_token_request"]
        self.assertEqual(last, {"grant_type": "refresh_token", "client_id": CLIENT_ID,
                                "client_secret": False, "code": False,
                                "code_verifier": False, "refresh_token": True})
        # A JSON body: nothing of it may show up as a field name either.
        self.post_json("/v1/access_token", {"client_secret": CLIENT_SECRET})
        everything = json.dumps(self.state())
        for secret in (CLIENT_SECRET, code, RFC_VERIFIER, tokens["access_token"],
                       tokens["refresh_token"]):
            self.assertNotIn(secret, everything)

    def test_log_has_no_secrets_and_no_queries(self):
        code = self.get_code()
        tokens = self.exchange(code).json()
        self.refresh(tokens["refresh_token"])
        self.me(tokens["access_token"])
        self.post_json("/v1/messages", {"toPersonId": "user-1", "text": "hi"},
                       {"Authorization": "Bearer " + BOT_TOKEN})
        log = self.log.getvalue()
        self.assertIn("GET /v1/authorize 302", log)
        self.assertIn("POST /v1/access_token 200", log)
        self.assertIn("GET /v1/people/me 200", log)
        self.assertNotIn("?", log)
        for secret in (CLIENT_SECRET, BOT_TOKEN, code, "flow-123", tokens["access_token"],
                       tokens["refresh_token"]):
            self.assertNotIn(secret, log)


class ExpiryTest(ProviderTestCase):
    options = {"access_lifetime": 1, "refresh_lifetime": 1, "code_lifetime": 1}

    def test_everything_expires_in_real_time(self):
        unused_code = self.get_code()
        tokens = self.tokens_for()
        self.assertEqual((tokens["expires_in"], tokens["refresh_token_expires_in"]), (1, 1))
        self.assertEqual(self.me(tokens["access_token"]).status, 200)
        self.assertEqual(self.state()["active_grants"], 1)
        time.sleep(1.1)
        self.assertOAuthError(self.exchange(unused_code), 400, "invalid_grant")
        self.assertEqual(self.me(tokens["access_token"]).status, 401)
        self.assertOAuthError(self.refresh(tokens["refresh_token"]), 400, "invalid_grant")
        self.assertEqual(self.state()["active_grants"], 0)


class ClockTest(ProviderTestCase):

    def test_advancing_the_clock_expires_without_waiting(self):
        tokens = self.tokens_for()
        unused_code = self.get_code()
        self.control("advance_clock", {"seconds": 61})
        self.assertOAuthError(self.exchange(unused_code), 400, "invalid_grant")
        self.control("advance_clock", {"seconds": 14 * 86400})
        self.assertEqual(self.me(tokens["access_token"]).status, 401)
        fresh = self.refresh(tokens["refresh_token"]).json()
        self.assertEqual(self.me(fresh["access_token"]).status, 200)
        self.fw.advance_clock(91 * 86400)
        self.assertOAuthError(self.refresh(fresh["refresh_token"]), 400, "invalid_grant")
        self.control("advance_clock", {"seconds": -1}, expect=400)

    def test_configured_lifetimes_apply_to_new_tokens(self):
        old = self.tokens_for()
        self.control("config", {"access_lifetime": 5, "refresh_lifetime": 10})
        new = self.tokens_for()
        self.assertEqual((new["expires_in"], new["refresh_token_expires_in"]), (5, 10))
        self.fw.advance_clock(6)
        self.assertEqual(self.me(new["access_token"]).status, 401)
        self.assertEqual(self.me(old["access_token"]).status, 200)


class PeopleAndMessagesTest(ProviderTestCase):

    def test_people_me_refuses_bad_tokens(self):
        tokens = self.tokens_for()
        for label, headers in {"no header": {},
                               "wrong scheme": {"Authorization": "Basic " + tokens["access_token"]},
                               "empty bearer": {"Authorization": "Bearer "},
                               "unknown": {"Authorization": "Bearer nope"},
                               "refresh token": {"Authorization": "Bearer "
                                                 + tokens["refresh_token"]},
                               "bot token": {"Authorization": "Bearer " + BOT_TOKEN}}.items():
            with self.subTest(label):
                response = self.get("/v1/people/me", headers)
                self.assertEqual(response.status, 401)
                self.assertIn("invalid_token", response.headers["WWW-Authenticate"])
        self.assertEqual(self.get("/v1/people/me",
                                  {"Authorization": "bearer " + tokens["access_token"]}).status,
                         200)
        self.assertEqual(self.state()["people_me_requests"], 7)

    def test_messages(self):
        auth = {"Authorization": "Bearer " + BOT_TOKEN}
        response = self.post_json("/v1/messages", {"toPersonId": "user-1", "text": "hello"},
                                  auth)
        self.assertEqual(response.status, 200, response.body)
        self.assertTrue(response.json()["id"])
        response = self.post_json("/v1/messages",
                                  {"toPersonId": "user-2", "markdown": "**done**"}, auth)
        self.assertEqual(response.status, 200)
        messages = self.state()["messages"]
        self.assertEqual([(m["toPersonId"], m.get("text"), m.get("markdown"))
                          for m in messages],
                         [("user-1", "hello", None), ("user-2", None, "**done**")])
        self.assertTrue(all(m["created"] and m["id"] for m in messages))

    def test_messages_refuses_bad_requests(self):
        auth = {"Authorization": "Bearer " + BOT_TOKEN}
        ok = {"toPersonId": "user-1", "text": "hello"}
        tokens = self.tokens_for()
        self.assertEqual(self.post_json("/v1/messages", ok).status, 401)
        self.assertEqual(self.post_json("/v1/messages", ok,
                                        {"Authorization": "Bearer wrong"}).status, 401)
        self.assertEqual(self.post_json(
            "/v1/messages", ok, {"Authorization": "Bearer " + tokens["access_token"]}).status,
            401)
        for label, body in {"not json": b"{nope", "not an object": b"[1]",
                            "no recipient": json.dumps({"text": "x"}).encode(),
                            "no text": json.dumps({"toPersonId": "user-1"}).encode(),
                            "empty text": json.dumps({"toPersonId": "user-1",
                                                      "text": ""}).encode(),
                            "number text": json.dumps({"toPersonId": "user-1",
                                                       "text": 5}).encode(),
                            "bad utf-8": b'{"toPersonId": "\xff"}'}.items():
            with self.subTest(label):
                response = call(self.base, "POST", "/v1/messages", body,
                                dict(auth, **{"Content-Type": "application/json"}))
                self.assertEqual(response.status, 400)
                self.assertIn("message", response.json())
        response = call(self.base, "POST", "/v1/messages", urlencode(ok).encode(),
                        dict(auth, **{"Content-Type": "application/x-www-form-urlencoded"}))
        self.assertEqual(response.status, 400)
        self.assertEqual(self.state()["messages"], [])


class FaultTest(ProviderTestCase):

    def faults(self, endpoint, *faults):
        return self.control("faults", {"endpoint": endpoint, "faults": list(faults)})

    def raw_request(self, method, path, body=None, headers=None, timeout=10):
        connection = http.client.HTTPConnection("127.0.0.1", self.fw.port, timeout=timeout)
        self.addCleanup(connection.close)
        connection.request(method, path, body=body, headers=headers or {})
        return connection.getresponse()

    def test_status_fault_then_normal_answers(self):
        self.faults("access_token", {"status": 500})
        code = self.get_code()
        response = self.exchange(code)
        self.assertEqual(response.status, 500)
        self.assertEqual(self.exchange(code).status, 200)  # the fault did not consume the code
        counts = self.state()["token_requests"]["authorization_code"]
        self.assertEqual(counts, {"ok": 1, "error": 0, "fault": 1})

    def test_count_applies_to_several_requests(self):
        self.faults("people_me", {"status": 503, "count": 2})
        tokens = self.tokens_for()
        self.assertEqual(self.state()["pending_faults"]["people_me"], 2)
        statuses = [self.me(tokens["access_token"]).status for _ in range(3)]
        self.assertEqual(statuses, [503, 503, 200])
        self.assertEqual(self.state()["pending_faults"]["people_me"], 0)

    def test_retry_after(self):
        self.faults("access_token", {"status": 429, "retry_after": 2})
        response = self.refresh("whatever")
        self.assertEqual(response.status, 429)
        self.assertEqual(response.headers["Retry-After"], "2")

    def test_hang_sends_nothing_then_closes(self):
        self.faults("people_me", {"hang": 0.5})
        tokens = self.fw.issue_tokens("user-1")
        started = time.monotonic()
        connection = http.client.HTTPConnection("127.0.0.1", self.fw.port, timeout=5)
        self.addCleanup(connection.close)
        connection.request("GET", "/v1/people/me",
                           headers={"Authorization": "Bearer " + tokens["access_token"]})
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionResetError)):
            connection.getresponse()
        self.assertGreaterEqual(time.monotonic() - started, 0.45)
        self.assertEqual(self.me(tokens["access_token"]).status, 200)

    def test_hang_does_not_block_other_requests(self):
        self.faults("messages", {"hang": 1.0})
        done = threading.Event()

        def hanging():
            try:
                self.raw_request("POST", "/v1/messages", b"{}").read()
            except (http.client.HTTPException, OSError):
                pass
            done.set()

        thread = threading.Thread(target=hanging)
        thread.start()
        deadline = time.monotonic() + 5
        while self.fw.state()["requests"]["messages"] == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        # Answered while the hanging request is still open.
        self.assertEqual(self.get("/_control/state").status, 200)
        self.assertFalse(done.is_set())
        thread.join()

    def test_garbage(self):
        self.faults("access_token", {"garbage": True})
        response = self.exchange(self.get_code())
        self.assertEqual(response.status, 200)
        with self.assertRaises(ValueError):
            response.json()

    def test_raw_body(self):
        raw = '{"access_token": "x", "expires_in": "soon"}'
        self.faults("access_token", {"status": 200, "body": raw})
        response = self.refresh("whatever")
        self.assertEqual((response.status, response.text()), (200, raw))

    def test_delay_gives_a_slow_correct_answer(self):
        self.faults("messages", {"delay": 0.3})
        started = time.monotonic()
        response = self.post_json("/v1/messages", {"toPersonId": "user-1", "text": "slow"},
                                  {"Authorization": "Bearer " + BOT_TOKEN})
        self.assertGreaterEqual(time.monotonic() - started, 0.28)
        self.assertEqual(response.status, 200)
        self.assertEqual(len(self.state()["messages"]), 1)

    def test_oauth_error(self):
        self.faults("access_token", {"error": "invalid_grant"},
                    {"error": "temporarily_unavailable", "status": 503,
                     "error_description": "try later"})
        tokens = self.fw.issue_tokens("user-1")
        self.assertOAuthError(self.refresh(tokens["refresh_token"]), 400, "invalid_grant")
        response = self.refresh(tokens["refresh_token"])
        self.assertOAuthError(response, 503, "temporarily_unavailable")
        self.assertEqual(response.json()["error_description"], "try later")
        self.assertEqual(self.refresh(tokens["refresh_token"]).status, 200)
        self.assertEqual(self.state()["token_requests"]["refresh_token"],
                         {"ok": 1, "error": 0, "fault": 2})

    def test_processed_fault_loses_the_answer_of_a_real_exchange(self):
        self.faults("access_token", {"status": 502, "processed": True})
        code = self.get_code()
        self.assertEqual(self.exchange(code).status, 502)
        # The code was redeemed behind the lost answer: a retry is a reuse.
        self.assertOAuthError(self.exchange(code), 400, "invalid_grant")
        self.assertEqual(self.state()["reuse_detected"]["authorization_code"], 1)

    def test_authorize_fault_keeps_the_queued_decision(self):
        self.control("consent", [{"user_id": "user-1"}])
        self.faults("authorize", {"status": 500})
        self.assertEqual(self.authorize().status, 500)
        self.assertEqual(self.state()["pending_consent"], 1)
        self.assertEqual(self.authorize().status, 302)

    def test_fault_validation(self):
        for label, body in {
            "unknown endpoint": {"endpoint": "nope", "faults": [{"status": 500}]},
            "not a list": {"endpoint": "messages", "faults": {"status": 500}},
            "unknown key": {"endpoint": "messages", "faults": [{"status": 500, "x": 1}]},
            "empty fault": {"endpoint": "messages", "faults": [{}]},
            "two kinds": {"endpoint": "messages", "faults": [{"hang": 1, "garbage": True}]},
            "bad status": {"endpoint": "messages", "faults": [{"status": 99}]},
            "bool status": {"endpoint": "messages", "faults": [{"status": True}]},
            "negative delay": {"endpoint": "messages", "faults": [{"delay": -1}]},
            "zero count": {"endpoint": "messages", "faults": [{"status": 500, "count": 0}]},
            "body without status": {"endpoint": "messages", "faults": [{"body": "x",
                                                                        "delay": 1}]},
            "garbage false": {"endpoint": "messages", "faults": [{"garbage": False}]},
        }.items():
            with self.subTest(label):
                self.control("faults", body, expect=400)
        self.assertEqual(self.state()["pending_faults"],
                         {"authorize": 0, "access_token": 0, "people_me": 0, "messages": 0})


class ControlTest(ProviderTestCase):

    def test_users(self):
        answer = self.control("users", [{"id": "user-3", "email": "three@example.com"}])
        self.assertIn({"id": "user-3", "email": "three@example.com", "name": "three"},
                      answer["users"])
        self.control("users", {"id": "user-3", "email": "3@example.com", "name": "Three"})
        tokens = self.fw.issue_tokens("user-3")
        self.assertEqual(self.me(tokens["access_token"]).json()["displayName"], "Three")
        for bad in ([{"id": "", "email": "x@y"}], [{"id": "a"}], [{"id": "a", "email": "b",
                                                                   "extra": 1}], "text"):
            with self.subTest(bad):
                self.control("users", bad, expect=400)

    def test_consent_validation(self):
        for bad in ([{"user_id": "nobody"}], [{"deny": False}], [{}], [{"user_id": "user-1",
                                                                      "deny": True}]):
            with self.subTest(bad):
                self.control("consent", bad, expect=400)
        self.assertEqual(self.control("consent", {"deny": True})["pending_consent"], 1)

    def test_config_validation(self):
        answer = self.control("config", {"code_lifetime": 5})
        self.assertEqual(answer["config"]["code_lifetime"], 5)
        for bad in ({"access_lifetime": 0}, {"access_lifetime": 1.5},
                    {"refresh_lifetime": True}, {"rotate_refresh_tokens": "yes"},
                    {"unknown": 1}):
            with self.subTest(bad):
                self.control("config", bad, expect=400)

    def test_revoke_user(self):
        one = self.tokens_for("user-1")
        one_again = self.fw.issue_tokens("user-1")
        two = self.tokens_for("user-2")
        pending = self.get_code("user-1")
        self.assertEqual(self.control("revoke", {"user_id": "user-1"}), {"revoked_grants": 2})
        for tokens in (one, one_again):
            self.assertEqual(self.me(tokens["access_token"]).status, 401)
            self.assertOAuthError(self.refresh(tokens["refresh_token"]), 400, "invalid_grant")
        self.assertOAuthError(self.exchange(pending), 400, "invalid_grant")
        self.assertEqual(self.me(two["access_token"]).status, 200)
        self.assertEqual(self.refresh(two["refresh_token"]).status, 200)
        self.assertEqual(self.control("revoke", {"user_id": "user-1"}), {"revoked_grants": 0})
        self.control("revoke", {}, expect=400)

    def test_issue_tokens(self):
        tokens = self.control("issue_tokens", {"user_id": "user-2", "scope": "spark:all"})
        self.assertEqual(tokens["scope"], "spark:all")
        self.assertEqual(tokens["token_type"], "Bearer")
        self.assertEqual(self.me(tokens["access_token"]).json()["id"], "user-2")
        self.assertEqual(self.refresh(tokens["refresh_token"]).status, 200)
        self.control("issue_tokens", {"user_id": "nobody"}, expect=400)
        self.assertEqual(self.state()["codes_issued"], 0)

    def test_reset(self):
        self.control("users", [{"id": "user-3", "email": "three@example.com"}])
        self.control("config", {"access_lifetime": 7, "rotate_refresh_tokens": False})
        tokens = self.tokens_for()
        self.control("consent", [{"deny": True}])
        self.control("faults", {"endpoint": "messages", "faults": [{"status": 500}]})
        self.fw.advance_clock(5)
        self.control("reset")
        state = self.state()
        self.assertEqual([u["id"] for u in state["users"]], ["user-1", "user-2"])
        self.assertEqual(state["config"]["access_lifetime"], fake_webex.DEFAULT_ACCESS_LIFETIME)
        self.assertTrue(state["config"]["rotate_refresh_tokens"])
        self.assertEqual((state["pending_consent"], state["codes_issued"],
                          state["people_me_requests"], state["last_token_request"],
                          state["messages"], state["active_grants"]),
                         (0, 0, 0, None, [], 0))
        self.assertEqual(sum(state["pending_faults"].values()), 0)
        self.assertEqual(state["token_requests"]["authorization_code"],
                         {"ok": 0, "error": 0, "fault": 0})
        self.assertEqual(self.me(tokens["access_token"]).status, 401)

    def test_control_errors(self):
        self.assertEqual(self.post_json("/_control/state", {}).status, 405)
        self.assertEqual(self.get("/_control/reset").status, 405)
        self.assertEqual(self.post_json("/_control/nope", {}).status, 404)
        self.assertEqual(self.get("/nope").status, 404)
        response = call(self.base, "POST", "/_control/config", b"{not json")
        self.assertEqual(response.status, 400)
        self.assertEqual(self.post_json("/_control/revoke", ["user-1"]).status, 400)


class ServerTest(ProviderTestCase):

    def test_keep_alive_and_body_limits(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.fw.port, timeout=5)
        self.addCleanup(connection.close)
        for _ in range(3):  # one connection, several requests
            connection.request("GET", "/_control/state")
            response = connection.getresponse()
            self.assertEqual(response.status, 200)
            response.read()
        # Too large: answered from the headers alone, and the connection is closed.
        sock = socket.create_connection(("127.0.0.1", self.fw.port), timeout=5)
        self.addCleanup(sock.close)
        sock.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n"
                     % (fake_webex.MAX_BODY_BYTES + 1))
        answer = sock.makefile("rb").read()
        self.assertTrue(answer.startswith(b"HTTP/1.1 413 "), answer)
        self.assertIn(b"Connection: close", answer)

    def test_malformed_requests_are_answered_and_leave_no_query_in_the_log(self):
        for raw, status in ((b"GET /v1/authorize?code=SECRET-1 HTTP/1.1 junk\r\n\r\n", b"400"),
                            (b"GET /v1/x?code=SECRET-2 HTTP/9.9\r\n\r\n", b"505"),
                            (b"BREW /v1/people/me?x=SECRET-3 HTTP/1.1\r\nHost: x\r\n\r\n",
                             b"501"),
                            (b"GET /?a=SECRET-4 HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                             b"400"),
                            (b"POST /v1/access_token HTTP/1.1\r\nTransfer-Encoding: chunked"
                             b"\r\n\r\n0\r\n\r\n", b"411")):
            with self.subTest(raw):
                sock = socket.create_connection(("127.0.0.1", self.fw.port), timeout=5)
                self.addCleanup(sock.close)
                sock.sendall(raw)
                answer = sock.makefile("rb").read()
                self.assertIn(status, answer)  # malformed lines get a status-less HTTP/0.9 page
        self.assertNotIn("SECRET", self.log.getvalue())

    def test_a_thousand_concurrent_connections(self):
        count = 1000
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        needed = 2 * count + 200  # both ends live in this process
        if soft < needed:
            if hard != resource.RLIM_INFINITY and hard < needed:
                self.skipTest("RLIMIT_NOFILE hard limit %d is below %d" % (hard, needed))
            resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
            self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))
        tokens = self.fw.issue_tokens("user-1")
        request = ("GET /v1/people/me HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"
                   "Authorization: Bearer %s\r\n\r\n" % tokens["access_token"]).encode()
        sockets = []
        try:
            for _ in range(count):  # all open at once before any request is sent
                sockets.append(socket.create_connection(("127.0.0.1", self.fw.port),
                                                        timeout=20))
            for sock in sockets:
                sock.sendall(request)
            statuses = []
            for sock in sockets:
                chunks = []
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    chunks.append(chunk)
                statuses.append(b"".join(chunks).split(b"\r\n", 1)[0])
        finally:
            for sock in sockets:
                sock.close()
        self.assertEqual(statuses, [b"HTTP/1.1 200 OK"] * count)
        self.assertEqual(self.state()["people_me_requests"], count)

    def test_expired_entries_are_forgotten(self):
        provider = self.fw.provider
        for _ in range(1024):
            self.fw.issue_tokens("user-1")
        self.fw.advance_clock(fake_webex.DEFAULT_REFRESH_LIFETIME + 1)
        for _ in range(1024):
            latest = self.fw.issue_tokens("user-1")
        self.assertEqual(len(provider._access_tokens), 1024)
        self.assertEqual(len(provider._refresh_tokens), 1024)
        self.assertEqual(self.refresh(latest["refresh_token"]).status, 200)

    def test_ipv6_loopback(self):
        if not socket.has_ipv6:
            self.skipTest("no IPv6")
        try:
            fw = FakeWebex(host="::1", users=USERS).start()
        except OSError as error:
            self.skipTest("cannot bind ::1: %s" % error)
        self.addCleanup(fw.stop)
        self.assertTrue(fw.url.startswith("http://[::1]:"), fw.url)
        self.assertEqual(call(fw.url, "GET", "/_control/state").status, 200)

    def test_stop_is_prompt_with_hanging_and_idle_connections(self):
        self.control("faults", {"endpoint": "messages", "faults": [{"hang": 60}]})
        idle = socket.create_connection(("127.0.0.1", self.fw.port), timeout=5)
        self.addCleanup(idle.close)
        hanging = socket.create_connection(("127.0.0.1", self.fw.port), timeout=5)
        self.addCleanup(hanging.close)
        hanging.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n")
        deadline = time.monotonic() + 5
        while self.fw.state()["requests"]["messages"] == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.monotonic()
        port = self.fw.port
        self.fw.stop()
        self.assertLess(time.monotonic() - started, 2)
        self.assertEqual(hanging.recv(100), b"")
        self.assertEqual(idle.recv(100), b"")
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()


class CommandLineTest(unittest.TestCase):
    SCRIPT = os.path.join(HERE, "fake_webex.py")

    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()
        self.addCleanup(self.directory.cleanup)
        self.dir = self.directory.name

    def start(self, *args):
        process = subprocess.Popen([sys.executable, self.SCRIPT] + list(args),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(self.reap, process)
        return process

    @staticmethod
    def reap(process):
        if process.poll() is None:
            process.kill()
        process.communicate()

    def first_line(self, process):
        ready, _, _ = select.select([process.stdout], [], [], 10)
        self.assertTrue(ready, "no start line within 10 s")
        return process.stdout.readline().decode()

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as handle:
            handle.write(text)
        return path

    def test_start_line_port_file_requests_and_sigterm(self):
        port_file = os.path.join(self.dir, "port")
        log_file = os.path.join(self.dir, "log")
        process = self.start(
            "--port-file", port_file, "--log-file", log_file,
            "--client-id", CLIENT_ID,
            "--client-secret-file", self.write("secret", CLIENT_SECRET + "\n"),
            "--bot-token-file", self.write("bot", BOT_TOKEN + "\n"),
            "--user", "user-1:one@example.com:One: with a colon",
            "--user", "user-2:two@example.com", "--auto-consent", "user-1",
            "--access-lifetime", "30")
        line = self.first_line(process)
        match = re.fullmatch(r"fake_webex listening on http://127\.0\.0\.1:(\d+)\n", line)
        self.assertTrue(match, line)
        port = int(match.group(1))
        with open(port_file) as handle:
            self.assertEqual(handle.read(), "%d\n" % port)
        self.assertEqual(sorted(os.listdir(self.dir)), ["bot", "log", "port", "secret"])

        base = "http://127.0.0.1:%d" % port
        query = urlencode({"client_id": CLIENT_ID, "response_type": "code",
                           "redirect_uri": REDIRECT, "state": "s-1"})
        response = call(base, "GET", "/v1/authorize?" + query)
        self.assertEqual(response.status, 302)
        code = location_params(response)[1]["code"]
        body = urlencode({"grant_type": "authorization_code", "client_id": CLIENT_ID,
                          "client_secret": CLIENT_SECRET, "code": code,
                          "redirect_uri": REDIRECT}).encode()
        response = call(base, "POST", "/v1/access_token", body,
                        {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(response.status, 200, response.body)
        tokens = response.json()
        self.assertEqual(tokens["expires_in"], 30)
        me = call(base, "GET", "/v1/people/me",
                  headers={"Authorization": "Bearer " + tokens["access_token"]}).json()
        self.assertEqual(me["displayName"], "One: with a colon")
        response = call(base, "POST", "/v1/messages",
                        json.dumps({"toPersonId": "user-1", "text": "hi"}).encode(),
                        {"Authorization": "Bearer " + BOT_TOKEN,
                         "Content-Type": "application/json"})
        self.assertEqual(response.status, 200)

        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
        self.assertEqual(process.returncode, 0, err)
        self.assertEqual(out, b"")  # the start line was the only output
        with open(log_file) as handle:
            log = handle.read()
        self.assertIn("POST /v1/access_token 200", log)
        for secret in (CLIENT_SECRET, BOT_TOKEN, code, tokens["access_token"],
                       tokens["refresh_token"], "s-1"):
            self.assertNotIn(secret, log)
            self.assertNotIn(secret, err.decode())

    def test_sigint_and_log_on_stderr(self):
        process = self.start("--user", "u:u@example.com")
        line = self.first_line(process)
        base = line.strip().rsplit(" ", 1)[1]
        self.assertEqual(call(base, "GET", "/_control/state").status, 200)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=10)
        self.assertEqual(process.returncode, 0, err)
        self.assertIn(b"GET /_control/state 200", err)

    def test_refuses_to_start_on_bad_configuration(self):
        busy = socket.socket()
        self.addCleanup(busy.close)
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        # Two as real processes (in parallel: start-up is slow on a busy machine) ...
        cases = [(["--port", str(busy.getsockname()[1])], 1), (["--user", "no-email"], 2)]
        processes = [self.start(*args) for args, _ in cases]
        for (args, code), process in zip(cases, processes):
            with self.subTest(args):
                out, err = process.communicate(timeout=10)
                self.assertEqual(process.returncode, code, err)
                self.assertEqual(out, b"")
                self.assertTrue(err)
        # ... the rest through main() in this process.
        for args, code in ((["--auto-consent", "nobody"], 1),
                           (["--client-secret-file", os.path.join(self.dir, "missing")], 1),
                           (["--client-secret-file", self.write("empty", "\n")], 1),
                           (["--client-secret", ""], 1),
                           (["--access-lifetime", "0"], 2),
                           (["--client-secret", "a", "--client-secret-file", "b"], 2)):
            with self.subTest(args):
                self.assertEqual(self.main_in_process(args), code)

    def main_in_process(self, args):
        handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
        stdout, stderr = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                try:
                    code = fake_webex.main(args)
                except SystemExit as exit:  # argparse
                    code = exit.code
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
        self.assertEqual(stdout.getvalue(), "")
        self.assertTrue(stderr.getvalue())
        return code

if __name__ == "__main__":
    unittest.main()
