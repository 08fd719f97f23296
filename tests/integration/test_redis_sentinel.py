"""tokend on the redis store behind Redis Sentinel, against processes the test
starts on loopback: one master, one replica, three redis-sentinels (and a
sentinel address where nothing listens, first in the list). SENTINEL FAILOVER
(after the sentinel tokend listened on went away) while bots call get_token and set_user_context: reads answered from memory
throughout, writes fail fast with store_unavailable during the switch and
succeed after, both processes move pool and subscriber to the new master and
the change feed resumes (a resync)."""

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from harness import ROOT, Tokend, start_fake, unless_error, user_context, wait_for
from tokend_client import TokendClient, TokendError

sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
from redis_server import RedisClient, RedisServer, free_port  # noqa: E402

SENTINEL = shutil.which("redis-sentinel") or "/usr/bin/redis-sentinel"
MASTER = "tokendmaster"


class Sentinel:
    def __init__(self, master_port):
        self.dir = tempfile.mkdtemp(prefix="tokend-sentinel-", dir="/tmp")
        self.master_port = master_port
        self.port = None
        self.process = None

    def start(self):
        for _ in range(10):
            port = free_port()
            config = os.path.join(self.dir, "sentinel.conf")
            with open(config, "w") as f:
                f.write(f"port {port}\nbind 127.0.0.1\ndaemonize no\ndir {self.dir}\n"
                        f"logfile {self.dir}/sentinel.log\n"
                        f"sentinel monitor {MASTER} 127.0.0.1 {self.master_port} 2\n"
                        # Long: on a loaded machine a short one lets the sentinels
                        # fail over by themselves, before the test asks them to.
                        f"sentinel down-after-milliseconds {MASTER} 60000\n"
                        f"sentinel failover-timeout {MASTER} 20000\n")
            self.process = subprocess.Popen([SENTINEL, config], stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.process.poll() is None:
                try:
                    if self.command("PING") == b"PONG":
                        self.port = port
                        return self
                except OSError:
                    pass
                self.port = port
                time.sleep(0.05)
            self.stop(remove=False)
        raise RuntimeError("redis-sentinel would not start")

    def command(self, *args):
        with RedisClient(port=self.port, timeout=5) as client:
            return client.command(*args)

    def stop(self, remove=True):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        if remove:
            shutil.rmtree(self.dir, ignore_errors=True)


class SentinelFailover(unittest.TestCase):
    def setUp(self):
        self.fake = start_fake()
        self.master = RedisServer().start()
        self.replica = RedisServer(["--replicaof", "127.0.0.1", str(self.master.port)]).start()
        self.sentinels = [Sentinel(self.master.port).start() for _ in range(3)]
        self.nodes = []

    def tearDown(self):
        for node in self.nodes:
            code = node.stop()
            log = node.log()
            node.close()
            self.assertEqual(code, 0, log)
        for sentinel in self.sentinels:
            sentinel.stop()
        self.replica.stop()
        self.master.stop()
        self.fake.stop()

    def replica_ready(self):
        info = self.replica.command("INFO", "replication").decode()
        if "master_link_status:up" not in info:
            return False
        # Every sentinel knows the replica and the others (hello messages).
        for sentinel in self.sentinels:
            replicas = sentinel.command("SENTINEL", "REPLICAS", MASTER)
            if not replicas or b"s_down" in replicas[0] or b"disconnected" in replicas[0]:
                return False
            if len(sentinel.command("SENTINEL", "SENTINELS", MASTER)) < 2:
                return False
        return True

    def test_a_failover_moves_pool_and_subscriber_and_reads_never_stop(self):
        lost = self.fail_over({"command_timeout_ms": 500})
        # Writes the old master acknowledged after the replica's promotion and
        # before the move (about the time the sentinels take to announce it)
        # may be lost: replication is asynchronous. Measured, not hidden;
        # wait_replicas (below) is the remedy.
        print(f"failover: {len(lost)} acknowledged writes lost without wait_replicas", file=sys.stderr)

    def test_with_wait_replicas_no_acknowledged_write_is_lost(self):
        # Issue 15 item 3: each user write waits for the replica, so a write the
        # old master took after the promotion is never acknowledged.
        lost = self.fail_over({"command_timeout_ms": 1000, "wait_replicas": 1, "wait_timeout_ms": 300})
        self.assertEqual(lost, [], "acknowledged writes lost despite wait_replicas")

    def fail_over(self, extra):
        """SENTINEL FAILOVER under a bot's reads and writes; the acknowledged writes lost."""
        wait_for(self.replica_ready, timeout=30, what="the replica and the sentinels to be ready", interval=0.2)
        down = free_port()  # a sentinel that is down comes first: skipped
        addresses = [f"127.0.0.1:{down}"] + [f"127.0.0.1:{s.port}" for s in self.sentinels]
        options = {"sentinels": "[" + ", ".join(f'"{a}"' for a in addresses) + "]",
                   "sentinel_master": MASTER, "connect_timeout_ms": 500, **extra}
        a = Tokend(self.fake, store="redis", store_options=options)
        b = Tokend(self.fake, store="redis", store_options=options)
        self.nodes += [a.start(), b.start()]
        self.assertIn(f"master {MASTER} is at 127.0.0.1:{self.master.port}", a.log())
        a.client().set_user_context("reader", user_context("reader", "AT-read"))
        wait_for(lambda: unless_error("not_found", lambda: b.client().get_token("reader")), what="b to hear")

        reads_failed, writes = [], []
        stop = threading.Event()

        def bot():
            with TokendClient(a.socket, timeout=20) as client:
                i = 0
                while not stop.is_set():
                    try:
                        client.get_token("reader")
                    except TokendError as error:
                        reads_failed.append(error.code)
                    started = time.monotonic()
                    try:
                        client.set_user_context(f"w{i}", user_context(f"w{i}", f"AT-{i}"))
                        writes.append((started, time.monotonic(), None, f"AT-{i}"))
                    except TokendError as error:
                        writes.append((started, time.monotonic(), error.code, f"AT-{i}"))
                    i += 1
                    time.sleep(0.01)
        # The sentinel both processes listen on (the first that answers) goes
        # away: they move on to the next one.
        self.sentinels[0].stop(remove=False)
        for node in (a, b):
            wait_for(lambda: "trying the next sentinel" in node.log(), what="the watcher to move on")
        thread = threading.Thread(target=bot)
        thread.start()
        try:
            time.sleep(0.3)
            self.assertEqual(self.sentinels[1].command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER)[1],
                             str(self.master.port).encode(), "a failover happened before the test asked")
            self.assertEqual(self.sentinels[1].command("SENTINEL", "FAILOVER", MASTER), b"OK")
            switched_at = time.monotonic()
            new = f"127.0.0.1:{self.replica.port}"
            for node in (a, b):
                wait_for(lambda: f"moved to {new}" in node.log(), timeout=30, what="the move to the new master")
            # Writes go through on the new master after the switch (with
            # wait_replicas once the old master is its replica: more time).
            moved = time.monotonic()
            wait_for(lambda: any(w[2] is None and w[0] > moved for w in writes), timeout=90,
                     what="a write on the new master")
            first_after = min(w[1] for w in writes if w[2] is None and w[0] > moved)
            print(f"\nfailover: both moved {moved - switched_at:.2f} s after SENTINEL FAILOVER", file=sys.stderr)
        finally:
            stop.set()
            thread.join(30)
        self.assertEqual(reads_failed, [], "a read was not answered from memory:\n" + a.log()[-6000:])
        for node in (a, b):
            self.assertEqual(node.log().count(f"master {MASTER} moved to"), 1, node.log())
        failures = [w for w in writes if w[2] is not None]
        self.assertEqual({w[2] for w in failures} - {"store_unavailable"}, set(), failures)
        for started, ended, _, _ in failures:
            self.assertLess(ended - started, 3.0, "a write during the switch did not fail fast")
        outage = (max(w[1] for w in failures) - min(w[0] for w in failures)) if failures else 0.0
        print(f"\nfailover ({extra}): {len(failures)} writes failed over {outage:.2f} s, "
              f"{len(writes) - len(failures)} succeeded; first write acknowledged on the new master "
              f"{first_after - switched_at:.2f} s after SENTINEL FAILOVER", file=sys.stderr)
        # Every write acknowledged after the move is on the new master.
        after = [w[3] for w in writes if w[2] is None and w[0] > moved]
        self.assertTrue(after)
        self.assertEqual([v for v in after if self.replica.command("EXISTS", "user-w" + v[3:]) == 0], [])
        acknowledged = [w for w in writes if w[2] is None]
        lost = [w for w in acknowledged if self.replica.command("EXISTS", "user-w" + w[3][3:]) == 0]
        window = (lost[-1][1] - lost[0][0]) if lost else 0.0
        print(f"failover: {len(lost)} of {len(acknowledged)} acknowledged writes lost, "
              f"acknowledged within {window:.2f} s before the move", file=sys.stderr)
        # The change feed resumed on the new master (after a resync) both ways.
        for node in (a, b):
            wait_for(lambda: "subscribed again" in node.log(), what="the subscriber to resubscribe")
        # With wait_replicas the write also needs the old master, now a replica,
        # to acknowledge it in time; under load its link may still be
        # settling, and store_unavailable is the answer a bot retries on.
        wait_for(lambda: unless_error("store_unavailable", lambda: b.client().set_user_context(
            "after", user_context("after", "AT-after"))), timeout=60, what="b's write on the new master",
            interval=0.2)
        served = wait_for(lambda: unless_error("not_found", lambda: a.client().get_token("after")),
                          what="b's write to reach a through the new master")
        self.assertEqual(served["access_token"], "AT-after")
        return lost


if __name__ == "__main__":
    unittest.main()
