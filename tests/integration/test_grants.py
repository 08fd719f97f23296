"""Grant-safe set_user_context (issue 11 item 1) through the protocol and
tokenctl, against the real daemon and the fake provider: a withheld refresh
token written back is kept, clearing is explicit, a stale copy never rolls the
tokens back (newer grant wins, unless forced), and a write that meets a refresh
in flight is decided after it."""

import json
import os
import unittest

from bot_support import Raw, complete_flow, tokenctl
from harness import Tokend, faulty_store_tokend, http_get, start_fake, stop_and_check, user_context, wait_for


class GrantTest(unittest.TestCase):
    extra_config = ""
    store = "yaml"

    def setUp(self):
        self.fake = start_fake()
        self.tokend = Tokend(self.fake, extra_config=self.extra_config, store=self.store).start()
        self.raw = Raw(self.tokend.socket)

    def tearDown(self):
        self.raw.close()
        stop_and_check(self)
        self.assertEqual(self.fake.state()["internal_errors"], 0)

    def authenticated(self, user_id="alice"):
        _, (status, _, body) = complete_flow(self.tokend, self.raw, user_id)
        self.assertEqual(status, 200, body)
        return self.raw.ok("get_user_context", user_id=user_id)["user_context"]

    def wait_refresh_started(self):
        """Until the refresh is in flight (within the provider's 1 s delay), or
        done already on a slow machine: the write's answer is the same either way."""
        def started():
            refreshes = self.raw.ok("stats")["refreshes"]
            return refreshes["in_flight"] == 1 or refreshes["succeeded"] >= 1
        wait_for(started, what="the refresh to start")

    def refresh_requests(self):
        return sum(self.fake.state()["token_requests"].get("refresh_token", {}).values())


class WithheldRefreshToken(GrantTest):
    def test_a_read_written_back_keeps_the_grant(self):
        context = self.authenticated()
        self.assertIsNone(context["tokens"]["refresh_token"])  # withheld: not a refresh_token reader
        context["bot_state"] = {"greeted": True}
        result = self.raw.ok("set_user_context", user_id="alice", user_context=context)
        self.assertEqual(result, {"tokens": "written", "refresh_token": "kept"})
        # The grant is still there: a forced refresh works, and the extra field stayed.
        refreshed = self.raw.ok("refresh", user_id="alice")
        self.assertNotEqual(refreshed["access_token"], context["tokens"]["access_token"])
        again = self.raw.ok("get_user_context", user_id="alice")["user_context"]
        self.assertEqual(again["bot_state"], {"greeted": True})
        self.assertIsNotNone(again["tokens"]["refresh_token_expires_at"])
        self.assertIn("refresh token kept", self.tokend.log())

    def test_an_absent_refresh_token_keeps_it_too(self):
        context = self.authenticated()
        del context["tokens"]["refresh_token"]
        del context["tokens"]["refresh_token_expires_at"]
        self.assertEqual(self.raw.ok("set_user_context", user_id="alice", user_context=context)["refresh_token"],
                         "kept")
        self.raw.ok("refresh", user_id="alice")

    def test_clearing_is_explicit(self):
        context = self.authenticated()
        result = self.raw.ok("set_user_context", user_id="alice", user_context=context, clear_refresh_token=True)
        self.assertEqual(result, {"tokens": "written", "refresh_token": "cleared"})
        self.assertEqual(self.raw.error("refresh", user_id="alice")["code"], "reauth_required")
        # The access token still works until it expires.
        self.assertEqual(self.raw.ok("get_token", user_id="alice")["access_token"],
                         context["tokens"]["access_token"])
        self.assertIsNone(self.raw.ok("get_user_context", user_id="alice")["user_context"]["tokens"]
                          ["refresh_token_expires_at"])

    def test_a_context_without_any_refresh_token_answers_none(self):
        context = {"user_id": "carol", "tokens": {"access_token": "C-AT", "expires_at": "2099-01-01T00:00:00+00:00"}}
        self.assertEqual(self.raw.ok("set_user_context", user_id="carol", user_context=context),
                         {"tokens": "written", "refresh_token": "none"})

    def test_clearing_the_whole_context_answers_as_before(self):
        self.authenticated()
        self.assertEqual(self.raw.ok("set_user_context", user_id="alice", user_context=None), {"cleared": True})
        self.assertEqual(self.raw.ok("set_user_context", user_id="alice", user_context=None), {"cleared": False})


class BadWrites(GrantTest):
    def test_contradictions_and_wrong_types_are_refused_and_change_nothing(self):
        context = self.authenticated()
        before = self.raw.ok("get_user_context", user_id="alice")
        written = dict(context, tokens=dict(context["tokens"], refresh_token="SECRET-RT"))
        error = self.raw.error("set_user_context", user_id="alice", user_context=written, clear_refresh_token=True)
        self.assertEqual(error["code"], "bad_request")
        self.assertIn("clear_refresh_token", error["message"])
        self.assertNotIn("SECRET", error["message"])
        for flag, value in (("clear_refresh_token", "yes"), ("force", 1), ("force", "true")):
            error = self.raw.error("set_user_context", user_id="alice", user_context=context, **{flag: value})
            self.assertEqual(error["code"], "bad_request")
            self.assertIn(flag, error["message"])
        self.assertEqual(self.raw.ok("get_user_context", user_id="alice"), before)
        self.raw.ok("refresh", user_id="alice")  # the grant is intact

    def test_null_flags_are_the_defaults(self):
        context = self.authenticated()
        self.assertEqual(self.raw.ok("set_user_context", user_id="alice", user_context=context,
                                     clear_refresh_token=None, force=None)["refresh_token"], "kept")


class StaleCopies(GrantTest):
    def test_a_copy_read_before_a_refresh_does_not_roll_back(self):
        old = self.authenticated()
        fresh = self.raw.ok("refresh", user_id="alice")
        old["note"] = "written from a stale copy"
        result = self.raw.ok("set_user_context", user_id="alice", user_context=old)
        self.assertEqual(result, {"tokens": "kept_newer", "refresh_token": "kept"})
        self.assertEqual(self.raw.ok("get_token", user_id="alice")["access_token"], fresh["access_token"])
        now = self.raw.ok("get_user_context", user_id="alice")["user_context"]
        self.assertEqual(now["note"], "written from a stale copy")  # the rest of the write applies
        self.raw.ok("refresh", user_id="alice")  # the rotated refresh token is the one kept

    def test_force_rolls_back_on_purpose(self):
        old = self.authenticated()
        self.raw.ok("refresh", user_id="alice")
        result = self.raw.ok("set_user_context", user_id="alice", user_context=old, force=True)
        self.assertEqual(result, {"tokens": "written", "refresh_token": "kept"})
        self.assertEqual(self.raw.ok("get_token", user_id="alice")["access_token"], old["tokens"]["access_token"])

    def test_a_newer_grant_wins(self):
        self.authenticated()
        issued = self.fake.issue_tokens("alice")  # the bot ran a flow of its own, later
        tokens = {"access_token": issued["access_token"], "refresh_token": issued["refresh_token"],
                  "expires_at": "2099-01-01T00:00:00+00:00", "token_type": "Bearer"}
        result = self.raw.ok("set_user_context", user_id="alice",
                             user_context={"user_id": "alice", "tokens": tokens})
        self.assertEqual(result, {"tokens": "written", "refresh_token": "written"})
        self.assertEqual(self.raw.ok("get_token", user_id="alice")["access_token"], issued["access_token"])


class RefreshInFlight(GrantTest):
    def test_a_stale_write_during_a_refresh_is_decided_after_it(self):
        old = self.authenticated()
        # The provider takes its time (under the 1.5 s request timeout): the
        # refresh is in flight when the write arrives.
        self.fake.add_faults("access_token", [{"delay": 1.0}])
        refresher = Raw(self.tokend.socket)
        try:
            refresh_id = refresher.send("refresh", user_id="alice")
            self.wait_refresh_started()
            write_id = self.raw.send("set_user_context", user_id="alice", user_context=old)
            written = self.raw.receive()
            refreshed = refresher.receive()
        finally:
            refresher.close()
        self.assertEqual((refreshed["id"], written["id"]), (refresh_id, write_id))
        self.assertTrue(refreshed["ok"], refreshed)
        self.assertEqual(written["result"], {"tokens": "kept_newer", "refresh_token": "kept"})
        # The refreshed tokens stayed, and their refresh token still works (no rollback to a rotated one).
        self.assertEqual(self.raw.ok("get_token", user_id="alice")["access_token"],
                         refreshed["result"]["access_token"])
        self.raw.ok("refresh", user_id="alice")
        self.assertEqual(self.fake.state()["reuse_detected"]["refresh_token"], 0)

    def test_a_current_write_during_a_refresh_keeps_the_refresh(self):
        current = self.authenticated()
        self.fake.add_faults("access_token", [{"delay": 1.0}])
        refresher = Raw(self.tokend.socket)
        try:
            refresher.send("refresh", user_id="alice")
            self.wait_refresh_started()
            current["seen"] = 1
            self.raw.send("set_user_context", user_id="alice", user_context=current)
            written = self.raw.receive()
            refreshed = refresher.receive()
        finally:
            refresher.close()
        # Written after the refresh: the copy is now older than the stored tokens.
        self.assertEqual(written["result"]["tokens"], "kept_newer")
        context = self.raw.ok("get_user_context", user_id="alice")["user_context"]
        self.assertEqual(context["tokens"]["access_token"], refreshed["result"]["access_token"])
        self.assertEqual(context["seen"], 1)


class PipelinedWrites(GrantTest):
    def test_writes_of_one_user_are_decided_one_after_the_other(self):
        old = self.authenticated()
        issued = self.fake.issue_tokens("alice")
        newer = {"user_id": "alice", "tokens": {"access_token": issued["access_token"],
                                                "refresh_token": issued["refresh_token"],
                                                "expires_at": "2099-01-01T00:00:00+00:00", "token_type": "Bearer"}}
        # Both in flight at once on one connection: the second sees the first's result.
        for _ in range(3):
            self.raw.send("set_user_context", user_id="alice", user_context=newer)
            self.raw.send("set_user_context", user_id="alice", user_context=old)
        answers = [self.raw.receive() for _ in range(6)]
        self.assertTrue(all(answer["ok"] for answer in answers), answers)
        self.assertEqual([answer["result"]["tokens"] for answer in answers],
                         ["written", "kept_newer"] * 3)
        self.assertEqual(self.raw.ok("get_token", user_id="alice")["access_token"], issued["access_token"])


class Tokenctl(GrantTest):
    def write(self, *flags, context):
        return tokenctl(self.tokend.socket, "set-context", "alice", "-", *flags, stdin=json.dumps(context))

    def test_set_context_flags_and_their_results(self):
        context = self.authenticated()
        out = self.write(context=context)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.strip(), "stored; tokens written, refresh token kept")
        out = self.write("--clear-refresh-token", context=context)
        self.assertEqual(out.stdout.strip(), "stored; tokens written, refresh token cleared")
        self.assertEqual(tokenctl(self.tokend.socket, "refresh", "alice").returncode, 4)  # reauth_required

    def test_force_and_json(self):
        old = self.authenticated()
        self.raw.ok("refresh", user_id="alice")
        out = self.write(context=old)
        self.assertEqual(out.stdout.strip(), "stored; tokens kept (the stored ones are newer), refresh token kept")
        out = tokenctl(self.tokend.socket, "--json", "set-context", "alice", "-", "--force", stdin=json.dumps(old))
        self.assertEqual(json.loads(out.stdout)["result"], {"tokens": "written", "refresh_token": "kept"})

    def test_a_contradiction_is_a_usage_error(self):
        context = self.authenticated()
        context["tokens"]["refresh_token"] = "RT"
        out = self.write("--clear-refresh-token", context=context)
        self.assertEqual(out.returncode, 2)
        self.assertIn("bad_request", out.stderr)


class SharedStoreLease(GrantTest):
    """With a store that has leases (memory here, as Redis), the write holds the
    user's lease; the grant rules are the same."""
    store = "memory"

    def test_the_rules_hold_with_leases(self):
        old = self.authenticated()
        self.assertEqual(self.raw.ok("set_user_context", user_id="alice", user_context=old)["refresh_token"], "kept")
        self.raw.ok("refresh", user_id="alice")
        self.assertEqual(self.raw.ok("set_user_context", user_id="alice", user_context=old)["tokens"], "kept_newer")
        self.raw.ok("refresh", user_id="alice")


class UnsavedRefresh(unittest.TestCase):
    """Refreshed tokens the store did not take yet (kept unsaved, the write
    retried later) count as the stored ones: a copy of the older tokens written
    meanwhile is stale, and the rotated grant survives it."""

    def setUp(self):
        self.fake = start_fake()
        # A long backoff: the unsaved tokens wait for their retry while the test writes.
        made = faulty_store_tokend(self.fake, extra_config="refresh:\n  retry_base_ms: 60000\n  retry_cap: 120\n")
        if made is None:
            self.fake.stop()
            self.skipTest("TOKEND_FAULTY_STORE not set (ctest sets it)")
        self.tokend, flag = made
        self.tokend.start()
        self.raw = Raw(self.tokend.socket)
        self.flag = flag

    def tearDown(self):
        self.raw.close()
        stop_and_check(self)
        self.assertEqual(self.fake.state()["internal_errors"], 0)

    def test_a_copy_written_while_refreshed_tokens_wait_unsaved_is_stale(self):
        issued = self.fake.issue_tokens("alice")
        old = user_context("alice", tokens=issued, expires_in=600)  # the provider's new ones last longer
        self.raw.ok("set_user_context", user_id="alice", user_context=old)
        open(self.flag, "w").close()
        self.assertEqual(self.raw.error("refresh", user_id="alice")["code"], "store_unavailable")
        self.assertEqual(self.fake.state()["token_requests"]["refresh_token"].get("ok"), 1, "the grant rotated")
        os.unlink(self.flag)
        written = self.raw.ok("set_user_context", user_id="alice", user_context=old)
        self.assertEqual(written, {"tokens": "kept_newer", "refresh_token": "kept"})
        current = self.raw.ok("get_token", user_id="alice")["access_token"]
        self.assertNotEqual(current, issued["access_token"])
        self.assertEqual(http_get(self.fake.port, "/v1/people/me", headers={"Authorization": "Bearer " + current})[0],
                         200)
        # The rotated refresh token is the one kept: the next refresh works.
        self.raw.ok("refresh", user_id="alice")
        self.assertEqual(self.fake.state()["reuse_detected"].get("refresh_token", 0), 0)


if __name__ == "__main__":
    unittest.main()
