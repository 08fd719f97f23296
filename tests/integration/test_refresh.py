"""Token lifecycle against the real daemon: refreshes ahead of expiry with no
reads at all, rotation, single flight, invalid_grant with its bot message and
new link, provider outages and recovery, an answer without refresh_token, and
a restart with overdue tokens under the concurrency cap. The fake provider
issues tokens that live a few seconds."""

import json
import os
import re
import sys
import threading
import time
import unittest

from harness import Tokend, FaultyStoreCase, TokendCase, all_at_once, http_get, start_fake, stop_and_check, user_context, wait_for
from tokend_client import TokendClient, TokendError

# Refresh at a quarter of the life left (at least 1 s before expiry), reads
# wait only in the last second, retries start at 100 ms.
SHORT_LIVED = """
refresh:
  margin: 1
  fraction: 0.25
  jitter: 0.1
  read_margin: 1
  retry_base_ms: 100
  retry_cap: 2
"""


def valid_at_provider(fake, access_token):
    """Whether the fake accepts the access token (GET /v1/people/me)."""
    return http_get(fake.port, "/v1/people/me", headers={"Authorization": "Bearer " + access_token})[0] == 200


def refresh_counts(fake):
    return fake.state()["token_requests"].get("refresh_token", {})


class RefreshTest(TokendCase):
    extra_config = SHORT_LIVED
    access_lifetime = 4
    store = "yaml"  # no lock capability: refreshes without a lease

    def setUp(self):
        self.fake_options = {"access_lifetime": self.access_lifetime}
        super().setUp()

    def tearDown(self):
        log = stop_and_check(self)
        if os.environ.get("TOKEND_TEST_SHOW_LOG"):
            print(log, file=sys.stderr)
        for secret in ("fake-webex-client-secret", "fake-webex-bot-token"):
            self.assertNotIn(secret, log)

    def authorized(self, user_id="alice"):
        _, _, (status, _, body) = self.tokend.complete_flow(user_id)
        self.assertEqual(status, 200, body)
        self.assertIn("Authenticated", body)

    def stored_tokens(self, user_id):
        with open(os.path.join(self.tokend.dir, "state", "users.yml")) as f:
            text = f.read()
        import yaml  # PyYAML, as the original read its file
        return yaml.safe_load(text)[user_id]["tokens"]


class Proactive(RefreshTest):
    def test_tokens_are_refreshed_before_expiry_without_any_read(self):
        self.authorized()
        # 4-second tokens, refreshed about a second before expiry, rotating
        # refresh tokens: three rounds with nobody reading.
        wait_for(lambda: self.client.stats()["refreshes"]["succeeded"] >= 3, 20, "three scheduled refreshes")
        state = self.fake.state()
        self.assertEqual(state["reuse_detected"].get("refresh_token", 0), 0, "a rotated refresh token was reused")
        self.assertEqual(state["active_grants"], 1)
        self.assertEqual(refresh_counts(self.fake).get("error", 0), 0)
        token = self.client.get_token("alice")
        self.assertTrue(valid_at_provider(self.fake, token["access_token"]))
        # Stored before handed out: the file holds what get_token answered (or newer).
        stats = self.client.stats()
        self.assertGreaterEqual(stats["refreshes"]["succeeded"], 3)
        self.assertEqual(stats["refreshes"]["scheduled"], 1)
        self.assertIsNotNone(stats["refreshes"]["next_deadline"])
        self.assertIn("token refreshed, valid until", self.tokend.log())


class StoredTokens(RefreshTest):
    """On the yaml store, whose file the test reads as the original would."""

    def test_stored_tokens_follow_every_refresh(self):
        self.authorized()
        wait_for(lambda: self.client.stats()["refreshes"]["succeeded"] >= 1, 10, "a scheduled refresh")
        before = self.client.get_token("alice")["access_token"]
        stored = self.stored_tokens("alice")["access_token"]
        after = self.client.get_token("alice")["access_token"]
        self.assertIn(stored, {before, after})  # a refresh may fall in between


class SingleFlight(RefreshTest):
    extra_config = SHORT_LIVED
    access_lifetime = 3600

    def test_hundred_readers_of_an_expired_token_make_one_token_request(self):
        tokens = self.fake.issue_tokens("alice")
        # The refresh takes a second at the provider, so every reader meets it in flight.
        self.fake.add_faults("access_token", [{"delay": 1.0}])
        self.client.set_user_context("alice", user_context("alice", tokens=tokens, expires_in=-10))
        results, errors = [], []

        def read():
            try:
                with TokendClient(self.tokend.socket, timeout=30) as own:
                    results.append(own.get_token("alice")["access_token"])
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)

        all_at_once([read] * 100)
        self.assertEqual(errors, [])
        self.assertEqual(len(results), 100)
        self.assertEqual(len(set(results)), 1, "every reader got the same token")
        self.assertNotEqual(results[0], tokens["access_token"], "an expired token was handed out")
        self.assertEqual(refresh_counts(self.fake), {"ok": 1, "error": 0, "fault": 0})


class ProactiveLeased(Proactive):
    """The same on the memory store, which has the lock capability: every
    refresh takes the user's lease and writes with its fencing token."""
    store = "memory"


class SingleFlightLeased(SingleFlight):
    store = "memory"


class Reauth(RefreshTest):
    def test_invalid_grant_tells_the_user_once_with_a_new_link(self):
        self.authorized()
        events = []
        watcher = TokendClient(self.tokend.socket, timeout=None)

        def watch():
            try:
                for event in watcher.watch("alice"):
                    events.append(event["event"])
            except Exception:  # noqa: BLE001 - the connection closes at the end
                pass

        threading.Thread(target=watch, daemon=True).start()
        wait_for(lambda: self.client.stats()["watchers"] == 1, 5, "the watcher")
        self.fake.revoke_user("alice")
        wait_for(lambda: "reauth_required" in events, 10, "the reauth_required event")
        messages = wait_for(lambda: [m for m in self.fake.state()["messages"] if "authorize me again" in m.get("markdown", "")],
                            10, "the reauthorization message")
        self.assertEqual(messages[0]["toPersonId"], "alice")
        # An auth link (docs/protocol.md, auth_link) beside the configured redirect URL.
        link = re.search(r"http://127\.0\.0\.1:9(/auth\?\S+?)\s", messages[0]["markdown"]).group(1)
        for _ in range(3):
            with self.assertRaises(TokendError) as raised:
                self.client.get_token("alice")
            self.assertEqual(raised.exception.code, "reauth_required")
        time.sleep(1.0)
        state = self.fake.state()
        self.assertEqual(len([m for m in state["messages"] if "authorize me again" in m.get("markdown", "")]), 1,
                         "the message is not repeated")
        self.assertEqual(refresh_counts(self.fake).get("error", 0), 1, "one refused refresh, no retries")
        stats = self.client.stats()
        self.assertEqual(stats["users_reauth_required"], 1)
        self.assertEqual(stats["refreshes"]["reauth_required"], 1)
        self.assertIsNone(self.stored_tokens("alice")["refresh_token"], "the dead grant is stored as such")
        # The link from the message works: opened (on tokend's real port) it
        # starts a flow and sends the browser to the provider; the state clears.
        status, headers, body = http_get(self.tokend.port, link)
        self.assertEqual(status, 302, body)
        query = self.tokend.authorize(headers["Location"], {"user_id": "alice"})
        status, _, body = self.tokend.redirect(query)
        self.assertEqual(status, 200, body)
        self.assertTrue(valid_at_provider(self.fake, self.client.get_token("alice")["access_token"]))
        self.assertEqual(self.client.stats()["users_reauth_required"], 0)
        watcher.close()


class Outage(RefreshTest):
    access_lifetime = 16
    extra_config = SHORT_LIVED.replace("fraction: 0.25", "fraction: 0.5")

    def test_outage_during_refresh_is_retried_with_backoff_and_recovers(self):
        self.authorized()
        first = self.client.get_token("alice")["access_token"]
        # The refresh is due after 8 s: two 503s and a 429 with Retry-After
        # come first; the old token is handed out meanwhile.
        self.fake.add_faults("access_token", [{"status": 503, "count": 2}, {"status": 429, "retry_after": 1}])
        seen = set()

        def recovered():
            seen.add(self.client.get_token("alice")["access_token"])  # still-valid token during the outage
            return self.client.stats()["refreshes"]["succeeded"] >= 1

        wait_for(recovered, 25, "the refresh after the outage")
        counts = refresh_counts(self.fake)
        self.assertEqual(counts.get("fault"), 3, counts)
        stats = self.client.stats()
        self.assertGreaterEqual(stats["refreshes"]["retried"], 3)
        self.assertGreaterEqual(stats["refreshes"]["failed"], 3)
        latest = self.client.get_token("alice")["access_token"]
        self.assertNotEqual(latest, first)
        self.assertTrue(valid_at_provider(self.fake, latest))
        self.assertLessEqual(seen, {first, latest})
        self.assertEqual(self.fake.state()["reuse_detected"].get("refresh_token", 0), 0)
        log = self.tokend.log()
        self.assertIn("next attempt in 1000 ms", log)  # the Retry-After
        self.assertNotIn(first, log)
        self.assertNotIn(latest, log)

    def test_provider_answers_garbage_then_recovers(self):
        tokens = self.fake.issue_tokens("alice")
        self.fake.add_faults("access_token", [{"garbage": True}, {"status": 500}])
        self.client.set_user_context("alice", user_context("alice", tokens=tokens, expires_in=-5))  # due at once
        wait_for(lambda: self.client.stats()["refreshes"]["succeeded"] == 1, 10, "recovery after garbage and 500")
        self.assertEqual(refresh_counts(self.fake).get("fault"), 2)


class ProviderTimeout(RefreshTest):
    """The retry after a timeout comes 1-2 s later (not 50-100 ms), so that
    "meanwhile" is long enough to observe on a loaded machine."""

    access_lifetime = 3600
    extra_config = SHORT_LIVED.replace("retry_base_ms: 100", "retry_base_ms: 2000")

    def test_a_timeout_is_retried_on_the_schedule(self):
        tokens = self.fake.issue_tokens("alice")
        # The provider swallows the first request (tokend gives up after 1.5 s).
        self.fake.add_faults("access_token", [{"hang": 2}])
        self.client.set_user_context("alice", user_context("alice", tokens=tokens, expires_in=600))
        with self.assertRaises(TokendError) as raised:
            self.client.refresh("alice")
        self.assertEqual(raised.exception.code, "provider_error")
        self.assertEqual(refresh_counts(self.fake).get("fault"), 1)
        # The still-valid token is served meanwhile; the retry comes on its own.
        self.assertEqual(self.client.get_token("alice")["access_token"], tokens["access_token"])
        wait_for(lambda: self.client.stats()["refreshes"]["succeeded"] == 1, 15, "the retry after the timeout")
        self.assertEqual(refresh_counts(self.fake).get("ok"), 1)


class MissingRefreshToken(RefreshTest):
    access_lifetime = 3600

    def test_an_answer_without_refresh_token_keeps_the_old_one(self):
        tokens = self.fake.issue_tokens("alice")
        answer = {"access_token": "AT-without-refresh-token", "expires_in": 3600, "token_type": "Bearer"}
        self.fake.add_faults("access_token", [{"status": 200, "body": json.dumps(answer)}])
        self.client.set_user_context("alice", user_context("alice", tokens=tokens, expires_in=-5))  # due at once
        wait_for(lambda: self.client.stats()["refreshes"]["succeeded"] == 1, 10, "the refresh")
        self.assertEqual(self.client.get_token("alice")["access_token"], "AT-without-refresh-token")
        self.assertEqual(self.stored_tokens("alice")["refresh_token"], tokens["refresh_token"])
        # The kept refresh token still works at the provider.
        refreshed = self.client.refresh("alice")["access_token"]
        self.assertTrue(valid_at_provider(self.fake, refreshed))


class StoreDownDuringRefresh(FaultyStoreCase):
    """New tokens the store will not take are kept, never handed out, and
    written once it is back, without asking the provider again (the old
    refresh token is spent by then)."""

    extra_config = SHORT_LIVED

    def test_refreshed_tokens_wait_for_the_store(self):
        tokens = self.fake.issue_tokens("alice")
        self.client.set_user_context("alice", user_context("alice", tokens=tokens, expires_in=600))
        open(self.flag, "w").close()
        with self.assertRaises(TokendError) as raised:
            self.client.refresh("alice")
        self.assertEqual(raised.exception.code, "store_unavailable")
        self.assertEqual(refresh_counts(self.fake).get("ok"), 1)  # the provider rotated the grant
        time.sleep(0.5)  # write retries fail meanwhile
        self.assertEqual(self.client.get_token("alice")["access_token"], tokens["access_token"],
                         "unsaved tokens are not handed out")
        self.assertGreaterEqual(self.client.stats()["refreshes"]["store_failures"], 2)
        os.unlink(self.flag)
        wait_for(lambda: self.client.get_token("alice")["access_token"] != tokens["access_token"], 10,
                 "the unsaved tokens to be stored")
        latest = self.client.get_token("alice")["access_token"]
        self.assertTrue(valid_at_provider(self.fake, latest))
        self.assertEqual(refresh_counts(self.fake).get("ok"), 1, "the provider was not asked again")
        self.assertEqual(self.fake.state()["reuse_detected"].get("refresh_token", 0), 0)
        self.assertIn("kept unsaved, write retried", self.tokend.log())


class UnconfirmedWriteDuringRefresh(FaultyStoreCase):
    """A write that lands but is reported failed (Redis with wait_replicas when
    no replica confirms it in time): the retry finds the new tokens stored and
    writes them again rather than adopt them, so they are handed out only once
    the store confirms them."""

    extra_config = SHORT_LIVED

    def test_tokens_a_failed_write_stored_are_served_only_once_confirmed(self):
        tokens = self.fake.issue_tokens("alice")
        self.client.set_user_context("alice", user_context("alice", tokens=tokens, expires_in=600))
        unconfirmed = os.path.join(self.tokend.dir, "store-unconfirmed")
        open(unconfirmed, "w").close()
        with self.assertRaises(TokendError) as raised:
            self.client.refresh("alice")
        self.assertEqual(raised.exception.code, "store_unavailable")
        # The retries find the new tokens stored and write them again; each
        # write is unconfirmed too, so they are still not handed out.
        wait_for(lambda: self.client.stats()["refreshes"]["store_failures"] >= 3, 20, "two retried writes")
        self.assertEqual(self.client.get_token("alice")["access_token"], tokens["access_token"],
                         "tokens no write confirmed were handed out")
        os.unlink(unconfirmed)
        wait_for(lambda: self.client.get_token("alice")["access_token"] != tokens["access_token"], 20,
                 "the confirmed write")
        self.assertTrue(valid_at_provider(self.fake, self.client.get_token("alice")["access_token"]))
        self.assertEqual(refresh_counts(self.fake).get("ok"), 1, "the provider was not asked again")


class Restart(unittest.TestCase):
    def test_overdue_tokens_are_refreshed_at_start_within_the_concurrency_cap(self):
        users = [f"user{i:02d}" for i in range(20)]
        fake = start_fake(users=[(u, u + "@example.com") for u in users])
        tokend = Tokend(fake, extra_config="refresh:\n  max_concurrent: 2\n  rate: 1000\n  burst: 1000\n")
        try:
            # The original's YAML file, every access token expired an hour ago.
            contexts = {u: user_context(u, tokens=fake.issue_tokens(u), expires_in=-3600) for u in users}
            os.makedirs(os.path.join(tokend.dir, "state"), exist_ok=True)
            with open(os.path.join(tokend.dir, "state", "users.yml"), "w") as f:
                json.dump(contexts, f)  # JSON is YAML
            fake.add_faults("access_token", [{"delay": 0.3, "count": 20}])
            started = time.monotonic()
            tokend.start()
            wait_for(lambda: refresh_counts(fake).get("ok", 0) == 20, 30, "20 refreshes")
            wait_for(lambda: tokend.client().stats()["refreshes"]["succeeded"] == 20, 10, "20 refreshes stored")
            elapsed = time.monotonic() - started
            # 20 requests of 0.3 s, two at a time: at least 3 s. All at once: 0.3 s.
            self.assertGreaterEqual(elapsed, 2.5)
            client = tokend.client()
            for u in users:
                token = client.get_token(u)["access_token"]
                self.assertNotEqual(token, contexts[u]["tokens"]["access_token"])
            self.assertEqual(client.stats()["refreshes"]["succeeded"], 20)
            self.assertEqual(tokend.stop(), 0)
        finally:
            tokend.close()
            fake.stop()


if __name__ == "__main__":
    unittest.main()
