"""tokend on the redis store, against a redis-server the test starts itself:
the original module's layout seen from Redis after a real flow, the Python bot's
data served, Redis going away and coming back under a running daemon, and
several tokend processes sharing one Redis."""

import datetime
import functools
import json
import os
import re
import subprocess
import sys
import time
import unittest

from harness import ROOT, Tokend, all_at_once, http_get, start_fake, unless_error, user_context, wait_for
from tokend_client import TokendClient, TokendError

sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
from redis_server import RedisServer  # noqa: E402


def original_json(user_id, access, refresh, expires_in):
    """What the original's pydantic .json() wrote: spaces after separators."""
    return json.dumps(user_context(user_id, access, expires_in, refresh, refresh_expires_in=86400 * 60,
                                   scope="spark:people_read spark:messages_write"))


def original_set_user_context(server, user_id, text):
    """RedisTokenManager.set_user_context: SET user-{id}, SADD users user-{id}."""
    server.command("SET", f"user-{user_id}", text)
    server.command("SADD", "users", f"user-{user_id}")


def original_get_user_context(server, user_id):
    """RedisTokenManager.get_user_context: GET user-{id} and parse it as the
    original's models did (fields by name, datetimes with fromisoformat)."""
    raw = server.command("GET", f"user-{user_id}")
    if raw is None:
        return None
    context = json.loads(raw)
    tokens = context["tokens"]
    for field in ("expires_at", "refresh_token_expires_at"):
        if tokens.get(field) is not None:
            parsed = datetime.datetime.fromisoformat(tokens[field])
            assert parsed.utcoffset() == datetime.timedelta(0), tokens[field]
    return context


class RedisTest(unittest.TestCase):
    processes = 1

    def setUp(self):
        self.redis = RedisServer().start()
        self.fake = start_fake()
        self.nodes = []

    def start_nodes(self, count=None, store_settings=None, extra_config=""):
        for _ in range(count or self.processes):
            node = Tokend(self.fake, store="redis", store_settings=store_settings, extra_config=extra_config,
                          store_options={"redis_url": f'"{self.redis.unix_url}"', "command_timeout_ms": 300,
                                         "connect_timeout_ms": 300})
            self.nodes.append(node.start())
        return self.nodes

    def tearDown(self):
        codes, logs = [], []
        for node in self.nodes:
            codes.append(node.stop())
            logs.append(node.log())
            node.close()
        self.fake.stop()
        self.redis.stop()
        for code, log in zip(codes, logs):
            self.assertEqual(code, 0, log)
            self.assertNotIn("RT-original", log)  # no token in any log line


class OneProcess(RedisTest):
    def test_a_flow_stores_the_context_in_the_originals_layout(self):
        (node,) = self.start_nodes()
        flow, _, (status, _, body) = node.complete_flow("alice")
        self.assertEqual(status, 200, body)
        self.assertIn("Authenticated", body)
        context = original_get_user_context(self.redis, "alice")
        self.assertEqual(context["user_id"], "alice")
        token = node.client().get_token("alice")["access_token"]
        self.assertEqual(context["tokens"]["access_token"], token)
        self.assertNotIn(token, node.log())
        self.assertNotIn(context["tokens"]["refresh_token"], node.log())
        self.assertEqual(self.redis.command("SMEMBERS", "users"), [b"user-alice"])
        # The flow was taken: neither its key nor its membership is left.
        self.assertEqual(self.redis.command("EXISTS", f"flows-{flow['flow_id']}"), 0)
        self.assertEqual(self.redis.command("SCARD", "flows"), 0)

    def test_the_maintenance_timer_collects_the_python_bots_abandoned_flows_by_itself(self):
        # Flows the Python bot started ten minutes ago and nobody finished; no
        # flow is started here and no flow_maintenance op sent: only the timer
        # (every second here) collects, under the lease.
        def abandon(flow_id):
            created = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=10)
            self.redis.command("SET", f"flows-{flow_id}", json.dumps({"user_id": "alice", "created": created.isoformat()}))
            self.redis.command("SADD", "flows", f"flows-{flow_id}")
        abandon("abandoned-1")
        (node,) = self.start_nodes(extra_config="flows:\n  maintenance_interval: 1\n")
        wait_for(lambda: self.redis.command("EXISTS", "flows-abandoned-1") == 0, what="the timer to delete the flow")
        self.assertEqual(self.redis.command("SCARD", "flows"), 0)
        mark = self.redis.command("GET", "flow-maintenance")
        self.assertIsNotNone(mark)  # the original's mark, so a Python bot does not sweep again
        # Each later tick sweeps too (the lease lapses before the holder's next tick).
        abandon("abandoned-2")
        wait_for(lambda: self.redis.command("EXISTS", "flows-abandoned-2") == 0, what="a later tick to delete it")
        self.assertIn("flow maintenance: deleted expired flow", node.log())

    def test_the_python_bots_data_is_served_and_tokends_writes_are_readable_by_it(self):
        tokens = self.fake.issue_tokens("bob")
        original_set_user_context(self.redis, "bob", original_json("bob", tokens["access_token"],
                                                                   tokens["refresh_token"], 3600))
        (node,) = self.start_nodes()
        self.assertEqual(node.client().get_token("bob")["access_token"], tokens["access_token"])
        node.client().set_user_context("carol", json.loads(original_json("carol", "AT-c", "RT-original", 3600)))
        self.assertEqual(original_get_user_context(self.redis, "carol")["tokens"]["access_token"], "AT-c")
        self.assertEqual(set(self.redis.command("SMEMBERS", "users")), {b"user-bob", b"user-carol"})
        node.client().set_user_context("carol", None)
        self.assertIsNone(original_get_user_context(self.redis, "carol"))
        self.assertEqual(self.redis.command("SMEMBERS", "users"), [b"user-bob"])

    def test_a_password_protected_redis_with_the_password_in_a_file(self):
        password = "pw-" + os.urandom(8).hex()
        with RedisServer(["--requirepass", password]) as locked:
            node = Tokend(self.fake, store="redis",
                          store_options={"redis_url": f'"{locked.unix_url}"', "password_file": "PWFILE"})
            self.nodes.append(node)
            with open(os.path.join(node.dir, "redis_password"), "w") as f:
                f.write(password + "\n")
            with open(node.config_path) as f:
                config = f.read().replace("PWFILE", os.path.join(node.dir, "redis_password"))
            with open(node.config_path, "w") as f:
                f.write(config)
            node.start()
            node.client().set_user_context("u1", json.loads(original_json("u1", "AT-pw", "RT-original", 3600)))
            with locked.client() as raw:
                raw.command("AUTH", password)
                self.assertIn(b"AT-pw", raw.command("GET", "user-u1"))
            self.assertNotIn(password, node.log())

    def test_redis_away_serves_cached_tokens_fails_writes_and_recovers_without_a_restart(self):
        (node,) = self.start_nodes()
        client = node.client()
        client.set_user_context("u1", json.loads(original_json("u1", "KEPT", "RT-original", 3600)))
        for fault, back in ((self.redis.kill, self.redis.restart), (self.redis.freeze, self.redis.thaw),
                            (self.redis.shutdown_nosave, self.redis.restart)):
            with self.subTest(fault=fault.__name__):
                fault()
                self.assertEqual(client.get_token("u1")["access_token"], "KEPT")  # from memory
                with self.assertRaises(TokendError) as raised:
                    client.set_user_context("u1", json.loads(original_json("u1", "NEW", "RT-original", 3600)))
                self.assertEqual(raised.exception.code, "store_unavailable")
                self.assertFalse(client.stats()["store"]["healthy"])
                back()
                def written():
                    client.set_user_context("u1", json.loads(original_json("u1", "KEPT", "RT-original", 3600)))
                    return True
                wait_for(lambda: unless_error("store_unavailable", written), what="recovery", interval=0.1)
                self.assertTrue(client.stats()["store"]["healthy"])
                self.assertEqual(original_get_user_context(self.redis, "u1")["tokens"]["access_token"], "KEPT")


class Readiness(RedisTest):
    def test_readyz_is_503_while_redis_is_down_and_200_when_it_is_back(self):
        (node,) = self.start_nodes(extra_config="metrics:\n  listen: 127.0.0.1:0\n")
        metrics = int(re.search(r"metrics listening on http://127\.0\.0\.1:(\d+)/metrics", node.log()).group(1))
        for port in (node.port, metrics):
            self.assertEqual(http_get(port, "/readyz")[::2], (200, "ready\n"))
        self.redis.kill()
        for port in (node.port, metrics):
            # Asked now, not from the last call's outcome: the first probe already sees it.
            status, _, body = http_get(port, "/readyz")
            self.assertEqual(status, 503, body)
            self.assertTrue(body.startswith("not ready: store unavailable: "), body)
        self.assertEqual(http_get(node.port, "/healthz")[0], 503)  # the probe's failure is the store's health
        self.redis.restart()
        wait_for(lambda: http_get(node.port, "/readyz")[0] == 200, what="ready again", interval=0.1)
        self.assertEqual(http_get(metrics, "/readyz")[0], 200)


class GarbageInRedis(RedisTest):
    def test_an_unreadable_change_keeps_the_cached_context(self):
        original_set_user_context(self.redis, "u1", original_json("u1", "AT-1", "RT-original", 3600))
        (node,) = self.start_nodes()
        self.assertEqual(node.client().get_token("u1")["access_token"], "AT-1")
        # Another writer leaves garbage and announces it (messages are
        # "{16-character origin}:{P|D}{u|f}:{key}"); a stranger publishes
        # nonsense on the channel.
        self.redis.command("SET", "user-u1", "{not json")
        self.redis.command("PUBLISH", "tokend-changes", "outsider00000000:Pu:u1")
        self.redis.command("PUBLISH", "tokend-changes", "nonsense")
        self.redis.command("PUBLISH", "tokend-changes", "")
        wait_for(lambda: "changed in the store but unreadable" in node.log(), what="the change to be read")
        self.assertEqual(node.client().get_token("u1")["access_token"], "AT-1")  # the cached one, kept
        # A readable change afterwards is applied as usual.
        original_set_user_context(self.redis, "u1", original_json("u1", "AT-3", "RT-original", 3600))
        self.redis.command("PUBLISH", "tokend-changes", "outsider00000000:Pu:u1")
        wait_for(lambda: node.client().get_token("u1")["access_token"] == "AT-3",
                 what="the readable change to be applied")


class ManyUsersAtStart(RedisTest):
    """Start-up loads every user in pages of entries (store ABI 1.1 list_entries:
    SSCAN, then one MGET per page) from what the original module wrote."""

    def test_hundreds_of_the_originals_users_are_served_and_an_unreadable_one_is_skipped(self):
        users = {f"Y2lz-{i:03d}": f"AT-start-{i}" for i in range(300)}
        for user_id, access in users.items():
            original_set_user_context(self.redis, user_id, original_json(user_id, access, "RT-original", 3600))
        original_set_user_context(self.redis, "broken", "{not json")
        (node,) = self.start_nodes()
        log = node.log()
        self.assertIn("loaded 300 user contexts (1 unreadable, skipped)", log)
        self.assertIn("user broken: stored context is unreadable", log)
        self.assertNotIn("{not json", log)
        # Loaded with MGETs (a page each), not a GET per user.
        stats = self.redis.command("INFO", "commandstats").decode()
        self.assertIn("cmdstat_mget:calls=", stats)
        self.assertNotIn("cmdstat_get:calls=", stats)
        client = node.client()
        for user_id, access in users.items():
            self.assertEqual(client.get_token(user_id)["access_token"], access)
        # The unreadable one is left in the store as it was.
        self.assertEqual(self.redis.command("GET", "user-broken"), b"{not json")
        self.assertEqual(self.redis.command("SCARD", "users"), 301)


class Resync(RedisTest):
    processes = 2

    def test_a_lost_subscription_resyncs_the_cache(self):
        original_set_user_context(self.redis, "u1", original_json("u1", "AT-1", "RT-original", 3600))
        a, b = self.start_nodes()
        self.assertEqual(b.client().get_token("u1")["access_token"], "AT-1")
        # A change nobody announced (the Python bot writes without publishing; a
        # message lost while a subscriber was away looks the same).
        original_set_user_context(self.redis, "u1", original_json("u1", "AT-2", "RT-original", 3600))
        time.sleep(0.3)
        self.assertEqual(b.client().get_token("u1")["access_token"], "AT-1")
        # Dropping the subscribers' connections makes them reconnect and resync.
        self.assertGreaterEqual(self.redis.command("CLIENT", "KILL", "TYPE", "pubsub"), 2)
        for node in (a, b):
            wait_for(lambda: node.client().get_token("u1")["access_token"] == "AT-2", what="the cache to resync")


class PeriodicResync(RedisTest):
    def test_writes_nobody_announced_reach_the_cache_at_the_next_periodic_resync(self):
        original_set_user_context(self.redis, "u1", original_json("u1", "AT-1", "RT-original", 3600))
        original_set_user_context(self.redis, "gone", original_json("gone", "AT-G", "RT-original", 3600))
        (node,) = self.start_nodes(store_settings={"resync_interval": 1})
        client = node.client()
        self.assertEqual(client.get_token("u1")["access_token"], "AT-1")
        self.assertEqual(client.get_token("gone")["access_token"], "AT-G")
        # The Python bot writes, adds and deletes without publishing anything.
        original_set_user_context(self.redis, "u1", original_json("u1", "AT-2", "RT-original", 3600))
        original_set_user_context(self.redis, "u2", original_json("u2", "AT-U2", "RT-original", 3600))
        self.redis.command("DEL", "user-gone")
        self.redis.command("SREM", "users", "user-gone")

        def token(user_id):  # None until the resync has read it (u2), or after it is gone
            answer = unless_error("not_found", lambda: client.get_token(user_id))
            return answer and answer["access_token"]

        wait_for(lambda: (token("gone"), token("u1"), token("u2")) == (None, "AT-2", "AT-U2"),
                 what="the periodic resync to pick up the changes", interval=0.1)
        self.assertGreaterEqual(client.stats()["store"]["resyncs"], 1)
        self.assertIn("store resync (periodic)", node.log())


class ForcedSweep(RedisTest):
    def python_bot_would_sweep(self):
        """The original's flow_maintenance_needed(): due when the mark is missing
        or at least 900 s old (read with fromisoformat, as it wrote it)."""
        mark = self.redis.command("GET", "flow-maintenance")
        if mark is None:
            return True
        written = datetime.datetime.fromisoformat(mark.decode())
        return datetime.datetime.now(datetime.timezone.utc) - written >= datetime.timedelta(seconds=900)

    def test_a_forced_sweep_writes_the_originals_mark_so_a_python_bot_does_not_sweep_again(self):
        (node,) = self.start_nodes()
        client = node.client()
        old_mark = "2026-01-01T00:00:00.000001+00:00"  # left by the Python bot long ago
        lease = "tokend-lease-flow-flow-maintenance"
        for lease_held in (False, True):
            with self.subTest(lease_held=lease_held):
                if lease_held:
                    # The first forced sweep took the sweep lease for the interval:
                    # this process holds it, and takes it anew.
                    holder = self.redis.command("GET", lease)
                    self.assertIsNotNone(holder)
                else:
                    self.redis.command("DEL", lease)  # whatever a sweep at start took
                self.redis.command("SET", "flow-maintenance", old_mark)
                self.assertTrue(self.python_bot_would_sweep())
                self.assertTrue(client.flow_maintenance(force=True)["ran"])
                mark = self.redis.command("GET", "flow-maintenance").decode()
                self.assertNotEqual(mark, old_mark, "a forced sweep left the original's mark alone")
                self.assertRegex(mark, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")
                self.assertFalse(self.python_bot_would_sweep())
                self.assertEqual(self.redis.command("TTL", "flow-maintenance"), -1)
                if lease_held:
                    self.assertNotEqual(self.redis.command("GET", lease), holder, "the lease was not taken anew")
        # A second forced sweep moves the mark on again.
        self.assertTrue(client.flow_maintenance(force=True)["ran"])
        self.assertGreater(self.redis.command("GET", "flow-maintenance").decode(), mark)


def documented_acl(password):
    """The ACL SETUSER of docs/redis.md, as arguments: the test runs exactly what
    the operators are told to run."""
    with open(os.path.join(ROOT, "docs", "redis.md"), encoding="utf-8") as f:
        text = f.read()
    start = text.index("ACL SETUSER tokend")
    block = text[start:text.index("```", start)]
    return [word.replace(">PASSWORD", ">" + password) for word in block.split()]


class LeastPrivilege(RedisTest):
    def test_tokend_works_under_exactly_the_documented_acl(self):
        password = "pw-acl-" + os.urandom(6).hex()
        self.assertEqual(self.redis.command(*documented_acl(password)), b"OK")
        self.redis.command("ACL", "LOG", "RESET")
        options = {"username": "tokend", "password": f'"{password}"'}
        tokens = self.fake.issue_tokens("bob")
        original_set_user_context(self.redis, "bob", original_json("bob", tokens["access_token"],
                                                                    tokens["refresh_token"], -60))
        created = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=10)
        self.redis.command("SET", "flows-abandoned", json.dumps({"user_id": "x", "created": created.isoformat()}))
        self.redis.command("SADD", "flows", "flows-abandoned")
        for _ in range(2):
            node = Tokend(self.fake, store="redis", extra_config="flows:\n  maintenance_interval: 1\n",
                          store_options={"redis_url": f'"{self.redis.url}"', **options})
            self.nodes.append(node.start())
        a, b = self.nodes
        # A flow on a; b hears of it over the change feed.
        _, _, (status, _, body) = a.complete_flow("alice")
        self.assertEqual(status, 200, body)
        token = a.client().get_token("alice")["access_token"]
        served = wait_for(lambda: unless_error("not_found", lambda: b.client().get_token("alice")),
                          what="the change to reach b")
        self.assertEqual(served["access_token"], token)
        # A refresh (bob's token has expired) under the lease and fence.
        fresh = b.client().get_token("bob")["access_token"]
        self.assertNotEqual(fresh, tokens["access_token"])
        self.assertEqual(self.fake.state()["token_requests"]["refresh_token"]["ok"], 1)
        # Flow maintenance: the timer's sweep and a forced one.
        wait_for(lambda: self.redis.command("EXISTS", "flows-abandoned") == 0, what="the sweep")
        self.assertTrue(a.client().flow_maintenance(force=True)["ran"])
        self.assertIsNotNone(self.redis.command("GET", "flow-maintenance"))
        a.client().set_user_context("alice", None)
        wait_for(lambda: unless_error("not_found", lambda: b.client().get_token("alice")) is None,
                 what="the clear to reach b")
        self.assertEqual(self.redis.command("ACL", "LOG"), [], "something was refused")
        for node in self.nodes:
            self.assertNotIn("NOPERM", node.log())
            self.assertNotIn("refused INFO", node.log())
            self.assertNotIn(password, node.log())


class ClusterRefused(unittest.TestCase):
    def test_a_cluster_node_is_refused_at_start_with_the_reason(self):
        with RedisServer(["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]) as node_server:
            self.assertIn(b"cluster_enabled:1", node_server.command("INFO", "cluster"))
            node = Tokend(None, store="redis", store_options={"redis_url": f'"{node_server.url}"'})
            try:
                with self.assertRaises(RuntimeError) as stopped:
                    node.start()
            finally:
                node.close()
            message = str(stopped.exception)
            self.assertIn("is a Redis Cluster node (cluster_enabled:1): not supported", message)
            self.assertIn("CROSSSLOT", message)
            self.assertIn("docs/redis.md", message)


class ExampleConfig(unittest.TestCase):
    def test_the_shipped_redis_example_is_a_valid_configuration(self):
        from harness import PLUGIN_DIR, TOKEND_BIN
        example = os.path.join(ROOT, "etc", "tokend-redis.yml")
        # The redis plugin checks its options without connecting: no Redis runs here.
        checked = subprocess.run([TOKEND_BIN, "--plugin-dir", PLUGIN_DIR, "--check-config", "-c", example],
                                 capture_output=True, text=True)
        self.assertEqual(checked.returncode, 0, checked.stdout + checked.stderr)
        self.assertIn(": ok", checked.stdout)


class ThreeProcesses(RedisTest):
    processes = 3

    def test_a_flow_started_on_one_is_finished_on_another(self):
        a, b, c = self.start_nodes()
        flow = a.client().start_flow("alice")
        query = a.authorize(flow["auth_url"], {"user_id": "alice"})
        status, _, body = b.redirect(query)
        self.assertEqual(status, 200, body)
        self.assertIn("Authenticated", body)
        token = b.client().get_token("alice")["access_token"]
        # The others hear of the new context through Redis pub/sub.
        for node in (a, c):
            served = wait_for(lambda: unless_error("not_found", lambda: node.client().get_token("alice")),
                              what="the context to reach the others", interval=0.02)
            self.assertEqual(served["access_token"], token)
        # The state was single-use across processes.
        status, _, body = c.redirect(query)
        self.assertNotEqual(status, 200, body)
        self.assertEqual(self.fake.state()["token_requests"]["authorization_code"]["ok"], 1)

    def ask_everyone(self, nodes, per_node=3):
        answers, errors = [], []

        def ask(node):
            try:
                with TokendClient(node.socket, timeout=20) as own:
                    answers.append(own.get_token("alice")["access_token"])
            except TokendError as error:
                errors.append(error.code)
        all_at_once([functools.partial(ask, node) for node in nodes for _ in range(per_node)])
        return answers, errors

    def assert_one_refresh(self):
        state = self.fake.state()
        self.assertEqual(state["token_requests"]["refresh_token"]["ok"], 1)
        self.assertEqual(state["token_requests"]["refresh_token"]["error"], 0)
        self.assertEqual(state["reuse_detected"]["refresh_token"], 0)

    def assert_everyone_serves(self, nodes, token):
        for node in nodes:
            wait_for(lambda: node.client().get_token("alice")["access_token"] == token,
                     what="the refreshed token to reach every process", interval=0.02)

    def test_a_token_is_refreshed_by_exactly_one_process_while_all_three_are_asked(self):
        # 30 s left: inside the refresh margin, still valid. One process takes
        # the lease and refreshes; the others may answer with the still-valid
        # token meanwhile, and hear of the new one through Redis.
        tokens = self.fake.issue_tokens("alice")
        original_set_user_context(self.redis, "alice", original_json("alice", tokens["access_token"],
                                                                      tokens["refresh_token"], 30))
        nodes = self.start_nodes()
        answers, errors = self.ask_everyone(nodes)
        self.assertEqual(errors, [])
        self.assert_one_refresh()
        fresh = original_get_user_context(self.redis, "alice")["tokens"]["access_token"]
        self.assertNotEqual(fresh, tokens["access_token"])
        self.assertLessEqual(set(answers), {tokens["access_token"], fresh})
        self.assert_everyone_serves(nodes, fresh)

    def test_an_expired_token_is_refreshed_once_and_every_process_answers_with_the_new_one(self):
        tokens = self.fake.issue_tokens("alice")
        original_set_user_context(self.redis, "alice", original_json("alice", tokens["access_token"],
                                                                      tokens["refresh_token"], -60))
        nodes = self.start_nodes()
        answers, errors = self.ask_everyone(nodes)
        self.assertEqual(errors, [])
        self.assert_one_refresh()
        fresh = original_get_user_context(self.redis, "alice")["tokens"]["access_token"]
        self.assertEqual(set(answers), {fresh}, "an expired token is never handed out")

    def test_a_context_cleared_on_one_disappears_from_the_others_within_a_second(self):
        original_set_user_context(self.redis, "u1", original_json("u1", "AT-1", "RT-original", 3600))
        a, b, c = self.start_nodes()
        for node in (a, b, c):
            self.assertEqual(node.client().get_token("u1")["access_token"], "AT-1")
        a.client().set_user_context("u1", None)
        cleared_at = time.monotonic()
        for node in (b, c):
            wait_for(lambda: unless_error("not_found", lambda: node.client().get_token("u1")) is None,
                     timeout=max(0.0, cleared_at + 1.0 - time.monotonic()),  # the issue's bound; it takes ms
                     what="the context to be gone everywhere", interval=0.02)


if __name__ == "__main__":
    unittest.main()
