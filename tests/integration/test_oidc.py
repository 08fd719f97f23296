"""Issue 17: the generic `oidc` preset end to end. tokend is given only the issuer of a
Keycloak-shaped fake (tools/fake_provider/fake_oidc.py) and reads the endpoints, PKCE,
the client authentication (client_secret_post only, at this fake), the signing keys and
the revocation endpoint from its discovery document, fetched at start: the flow, the
identity from the id_token (right user, wrong user, another issuer's token), refreshes,
revocation, a dead grant; and what happens while the document cannot be read (refused
flows with provider_unavailable, refreshes not attempted, retries until it can; a due
refresh goes once it is read, on the yaml and the redis store), a document refused
(garbage, another issuer's), a failed re-fetch at a reload, and explicit settings that
win over the document. A document fixed at the fake is fetched at once with a reload
(SIGHUP: OidcDiscovery::reconfigured), never by waiting out the retry backoff."""

import os
import re
import signal
import sys
import unittest
import urllib.parse

from harness import ROOT, Tokend, http_get, wait_for

sys.path.insert(0, os.path.join(ROOT, "tools", "fake_provider"))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))

from fake_oidc import FakeOidc  # noqa: E402
from redis_server import RedisServer  # noqa: E402
from tokend_client import TokendClient, TokendError  # noqa: E402

CLIENT_SECRET = "fake-client-secret"
ME = ("f:7d2a1c9e:alice", "alice@example.org")
OTHER = ("f:7d2a1c9e:bob", "bob@example.org")


class OidcCase(unittest.TestCase):
    document = "ok"          # the fake's document when tokend starts
    integration_lines = ()   # more lines under integration: ({token}: the fake's token endpoint)
    provider_lines = ()      # more lines under integration.provider:
    store = "yaml"           # or "redis": a redis-server of the test's own (a store with leases)

    def setUp(self):
        self.fake = FakeOidc(client_secret=CLIENT_SECRET).start()
        self.addCleanup(self.fake.stop)
        self.fake.add_users([ME, OTHER])
        self.fake.set_document(self.document)
        store_options = None
        if self.store == "redis":
            self.redis = RedisServer().start()
            self.addCleanup(self.redis.stop)
            store_options = {"redis_url": f'"{self.redis.unix_url}"', "command_timeout_ms": 300,
                             "connect_timeout_ms": 300}
        self.tokend = Tokend(None, integration=False, client_secret=CLIENT_SECRET, store=self.store,
                             store_options=store_options, extra_config="\n".join([
            "integration:",
            "  provider:",
            "    preset: oidc",
            f"    issuer: {self.fake.issuer()}",
            *("    " + line for line in self.provider_lines),
            f"  client_id: {self.fake.client_id}",
            "  client_secret: {file: CLIENT_SECRET_FILE}",
            "  scopes: openid email",
            "  redirect_url: http://127.0.0.1:9/redirect",
            "  request_timeout_ms: 3000",
            *("  " + line.replace("{token}", self.fake.endpoint("token")) for line in self.integration_lines),
            "metrics:",
            "  listen: 127.0.0.1:0"]) + "\n")
        with open(self.tokend.config_path) as f:
            config = f.read().replace("CLIENT_SECRET_FILE", os.path.join(self.tokend.dir, "client_secret"))
        with open(self.tokend.config_path, "w") as f:
            f.write(config)
        self.tokend.start()
        self.client = self.tokend.client()
        self.typed = TokendClient(self.tokend.socket, timeout=30)
        self.addCleanup(self.typed.close)

    def tearDown(self):
        code = self.tokend.stop()
        log = self.tokend.log()
        self.tokend.close()
        self.assertEqual(code, 0, log)
        for secret in [CLIENT_SECRET] + [t for user in (ME, OTHER) for kind in self.fake.tokens_of(user[0]).values()
                                         for t in kind]:
            self.assertNotIn(secret, log)

    def metric(self, family, labels=""):
        """The sum of `family`'s samples whose labels contain `labels`, from GET /metrics."""
        port = int(re.search(r"metrics listening on http://127\.0\.0\.1:(\d+)/metrics", self.tokend.log()).group(1))
        code, _, text = http_get(port, "/metrics")
        self.assertEqual(code, 200)
        return sum(float(value) for names, value in re.findall(rf"(?m)^{family}{{([^}}]*)}} (\S+)$", text)
                   if labels in names)

    def discovery_requests(self, status):
        """tokend_provider_requests_total{endpoint="discovery", status}."""
        return self.metric("tokend_provider_requests_total", f'endpoint="discovery",status="{status}"')

    def document_fixed(self, mode="ok"):
        """The fake answers `mode` from now on, and tokend fetches it now: a reload fetches the
        document at once (a fetch in flight is followed by another), so nothing waits for the
        retry backoff, which grows to minutes."""
        self.fake.set_document(mode)
        self.tokend.process.send_signal(signal.SIGHUP)

    def document_read(self):
        wait_for(lambda: "OpenID Connect discovery document read" in self.tokend.log(), what="the document read")

    def flow(self, user_id, as_user, pkce=True):
        """A flow for user_id, consented at the fake as as_user: (status, body) of GET /redirect."""
        flow = self.client.start_flow(user_id)
        auth = urllib.parse.urlsplit(flow["auth_url"])
        self.assertEqual(auth.scheme + "://" + auth.netloc + auth.path, self.fake.endpoint("authorize"))
        params = dict(urllib.parse.parse_qsl(auth.query))
        self.assertEqual(params.get("code_challenge_method"), "S256" if pkce else None)
        self.fake.queue_consent([{"user_id": as_user}])
        status, headers, body = http_get(auth.port, auth.path + "?" + auth.query)
        self.assertEqual(status, 302, body)
        status, _, body = http_get(self.tokend.port, "/redirect?" + urllib.parse.urlsplit(headers["Location"]).query)
        return status, body

    def refused(self, user_id):
        with self.assertRaises(TokendError) as raised:
            self.client.start_flow(user_id)
        return raised.exception.code


class Oidc(OidcCase):
    def test_flow_identity_refresh_revocation_and_dead_grant(self):
        self.document_read()
        # The right user, with PKCE (S256 is in the document) and client_secret_post (the only method listed).
        status, body = self.flow(ME[0], ME[0])
        self.assertEqual(status, 200, body)
        first = self.client.get_token(ME[0])["access_token"]
        self.assertEqual(self.fake.tokens_of(ME[0])["access"], [first])
        self.assertNotIn(("token", "basic", "refused"), self.fake.requests)
        # The wrong user: nothing stored, the page names the account that consented.
        status, body = self.flow(OTHER[0], ME[0])
        self.assertEqual(status, 403, body)
        self.assertIn(ME[1], body)
        with self.assertRaises(TokendError) as raised:
            self.client.get_token(OTHER[0])
        self.assertEqual(raised.exception.code, "not_found")
        # An id_token from another issuer: refused, nothing stored.
        self.fake.id_token_fault("wrong_issuer")
        status, body = self.flow(OTHER[0], OTHER[0])
        self.assertEqual(status, 502, body)
        with self.assertRaises(TokendError) as raised:
            self.client.get_token(OTHER[0])
        self.assertEqual(raised.exception.code, "not_found")
        # Two refreshes.
        for _ in range(2):
            fresh = self.client.refresh(ME[0])["access_token"]
            self.assertNotEqual(fresh, first)
            self.assertEqual(self.fake.tokens_of(ME[0])["access"][-1], fresh)
            first = fresh
        self.assertEqual(len(self.fake.refreshes), 2)
        # The keys came from the discovered jwks_uri; the document was fetched once.
        self.assertEqual(self.fake.jwks_fetches, 1)
        self.assertEqual((self.fake.discovery_fetches, self.discovery_requests("2xx")), (1, 1))
        # Sign-out revokes the refresh token at the discovered revocation endpoint.
        result = self.typed.sign_out(ME[0])
        self.assertEqual((result.cleared, result.revocation), (True, "revoked"))
        self.assertEqual(self.fake.revocations, [("refresh_token", "refresh")])
        # A dead grant: the user removed the app.
        self.assertEqual(self.flow(ME[0], ME[0])[0], 200)
        self.fake.revoke_user(ME[0])
        with self.assertRaises(TokendError) as raised:
            self.client.refresh(ME[0])
        self.assertEqual(raised.exception.code, "reauth_required")
        self.assertIn(("token", "refresh_token", "dead"), self.fake.requests)
        self.assertEqual(self.client.stats()["users_reauth_required"], 1)

    def test_a_flow_that_comes_back_before_the_document_fails_without_a_request(self):
        """A flow stored by the last run comes back to a tokend that has not read the document
        (restarted while the provider's document fails): provider_error, no code exchange."""
        self.document_read()
        flow = self.client.start_flow(ME[0])
        auth = urllib.parse.urlsplit(flow["auth_url"])
        self.fake.queue_consent([{"user_id": ME[0]}])
        status, headers, body = http_get(auth.port, auth.path + "?" + auth.query)
        self.assertEqual(status, 302, body)
        self.assertEqual(self.tokend.stop(), 0)
        self.fake.set_document("fail")
        self.tokend.start()
        # The log is appended to: start() saw the last run's lines; this run's port is the last one written.
        wait_for(lambda: self.tokend.log().count(" running (pid") == 2, what="the second run")
        self.tokend.port = int(re.findall(r"redirect endpoint listening on http://127\.0\.0\.1:(\d+)",
                                          self.tokend.log())[-1])
        wait_for(lambda: "no flow can start and no provider request is made" in self.tokend.log(),
                 what="the failed fetch after the restart")
        status, _, body = http_get(self.tokend.port, "/redirect?" + urllib.parse.urlsplit(headers["Location"]).query)
        self.assertEqual(status, 502, body)
        self.assertFalse([r for r in self.fake.requests if r[0] == "token"], self.fake.requests)
        self.assertIn("the flow fails", self.tokend.log())

    def test_a_failed_refetch_at_a_reload_keeps_the_document(self):
        self.document_read()
        self.assertEqual(self.flow(ME[0], ME[0])[0], 200)
        self.fake.set_document("fail")
        self.tokend.process.send_signal(signal.SIGHUP)
        wait_for(lambda: "the document read before stays in use" in self.tokend.log(), what="the failed re-fetch")
        self.assertGreaterEqual(self.discovery_requests("5xx"), 1)
        # Still served from the document read at start.
        self.client.refresh(ME[0])
        self.assertEqual(self.flow(OTHER[0], OTHER[0])[0], 200)
        result = self.typed.sign_out(ME[0])
        self.assertEqual(result.revocation, "revoked")


class OidcUnavailable(OidcCase):
    """The token endpoint is written in the configuration, without client_auth: still nothing
    is sent to it before the document says how to authenticate there."""
    document = "fail"
    integration_lines = ("token_service: {token}",)

    def test_refused_until_the_document_is_read(self):
        # The first retry comes within a second (the backoff's first step). Waited for in the
        # metric, which counts an answer once tokend has it (the fake counts it before answering).
        wait_for(lambda: self.discovery_requests("5xx") >= 2, what="a retry of the failed fetch")
        self.assertGreaterEqual(self.fake.discovery_fetches, 2)
        self.assertEqual(self.refused(ME[0]), "provider_unavailable")
        link = self.typed.auth_link(ME[0])
        parts = urllib.parse.urlsplit(link.url)
        status, _, body = http_get(self.tokend.port, parts.path + "?" + parts.query)
        self.assertEqual(status, 503, body)
        # A context written by the bot: its refresh waits (no request with guessed client
        # authentication), and a sign-out clears it, the revocation reported failed.
        self.client.set_user_context(ME[0], {"user_id": ME[0], "tokens": {
            "access_token": "A-unknown", "refresh_token": "R-unknown", "expires_at": "2020-01-01T00:00:00Z"}})
        with self.assertRaises(TokendError) as raised:
            self.client.refresh(ME[0])
        self.assertEqual(raised.exception.code, "provider_unavailable")
        self.assertTrue(self.typed.grant_status(ME[0]).refreshable, "the grant is not taken for dead")
        result = self.typed.sign_out(ME[0])
        self.assertEqual((result.cleared, result.revocation), (True, "failed"))
        self.assertFalse([r for r in self.fake.requests if r[0] in ("token", "revoke")], self.fake.requests)
        # The provider recovers: the document is read, and flows work.
        self.document_fixed()
        self.document_read()
        status, headers, _ = http_get(self.tokend.port, parts.path + "?" + parts.query)
        self.assertEqual(status, 302)
        self.assertTrue(headers["Location"].startswith(self.fake.endpoint("authorize") + "?"), headers["Location"])
        self.assertEqual(self.flow(ME[0], ME[0])[0], 200)


class OidcDueRefresh(OidcCase):
    """A context whose token is expired, stored by the bot while the document cannot be read:
    no refresh attempt at all (no lease taken, nothing counted as failed, no backoff built),
    callers hear provider_unavailable, and the refresh goes as soon as the document is read."""
    document = "fail"
    integration_lines = ("token_service: {token}",)

    def test_a_due_refresh_waits_for_the_document_then_goes(self):
        wait_for(lambda: "no flow can start and no provider request is made" in self.tokend.log(),
                 what="the failed fetch")
        context = {"user_id": ME[0], "tokens": {"access_token": "A-expired", "refresh_token": self.fake.grant(ME[0]),
                                                "expires_at": "2020-01-01T00:00:00Z"}}
        self.client.set_user_context(ME[0], context)
        wait_for(lambda: "refresh waits for the provider's OpenID Connect discovery document" in self.tokend.log(),
                 what="the due refresh parked")
        for ask in (self.client.refresh, self.client.get_token):
            with self.assertRaises(TokendError) as raised:
                ask(ME[0])
            self.assertEqual(raised.exception.code, "provider_unavailable", ask.__name__)
        # No lease is left behind: a write of the user goes at once (with a lease held it waited
        # for it, then failed), and on redis there is no lease key.
        self.client.set_user_context(ME[0], context)
        if self.store == "redis":
            self.assertEqual(self.redis.command("EXISTS", "tokend-lease-user-" + ME[0]), 0)
        self.assertFalse([r for r in self.fake.requests if r[0] == "token"], self.fake.requests)
        self.assertEqual(self.metric("tokend_refreshes_total", 'outcome="failed"'), 0)
        self.assertEqual(self.metric("tokend_refreshes_retried_total"), 0)
        # The document is read: the parked refresh goes now, without a caller and without backoff.
        self.document_fixed()
        wait_for(lambda: self.fake.refreshes, what="the refresh once the document is read")
        token = self.client.get_token(ME[0])["access_token"]
        self.assertNotEqual(token, "A-expired")
        self.assertIn(token, self.fake.tokens_of(ME[0])["access"])
        self.assertEqual(self.metric("tokend_refreshes_total", 'outcome="succeeded"'), 1)
        self.assertEqual(self.metric("tokend_refreshes_total", 'outcome="failed"'), 0)


class OidcDueRefreshOnRedis(OidcDueRefresh):
    """The same on a store with leases (redis): the lease is never taken before the document."""
    store = "redis"


class OidcRefusedDocuments(OidcCase):
    document = "garbage"

    def test_garbage_and_another_issuers_document_are_refused(self):
        wait_for(lambda: "is not a JSON object" in self.tokend.log(), what="the garbage refused")
        self.assertEqual(self.refused(ME[0]), "provider_unavailable")
        self.document_fixed("wrong_issuer")
        wait_for(lambda: "issuer is not the configured one" in self.tokend.log(),
                 what="the other issuer's document refused")
        self.assertEqual(self.refused(ME[0]), "provider_unavailable")
        self.document_fixed()
        self.document_read()
        self.assertEqual(self.flow(ME[0], ME[0])[0], 200)


class OidcExplicitSettings(OidcCase):
    integration_lines = ("pkce: false",)
    provider_lines = ("revocation: none",)

    def test_explicit_pkce_and_revocation_win(self):
        self.document_read()
        self.assertEqual(self.flow(ME[0], ME[0], pkce=False)[0], 200)
        result = self.typed.sign_out(ME[0])
        self.assertEqual((result.cleared, result.revocation), (True, "not_supported"))
        self.assertEqual(self.fake.revocations, [])


if __name__ == "__main__":
    unittest.main()
