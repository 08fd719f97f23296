"""The migration test: legacy_bot.py, written only against the original
module's API, runs unchanged through the drop-in (only its import switched)
against the real daemon and the fake provider: a flow with a self-built URL
and with tokend's, a token, a refresh, a read-modify-write that keeps the
grant, a clear. Its /redirect is a real Flask server on 127.0.0.1."""

import dataclasses
import datetime
import os
import threading
import unittest
import urllib.parse

from pyharness import CLIENT_ID, REDIRECT_URL, SCOPES, Tokend, http_get, start_fake, stop_and_check
from tokend_client import (FLOW_MAINTENANCE, FLOW_SET, USER_KEY_PREFIX, USER_SET, FlowState, RedisTokenManager,
                          TokenManager, Tokens, UserContext, YAMLTokenManager)


@dataclasses.dataclass
class Integration:
    """Stands in for the bot's own library object, wxc_sdk.integration.Integration,
    as its documentation describes it: auth_url(state=...) is the
    authorization service's URL with client_id, response_type=code,
    redirect_uri, scope (space-joined) and state, form-encoded."""

    client_id: str
    client_secret: str
    scopes: list
    redirect_url: str
    auth_service: str = "https://webexapis.com/v1/authorize"
    token_service: str = "https://webexapis.com/v1/access_token"

    def auth_url(self, *, state: str) -> str:
        params = {"client_id": self.client_id, "response_type": "code", "redirect_uri": self.redirect_url,
                  "scope": " ".join(self.scopes), "state": state}
        return f"{self.auth_service}?{urllib.parse.urlencode(params)}"


class FrozenIntegration(Integration):
    """An integration object the drop-in cannot adjust (read-only once made)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        object.__setattr__(self, "_sealed", True)

    def __setattr__(self, name, value):
        if getattr(self, "_sealed", False):
            raise AttributeError(f"{type(self).__name__} is read-only")
        super().__setattr__(name, value)


class FlaskServer:
    """The bot's Flask app on a real HTTP server (werkzeug), port 0."""

    def __init__(self, app):
        import logging
        from werkzeug.serving import make_server
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log on the test's output
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def get(self, target):
        return http_get(self.port, target)

    def close(self):
        self.server.shutdown()
        self.thread.join(10)


class Migration(unittest.TestCase):
    def setUp(self):
        self.fake = start_fake()
        self.tokend = Tokend(self.fake).start()
        os.environ["TOKEND_SOCKET"] = self.tokend.socket
        self.addCleanup(os.environ.pop, "TOKEND_SOCKET", None)

    def tearDown(self):
        stop_and_check(self)

    def integration(self, cls=Integration):
        return cls(client_id=CLIENT_ID, client_secret="unused-by-the-bot-now", scopes=SCOPES.split(),
                   redirect_url=REDIRECT_URL, auth_service=f"{self.fake.url}/v1/authorize")

    def bot(self, integration, **options):
        from legacy_bot import LegacyBot
        bot = LegacyBot("bot-token", integration, **options)
        self.addCleanup(bot.close)
        server = FlaskServer(bot.flask)
        self.addCleanup(server.close)
        return bot, server

    def consent(self, url, user_id):
        """The person opens the URL and consents; the provider redirects to
        the bot's /redirect: the query it carries."""
        return self.tokend.authorize(url, {"user_id": user_id})

    def test_the_original_api_end_to_end(self):
        integration = self.integration()
        bot, server = self.bot(integration, yml_base="users")

        # 1. A self-built URL (integration.auth_url(state=flow_id)) is tokend's, PKCE kept.
        url = bot.authorization_url("alice")
        self.assertEqual(url, bot.tokens.last_auth_url)
        self.assertIn("code_challenge=", url)
        query = self.consent(url, "alice")
        status, headers, body = server.get("/redirect?" + query)  # the bot's own /redirect
        self.assertEqual(status, 200, body)  # 200: authenticated; the text is tokend's
        self.assertIn("authorization is stored", body)
        self.assertTrue(headers["Content-Type"].startswith("text/plain"))
        # A state the manager did not start still gets the original URL.
        self.assertNotIn("code_challenge", integration.auth_url(state="other"))

        # 2. A token, a refresh, a read-modify-write, and the grant survives.
        first = bot.access_token("alice")
        self.assertTrue(first)
        self.assertTrue(bot.refresh("alice"))
        second = bot.access_token("alice")
        self.assertNotEqual(second, first)
        bot.note_scope("alice", "spark:people_read")
        self.assertEqual(self.tokend.client().get_user_context("alice")["tokens"]["scope"], "spark:people_read")
        self.assertTrue(bot.refresh("alice"), "the grant survived the write-backs")
        self.assertEqual(self.tokend.client().stats()["users_reauth_required"], 0)

        # 3. tokend's own URL and its /redirect.
        self.assertTrue(bot.tokens.start_flow_url(user_id="bob"))
        _, query, (status, _, body) = self.tokend.complete_flow("bob")
        self.assertEqual(status, 200, body)
        self.assertTrue(bot.access_token("bob"))

        # 4. Flow housekeeping, then clear.
        self.assertIsInstance(bot.housekeeping(), str)
        bot.forget("alice")
        self.assertIsNone(bot.access_token("alice"))
        self.assertEqual(list(self.tokend.client().all_users()), ["bob"])

    def test_a_bot_that_builds_the_url_by_other_means_asks_for_flows_without_pkce(self):
        integration = self.integration(FrozenIntegration)
        from legacy_bot import LegacyBot
        with self.assertLogs("tokend_client", "WARNING") as logged:
            bot = LegacyBot("bot-token", integration, yml_base="users")
        bot.close()
        self.assertIn("pkce=False", logged.output[0])
        # pkce=False: the one keyword a bot that cannot let the manager adjust its URL adds.
        manager = YAMLTokenManager("bot-token", integration, "users", pkce=False)
        self.addCleanup(manager.close)
        flow_id = manager.start_flow(user_id="alice")
        url = integration.auth_url(state=flow_id)
        self.assertNotIn("code_challenge", url)
        query = self.consent(url, "alice")
        status, _, body = self.tokend.redirect(query)
        self.assertEqual(status, 200, body)
        self.assertTrue(manager.get_user_context(user_id="alice").tokens.access_token)
        self.assertEqual(self.tokend.client().stats()["flows"]["started_without_pkce"], 1)

    def test_with_pkce_a_url_built_without_the_challenge_fails_at_the_exchange(self):
        integration = self.integration(FrozenIntegration)
        manager = YAMLTokenManager("bot-token", integration, "users")
        self.addCleanup(manager.close)
        flow_id = manager.start_flow(user_id="alice")
        query = self.consent(integration.auth_url(state=flow_id), "alice")
        status, _, body = self.tokend.redirect(query)
        self.assertNotEqual(status, 200, body)
        self.assertIsNone(manager.get_user_context(user_id="alice"))

    def test_the_bots_redirect_view_answers_bad_input_clearly(self):
        bot, server = self.bot(self.integration(), yml_base="users")
        status, _, body = server.get("/redirect?state=x")
        self.assertEqual((status, body), (400, "missing code or state"))
        status, _, body = server.get("/redirect?state=x&error=access_denied")
        self.assertEqual(status, 400)
        self.assertIn("access_denied", body)
        status, _, body = server.get("/redirect?state=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&code=c")
        self.assertEqual(status, 400, body)


class TheNames(unittest.TestCase):
    """Every name of the original module, with its signatures."""

    def test_constructors_as_written_positionally_too(self):
        integration = object()
        yaml_manager = YAMLTokenManager("bot-token", integration, "users", socket_path="/nonexistent")
        redis_manager = RedisTokenManager("bot-token", integration, "localhost", "redis://localhost:6379")
        redis_by_url = RedisTokenManager(bot_token="t", integration=integration, redis_url="redis://r")
        for manager in (yaml_manager, redis_manager, redis_by_url):
            self.assertIsInstance(manager, TokenManager)
            manager.close()
        self.assertEqual((redis_manager.redis_host, redis_manager.redis_url), ("localhost", "redis://localhost:6379"))
        self.assertEqual(yaml_manager.yml_base, "users")
        self.assertEqual(yaml_manager.client.socket_path, "/nonexistent")
        self.assertEqual((FLOW_SET, USER_SET, FLOW_MAINTENANCE, USER_KEY_PREFIX),
                         ("flows", "users", "flow-maintenance", "user"))
        self.assertEqual(RedisTokenManager.FLOW_SET, "flows")
        self.assertIs(RedisTokenManager.FlowState, FlowState)
        for name in ("close", "start_flow", "process_redirect", "get_user_context", "get_user_context_and_refresh",
                     "set_user_context", "register_redirect", "redirect", "token_refresh",
                     "flow_maintenance_needed", "flow_maintenance"):
            self.assertTrue(callable(getattr(TokenManager, name)), name)
        self.assertFalse(yaml_manager.flow_maintenance_needed())
        self.assertTrue(yaml_manager.flow_maintenance_needed(force=True))

    def test_the_models_pydantic_style(self):
        tokens = Tokens(access_token="A", expires_in=3600, refresh_token="R", refresh_token_expires_in=7200,
                        token_type="Bearer", scope="s")
        self.assertIsNone(tokens.expires_at)
        tokens.set_expiration()
        self.assertGreater(tokens.remaining, 3590)
        self.assertGreater(tokens.refresh_token_expires_at, tokens.expires_at)
        self.assertNotIn("A", repr(tokens).replace("Bearer", ""), "tokens in repr()")
        again = Tokens.parse_raw(tokens.json())
        self.assertEqual(again, tokens)
        self.assertEqual(Tokens.parse_obj(tokens.dict()), tokens)
        context = UserContext(user_id="u1", tokens=tokens)
        self.assertEqual(UserContext.parse_raw(context.json()), context)
        self.assertEqual(UserContext.parse_obj({"user_id": "u1", "tokens": tokens.dict()}), context)
        self.assertEqual(context.copy(update={"user_id": "u2"}).user_id, "u2")
        state = FlowState(user_id="u1")
        self.assertIsInstance(state.created, datetime.datetime)
        self.assertEqual(FlowState.parse_raw(state.json()), state)
        with self.assertRaises(ValueError):
            UserContext.parse_obj({"tokens": {}})

    def test_the_original_pydantic_models_are_accepted(self):
        """A bot may still hand over pydantic models (wxc_sdk's Tokens, its
        own UserContext) where ours are expected."""
        try:
            import pydantic
        except ImportError:
            self.skipTest("python3-pydantic not installed")

        class PydanticTokens(pydantic.BaseModel):
            access_token: str = None
            expires_at: datetime.datetime = None
            refresh_token: str = None
            token_type: str = None
            scope: str = None

        class PydanticContext(pydantic.BaseModel):
            user_id: str
            tokens: PydanticTokens

        expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
        theirs = PydanticContext(user_id="u1", tokens=PydanticTokens(access_token="P1", expires_at=expires))
        ours = UserContext.parse_obj(theirs)
        self.assertEqual(ours.tokens.access_token, "P1")
        self.assertEqual(ours.tokens.expires_at, expires)


if __name__ == "__main__":
    unittest.main()
