"""The control protocol against the real daemon: every op, every error code,
hostile clients, permissions, tokenctl and the Python clients."""

import datetime
import json
import os
import pwd
import socket
import subprocess
import tempfile
import threading
import unittest

from harness import (ROOT, FaultyStoreCase, TokendCase, all_at_once, http_get, recv_line, request_as, user_context,
                     wait_for)
from tokend_client import TokenManager, TokendClient, TokendError, Tokens, UserContext

TOKENCTL = os.environ.get("TOKENCTL_BIN", os.path.join(ROOT, "build", "tools", "tokenctl", "tokenctl"))
TEST_USER = "tokendtest"  # created by scripts/test.sh for the permission tests


def raw_connect(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.connect(path)
    return sock


def read_line(sock):
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(1)
        if not chunk:
            return None
        data += chunk
    return json.loads(data)


class ControlTest(TokendCase):
    pass


class Operations(ControlTest):
    def test_ping(self):
        self.assertEqual(self.client.ping()["protocol"], 1)

    def test_set_get_clear_context(self):
        self.assertIsNone(self.client.get_user_context("u1"))
        self.client.set_user_context("u1", user_context("u1", access="A1"))
        self.assertEqual(self.client.get_user_context("u1")["tokens"]["access_token"], "A1")
        self.assertIsNone(self.client.get_user_context("u1")["tokens"]["refresh_token"])
        self.assertEqual(self.client.get_token("u1")["access_token"], "A1")
        self.assertEqual(self.client.set_user_context("u1", None), {"cleared": True})
        self.assertIsNone(self.client.get_user_context("u1"))
        self.assertEqual(self.client.set_user_context("u1", None), {"cleared": False})

    def test_get_token_refreshes_a_nearly_expired_token_once(self):
        tokens = self.fake.issue_tokens("alice")
        context = user_context("alice", access=tokens["access_token"], expires_in=60, refresh=tokens["refresh_token"])
        self.client.set_user_context("alice", context)
        # Eight concurrent readers share one refresh.
        results = []
        def read():
            with TokendClient(self.tokend.socket) as own:
                results.append(own.get_token("alice")["access_token"])
        all_at_once([read] * 8)
        self.assertEqual(len(set(results)), 1)
        self.assertNotEqual(results[0], tokens["access_token"])
        self.assertEqual(self.fake.state()["token_requests"]["refresh_token"]["ok"], 1)
        self.assertEqual(self.client.stats()["refreshes"]["succeeded"], 1)

    def test_refresh_forces_a_refresh_and_keeps_the_grant(self):
        tokens = self.fake.issue_tokens("alice")
        self.client.set_user_context("alice", user_context("alice", tokens["access_token"], 3600, tokens["refresh_token"]))
        first = self.client.refresh("alice")["access_token"]
        second = self.client.refresh("alice")["access_token"]  # uses the rotated refresh token
        self.assertNotEqual(first, second)
        self.assertEqual(self.client.get_token("alice")["access_token"], second)

    def test_revoked_grant_means_reauth_required(self):
        tokens = self.fake.issue_tokens("alice")
        self.client.set_user_context("alice", user_context("alice", tokens["access_token"], 30, tokens["refresh_token"]))
        self.fake.revoke_user("alice")
        with self.assertRaises(TokendError) as raised:
            self.client.get_token("alice")
        self.assertEqual(raised.exception.code, "reauth_required")
        with self.assertRaises(TokendError) as again:  # no second refresh attempt
            self.client.get_token("alice")
        self.assertEqual(again.exception.code, "reauth_required")
        self.assertEqual(self.fake.state()["token_requests"]["refresh_token"]["error"], 1)

    def test_provider_down_serves_the_still_valid_token(self):
        tokens = self.fake.issue_tokens("alice")
        self.client.set_user_context("alice", user_context("alice", tokens["access_token"], 60, tokens["refresh_token"]))
        self.fake.add_faults("access_token", [{"status": 400, "body": "{}", "count": 1}])
        self.assertEqual(self.client.get_token("alice")["access_token"], tokens["access_token"])

    def test_provider_down_with_an_expired_token_is_provider_error(self):
        # The fault goes first and stays: the expired token is due at once, so the scheduler
        # may refresh (and retry) before get_token arrives; every attempt must meet the 400.
        self.fake.add_faults("access_token", [{"status": 400, "body": "{}", "count": 100}])
        self.client.set_user_context("alice", user_context("alice", "OLD", -10, "RT-unknown-to-provider"))
        with self.assertRaises(TokendError) as raised:
            self.client.get_token("alice")
        self.assertEqual(raised.exception.code, "provider_error")

    def test_not_found(self):
        for call in (lambda: self.client.get_token("ghost"), lambda: self.client.refresh("ghost")):
            with self.assertRaises(TokendError) as raised:
                call()
            self.assertEqual(raised.exception.code, "not_found")

    def test_list_users_pages(self):
        names = [f"user-{i:03d}" for i in range(250)]
        self.client.pipeline([{"op": "set_user_context", "user_id": n, "user_context": user_context(n)} for n in names])
        page = self.client.list_users(limit=100)
        self.assertEqual(len(page["users"]), 100)
        self.assertIsNotNone(page["next"])
        self.assertEqual(sorted(self.client.all_users(page_size=7)), names)

    def test_bad_requests(self):
        for op, params in [("get_token", {}), ("get_token", {"user_id": 5}), ("start_flow", {"user_id": ""}),
                           ("set_user_context", {"user_id": "u"}),
                           ("set_user_context", {"user_id": "u", "user_context": {"user_id": "other", "tokens": {}}}),
                           ("set_user_context", {"user_id": "u", "user_context": {"user_id": "u", "tokens": {"expires_at": "x"}}}),
                           ("list_users", {"limit": 0}), ("list_users", {"limit": "ten"}),
                           ("flow_maintenance", {"force": "yes"}), ("start_flow", {"user_id": "a\nb"})]:
            with self.assertRaises(TokendError) as raised:
                self.client.call(op, **params)
            self.assertEqual(raised.exception.code, "bad_request", (op, params))

    def test_unknown_op(self):
        with self.assertRaises(TokendError) as raised:
            self.client.call("drop_tables")
        self.assertEqual(raised.exception.code, "unknown_op")

    def test_stats(self):
        self.client.ping()
        stats = self.client.stats()
        for key in ("users", "flows", "refreshes", "requests", "control_clients", "store", "uptime_seconds"):
            self.assertIn(key, stats)
        self.assertEqual(stats["pending_flows"], 0)
        self.client.start_flow("alice")
        self.client.start_flow("bob")
        self.assertEqual(self.client.stats()["pending_flows"], 2)
        self.assertEqual(stats["store"]["healthy"], True)
        self.assertGreaterEqual(stats["requests"]["ping"], 1)

    def test_watch_streams_events_without_tokens(self):
        events = []
        ready = threading.Event()
        def watch():
            for event in self.client.watch():
                events.append(event)
                if len(events) == 2:
                    return
        thread = threading.Thread(target=watch, daemon=True)
        thread.start()
        wait_for(lambda: self.client.stats()["watchers"] > 0, what="the watcher")
        self.client.set_user_context("w1", user_context("w1", access="SECRET-AT"))
        self.client.set_user_context("w1", None)
        thread.join(5)
        self.assertEqual([e["event"] for e in events], ["context_set", "context_cleared"])
        self.assertEqual(events[0]["user_id"], "w1")
        self.assertNotIn("SECRET-AT", json.dumps(events))

    def test_a_watch_filtered_by_user(self):
        sock = raw_connect(self.tokend.socket)
        sock.sendall(b'{"id":1,"op":"watch","user_id":"only-me"}\n')
        self.assertTrue(read_line(sock)["ok"])
        self.client.set_user_context("someone-else", user_context("someone-else"))
        self.client.set_user_context("only-me", user_context("only-me"))
        self.assertEqual(read_line(sock)["user_id"], "only-me")
        sock.close()

    def test_flow_operations(self):
        flow = self.client.start_flow("alice")
        self.assertIn("code_challenge", flow["auth_url"])
        self.assertEqual(self.client.process_redirect(flow["flow_id"], "bogus-code")["status"], "provider_error")


class StoreFailure(FaultyStoreCase):
    """A store whose backend goes away: writes fail with store_unavailable and
    change nothing, cached tokens are still served, and all recovers."""


    def test_writes_fail_cleanly_and_everything_recovers(self):
        self.client.set_user_context("u1", user_context("u1", access="KEPT"))
        open(self.flag, "w").close()  # the backend goes away
        for call in (lambda: self.client.set_user_context("u1", user_context("u1", access="NEW")),
                     lambda: self.client.set_user_context("u1", None),
                     lambda: self.client.list_users(),
                     lambda: self.client.start_flow("alice"),
                     lambda: self.client.flow_maintenance(force=True)):
            with self.assertRaises(TokendError) as raised:
                call()
            self.assertEqual(raised.exception.code, "store_unavailable")
        self.assertEqual(self.client.get_token("u1")["access_token"], "KEPT")  # from memory, unchanged
        self.assertFalse(self.client.stats()["store"]["healthy"])
        status, _, _ = http_get(self.tokend.port, "/healthz")
        self.assertEqual(status, 503)
        # A redirect while the store is away gets a clear 503 page, not a crash.
        status, _, body = self.tokend.redirect("code=c&state=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        self.assertEqual(status, 503)
        os.unlink(self.flag)  # and comes back
        self.client.set_user_context("u1", user_context("u1", access="NEW"))
        self.assertEqual(self.client.get_token("u1")["access_token"], "NEW")
        self.assertTrue(self.client.stats()["store"]["healthy"])
        self.assertIn("store failed", self.tokend.log())
        self.assertIn("store is answering again", self.tokend.log())


class ManyClients(ControlTest):
    # Not under Hostile's 500 ms idle timeout: opening 1,000 connections before
    # the first request can take longer than that on a loaded machine (under
    # ASan), and tokend would rightly cut the early ones off.
    extra_config = "control:\n  idle_timeout_ms: 120000\n"

    def test_a_thousand_concurrent_clients(self):
        sockets = [raw_connect(self.tokend.socket) for _ in range(1000)]
        try:
            for i, sock in enumerate(sockets):
                sock.sendall(b'{"id":%d,"op":"ping"}\n' % i)
            for i, sock in enumerate(sockets):
                self.assertEqual(read_line(sock)["id"], i)
        finally:
            for sock in sockets:
                sock.close()


class Hostile(ControlTest):
    extra_config = "control:\n  idle_timeout_ms: 500\n  max_line_bytes: 4096\n"

    def test_pipelining_ten_thousand_requests(self):
        results = self.client.pipeline([{"op": "ping"} for _ in range(10000)])
        self.assertEqual(len(results), 10000)

    def test_garbage_invalid_utf8_and_overlong_lines(self):
        sock = raw_connect(self.tokend.socket)
        for payload in (b"garbage\n", b'{"op":"pi\xff\xfeng"}\n', b"x" * 10000 + b"\n", b"[]\n"):
            sock.sendall(payload)
            answer = read_line(sock)
            self.assertEqual(answer["error"]["code"], "bad_request", payload[:20])
        sock.sendall(b'{"id":"still","op":"ping"}\n')
        self.assertEqual(read_line(sock)["id"], "still")
        sock.close()

    def test_half_a_line_then_silence_is_disconnected(self):
        sock = raw_connect(self.tokend.socket)
        sock.sendall(b'{"op":"pi')
        self.assertIsNone(read_line(sock))  # closed by the idle timeout
        sock.close()
        self.assertEqual(self.client.ping()["protocol"], 1)

    def test_a_client_that_never_reads_is_cut_off(self):
        sock = raw_connect(self.tokend.socket)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        request = b'{"id":"' + b"i" * 3000 + b'","op":"stats"}\n'
        try:
            for _ in range(5000):
                sock.sendall(request)
        except OSError:
            pass  # tokend gave up on us: that is the point
        finally:
            sock.close()
        self.assertEqual(self.client.ping()["protocol"], 1)


class Permissions(ControlTest):
    """Read/write classes checked against the peer's uid (SO_PEERCRED)."""

    def setUp(self):
        try:
            self.other = pwd.getpwnam(TEST_USER)
        except KeyError:
            self.skipTest(f"no user {TEST_USER} (scripts/test.sh creates it)")
        if os.getuid() != 0:
            self.skipTest("needs root to act as another uid")
        me = os.getuid()
        self.extra_config = (f"control:\n  mode: 0666\n  allow:\n    read: {{uids: [{me}, {self.other.pw_uid}]}}\n"
                             f"    write: {{uids: [{me}]}}\n")
        super().setUp()
        os.chmod(os.path.dirname(self.tokend.socket), 0o755)
        os.chmod(self.tokend.dir, 0o755)

    def as_other(self, request):
        return request_as(self.other, self.tokend.socket, request)

    def test_read_allowed_write_denied(self):
        self.client.set_user_context("u1", user_context("u1"))
        self.assertTrue(self.as_other({"op": "get_token", "user_id": "u1"})["ok"])
        denied = self.as_other({"op": "set_user_context", "user_id": "u1", "user_context": None})
        self.assertEqual(denied["error"]["code"], "permission_denied")
        self.assertEqual(self.client.get_token("u1")["access_token"], "AT")
        self.assertIn("set_user_context denied to uid", self.tokend.log())


class Tokenctl(ControlTest):
    def run_ctl(self, *args, stdin=None):
        return subprocess.run([TOKENCTL, "--socket", self.tokend.socket, *args], input=stdin,
                              capture_output=True, text=True, timeout=30)

    def test_commands_and_exit_codes(self):
        self.assertEqual(self.run_ctl("ping").returncode, 0)
        out = self.run_ctl("set-context", "c1", "-", stdin=json.dumps(user_context("c1", access="CTL-AT")))
        self.assertEqual(out.returncode, 0, out.stderr)
        out = self.run_ctl("get-token", "c1")
        self.assertEqual((out.returncode, out.stdout.strip()), (0, "CTL-AT"))
        out = self.run_ctl("--json", "get-token", "c1")
        self.assertEqual(json.loads(out.stdout)["result"]["access_token"], "CTL-AT")
        self.assertEqual(self.run_ctl("get-token", "nobody").returncode, 3)
        self.assertEqual(self.run_ctl("list-users", "--all").stdout.split(), ["c1"])
        out = self.run_ctl("start-flow", "alice")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertTrue(out.stdout.startswith(self.fake.url + "/v1/authorize?"))
        self.assertEqual(self.run_ctl("flow-maintenance", "--force").returncode, 0)
        self.assertEqual(json.loads(self.run_ctl("--json", "stats").stdout)["result"]["users"], 1)
        self.assertEqual(self.run_ctl("clear-context", "c1").stdout.strip(), "cleared")
        self.assertEqual(self.run_ctl("get-context", "c1").returncode, 3)
        self.assertEqual(subprocess.run([TOKENCTL, "--socket", "/nonexistent.sock", "ping"],
                                        capture_output=True).returncode, 7)
        self.assertEqual(self.run_ctl("no-such-command").returncode, 2)

    def test_version_unknown_commands_and_options_after_the_command(self):
        out = subprocess.run([TOKENCTL, "--version"], capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout, r"^tokenctl \d+\.\d+\.\d+\n$")
        out = self.run_ctl("frobnicate", "x")
        self.assertEqual(out.returncode, 2)
        self.assertIn("unknown command 'frobnicate'", out.stderr)
        out = subprocess.run([TOKENCTL], capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 2)
        self.assertIn("a command is required", out.stderr)
        # Global options after the command, and in between.
        out = subprocess.run([TOKENCTL, "ping", "--json", "--socket", self.tokend.socket], capture_output=True,
                             text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(json.loads(out.stdout)["result"]["protocol"], 1)
        out = subprocess.run([TOKENCTL, "--timeout", "10", "list-users", "--socket", self.tokend.socket, "--all"],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)

    def test_json_envelope_and_exit_codes_of_mistakes(self):
        ok = json.loads(self.run_ctl("--json", "ping").stdout)
        self.assertEqual(set(ok), {"ok", "result"})
        self.assertTrue(ok["ok"])
        # tokend's error: the envelope on stderr, nothing on stdout.
        out = self.run_ctl("--json", "get-token", "nobody")
        self.assertEqual((out.returncode, out.stdout), (3, ""))
        self.assertEqual(json.loads(out.stderr), {"ok": False, "error": {"code": "not_found",
                                                                         "message": json.loads(out.stderr)["error"]["message"]}})
        out = self.run_ctl("--json", "get-context", "nobody")
        self.assertEqual((out.returncode, out.stdout, json.loads(out.stderr)["error"]["code"]), (3, "", "not_found"))
        # A caller's mistake is never "try again" (6): a bad cursor, a bad argument, a usage error.
        for args in (["list-users", "--cursor", "garbage"], ["list-users", "--limit", "5000"],
                     ["get-token", "--json"], ["set-context", "u1", "/nonexistent/file"], ["--timeout", "soon", "ping"]):
            with self.subTest(args=args):
                out = self.run_ctl("--json", *args)
                self.assertEqual(out.returncode, 2, out.stderr)
                self.assertEqual(out.stdout, "")
                self.assertFalse(json.loads(out.stderr.strip().splitlines()[-1])["ok"])
        out = self.run_ctl("list-users", "--cursor", "garbage")
        self.assertEqual(out.returncode, 2)
        self.assertTrue(out.stderr.startswith("tokenctl: bad_request: "), out.stderr)
        # tokenctl's own errors have the envelope too.
        out = subprocess.run([TOKENCTL, "--json", "--socket", "/nonexistent.sock", "ping"], capture_output=True,
                             text=True, timeout=30)
        self.assertEqual(out.returncode, 7)
        self.assertEqual(json.loads(out.stderr)["error"]["code"], "connection")
        out = self.run_ctl("--json", "frobnicate")
        self.assertEqual(json.loads(out.stderr)["error"], {"code": "usage",
                                                            "message": json.loads(out.stderr)["error"]["message"]})

    def test_a_deeply_nested_context_file_is_refused_before_sending(self):
        out = self.run_ctl("set-context", "u1", "-", stdin="[" * 100_000 + "]" * 100_000)
        self.assertEqual(out.returncode, 2, out.stderr)
        self.assertIn("nests deeper than 64 levels", out.stderr)
        self.assertEqual(self.run_ctl("get-context", "u1").returncode, 3)  # nothing was stored

    def test_watch_streams(self):
        watcher = subprocess.Popen([TOKENCTL, "--socket", self.tokend.socket, "--json", "watch"],
                                   stdout=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: self.client.stats()["watchers"] > 0, what="the watcher")
            self.client.set_user_context("c2", user_context("c2"))
            line = watcher.stdout.readline()
            self.assertEqual(json.loads(line)["event"], "context_set")
        finally:
            watcher.terminate()
            watcher.wait(5)
            watcher.stdout.close()


class TokenctlAgainstADeepAnswer(unittest.TestCase):
    """Issue 13 item 1: tokenctl parses what comes back from the socket bounded
    like the daemon does (core/json_limits.h); a result nested 100,000 deep (a
    hostile or broken listener at the socket) is refused, not a crash."""

    def serve_once(self, path, answer):
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(1)
        listener.settimeout(30)

        def serve():
            try:
                conn, _ = listener.accept()
                with conn:
                    conn.settimeout(30)
                    if not recv_line(conn).endswith(b"\n"):
                        return
                    conn.sendall(answer)
            finally:
                listener.close()
        thread = threading.Thread(target=serve)
        thread.start()
        return thread

    def test_a_deeply_nested_answer_is_refused_and_a_shallow_one_still_read(self):
        with tempfile.TemporaryDirectory(prefix="tokctl-", dir="/tmp") as folder:
            path = os.path.join(folder, "s.sock")
            deep = 100_000
            thread = self.serve_once(path, b'{"ok":true,"result":' + b"[" * deep + b"]" * deep + b"}\n")
            out = subprocess.run([TOKENCTL, "--socket", path, "--json", "stats"], capture_output=True, text=True,
                                 timeout=60)
            thread.join(30)
            self.assertEqual(out.returncode, 1, out.stderr)  # not a signal (negative) from a stack overflow
            self.assertIn("unreadable response", out.stderr)
            os.unlink(path)
            thread = self.serve_once(path, b'{"ok":true,"result":{"users":' + b"[" * 10 + b"]" * 10 + b"}}\n")
            out = subprocess.run([TOKENCTL, "--socket", path, "--json", "stats"], capture_output=True, text=True,
                                 timeout=60)
            thread.join(30)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual(json.loads(out.stdout)["result"]["users"], [[[[[[[[[[]]]]]]]]]])


class DropInTokenManager(ControlTest):
    """An existing bot's calls, unchanged but for the class that builds the manager."""

    def test_the_original_api(self):
        with TokenManager(bot_token="ignored", integration=object(), socket_path=self.tokend.socket) as manager:
            self.assertIsNone(manager.get_user_context(user_id="bob"))
            tokens = Tokens(access_token="DROP-AT", expires_at=datetime.datetime.now(datetime.timezone.utc)
                            + datetime.timedelta(hours=1), refresh_token="DROP-RT", token_type="Bearer", scope="s")
            manager.set_user_context(user_id="bob", user_context=UserContext(user_id="bob", tokens=tokens))
            context = manager.get_user_context(user_id="bob")
            self.assertEqual(context.user_id, "bob")
            self.assertEqual(context.tokens.access_token, "DROP-AT")
            self.assertGreater(context.tokens.remaining, 3500)
            self.assertIsInstance(context.tokens.expires_at, datetime.datetime)
            self.assertEqual(manager.get_user_context_and_refresh(user_id="bob").tokens.access_token, "DROP-AT")
            flow_id = manager.start_flow(user_id="alice")
            self.assertIn(flow_id, manager.last_auth_url)
            self.assertIsInstance(manager.process_redirect(flow_id=flow_id, code="nope"), str)
            manager.set_user_context(user_id="bob")
            self.assertIsNone(manager.get_user_context(user_id="bob"))


if __name__ == "__main__":
    unittest.main()
