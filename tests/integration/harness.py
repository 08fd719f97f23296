"""Runs the real tokend binary beside the fake Webex provider, for integration tests,
and the helpers the test files share: waiting for a condition, times from now,
user contexts, and a test case that runs one tokend beside one fake provider.

ctest sets TOKEND_BIN and TOKEND_PLUGIN_DIR; the fake provider and the Python
client are imported from the source tree.
"""

import datetime
import fcntl
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools", "fake_webex"))
sys.path.insert(0, os.path.join(ROOT, "sdk", "python"))

from fake_webex import FakeWebex  # noqa: E402
from tokend_client import JsonClient as TokendClient  # noqa: E402

TOKEND_BIN = os.environ.get("TOKEND_BIN", os.path.join(ROOT, "build", "daemon", "tokend"))
PLUGIN_DIR = os.environ.get("TOKEND_PLUGIN_DIR", os.path.join(ROOT, "build", "plugins"))

CLIENT_ID = "fake-webex-client-id"

# How long "eventually" may take: news arrives in milliseconds, but an ASan build
# on a loaded 2-core machine can be a hundred times slower.
EVENTUALLY = 10


def wait_for(condition, timeout=EVENTUALLY, what="the condition", interval=0.05):
    """Calls condition() until it returns something true and returns that; fails
    the test naming what if that takes longer than timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def flow_log_id(flow_id):
    """How tokend's log names a flow (never its id, which is the OAuth state):
    the first 8 hex digits of its SHA-256."""
    return hashlib.sha256(flow_id.encode()).hexdigest()[:8]


def unless_error(code, call):
    """call()'s result, or None when it raises a TokendError with this code (the
    answer a waiting test expects until the daemon catches up); any other
    error is raised."""
    try:
        return call()
    except Exception as error:  # TokendError: its code tells an expected answer from a failure
        if getattr(error, "code", None) != code:
            raise
        return None


def all_at_once(calls):
    """Runs each of calls (functions of no arguments) in a thread of its own, all
    started before any is waited for, and waits for them all."""
    threads = [threading.Thread(target=call) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def future(seconds):
    """The UTC time seconds from now (negative: ago), ISO 8601 as contexts store it."""
    return (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)).isoformat()


def user_context(user_id, access="AT", expires_in=3600, refresh="RT", tokens=None, scope="spark:all",
                 refresh_expires_in=86400):
    """A user context as bots set it. tokens: tokens the fake issued, whose
    access_token, refresh_token and scope are used instead."""
    if tokens is not None:
        access, refresh, scope = tokens["access_token"], tokens["refresh_token"], tokens.get("scope", scope)
    return {"user_id": user_id, "tokens": {"access_token": access, "expires_at": future(expires_in),
                                           "refresh_token": refresh,
                                           "refresh_token_expires_at": future(refresh_expires_in),
                                           "token_type": "Bearer", "scope": scope}}


def http_request(method, port, target, timeout=10, headers=None):
    """One request to http://127.0.0.1:port/target, redirects not followed: (status, headers, body bytes)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, target, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def http_get(port, target, timeout=10, headers=None):
    """GET without following redirects: (status, headers, body text)."""
    status, response_headers, body = http_request("GET", port, target, timeout, headers)
    return status, response_headers, body.decode("utf-8", "replace")


def http_head(port, target):
    """HEAD: (status, headers, body bytes: none expected)."""
    return http_request("HEAD", port, target)


def recv_line(conn, chunk_size=65536):
    """Bytes from a stream socket up to and including the first newline, or all
    that came before the peer closed (then without a newline)."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(chunk_size)
        if not chunk:
            break
        data += chunk
    return data


def request_as(user, socket_path, request, groups=()):
    """One control request sent by a child process running as `user` (a pwd
    entry; needs root) with its primary gid and, as supplementary groups,
    exactly `groups` (none by default, whatever /etc/group says). Returns the
    parsed response line."""
    code = ("import os,socket,sys\n"
            f"os.setgroups({list(groups)}); os.setgid({user.pw_gid}); os.setuid({user.pw_uid})\n"
            "s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])\n"
            "s.sendall(sys.argv[2].encode()+b'\\n'); print(s.makefile().readline(), end='')\n")
    out = subprocess.run([sys.executable, "-c", code, socket_path, json.dumps(request)],
                         capture_output=True, text=True, timeout=20)
    if out.returncode != 0:
        raise AssertionError(f"request as {user.pw_name} failed: {out.stderr}")
    return json.loads(out.stdout)


class Tokend:
    """One tokend process in a temp dir, configured against a fake provider."""

    def __init__(self, fake=None, extra_config="", client_secret="fake-webex-client-secret",
                 bot_token="fake-webex-bot-token", store="yaml", store_options=None, integration=True,
                 workdir=None, store_settings=None):
        self.dir = workdir or tempfile.mkdtemp(prefix="tokend-it-", dir="/tmp")
        self.owns_dir = workdir is None
        self.fake = fake
        self.socket = os.path.join(self.dir, "run", "tokend.sock")
        with open(os.path.join(self.dir, "client_secret"), "w") as f:
            f.write(client_secret + "\n")
        with open(os.path.join(self.dir, "bot_token"), "w") as f:
            f.write(bot_token + "\n")
        lines = [
            f"state_dir: {self.dir}/state",
            f"runtime_dir: {self.dir}/run",
            "log:",
            "  level: debug",
            "http:",
            "  listen: 127.0.0.1:0",
            "  request_timeout_ms: 500",
        ]
        if store != "yaml":
            lines += ["store:", f"  plugin: {store}"]
            lines += [f"  {key}: {value}" for key, value in (store_settings or {}).items()]
            if store_options:
                lines += ["  options:"] + [f"    {key}: {value}" for key, value in store_options.items()]
        if integration and fake is not None:
            lines += [
                "integration:",
                f"  client_id: {CLIENT_ID}",
                f"  client_secret: {{file: {self.dir}/client_secret}}",
                f"  bot_token: {{file: {self.dir}/bot_token}}",
                "  scopes: spark:people_read spark:messages_write",
                # Never dialed: tests replay the provider's redirect onto tokend's real port.
                "  redirect_url: http://127.0.0.1:9/redirect",
                f"  auth_service: {fake.url}/v1/authorize",
                f"  token_service: {fake.url}/v1/access_token",
                f"  api_base: {fake.url}/v1",
                "  request_timeout_ms: 1500",
            ]
        self.config_path = os.path.join(self.dir, "tokend.yml")
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + "\n" + extra_config)
        self.log_path = os.path.join(self.dir, "tokend.log")
        self.process = None
        self.port = None
        self._client = None

    def start(self, timeout=20, env=None, activated=None):
        """Starts tokend. env: variables added to a copy of ours without any of
        systemd's (NOTIFY_SOCKET, LISTEN_*, WATCHDOG_*). activated: listening
        sockets passed as systemd does, [(name, socket)], from fd 3 on."""
        self._log = open(self.log_path, "ab")
        child_env = {k: v for k, v in os.environ.items()
                     if k not in ("NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
                                  "WATCHDOG_USEC", "WATCHDOG_PID")}
        child_env.update(env or {})
        argv = [TOKEND_BIN, "-c", self.config_path, "--plugin-dir", PLUGIN_DIR]
        if activated:
            self.process = spawn_activated(argv, child_env, activated, self._log, self.dir)
        else:
            self.process = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, cwd=self.dir, env=child_env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log()
            if " running (pid" in text:
                match = re.search(r"redirect endpoint listening on (?:http://127\.0\.0\.1:|an activated socket, port )"
                                  r"(\d+)", text)
                self.port = int(match.group(1)) if match else None
                return self
            if self.process.poll() is not None:
                raise RuntimeError(f"tokend exited with {self.process.returncode}:\n{text}")
            time.sleep(0.02)
        raise RuntimeError("tokend did not start:\n" + self.log())

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def client(self):
        """The harness's own connection (closed with the harness)."""
        if self._client is None:
            self._client = TokendClient(self.socket, timeout=30)
        return self._client

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    def close(self):
        if self._client is not None:
            self._client.close()
        try:
            self.stop()
        finally:
            if self.process is not None:
                self._log.close()
            if self.owns_dir:
                shutil.rmtree(self.dir, ignore_errors=True)

    # -- the browser's part of a flow -------------------------------------
    def authorize(self, auth_url, decision):
        """Queues the user's decision at the fake and follows the authorize URL
        up to the provider's redirect; returns the redirect's query string."""
        self.fake.queue_consent([decision])
        parsed = urllib.parse.urlsplit(auth_url)
        status, headers, body = http_get(parsed.port, parsed.path + "?" + parsed.query)
        assert status == 302, (status, body)
        location = urllib.parse.urlsplit(headers["Location"])
        return location.query

    def redirect(self, query):
        """The browser arriving at tokend's /redirect: (status, headers, body)."""
        return http_get(self.port, "/redirect?" + query)

    def complete_flow(self, user_id, as_user=None):
        flow = self.client().start_flow(user_id)
        query = self.authorize(flow["auth_url"], {"user_id": as_user or user_id})
        return flow, query, self.redirect(query)


class _SpawnedProcess:
    """What Tokend needs of a Popen, for a process started by os.posix_spawn."""

    def __init__(self, pid):
        self.pid = pid
        self.returncode = None

    def poll(self):
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired("tokend", timeout)
            time.sleep(0.01)
        return self.returncode

    def send_signal(self, sig):
        if self.returncode is None:
            os.kill(self.pid, sig)

    def kill(self):
        self.send_signal(signal.SIGKILL)


def spawn_activated(argv, env, activated, log, cwd):
    """Starts argv as systemd's socket activation does: the sockets at fds 3..,
    LISTEN_FDS, LISTEN_FDNAMES, and LISTEN_PID set to the child's own pid (a
    shell sets it and execs, keeping its pid)."""
    env = dict(env, LISTEN_FDS=str(len(activated)), LISTEN_FDNAMES=":".join(name for name, _ in activated))
    # Copies above the target range, so that no dup2 below overwrites a source.
    sources = [fcntl.fcntl(sock.fileno(), fcntl.F_DUPFD_CLOEXEC, 20) for _, sock in activated]
    actions = [(os.POSIX_SPAWN_DUP2, log.fileno(), 1), (os.POSIX_SPAWN_DUP2, log.fileno(), 2),
               (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0)]
    actions += [(os.POSIX_SPAWN_DUP2, fd, 3 + i) for i, fd in enumerate(sources)]
    shell = ["/bin/sh", "-c", 'cd "$1" && shift && export LISTEN_PID=$$ && exec "$@"', "sh", cwd] + argv
    try:
        pid = os.posix_spawn("/bin/sh", shell, env, file_actions=actions)
    finally:
        for fd in sources:
            os.close(fd)
    return _SpawnedProcess(pid)


def stop_and_check(case):
    """A test's end: tokend stops cleanly (exit 0, else its log is shown), the fake too."""
    code = case.tokend.stop()
    log = case.tokend.log()
    case.tokend.close()
    case.fake.stop()
    case.assertEqual(code, 0, log)
    return log


def faulty_store_tokend(fake, extra_config=""):
    """A Tokend on the faulty test store (ctest sets TOKEND_FAULTY_STORE), not
    started, and the flag file whose existence switches the store off; None
    when the plugin is not available. While `store-unconfirmed` exists in the
    tokend's directory, writes land but answer UNAVAILABLE (see the plugin)."""
    plugin = os.environ.get("TOKEND_FAULTY_STORE")
    if not plugin:
        return None
    tokend = Tokend(fake, extra_config=extra_config, store=plugin,
                    store_options={"fail_flag": "FLAG", "unconfirmed_flag": "UNCONFIRMED"})
    flag = os.path.join(tokend.dir, "store-off")
    with open(tokend.config_path) as f:
        config = f.read().replace("fail_flag: FLAG", f"fail_flag: {flag}").replace(
            "unconfirmed_flag: UNCONFIRMED", f"unconfirmed_flag: {os.path.join(tokend.dir, 'store-unconfirmed')}")
    with open(tokend.config_path, "w") as f:
        f.write(config)
    return tokend, flag


class TokendCase(unittest.TestCase):
    """A test on one tokend (started) beside one fake provider: self.fake,
    self.tokend, self.client. Subclasses set fake_options, extra_config, store."""
    fake_options = {}
    extra_config = ""
    store = "yaml"

    def setUp(self):
        self.fake = start_fake(**self.fake_options)
        self.tokend = Tokend(self.fake, extra_config=self.extra_config, store=self.store).start()
        self.client = self.tokend.client()

    def tearDown(self):
        stop_and_check(self)


class FaultyStoreCase(TokendCase):
    """Tests on the faulty store: self.fake, self.tokend (started), self.client,
    and self.flag, the file that switches the store off while it exists."""
    extra_config = ""

    def setUp(self):
        self.fake = start_fake()
        made = faulty_store_tokend(self.fake, extra_config=self.extra_config)
        if made is None:
            self.fake.stop()
            self.skipTest("TOKEND_FAULTY_STORE not set (ctest sets it)")
        self.tokend, self.flag = made
        self.tokend.start()
        self.client = self.tokend.client()


def start_fake(users=(("alice", "alice@example.com"), ("bob", "bob@example.com")), **options):
    fake = FakeWebex(**options)
    fake.start()
    fake.add_users([{"id": uid, "email": email, "name": uid.title()} for uid, email in users])
    return fake
