"""Links that outlive a flow (issue 11 item 8) against the real daemon and the
fake provider: auth_link, GET and HEAD /auth, expiry and tampering (checked with
links signed here, independently of tokend's code), the key file, the re-auth
message, tokenctl."""

import datetime
import os
import shutil
import stat
import tempfile
import time
import unittest
import urllib.parse

from bot_support import Raw, RawTokendCase, authorize, sign_link, tokenctl
from harness import Tokend, http_get, http_head, start_fake, wait_for


class LinkTest(RawTokendCase):

    def key(self):
        with open(os.path.join(self.tokend.dir, "state", "link.key"), "rb") as f:
            return f.read().rstrip(b"\n")

    def target(self, url):
        """The link's path and query, replayed onto tokend's real port (the
        configured redirect URL, which the link's URL derives from, is never dialed)."""
        parts = urllib.parse.urlsplit(url)
        return parts.path + "?" + parts.query

    def open_link(self, url):
        return http_get(self.tokend.port, self.target(url))

    def follow(self, location, user_id="alice"):
        """The provider's consent, then the browser back at tokend's /redirect."""
        status, query = authorize(self.fake, location, {"user_id": user_id})
        self.assertEqual(status, 302, query)
        return http_get(self.tokend.port, "/redirect?" + query)

    def stats(self):
        return self.raw.ok("stats")


class Issued(LinkTest):
    def test_a_link_starts_a_fresh_flow_and_finishes_it(self):
        before = datetime.datetime.now(datetime.timezone.utc)
        link = self.raw.ok("auth_link", user_id="alice")
        self.assertEqual(set(link), {"url", "expires_at"})
        self.assertTrue(link["url"].startswith("http://127.0.0.1:9/auth?"), link["url"])  # beside the redirect URL
        expires = datetime.datetime.fromisoformat(link["expires_at"])
        self.assertAlmostEqual((expires - before).total_seconds(), 7 * 86400, delta=60)
        self.assertEqual(self.stats()["flows"]["started"], 0, "issuing a link starts nothing")

        status, headers, _ = self.open_link(link["url"])
        self.assertEqual(status, 302)
        location = headers["Location"]
        self.assertTrue(location.startswith(self.fake.url + "/v1/authorize?"), location)
        params = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
        self.assertEqual(params["code_challenge_method"], ["S256"])  # PKCE on
        status, _, body = self.follow(location)
        self.assertEqual(status, 200, body)
        self.assertIn("Authenticated", body)
        self.assertTrue(self.raw.ok("get_token", user_id="alice")["access_token"])
        stats = self.stats()
        self.assertEqual(stats["links"], {"issued": 1, "opened": 1, "expired": 0, "invalid": 0})
        self.assertEqual(stats["flows"]["completed"], 1)
        signature = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(link["url"]).query))["s"]
        self.assertNotIn(signature, self.tokend.log(), "the link's signature is not logged")
        self.assertRegex(self.tokend.log(), r"user alice: flow \S+ started from an auth link")

    def test_head_checks_the_link_and_starts_nothing(self):
        link = self.raw.ok("auth_link", user_id="alice")
        status, _, body = http_head(self.tokend.port, self.target(link["url"]))
        self.assertEqual(status, 200)
        self.assertEqual(body, b"")
        self.assertEqual(self.stats()["flows"]["started"], 0)
        self.assertEqual(self.stats()["pending_flows"], 0)

    def test_a_link_opened_twice_starts_two_flows(self):
        link = self.raw.ok("auth_link", user_id="alice")
        first = self.open_link(link["url"])[1]["Location"]
        second = self.open_link(link["url"])[1]["Location"]
        state = lambda url: urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["state"][0]  # noqa: E731
        self.assertNotEqual(state(first), state(second))
        self.assertEqual(self.stats()["pending_flows"], 2)
        self.assertEqual(self.follow(second)[0], 200)
        self.assertEqual(self.follow(first)[0], 200)

    def test_the_identity_check_binds_the_grant_to_the_links_user(self):
        link = self.raw.ok("auth_link", user_id="alice")
        location = self.open_link(link["url"])[1]["Location"]
        status, _, body = self.follow(location, user_id="bob")  # bob signs in on alice's link
        self.assertEqual(status, 403, body)
        self.assertIn("Wrong account", body)
        self.assertIsNone(self.raw.ok("get_user_context", user_id="alice")["user_context"])
        self.assertIsNone(self.raw.ok("get_user_context", user_id="bob")["user_context"])

    def test_links_survive_a_restart_with_the_key_kept_in_the_state_directory(self):
        path = os.path.join(self.tokend.dir, "state", "link.key")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertGreaterEqual(len(self.key()), 32)
        # Published whole under its name (written beside it, then linked): 32 random bytes in hex, nothing left over.
        with open(path, "rb") as f:
            self.assertRegex(f.read(), rb"^[0-9a-f]{64}\n$")
        self.assertEqual([name for name in os.listdir(os.path.dirname(path)) if name.startswith("link.key")],
                         ["link.key"])
        link = self.raw.ok("auth_link", user_id="alice")
        self.raw.close()
        self.assertEqual(self.tokend.stop(), 0)
        self.tokend._log.close()
        open(self.tokend.log_path, "wb").close()  # start() waits for a fresh "running" line
        self.tokend.start()
        self.raw = Raw(self.tokend.socket)
        self.assertEqual(self.open_link(link["url"])[0], 302)

    def test_tokenctl_prints_the_link(self):
        out = tokenctl(self.tokend.socket, "auth-link", "alice")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertTrue(out.stdout.strip().startswith("http://127.0.0.1:9/auth?u="), out.stdout)
        self.assertEqual(len(out.stdout.strip().splitlines()), 1)
        self.assertIn("valid until", out.stderr)
        self.assertEqual(self.open_link(out.stdout.strip())[0], 302)
        self.assertEqual(tokenctl(self.tokend.socket, "auth-link").returncode, 2)

    def test_bad_requests(self):
        for params in ({}, {"user_id": ""}, {"user_id": 5}, {"user_id": "a\nb"}):
            self.assertEqual(self.raw.error("auth_link", **params)["code"], "bad_request", params)


class Refused(LinkTest):
    def assert_page(self, query, status, title):
        code, headers, body = http_get(self.tokend.port, "/auth?" + query)
        self.assertEqual(code, status, body)
        self.assertIn(title, body)
        self.assertEqual(headers.get("Cache-Control"), "no-store")
        self.assertNotIn("Location", headers)

    def test_an_expired_link_gets_a_page_and_starts_nothing(self):
        self.assert_page(sign_link(self.key(), "alice", int(time.time()) - 5), 410, "Link expired")
        self.assertEqual(self.stats()["flows"]["started"], 0)
        self.assertEqual(self.stats()["links"]["expired"], 1)

    def test_a_link_signed_here_is_accepted(self):
        # The format is what docs/protocol.md says: an independent signer agrees.
        code, headers, _ = http_get(self.tokend.port, "/auth?" + sign_link(self.key(), "alice", int(time.time()) + 600))
        self.assertEqual(code, 302)

    def test_tampered_foreign_and_broken_links_get_a_page_and_start_nothing(self):
        key = self.key()
        good = dict(urllib.parse.parse_qsl(sign_link(key, "alice", int(time.time()) + 600)))
        bob = dict(urllib.parse.parse_qsl(sign_link(key, "bob", int(time.time()) + 600)))
        cases = {
            "another user's id": dict(good, u=bob["u"]),
            "a later expiry": dict(good, e=str(int(good["e"]) + 86400)),
            "a flipped signature": dict(good, s=("A" if good["s"][0] != "A" else "B") + good["s"][1:]),
            "no signature": {"u": good["u"], "e": good["e"]},
            "another key": dict(urllib.parse.parse_qsl(sign_link(b"k" * 32, "alice", int(time.time()) + 600))),
        }
        for label, fields in cases.items():
            with self.subTest(label):
                self.assert_page(urllib.parse.urlencode(fields), 400, "Invalid link")
        self.assert_page("", 400, "Invalid link")
        self.assert_page("u=%zz", 400, "Invalid link")
        self.assertEqual(self.stats()["flows"]["started"], 0)
        self.assertEqual(self.stats()["links"]["invalid"], len(cases) + 2)
        self.assertIn("auth link refused: bad signature", self.tokend.log())

    def test_other_methods_are_refused(self):
        import http.client
        connection = http.client.HTTPConnection("127.0.0.1", self.tokend.port, timeout=10)
        connection.request("POST", "/auth?" + sign_link(self.key(), "alice", int(time.time()) + 600), body=b"")
        response = connection.getresponse()
        self.assertEqual(response.status, 405)
        connection.close()
        self.assertEqual(self.stats()["flows"]["started"], 0)


class ReauthMessage(LinkTest):
    def test_the_reauth_message_carries_a_link_not_a_flow(self):
        issued = self.fake.issue_tokens("alice")
        self.raw.ok("set_user_context", user_id="alice", user_context={"user_id": "alice", "tokens": {
            "access_token": issued["access_token"], "refresh_token": issued["refresh_token"],
            "expires_at": "2099-01-01T00:00:00+00:00", "token_type": "Bearer"}})
        self.fake.revoke_user("alice")
        self.assertEqual(self.raw.error("refresh", user_id="alice")["code"], "reauth_required")
        message = wait_for(lambda: [m for m in self.fake.state()["messages"] if "authorize me again" in
                                      m.get("markdown", "")], what="the reauth message")[0]
        self.assertEqual(message["toPersonId"], "alice")
        url = next(word for word in message["markdown"].split() if word.startswith("http://127.0.0.1:9/auth?"))
        # No flow waits behind the message: the link starts one when opened, however late.
        self.assertEqual(self.stats()["pending_flows"], 0)
        self.assertEqual(self.stats()["links"]["issued"], 1)
        status, headers, _ = self.open_link(url)
        self.assertEqual(status, 302)
        status, _, body = self.follow(headers["Location"])
        self.assertEqual(status, 200, body)
        self.assertTrue(self.raw.ok("get_token", user_id="alice")["access_token"])


class SharedKey(unittest.TestCase):
    """Two processes (as with a shared Redis store) given the same links.key_file
    accept each other's links; a key too short is refused at start."""

    def setUp(self):
        self.fake = start_fake()
        self.dir = tempfile.mkdtemp(prefix="tokend-key-", dir="/tmp")
        self.key_path = os.path.join(self.dir, "shared.key")
        with open(self.key_path, "w") as f:
            f.write("ab" * 32 + "\n")
        os.chmod(self.key_path, 0o600)
        self.started = []

    def tearDown(self):
        for tokend in self.started:
            tokend.close()
        self.fake.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def start(self, key_path):
        tokend = Tokend(self.fake, extra_config=f"links:\n  key_file: {key_path}\n  ttl: 3600\n")
        self.started.append(tokend)
        return tokend.start()

    def test_a_shared_key_file(self):
        first, second = self.start(self.key_path), self.start(self.key_path)
        raw = Raw(first.socket)
        link = raw.ok("auth_link", user_id="alice")
        raw.close()
        expires = datetime.datetime.fromisoformat(link["expires_at"])
        self.assertAlmostEqual((expires - datetime.datetime.now(datetime.timezone.utc)).total_seconds(), 3600,
                               delta=60)
        parts = urllib.parse.urlsplit(link["url"])
        self.assertEqual(http_get(second.port, parts.path + "?" + parts.query)[0], 302)
        self.assertFalse(os.path.exists(os.path.join(first.dir, "state", "link.key")))

    def test_a_short_key_is_refused_at_start_with_its_name(self):
        short = os.path.join(self.dir, "short.key")
        with open(short, "w") as f:
            f.write("too short\n")
        with self.assertRaises(RuntimeError) as raised:
            self.start(short)
        self.assertIn(short, str(raised.exception))
        self.assertIn("shorter than 32 bytes", str(raised.exception))
        self.assertNotIn("too short", str(raised.exception), "the key itself is never shown")


class NoIntegration(unittest.TestCase):
    def test_links_need_an_integration(self):
        tokend = Tokend(None).start()
        try:
            raw = Raw(tokend.socket)
            error = raw.error("auth_link", user_id="alice")
            raw.close()
            self.assertEqual(error["code"], "bad_request")
            self.assertIn("integration", error["message"])
            status, _, body = http_get(tokend.port, "/auth?u=YQ&e=1&s=x")
            self.assertEqual(status, 503, body)
        finally:
            self.assertEqual(tokend.stop(), 0)
            tokend.close()


if __name__ == "__main__":
    unittest.main()
