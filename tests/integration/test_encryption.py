"""Encryption at rest (issue 14) with the real daemon: the yaml file and every
Redis value hold no token bytes after a full flow and a refresh; a missing or
wrong key; the online re-encryption under get_token load, after kill -9, and
the plain -> encrypted -> plain round trip that leaves a store the original
Python module's models read."""

import base64
import datetime
import json
import os
import signal
import subprocess
import sys
import threading
import unittest

import yaml

from harness import ROOT, TOKEND_BIN, PLUGIN_DIR, Tokend, start_fake, user_context, wait_for
from tokend_client import TokendError

sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
from redis_server import RedisServer  # noqa: E402

TOKENCTL_BIN = os.environ.get("TOKENCTL_BIN", os.path.join(ROOT, "build", "tools", "tokenctl", "tokenctl"))


def write_key(directory, name, raw=None):
    """A key file: 32 random bytes as base64 (the documented form)."""
    raw = raw or os.urandom(32)
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(base64.b64encode(raw).decode() + "\n")
    os.chmod(path, 0o400)
    return path


def encryption_config(active, keys):
    """keys: [(id, path)]."""
    lines = ["encryption:"]
    if active:
        lines.append(f"  active_key: {active}")
    lines.append("  keys:")
    lines += [f"    - {{id: {key_id}, file: {path}}}" for key_id, path in keys]
    return "\n".join(lines) + "\n"


def readers():
    return f"control:\n  refresh_token_readers: {{uids: [{os.getuid()}]}}\n"


def set_config(node, extra):
    """Rewrites the node's configuration: its base lines plus extra."""
    with open(node.config_path) as f:
        text = f.read()
    base = text.split("encryption:")[0].split("control:\n  refresh_token_readers")[0]
    with open(node.config_path, "w") as f:
        f.write(base.rstrip("\n") + "\n" + readers() + extra)


def original_parse(text):
    """The original module's models, as tests/integration/test_redis.py checks
    them: fields by name, datetimes with fromisoformat, tokens as plain strings."""
    context = json.loads(text) if isinstance(text, (str, bytes)) else text
    tokens = context["tokens"]
    for field in ("expires_at", "refresh_token_expires_at"):
        if tokens.get(field) is not None:
            datetime.datetime.fromisoformat(tokens[field])
    for field in ("access_token", "refresh_token"):
        assert tokens.get(field) is None or not tokens[field].startswith("enc:"), field
    return context


def tokenctl(node, *args, timeout=120):
    return subprocess.run([TOKENCTL_BIN, "-s", node.socket, *args], capture_output=True, text=True, timeout=timeout)


class EncryptionCase(unittest.TestCase):
    def setUp(self):
        self.fake = start_fake()
        self.nodes = []

    def tearDown(self):
        for node in self.nodes:
            code = node.stop()
            log = node.log()
            node.close()
            if not getattr(node, "refused", False):
                self.assertIn(code, (0, -9, None), log)
            for secret in getattr(self, "secrets", ()):
                self.assertNotIn(secret, log)
        self.fake.stop()

    def node(self, extra="", **options):
        node = Tokend(self.fake, extra_config=readers() + extra, **options)
        self.nodes.append(node)
        return node

    def restart(self, node, extra):
        self.assertEqual(node.stop(), 0, node.log())
        return self.restart_stopped(node, extra)

    def restart_stopped(self, node, extra):
        """Starts a stopped node again on a fresh log (start() waits for a line of the new run)."""
        set_config(node, extra)
        node._log.close()
        os.truncate(node.log_path, 0)
        return node.start()


class NoTokenBytes(EncryptionCase):
    def flow_and_refresh(self, node):
        _, _, (status, _, body) = node.complete_flow("alice")
        self.assertEqual(status, 200, body)
        client = node.client()
        first = client.get_user_context("alice")["tokens"]
        refreshed = client.refresh("alice")["access_token"]
        second = client.get_user_context("alice")["tokens"]
        self.assertNotEqual(first["access_token"], refreshed)
        secrets = {first["access_token"], first["refresh_token"], second["access_token"], second["refresh_token"]}
        self.assertNotIn(None, secrets)
        self.secrets = secrets
        return secrets

    def test_the_yaml_file_holds_no_token_bytes_after_a_flow_and_a_refresh(self):
        node = self.node()
        key = write_key(node.dir, "k1")
        set_config(node, encryption_config("k1", [("k1", key)]))
        node.start()
        # A flow left pending holds its PKCE verifier: sealed too.
        node.client().start_flow("bob")
        secrets = self.flow_and_refresh(node)
        state = os.path.join(node.dir, "state")
        blobs = {name: open(os.path.join(state, name), "rb").read() for name in os.listdir(state)
                 if name.startswith("users")}
        self.assertIn("users.yml", blobs)
        for name, blob in blobs.items():
            for secret in secrets:
                self.assertNotIn(secret.encode(), blob, name)
        stored = yaml.safe_load(blobs["users.yml"])
        tokens = stored["alice"]["tokens"] if "alice" in stored else stored["users"]["alice"]["tokens"]
        self.assertTrue(tokens["access_token"].startswith("enc:v1:k1:"))
        self.assertTrue(tokens["refresh_token"].startswith("enc:v1:k1:"))
        flows = b"".join(blob for name, blob in blobs.items() if "flows" in name)
        self.assertIn(b"code_verifier: \"enc:v1:k1:", flows, "the pending flow's verifier is sealed")
        self.assertIn("encryption at rest: on, writing with key k1; 0 stored contexts could not be decrypted", node.log())
        # Served after a restart (decrypted at load).
        node = self.restart(node, encryption_config("k1", [("k1", key)]))
        self.assertIn(node.client().get_token("alice")["access_token"], secrets)

    def test_every_redis_value_holds_no_token_bytes_after_a_flow_and_a_refresh(self):
        redis = RedisServer().start()
        self.addCleanup(redis.stop)
        node = self.node(store="redis", store_options={"redis_url": f'"{redis.unix_url}"'})
        key = write_key(node.dir, "k1")
        set_config(node, encryption_config("k1", [("k1", key)]))
        node.start()
        node.client().start_flow("bob")
        secrets = self.flow_and_refresh(node)
        values = 0
        for name in redis.command("KEYS", "*"):
            kind = redis.command("TYPE", name)
            if kind in (b"string", "string", b"+string"):
                blobs = [redis.command("GET", name)]
            elif kind in (b"set", "set"):
                blobs = redis.command("SMEMBERS", name)
            elif kind in (b"hash", "hash"):
                blobs = redis.command("HGETALL", name)
            else:
                blobs = [json.dumps(redis.command("DUMP", name), default=repr).encode()]
            for blob in blobs:
                values += 1
                for secret in secrets:
                    self.assertNotIn(secret.encode(), blob, name)
        self.assertGreater(values, 2)
        stored = json.loads(redis.command("GET", "user-alice"))
        self.assertTrue(stored["tokens"]["access_token"].startswith("enc:v1:k1:"))
        self.assertEqual(stored["user_id"], "alice")  # the original's shape, only the secrets opaque


class ThirdPartyPlugin(EncryptionCase):
    def test_the_sdk_example_plugin_holds_only_ciphertext(self):
        """The SDK's example store (in memory, built here as a third party
        builds it) is given only sealed values: after a flow, a refresh and a
        pending flow, reencrypt reads every record back from the plugin and
        finds each one already sealed under the active key (current) and
        decrypting; nothing was plain text to rewrite."""
        build = os.path.join(self.fake_dir(), "example")
        os.makedirs(build)
        plugin = os.path.join(build, "tokend_store_example.so")
        compiled = subprocess.run(
            ["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-fvisibility=hidden",
             "-I", os.path.join(ROOT, "sdk", "include"), "-Wl,--no-undefined", "-o", plugin,
             os.path.join(ROOT, "sdk", "examples", "example-store", "example_store.c")],
            capture_output=True, text=True)
        self.assertEqual(compiled.returncode, 0, compiled.stderr)
        node = self.node(store=plugin)
        key = write_key(node.dir, "k1")
        set_config(node, encryption_config("k1", [("k1", key)]))
        node.start()
        _, _, (status, _, body) = node.complete_flow("alice")
        self.assertEqual(status, 200, body)
        node.client().refresh("alice")
        node.client().set_user_context("bob", user_context("bob", access="AT-bob", refresh="RT-bob"))
        node.client().start_flow("carol")
        result = tokenctl(node, "--json", "reencrypt")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        report = json.loads(result.stdout)["result"]
        self.assertEqual(report["contexts"], {"examined": 2, "rewritten": 0, "current": 2, "unreadable": 0, "gone": 0,
                                              "busy": 0})
        self.assertEqual(report["flows"]["current"], 1)
        self.assertEqual(report["flows"]["rewritten"], 0)

    def fake_dir(self):
        import tempfile
        directory = tempfile.mkdtemp(prefix="tokend-ex-", dir="/tmp")
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", directory]))
        return directory


class Failures(EncryptionCase):
    def test_a_missing_key_file_refuses_the_start_naming_the_key(self):
        node = self.node()
        set_config(node, encryption_config("k1", [("k1", os.path.join(node.dir, "no-such-key"))]))
        node.refused = True
        with self.assertRaises(RuntimeError) as raised:
            node.start(timeout=10)
        self.assertIn("encryption key k1", str(raised.exception))
        self.assertIn("no-such-key", str(raised.exception))

    def test_a_key_of_the_wrong_size_refuses_the_start(self):
        node = self.node()
        path = os.path.join(node.dir, "short")
        with open(path, "w") as f:
            f.write(base64.b64encode(os.urandom(16)).decode())
        set_config(node, encryption_config("k1", [("k1", path)]))
        node.refused = True
        with self.assertRaises(RuntimeError) as raised:
            node.start(timeout=10)
        self.assertIn("encryption key k1", str(raised.exception))
        self.assertIn("16 bytes, not 32", str(raised.exception))

    def test_a_wrong_key_or_an_unknown_key_id_leaves_the_entry_untouched_and_unserved(self):
        node = self.node()
        k1 = write_key(node.dir, "k1")
        set_config(node, encryption_config("k1", [("k1", k1)]))
        node.start()
        tokens = self.fake.issue_tokens("alice")
        self.secrets = {tokens["access_token"], tokens["refresh_token"]}
        node.client().set_user_context("alice", user_context("alice", tokens=tokens))
        node.client().set_user_context("bob", user_context("bob", access="AT-bob", refresh="RT-bob"))
        users = os.path.join(node.dir, "state", "users.yml")
        # A tampered value (bob's access token, one character changed in its base64).
        node.stop()
        text = open(users).read()
        marker = text.index("enc:v1:k1:", text.index("bob"))
        cut = marker + len("enc:v1:k1:") + 20
        tampered = text[:cut] + ("A" if text[cut] != "A" else "B") + text[cut + 1:]
        with open(users, "w") as f:
            f.write(tampered)
        # Wrong key under the same id: nothing decrypts.
        wrong = write_key(node.dir, "k1-wrong")
        node = self.restart_stopped(node, encryption_config("k1", [("k1", wrong)]))
        log = node.log()
        self.assertIn("user alice: stored context cannot be decrypted: access_token under key id k1", log)
        self.assertIn("2 stored contexts could not be decrypted", log)
        with self.assertRaises(TokendError) as raised:
            node.client().get_token("alice")
        self.assertEqual(raised.exception.code, "not_found")
        # A write over it is refused, naming the key id; the file is untouched.
        with self.assertRaises(TokendError) as raised:
            node.client().set_user_context("alice", user_context("alice", access="AT-new", refresh=None))
        self.assertIn("key id k1", str(raised.exception))
        self.assertEqual(open(users).read(), tampered)
        # Another key id only (k1 no longer in the ring): named as unknown.
        k2 = write_key(node.dir, "k2")
        node = self.restart(node, encryption_config("k2", [("k2", k2)]))
        self.assertIn("access_token under key id k1: no such key in the key ring", node.log())
        self.assertEqual(open(users).read(), tampered)
        # The right key: alice is served again; bob's tampered value is named, still not served.
        node = self.restart(node, encryption_config("k1", [("k1", k1)]))
        self.assertEqual(node.client().get_token("alice")["access_token"], tokens["access_token"])
        self.assertIn("user bob: stored context cannot be decrypted: access_token under key id k1: does not decrypt",
                      node.log())
        self.assertIn("1 stored contexts could not be decrypted", node.log())
        with self.assertRaises(TokendError):
            node.client().get_token("bob")
        # The rotation reports it by user and key id and leaves it.
        result = tokenctl(node, "--json", "reencrypt")
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        report = json.loads(result.stdout)["result"]
        self.assertEqual(report["contexts"]["unreadable"], 1)
        self.assertEqual(report["unreadable"][0]["key"], "bob")
        self.assertEqual(report["unreadable"][0]["key_id"], "k1")
        self.assertIn("enc:v1:k1:", open(users).read())



def seed_plain_redis(redis, count):
    """count users in the original module's Redis layout, plain text."""
    for start in range(0, count, 500):
        args = []
        for i in range(start, min(count, start + 500)):
            uid = f"user{i:05d}"
            args += [f"user-{uid}", json.dumps(user_context(uid, access=f"AT-{uid}", refresh=f"RT-{uid}"))]
        redis.command("MSET", *args)
        redis.command("SADD", "users", *[f"user-user{i:05d}" for i in range(start, min(count, start + 500))])


def key_ids(redis, count):
    ids = {}
    for i in range(count):
        value = json.loads(redis.command("GET", f"user-user{i:05d}"))["tokens"]["access_token"]
        kid = value.split(":")[2] if value.startswith("enc:") else "plain"
        ids[kid] = ids.get(kid, 0) + 1
    return ids


class Rotation(EncryptionCase):
    def redis_node(self, redis):
        return self.node(store="redis", store_options={"redis_url": f'"{redis.unix_url}"'})

    def test_rotation_under_get_token_load_has_no_failed_read(self):
        count = 600
        redis = RedisServer().start()
        self.addCleanup(redis.stop)
        seed_plain_redis(redis, count)
        node = self.redis_node(redis)
        k1, k2 = write_key(node.dir, "k1"), write_key(node.dir, "k2")
        set_config(node, encryption_config("k1", [("k1", k1)]))
        node.start()
        self.assertEqual(tokenctl(node, "reencrypt").returncode, 0)  # plain -> k1
        self.assertEqual(key_ids(redis, count), {"k1": count})
        node = self.restart(node, encryption_config("k2", [("k2", k2), ("k1", k1)]))
        stop = threading.Event()
        failures, reads = [], [0]

        def reader():
            client = type(node.client())(node.socket, timeout=30)
            i = 0
            while not stop.is_set():
                uid = f"user{i % count:05d}"
                try:
                    if client.get_token(uid)["access_token"] != f"AT-{uid}":
                        failures.append(uid)
                except Exception as error:  # noqa: BLE001
                    failures.append(f"{uid}: {error}")
                reads[0] += 1
                i += 7
            client.close()

        threads = [threading.Thread(target=reader) for _ in range(2)]
        for thread in threads:
            thread.start()
        try:
            result = tokenctl(node, "--json", "reencrypt")
        finally:
            stop.set()
            for thread in threads:
                thread.join()
        self.assertEqual(result.returncode, 0, result.stderr)
        report = json.loads(result.stdout)["result"]
        self.assertEqual(report["contexts"]["rewritten"], count)
        self.assertEqual(failures, [])
        self.assertGreater(reads[0], 0)
        self.assertEqual(key_ids(redis, count), {"k2": count})
        # Run again: everything current, nothing rewritten.
        again = json.loads(tokenctl(node, "--json", "reencrypt").stdout)["result"]
        self.assertEqual(again["contexts"]["current"], count)
        self.assertEqual(again["contexts"]["rewritten"], 0)

    def test_yaml_rotation_writes_a_page_at_once_and_loses_no_concurrent_write(self):
        """The yaml store rewrites its whole file per commit, so the rotation
        writes a page's records from several threads at once (the group commit
        covers them together). Each is still a compare-and-put: bots' writes
        landing meanwhile survive, every record is counted once, the
        unreadable ones are named, and get_token never fails."""
        count, foreign = 1300, ["user00011", "user00640", "user01201"]  # on each of 3 pages
        node = self.node()
        k1 = write_key(node.dir, "k1")
        os.makedirs(os.path.join(node.dir, "state"), exist_ok=True)
        users = os.path.join(node.dir, "state", "users.yml")
        sealed = {}
        with open(users, "w") as f:
            for i in range(count):
                uid = f"user{i:05d}"
                context = user_context(uid, access=f"AT-{uid}", refresh=f"RT-{uid}")
                if uid in foreign:  # sealed under a key the ring does not hold
                    for field in ("access_token", "refresh_token"):
                        context["tokens"][field] = "enc:v1:k0:" + base64.urlsafe_b64encode(os.urandom(60)).decode(
                        ).rstrip("=")
                    sealed[uid] = context["tokens"]["access_token"]
                f.write(json.dumps(uid) + ": " + json.dumps(context) + "\n")
        set_config(node, encryption_config("k1", [("k1", k1)]))
        node.start()
        expected = {f"user{i:05d}": f"AT-user{i:05d}" for i in range(count)}
        stop = threading.Event()
        failures, writes, reads = [], [0], [0]

        def write(client, uid, i):
            access = f"AT-{uid}-w{i}"
            client.set_user_context(uid, user_context(uid, access=access, refresh=f"RT-{uid}-w{i}"), force=True)
            expected[uid] = access
            writes[0] += 1

        def read(client, uid, i):
            client.get_token(uid)
            reads[0] += 1

        def racing(call, stride):
            """Calls call(client, uid, i) on readable users until stopped."""
            client = type(node.client())(node.socket, timeout=60)
            i = 0
            while not stop.is_set():
                uid = f"user{(i * stride) % count:05d}"
                i += 1
                if uid in foreign:
                    continue
                try:
                    call(client, uid, i)
                except Exception as error:  # noqa: BLE001
                    failures.append(f"{call.__name__} {uid}: {error}")
            client.close()

        threads = [threading.Thread(target=racing, args=(write, 37)), threading.Thread(target=racing, args=(read, 11))]
        for thread in threads:
            thread.start()
        try:
            wait_for(lambda: writes[0] >= 5, what="some writes before the rotation")
            result = tokenctl(node, "--json", "reencrypt")
            wait_for(lambda: writes[0] >= 10, what="writes racing the rotation")
        finally:
            stop.set()
            for thread in threads:
                thread.join()
        self.assertEqual(failures, [])
        self.assertGreater(reads[0], 0)
        self.assertEqual(result.returncode, 1, result.stderr)  # records it could not read
        report = json.loads(result.stdout)["result"]
        contexts = report["contexts"]
        self.assertEqual(contexts["examined"], count, report)
        self.assertEqual(contexts["unreadable"], len(foreign), report)
        self.assertEqual((contexts["gone"], contexts["busy"]), (0, 0), report)
        self.assertEqual(contexts["rewritten"] + contexts["current"] + contexts["unreadable"], count, report)
        self.assertGreater(contexts["rewritten"], count // 2, report)
        self.assertEqual([(r["key"], r["key_id"]) for r in report["unreadable"]], [(u, "k0") for u in foreign])
        # Every readable record sealed under k1, no token bytes left, the
        # foreign ones untouched, and every bot's write kept.
        with open(users, "rb") as f:
            text = f.read()
        self.assertEqual((text.count(b"AT-user"), text.count(b"RT-user")), (0, 0), "token bytes left")
        stored = yaml.safe_load(text)
        for uid in expected:
            access = stored[uid]["tokens"]["access_token"]
            if uid in foreign:
                self.assertEqual(access, sealed[uid])
            else:
                self.assertTrue(access.startswith("enc:v1:k1:"), (uid, access))
        client = node.client()
        for uid, access in expected.items():
            if uid not in foreign:
                self.assertEqual(client.get_token(uid)["access_token"], access, uid)
        again = json.loads(tokenctl(node, "--json", "reencrypt").stdout)["result"]["contexts"]
        self.assertEqual((again["current"], again["rewritten"]), (count - len(foreign), 0))

    def test_kill_9_during_rotation_then_a_second_run_finishes_it_and_nothing_is_lost(self):
        count = 6000
        redis = RedisServer().start()
        self.addCleanup(redis.stop)
        seed_plain_redis(redis, count)
        node = self.redis_node(redis)
        k1 = write_key(node.dir, "k1")
        set_config(node, encryption_config("k1", [("k1", k1)]))
        node.start()
        running = subprocess.Popen([TOKENCTL_BIN, "-s", node.socket, "reencrypt"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)

        def some_rewritten():
            for i in range(0, count, 97):
                value = json.loads(redis.command("GET", f"user-user{i:05d}"))["tokens"]["access_token"]
                if value.startswith("enc:"):
                    return True
            return False
        wait_for(some_rewritten, what="the rotation to rewrite some records", interval=0.001)
        # Redis frozen at once, so the run cannot reach its end before the kill.
        redis.freeze()
        node.process.send_signal(signal.SIGKILL)
        node.process.wait()
        redis.thaw()
        running.wait(timeout=30)
        partial = key_ids(redis, count)
        self.assertGreater(partial.get("plain", 0), 0, "killed before the end")
        node = self.restart_stopped(node, encryption_config("k1", [("k1", k1)]))
        result = tokenctl(node, "--json", "reencrypt")
        self.assertEqual(result.returncode, 0, result.stderr)
        report = json.loads(result.stdout)["result"]
        self.assertEqual(report["contexts"]["rewritten"] + report["contexts"]["current"], count)
        self.assertEqual(report["contexts"]["current"], partial.get("k1", 0))
        self.assertEqual(key_ids(redis, count), {"k1": count})
        client = node.client()
        for i in range(0, count, 13):
            uid = f"user{i:05d}"
            self.assertEqual(client.get_token(uid)["access_token"], f"AT-{uid}")
        self.assertNotIn("RT-user", node.log())

    def test_plain_to_encrypted_to_plain_round_trip_leaves_a_store_the_original_reads(self):
        node = self.node()
        k1 = write_key(node.dir, "k1")
        node.start()
        client = node.client()
        for i in range(20):
            client.set_user_context(f"u{i}", user_context(f"u{i}", access=f"AT-u{i}", refresh=f"RT-u{i}"))
        users = os.path.join(node.dir, "state", "users.yml")

        def contexts():
            stored = yaml.safe_load(open(users))
            return {k: v for k, v in stored.items() if isinstance(v, dict) and "tokens" in v}
        for context in contexts().values():
            original_parse(json.loads(json.dumps(context, default=str)))
        # plain -> encrypted
        node = self.restart(node, encryption_config("k1", [("k1", k1)]))
        result = tokenctl(node, "reencrypt")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("contexts: 20 examined, 20 rewritten", result.stdout)
        self.assertTrue(all(c["tokens"]["access_token"].startswith("enc:v1:k1:") for c in contexts().values()))
        self.assertNotIn(b"AT-u", open(users, "rb").read())
        self.assertNotIn(b"RT-u", open(users, "rb").read())
        # encrypted -> plain (the documented downgrade: keys kept, no active key)
        node = self.restart(node, encryption_config(None, [("k1", k1)]))
        result = tokenctl(node, "reencrypt")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("(plain text)", result.stdout)
        # No encryption at all: served, and the original's models parse every entry.
        node = self.restart(node, "")
        for i in range(20):
            self.assertEqual(node.client().get_token(f"u{i}")["access_token"], f"AT-u{i}")
        stored = contexts()
        self.assertEqual(len(stored), 20)
        for uid, context in stored.items():
            parsed = original_parse(json.loads(json.dumps(context, default=str)))
            self.assertEqual(parsed["tokens"]["refresh_token"], f"RT-{uid}")


if __name__ == "__main__":
    unittest.main()
