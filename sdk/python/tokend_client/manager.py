"""A drop-in for the original user_context.TokenManager, backed by tokend."""

from typing import Optional

from .client import TokendClient
from .models import UserContext


class TokenManager:
    """Same method names and keyword arguments as the original module's
    TokenManager (YAMLTokenManager / RedisTokenManager). The OAuth flow, the
    /redirect endpoint, storage and refreshes are tokend's; this class only asks.

    ``bot_token``, ``integration``, ``yml_base``, ``redis_host`` and
    ``redis_url`` are accepted and ignored, so the original constructor call
    keeps working after its class name changes; tokend's configuration holds
    those settings now.
    """

    def __init__(self, bot_token=None, integration=None, socket_path: Optional[str] = None, **kwargs):
        del bot_token, integration, kwargs  # tokend's configuration holds these now
        self._client = TokendClient(socket_path)
        self.last_auth_url: Optional[str] = None

    def close(self):
        self._client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def start_flow(self, *, user_id: str) -> str:
        """Registers a flow; returns its id (the OAuth state). The URL to send
        the user to is in ``last_auth_url`` (or use ``start_flow_url``)."""
        result = self._client.start_flow(user_id)
        self.last_auth_url = result["auth_url"]
        return result["flow_id"]

    def start_flow_url(self, *, user_id: str) -> str:
        """Registers a flow and returns the authorization URL to send the user to."""
        self.start_flow(user_id=user_id)
        return self.last_auth_url

    def process_redirect(self, *, flow_id: str, code: str) -> str:
        """Finishes a flow whose redirect reached the bot; returns the text for the HTTP answer."""
        return self._client.process_redirect(flow_id, code)["message"]

    def get_user_context(self, *, user_id: str) -> Optional[UserContext]:
        data = self._client.get_user_context(user_id)
        return None if data is None else UserContext.from_json(data)

    def get_user_context_and_refresh(self, *, user_id: str) -> Optional[UserContext]:
        data = self._client.get_user_context(user_id, refresh=True)
        return None if data is None else UserContext.from_json(data)

    def set_user_context(self, *, user_id: str, user_context: Optional[UserContext] = None):
        self._client.set_user_context(user_id, None if user_context is None else user_context.to_json())
