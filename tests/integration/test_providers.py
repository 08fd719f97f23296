"""Issue 17: the provider presets end to end, and sign-out with revocation. The real tokend runs against a fake
provider that answers in the documented shape of GitHub or Microsoft Entra ID
(tools/fake_provider): the whole flow through GET /redirect, the identity check
(the right user and the wrong one), refresh with rotating refresh tokens, and a
dead grant. The webex preset is what every other integration test runs."""

import json
import os
import re
import subprocess
import sys
import threading
import unittest
import urllib.parse

from harness import ROOT, Tokend, http_get, wait_for

sys.path.insert(0, os.path.join(ROOT, "tools", "fake_provider"))

from fake_google import FakeGoogle  # noqa: E402
from fake_provider import FakeProvider  # noqa: E402
from fake_slack import FakeSlack  # noqa: E402
from tokend_client import TokendClient, TokendError  # noqa: E402

CLIENT_SECRET = "fake-client-secret"
TOKENCTL = os.environ.get("TOKENCTL_BIN", os.path.join(ROOT, "build", "tools", "tokenctl", "tokenctl"))


class PresetCase(unittest.TestCase):
    """One tokend configured with `provider: <preset>` and the preset's endpoints
    pointed at the fake (the integration's own keys override the preset's)."""
    shape = None
    scopes = "read:user"
    users = ()            # (id, name): the first consents as itself, the second is the wrong user
    overrides = ()        # lines under integration.provider beside `preset` (the profile's fields); {url}: the fake's
    fake_class = FakeProvider
    bot_token = False     # configure the fake's bot token (the preset messages users)
    faulty_store = False  # the faulty test store (self.flag switches it off while it exists)
    extra_config = ""     # appended to the configuration

    def setUp(self):
        self.fake = self.fake_class(self.shape, client_secret=CLIENT_SECRET).start()
        self.fake.add_users(self.users)
        bot_token = getattr(self.fake, "bot_token", "unused-bot-token")
        store = {}
        if self.faulty_store:
            if not os.environ.get("TOKEND_FAULTY_STORE"):
                self.fake.stop()
                self.skipTest("TOKEND_FAULTY_STORE not set (ctest sets it)")
            store = {"store": os.environ["TOKEND_FAULTY_STORE"], "store_options": {"fail_flag": "STORE_OFF_FLAG"}}
        self.tokend = Tokend(None, integration=False, client_secret=CLIENT_SECRET, bot_token=bot_token, **store,
                             extra_config=self.extra_config + "\n".join([
            "integration:",
            "  provider:",
            f"    preset: {self.shape}",
            *("    " + line.replace("{fake_url}", self.fake.url).replace("{{", "{").replace("}}", "}").replace("{url}", self.fake.url)
              for line in self.overrides),
            f"  client_id: {self.fake.client_id}",
            f"  client_secret: {{file: CLIENT_SECRET_FILE}}",
            *(["  bot_token: {file: BOT_TOKEN_FILE}"] if self.bot_token else []),
            f"  scopes: {self.scopes}",
            "  redirect_url: http://127.0.0.1:9/redirect",
            f"  auth_service: {self.fake.endpoint('authorize')}",
            f"  token_service: {self.fake.endpoint('token')}",
            f"  api_base: {self.fake.url}{self.fake.paths['api_base']}",
            "  request_timeout_ms: 3000",
            "metrics:",
            "  listen: 127.0.0.1:0"]) + "\n")
        with open(self.tokend.config_path) as f:
            config = f.read().replace("CLIENT_SECRET_FILE", os.path.join(self.tokend.dir, "client_secret")) \
                .replace("BOT_TOKEN_FILE", os.path.join(self.tokend.dir, "bot_token"))
        self.flag = os.path.join(self.tokend.dir, "store-off")
        config = config.replace("STORE_OFF_FLAG", self.flag)
        with open(self.tokend.config_path, "w") as f:
            f.write(config)
        self.tokend.start()
        self.client = self.tokend.client()
        self.typed = TokendClient(self.tokend.socket, timeout=30)  # typed results
        self.addCleanup(self.typed.close)

    def tearDown(self):
        code = self.tokend.stop()
        log = self.tokend.log()
        self.tokend.close()
        self.fake.stop()
        self.assertEqual(code, 0, log)

    def provider_requests(self, endpoint, status="2xx"):
        """tokend_provider_requests_total{endpoint, integration, status} from GET /metrics (the one
        integration is "default"; the JWKS and discovery documents are no integration's)."""
        port = int(re.search(r"metrics listening on http://127\.0\.0\.1:(\d+)/metrics", self.tokend.log()).group(1))
        code, _, text = http_get(port, "/metrics")
        self.assertEqual(code, 200)
        integration = '' if endpoint in ("jwks", "discovery") else 'integration="default",'
        series = f'tokend_provider_requests_total{{endpoint="{endpoint}",{integration}status="{status}"}}'
        found = re.search(rf"(?m)^{re.escape(series)} (\S+)$", text)
        self.assertIsNotNone(found, series)
        return float(found.group(1))

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

    def check_wrong_user(self, me, other):
        """A flow for other, consented as me: nothing stored, the page names me's account."""
        status, body = self.flow(other[0], me[0])
        self.assertEqual(status, 403, body)
        self.assertIn(me[1], body)
        with self.assertRaises(TokendError) as raised:
            self.client.get_token(other[0])
        self.assertEqual(raised.exception.code, "not_found")

    def check_two_refreshes(self, user_id, first, old_access_dies=False):
        """Two refreshes, each spending the refresh token the last one stored (old_access_dies: and the
        access token it came with stops working)."""
        for _ in range(2):
            fresh = self.client.refresh(user_id)["access_token"]
            self.assertNotEqual(fresh, first)
            self.assertEqual(self.fake.tokens_of(user_id)["access"][-1], fresh)
            if old_access_dies:
                self.assertNotIn(first, self.fake.tokens_of(user_id)["access"], "the old pair stops working")
            first = fresh
        (_, issued), (used, _) = self.fake.refreshes
        self.assertEqual(used, issued, "the second refresh spent the refresh token the first one stored")

    def check_preset(self):
        me, other = self.users[0], self.users[1]
        # The right user: stored, and the token works at the provider.
        status, body = self.flow(me[0], me[0])
        self.assertEqual(status, 200, body)
        first = self.client.get_token(me[0])["access_token"]
        self.assertEqual(self.fake.tokens_of(me[0])["access"], [first])
        # The wrong user: nothing stored, the page names the account that consented.
        self.check_wrong_user(me, other)
        # Refresh twice: each spends the refresh token the last one stored.
        self.check_two_refreshes(me[0], first, old_access_dies=self.shape == "github")
        self.assertEqual([r for r in self.fake.requests if r[:2] == ("token", "refresh_token")],
                         [("token", "refresh_token", "ok")] * 2)
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

    def test_sign_out_without_a_revocation_endpoint(self):
        """GitHub has no RFC 7009 endpoint: cleared here, not_supported, the grant lives on there."""
        me = self.users[0][0]
        self.assertEqual(self.flow(me, me)[0], 200)
        access = self.client.get_token(me)["access_token"]
        result = self.typed.sign_out(me)
        self.assertTrue(result.cleared)
        self.assertEqual(result.revocation, "not_supported")
        self.assertFalse(self.typed.grant_status(me).context)
        self.assertEqual(self.fake.revocations, [])
        self.assertIn(access, self.fake.tokens_of(me)["access"], "nothing was revoked at the provider")
        wait_for(lambda: "has no revocation endpoint" in self.tokend.log(), what="the sign-out log line")


def watch_events(tokend, user_id):
    """Collects the user's events in a list, on a connection of its own (the client closes it)."""
    events, watcher = [], TokendClient(tokend.socket, timeout=None)

    def watch():
        try:
            for event in watcher.watch(user_id):
                events.append(event.raw)
        except Exception:  # noqa: BLE001 - the connection closes at the end
            pass

    threading.Thread(target=watch, daemon=True).start()
    return events, watcher


class Revocation(PresetCase):
    """The sign_out op with an RFC 7009 endpoint in the profile (the fake's, beside a GitHub-shaped
    token endpoint), and grant_status along a grant's life."""
    shape = "github"
    users = (("583231", "octocat"), ("9919", "hubot"))
    overrides = ("revocation: {url: \"{fake_url}/oauth2/revoke\"}",)

    def signed_out_event(self, user_id):
        events, watcher = watch_events(self.tokend, user_id)
        self.addCleanup(watcher.close)
        wait_for(lambda: self.client.stats()["watchers"] >= 1, what="the watcher")
        return events

    def check_grant_gone(self, user_id):
        """The fake saw a live refresh token revoked (the client authenticated as at the token endpoint),
        and with it the grant's access token went too; tokend holds no context."""
        self.assertEqual(self.fake.revocations, [("refresh_token", "refresh", "post")])
        self.assertEqual(self.fake.tokens_of(user_id), {"access": [], "refresh": []})
        self.assertFalse(self.typed.grant_status(user_id).context)
        with self.assertRaises(TokendError) as raised:
            self.client.get_token(user_id)
        self.assertEqual(raised.exception.code, "not_found")

    def call(self, outcomes, name, op):
        """op(client) on a client of its own (run in a thread): its result, or its error's code, in outcomes[name]."""
        client = TokendClient(self.tokend.socket, timeout=30)
        try:
            outcomes[name] = op(client)
        except TokendError as error:
            outcomes[name] = error.code
        finally:
            client.close()

    def test_sign_out_revokes_the_refresh_token_and_clears(self):
        me = self.users[0][0]
        status = self.typed.grant_status(me)
        self.assertEqual((status.context, status.reauth_required, status.provider), (False, True, "github"))
        self.assertEqual(self.flow(me, me)[0], 200)
        status = self.typed.grant_status(me)
        self.assertTrue(status.context and status.access_token_valid and status.access_token_fresh)
        self.assertTrue(status.refreshable and status.working)
        self.assertIsNotNone(status.expires_at)
        self.assertIsNotNone(status.refresh_token_expires_at)
        tokens = self.fake.tokens_of(me)
        for token in tokens["access"] + tokens["refresh"]:
            self.assertNotIn(token, str(status.raw), "grant_status never carries a token")
        events = self.signed_out_event(me)
        result = self.typed.sign_out(me)
        self.assertTrue(result.cleared)
        self.assertEqual(result.revocation, "revoked")
        self.assertEqual(result["revocation"]["token"], "refresh_token")
        self.check_grant_gone(me)
        wait_for(lambda: any(e.get("event") == "signed_out" for e in events), what="the signed_out event")
        self.assertEqual([e.get("revocation") for e in events if e.get("event") == "signed_out"], ["revoked"])
        # Again: nothing left to clear or revoke.
        again = self.typed.sign_out(me)
        self.assertEqual((again.cleared, again.revocation), (False, "no_token"))
        self.assertEqual(len(self.fake.revocations), 1)
        log = self.tokend.log()
        for token in tokens["access"] + tokens["refresh"] + [CLIENT_SECRET]:
            self.assertNotIn(token, log)

    def test_provider_down_still_clears_and_reports_failed(self):
        me, other = self.users[0][0], self.users[1][0]
        self.assertEqual(self.flow(me, me)[0], 200)
        self.fake.add_users([(other, "hubot")])
        self.assertEqual(self.flow(other, other)[0], 200)
        events = self.signed_out_event(me)
        self.fake.fail_revocation(503)
        result = self.typed.sign_out(me)
        self.assertTrue(result.cleared)
        self.assertEqual((result.revocation, result.status, result.reason), ("failed", 503, "HTTP 503 temporarily_unavailable"))
        self.assertFalse(self.typed.grant_status(me).context, "cleared here whatever the provider answered")
        self.assertEqual(self.fake.revocations, [])
        self.assertTrue(self.fake.tokens_of(me)["refresh"], "the grant lives on at the provider")
        wait_for(lambda: [e.get("revocation") for e in events if e.get("event") == "signed_out"] == ["failed"],
                 what="the signed_out event with failed")
        wait_for(lambda: "revoking the grant at the provider failed: HTTP 503" in self.tokend.log(),
                 what="the warning")
        # No answer at all (the request times out at integration.request_timeout_ms): failed, no status.
        self.fake.fail_revocation("timeout")
        result = self.typed.sign_out(other)
        self.assertTrue(result.cleared)
        self.assertEqual((result.revocation, result.status), ("failed", None))
        self.assertTrue(result.reason)
        self.assertFalse(self.typed.grant_status(other).context)
        log = self.tokend.log()
        for token in self.fake.tokens_of(me)["refresh"] + self.fake.tokens_of(other)["refresh"] + [CLIENT_SECRET]:
            self.assertNotIn(token, log)

    def test_a_provider_revoking_access_tokens_only_gets_the_access_token(self):
        """RFC 7009 2.2.1: a provider that answers 400 unsupported_token_type to the refresh token is
        sent the access token instead, once; the sign-out reports that token revoked."""
        me = self.users[0][0]
        self.assertEqual(self.flow(me, me)[0], 200)
        self.fake.fail_revocation("access_tokens_only")
        result = self.typed.sign_out(me)
        self.assertEqual((result.cleared, result.revocation), (True, "revoked"))
        self.assertEqual(result["revocation"]["token"], "access_token")
        self.assertEqual(self.fake.refused_revocations, [("refresh_token", "refresh")])
        self.assertEqual(self.fake.revocations, [("access_token", "access", "post")])
        self.assertEqual(self.fake.tokens_of(me)["access"], [])
        self.assertFalse(self.typed.grant_status(me).context)
        wait_for(lambda: "signed out, the grant revoked at the provider (access_token)" in self.tokend.log(),
                 what="the sign-out log line")
        log = self.tokend.log()
        for token in self.fake.tokens_of(me)["refresh"] + [CLIENT_SECRET]:
            self.assertNotIn(token, log)

    def test_sign_out_during_a_rotating_refresh_revokes_what_the_refresh_got(self):
        """A sign-out that arrives while a refresh is in flight (GitHub rotates: the refresh spends
        the stored refresh token and gets a new one) waits for it and revokes the new one; revoking
        the spent one would leave the grant alive at the provider."""
        me = self.users[0][0]
        self.assertEqual(self.flow(me, me)[0], 200)
        [spent] = self.fake.tokens_of(me)["refresh"]
        held, release = self.fake.hold_next_refresh()
        self.addCleanup(release.set)
        outcomes = {}
        refresh = threading.Thread(target=self.call, args=(outcomes, "refresh", lambda c: c.refresh(me)))
        refresh.start()
        self.assertTrue(held.wait(10), "the refresh reached the fake")
        [rotated] = self.fake.tokens_of(me)["refresh"]
        self.assertNotEqual(rotated, spent, "the fake rotated already; tokend has not heard")
        sign_out = threading.Thread(target=self.call, args=(outcomes, "sign_out", lambda c: c.sign_out(me)))
        sign_out.start()
        # Release once the sign-out waits for the refresh, or (without the single flight) is done.
        wait_for(lambda: "clear waits for the refresh in flight" in self.tokend.log() or not sign_out.is_alive(),
                 what="the sign-out to wait for the refresh")
        release.set()
        refresh.join(30)
        sign_out.join(30)
        self.assertFalse(refresh.is_alive() or sign_out.is_alive())
        result = outcomes["sign_out"]
        self.assertEqual((result.cleared, result.revocation), (True, "revoked"))
        # The rotated refresh token was revoked, and with it the grant; the refreshed context did not come back.
        self.check_grant_gone(me)
        log = self.tokend.log()
        for token in [spent, rotated, CLIENT_SECRET]:
            self.assertNotIn(token, log)

    def test_a_context_set_after_a_sign_out_during_a_refresh_is_kept(self):
        """A sign-out, then a set_user_context, both arriving while a refresh is in flight: they
        wait for it and then go in the order they came, so the context set last is kept (the
        clear does not delete what the later write stored, nor revoke it)."""
        me = self.users[0][0]
        self.assertEqual(self.flow(me, me)[0], 200)
        copy = {"user_id": me, "tokens": self.typed.get_user_context(me).tokens.to_json()}
        held, release = self.fake.hold_next_refresh()
        self.addCleanup(release.set)
        outcomes = {}
        threads = [threading.Thread(target=self.call, args=(outcomes, "refresh", lambda c: c.refresh(me)))]
        threads[0].start()
        self.assertTrue(held.wait(10), "the refresh reached the fake")
        # Each one is sent once the one before waits for the refresh: the arrival order is certain.
        for name, op, waits in [("sign_out", lambda c: c.sign_out(me), "clear waits for the refresh in flight"),
                                ("set", lambda c: c.set_user_context(me, copy, force=True),
                                 "context write waits for the refresh in flight")]:
            threads.append(threading.Thread(target=self.call, args=(outcomes, name, op)))
            threads[-1].start()
            wait_for(lambda: waits in self.tokend.log() or not threads[-1].is_alive(),
                     what=f"the {name} to wait for the refresh")
        release.set()
        for thread in threads:
            thread.join(30)
            self.assertFalse(thread.is_alive())
        self.assertEqual((outcomes["sign_out"].cleared, outcomes["sign_out"].revocation), (True, "revoked"))
        self.assertNotIsInstance(outcomes["set"], str, outcomes["set"])
        self.assertTrue(self.typed.grant_status(me).context, "the context set after the sign-out was lost")
        self.assertEqual(self.typed.get_user_context(me).tokens.access_token, copy["tokens"]["access_token"])

    def ctl(self, *args):
        return subprocess.run([TOKENCTL, "--socket", self.tokend.socket, *args], capture_output=True, text=True,
                              timeout=30)

    def test_tokenctl_sign_out_and_grant_status(self):
        me, other = self.users[0][0], self.users[1][0]
        self.assertEqual(self.flow(me, me)[0], 200)
        self.fake.add_users([(other, "hubot")])
        self.assertEqual(self.flow(other, other)[0], 200)
        out = self.ctl("grant-status", me)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertTrue(out.stdout.startswith("working (github)"), out.stdout)
        status = json.loads(self.ctl("--json", "grant-status", me).stdout)
        self.assertEqual((status["ok"], status["result"]["refreshable"]), (True, True))
        out = self.ctl("sign-out", me)
        self.assertEqual((out.returncode, out.stdout.strip()), (0, "signed out; the grant is revoked at the provider"))
        self.assertEqual(self.ctl("grant-status", me).stdout.strip(), "no context (github): the user must authorize")
        # A failed revocation: the context is cleared, the result printed, exit 1.
        self.fake.fail_revocation(503)
        out = self.ctl("--json", "sign-out", other)
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertEqual(json.loads(out.stdout)["result"],
                         {"cleared": True, "revocation": {"outcome": "failed", "status": 503,
                                                          "reason": "HTTP 503 temporarily_unavailable"}})
        out = self.ctl("sign-out", "--no-revoke", other)
        self.assertEqual((out.returncode, out.stdout.strip()), (0, "there was no context"))
        self.assertEqual(self.ctl("grant-status").returncode, 2)

    def test_status_after_expiry_and_after_a_dead_grant(self):
        me = self.users[0][0]
        self.assertEqual(self.flow(me, me)[0], 200)
        # The access token expired (written so: a context with a refresh token would be refreshed
        # at once; that case is unit-tested in core/grant_revocation_test): not valid, and without
        # a refresh token the user must authorize again.
        context = self.typed.get_user_context(me)
        expired = {"user_id": me, "tokens": {**context.tokens.to_json(), "expires_at": "2020-01-01T00:00:00+00:00",
                                             "refresh_token": None}}
        self.typed.set_user_context("583231-expired", {**expired, "user_id": "583231-expired"}, force=True)
        status = self.typed.grant_status("583231-expired")
        self.assertEqual((status.context, status.access_token_valid, status.access_token_fresh, status.refreshable,
                          status.reauth_required), (True, False, False, False, True))
        self.assertTrue(self.typed.grant_status(me).working)
        # The user withdraws the app: the next refresh finds the grant dead.
        self.fake.revoke_user(me)
        with self.assertRaises(TokendError):
            self.client.refresh(me)
        status = self.typed.grant_status(me)
        self.assertTrue(status.context)
        self.assertEqual((status.access_token_valid, status.refreshable, status.reauth_required, status.working),
                         (False, False, True, False))
        # Sign-out of a dead grant: nothing left to revoke.
        result = self.typed.sign_out(me)
        self.assertEqual((result.cleared, result.revocation), (True, "no_token"))
        self.assertEqual(self.fake.revocations, [])


class RevocationOfUnsavedTokens(PresetCase):
    """A sign-out while a refresh's rotated tokens wait unsaved (the store would not take them):
    those are the live grant, so they are the ones revoked."""
    shape = "github"
    users = Revocation.users
    overrides = Revocation.overrides
    faulty_store = True
    # A long backoff: the unsaved tokens wait for their retry while the test signs out.
    extra_config = "refresh:\n  retry_base_ms: 60000\n  retry_cap: 120\n"

    def test_sign_out_revokes_the_unsaved_rotated_refresh_token(self):
        me = self.users[0][0]
        self.assertEqual(self.flow(me, me)[0], 200)
        [spent] = self.fake.tokens_of(me)["refresh"]
        open(self.flag, "w").close()
        with self.assertRaises(TokendError) as raised:
            self.client.refresh(me)
        self.assertEqual(raised.exception.code, "store_unavailable")
        [rotated] = self.fake.tokens_of(me)["refresh"]
        self.assertNotEqual(rotated, spent, "the grant rotated")
        os.unlink(self.flag)
        result = self.typed.sign_out(me)
        self.assertEqual((result.cleared, result.revocation), (True, "revoked"))
        Revocation.check_grant_gone(self, me)
        log = self.tokend.log()
        for token in [spent, rotated, CLIENT_SECRET]:
            self.assertNotIn(token, log)


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
    overrides = ("jwks_uri: {url}/oauth2/v3/certs", "revocation: {{url: \"{url}/revoke\"}}")

    def test_sign_out_revokes_the_grant_at_google(self):
        """The preset's revocation endpoint (pointed at the fake's /revoke): the refresh token revoked,
        the grant gone at Google, the context cleared; again: nothing to revoke."""
        me = self.users[0]
        self.assertEqual(self.flow(me[0], me[0])[0], 200)
        tokens = self.fake.tokens_of(me[0])
        self.assertEqual(len(tokens["refresh"]), 1)
        result = self.typed.sign_out(me[0])
        self.assertEqual((result.cleared, result.revocation), (True, "revoked"))
        self.assertEqual(self.fake.revocations, [("refresh_token", "refresh")])
        self.assertEqual((self.provider_requests("revoke"), self.provider_requests("jwks")), (1, 1))
        self.assertEqual(self.provider_requests("identity"), 0, "the id_token is the identity: no request")
        self.assertEqual(self.fake.tokens_of(me[0]), {"access": [], "refresh": []}, "the whole grant ended")
        with self.assertRaises(TokendError) as raised:
            self.client.get_token(me[0])
        self.assertEqual(raised.exception.code, "not_found")
        again = self.typed.sign_out(me[0])
        self.assertEqual((again.cleared, again.revocation), (False, "no_token"))
        # Google answers 400 invalid_token for a token it no longer knows: failed, cleared all the same.
        self.assertEqual(self.flow(me[0], me[0])[0], 200)
        self.fake.revoke_user(me[0])
        result = self.typed.sign_out(me[0])
        self.assertEqual((result.cleared, result.revocation, result.status), (True, "failed", 400))
        self.assertEqual(result.reason, "HTTP 400 invalid_token")
        log = self.tokend.log()
        for token in tokens["access"] + tokens["refresh"] + [CLIENT_SECRET]:
            self.assertNotIn(token, log)

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


class Slack(PresetCase):
    """Slack OAuth v2 user tokens with token rotation: user_scope, the token under authed_user,
    every answer HTTP 200 with ok, identity from auth.test, messages with chat.postMessage."""
    shape = "slack"
    fake_class = FakeSlack
    scopes = "[chat:write, users:read]"
    users = (("U0G9QF9C6", "ana"), ("U061F7AUR", "ben"))
    bot_token = True

    def test_flow_identity_rotation_dead_grant_and_messages(self):
        me, other = self.users
        flow = self.client.start_flow(me[0])
        params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(flow["auth_url"]).query))
        self.assertEqual(params["user_scope"], "chat:write,users:read")
        self.assertNotIn("scope", params, "Slack's scope asks for a bot token")
        # The right user: stored (the token from authed_user), and told through the bot.
        status, body = self.flow(me[0], me[0])
        self.assertEqual(status, 200, body)
        first = self.client.get_token(me[0])["access_token"]
        self.assertEqual(self.fake.tokens_of(me[0])["access"], [first])
        self.assertTrue(first.startswith("xoxe.xoxp-"))
        wait_for(lambda: any(channel == me[0] and "authenticated" in text for channel, text in self.fake.messages),
                 what="the chat.postMessage to the user")
        # The metrics name each request's role, not Webex's paths: auth.test is the identity check.
        self.assertEqual(self.provider_requests("token"), 1)
        self.assertEqual(self.provider_requests("identity"), 1)
        wait_for(lambda: self.provider_requests("message") == 1, what="the message counted")
        # The wrong user (auth.test names another): nothing stored, the page names the account.
        self.check_wrong_user(me, other)
        # Two rotations: each spends the refresh token the previous one stored.
        self.check_two_refreshes(me[0], first, old_access_dies=True)
        (_, issued), (used, _) = self.fake.refreshes
        # The user removed the app: ok:false token_revoked is a dead grant, and the bot tells the user.
        self.fake.revoke_user(me[0])
        with self.assertRaises(TokendError) as raised:
            self.client.refresh(me[0])
        self.assertEqual(raised.exception.code, "reauth_required")
        self.assertIn(("token", "refresh_token", "dead"), self.fake.requests)
        self.assertEqual(self.client.stats()["users_reauth_required"], 1)
        wait_for(lambda: any(channel == me[0] and "authorize me again" in text for channel, text in self.fake.messages),
                 what="the reauthorization message")
        status, body = self.flow(me[0], me[0])
        self.assertEqual(status, 200, body)
        self.assertEqual(self.client.stats()["users_reauth_required"], 0)
        log = self.tokend.log()
        for token in self.fake.tokens_of(me[0])["access"] + self.fake.tokens_of(me[0])["refresh"] + \
                [used, issued, CLIENT_SECRET, self.fake.bot_token]:
            self.assertNotIn(token, log)

    def test_a_transient_error_is_retried_not_a_dead_grant(self):
        """ok:false with an error outside the dead-grant list (ratelimited) keeps the grant."""
        me = self.users[0]
        self.assertEqual(self.flow(me[0], me[0])[0], 200)
        self.fake.fail_token_once("ratelimited")
        with self.assertRaises(TokendError) as raised:
            self.client.refresh(me[0])
        self.assertNotEqual(raised.exception.code, "reauth_required")
        self.assertTrue(self.typed.grant_status(me[0]).refreshable, "the refresh token is kept")
        fresh = self.client.refresh(me[0])["access_token"]
        self.assertEqual(self.fake.tokens_of(me[0])["access"], [fresh])


class SlackMessageErrors(PresetCase):
    """chat.postMessage answers HTTP 200 with ok: false when it posted nothing: such a message is
    counted and logged as failed, and only ratelimited and service_unavailable are sent again
    (internal_error and fatal_error may have posted it already)."""
    shape = "slack"
    fake_class = FakeSlack
    scopes = "[chat:write, users:read]"
    users = Slack.users
    bot_token = True

    def bot_messages(self):
        return self.client.stats()["bot_messages"]

    def test_ok_false_is_a_failed_message_and_only_the_retryable_errors_are_retried(self):
        me = self.users[0][0]
        # internal_error: failed, not retried, not posted.
        self.fake.fail_messages(["internal_error"])
        self.assertEqual(self.flow(me, me)[0], 200)
        wait_for(lambda: self.bot_messages()["failed"] == 1, what="the message counted as failed")
        self.assertEqual(self.bot_messages()["sent"], 0)
        self.assertEqual(self.fake.message_attempts, 1, "internal_error is not retried")
        self.assertEqual(self.fake.messages, [])
        wait_for(lambda: "bot message not delivered after 1 attempts: ok is not true: internal_error" in self.tokend.log(),
                 what="the warning")
        # ratelimited, then service_unavailable: sent again each time, and posted the third time.
        self.fake.fail_messages(["ratelimited", "service_unavailable"])
        self.assertEqual(self.flow(me, me)[0], 200)
        wait_for(lambda: self.bot_messages()["sent"] == 1, what="the message sent after two retries")
        self.assertEqual(self.bot_messages()["failed"], 1)
        self.assertEqual(self.fake.message_attempts, 4)
        self.assertEqual([channel for channel, _ in self.fake.messages], [me])
        # An error of the bot's own making (a user it may not message): failed at once.
        self.fake.fail_messages(["channel_not_found"])
        self.assertEqual(self.flow(me, me)[0], 200)
        wait_for(lambda: self.bot_messages()["failed"] == 2, what="the second failure")
        self.assertEqual((self.bot_messages()["sent"], self.fake.message_attempts), (1, 5))
        log = self.tokend.log()
        for token in self.fake.tokens_of(me)["access"] + self.fake.tokens_of(me)["refresh"] + \
                [CLIENT_SECRET, self.fake.bot_token]:
            self.assertNotIn(token, log)


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
