"""Flows without PKCE for legacy callers (issue 11 item 6): a bot that builds
the authorization URL itself from the flow id, as wxc_sdk's
Integration.auth_url(state=flow_id) does, finishes its flow; tokend's own URL
still carries PKCE; the fake provider refuses a mismatch either way."""

import urllib.parse
import unittest

from bot_support import RawTokendCase, authorize, complete_flow, tokenctl
from harness import CLIENT_ID, http_get

SCOPES = "spark:people_read spark:messages_write"  # the harness's integration
REDIRECT_URI = "http://127.0.0.1:9/redirect"


def self_built_url(fake, flow_id):
    """What wxc_sdk's Integration.auth_url(state=flow_id) builds: no challenge."""
    query = urllib.parse.urlencode({"client_id": CLIENT_ID, "response_type": "code", "redirect_uri": REDIRECT_URI,
                                    "scope": SCOPES, "state": flow_id})
    return f"{fake.url}/v1/authorize?{query}"


class PkceTest(RawTokendCase):

    def finish(self, url, user_id="alice"):
        status, query = authorize(self.fake, url, {"user_id": user_id})
        self.assertEqual(status, 302, query)
        return http_get(self.tokend.port, "/redirect?" + query)

    def exchange_fields(self):
        return self.fake.state()["last_token_request"]


class LegacyCaller(PkceTest):
    def test_a_self_built_url_completes_a_flow_without_pkce(self):
        flow = self.raw.ok("start_flow", user_id="alice", pkce=False)
        self.assertEqual(set(flow), {"flow_id", "auth_url", "expires_at"})
        self.assertNotIn("code_challenge", flow["auth_url"])
        status, _, body = self.finish(self_built_url(self.fake, flow["flow_id"]))
        self.assertEqual(status, 200, body)
        self.assertIn("Authenticated", body)
        self.assertIs(self.exchange_fields()["code_verifier"], False)
        self.assertTrue(self.raw.ok("get_token", user_id="alice")["access_token"])
        self.assertEqual(self.raw.ok("stats")["flows"]["started_without_pkce"], 1)
        self.assertRegex(self.tokend.log(), r"user alice: flow \S+ started without PKCE \(legacy caller\)")

    def test_tokends_url_of_such_a_flow_works_too(self):
        flow = self.raw.ok("start_flow", user_id="alice", pkce=False)
        status, _, body = self.finish(flow["auth_url"])
        self.assertEqual(status, 200, body)

    def test_with_pkce_tokends_url_still_works(self):
        flow, (status, _, body) = complete_flow(self.tokend, self.raw, "alice")
        self.assertEqual(status, 200, body)
        params = urllib.parse.parse_qs(urllib.parse.urlsplit(flow["auth_url"]).query)
        self.assertEqual(params["code_challenge_method"], ["S256"])
        self.assertIs(self.exchange_fields()["code_verifier"], True)
        flow, (status, _, body) = complete_flow(self.tokend, self.raw, "bob", pkce=True)
        self.assertEqual(status, 200, body)
        self.assertEqual(self.raw.ok("stats")["flows"]["started_without_pkce"], 0)

    def test_a_self_built_url_for_a_pkce_flow_fails_at_the_provider(self):
        # tokend sends its verifier; the provider saw no challenge: a downgrade, refused.
        flow = self.raw.ok("start_flow", user_id="alice")
        status, _, body = self.finish(self_built_url(self.fake, flow["flow_id"]))
        self.assertNotEqual(status, 200, body)
        self.assertEqual(self.fake.state()["token_requests"]["authorization_code"].get("ok", 0), 0)
        self.assertIsNone(self.raw.ok("get_user_context", user_id="alice")["user_context"])

    def test_a_challenge_without_a_verifier_fails_at_the_provider(self):
        # A PKCE-less flow whose URL carries someone else's challenge: tokend sends no verifier.
        flow = self.raw.ok("start_flow", user_id="alice", pkce=False)
        pkce = self.raw.ok("start_flow", user_id="bob")
        challenge = urllib.parse.parse_qs(urllib.parse.urlsplit(pkce["auth_url"]).query)["code_challenge"][0]
        url = self_built_url(self.fake, flow["flow_id"]) + "&" + urllib.parse.urlencode(
            {"code_challenge": challenge, "code_challenge_method": "S256"})
        status, _, body = self.finish(url)
        self.assertNotEqual(status, 200, body)
        self.assertIsNone(self.raw.ok("get_user_context", user_id="alice")["user_context"])

    def test_pkce_must_be_a_boolean(self):
        for value in ("no", 0, "false"):
            error = self.raw.error("start_flow", user_id="alice", pkce=value)
            self.assertEqual(error["code"], "bad_request")
            self.assertIn("pkce", error["message"])

    def test_tokenctl_no_pkce(self):
        out = tokenctl(self.tokend.socket, "start-flow", "alice", "--no-pkce")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertTrue(out.stdout.startswith(self.fake.url + "/v1/authorize?"), out.stdout)
        self.assertNotIn("code_challenge", out.stdout)
        self.assertIn("code_challenge", tokenctl(self.tokend.socket, "start-flow", "alice").stdout)


class NotAllowed(PkceTest):
    extra_config = "flows:\n  allow_without_pkce: false\n"

    def test_a_flow_without_pkce_is_refused_with_a_reason(self):
        error = self.raw.error("start_flow", user_id="alice", pkce=False)
        self.assertEqual(error["code"], "bad_request")
        self.assertIn("allow_without_pkce", error["message"])
        self.assertEqual(self.raw.ok("stats")["flows"]["started"], 0)
        # Flows with PKCE are unaffected.
        self.assertIn("code_challenge", self.raw.ok("start_flow", user_id="alice", pkce=True)["auth_url"])


if __name__ == "__main__":
    unittest.main()
