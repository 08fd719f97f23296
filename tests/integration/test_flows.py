"""The OAuth flow end to end: real tokend binary, fake Webex, real sockets."""

import concurrent.futures
import os
import signal
import socket
import threading
import time
import unittest
import urllib.parse

from harness import Tokend, TokendCase, flow_log_id, http_get, start_fake, wait_for
from tokend_client import TokendError


class FlowTest(TokendCase):
    def tearDown(self):
        super().tearDown()
        self.assertEqual(self.fake.state()["internal_errors"], 0)

    def messages_to(self, user_id):
        return [m for m in self.fake.state()["messages"] if m["toPersonId"] == user_id]

    def code_exchanges(self):
        counts = self.fake.state()["token_requests"].get("authorization_code", {})
        return sum(counts.values())


class HappyPath(FlowTest):
    def test_full_flow_stores_the_context_and_tells_the_user(self):
        flow, query, (status, headers, body) = self.tokend.complete_flow("alice")
        self.assertEqual(status, 200, body)
        self.assertIn("Authenticated", body)
        self.assertEqual(headers.get("Cache-Control"), "no-store")
        self.assertEqual(headers.get("Referrer-Policy"), "no-referrer")
        self.assertTrue(headers.get("Content-Type", "").startswith("text/html"))
        # The URL is the original's plus PKCE.
        params = urllib.parse.parse_qs(urllib.parse.urlsplit(flow["auth_url"]).query)
        self.assertEqual(params["state"], [flow["flow_id"]])
        self.assertEqual(params["code_challenge_method"], ["S256"])
        self.assertEqual(params["response_type"], ["code"])
        self.assertGreaterEqual(len(flow["flow_id"]), 22)  # >= 128 bits

        token = self.client.get_token("alice")
        self.assertEqual(token["user_id"], "alice")
        self.assertTrue(token["access_token"])
        context = self.client.get_user_context("alice")
        self.assertEqual(context["user_id"], "alice")
        self.assertIsNone(context["tokens"]["refresh_token"])  # not for this caller
        self.assertEqual(context["tokens"]["token_type"], "Bearer")
        # The bot told alice, with the expiry.
        wait_for(lambda: self.messages_to("alice"), what="the bot's message to alice")
        messages = self.messages_to("alice")
        self.assertEqual(len(messages), 1)
        self.assertIn("authenticated", messages[0]["markdown"])
        self.assertIn(token["expires_at"], messages[0]["markdown"])
        # Stored in the original's YAML format.
        with open(os.path.join(self.tokend.dir, "state", "users.yml")) as f:
            stored = f.read()
        self.assertIn("alice", stored)
        self.assertEqual(self.code_exchanges(), 1)
        stats = self.client.stats()
        self.assertEqual(stats["flows"]["completed"], 1)
        self.assertEqual(stats["redirects"]["authenticated"], 1)

    def test_replayed_state_is_refused_and_exchanges_nothing(self):
        _, query, (status, _, _) = self.tokend.complete_flow("alice")
        self.assertEqual(status, 200)
        status, _, body = self.tokend.redirect(query)
        self.assertEqual(status, 404)
        self.assertIn("Unknown or used link", body)
        self.assertEqual(self.code_exchanges(), 1)

    def test_fifty_concurrent_redirects_with_one_state_exchange_one_code(self):
        flow = self.client.start_flow("alice")
        query = self.tokend.authorize(flow["auth_url"], {"user_id": "alice"})
        with concurrent.futures.ThreadPoolExecutor(50) as pool:
            statuses = list(pool.map(lambda _: self.tokend.redirect(query)[0], range(50)))
        self.assertEqual(statuses.count(200), 1, statuses)
        self.assertEqual(statuses.count(404), 49, statuses)
        self.assertEqual(self.code_exchanges(), 1)

    def test_wrong_user_stores_nothing_and_tells_the_user(self):
        _, _, (status, _, body) = self.tokend.complete_flow("alice", as_user="bob")
        self.assertEqual(status, 403)
        self.assertIn("bob@example.com", body)
        with self.assertRaises(TokendError) as raised:
            self.client.get_token("alice")
        self.assertEqual(raised.exception.code, "not_found")
        self.assertIsNone(self.client.get_user_context("bob"))
        wait_for(lambda: self.messages_to("alice"), what="the bot's message to alice")
        self.assertTrue(self.messages_to("alice")[0]["markdown"].startswith("tokens for wrong user: bob@example.com"))

    def test_denied_consent_consumes_the_flow_and_tells_the_user(self):
        flow = self.client.start_flow("alice")
        query = self.tokend.authorize(flow["auth_url"], {"deny": True})
        self.assertIn("error=access_denied", query)
        status, _, body = self.tokend.redirect(query)
        self.assertEqual(status, 403)
        self.assertIn("You declined", body)
        self.assertEqual(self.tokend.redirect(query)[0], 404)  # consumed
        self.assertEqual(self.code_exchanges(), 0)
        wait_for(lambda: self.messages_to("alice"), what="the bot's message to alice")
        self.assertEqual(len(self.messages_to("alice")), 1)

    def test_incomplete_or_repeated_parameters_are_bad_requests(self):
        flow = self.client.start_flow("alice")
        for query in ["", "code=abc", "state=" + flow["flow_id"], "code=a&code=b&state=" + flow["flow_id"],
                      "code=a&state=" + flow["flow_id"] + "&state=x"]:
            status, headers, body = self.tokend.redirect(query)
            self.assertEqual(status, 400, query)
            self.assertEqual(headers.get("Cache-Control"), "no-store")
        # The flow survived those: it still works once.
        query = self.tokend.authorize(flow["auth_url"], {"user_id": "alice"})
        self.assertEqual(self.tokend.redirect(query)[0], 200)

    def test_nothing_from_the_request_is_reflected_unescaped(self):
        status, _, body = self.tokend.redirect("code=%3Cscript%3E&state=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        self.assertEqual(status, 404)
        self.assertNotIn("<script>", body)
        status, _, body = self.tokend.redirect("error=%3Cscript%3E&state=x")
        self.assertNotIn("<script>", body)

    def test_healthz_and_unknown_paths(self):
        self.assertEqual(http_get(self.tokend.port, "/healthz")[0], 200)
        self.assertEqual(http_get(self.tokend.port, "/nope")[0], 404)

    def test_process_redirect_over_the_control_socket(self):
        flow = self.client.start_flow("alice")
        query = urllib.parse.parse_qs(self.tokend.authorize(flow["auth_url"], {"user_id": "alice"}))
        result = self.client.process_redirect(query["state"][0], query["code"][0])
        self.assertEqual(result["status"], "authenticated")
        self.assertTrue(self.client.get_token("alice")["access_token"])
        self.assertEqual(self.client.process_redirect(query["state"][0], query["code"][0])["status"], "unknown_flow")


class GracefulShutdown(FlowTest):
    def test_sigterm_lets_an_in_flight_redirect_finish(self):
        flow = self.client.start_flow("alice")
        query = self.tokend.authorize(flow["auth_url"], {"user_id": "alice"})
        self.fake.add_faults("people_me", [{"delay": 1}])  # the redirect is mid-flight for a second
        result = {}
        thread = threading.Thread(target=lambda: result.update(answer=self.tokend.redirect(query)))
        thread.start()
        wait_for(lambda: self.fake.state()["people_me_requests"] > 0, what="the redirect's people/me request",
                 interval=0.01)
        self.tokend.process.send_signal(signal.SIGTERM)
        thread.join(10)
        self.assertEqual(result["answer"][0], 200, result)
        self.assertEqual(self.tokend.process.wait(10), 0)
        with open(os.path.join(self.tokend.dir, "state", "users.yml")) as f:
            self.assertIn("alice", f.read())  # the store write finished too
        log = self.tokend.log()
        self.assertLess(log.index("SIGTERM received"), log.index("completed, tokens stored"))


class ExpiredFlows(FlowTest):
    extra_config = "flows:\n  ttl: 1\n  maintenance_interval: 3600\n"

    def test_expired_flow_is_refused_even_before_collection(self):
        flow = self.client.start_flow("alice")
        query = self.tokend.authorize(flow["auth_url"], {"user_id": "alice"})
        time.sleep(1.1)  # the daemon's clock cannot be moved from outside; the TTL is 1 s
        status, _, body = self.tokend.redirect(query)
        self.assertEqual(status, 410)
        self.assertIn("expired", body)
        self.assertEqual(self.code_exchanges(), 0)

    def test_flow_maintenance_deletes_expired_flows_and_reports_them(self):
        started = [self.client.start_flow(user)["flow_id"] for user in ("alice", "bob")]
        time.sleep(1.1)
        fresh = self.client.start_flow("alice")["flow_id"]
        result = self.client.flow_maintenance(force=True)
        self.assertTrue(result["ran"])
        deleted = {item["flow_id"]: item for item in result["deleted"]}
        self.assertEqual(set(deleted), set(started))
        self.assertEqual({item["user_id"] for item in deleted.values()}, {"alice", "bob"})
        self.assertNotIn(fresh, deleted)
        self.assertEqual(self.client.flow_maintenance()["ran"], False)  # not due again yet


class FlowTimer(FlowTest):
    """The maintenance timer on its own: nothing but its tick collects here (no
    flow_maintenance op is sent; the only check, start_flow's, runs before the
    flow expires)."""
    extra_config = "flows:\n  ttl: 1\n  maintenance_interval: 1\n"

    def test_the_timer_deletes_an_expired_flow_by_itself(self):
        flow = self.client.start_flow("alice")
        query = self.tokend.authorize(flow["auth_url"], {"user_id": "alice"})
        line = f"flow maintenance: deleted expired flow {flow_log_id(flow['flow_id'])} of user alice"
        wait_for(lambda: line in self.tokend.log(), what="the timer's sweep to delete the flow")
        # Gone from the store, not only refused as expired (410): the redirect finds no flow.
        status, _, body = self.tokend.redirect(query)
        self.assertEqual(status, 404, body)
        self.assertEqual(self.code_exchanges(), 0)
        # And the next tick sweeps again: a second flow goes the same way.
        second = self.client.start_flow("bob")["flow_id"]
        wait_for(lambda: f"deleted expired flow {flow_log_id(second)} of user bob" in self.tokend.log(),
                 what="a later tick to delete the second flow")


class ProviderFaults(FlowTest):
    def assert_flow_fails(self, endpoint, fault, expected_status=502):
        self.fake.add_faults(endpoint, [fault])
        _, _, (status, _, body) = self.tokend.complete_flow("alice")
        self.assertEqual(status, expected_status, (fault, body))
        with self.assertRaises(TokendError):
            self.client.get_token("alice")
        return body

    def test_token_endpoint_500(self):
        self.assert_flow_fails("access_token", {"status": 500})

    def test_token_endpoint_429_is_not_retried_with_the_same_code(self):
        self.assert_flow_fails("access_token", {"status": 429, "retry_after": 1})
        self.assertEqual(self.code_exchanges(), 1)

    def test_token_endpoint_garbage(self):
        self.assert_flow_fails("access_token", {"garbage": True})

    def test_token_endpoint_hangs(self):
        started = time.monotonic()
        self.assert_flow_fails("access_token", {"hang": 5})
        self.assertLess(time.monotonic() - started, 5)  # our 1.5 s timeout, not the hang

    def test_token_endpoint_invalid_grant(self):
        self.assert_flow_fails("access_token", {"error": "invalid_grant"})

    def test_people_me_failing_for_good(self):
        self.assert_flow_fails("people_me", {"status": 401, "count": 10})

    def test_people_me_transient_500_is_retried(self):
        self.fake.add_faults("people_me", [{"status": 503, "retry_after": 0}])
        _, _, (status, _, body) = self.tokend.complete_flow("alice")
        self.assertEqual(status, 200, body)
        self.assertEqual(self.fake.state()["people_me_requests"], 2)

    def test_bot_message_failure_does_not_fail_the_flow(self):
        self.fake.add_faults("messages", [{"status": 500, "count": 10}])
        _, _, (status, _, _) = self.tokend.complete_flow("alice")
        self.assertEqual(status, 200)
        self.assertTrue(self.client.get_token("alice")["access_token"])


class HostileHttp(FlowTest):
    def raw(self, payload, read_timeout=5):
        sock = socket.create_connection(("127.0.0.1", self.tokend.port), timeout=read_timeout)
        try:
            sock.sendall(payload)
            data = b""
            while True:
                try:
                    chunk = sock.recv(65536)
                except socket.timeout:
                    break
                if not chunk:
                    break
                data += chunk
            return data
        finally:
            sock.close()

    def status_of(self, payload):
        answer = self.raw(payload)
        return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.") else None

    def test_garbage_is_400(self):
        self.assertEqual(self.status_of(b"\x16\x03\x01 hello tls\r\n\r\n"), 400)

    def test_overlong_url_is_414(self):
        self.assertEqual(self.status_of(b"GET /redirect?" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"), 414)

    def test_too_many_headers_is_431(self):
        headers = b"".join(b"X-%d: y\r\n" % i for i in range(500))
        self.assertEqual(self.status_of(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n"), 431)

    def test_post_is_405(self):
        self.assertEqual(self.status_of(b"POST /redirect HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"), 405)

    def test_slow_request_is_408(self):
        sock = socket.create_connection(("127.0.0.1", self.tokend.port), timeout=5)
        try:
            sock.sendall(b"GET /healthz HTTP/1.1\r\n")
            time.sleep(0.8)  # request_timeout_ms is 500 in the test configuration
            data = sock.recv(4096)
            self.assertTrue(data.startswith(b"HTTP/1.1 408"), data)
        finally:
            sock.close()

    def test_a_thousand_concurrent_redirects(self):
        sockets = []
        try:
            for i in range(1000):
                sock = socket.create_connection(("127.0.0.1", self.tokend.port), timeout=30)
                sock.sendall(b"GET /redirect?code=c&state=unknown-%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % i)
                sockets.append(sock)
            statuses = []
            for sock in sockets:
                data = b""
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                statuses.append(int(data.split(b" ", 2)[1]))
            self.assertEqual(statuses, [404] * 1000)
        finally:
            for sock in sockets:
                sock.close()


class NoSecretsLeak(FlowTest):
    fake_options = {"client_secret": "SENTINEL-CLIENT-SECRET-7f3a", "bot_token": "SENTINEL-BOT-TOKEN-91c2"}

    def setUp(self):
        self.fake = start_fake(**self.fake_options)
        uid = os.getuid()
        self.tokend = Tokend(self.fake, client_secret="SENTINEL-CLIENT-SECRET-7f3a", bot_token="SENTINEL-BOT-TOKEN-91c2",
                             extra_config=f"control:\n  refresh_token_readers: {{uids: [{uid}]}}\n").start()
        self.client = self.tokend.client()

    def test_no_token_code_or_secret_in_logs_pages_or_events(self):
        pages = []
        # The PKCE verifier is kept server-side, in the flows file beside the users file.
        pending = self.client.start_flow("alice")
        with open(os.path.join(self.tokend.dir, "state", "users.flows.yml")) as f:
            flows_file = f.read()
        verifier = flows_file.split("code_verifier:", 1)[1].split("\n", 1)[0].strip().strip('"')
        self.assertGreaterEqual(len(verifier), 43)
        query = self.tokend.authorize(pending["auth_url"], {"user_id": "alice"})
        status, _, body = self.tokend.redirect(query)
        pages.append(body)
        self.assertEqual(status, 200)
        code = urllib.parse.parse_qs(query)["code"][0]
        pages.append(self.tokend.redirect(query)[2])  # replay page
        _, _, (_, _, wrong) = self.tokend.complete_flow("bob", as_user="alice")
        pages.append(wrong)
        context = self.client.get_user_context("alice")
        access, refresh = context["tokens"]["access_token"], context["tokens"]["refresh_token"]
        self.assertTrue(refresh)  # this caller may see it
        self.client.refresh("alice")
        renewed = self.client.get_user_context("alice")["tokens"]
        self.tokend.stop()
        everything = self.tokend.log() + "".join(pages)
        for secret in ["SENTINEL-CLIENT-SECRET-7f3a", "SENTINEL-BOT-TOKEN-91c2", code, verifier, access, refresh,
                       renewed["access_token"], renewed["refresh_token"]]:
            self.assertNotIn(secret, everything)


if __name__ == "__main__":
    unittest.main()
