"""Issue 17: the provider presets end to end. The real tokend runs against a fake
provider that answers in the documented shape of GitHub or Microsoft Entra ID
(tools/fake_provider): the whole flow through GET /redirect, the identity check
(the right user and the wrong one), refresh with rotating refresh tokens, and a
dead grant. The webex preset is what every other integration test runs."""

import os
import sys
import unittest
import urllib.parse

from harness import ROOT, Tokend, http_get, wait_for

sys.path.insert(0, os.path.join(ROOT, "tools", "fake_provider"))

from fake_google import FakeGoogle  # noqa: E402
from fake_provider import FakeProvider  # noqa: E402
from tokend_client import TokendError  # noqa: E402

CLIENT_SECRET = "fake-client-secret"


class PresetCase(unittest.TestCase):
    """One tokend configured with `provider: <preset>` and the preset's endpoints
    pointed at the fake (the integration's own keys override the preset's)."""
    shape = None
    scopes = "read:user"
    users = ()            # (id, name): the first consents as itself, the second is the wrong user
    overrides = ()        # lines under integration.provider beside `preset` (the profile's fields); {url}: the fake's
    fake_class = FakeProvider

    def setUp(self):
        self.fake = self.fake_class(self.shape, client_secret=CLIENT_SECRET).start()
        self.fake.add_users(self.users)
        self.tokend = Tokend(None, integration=False, client_secret=CLIENT_SECRET, extra_config="\n".join([
            "integration:",
            "  provider:",
            f"    preset: {self.shape}",
            *("    " + line.format(url=self.fake.url) for line in self.overrides),
            f"  client_id: {self.fake.client_id}",
            f"  client_secret: {{file: CLIENT_SECRET_FILE}}",
            f"  scopes: {self.scopes}",
            "  redirect_url: http://127.0.0.1:9/redirect",
            f"  auth_service: {self.fake.endpoint('authorize')}",
            f"  token_service: {self.fake.endpoint('token')}",
            f"  api_base: {self.fake.url}{self.fake.paths['api_base']}",
            "  request_timeout_ms: 3000"]) + "\n")
        with open(self.tokend.config_path) as f:
            config = f.read().replace("CLIENT_SECRET_FILE", os.path.join(self.tokend.dir, "client_secret"))
        with open(self.tokend.config_path, "w") as f:
            f.write(config)
        self.tokend.start()
        self.client = self.tokend.client()

    def tearDown(self):
        code = self.tokend.stop()
        log = self.tokend.log()
        self.tokend.close()
        self.fake.stop()
        self.assertEqual(code, 0, log)

    def flow(self, user_id, as_user):
        """A flow for user_id, consented at the fake as as_user: (status, body) of GET /redirect."""
        flow = self.client.start_flow(user_id)
        auth = urllib.parse.urlsplit(flow["auth_url"])
        self.assertEqual(auth.scheme + "://" + auth.netloc + auth.path, self.fake.endpoint("authorize"))
        params = dict(urllib.parse.parse_qsl(auth.query))
        self.assertEqual(params["code_challenge_method"], "S256")
        self.fake.queue_consent([{"user_id": as_user}])
        status, headers, body = http_get(auth.port, auth.path + "?" + auth.query)
        self.assertEqual(status, 302, body)
        query = urllib.parse.urlsplit(headers["Location"]).query
        status, _, body = http_get(self.tokend.port, "/redirect?" + query)
        return status, body

    def check_preset(self):
        me, other = self.users[0], self.users[1]
        # The right user: stored, and the token works at the provider.
        status, body = self.flow(me[0], me[0])
        self.assertEqual(status, 200, body)
        first = self.client.get_token(me[0])["access_token"]
        self.assertEqual(self.fake.tokens_of(me[0])["access"], [first])
        # The wrong user: nothing stored, the page names the account that consented.
        status, body = self.flow(other[0], me[0])
        self.assertEqual(status, 403, body)
        self.assertIn(me[1], body)
        with self.assertRaises(TokendError) as raised:
            self.client.get_token(other[0])
        self.assertEqual(raised.exception.code, "not_found")
        # Refresh twice: each spends the refresh token the last one stored.
        for _ in range(2):
            fresh = self.client.refresh(me[0])["access_token"]
            self.assertNotEqual(fresh, first)
            self.assertEqual(self.fake.tokens_of(me[0])["access"][-1], fresh)
            first = fresh
        self.assertEqual([r for r in self.fake.requests if r[:2] == ("token", "refresh_token")],
                         [("token", "refresh_token", "ok")] * 2)
        (_, issued), (used, _) = self.fake.refreshes
        self.assertEqual(used, issued, "the second refresh spent the refresh token the first one stored")
        # A dead grant: the user withdrew the app's authorization.
        self.fake.revoke_user(me[0])
        with self.assertRaises(TokendError) as raised:
            self.client.refresh(me[0])
        self.assertEqual(raised.exception.code, "reauth_required")
        with self.assertRaises(TokendError) as raised:
            self.client.get_token(me[0])
        self.assertEqual(raised.exception.code, "reauth_required")
        self.assertEqual(self.client.stats()["users_reauth_required"], 1)
        # No message request for this provider: the log says only events tell.
        wait_for(lambda: "has no message request" in self.tokend.log(), what="the no-message log line")
        # Authorizing again clears it.
        status, body = self.flow(me[0], me[0])
        self.assertEqual(status, 200, body)
        self.assertEqual(self.client.stats()["users_reauth_required"], 0)
        log = self.tokend.log()
        for token in self.fake.tokens_of(me[0])["access"] + self.fake.tokens_of(me[0])["refresh"] + [CLIENT_SECRET]:
            self.assertNotIn(token, log)


class GitHub(PresetCase):
    """GitHub App user tokens: errors with HTTP 200, numeric ids, single-use refresh tokens."""
    shape = "github"
    users = (("583231", "octocat"), ("9919", "hubot"))

    def test_flow_identity_refresh_and_dead_grant(self):
        self.check_preset()


class Microsoft(PresetCase):
    """Entra ID v2 and Graph /me: scope on refresh, offline_access for a refresh token."""
    shape = "microsoft"
    scopes = "openid offline_access User.Read"
    users = (("87d349ed-44d7-43e1-9a83-5f2406dee5bd", "adele@contoso.example"),
             ("6e7b768e-07e2-4810-8459-485f84f8f204", "megan@contoso.example"))

    def test_flow_identity_refresh_and_dead_grant(self):
        self.check_preset()


class Google(PresetCase):
    """Google OpenID Connect: the id_token's sub is the user, verified with the fake's
    JWKS (fetched once, again on a rotated key); a refresh token only with
    access_type=offline and a consent; refresh tokens that do not rotate."""
    shape = "google"
    fake_class = FakeGoogle
    scopes = "openid email"
    users = (("110169484474386276334", "alice@example.com"), ("104725310529178823446", "bob@example.com"))
    overrides = ("jwks_uri: {url}/oauth2/v3/certs",)

    def test_flow_identity_refresh_and_dead_grant(self):
        me, other = self.users
        flow = self.client.start_flow(me[0])
        params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(flow["auth_url"]).query))
        self.assertEqual((params["access_type"], params["prompt"]), ("offline", "consent"))
        self.assertEqual(len(params["nonce"]), 43)
        # The right user: stored; the wrong one: nothing stored, the page names the account.
        status, body = self.flow(me[0], me[0])
        self.assertEqual(status, 200, body)
        first = self.client.get_token(me[0])["access_token"]
        self.assertEqual(self.fake.tokens_of(me[0])["access"], [first])
        status, body = self.flow(other[0], me[0])
        self.assertEqual(status, 403, body)
        self.assertIn(me[1], body)
        with self.assertRaises(TokendError) as raised:
            self.client.get_token(other[0])
        self.assertEqual(raised.exception.code, "not_found")
        self.assertEqual(self.fake.jwks_fetches, 1, "the keys are cached, not fetched at each login")
        # Refresh twice: Google's refresh answers carry no refresh token; the stored one is kept.
        for _ in range(2):
            fresh = self.client.refresh(me[0])["access_token"]
            self.assertNotEqual(fresh, first)
            self.assertEqual(self.fake.tokens_of(me[0])["access"][-1], fresh)
            first = fresh
        (used_first, issued), (used_second, _) = self.fake.refreshes
        self.assertIsNone(issued)
        self.assertEqual(used_first, used_second, "the refresh token from the code exchange is used again")
        # A dead grant: the user removed the app's access.
        self.fake.revoke_user(me[0])
        with self.assertRaises(TokendError) as raised:
            self.client.refresh(me[0])
        self.assertEqual(raised.exception.code, "reauth_required")
        self.assertEqual(self.client.stats()["users_reauth_required"], 1)
        wait_for(lambda: "has no message request" in self.tokend.log(), what="the no-message log line")
        status, body = self.flow(me[0], me[0])
        self.assertEqual(status, 200, body)
        self.assertEqual(self.client.stats()["users_reauth_required"], 0)
        log = self.tokend.log()
        for token in self.fake.tokens_of(me[0])["access"] + self.fake.tokens_of(me[0])["refresh"] + [CLIENT_SECRET]:
            self.assertNotIn(token, log)

    def test_forged_or_wrong_id_tokens_store_nothing(self):
        other = self.users[1]
        for fault in ("tampered", "unknown_key", "wrong_nonce", "wrong_audience", "wrong_issuer", "expired",
                      "alg_none", "hs256", "no_id_token"):
            with self.subTest(fault=fault):
                self.fake.id_token_fault(fault)
                status, body = self.flow(other[0], other[0])
                self.assertEqual(status, 502, body)
                with self.assertRaises(TokendError) as raised:
                    self.client.get_token(other[0])
                self.assertEqual(raised.exception.code, "not_found")
        self.assertIn("identity check failed: the id_token's signature does not verify", self.tokend.log())
        self.assertIn("the id_token's nonce is not the flow's", self.tokend.log())
        # The same user with a good id_token: stored.
        status, body = self.flow(other[0], other[0])
        self.assertEqual(status, 200, body)

    def test_a_rotated_key_is_fetched_once(self):
        me, other = self.users
        status, body = self.flow(me[0], me[0])
        self.assertEqual(status, 200, body)
        self.fake.rotate_key()
        status, body = self.flow(other[0], other[0])
        self.assertEqual(status, 200, body)
        self.assertEqual(self.fake.jwks_fetches, 2)
        # A kid the provider never published: no new fetch within the minute, refused.
        self.fake.id_token_fault("unpublished_kid")
        status, body = self.flow(me[0], me[0])
        self.assertEqual(status, 502, body)
        self.assertEqual(self.fake.jwks_fetches, 2)
        self.assertIn("no key in the JWKS for the id_token's kid and alg", self.tokend.log())


class GoogleWithoutPromptConsent(PresetCase):
    """authorize_params without prompt=consent: Google sends a refresh token only at the
    user's first consent, so a second flow's exchange has none and the stored one stays."""
    shape = "google"
    fake_class = FakeGoogle
    scopes = "openid email"
    users = Google.users
    overrides = ("jwks_uri: {url}/oauth2/v3/certs", "authorize_params: {{access_type: offline}}")

    def test_an_exchange_without_a_refresh_token_keeps_the_stored_one(self):
        me = self.users[0]
        for _ in range(2):
            status, body = self.flow(me[0], me[0])
            self.assertEqual(status, 200, body)
        self.assertEqual(len(self.fake.tokens_of(me[0])["refresh"]), 1, "one refresh token, from the first consent")
        fresh = self.client.refresh(me[0])["access_token"]
        self.assertEqual(self.fake.tokens_of(me[0])["access"][-1], fresh)
        [(used, _)] = self.fake.refreshes
        self.assertEqual([used], self.fake.tokens_of(me[0])["refresh"])


if __name__ == "__main__":
    unittest.main()
