"""Issue 13's audit findings, each against the real daemon: JSON nested too
deep (in the store at start, on the control socket), a stored context under
another user's key, HEAD /redirect, the token endpoint's error text, the
provider's email in the Markdown bot message, and the OAuth state in the log."""

import hashlib
import json
import os
import socket
import sys
import unittest

from harness import ROOT, Tokend, TokendCase, http_head, recv_line, start_fake, user_context, wait_for
from tokend_client import TokendError

sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
from redis_server import RedisServer  # noqa: E402

DEEP = 100000  # the audit's crash: copying or dumping recursed once per level


def raw_exchange(socket_path, line):
    """Sends one request line and reads one answer line, as any local process could."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(30)
        conn.connect(socket_path)
        conn.sendall(line)
        answer = recv_line(conn)
    return json.loads(answer)


class OnRedis(unittest.TestCase):
    """Values another writer left in a shared Redis."""

    def setUp(self):
        self.redis = RedisServer().start()
        self.fake = start_fake()
        self.tokend = Tokend(self.fake, store="redis",
                             store_options={"redis_url": f'"{self.redis.unix_url}"', "command_timeout_ms": 300,
                                            "connect_timeout_ms": 300})

    def tearDown(self):
        code = self.tokend.stop()
        log = self.tokend.log()
        self.tokend.close()
        self.fake.stop()
        self.redis.stop()
        self.assertEqual(code, 0, log)

    def put(self, user_id, text, publish=False):
        self.redis.command("SET", f"user-{user_id}", text)
        self.redis.command("SADD", "users", f"user-{user_id}")
        if publish:  # "{16-character origin}:{P|D}{u|f}:{key}", as another tokend announces a write
            self.redis.command("PUBLISH", "tokend-changes", f"outsider00000000:Pu:{user_id}")

    def test_a_deeply_nested_stored_value_is_skipped_at_start(self):
        self.put("deep", "[" * DEEP)
        # Balanced and otherwise valid: the old daemon parsed it and crashed copying the extra field.
        deep2 = json.dumps(user_context("deep2"))[:-1] + ',"x":' + "[" * DEEP + "]" * DEEP + "}"
        self.put("deep2", deep2)
        self.put("fine", json.dumps(user_context("fine", access="AT-fine")))
        self.tokend.start()
        log = self.tokend.log()
        self.assertIn("loaded 1 user contexts (2 unreadable, skipped)", log)
        self.assertIn("user deep: stored context is unreadable (user context nests deeper than 64 levels)", log)
        client = self.tokend.client()
        self.assertEqual(client.get_token("fine")["access_token"], "AT-fine")
        # A deep value arriving later, announced, is unreadable too; the cached context is kept.
        self.put("fine", '{"user_id":"fine","x":' + "[" * DEEP + "]" * DEEP + "}", publish=True)
        wait_for(lambda: "user fine: changed in the store but unreadable (user context nests deeper" in
                 self.tokend.log(), what="the deep change to be read")
        self.assertEqual(client.get_token("fine")["access_token"], "AT-fine")

    def test_a_context_under_another_users_key_is_never_served(self):
        # The audit: {"user_id":"bob"} under user-alice served alice's token as bob's.
        self.put("alice", json.dumps(user_context("bob", access="AT-of-alices-entry")))
        self.put("carol", json.dumps(user_context("carol", access="AT-carol")))
        self.tokend.start()
        log = self.tokend.log()
        self.assertIn("loaded 1 user contexts (1 unreadable, skipped)", log)
        self.assertIn("user alice: stored context names another user_id; ignored and left in the store", log)
        client = self.tokend.client()
        for user_id in ("alice", "bob"):
            with self.assertRaises(TokendError) as raised:
                client.get_token(user_id)
            self.assertEqual(raised.exception.code, "not_found", user_id)
        # On a change notification: carol's entry now names dave.
        self.put("carol", json.dumps(user_context("dave", access="AT-forged")), publish=True)
        wait_for(lambda: "user carol: changed in the store but names another user_id; cached context kept" in
                 self.tokend.log(), what="the mismatched change to be read")
        self.assertEqual(client.get_token("carol")["access_token"], "AT-carol")
        with self.assertRaises(TokendError) as raised:
            client.get_token("dave")
        self.assertEqual(raised.exception.code, "not_found")
        self.assertEqual(json.loads(self.redis.command("GET", "user-carol"))["user_id"], "dave", "left in the store")


class DeepControlLine(TokendCase):
    extra_config = "control:\n  max_line_bytes: 4194304\n"

    def test_a_deeply_nested_request_is_bad_request_and_the_daemon_lives(self):
        for depth in (60000, 65):
            nested = "[" * depth + "]" * depth
            line = ('{"id":7,"op":"set_user_context","params":{"user_id":"a","user_context":{"user_id":"a",'
                    '"tokens":{"access_token":"x"},"extra":' + nested + "}}}\n").encode()
            answer = raw_exchange(self.tokend.socket, line)
            self.assertFalse(answer["ok"], answer)
            self.assertEqual(answer["error"]["code"], "bad_request", answer)
            self.assertIn("nests deeper than 64 levels", answer["error"]["message"])
        # Still there, and nothing was written.
        with self.assertRaises(TokendError) as raised:
            self.client.get_token("a")
        self.assertEqual(raised.exception.code, "not_found")
        # Within the limit is fine.
        context = user_context("a", access="AT-a")
        context["extra"] = json.loads("[" * 60 + "]" * 60)
        self.client.set_user_context("a", context)
        self.assertEqual(self.client.get_token("a")["access_token"], "AT-a")


class HeadRedirect(TokendCase):
    def code_exchanges(self):
        return sum(self.fake.state()["token_requests"].get("authorization_code", {}).values())

    def test_head_takes_nothing_and_the_get_after_it_completes_the_flow(self):
        flow = self.client.start_flow("alice")
        query = self.tokend.authorize(flow["auth_url"], {"user_id": "alice"})
        for _ in range(2):
            status, headers, body = http_head(self.tokend.port, "/redirect?" + query)
            self.assertEqual(status, 405)
            self.assertEqual(headers.get("Allow"), "GET")
            self.assertEqual(body, b"")
        self.assertEqual(self.code_exchanges(), 0)
        self.assertEqual(self.client.stats()["flows"]["completed"], 0)
        status, _, body = self.tokend.redirect(query)
        self.assertEqual(status, 200, body)
        self.assertIn("Authenticated", body)
        self.assertEqual(self.code_exchanges(), 1)
        self.assertTrue(self.client.get_token("alice")["access_token"])


class ForgedProviderText(TokendCase):
    fake_options = {"access_lifetime": 3600}
    extra_config = "refresh:\n  retry_base_ms: 60000\n"

    def test_a_forged_error_code_reaches_neither_the_log_nor_the_answer(self):
        tokens = self.fake.issue_tokens("alice")
        self.fake.add_faults("access_token", [{"status": 400, "error": "x\nforged line", "count": 20}])
        self.client.set_user_context("alice", user_context("alice", tokens=tokens, expires_in=-5))
        with self.assertRaises(TokendError) as raised:
            self.client.refresh("alice")
        self.assertEqual(raised.exception.code, "provider_error")
        message = str(raised.exception) + json.dumps(getattr(raised.exception, "message", ""))
        self.assertNotIn("forged", message)
        self.assertNotIn("\n", getattr(raised.exception, "message", ""))
        wait_for(lambda: "refresh failed: HTTP 400" in self.tokend.log(), what="the refusal in the log")
        log = self.tokend.log()
        self.assertNotIn("forged", log)
        self.assertIn("refresh failed: HTTP 400 (not a passing failure", log)

    def test_the_providers_email_is_escaped_in_the_markdown_message(self):
        self.fake.add_users([{"id": "mallory", "email": "[verify](http://evil.example/)\n# *now*",
                              "name": "Mallory"}])
        _, _, (status, _, body) = self.tokend.complete_flow("alice", as_user="mallory")
        self.assertEqual(status, 403, body)
        messages = wait_for(lambda: [m for m in self.fake.state()["messages"] if m["toPersonId"] == "alice"],
                            what="the bot's message to alice")
        self.assertTrue(messages[0]["markdown"].startswith(
            "tokens for wrong user: \\[verify\\]\\(http\\://evil.example/\\) \\# \\*now\\*"), messages[0]["markdown"])


class StateNotLogged(TokendCase):
    def test_no_log_line_holds_a_flow_id(self):
        _, query, (status, _, body) = self.tokend.complete_flow("alice")
        self.assertEqual(status, 200, body)
        completed = self.client.start_flow("bob")  # one that stays pending
        unknown = query.replace("state=", "state=X")  # a state nobody issued
        self.tokend.redirect(unknown)
        state = dict(p.split("=", 1) for p in query.split("&"))["state"]
        wait_for(lambda: "ended unknown_flow" in self.tokend.log(), what="the unknown flow's line")
        log = self.tokend.log()
        for flow_id in (state, completed["flow_id"]):
            self.assertNotIn(flow_id, log)
            self.assertIn(hashlib.sha256(flow_id.encode()).hexdigest()[:8], log)
        self.assertIn(f"flow {hashlib.sha256(state.encode()).hexdigest()[:8]} completed", log)


if __name__ == "__main__":
    unittest.main()
