"""The process's own resources and guards (issue 13): no core dumps, file
descriptors budgeted against RLIMIT_NOFILE, a client's malformed cursor kept
apart from store health, and supplementary groups in control.allow."""

import grp
import os
import pwd
import re
import resource
import signal
import socket
import subprocess
import time
import unittest

from harness import (PLUGIN_DIR, TOKEND_BIN, Tokend, TokendCase, http_get, request_as, spawn_activated, start_fake,
                     stop_and_check, user_context, wait_for)
from tokend_client import TokendError

TEST_USER = "tokendtest"  # created by scripts/test.sh (root) for the permission tests
TEST_GROUP = f"tokendtest{os.getpid()}"  # made and removed by SupplementaryGroups (one per test)


def start_with(tokend, preexec, timeout=20):
    """Starts tokend like Tokend.start, running preexec in the child before exec."""
    tokend._log = open(tokend.log_path, "ab")
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID",
                                                            "LISTEN_FDNAMES", "WATCHDOG_USEC", "WATCHDOG_PID")}
    tokend.process = subprocess.Popen([TOKEND_BIN, "-c", tokend.config_path, "--plugin-dir", PLUGIN_DIR],
                                      stdout=tokend._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      cwd=tokend.dir, env=env, preexec_fn=preexec)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = tokend.log()
        if " running (pid" in text:
            tokend.port = int(re.search(r"redirect endpoint listening on http://127\.0\.0\.1:(\d+)", text).group(1))
            return tokend
        if tokend.process.poll() is not None:
            raise RuntimeError(f"tokend exited with {tokend.process.returncode}:\n{text}")
        time.sleep(0.02)
    raise RuntimeError("tokend did not start:\n" + tokend.log())


def limit_line(pid, name):
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith(name):
                return line.split()[len(name.split()):len(name.split()) + 2]
    raise AssertionError(f"no {name} in /proc/{pid}/limits")


class StartedCase(unittest.TestCase):
    """A tokend started by the test itself (start_with); stopped cleanly at the end."""

    def tearDown(self):
        if getattr(self, "tokend", None) is not None:
            stop_and_check(self)


class NoCoreDumps(StartedCase):
    def test_tokend_is_not_dumpable_and_has_no_core_limit(self):
        # Started with core dumps allowed (as from a shell with ulimit -c unlimited):
        # tokend itself must turn them off. As root it runs as the test user, since
        # a non-dumpable process's /proc/PID files are owned by root, which is how
        # its dumpable flag is seen from outside.
        run_as = None
        if os.getuid() == 0:
            try:
                run_as = pwd.getpwnam(TEST_USER)
            except KeyError:
                self.skipTest(f"no user {TEST_USER} (scripts/test.sh creates it)")
        self.fake = start_fake()
        self.tokend = Tokend(self.fake, store="memory")
        if run_as is not None:
            for top, dirs, files in os.walk(self.tokend.dir):
                for name in [top] + [os.path.join(top, n) for n in dirs + files]:
                    os.chown(name, run_as.pw_uid, run_as.pw_gid)

        def preexec():
            _, hard = resource.getrlimit(resource.RLIMIT_CORE)
            resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))
            if run_as is not None:
                os.setgroups([])
                os.setgid(run_as.pw_gid)
                os.setuid(run_as.pw_uid)

        start_with(self.tokend, preexec)
        pid = self.tokend.process.pid
        self.assertEqual(limit_line(pid, "Max core file size"), ["0", "0"])
        owner = run_as.pw_uid if run_as is not None else os.getuid()
        self.assertNotEqual(owner, 0)
        self.assertEqual(os.stat(f"/proc/{pid}").st_uid, owner)  # the process is the test user's
        self.assertEqual(os.stat(f"/proc/{pid}/status").st_uid, 0, "tokend is still dumpable")
        self.assertEqual(self.tokend.client().ping()["protocol"], 1)


class MalformedCursor(TokendCase):
    def test_a_garbage_cursor_is_a_bad_request_and_the_store_stays_healthy(self):
        self.client.set_user_context("u1", user_context("u1"))
        with self.assertRaises(TokendError) as caught:
            self.client.call("list_users", cursor="not-a-cursor-of-this-store")
        self.assertEqual(caught.exception.code, "bad_request")
        self.assertIn("cursor", str(caught.exception))
        self.assertTrue(self.client.stats()["store"]["healthy"])
        self.assertEqual(http_get(self.tokend.port, "/healthz")[0], 200)
        self.assertNotIn("store failed", self.tokend.log())
        self.assertEqual(self.client.call("list_users")["users"], ["u1"])


class SupplementaryGroups(TokendCase):
    """control.allow.*.gids matches the groups the connecting process holds (SO_PEERCRED's gid
    and SO_PEERGROUPS, read at accept), as the socket file's mode check does, not the group
    database: a process holding the group is allowed whatever /etc/group says, and one that
    dropped it is not, though /etc/group lists its user."""

    def setUp(self):
        if os.getuid() != 0:
            self.skipTest("needs root to make a group and act as another uid")
        try:
            self.other = pwd.getpwnam(TEST_USER)
        except KeyError:
            self.skipTest(f"no user {TEST_USER} (scripts/test.sh creates it)")
        subprocess.run(["groupdel", TEST_GROUP], capture_output=True)
        subprocess.run(["groupadd", "--system", TEST_GROUP], check=True, capture_output=True)
        self.addCleanup(subprocess.run, ["groupdel", TEST_GROUP], capture_output=True)
        self.group = grp.getgrnam(TEST_GROUP).gr_gid
        self.assertNotEqual(self.group, self.other.pw_gid)
        self.extra_config = (f"control:\n  mode: 0666\n  allow:\n    read: {{uids: [0], gids: [{self.group}]}}\n"
                             f"    write: {{uids: [0], gids: [{self.other.pw_gid + 100000}]}}\n")
        super().setUp()
        os.chmod(os.path.dirname(self.tokend.socket), 0o755)
        os.chmod(self.tokend.dir, 0o755)
        self.client.set_user_context("u1", user_context("u1"))

    def as_other(self, request, groups=()):
        return request_as(self.other, self.tokend.socket, request, groups)

    def test_a_group_the_process_holds_is_allowed_though_its_user_is_not_listed(self):
        self.assertNotIn(TEST_USER, grp.getgrnam(TEST_GROUP).gr_mem)
        answer = self.as_other({"op": "list_users"}, groups=[self.group])
        self.assertTrue(answer["ok"], answer)
        self.assertEqual(answer["result"]["users"], ["u1"])
        denied = self.as_other({"op": "set_user_context", "user_id": "u1", "user_context": None}, groups=[self.group])
        self.assertEqual(denied["error"]["code"], "permission_denied")

    def test_a_group_the_process_dropped_is_denied_though_its_user_is_listed(self):
        subprocess.run(["gpasswd", "-a", TEST_USER, TEST_GROUP], check=True, capture_output=True)
        self.assertIn(TEST_USER, grp.getgrnam(TEST_GROUP).gr_mem)
        denied = self.as_other({"op": "list_users"})
        self.assertFalse(denied["ok"], denied)
        self.assertEqual(denied["error"]["code"], "permission_denied")
        # Holding it again (as the bot would after a restart): allowed.
        self.assertTrue(self.as_other({"op": "list_users"}, groups=[self.group])["ok"])


class FileDescriptors(StartedCase):
    """A low RLIMIT_NOFILE: the connection caps are clamped (and it is logged),
    so a flood of HTTP connections cannot starve the store of descriptors."""

    def test_caps_are_clamped_to_the_limit_and_the_store_still_writes(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        flood = 300
        if soft < flood + 100:
            if hard != resource.RLIM_INFINITY and hard < flood + 100:
                self.skipTest(f"our own RLIMIT_NOFILE hard limit {hard} is too low for {flood} connections")
            resource.setrlimit(resource.RLIMIT_NOFILE, (flood + 100, hard))
            self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))
        self.fake = start_fake()
        self.tokend = Tokend(self.fake)
        # The flood's connections stay open (send nothing) for the whole test.
        with open(self.tokend.config_path) as f:
            config = f.read().replace("  request_timeout_ms: 500\n", "  request_timeout_ms: 60000\n", 1)
        with open(self.tokend.config_path, "w") as f:
            f.write(config)
        # Soft 128 under hard 256: tokend raises the soft limit and clamps its caps into 256.
        start_with(self.tokend, lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (128, 256)))
        pid = self.tokend.process.pid
        self.assertEqual(limit_line(pid, "Max open files"), ["256", "256"])
        log = self.tokend.log()
        self.assertIn("file descriptors: soft limit raised from 128 to 256", log)
        match = re.search(r"running with http\.max_connections (\d+) and control\.max_connections (\d+)", log)
        self.assertIsNotNone(match, log)
        http_cap, control_cap = int(match.group(1)), int(match.group(2))
        self.assertLessEqual(http_cap + control_cap, 256 - 64)
        self.assertIn("LimitNOFILE=", log)

        client = self.tokend.client()
        self.assertEqual(client.ping()["protocol"], 1)
        sockets = []
        try:
            for _ in range(flood):
                s = socket.create_connection(("127.0.0.1", self.tokend.port), timeout=10)
                sockets.append(s)
            wait_for(lambda: "connection(s) refused: already" in self.tokend.log(),
                     what="tokend to refuse HTTP connections beyond its clamped cap")
            client.set_user_context("u1", user_context("u1"))
            self.assertEqual(client.get_user_context("u1")["user_id"], "u1")
            self.assertNotIn("Too many open files", self.tokend.log())
            # A reload of the unchanged file clamps the same way: nothing "needs a restart".
            self.tokend.process.send_signal(signal.SIGHUP)
            wait_for(lambda: "reload: applied" in self.tokend.log(), what="the reload")
            self.assertNotIn("needs a restart", self.tokend.log())
        finally:
            for s in sockets:
                s.close()

    def test_a_metrics_socket_passed_by_socket_activation_is_budgeted_too(self):
        """The descriptors a metrics listener may take are kept aside when the listener is a socket
        passed as "metrics" (metrics.listen unset), as they are for metrics.listen: the budget is planned
        before the passed sockets are taken."""
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        if hard != resource.RLIM_INFINITY and hard < 256 and os.geteuid() != 0:
            self.skipTest(f"our own RLIMIT_NOFILE hard limit {hard} is below the 256 this test sets")
        self.fake = start_fake()
        reserves = {}
        for case in ("nothing passed", "metrics passed"):
            self.tokend = Tokend(self.fake)
            activated = []
            if case == "metrics passed":
                listener = socket.socket()
                self.addCleanup(listener.close)
                listener.bind(("127.0.0.1", 0))
                listener.listen()
                activated = [("metrics", listener)]
            self.start_limited(activated)
            log = self.tokend.log()
            match = re.search(r"\+ (\d+) kept for the store, the provider and metrics", log)
            self.assertIsNotNone(match, log)
            reserves[case] = int(match.group(1))
            if activated:
                self.assertIn("metrics listening on an activated socket", log)
                break  # stopped by tearDown
            code = self.tokend.stop()
            self.tokend.close()
            self.assertEqual(code, 0, log)
        self.assertEqual(reserves["metrics passed"] - reserves["nothing passed"], 16, reserves)

    def start_limited(self, activated, timeout=20):
        """Starts self.tokend under a descriptor limit of 128 (hard 256), with the sockets `activated`
        passed as systemd does (prlimit sets the limit and execs tokend, keeping LISTEN_PID's pid)."""
        tokend = self.tokend
        tokend._log = open(tokend.log_path, "ab")
        env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID",
                                                                "LISTEN_FDNAMES", "WATCHDOG_USEC", "WATCHDOG_PID")}
        argv = ["prlimit", "--nofile=128:256", "--", TOKEND_BIN, "-c", tokend.config_path, "--plugin-dir", PLUGIN_DIR]
        if activated:
            tokend.process = spawn_activated(argv, env, activated, tokend._log, tokend.dir)
        else:
            tokend.process = subprocess.Popen(argv, stdout=tokend._log, stderr=subprocess.STDOUT,
                                              stdin=subprocess.DEVNULL, cwd=tokend.dir, env=env)
        wait_for(lambda: " running (pid" in tokend.log() or tokend.process.poll() is not None, timeout=timeout,
                 what="tokend to start")
        self.assertIn(" running (pid", tokend.log())


if __name__ == "__main__":
    unittest.main()
