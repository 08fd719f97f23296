"""Issue 13, item 15, against the real daemon: the yaml store's write, fdatasync,
rename and directory fsync fail (EIO, ENOSPC) through the LD_PRELOAD shim of
tests/support/fault_shim.c. A bot's write gets a clear store error, reads serve
what was acknowledged before, a write succeeds once the fault clears, and a
restart reads back exactly what was acknowledged."""

import os
import shutil
import tempfile
import unittest

import yaml

from harness import Tokend, start_fake, user_context
from tokend_client import TokendError

PRELOAD = os.environ.get("TOKEND_FAULT_PRELOAD")

# What the store's error says for each call and errno.
STEPS = {"fdatasync": "fsync temp file", "write": "write temp file", "rename": "rename temp file",
         "fsync": "fsync directory"}
REASONS = {"EIO": "Input/output error", "ENOSPC": "No space left on device"}

# (call, errno, where): "temp" is the users file's temp file, "dir" the state directory.
FAULTS = [
    ("fdatasync", "EIO", "temp"),
    ("fdatasync", "ENOSPC", "temp"),
    ("write", "ENOSPC", "temp"),
    ("write", "EIO", "temp"),
    ("rename", "EIO", "temp"),
    ("fsync", "EIO", "dir"),
    ("fsync", "ENOSPC", "dir"),
]


@unittest.skipUnless(PRELOAD, "TOKEND_FAULT_PRELOAD not set (ctest sets it)")
class FailedWritesAreNeverAcknowledged(unittest.TestCase):

    def setUp(self):
        self.fake = start_fake()
        self.tokend = Tokend(self.fake)
        # Outside the state directory, so that rules on it never match the control file.
        self.control_dir = tempfile.mkdtemp(prefix="tokend-fault-", dir="/tmp")
        self.control = os.path.join(self.control_dir, "control")
        self.generation = 0
        self.set_rules("")
        self.state = os.path.join(self.tokend.dir, "state")
        self.users_file = os.path.join(self.state, "users.yml")

    def tearDown(self):
        code = self.tokend.stop()
        log = self.tokend.log()
        self.tokend.close()
        self.fake.stop()
        shutil.rmtree(self.control_dir, ignore_errors=True)
        self.assertEqual(code, 0, log)

    def set_rules(self, rules):
        """Replaces the shim's rules; a new generation comment re-arms equal ones."""
        self.generation += 1
        with open(self.control + ".new", "w") as f:
            f.write(f"# {self.generation}\n{rules}")
        os.rename(self.control + ".new", self.control)

    def injected(self):
        try:
            with open(self.control + ".log") as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def users_in_file(self):
        with open(self.users_file) as f:
            data = yaml.safe_load(f) or {}
        return {user_id: context["tokens"]["access_token"] for user_id, context in data.items()}

    def test_a_failed_write_is_an_error_and_what_was_acknowledged_stays(self):
        self.tokend.start(env={"LD_PRELOAD": PRELOAD, "TOKEND_FAULT_CONTROL": self.control})
        client = self.tokend.client()
        client.set_user_context("keeper", user_context("keeper", access="KEPT-0"))
        acknowledged = {"keeper": "KEPT-0"}

        for number, (call, error, where) in enumerate(FAULTS):
            with self.subTest(call=call, error=error):
                path = self.state if where == "dir" else self.users_file + ".tmp"
                before = len(self.injected())
                self.set_rules(f"{call} {error} 0 0 {path}\n")  # fails until cleared

                with self.assertRaises(TokendError) as raised:
                    client.set_user_context("keeper", user_context("keeper", access=f"LOST-{number}"))
                self.assertEqual(raised.exception.code, "store_unavailable")
                # The bot is told which file and step failed, and why.
                self.assertIn(f"cannot write users file {self.users_file}: {STEPS[call]}: {REASONS[error]}",
                              str(raised.exception))
                with self.assertRaises(TokendError) as raised:
                    client.set_user_context(f"new-{number}", user_context(f"new-{number}", access="LOST"))
                self.assertEqual(raised.exception.code, "store_unavailable")
                self.assertGreater(len(self.injected()), before, "the fault never happened")

                # Memory serves what was acknowledged; the unacknowledged user is absent.
                self.assertEqual(client.get_token("keeper")["access_token"], acknowledged["keeper"])
                with self.assertRaises(TokendError) as raised:
                    client.get_token(f"new-{number}")
                self.assertEqual(raised.exception.code, "not_found")
                self.assertEqual(self.users_in_file(), acknowledged)

                self.set_rules("")  # the disk recovers
                client.set_user_context("keeper", user_context("keeper", access=f"KEPT-{number + 1}"))
                acknowledged["keeper"] = f"KEPT-{number + 1}"
                client.set_user_context(f"ok-{number}", user_context(f"ok-{number}", access=f"OK-{number}"))
                acknowledged[f"ok-{number}"] = f"OK-{number}"
                self.assertEqual(client.get_token("keeper")["access_token"], acknowledged["keeper"])
                self.assertEqual(self.users_in_file(), acknowledged)

        log = self.tokend.log()
        self.assertIn("cannot write users file", log)
        self.assertIn("fsync directory", log)
        self.assertIn("fsync temp file", log)
        self.assertNotIn("LOST", log)

        # A restart, without the shim, reads back exactly what was acknowledged.
        client.close()
        self.tokend._client = None
        self.assertEqual(self.tokend.stop(), 0, self.tokend.log())
        self.tokend._log.close()
        open(self.tokend.log_path, "wb").close()  # start() waits for a fresh "running" line
        self.tokend.start()
        client = self.tokend.client()
        self.assertEqual(self.users_in_file(), acknowledged)
        for user_id, access in acknowledged.items():
            self.assertEqual(client.get_token(user_id)["access_token"], access)
        for number in range(len(FAULTS)):
            with self.assertRaises(TokendError) as raised:
                client.get_token(f"new-{number}")
            self.assertEqual(raised.exception.code, "not_found")


if __name__ == "__main__":
    unittest.main()
