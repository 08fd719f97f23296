"""tokend under a service manager, without systemd: a fake $NOTIFY_SOCKET
(READY, STATUS, WATCHDOG, STOPPING), socket activation ($LISTEN_FDS) of the
control socket, the redirect port and the metrics port, SIGHUP reload, and
GET /metrics checked by promtool."""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from bot_support import Raw
from harness import ROOT, Tokend, faulty_store_tokend, http_get, http_request, start_fake
from tokend_client import TokendError


class NotifyListener:
    """A datagram socket standing in for systemd's notify socket."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="tokend-notify-", dir="/tmp")
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages = []  # (monotonic time, {key: value})

    def receive(self, timeout):
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            return None
        fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
        self.messages.append((time.monotonic(), fields))
        return fields

    def wait_for(self, key, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            fields = self.receive(max(0.01, deadline - time.monotonic()))
            if fields and key in fields:
                return fields
        raise AssertionError(f"no {key} notification within {timeout} s; got {self.messages}")

    def close(self):
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Notify(unittest.TestCase):
    def setUp(self):
        self.notify = NotifyListener()
        self.addCleanup(self.notify.close)
        self.tokend = Tokend(store="memory")
        self.addCleanup(self.tokend.close)

    def test_ready_once_listeners_serve_then_watchdog_then_stopping(self):
        self.tokend.start(env={"NOTIFY_SOCKET": self.notify.path, "WATCHDOG_USEC": "1000000"})
        ready = self.notify.wait_for("READY")
        self.assertEqual(ready["READY"], "1")
        self.assertIn("serving 0 users", ready.get("STATUS", ""))
        # READY means served: the control socket and the redirect port answer now.
        self.assertIn("version", self.tokend.client().ping())
        self.assertEqual(http_get(self.tokend.port, "/healthz")[0], 200)

        beats = []
        while len(beats) < 4:
            self.notify.wait_for("WATCHDOG", timeout=2)
            beats.append(self.notify.messages[-1][0])
        gaps = [b - a for a, b in zip(beats, beats[1:])]
        # Half of WATCHDOG_USEC (500 ms), with room for a loaded machine, and
        # never as late as the watchdog's own deadline (1 s).
        self.assertTrue(0.4 <= sum(gaps) / len(gaps) <= 0.7, gaps)
        self.assertTrue(all(0.25 < gap < 1.0 for gap in gaps), gaps)
        self.assertIn("watchdog: keep-alive every 500 ms", self.tokend.log())

        # The status follows along with the keep-alives.
        self.tokend.client().set_user_context("u1", {"user_id": "u1", "tokens": {"access_token": "A"}})
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            fields = self.notify.wait_for("WATCHDOG", timeout=2)
            if fields.get("STATUS") == "serving 1 users":
                break
        else:
            self.fail(f"no STATUS=serving 1 users: {self.notify.messages}")

        self.tokend.process.send_signal(signal.SIGTERM)
        stopping = self.notify.wait_for("STOPPING")
        self.assertEqual(stopping["STOPPING"], "1")
        self.assertIn("stopping (SIGTERM)", stopping.get("STATUS", ""))
        self.assertEqual(self.tokend.process.wait(20), 0)

    def test_no_watchdog_for_another_pid_and_reload_says_reloading_then_ready(self):
        self.tokend.start(env={"NOTIFY_SOCKET": self.notify.path, "WATCHDOG_USEC": "200000",
                               "WATCHDOG_PID": "1"})
        self.notify.wait_for("READY")
        self.tokend.process.send_signal(signal.SIGHUP)
        self.notify.wait_for("RELOADING")
        self.assertIn("READY", self.notify.wait_for("READY"))
        self.assertFalse(any("WATCHDOG" in m for _, m in self.notify.messages), self.notify.messages)
        self.assertNotIn("watchdog: keep-alive", self.tokend.log())

    def test_a_failed_start_says_why_in_status(self):
        self.tokend = Tokend(store="nosuch")
        self.addCleanup(self.tokend.close)
        with self.assertRaises(RuntimeError):
            self.tokend.start(env={"NOTIFY_SOCKET": self.notify.path})
        status = self.notify.wait_for("STATUS")
        self.assertTrue(status["STATUS"].startswith("cannot start:"), status)
        self.assertNotIn("READY", status)


def listening_unix(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path)
    sock.listen(16)
    return sock


def listening_tcp():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    return sock


class Activation(unittest.TestCase):
    def setUp(self):
        self.fake = start_fake()
        self.addCleanup(self.fake.stop)
        self.tokend = Tokend(self.fake, extra_config="metrics:\n  listen: 127.0.0.1:1\n")
        self.addCleanup(self.tokend.close)
        self.activated_path = os.path.join(self.tokend.dir, "activated.sock")
        self.control = listening_unix(self.activated_path)
        self.http = listening_tcp()
        self.metrics = listening_tcp()
        for sock in (self.control, self.http, self.metrics):
            self.addCleanup(sock.close)

    def test_serves_the_passed_sockets_instead_of_the_configured_ones(self):
        # The configured addresses (control socket, 127.0.0.1:0, port 1 for metrics) are not bound.
        self.tokend.start(activated=[("control", self.control), ("http", self.http), ("metrics", self.metrics)])
        self.assertIn("socket activation: 3 socket(s): control yes, http 1, metrics 1", self.tokend.log())
        self.assertFalse(os.path.exists(self.tokend.socket), "the configured control socket was bound too")
        self.assertEqual(self.tokend.port, self.http.getsockname()[1])
        self.assertNotIn("metrics listening on http://", self.tokend.log())
        self.assertNotIn("redirect endpoint listening on http://", self.tokend.log())

        # A whole flow through the passed sockets.
        self.tokend.socket = self.activated_path
        _, _, (status, _, body) = self.tokend.complete_flow("alice")
        self.assertEqual(status, 200, body)
        self.assertIn("Authenticated", body)
        self.assertTrue(self.tokend.client().get_token("alice")["access_token"])
        status, _, text = http_get(self.metrics.getsockname()[1], "/metrics")
        self.assertEqual(status, 200)
        self.assertIn('tokend_flows_completed_total{integration="default"} 1', text)

        self.assertEqual(self.tokend.stop(), 0)
        # The socket file belongs to the service manager: left in place.
        self.assertTrue(os.path.exists(self.activated_path))

    def test_unnamed_sockets_are_sorted_by_type(self):
        self.tokend = Tokend(store="memory")
        self.addCleanup(self.tokend.close)
        self.tokend.start(activated=[("tokend.socket", self.http), ("tokend.socket", self.control)])
        self.assertIn("control yes, http 1, metrics 0", self.tokend.log())
        self.tokend.socket = self.activated_path
        self.assertIn("version", self.tokend.client().ping())
        self.assertEqual(http_get(self.http.getsockname()[1], "/healthz")[0], 200)

    def test_a_socket_it_cannot_place_stops_start_up(self):
        datagram = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(datagram.close)
        self.tokend = Tokend(store="memory")
        self.addCleanup(self.tokend.close)
        with self.assertRaises(RuntimeError):
            self.tokend.start(activated=[("control", self.control), ("control", datagram)])
        self.assertEqual(self.tokend.process.wait(10), 2)
        self.assertIn("activated socket 4 (control)", self.tokend.log())


class Reload(unittest.TestCase):
    """SIGHUP: what may change is applied, the rest reported and left alone."""

    def setUp(self):
        self.fake = start_fake(client_secret="rotated-client-secret", bot_token="rotated-bot-token")
        self.addCleanup(self.fake.stop)
        self.tokend = Tokend(self.fake, store="memory")
        self.addCleanup(self.tokend.close)
        with open(self.tokend.config_path) as f:
            self.base = f.read().replace("  level: debug", "  level: info")
        self.write_config(self.base)
        self.notify = NotifyListener()
        self.addCleanup(self.notify.close)
        self.tokend.start(env={"NOTIFY_SOCKET": self.notify.path})
        self.notify.wait_for("READY")

    def write_config(self, text):
        with open(self.tokend.config_path, "w") as f:
            f.write(text)

    def reload(self, expect):
        before = len(self.tokend.log())
        self.tokend.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            text = self.tokend.log()[before:]
            if expect in text:
                return text
            time.sleep(0.02)
        self.fail(f"no '{expect}' after SIGHUP:\n{self.tokend.log()[before:]}")

    def wait_for_message(self, user_id):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            messages = [m for m in self.fake.state()["messages"] if m["toPersonId"] == user_id]
            if messages:
                return messages[-1]["markdown"]
            time.sleep(0.05)
        return None

    def test_secrets_log_level_messages_and_ttl_apply(self):
        # The provider's secret was rotated: the old one fails the code exchange.
        _, _, (status, _, body) = self.tokend.complete_flow("alice")
        self.assertNotEqual(status, 200, body)
        self.assertIn("provider_error", self.tokend.log())

        for name, value in (("client_secret", "rotated-client-secret"), ("bot_token", "rotated-bot-token")):
            with open(os.path.join(self.tokend.dir, name), "w") as f:
                f.write(value + "\n")
        self.write_config(self.base.replace("  level: info", "  level: debug")
                          + "flows:\n  ttl: 1\nmessages:\n  authenticated: \"Welcome back, valid until {expires_at}\"\n")
        text = self.reload("reload: applied")
        self.assertIn("applied: log.level, flows.ttl, messages; secrets read again", text)
        self.assertNotIn("needs a restart", text)
        self.assertIn("log level is now debug", text)

        _, _, (status, _, body) = self.tokend.complete_flow("alice")
        self.assertEqual(status, 200, body)
        self.assertTrue(self.wait_for_message("alice").startswith("Welcome back, valid until"))
        # Debug lines appear now (the HTTP server logs each request at debug).
        self.assertRegex(self.tokend.log()[len(text):], r"debug")

        # The TTL of 1 s applies to the next flow.
        flow = self.tokend.client().start_flow("bob")
        query = self.tokend.authorize(flow["auth_url"], {"user_id": "bob"})
        time.sleep(1.5)
        status, _, body = self.tokend.redirect(query)
        self.assertNotEqual(status, 200)
        self.assertIn("expired", self.tokend.log().splitlines()[-1] + body.lower())
        for secret in ("rotated-client-secret", "rotated-bot-token", "fake-webex-client-secret"):
            self.assertNotIn(secret, self.tokend.log())

    def test_listen_address_and_store_need_a_restart_and_are_not_applied(self):
        old_port = self.tokend.port
        users = os.path.join(self.tokend.dir, "users.yml")
        changed = (self.base.replace("  listen: 127.0.0.1:0", "  listen: 127.0.0.1:1")
                   .replace("  plugin: memory", f"  plugin: yaml\n  options:\n    path: {users}")
                   + "flows:\n  ttl: 77\n")
        self.write_config(changed)
        text = self.reload("needs a restart")
        self.assertIn("reload: applied: flows.ttl", text)
        self.assertIn("needs a restart: store.plugin, store.options, http.listen", text)
        self.assertIn("restart needed for store.plugin, store.options, http.listen", self.notify.wait_for("READY")["STATUS"])
        self.assertEqual(http_get(old_port, "/healthz")[0], 200)
        self.assertIn("store plugin memory", self.tokend.log())
        self.assertNotIn("store plugin yaml", self.tokend.log())
        self.assertIn("version", self.tokend.client().ping())

    def test_a_broken_config_or_missing_secret_keeps_the_old_one(self):
        self.write_config(self.base + "flows:\n  ttl: [\n")
        text = self.reload("reload failed")
        self.assertIn("still running with the previous configuration", text)
        self.assertIn("not valid YAML", text)

        self.write_config(self.base + "flows:\n  colour: blue\n")
        self.assertIn("unknown key 'colour' in 'flows'", self.reload("reload failed"))

        os.unlink(os.path.join(self.tokend.dir, "client_secret"))
        self.write_config(self.base.replace("  level: info", "  level: debug"))
        text = self.reload("reload failed")
        self.assertIn("integration.client_secret: cannot read", text)
        self.assertNotIn("log level is now debug", self.tokend.log())

        self.assertIn("version", self.tokend.client().ping())
        self.assertEqual(http_get(self.tokend.port, "/healthz")[0], 200)
        self.assertEqual(self.tokend.stop(), 0)

    def test_a_reload_runs_the_checks_of_check_config_and_changes_nothing_on_a_problem(self):
        # Four problems in one file: a misspelt store option (checked by the
        # plugin), a duplicate key, an unknown key, a missing secret file; and
        # a change that alone would apply (the log level).
        users = os.path.join(self.tokend.dir, "users.yml")
        broken = (self.base.replace("  level: info", "  level: debug")
                  .replace("  plugin: memory", f"  plugin: yaml\n  options:\n    path: {users}\n    pth: x")
                  .replace("  client_secret: {file: ", "  client_secret: {file: /nonexistent")
                  + "flows:\n  ttl: 77\n  ttl: 78\n  colour: blue\n")
        self.write_config(broken)
        text = self.reload("reload failed")
        lines = broken.splitlines()
        where = lambda needle: f"{self.tokend.config_path}:{[i for i, l in enumerate(lines) if needle in l][0] + 1}"
        self.assertIn(f"{where('pth: x')}: store.options.pth: unknown option", text)
        self.assertIn(f"{where('ttl: 78')}: duplicate key 'ttl'", text)
        self.assertIn(f"{where('colour: blue')}: unknown key 'colour' in 'flows'", text)
        self.assertIn(f"{where('client_secret:')}: integration.client_secret: cannot read /nonexistent", text)
        self.assertIn("reload failed: 4 problems", text)
        self.assertIn("nothing changed, still running with the previous configuration", text)
        self.assertIn("last reload failed", self.notify.wait_for("READY")["STATUS"])
        self.assertNotIn("log level is now debug", self.tokend.log())
        self.assertNotIn("reload: applied", self.tokend.log())
        self.assertFalse(os.path.exists(users))
        self.assertFalse(os.path.exists(users + ".lock"))
        self.assertIn("version", self.tokend.client().ping())
        self.assertEqual(http_get(self.tokend.port, "/healthz")[0], 200)

        # Fixed: the same reload applies.
        self.write_config(self.base.replace("  level: info", "  level: debug"))
        self.assertIn("reload: applied: log.level", self.reload("reload: applied"))


def metrics_port(tokend):
    """The port of the metrics listener, as tokend logged it."""
    return int(re.search(r"metrics listening on http://127\.0\.0\.1:(\d+)/metrics", tokend.log()).group(1))


class Metrics(unittest.TestCase):
    def setUp(self):
        self.fake = start_fake()
        self.addCleanup(self.fake.stop)
        self.tokend = Tokend(self.fake, extra_config="metrics:\n  listen: 127.0.0.1:0\n")
        self.addCleanup(self.tokend.close)
        self.tokend.start()
        self.metrics_port = metrics_port(self.tokend)

    def scrape(self):
        status, headers, text = http_get(self.metrics_port, "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/plain; version=0.0.4"))
        return text

    def value(self, text, series):
        match = re.search("^" + re.escape(series) + r" (\S+)$", text, re.M)
        self.assertIsNotNone(match, f"{series} not in\n{text}")
        return float(match.group(1))

    def test_counts_a_flow_and_passes_promtool(self):
        self.tokend.complete_flow("alice")
        self.tokend.complete_flow("bob", as_user="alice")
        self.tokend.client().start_flow("carol")
        text = self.scrape()
        self.assertEqual(self.value(text, 'tokend_flows_started_total{integration="default"}'), 3)
        self.assertEqual(self.value(text, 'tokend_flows_completed_total{integration="default"}'), 1)
        self.assertEqual(self.value(text, 'tokend_flows_failed_total{integration="default"}'), 1)
        self.assertEqual(self.value(text, 'tokend_redirects_total{integration="default",outcome="authenticated"}'), 1)
        self.assertEqual(self.value(text, 'tokend_redirects_total{integration="default",outcome="wrong_user"}'), 1)
        self.assertEqual(self.value(text, 'tokend_users{integration="default"}'), 1)
        self.assertEqual(self.value(text, "tokend_pending_flows"), 1)
        self.assertGreaterEqual(self.value(text, "tokend_control_clients"), 1)
        self.assertEqual(self.value(text, 'tokend_provider_request_duration_seconds_count{endpoint="token",integration="default"}'), 2)
        self.assertGreaterEqual(self.value(text, 'tokend_store_operation_duration_seconds_count{operation="put"}'), 1)
        self.assertEqual(self.value(text, "tokend_store_healthy"), 1)
        self.assertEqual(self.value(text, 'tokend_flows_started_without_pkce_total{integration="default"}'), 0)
        self.assertEqual(self.value(text, 'tokend_auth_links_total{integration="default",outcome="issued"}'), 0)

        self.check_promtool(text)

    def test_counts_flows_without_pkce_and_auth_links(self):
        raw = Raw(self.tokend.socket)
        self.addCleanup(raw.close)
        raw.ok("start_flow", user_id="alice", pkce=False)
        link = raw.ok("auth_link", user_id="alice")
        path_and_query = link["url"][link["url"].index("/auth"):]
        self.assertEqual(http_get(self.tokend.port, path_and_query)[0], 302)
        self.assertEqual(http_get(self.tokend.port, "/auth?u=YQ&e=1&s=x")[0], 400)
        text = self.scrape()
        self.assertEqual(self.value(text, 'tokend_flows_started_without_pkce_total{integration="default"}'), 1)
        self.assertEqual(self.value(text, 'tokend_flows_started_total{integration="default"}'), 2)
        self.assertEqual(self.value(text, 'tokend_auth_links_total{integration="default",outcome="issued"}'), 1)
        self.assertEqual(self.value(text, 'tokend_auth_links_total{integration="default",outcome="opened"}'), 1)
        self.assertEqual(self.value(text, 'tokend_auth_links_total{integration="default",outcome="expired"}'), 0)
        self.assertEqual(self.value(text, 'tokend_auth_links_total{outcome="invalid"}'), 1)
        self.check_promtool(text)

    def check_promtool(self, text):
        promtool = shutil.which("promtool")
        if promtool is None:
            self.skipTest("promtool (Debian package prometheus) is not installed")
        checked = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
        self.assertEqual(checked.returncode, 0, checked.stdout + checked.stderr)

    def test_every_documented_series_is_there_from_the_start_and_nothing_undocumented(self):
        # The table in docs/operations.md ("## Metrics") against a fresh daemon's
        # scrape: names and types, so the two cannot drift apart.
        documented = documented_metrics()
        text = self.scrape()
        scraped = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
        self.assertEqual(documented, scraped)
        for name, kind in scraped.items():
            series = name + "_count" if kind == "histogram" else name
            self.assertRegex(text, rf"(?m)^{re.escape(series)}(\{{[^}}]*\}})? \S+$", f"{name} has no series")
        # Nothing has happened yet: every tokend counter is at zero, provider
        # and store error series included (each known label set exists).
        for line in re.findall(r"(?m)^tokend_\w+_total(?:\{[^}]*\})? \S+$", text):
            self.assertTrue(line.endswith(" 0"), line)
        # One integration: its label is "default". The JWKS and discovery documents serve
        # whoever asks: no integration.
        for endpoint in ("token", "identity", "message", "revoke"):
            self.assertEqual(self.value(text, f'tokend_provider_requests_total{{endpoint="{endpoint}",integration="default",'
                                              f'status="2xx"}}'), 0)
        for endpoint in ("jwks", "discovery"):
            self.assertEqual(self.value(text, f'tokend_provider_requests_total{{endpoint="{endpoint}",status="2xx"}}'), 0)
        for name in ("tokend_users", "tokend_users_reauth_required", "tokend_refreshes_scheduled"):
            self.assertEqual(self.value(text, name + '{integration="default"}'), 0)
        self.assertEqual(self.value(text, 'tokend_sign_outs_total{integration="default",revocation="revoked"}'), 0)
        self.assertEqual(self.value(text, 'tokend_store_errors_total{code="unavailable",operation="get"}'), 0)
        # The process series are this process's.
        self.assertGreater(self.value(text, "process_resident_memory_bytes"), 1 << 20)
        self.assertGreater(self.value(text, "process_virtual_memory_bytes"), self.value(text, "process_resident_memory_bytes"))
        self.assertGreaterEqual(self.value(text, "process_open_fds"), 5)
        self.assertGreater(self.value(text, "process_max_fds"), self.value(text, "process_open_fds"))
        started = self.value(text, "process_start_time_seconds")
        self.assertLessEqual(started, time.time() + 1)
        self.assertGreater(started, time.time() - 300)
        before = self.value(text, "process_cpu_seconds_total")
        self.assertGreaterEqual(self.value(self.scrape(), "process_cpu_seconds_total"), before)
        self.check_promtool(text)

    def test_readyz_on_both_listeners(self):
        for port in (self.tokend.port, self.metrics_port):
            status, headers, body = http_get(port, "/readyz")
            self.assertEqual((status, body), (200, "ready\n"))
            self.assertEqual(headers["Cache-Control"], "no-store")
            self.assertEqual(http_request("HEAD", port, "/readyz")[0], 200)
            self.assertEqual(http_request("POST", port, "/readyz")[0], 405)

    def test_not_on_the_public_listener_and_nothing_else_on_the_metrics_one(self):
        self.assertEqual(http_get(self.tokend.port, "/metrics")[0], 404)
        self.assertEqual(http_get(self.metrics_port, "/redirect?code=x&state=y")[0], 404)



def documented_metrics():
    """{name: type} from the table under "## Metrics" in docs/operations.md."""
    with open(os.path.join(ROOT, "docs", "operations.md")) as f:
        section = f.read().split("\n## Metrics\n", 1)[1].split("\n## ", 1)[0]
    documented = {}
    for row in re.findall(r"(?m)^\| (`.*?) \| (\w+) \|", section):
        for name in re.findall(r"`(\w+)(?:\{[^}]*\})?`", row[0]):
            documented[name] = row[1]
    return documented


class StoreErrorMetrics(unittest.TestCase):
    def test_failed_store_calls_are_counted_by_operation_and_code(self):
        made = faulty_store_tokend(None, extra_config="metrics:\n  listen: 127.0.0.1:0\n")
        if made is None:
            self.skipTest("TOKEND_FAULTY_STORE not set (ctest sets it)")
        self.tokend, flag = made
        self.addCleanup(self.tokend.close)
        self.tokend.start()
        port = metrics_port(self.tokend)
        open(flag, "w").close()
        with self.assertRaises(TokendError):
            self.tokend.client().set_user_context("u1", {"user_id": "u1", "tokens": {"access_token": "A"}})
        status, _, text = http_get(port, "/metrics")
        self.assertEqual(status, 200)
        self.assertRegex(text, r'tokend_store_errors_total\{(operation="put",code="unavailable"|'
                               r'code="unavailable",operation="put")\} 1')
        self.assertIn("tokend_store_healthy 0", text)
        self.assertIn("tokend_pending_flows", text)
        # Not ready while the store fails, on both listeners; the reason says why.
        for listener in (self.tokend.port, port):
            status, _, body = http_get(listener, "/readyz")
            self.assertEqual(status, 503)
            self.assertTrue(body.startswith("not ready: store unavailable: "), body)
        os.unlink(flag)
        self.assertEqual(http_get(port, "/readyz")[:3:2], (200, "ready\n"))


if __name__ == "__main__":
    unittest.main()
