"""Issue 17 item 3: several integrations in one tokend. Two Webex-shaped fakes
on different ports serve the default integration (`webex`) and a second one
(`second`); the same user id is kept apart in each, on the yaml store and on
a real redis-server. The default integration's data keeps the original's
layout (its keys and shape), so the original module still reads it."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import unittest
import urllib.parse

import yaml

from harness import CLIENT_ID, ROOT, Tokend, http_get, start_fake, user_context, wait_for
from tokend_client import BadRequestError, TokendClient, TokendError

sys.path.insert(0, os.path.join(ROOT, "tests", "support"))

TOKENCTL = os.environ.get("TOKENCTL_BIN", os.path.join(ROOT, "build", "tools", "tokenctl", "tokenctl"))

from redis_server import RedisServer  # noqa: E402


def integration_lines(name, fake, directory, default=False, messages=None):
    lines = [f"  - name: {name}"]
    if default:
        lines.append("    default: true")
    lines += [
        f"    client_id: {CLIENT_ID}",
        f"    client_secret: {{file: {directory}/client_secret}}",
        f"    bot_token: {{file: {directory}/bot_token}}",
        "    scopes: spark:people_read spark:messages_write",
        "    redirect_url: http://127.0.0.1:9/redirect",
        f"    auth_service: {fake.url}/v1/authorize",
        f"    token_service: {fake.url}/v1/access_token",
        f"    api_base: {fake.url}/v1",
        "    request_timeout_ms: 1500",
    ]
    for key, text in (messages or {}).items():
        lines += ["    messages:", f"      {key}: \"{text}\""]
    return lines


class TwoIntegrations:
    """The cases, on the store a subclass names."""
    store = None

    def setUp(self):
        self.fake_a = start_fake()  # the default integration's provider
        self.fake_b = start_fake()  # the second integration's
        self.redis = RedisServer().start() if self.store == "redis" else None
        options = None
        if self.redis is not None:
            options = {"redis_url": f'"{self.redis.unix_url}"', "command_timeout_ms": 300, "connect_timeout_ms": 300}
        # A metrics listener; this uid may read refresh tokens (export).
        extra = f"metrics:\n  listen: 127.0.0.1:0\ncontrol:\n  refresh_token_readers: {{uids: [{os.getuid()}]}}\n"
        self.tokend = Tokend(None, integration=False, store=self.store or "yaml", store_options=options,
                             extra_config=extra)
        lines = ["integrations:"]
        # The second is listed first: the default is the one marked so.
        lines += integration_lines("second", self.fake_b, self.tokend.dir,
                                   messages={"authenticated": "second integration: valid until {expires_at}"})
        lines += integration_lines("webex", self.fake_a, self.tokend.dir, default=True)
        with open(self.tokend.config_path, "a") as f:
            f.write("\n".join(lines) + "\n")
        self.tokend.start()
        self.client = self.tokend.client()

    def tearDown(self):
        code = self.tokend.stop()
        log = self.tokend.log()
        self.tokend.close()
        self.fake_a.stop()
        self.fake_b.stop()
        if self.redis is not None:
            self.redis.stop()
        self.assertEqual(code, 0, log)

    # -- helpers --------------------------------------------------------
    def flow(self, fake, user_id, integration=None, as_user=None):
        params = {"user_id": user_id}
        if integration:
            params["integration"] = integration
        flow = self.client.call("start_flow", **params)
        fake.queue_consent([{"user_id": as_user or user_id}])
        parsed = urllib.parse.urlsplit(flow["auth_url"])
        self.assertEqual(parsed.port, fake.port, "the flow goes to its integration's provider")
        status, headers, body = http_get(parsed.port, parsed.path + "?" + parsed.query)
        self.assertEqual(status, 302, body)
        query = urllib.parse.urlsplit(headers["Location"]).query
        return http_get(self.tokend.port, "/redirect?" + query)

    def stored(self):
        """The user namespace as the store holds it: key -> context JSON."""
        if self.redis is None:
            path = os.path.join(self.tokend.dir, "state", "users.yml")
            if not os.path.exists(path):
                return {}
            with open(path) as f:
                return yaml.safe_load(f) or {}
        keys = [key.decode() if isinstance(key, bytes) else key for key in self.redis.command("SMEMBERS", "users")]
        return {key[len("user-"):]: json.loads(self.redis.command("GET", key)) for key in keys}

    def token(self, user_id, integration=None):
        params = {"user_id": user_id}
        if integration:
            params["integration"] = integration
        return self.client.call("get_token", **params)

    def error_code(self, op, **params):
        with self.assertRaises(TokendError) as caught:
            self.client.call(op, **params)
        return caught.exception.code

    def token_requests(self, fake, grant):
        return fake.state()["token_requests"].get(grant, {}).get("ok", 0)

    def metrics(self):
        """GET /metrics as {series: value}, series as written (labels sorted by name)."""
        port = int(re.search(r"metrics listening on http://127\.0\.0\.1:(\d+)/metrics", self.tokend.log()).group(1))
        status, _, text = http_get(port, "/metrics")
        self.assertEqual(status, 200, text)
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                series, value = line.rsplit(" ", 1)
                values[series] = float(value)
        return values

    def tokenctl(self, *args):
        return subprocess.run([TOKENCTL, "-s", self.tokend.socket, *args], capture_output=True, text=True, timeout=60)

    # -- the cases ------------------------------------------------------
    def test_the_same_user_in_two_integrations_is_kept_apart(self):
        status, _, body = self.flow(self.fake_a, "alice")
        self.assertEqual(status, 200, body)
        status, _, body = self.flow(self.fake_b, "alice", "second")
        self.assertEqual(status, 200, body)
        default = self.token("alice")
        second = self.token("alice", "second")
        self.assertEqual(second["user_id"], "alice")
        self.assertNotEqual(default["access_token"], second["access_token"])
        self.assertEqual(self.token("alice", "webex"), default)  # the default by its name

        stored = self.stored()
        self.assertEqual(set(stored), {"alice", "second/alice"})
        # The default integration's record is the original's: key and user_id the user's.
        self.assertEqual(stored["alice"]["user_id"], "alice")
        self.assertEqual(set(stored["alice"]), {"user_id", "tokens"})
        self.assertEqual(stored["alice"]["tokens"]["access_token"], default["access_token"])
        self.assertEqual(stored["second/alice"]["tokens"]["access_token"], second["access_token"])

        # Each integration's bot told its user, with its own texts.
        wait_for(lambda: self.fake_b.state()["messages"], what="the second bot's message")
        [message_b] = self.fake_b.state()["messages"]
        self.assertEqual(message_b["toPersonId"], "alice")
        self.assertIn("second integration: valid until", message_b["markdown"])
        wait_for(lambda: self.fake_a.state()["messages"], what="the default bot's message")
        self.assertNotIn("second integration", self.fake_a.state()["messages"][0]["markdown"])

        # A refresh of each goes to its own provider.
        before_a, before_b = self.token_requests(self.fake_a, "refresh_token"), self.token_requests(self.fake_b, "refresh_token")
        refreshed_b = self.client.call("refresh", user_id="alice", integration="second")
        self.assertEqual(self.token_requests(self.fake_b, "refresh_token"), before_b + 1)
        self.assertEqual(self.token_requests(self.fake_a, "refresh_token"), before_a)
        self.assertNotEqual(refreshed_b["access_token"], second["access_token"])
        self.assertEqual(self.token("alice"), default)
        self.client.call("refresh", user_id="alice")
        self.assertEqual(self.token_requests(self.fake_a, "refresh_token"), before_a + 1)

        # grant_status per integration, and without one: every integration's.
        status = self.client.call("grant_status", user_id="alice", integration="second")
        self.assertEqual((status["integration"], status["context"]), ("second", True))
        listed = self.client.call("grant_status", user_id="alice")
        self.assertEqual(listed["integration"], "webex")
        self.assertEqual(sorted(one["integration"] for one in listed["integrations"] if one["context"]),
                         ["second", "webex"])

        # Clearing one leaves the other.
        self.assertEqual(self.client.call("set_user_context", user_id="alice", integration="second",
                                          user_context=None), {"cleared": True})
        self.assertEqual(self.error_code("get_token", user_id="alice", integration="second"), "not_found")
        self.assertEqual(self.token("alice")["access_token"], self.stored()["alice"]["tokens"]["access_token"])
        self.assertEqual(set(self.stored()), {"alice"})

    def test_a_flow_of_the_second_integration_checks_its_user_there(self):
        status, _, body = self.flow(self.fake_b, "alice", "second", as_user="bob")
        self.assertEqual(status, 403, body)
        self.assertEqual(self.stored(), {})
        self.assertEqual(self.token_requests(self.fake_a, "authorization_code"), 0)

    def test_the_second_integrations_secret_source_changes_on_reload(self):
        """SIGHUP applies a new client_secret source of an integration other than the default (the
        list unchanged): its next code exchange sends what the new source holds."""
        moved = os.path.join(self.tokend.dir, "second_client_secret")
        with open(moved, "w") as f:
            f.write("not-the-providers-secret\n")
        with open(self.tokend.config_path) as f:
            config = f.read()
        shared = f"    client_secret: {{file: {self.tokend.dir}/client_secret}}\n"
        self.assertEqual(config.count(shared), 2)
        with open(self.tokend.config_path, "w") as f:
            f.write(config.replace(shared, f"    client_secret: {{file: {moved}}}\n", 1))  # the second's: listed first
        mark = len(self.tokend.log())
        self.tokend.process.send_signal(signal.SIGHUP)
        wait_for(lambda: "reload: applied" in self.tokend.log()[mark:], what="the reload")
        self.assertIn("reload: applied: integrations.second.client_secret; secrets read again", self.tokend.log()[mark:])
        self.assertNotIn("needs a restart", self.tokend.log()[mark:])
        status, _, body = self.flow(self.fake_b, "alice", "second")
        self.assertNotEqual(status, 200, "the provider refuses the new, wrong secret: " + body)
        self.assertEqual(self.flow(self.fake_a, "alice")[0], 200, "the default's secret is unchanged")
        # The right secret in the new file: read again at the next reload.
        with open(os.path.join(self.tokend.dir, "client_secret")) as right, open(moved, "w") as f:
            f.write(right.read())
        mark = len(self.tokend.log())
        self.tokend.process.send_signal(signal.SIGHUP)
        wait_for(lambda: "reload: applied" in self.tokend.log()[mark:], what="the second reload")
        self.assertEqual(self.flow(self.fake_b, "bob", "second")[0], 200)
        self.assertNotIn("not-the-providers-secret", self.tokend.log())

    def test_unknown_and_ambiguous_integrations_are_refused(self):
        self.assertEqual(self.error_code("get_token", user_id="alice", integration="nope"), "unknown_integration")
        self.assertEqual(self.error_code("start_flow", user_id="alice", integration="nope"), "unknown_integration")
        self.assertEqual(self.error_code("get_token", user_id="alice", integration=""), "bad_request")
        # A user id of the default integration named so cannot read as the second integration's key.
        self.assertEqual(self.error_code("get_token", user_id="second/alice", integration="webex"), "bad_request")
        self.assertEqual(self.error_code("start_flow", user_id="second/alice", integration="webex"), "bad_request")

    def test_a_context_set_for_the_second_integration_and_a_restart(self):
        context = {"user_id": "carol", "tokens": {"access_token": "AT-second", "refresh_token": "RT-second",
                                                  "expires_at": "2099-01-01T00:00:00+00:00",
                                                  "refresh_token_expires_at": "2099-06-01T00:00:00+00:00"}}
        self.client.call("set_user_context", user_id="carol", integration="second", user_context=context)
        default = dict(context, tokens=dict(context["tokens"], access_token="AT-default"))
        self.client.call("set_user_context", user_id="carol", user_context=default)
        # A user key as list_users gives it names the second integration's user (export, import).
        users = self.client.call("list_users")["users"]
        self.assertEqual(sorted(users), ["carol", "second/carol"])
        self.assertEqual(self.token("second/carol")["access_token"], "AT-second")
        answer = self.client.call("get_user_context", user_id="carol", integration="second")
        self.assertEqual(answer["user_context"]["user_id"], "carol")
        self.assertEqual(answer["user_context"]["tokens"]["access_token"], "AT-second")

        self.tokend.client().close()
        self.tokend._client = None
        self.assertEqual(self.tokend.stop(), 0)
        self.tokend._log.close()
        self.tokend.start()
        self.client = self.tokend.client()
        self.assertEqual(self.token("carol", "second")["access_token"], "AT-second")
        self.assertEqual(self.token("carol")["access_token"], "AT-default")
        self.assertEqual(self.error_code("get_token", user_id="carol", integration="webex-x"), "unknown_integration")

    def test_tokenctl_and_the_python_client_name_the_integration(self):
        context = {"user_id": "dave", "tokens": {"access_token": "AT-dave-second", "refresh_token": "RT-dave",
                                                 "expires_at": "2099-01-01T00:00:00+00:00"}}
        typed = TokendClient(self.tokend.socket, timeout=30)
        self.addCleanup(typed.close)
        typed.set_user_context("dave", context, integration="second")
        self.assertEqual(typed.get_token("dave", integration="second").access_token, "AT-dave-second")
        self.assertEqual(typed.grant_status("dave", integration="second").integration, "second")
        with self.assertRaises(BadRequestError) as caught:
            typed.get_token("dave", integration="nope")
        self.assertEqual(caught.exception.code, "unknown_integration")

        def tokenctl(*args):
            return subprocess.run([TOKENCTL, "-s", self.tokend.socket, "--json", *args],
                                  capture_output=True, text=True, timeout=30)
        out = tokenctl("--integration", "second", "get-token", "dave")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(json.loads(out.stdout)["result"]["access_token"], "AT-dave-second")
        out = tokenctl("get-token", "dave")  # the default integration has no dave
        self.assertEqual(json.loads(out.stderr)["error"]["code"], "not_found")
        out = tokenctl("get-token", "dave", "--integration", "nope")
        self.assertNotEqual(out.returncode, 0)
        self.assertEqual(json.loads(out.stderr)["error"]["code"], "unknown_integration")


    def test_metrics_and_stats_carry_the_integration(self):
        # webex: alice completes. second: bob and alice complete, then alice's next flow ends
        # wrong_user; dave is set without a refresh token (re-authorisation needed once it expires).
        for fake, user, integration, as_user in ((self.fake_a, "alice", None, None),
                                                 (self.fake_b, "bob", "second", None),
                                                 (self.fake_b, "alice", "second", None),
                                                 (self.fake_b, "alice", "second", "bob")):
            status, _, body = self.flow(fake, user, integration, as_user)
            self.assertEqual(status, 403 if as_user else 200, body)
        self.assertEqual(http_get(self.tokend.port, "/redirect?code=x&state=" + "0" * 32)[0], 404)  # unknown_flow
        self.client.call("refresh", user_id="alice", integration="second")
        self.client.call("set_user_context", user_id="dave", integration="second",
                         user_context=user_context("dave", refresh=None))
        self.client.call("sign_out", user_id="bob", integration="second", revoke=False)
        # The bots' messages are sent after the redirect answered: wait for their counts.
        wait_for(lambda: self.metrics().get('tokend_bot_messages_total{integration="second",outcome="sent"}') == 3,
                 what="the second bot's three messages counted")
        wait_for(lambda: self.metrics().get('tokend_bot_messages_total{integration="webex",outcome="sent"}') == 1,
                 what="the default bot's message counted")
        m = self.metrics()
        expected = {
            'tokend_flows_started_total{integration="webex"}': 1,
            'tokend_flows_started_total{integration="second"}': 3,
            'tokend_flows_completed_total{integration="webex"}': 1,
            'tokend_flows_completed_total{integration="second"}': 2,
            'tokend_flows_failed_total{integration="second"}': 1,
            'tokend_redirects_total{integration="webex",outcome="authenticated"}': 1,
            'tokend_redirects_total{integration="second",outcome="authenticated"}': 2,
            'tokend_redirects_total{integration="second",outcome="wrong_user"}': 1,
            'tokend_redirects_total{integration="webex",outcome="wrong_user"}': 0,
            # A state that names no flow belongs to no integration.
            'tokend_redirects_total{outcome="unknown_flow"}': 1,
            'tokend_redirects_total{integration="webex",outcome="unknown_flow"}': 0,
            'tokend_refreshes_total{integration="second",outcome="succeeded"}': 1,
            'tokend_refreshes_total{integration="webex",outcome="succeeded"}': 0,
            'tokend_sign_outs_total{integration="second",revocation="not_requested"}': 1,
            'tokend_sign_outs_total{integration="webex",revocation="not_requested"}': 0,
            # The gauges: webex alice; second alice and dave (bob signed out).
            'tokend_users{integration="webex"}': 1,
            'tokend_users{integration="second"}': 2,
            'tokend_users_reauth_required{integration="webex"}': 0,
            'tokend_users_reauth_required{integration="second"}': 1,
            'tokend_refreshes_scheduled{integration="webex"}': 1,
            'tokend_refreshes_scheduled{integration="second"}': 1,
            # Provider requests by integration: code exchanges and the refresh.
            'tokend_provider_requests_total{endpoint="token",integration="webex",status="2xx"}': 1,
            'tokend_provider_requests_total{endpoint="token",integration="second",status="2xx"}': 4,
            'tokend_provider_requests_total{endpoint="identity",integration="second",status="2xx"}': 3,
            'tokend_provider_requests_total{endpoint="message",integration="second",status="2xx"}': 3,
            # JWKS serve whoever asks: no integration.
            'tokend_provider_requests_total{endpoint="jwks",status="2xx"}': 0,
        }
        self.assertEqual({series: (m.get(series), value) for series, value in expected.items() if m.get(series) != value},
                         {}, "(scraped, expected)")
        self.assertNotIn('tokend_provider_requests_total{endpoint="token",status="2xx"}', m)

        stats = self.client.call("stats")
        # The totals keep their shape; each integration's share beside them.
        self.assertEqual((stats["users"], stats["users_reauth_required"]), (3, 1))
        self.assertEqual(stats["flows"]["completed"], 3)
        self.assertEqual(stats["redirects"], {"authenticated": 3, "wrong_user": 1, "unknown_flow": 1})
        self.assertEqual(stats["refreshes"]["scheduled"], 2)
        self.assertEqual(stats["sign_outs"]["not_requested"], 1)
        self.assertEqual(sorted(stats["integrations"]), ["second", "webex"])
        second, webex = stats["integrations"]["second"], stats["integrations"]["webex"]
        self.assertEqual((second["users"], second["users_reauth_required"], webex["users"]), (2, 1, 1))
        self.assertEqual((second["flows"]["completed"], webex["flows"]["completed"]), (2, 1))
        self.assertEqual(second["redirects"], {"authenticated": 2, "wrong_user": 1})
        self.assertEqual(webex["redirects"], {"authenticated": 1})
        self.assertEqual((second["refreshes"]["succeeded"], second["refreshes"]["scheduled"]), (1, 1))
        self.assertEqual((second["sign_outs"]["not_requested"], webex["sign_outs"]["not_requested"]), (1, 0))
        self.assertEqual((second["bot_messages"]["sent"], webex["bot_messages"]["sent"]), (3, 1))
        # The Python client models it.
        typed = TokendClient(self.tokend.socket, timeout=30)
        self.addCleanup(typed.close)
        modelled = typed.stats()
        self.assertEqual(modelled.integrations["second"].flows.completed, 2)
        self.assertEqual(modelled.integrations["second"].refreshes.scheduled, 1)
        self.assertEqual(modelled.integrations["webex"].users, 1)
        self.assertEqual(modelled.sign_outs["not_requested"], 1)
        # tokenctl stats with --integration: that integration's share.
        out = self.tokenctl("--json", "--integration", "second", "stats")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(json.loads(out.stdout)["result"]["flows"]["completed"], 2)
        out = self.tokenctl("--json", "--integration", "nope", "stats")
        self.assertEqual(json.loads(out.stderr)["error"]["code"], "unknown_integration")

    def test_export_and_import_keep_each_integrations_users(self):
        contexts = {("carol", None): user_context("carol", access="AT-carol-webex", refresh="RT-carol-webex"),
                    ("carol", "second"): user_context("carol", access="AT-carol-second", refresh="RT-carol-second"),
                    ("dave", "second"): user_context("dave", access="AT-dave-second", refresh="RT-dave-second")}
        for (user, integration), context in contexts.items():
            params = {"integration": integration} if integration else {}
            self.client.call("set_user_context", user_id=user, user_context=context, **params)
        path = os.path.join(self.tokend.dir, "export.yml")
        out = self.tokenctl("export", "-o", path)
        self.assertEqual(out.returncode, 0, out.stderr)
        with open(path) as f:
            exported = yaml.safe_load(f)
        self.assertEqual(sorted(exported), ["carol", "second/carol", "second/dave"])  # keys with "/" kept
        for (user, integration), _ in contexts.items():
            params = {"integration": integration} if integration else {}
            self.client.call("sign_out", user_id=user, **params)
        self.assertEqual(self.client.call("list_users")["users"], [])

        out = self.tokenctl("import", path)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(sorted(self.client.call("list_users")["users"]), ["carol", "second/carol", "second/dave"])
        for (user, integration), context in contexts.items():
            self.assertEqual(self.token(user, integration)["access_token"], context["tokens"]["access_token"])
            answer = self.client.call("get_user_context", user_id=user,
                                      **({"integration": integration} if integration else {}))
            self.assertEqual(answer["user_context"]["user_id"], user)
            self.assertEqual(answer["user_context"]["tokens"]["refresh_token"], context["tokens"]["refresh_token"])
        self.assertEqual(set(self.stored()), {"carol", "second/carol", "second/dave"})

    def test_watch_by_integration_and_unfiltered(self):
        watchers = {}
        for name, integration in (("all", None), ("second", "second"), ("webex", "webex")):
            client = TokendClient(self.tokend.socket, timeout=30)
            self.addCleanup(client.close)
            events = []
            watchers[name] = events

            def run(client=client, integration=integration, events=events):
                try:
                    for event in client.watch(integration=integration, resubscribe=False):
                        events.append((event.user_id, event.get("integration"), event.event))
                except Exception:  # noqa: BLE001 (close() ends it)
                    pass
            threading.Thread(target=run, daemon=True).start()
        wait_for(lambda: self.client.call("stats").get("watchers") == 3, what="three watchers")
        self.client.call("set_user_context", user_id="ann", user_context=user_context("ann"))
        self.client.call("set_user_context", user_id="ann", integration="second", user_context=user_context("ann"))
        self.client.call("set_user_context", user_id="ann", user_context=None)
        self.client.call("set_user_context", user_id="zed", integration="second", user_context=user_context("zed"))
        # Each connection's events come in order: once the last one arrived, nothing is missing.
        wait_for(lambda: len(watchers["all"]) == 4, what="every event on the unfiltered watch")
        wait_for(lambda: ("zed", "second", "context_set") in watchers["second"], what="the second's last event")
        wait_for(lambda: ("ann", "webex", "context_cleared") in watchers["webex"], what="the webex's last event")
        self.assertEqual(watchers["all"], [("ann", "webex", "context_set"), ("ann", "second", "context_set"),
                                           ("ann", "webex", "context_cleared"), ("zed", "second", "context_set")])
        self.assertEqual(watchers["second"], [("ann", "second", "context_set"), ("zed", "second", "context_set")])
        self.assertEqual(watchers["webex"], [("ann", "webex", "context_set"), ("ann", "webex", "context_cleared")])


class OnYaml(TwoIntegrations, unittest.TestCase):
    store = "yaml"


class OnRedis(TwoIntegrations, unittest.TestCase):
    store = "redis"


if __name__ == "__main__":
    unittest.main()
