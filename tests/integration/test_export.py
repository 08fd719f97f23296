"""Issue 18 item 6: tokenctl export and import against real daemons, on the yaml
store and on a redis-server the test starts itself: a round trip between
stores, conflicts decided by the newer grant, the dry run, a caller outside
control.refresh_token_readers, malformed and cut files (nothing written), and
the export op's snapshot paged over one connection."""

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import unittest

import yaml

from bot_support import Raw
from harness import ROOT, TOKEND_BIN, PLUGIN_DIR, Tokend, request_as, start_fake, user_context

sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
from redis_server import RedisServer  # noqa: E402

TOKENCTL = os.environ.get("TOKENCTL_BIN", os.path.join(ROOT, "build", "tools", "tokenctl", "tokenctl"))
# libyaml's C dumper and loader: PyYAML's pure-Python ones take seconds for thousands of users.
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
READERS = f"control:\n  refresh_token_readers: {{uids: [{os.getuid()}]}}\n"


def ctl(tokend, *args, stdin=None):
    return subprocess.run([TOKENCTL, "--socket", tokend.socket, *args], input=stdin, capture_output=True,
                          text=True, timeout=120)


def contexts_of(tokend):
    """Every context tokend holds, refresh tokens included (the test is a reader)."""
    client = tokend.client()
    users = client.list_users(limit=1000)["users"]
    return {user: client.get_user_context(user) for user in users}


def varied_contexts():
    """Contexts that exercise the format: a plain one, one without a refresh
    token, one with fields tokend does not know, ids YAML would misread plain."""
    plain = user_context("alice", access="AT-alice", refresh="RT-alice")
    no_refresh = user_context("bob", access="AT-bob", refresh=None)
    no_refresh["tokens"]["refresh_token_expires_at"] = None
    extra = user_context("carol", access="AT-carol", refresh="RT-carol")
    extra["tokens"]["id_token"] = "opaque"
    extra["note"] = {"nested": [1, 2.5, "x\ny", None, True]}
    yes = user_context("yes", access="AT-yes: # not a comment", refresh="RT-yes")
    unicode = user_context("Y2lzY29zcGFyazovL3VzL1BFT1BMRS-é", access="AT-ü", refresh="RT-ü")
    return [plain, no_refresh, extra, yes, unicode]


class ExportImportCase(unittest.TestCase):
    def setUp(self):
        self.fake = start_fake()
        self.dir = tempfile.mkdtemp(prefix="tokexp-", dir="/tmp")
        self.daemons = []
        self.redis = None

    def tearDown(self):
        codes = []
        for tokend in self.daemons:
            codes.append((tokend.stop(), tokend.log()))
            tokend.close()
        self.fake.stop()
        if self.redis is not None:
            self.redis.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
        for code, log in codes:
            self.assertEqual(code, 0, log)
            self.assertNotIn("RT-alice", log)  # never a token in the log

    def start(self, store="yaml", extra_config=READERS):
        if store == "redis":
            if self.redis is None:
                self.redis = RedisServer().start()
            tokend = Tokend(self.fake, store="redis", extra_config=extra_config,
                            store_options={"redis_url": f'"{self.redis.unix_url}"'})
        else:
            tokend = Tokend(self.fake, store=store, extra_config=extra_config)
        self.daemons.append(tokend.start())
        return tokend

    def load(self, tokend, contexts):
        for context in contexts:
            tokend.client().set_user_context(context["user_id"], context)

    def export(self, tokend, name, *flags):
        path = os.path.join(self.dir, name)
        out = ctl(tokend, "export", "-o", path, *flags)
        self.assertEqual(out.returncode, 0, out.stderr)
        return path


class RoundTrip(ExportImportCase):
    def test_yaml_to_redis_to_yaml_keeps_every_context(self):
        source = self.start("yaml")
        self.load(source, varied_contexts())
        expected = contexts_of(source)
        self.assertEqual(len(expected), 5)
        first = self.export(source, "first.yml")
        self.assertEqual(os.stat(first).st_mode & 0o777, 0o600)  # it holds tokens
        with open(first, encoding="utf-8") as f:
            text = f.read()
        # The users.yml format: what PyYAML (the original module) reads is the
        # mapping user id -> context, every value as tokend holds it.
        self.assertEqual(yaml.safe_load(text), expected)
        self.assertTrue(text.startswith("# tokend export"))
        self.assertTrue(text.endswith("# end of tokend export: 5 user contexts\n"))

        on_redis = self.start("redis")
        out = ctl(on_redis, "import", first)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("5 new", out.stdout)
        self.assertEqual(contexts_of(on_redis), expected)
        second = self.export(on_redis, "second.yml")

        back_on_yaml = self.start("yaml")
        out = ctl(back_on_yaml, "--json", "import", second)
        self.assertEqual(out.returncode, 0, out.stderr)
        result = json.loads(out.stdout)
        self.assertTrue(result["ok"])
        self.assertEqual(result["result"]["created"], 5)
        self.assertEqual(contexts_of(back_on_yaml), expected)
        # The same again changes nothing.
        out = ctl(back_on_yaml, "--json", "import", second)
        self.assertEqual(json.loads(out.stdout)["result"]["unchanged"], 5, out.stdout)

    def test_an_export_is_a_store_file_and_a_store_file_imports(self):
        source = self.start("yaml")
        self.load(source, varied_contexts())
        path = self.export(source, "users.yml")
        # Restore by file: the export is the yaml store's users.yml.
        restored = Tokend(self.fake, extra_config=READERS)
        os.makedirs(os.path.join(restored.dir, "state"), exist_ok=True)
        shutil.copy(path, os.path.join(restored.dir, "state", "users.yml"))
        self.daemons.append(restored.start())
        self.assertEqual(contexts_of(restored), contexts_of(source))
        # And the other way: the store's own file (no export header) imports.
        target = self.start("redis")
        out = ctl(target, "import", os.path.join(restored.dir, "state", "users.yml"))
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(contexts_of(target), contexts_of(source))

    def test_many_users_page_and_import_pipelined(self):
        # The memory store: the paging and the pipelining are tokend's and
        # tokenctl's, the same on every store (the yaml store would rewrite a
        # 1.4 MB file per group commit, minutes under ASan).
        source = self.start("memory")
        count = 3000  # about 1.4 MB of contexts: more than one page of the export op
        path = os.path.join(self.dir, "many.yml")
        with open(path, "w") as f:
            yaml.dump({f"user-{i:05d}": user_context(f"user-{i:05d}", access=f"AT-{i}-" + "a" * 200,
                                                     refresh=f"RT-{i}") for i in range(count)}, f, Dumper=DUMPER)
        out = ctl(source, "import", path)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(source.client().stats()["users"], count)
        raw = Raw(source.socket)
        try:
            page = raw.ok("export")
            self.assertEqual(page["users"], count)
            self.assertIsNotNone(page["next"])
            self.assertLess(len(page["user_contexts"]), count)
        finally:
            raw.close()
        exported = self.export(source, "many-out.yml")
        with open(exported) as f:
            self.assertEqual(len(yaml.load(f, Loader=LOADER)), count)


class Conflicts(ExportImportCase):
    def test_the_newer_grant_wins_and_the_dry_run_writes_nothing(self):
        source = self.start("yaml")
        self.load(source, [user_context("newer-stored", access="FILE-1", expires_in=3600),
                           user_context("newer-file", access="FILE-2", expires_in=7200),
                           user_context("same", access="SAME", expires_in=3600),
                           user_context("new", access="NEW", expires_in=3600)])
        same = contexts_of(source)["same"]
        path = self.export(source, "conflicts.yml")

        target = self.start("yaml")
        self.load(target, [user_context("newer-stored", access="STORED-1", expires_in=7200),
                           user_context("newer-file", access="STORED-2", expires_in=3600),
                           same])
        before = contexts_of(target)

        out = ctl(target, "import", "--dry-run", path)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("dry run:", out.stdout)
        self.assertIn("newer-stored: conflict, the stored grant is newer", out.stdout)
        self.assertIn("newer-file: conflict, the file's grant is newer", out.stdout)
        self.assertIn("new: new, would be created", out.stdout)
        self.assertNotRegex(out.stdout, r"(?m)^same:")
        self.assertEqual(contexts_of(target), before)  # nothing written
        self.assertEqual(target.client().stats()["requests"].get("set_user_context"), 3 + 4)

        out = ctl(target, "--json", "import", path)
        self.assertEqual(out.returncode, 0, out.stderr)
        result = json.loads(out.stdout)["result"]
        by_user = {user["user_id"]: user for user in result["users"]}
        self.assertEqual(by_user["newer-stored"]["tokens"], "kept_newer")
        self.assertEqual(by_user["newer-file"]["tokens"], "written")
        self.assertEqual(by_user["same"]["change"], "unchanged")
        self.assertEqual(by_user["new"]["change"], "created")
        self.assertEqual((result["created"], result["changed"], result["unchanged"], result["kept_newer"]),
                         (1, 1, 2, 1))
        after = contexts_of(target)
        self.assertEqual(after["newer-stored"]["tokens"]["access_token"], "STORED-1")
        self.assertEqual(after["newer-file"]["tokens"]["access_token"], "FILE-2")
        self.assertEqual(after["new"]["tokens"]["access_token"], "NEW")

        # --force: the file wins everywhere (a deliberate rollback).
        out = ctl(target, "import", "--force", path)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(contexts_of(target)["newer-stored"]["tokens"]["access_token"], "FILE-1")


class NotAReader(ExportImportCase):
    def test_refused_with_refresh_tokens_and_omitted_without(self):
        tokend = self.start("yaml", extra_config="")  # nobody reads refresh tokens
        self.load(tokend, [user_context("alice", access="AT-alice", refresh="RT-alice")])
        out = ctl(tokend, "export", "-o", os.path.join(self.dir, "refused.yml"))
        self.assertEqual(out.returncode, 5, out.stderr)
        self.assertIn("refresh_token_readers", out.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "refused.yml")))
        out = ctl(tokend, "--json", "export")
        self.assertEqual(out.returncode, 5)
        self.assertEqual(json.loads(out.stderr)["error"]["code"], "permission_denied")
        self.assertEqual(out.stdout, "")

        out = ctl(tokend, "export", "--without-refresh-tokens")
        self.assertEqual(out.returncode, 0, out.stderr)
        exported = yaml.safe_load(out.stdout)
        self.assertIsNone(exported["alice"]["tokens"]["refresh_token"])
        self.assertEqual(exported["alice"]["tokens"]["access_token"], "AT-alice")
        self.assertNotIn("RT-alice", out.stdout)
        self.assertIn("refresh tokens omitted", out.stderr)

        # Imported back, a file without refresh tokens keeps the stored ones.
        path = os.path.join(self.dir, "without.yml")
        with open(path, "w") as f:
            f.write(out.stdout)
        out = ctl(tokend, "import", path)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("1 unchanged", out.stdout)

    @unittest.skipUnless(os.getuid() == 0, "needs root to call as another user")
    def test_another_uid_than_the_readers_is_denied(self):
        tokend = self.start("yaml", extra_config="control:\n  refresh_token_readers: {uids: [0]}\n")
        os.chmod(tokend.socket, 0o666)
        os.chmod(os.path.dirname(tokend.socket), 0o755)
        os.chmod(tokend.dir, 0o755)
        nobody = pwd.getpwnam("nobody")
        denied = request_as(nobody, tokend.socket, {"op": "export"})
        self.assertEqual(denied["error"]["code"], "permission_denied")
        allowed = request_as(nobody, tokend.socket, {"op": "export", "refresh_tokens": False})
        self.assertTrue(allowed["ok"], allowed)


class Snapshot(ExportImportCase):
    def test_pages_come_from_one_moment_and_cursors_belong_to_their_connection(self):
        tokend = self.start("memory")
        path = os.path.join(self.dir, "seed.yml")
        with open(path, "w") as f:
            yaml.dump({f"u{i:04d}": user_context(f"u{i:04d}", access="A" * 600, refresh=f"RT-{i}")
                       for i in range(1500)}, f, Dumper=DUMPER)
        self.assertEqual(ctl(tokend, "import", path).returncode, 0)
        raw, other = Raw(tokend.socket), Raw(tokend.socket)
        try:
            page = raw.ok("export")
            self.assertIsNotNone(page["next"])
            # Changes after the snapshot do not show in its later pages.
            tokend.client().set_user_context("u1499", user_context("u1499", access="CHANGED"))
            tokend.client().set_user_context("zz-new", user_context("zz-new"))
            self.assertEqual(other.error("export", cursor=page["next"])["code"], "bad_request")
            self.assertEqual(raw.error("export", cursor="1:999999")["code"], "bad_request")
            seen = list(page["user_contexts"])
            while page["next"]:
                page = raw.ok("export", cursor=page["next"])
                seen += page["user_contexts"]
            self.assertEqual(len(seen), 1500)
            self.assertEqual(seen[-1]["tokens"]["access_token"], "A" * 600)
            # After the last page the snapshot is gone.
            self.assertEqual(raw.error("export", cursor="1:1")["code"], "bad_request")
        finally:
            raw.close()
            other.close()


class Malformed(ExportImportCase):
    def assert_refused(self, tokend, text, *expected):
        path = os.path.join(self.dir, "bad.yml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        out = ctl(tokend, "import", path)
        self.assertEqual(out.returncode, 2, out.stderr)
        for part in expected:
            self.assertIn(part, out.stderr)
        self.assertIn("nothing was imported", out.stderr)
        self.assertEqual(tokend.client().list_users()["users"], [])
        return out

    def test_garbage_a_cut_export_and_bad_entries_write_nothing(self):
        source = self.start("yaml")
        self.load(source, [user_context(f"u{i}") for i in range(3)])
        with open(self.export(source, "whole.yml")) as f:
            whole = f.read()
        target = self.start("yaml")
        self.assert_refused(target, "{{{ not yaml\n", "bad.yml")
        self.assert_refused(target, "- a list\n- not a mapping\n")
        # Cut after the second entry: still valid YAML, but not the whole export.
        cut = whole[:whole.index("u2:")]
        self.assert_refused(target, cut, "incomplete")
        self.assert_refused(target, whole.replace("export: 3 user contexts", "export: 4 user contexts"), "incomplete")
        good = yaml.safe_dump({"ok": user_context("ok")})
        self.assert_refused(target, good + yaml.safe_dump({"bad": {"user_id": "bad", "tokens": {"expires_at": "soon"}}}),
                            "entry bad")
        self.assert_refused(target, good + yaml.safe_dump({"mismatch": user_context("other")}),
                            "entry mismatch", "other")
        self.assert_refused(target, good + "scalar: 5\n", "line 10", "not a mapping")
        out = ctl(target, "import", os.path.join(self.dir, "missing.yml"))
        self.assertEqual(out.returncode, 2)
        self.assertIn("cannot read", out.stderr)


if __name__ == "__main__":
    unittest.main()
