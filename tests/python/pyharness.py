"""What the tests of the Python package share: the integration harness (the
real tokend beside the fake provider) by import, and small helpers."""

import datetime
import os
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from harness import CLIENT_ID, Tokend, http_get, start_fake, stop_and_check  # noqa: E402,F401

SDK = os.path.join(ROOT, "sdk", "python")
REDIRECT_URL = "http://127.0.0.1:9/redirect"  # the harness's configured redirect_url
SCOPES = "spark:people_read spark:messages_write"


def successor(first, **options):
    """A Tokend (not started) that takes over first's directory, state and
    socket path after first stopped, logging to a file of its own (the
    harness waits for the "running" line in its log)."""
    second = Tokend(first.fake, workdir=first.dir, **options)
    second.log_path = os.path.join(first.dir, f"tokend-{time.monotonic_ns()}.log")
    return second


def patient_tokend(fake, timeout_ms=20000):
    """A Tokend (not started) whose requests to the provider wait up to
    timeout_ms (the harness's 1.5 s would cut a slow refresh short)."""
    tokend = Tokend(fake, integration=False)
    with open(tokend.config_path, "a") as f:
        f.write("\n".join([
            "integration:",
            f"  client_id: {CLIENT_ID}",
            f"  client_secret: {{file: {tokend.dir}/client_secret}}",
            f"  bot_token: {{file: {tokend.dir}/bot_token}}",
            f"  scopes: {SCOPES}",
            f"  redirect_url: {REDIRECT_URL}",
            f"  auth_service: {fake.url}/v1/authorize",
            f"  token_service: {fake.url}/v1/access_token",
            f"  api_base: {fake.url}/v1",
            f"  request_timeout_ms: {timeout_ms}",
        ]) + "\n")
    return tokend


def future(seconds):
    return datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)


def context_json(user_id, access="AT", expires_in=3600, refresh="RT"):
    return {"user_id": user_id, "tokens": {"access_token": access, "expires_at": future(expires_in).isoformat(),
                                           "refresh_token": refresh,
                                           "refresh_token_expires_at": future(86400).isoformat(),
                                           "token_type": "Bearer", "scope": "spark:all"}}


def wait_for(predicate, timeout=10.0, what="the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError(f"{what} did not happen within {timeout} s")


class ScriptedServer:
    """A Unix socket server for the client's failure paths tokend cannot be
    made to show on cue: for each accepted connection, ``script`` gives what
    to do after reading one request line: "drop" (close without answering)
    or "answer" (a successful answer echoing the id)."""

    def __init__(self, directory, script):
        self.path = os.path.join(directory, "scripted.sock")
        self.script = list(script)
        self.requests = []
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        self.listener.listen(8)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        import json
        for action in self.script:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn:
                data = b""
                while not data.endswith(b"\n"):
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                if not data:
                    continue
                request = json.loads(data.split(b"\n")[0])
                self.requests.append(request)
                if action == "answer":
                    conn.sendall(json.dumps({"id": request.get("id"), "ok": True,
                                             "result": {"version": "scripted", "protocol": 1}}).encode() + b"\n")

    def close(self):
        self.listener.close()
