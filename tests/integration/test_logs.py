"""tokend's log as operators read it (issue 18, item 1):

- under systemd (JOURNAL_STREAM names stderr) native journal entries, read here
  by a datagram socket of ours bound at /run/systemd/journal/socket, in a
  private mount namespace (ctest runs this file under `unshare --mount` as
  root, with a tmpfs over /run): PRIORITY per level, MESSAGE without a
  timestamp of ours, the fields USER_ID, FLOW (a hash), OUTCOME, CLIENT,
  ERRNO; what `journalctl -p warning` shows of a failed start;
- elsewhere text lines with UTC timestamps, and `log.format: json`;
- one spelling of levels (warning; warn as its alias);
- warnings that say what to do, start-up said once, unknown flows
  rate-limited with the client's address;
- never a token, code, client secret or bot token, in any format.
"""

import json
import os
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

from harness import PLUGIN_DIR, TOKEND_BIN, Tokend, flow_log_id, start_fake, wait_for, user_context

JOURNAL_SOCKET = "/run/systemd/journal/socket"
PRIVATE_RUN = os.environ.get("TOKEND_PRIVATE_RUN") == "1"
CLIENT_SECRET = "fake-webex-client-secret"
BOT_TOKEN = "fake-webex-bot-token"


def parse_journal_datagram(data):
    """The native journal protocol (systemd's JOURNAL_NATIVE_PROTOCOL): items
    'KEY=value\\n', or 'KEY\\n' + little-endian 64-bit length + value + '\\n'
    for values that hold a newline. Returns {key: [values]}."""
    fields = {}
    at = 0
    while at < len(data):
        end = data.index(b"\n", at)
        line = data[at:end]
        if b"=" in line:
            key, value = line.split(b"=", 1)
            at = end + 1
        else:
            key = line
            (size,) = struct.unpack("<Q", data[end + 1:end + 9])
            value = data[end + 9:end + 9 + size]
            if data[end + 9 + size:end + 10 + size] != b"\n":
                raise AssertionError(f"binary item {key!r} not followed by a newline")
            at = end + 10 + size
        if not re.fullmatch(rb"[A-Z0-9_]+", key) or key.startswith(b"_"):
            raise AssertionError(f"not a valid journal field name: {key!r}")
        fields.setdefault(key.decode(), []).append(value.decode("utf-8", "replace"))
    return fields


class FakeJournal:
    """journald's native socket, as far as a client sees it: entries arrive as
    datagrams (or, when too large, as a memfd passed with SCM_RIGHTS)."""

    def __init__(self):
        os.makedirs(os.path.dirname(JOURNAL_SOCKET), exist_ok=True)
        if os.path.exists(JOURNAL_SOCKET):
            os.unlink(JOURNAL_SOCKET)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(JOURNAL_SOCKET)
        self.sock.settimeout(0.1)
        self.entries = []
        self.raw = []
        self.lock = threading.Lock()
        self.stopping = False
        # Read all the time: a full queue would block tokend's sends.
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        while not self.stopping:
            try:
                data, ancillary, _, _ = self.sock.recvmsg(1 << 20, socket.CMSG_SPACE(4 * 4))
            except socket.timeout:
                continue
            except OSError:
                return
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fd = struct.unpack("i", payload[:4])[0]
                    with os.fdopen(fd, "rb") as memfd:
                        memfd.seek(0)
                        data = memfd.read()
            with self.lock:
                self.raw.append(data)
                self.entries.append(parse_journal_datagram(data))

    def snapshot(self):
        with self.lock:
            return list(self.entries)

    def text(self):
        """Every byte received, to look for what must never be there."""
        with self.lock:
            return b"".join(self.raw).decode("utf-8", "replace")

    def find(self, pattern):
        return [e for e in self.snapshot() if re.search(pattern, e["MESSAGE"][0])]

    def close(self):
        self.stopping = True
        self.reader.join(5)
        self.sock.close()
        try:
            os.unlink(JOURNAL_SOCKET)
        except FileNotFoundError:
            pass


def journalctl_p_warning(entries):
    """What `journalctl -p warning` shows of these entries: PRIORITY 0 to 4,
    as 'tokend[PID]: <priority> MESSAGE' (the priority shown for the test)."""
    return [f"tokend[{e.get('_PID', ['?'])[0]}]: <{e['PRIORITY'][0]}> {e['MESSAGE'][0]}"
            for e in entries if int(e["PRIORITY"][0]) <= 4]


def field(entry, name):
    return entry.get(name, [None])[0]


def journal_env(stderr_file):
    info = os.fstat(stderr_file.fileno())
    return {"JOURNAL_STREAM": f"{info.st_dev}:{info.st_ino}"}


def set_log_section(tokend, section):
    """Replaces the harness's 'log: level: debug' with `section` (lines)."""
    with open(tokend.config_path) as f:
        text = f.read()
    assert "log:\n  level: debug\n" in text
    with open(tokend.config_path, "w") as f:
        f.write(text.replace("log:\n  level: debug\n", section))


def start_with_journal(tokend, journal, timeout=20):
    """tokend.start(), but stderr is the journal's stream and records go to
    the fake journal: waits for its 'running' entry and reads the port there."""
    tokend._log = open(tokend.log_path, "ab")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTIFY_SOCKET", "LISTEN_", "WATCHDOG_"))}
    env.update(journal_env(tokend._log))
    tokend.process = subprocess.Popen([TOKEND_BIN, "-c", tokend.config_path, "--plugin-dir", PLUGIN_DIR],
                                      stdout=tokend._log, stderr=tokend._log, stdin=subprocess.DEVNULL,
                                      cwd=tokend.dir, env=env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if journal.find(r" running \(pid"):
            listening = journal.find(r"redirect endpoint listening on http://127\.0\.0\.1:\d+")
            tokend.port = int(re.search(r":(\d+)/redirect", listening[0]["MESSAGE"][0]).group(1))
            return tokend
        if tokend.process.poll() is not None:
            raise AssertionError(f"tokend exited with {tokend.process.returncode}: {journal.snapshot()}")
        time.sleep(0.02)
    raise AssertionError(f"tokend did not start: {journal.snapshot()}")


def failed_start(tokend, journal, timeout=20):
    """Starts tokend under the fake journal, expecting it to fail; returns its
    exit code and stderr (which should be empty: everything went to the journal)."""
    with open(tokend.log_path, "ab") as stderr:
        env = dict(os.environ, **journal_env(stderr))
        code = subprocess.run([TOKEND_BIN, "-c", tokend.config_path, "--plugin-dir", PLUGIN_DIR],
                              stdout=stderr, stderr=stderr, stdin=subprocess.DEVNULL, cwd=tokend.dir, env=env,
                              timeout=timeout).returncode
    return code, tokend.log()


@unittest.skipUnless(PRIVATE_RUN, "needs the private /run that ctest gives as root (unshare --mount)")
class Journal(unittest.TestCase):
    def setUp(self):
        self.journal = FakeJournal()
        self.addCleanup(self.journal.close)

    def assert_no_secret(self, *secrets):
        text = self.journal.text()
        for secret in (CLIENT_SECRET, BOT_TOKEN) + secrets:
            self.assertNotIn(secret, text)

    def test_a_failed_start_says_why_at_priority_crit_with_the_errno_text(self):
        tokend = Tokend(start_fake_or_none(self), store="yaml")
        self.addCleanup(tokend.close)
        os.makedirs(os.path.join(tokend.dir, "state", "users.yml"))  # the store's file is a directory
        code, stderr = failed_start(tokend, self.journal)
        self.assertEqual(code, 2, stderr)
        self.assertEqual(stderr, "", "under the journal every record is a native entry")
        # The fatal entry is the last one tokend sends: once it is read, all are.
        wait_for(lambda: [e for e in self.journal.snapshot() if field(e, "PRIORITY") == "2"], what="the fatal entry")
        shown = journalctl_p_warning(self.journal.snapshot())
        report = os.environ.get("TOKEND_JOURNAL_REPORT")
        if report:
            with open(report, "a") as f:
                f.write("# journalctl -p warning, store file is a directory\n" + "\n".join(shown) + "\n")
        fatal = [e for e in self.journal.snapshot() if field(e, "PRIORITY") == "2"]
        self.assertEqual(len(fatal), 1, shown)
        message = field(fatal[0], "MESSAGE")
        self.assertTrue(message.startswith("cannot start: "), message)
        self.assertIn("users.yml", message)
        self.assertIn("not a regular file", message)  # the yaml plugin refuses it before reading
        self.assertEqual(field(fatal[0], "SYSLOG_IDENTIFIER"), "tokend")
        self.assertEqual(field(fatal[0], "TOKEND_LEVEL"), "critical")
        self.assertNotIn("CODE_FILE", fatal[0], "the sink's own source line would say nothing")
        for entry in self.journal.snapshot():
            self.assertNotRegex(field(entry, "MESSAGE"), r"^\d{4}-\d\d-\d\dT", "no timestamp of ours")
            self.assertEqual(len(entry["MESSAGE"]), 1)
        self.assertEqual(len(shown), len(set(shown)), "no line twice")
        self.assert_no_secret()

    def test_a_missing_secret_file_names_the_file_and_the_errno(self):
        fake = start_fake()
        self.addCleanup(fake.stop)
        tokend = Tokend(fake)
        self.addCleanup(tokend.close)
        os.unlink(os.path.join(tokend.dir, "client_secret"))
        code, stderr = failed_start(tokend, self.journal)
        self.assertEqual(code, 2, stderr)
        # The fatal entry is the last one tokend sends: once it is read, all are.
        wait_for(lambda: [e for e in self.journal.snapshot() if field(e, "PRIORITY") == "2"], what="the fatal entry")
        shown = journalctl_p_warning(self.journal.snapshot())
        report = os.environ.get("TOKEND_JOURNAL_REPORT")
        if report:
            with open(report, "a") as f:
                f.write("# journalctl -p warning, client secret file missing\n" + "\n".join(shown) + "\n")
        self.assertEqual(len(shown), 1, shown)
        self.assertIn("client_secret: cannot read " + os.path.join(tokend.dir, "client_secret") +
                      ": No such file or directory", shown[0])
        self.assertIn("<2>", shown[0])
        fatal = [e for e in self.journal.snapshot() if field(e, "PRIORITY") == "2"]
        self.assertEqual(field(fatal[0], "ERRNO"), "2")

    def test_a_configuration_error_reaches_the_journal_too(self):
        tokend = Tokend(None, integration=False)
        self.addCleanup(tokend.close)
        with open(tokend.config_path, "a") as f:
            f.write("refresh:\n  margin: soon\n")
        code, stderr = failed_start(tokend, self.journal)
        self.assertEqual(code, 2, stderr)
        self.assertEqual(stderr, "")
        fatal = wait_for(lambda: [e for e in self.journal.snapshot() if field(e, "PRIORITY") == "2"],
                         what="the fatal entry")
        self.assertIn("tokend.yml:", field(fatal[0], "MESSAGE"))
        self.assertIn("refresh.margin", field(fatal[0], "MESSAGE"))

    def test_a_running_daemon_writes_entries_with_fields_and_no_secret(self):
        fake = start_fake()
        self.addCleanup(fake.stop)
        tokend = Tokend(fake)
        self.addCleanup(tokend.close)
        # A stored context that cannot be refreshed: said once at start-up.
        os.makedirs(os.path.join(tokend.dir, "state"), exist_ok=True)
        start_with_journal(tokend, self.journal)
        client = tokend.client()

        flow, query, (status, _, body) = tokend.complete_flow("alice")
        self.assertEqual(status, 200, body)
        state = urllib.parse.parse_qs(query)["state"][0]
        code = urllib.parse.parse_qs(query)["code"][0]
        completed = wait_for(lambda: self.journal.find(r"user alice: flow \w+ completed"), what="the completion")
        entry = completed[0]
        self.assertEqual(field(entry, "PRIORITY"), "6")
        self.assertEqual(field(entry, "USER_ID"), "alice")
        self.assertEqual(field(entry, "FLOW"), flow_log_id(state))
        self.assertEqual(field(entry, "OUTCOME"), "authenticated")
        access = client.get_token("alice")["access_token"]

        # A state nobody issued: a warning with the client's address.
        tokend.redirect("code=C0DE-NOBODY&state=" + "Z" * 43)
        unknown = wait_for(lambda: self.journal.find(r"ended unknown_flow"), what="the unknown flow's entry")[0]
        self.assertEqual(field(unknown, "PRIORITY"), "4")
        self.assertEqual(field(unknown, "OUTCOME"), "unknown_flow")
        self.assertRegex(field(unknown, "CLIENT"), r"^127\.0\.0\.1:\d+$")
        self.assertIn("redirect from 127.0.0.1:", field(unknown, "MESSAGE"))
        self.assertIn("nothing to do unless it repeats", field(unknown, "MESSAGE"))
        self.assertEqual(field(unknown, "FLOW"), flow_log_id("Z" * 43))

        tokend.stop()
        wait_for(lambda: self.journal.find(r"^tokend stopped$"), what="the last entry")
        self.assert_no_secret(access, code, state, "C0DE-NOBODY", "Z" * 43)
        for entry in self.journal.snapshot():
            self.assertIn(field(entry, "PRIORITY"), {"2", "3", "4", "6", "7"})
            self.assertNotRegex(field(entry, "MESSAGE"), r"^\d{4}-\d\d-\d\dT", "no timestamp of ours")
        started = [field(e, "MESSAGE") for e in self.journal.snapshot() if int(field(e, "PRIORITY")) <= 6]
        self.assertEqual(len([m for m in started if "listening on" in m and ":" + str(tokend.port) in m]), 1,
                         "the redirect endpoint's address is said once")
        self.assertEqual(tokend.log(), "", "nothing on stderr")

    def test_text_format_stays_on_stderr_even_under_the_journal(self):
        tokend = Tokend(None, integration=False, store="memory")
        self.addCleanup(tokend.close)
        set_log_section(tokend, "log:\n  level: debug\n  format: text\n")
        with open(tokend.log_path, "ab") as stderr:
            env = dict(os.environ, **journal_env(stderr))
            process = subprocess.Popen([TOKEND_BIN, "-c", tokend.config_path, "--plugin-dir", PLUGIN_DIR],
                                       stdout=stderr, stderr=stderr, stdin=subprocess.DEVNULL, env=env)
        tokend.process = process
        tokend._log = open(os.devnull, "wb")
        wait_for(lambda: " running (pid" in tokend.log(), what="the running line")
        tokend.stop()
        self.assertEqual(self.journal.snapshot(), [])


def start_fake_or_none(case):
    fake = start_fake()
    case.addCleanup(fake.stop)
    return fake


class TextAndJson(unittest.TestCase):
    def test_text_lines_carry_utc_timestamps_with_offset_and_the_level_spelt_warning(self):
        fake = start_fake()
        self.addCleanup(fake.stop)
        tokend = Tokend(fake)
        self.addCleanup(tokend.close)
        tokend.start(env={"TZ": "America/New_York", "JOURNAL_STREAM": "1:1"})  # not our stderr: text
        tokend.redirect("code=x&state=" + "Q" * 43)
        wait_for(lambda: "ended unknown_flow" in tokend.log(), what="the unknown flow's line")
        tokend.stop()
        lines = [line for line in tokend.log().splitlines() if line]
        for line in lines:
            self.assertRegex(line, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00 (trace|debug|info|warning|error|critical) ",
                             line)
        self.assertTrue([line for line in lines if " warning " in line and "ended unknown_flow" in line])
        self.assertFalse([line for line in lines if re.search(r" warn ", line)])

    def test_json_lines_for_shippers(self):
        fake = start_fake()
        self.addCleanup(fake.stop)
        tokend = Tokend(fake)
        self.addCleanup(tokend.close)
        set_log_section(tokend, "log:\n  level: debug\n  format: json\n")
        tokend.process = None
        tokend._log = open(tokend.log_path, "ab")
        tokend.process = subprocess.Popen([TOKEND_BIN, "-c", tokend.config_path, "--plugin-dir", PLUGIN_DIR],
                                          stdout=tokend._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          cwd=tokend.dir)
        wait_for(lambda: " running (pid" in tokend.log(), what="the running record")
        records = [json.loads(line) for line in tokend.log().splitlines()]
        listening = [r for r in records if r["message"].startswith("redirect endpoint listening on http://")]
        tokend.port = int(re.search(r":(\d+)/redirect", listening[0]["message"]).group(1))
        flow, query, (status, _, body) = tokend.complete_flow("alice")
        self.assertEqual(status, 200, body)
        state = urllib.parse.parse_qs(query)["state"][0]
        code = urllib.parse.parse_qs(query)["code"][0]
        access = tokend.client().get_token("alice")["access_token"]
        tokend.redirect("code=x&state=" + "Q" * 43)
        wait_for(lambda: "ended unknown_flow" in tokend.log(), what="the unknown flow's record")
        tokend.stop()
        text = tokend.log()
        records = [json.loads(line) for line in text.splitlines()]  # every line is one object
        for record in records:
            self.assertRegex(record["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")
            self.assertIn(record["level"], {"trace", "debug", "info", "warning", "error", "critical"})
        done = [r for r in records if "completed, tokens stored" in r["message"]]
        self.assertEqual(len(done), 1)
        self.assertEqual(done[0]["user_id"], "alice")
        self.assertEqual(done[0]["flow"], flow_log_id(state))
        self.assertEqual(done[0]["outcome"], "authenticated")
        unknown = [r for r in records if "ended unknown_flow" in r["message"]]
        self.assertEqual(unknown[0]["level"], "warning")
        self.assertRegex(unknown[0]["client"], r"^127\.0\.0\.1:\d+$")
        for secret in (CLIENT_SECRET, BOT_TOKEN, access, code, state):
            self.assertNotIn(secret, text)


class Levels(unittest.TestCase):
    def run_check(self, config_text, *args):
        workdir = tempfile.mkdtemp(prefix="tokend-lv-", dir="/tmp")
        self.addCleanup(shutil.rmtree, workdir, True)
        path = os.path.join(workdir, "tokend.yml")
        with open(path, "w") as f:
            f.write(f"state_dir: {workdir}\nruntime_dir: {workdir}\nstore:\n  plugin: memory\n" + config_text)
        return subprocess.run([TOKEND_BIN, "-c", path, "--plugin-dir", PLUGIN_DIR, "--check-config", *args],
                              capture_output=True, text=True, timeout=30)

    def test_warning_is_accepted_in_the_file_and_warn_as_its_alias(self):
        for level in ("warning", "warn", "error", "info", "debug", "trace"):
            result = self.run_check(f"log:\n  level: {level}\n")
            self.assertEqual(result.returncode, 0, result.stderr)

    def test_the_command_line_takes_the_same_spellings(self):
        for level in ("warning", "warn"):
            result = self.run_check("", "--log-level", level)
            self.assertEqual(result.returncode, 0, result.stderr)
        result = self.run_check("", "--log-level", "loud")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("unknown log level 'loud': use one of trace, debug, info, warning (or warn), error",
                      result.stdout + result.stderr)

    def test_an_unknown_level_or_format_in_the_file_is_refused_with_its_line(self):
        result = self.run_check("log:\n  level: verbose\n")
        self.assertNotEqual(result.returncode, 0)
        self.assertRegex(result.stdout + result.stderr, r"tokend\.yml:6: log\.level must be one of trace, debug, "
                                                        r"info, warning \(or warn\), error")
        result = self.run_check("log:\n  format: xml\n")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("log.format must be one of auto, text, json", result.stdout + result.stderr)


class StartUp(unittest.TestCase):
    def test_what_was_loaded_is_said_once_and_unrefreshable_contexts_are_named(self):
        fake = start_fake()
        self.addCleanup(fake.stop)
        tokend = Tokend(fake)
        self.addCleanup(tokend.close)
        tokend.start()
        client = tokend.client()
        client.set_user_context("carol", user_context("carol", refresh=None))
        client.set_user_context("dave", user_context("dave", refresh="RT-DAVE-SECRET"))
        client.set_user_context("erin", user_context("erin", refresh="RT-ERIN-SECRET", refresh_expires_in=7200))
        tokend.stop()
        # Erin's refresh token expired while tokend was down (the file is
        # tokend's to edit while it is stopped).
        users = os.path.join(tokend.dir, "state", "users.yml")
        with open(users) as f:
            stored = f.read()
        erin = stored.index("erin:")
        expiry = re.compile(r'refresh_token_expires_at: "[^"]+"')
        match = expiry.search(stored, erin)
        with open(users, "w") as f:
            f.write(stored[:match.start()] + 'refresh_token_expires_at: "2020-01-01T00:00:00+00:00"' +
                    stored[match.end():])
        first_log = tokend.log()
        tokend._log.close()
        tokend.log_path = os.path.join(tokend.dir, "second.log")  # the restart's own lines
        tokend.start()
        text = tokend.log()
        tokend.stop()
        # (time, level, message) of the records at info and above
        records = [line.split(None, 2) for line in text.splitlines() if line]
        lines = [message for _, level, message in records if level not in ("debug", "trace")]
        running = [line for line in lines if "running (pid" in line]
        self.assertEqual(len(running), 1, text)
        counted = {}
        for line in lines:
            if "(pid" in line or "stopped" in line or "shutting down" in line:
                continue
            counted[line] = counted.get(line, 0) + 1
        self.assertEqual([line for line, n in counted.items() if n > 1], [], "no start-up line twice")
        listening = [line for line in lines if re.search(r"listening on .*:" + str(tokend.port), line)]
        self.assertEqual(len(listening), 1, listening)
        unrefreshable = [line for line in text.splitlines() if "cannot be refreshed" in line]
        self.assertEqual(len(unrefreshable), 2, text)
        self.assertTrue(all(" warning " in line for line in unrefreshable), unrefreshable)
        self.assertIn("user carol: cannot be refreshed: it has no refresh token", text)
        self.assertIn("user erin: cannot be refreshed: its refresh token expired at 2020-01-01T00:00:00+00:00", text)
        self.assertIn("tokenctl start-flow erin", text)
        self.assertNotIn("user dave: cannot be refreshed", text)
        for secret in ("RT-DAVE-SECRET", "RT-ERIN-SECRET", CLIENT_SECRET, BOT_TOKEN):
            self.assertNotIn(secret, first_log + text)


class UnknownFlows(unittest.TestCase):
    def test_unknown_flow_warnings_name_the_client_and_are_rate_limited(self):
        fake = start_fake()
        self.addCleanup(fake.stop)
        tokend = Tokend(fake)
        self.addCleanup(tokend.close)
        tokend.start()
        for i in range(14):
            tokend.redirect(f"code=c{i}&state=" + chr(ord("A") + i) * 43)
        wait_for(lambda: tokend.log().count("ended unknown_flow") >= 10, what="ten warnings")
        # The 14 answers were all given (synchronously above); the log lines
        # are written before each answer, so no more can come.
        text = tokend.log()
        warned = [line for line in text.splitlines() if "ended unknown_flow" in line]
        self.assertEqual(len(warned), 10, "\n".join(warned))
        self.assertRegex(warned[0], r" warning redirect from 127\.0\.0\.1:\d+: flow [0-9a-f]{8} ended unknown_flow")
        self.assertIn("more in the next minute are counted, not logged", warned[9])
        for line in warned[:9]:
            self.assertNotIn("counted, not logged", line)


if __name__ == "__main__":
    unittest.main()
