"""TokendClient against the real daemon and the fake provider: every
operation's typed result, the errors by code, and grant-safe writes."""

import datetime
import threading
import unittest
import urllib.parse

from pyharness import Tokend, context_json, http_get, start_fake, stop_and_check, wait_for
from tokend_client import (AccessToken, Event, Flow, NotFoundError, BadRequestError, Ping, ReauthRequiredError,
                          RedirectResult, SetResult, Stats, TokendClient, Tokens, UserContext, UsersPage)


class ClientCase(unittest.TestCase):
    extra_config = ""

    def setUp(self):
        self.fake = start_fake()
        self.tokend = Tokend(self.fake, extra_config=self.extra_config).start()
        self.client = TokendClient(self.tokend.socket, timeout=20)
        self.addCleanup(self.client.close)

    def tearDown(self):
        stop_and_check(self)

    def complete_flow(self, user_id, pkce=True):
        """The bot's path: start a flow, the person consents, the redirect
        reaches the bot, which hands code and state to process_redirect."""
        flow = self.client.start_flow(user_id, pkce=pkce)
        query = urllib.parse.parse_qs(self.tokend.authorize(flow.auth_url, {"user_id": user_id}))
        self.assertEqual(query["state"], [flow.flow_id])
        return flow, self.client.process_redirect(query["state"][0], query["code"][0])


class Operations(ClientCase):
    def test_ping(self):
        ping = self.client.ping()
        self.assertIsInstance(ping, Ping)
        self.assertEqual(ping.protocol, 1)
        self.assertEqual(ping["protocol"], 1)  # the dict view of 0.1 still reads

    def test_a_flow_then_tokens_refresh_and_stats(self):
        flow, result = self.complete_flow("alice")
        self.assertIsInstance(flow, Flow)
        self.assertIsInstance(flow.expires_at, datetime.datetime)
        self.assertIn("code_challenge=", flow.auth_url)
        self.assertIsInstance(result, RedirectResult)
        self.assertTrue(result.authenticated, result)
        self.assertEqual(result.status, "authenticated")
        self.assertTrue(result.message)

        token = self.client.get_token("alice")
        self.assertIsInstance(token, AccessToken)
        self.assertEqual(token.user_id, "alice")
        self.assertGreater(token.remaining, 3600)
        self.assertNotIn(token.access_token, repr(token), "a token in repr()")
        refreshed = self.client.refresh("alice")
        self.assertNotEqual(refreshed.access_token, token.access_token)

        context = self.client.get_user_context("alice")
        self.assertIsInstance(context, UserContext)
        self.assertEqual(context.tokens.access_token, refreshed.access_token)
        self.assertIsNone(context.tokens.refresh_token, "withheld outside refresh_token_readers")
        self.assertNotIn(refreshed.access_token, repr(context))

        stats = self.client.stats()
        self.assertIsInstance(stats, Stats)
        self.assertEqual((stats.users, stats.flows.started, stats.flows.completed), (1, 1, 1))
        self.assertEqual(stats.refreshes.succeeded, 1)
        self.assertEqual(stats.store.plugin, "yaml")
        self.assertTrue(stats.store.healthy)
        self.assertGreaterEqual(stats.requests["get_token"], 1)

    def test_a_failed_redirect_says_why(self):
        flow = self.client.start_flow("alice")
        result = self.client.process_redirect(flow.flow_id, "not-a-code")
        self.assertFalse(result.authenticated)
        self.assertEqual(result.status, "provider_error")
        self.assertEqual(self.client.process_redirect(flow.flow_id, "again").status, "unknown_flow")

    def test_contexts_typed_in_and_out(self):
        self.assertIsNone(self.client.get_user_context("u1"))
        tokens = Tokens(access_token="A1", expires_in=3600, refresh_token="R1", token_type="Bearer", scope="s")
        result = self.client.set_user_context("u1", UserContext(user_id="u1", tokens=tokens))
        self.assertIsInstance(result, SetResult)
        self.assertIsNone(result.cleared)
        read = self.client.get_user_context("u1")
        self.assertEqual(read.tokens.access_token, "A1")
        self.assertGreater(read.tokens.remaining, 3500, "expires_in became expires_at")
        self.client.set_user_context("u2", context_json("u2", access="A2"))  # a plain dict works too
        self.assertEqual(self.client.get_token("u2").access_token, "A2")
        page = self.client.list_users(limit=1)
        self.assertIsInstance(page, UsersPage)
        self.assertEqual(len(page.users), 1)
        self.assertIsNotNone(page.next)
        self.assertEqual(sorted(self.client.all_users(page_size=1)), ["u1", "u2"])
        self.assertTrue(self.client.clear_user_context("u1"))
        self.assertFalse(self.client.clear_user_context("u1"))
        self.assertIsNone(self.client.get_user_context("u1"))
        # grant_status and sign_out (the webex preset has no revocation endpoint).
        status = self.client.grant_status("u2")
        self.assertEqual((status.context, status.access_token_valid, status.refreshable, status.reauth_required,
                          status.working, status.provider), (True, True, True, False, True, "webex"))
        self.assertNotIn("A2", repr(status.raw))
        signed_out = self.client.sign_out("u2")
        self.assertEqual((signed_out.cleared, signed_out.revocation, signed_out.revoked), (True, "not_supported", False))
        self.assertFalse(self.client.grant_status("u2").context)
        self.assertEqual((self.client.sign_out("u2", revoke=False).cleared, self.client.sign_out("u2", revoke=False).revocation),
                         (False, None))

    def test_errors_by_code(self):
        with self.assertRaises(NotFoundError) as raised:
            self.client.get_token("nobody")
        self.assertEqual(raised.exception.code, "not_found")
        with self.assertRaises(BadRequestError) as raised:
            self.client.list_users(limit=0)
        self.assertEqual(raised.exception.code, "bad_request")
        with self.assertRaises(BadRequestError):
            self.client.json.call("no_such_op")
        # the connection stays usable after error answers
        self.assertEqual(self.client.ping().protocol, 1)
        self.assertEqual(self.client.json.connections_opened, 1)

    def test_a_revoked_grant_is_reauth_required(self):
        self.complete_flow("alice")
        self.fake.revoke_user("alice")
        with self.assertRaises(ReauthRequiredError):
            self.client.refresh("alice")

    def test_flow_maintenance(self):
        self.client.start_flow("alice")
        results = []
        # A sweep of tokend's own (at start, after start_flow) may be running: then ran is false.
        wait_for(lambda: results.append(self.client.flow_maintenance(force=True)) or results[-1].ran,
                 what="a forced sweep")
        self.assertEqual(results[-1].deleted, [], "a fresh flow is kept")

    def test_watch_yields_typed_events(self):
        events = []
        watcher = TokendClient(self.tokend.socket)

        def watch():
            for event in watcher.watch("u1"):
                events.append(event)

        thread = threading.Thread(target=watch)
        thread.start()
        wait_for(lambda: self.client.stats().watchers == 1, what="the watcher")
        self.client.set_user_context("u1", context_json("u1"))
        self.client.set_user_context("u1", None)
        wait_for(lambda: len(events) == 2, what="two events")
        watcher.close()  # ends the iterator
        thread.join(10)
        self.assertFalse(thread.is_alive())
        self.assertTrue(all(isinstance(e, Event) for e in events))
        self.assertEqual([(e.event, e.user_id) for e in events], [("context_set", "u1"), ("context_cleared", "u1")])
        self.assertIsInstance(events[0].at, datetime.datetime)


class WithoutPkce(ClientCase):
    def test_a_flow_without_pkce_for_a_self_built_url(self):
        flow, result = self.complete_flow("alice", pkce=False)
        self.assertNotIn("code_challenge", flow.auth_url)
        self.assertTrue(result.authenticated, result)
        self.assertEqual(self.client.stats().flows.started_without_pkce, 1)
        self.assertIn("without PKCE (legacy caller)", self.tokend.log())


class AuthLinks(ClientCase):
    def test_a_link_starts_a_fresh_flow_when_opened(self):
        link = self.client.auth_link("alice")
        self.assertGreater(link.expires_at, datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1))
        target = urllib.parse.urlsplit(link.url)
        status, headers, _ = http_get(self.tokend.port, target.path + "?" + target.query)
        self.assertEqual(status, 302)
        self.assertTrue(headers["Location"].startswith(self.fake.url + "/v1/authorize?"), headers["Location"])
        self.assertEqual(self.client.stats().flows.started, 1)


class GrantSafeWrites(ClientCase):
    """docs/protocol.md: a context read without its refresh token and
    written back keeps the stored one; a stale copy does not roll tokens back."""

    def test_read_modify_write_keeps_the_grant(self):
        self.complete_flow("alice")
        context = self.client.get_user_context("alice")
        self.assertIsNone(context.tokens.refresh_token)
        result = self.client.set_user_context("alice", context)
        self.assertEqual((result.tokens, result.refresh_token), ("written", "kept"))
        self.assertTrue(self.client.refresh("alice").access_token, "the grant survived the write-back")

    def test_a_stale_copy_keeps_the_newer_tokens_unless_forced(self):
        self.complete_flow("alice")
        stale = self.client.get_user_context("alice")
        fresh = self.client.refresh("alice")
        result = self.client.set_user_context("alice", stale)
        self.assertTrue(result.kept_newer, result)
        self.assertEqual(self.client.get_token("alice").access_token, fresh.access_token)
        forced = self.client.set_user_context("alice", stale, force=True)
        self.assertEqual(forced.tokens, "written")
        self.assertEqual(self.client.get_token("alice").access_token, stale.tokens.access_token)

    def test_clearing_the_refresh_token_is_explicit(self):
        self.complete_flow("alice")
        context = self.client.get_user_context("alice")
        result = self.client.set_user_context("alice", context, clear_refresh_token=True)
        self.assertEqual(result.refresh_token, "cleared")
        with self.assertRaises(ReauthRequiredError):
            self.client.refresh("alice")


if __name__ == "__main__":
    unittest.main()
