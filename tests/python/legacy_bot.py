"""A small bot written only against the original user_context module's
documented API (/work/shared/seed/user_context.txt): Flask for its web side,
wxc_sdk's Integration for the OAuth client. Moving it to tokend changed one
line: the import below (it was ``from user_context import ...``). The socket
comes from $TOKEND_SOCKET.
"""

import io

from flask import Flask

from tokend_client import RedisTokenManager, UserContext, YAMLTokenManager  # was: from user_context import ...


class LegacyBot:
    def __init__(self, bot_token, integration, yml_base=None, redis_url=None):
        self.integration = integration
        self.flask = Flask(__name__)
        if redis_url:
            self.tokens = RedisTokenManager(bot_token, integration, None, redis_url)
        else:
            self.tokens = YAMLTokenManager(bot_token, integration, yml_base)
        self.tokens.register_redirect(flask=self.flask)

    def authorization_url(self, user_id):
        """What the bot sends a user who has no tokens yet: it builds the URL
        itself from the flow id, as the original's examples did."""
        flow_id = self.tokens.start_flow(user_id=user_id)
        return self.integration.auth_url(state=flow_id)

    def access_token(self, user_id):
        context = self.tokens.get_user_context_and_refresh(user_id=user_id)
        return None if context is None else context.tokens.access_token

    def refresh(self, user_id):
        """Refreshes and writes the context back (the original's habit)."""
        context = self.tokens.get_user_context(user_id=user_id)
        if context is None or not self.tokens.token_refresh(tokens=context.tokens):
            return False
        self.tokens.set_user_context(user_id=user_id, user_context=context)
        return True

    def note_scope(self, user_id, scope):
        """Read, modify, write: the bot keeps the scope it asked for."""
        context = self.tokens.get_user_context(user_id=user_id)
        context.tokens.scope = scope
        self.tokens.set_user_context(user_id=user_id, user_context=context)

    def remember(self, user_id, tokens):
        self.tokens.set_user_context(user_id=user_id, user_context=UserContext(user_id=user_id, tokens=tokens))

    def forget(self, user_id):
        self.tokens.set_user_context(user_id=user_id)

    def housekeeping(self):
        report = io.StringIO()
        if self.tokens.flow_maintenance_needed(force=True):
            self.tokens.flow_maintenance(force=True, output=report)
        return report.getvalue()

    def close(self):
        self.tokens.close()
