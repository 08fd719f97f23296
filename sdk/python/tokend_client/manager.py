"""A drop-in for the original ``user_context`` module, backed by tokend.

A bot written against the original switches by changing its import::

    from tokend_client import YAMLTokenManager, UserContext   # was: from user_context import ...

The constructors take the original arguments, positionally too; the storage
ones (``yml_base``, ``redis_host``, ``redis_url``) name where tokend's store is
for the operator and are not used here: tokend's configuration holds storage,
the OAuth client, the bot token and the redirect now. The socket comes from
the ``socket_path`` keyword, else ``$TOKEND_SOCKET``, else
/run/tokend/tokend.sock.

The authorization URL: ``start_flow`` returns the flow id as before. A bot
that sends ``integration.auth_url(state=flow_id)`` keeps working: the manager
makes its integration object answer tokend's URL for flows it started (with
PKCE). A bot that builds the URL some other way passes ``pkce=False``: tokend
then starts its flows without PKCE (logged and counted as legacy calls).
"""

import datetime
import logging
import threading
import weakref
from collections import OrderedDict
from typing import IO, Any, Dict, Optional, Tuple

from ._wire import RetryPolicy
from .client import TokendClient
from .errors import NotFoundError, ProviderError, ReauthRequiredError, StoreUnavailableError
from .models import FlowState, UserContext, utc_now
from .results import FlowMaintenanceResult, SetResult

__all__ = ["TokenManager", "YAMLTokenManager", "RedisTokenManager", "FlowState",
           "FLOW_SET", "USER_SET", "FLOW_MAINTENANCE", "USER_KEY_PREFIX"]

log = logging.getLogger("tokend_client")

#: The original's Redis key names (tokend's redis store uses the same layout).
FLOW_SET = "flows"
USER_SET = "users"
FLOW_MAINTENANCE = "flow-maintenance"
USER_KEY_PREFIX = "user"

_REMEMBERED_TOKENS = 10000


class TokenManager:
    """The original TokenManager's methods, answered by tokend.

    bot_token, integration: as the original took them. bot_token is not used
    (tokend sends the bot's messages). integration (wxc_sdk's Integration) is
    used only to make its ``auth_url(state=flow_id)`` answer tokend's URL.
    socket_path, timeout, retry: passed to the TokendClient underneath
    (``self.client``, for operations the original did not have, such as
    ``auth_link``). pkce: False starts flows without PKCE, for a bot that
    builds the authorization URL by other means.
    """

    FLOW_SET = FLOW_SET
    USER_SET = USER_SET
    FLOW_MAINTENANCE = FLOW_MAINTENANCE
    USER_KEY_PREFIX = USER_KEY_PREFIX
    FlowState = FlowState

    def __init__(self, bot_token: Optional[str] = None, integration: Any = None, *,
                 socket_path: Optional[str] = None, timeout: Optional[float] = 30.0,
                 retry: Optional[RetryPolicy] = None, pkce: bool = True,
                 client: Optional[TokendClient] = None, **kwargs: Any) -> None:
        del bot_token, kwargs  # tokend's configuration holds these now
        self.client = client or TokendClient(socket_path, timeout, retry=retry)
        self.integration = integration
        self.pkce = pkce
        #: the authorization URL of the last flow start_flow() started
        self.last_auth_url: Optional[str] = None
        self._lock = threading.Lock()
        self._flow_urls: Dict[str, Tuple[str, datetime.datetime]] = {}
        self._token_owner: "OrderedDict[str, str]" = OrderedDict()
        self.integration_hooked = self._hook_integration(integration) if pkce else False

    # -- the integration's auth_url ------------------------------------------
    def _hook_integration(self, integration: Any) -> bool:
        original: Any = getattr(integration, "auth_url", None)
        if integration is None or not callable(original):
            return False
        manager = weakref.ref(self)

        def auth_url(*args: Any, state: str, **kwargs: Any) -> str:
            owner = manager()
            url = owner.auth_url(state) if owner is not None else None
            return url if url is not None else str(original(*args, state=state, **kwargs))

        try:
            setattr(integration, "auth_url", auth_url)
        except Exception:  # noqa: BLE001 - frozen dataclass, pydantic model, slots
            log.warning("cannot make %s.auth_url() answer tokend's URLs; a bot that builds the authorization URL "
                        "itself needs TokenManager(..., pkce=False)", type(integration).__name__)
            return False
        return True

    def auth_url(self, flow_id: str) -> Optional[str]:
        """tokend's authorization URL for a flow this manager started (until it expires)."""
        with self._lock:
            entry = self._flow_urls.get(flow_id)
        return entry[0] if entry is not None else None

    def _remember_flow(self, flow_id: str, url: str, expires_at: datetime.datetime) -> None:
        now = utc_now()
        with self._lock:
            for old in [f for f, (_, until) in self._flow_urls.items() if until < now]:
                del self._flow_urls[old]
            self._flow_urls[flow_id] = (url, expires_at)

    def _remember_tokens(self, context: Optional[UserContext]) -> None:
        if context is None or not context.tokens.access_token:
            return
        with self._lock:
            self._token_owner[context.tokens.access_token] = context.user_id
            self._token_owner.move_to_end(context.tokens.access_token)
            while len(self._token_owner) > _REMEMBERED_TOKENS:
                self._token_owner.popitem(last=False)

    # -- the original's methods ------------------------------------------------
    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> "TokenManager":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start_flow(self, *, user_id: str) -> str:
        """Registers a flow for user_id and returns its id (the OAuth state).
        The URL to send the person to: ``integration.auth_url(state=flow_id)``
        (answered by tokend for this flow), ``self.auth_url(flow_id)`` or
        ``self.last_auth_url``."""
        flow = self.client.start_flow(user_id, pkce=self.pkce)
        self._remember_flow(flow.flow_id, flow.auth_url, flow.expires_at)
        self.last_auth_url = flow.auth_url
        return flow.flow_id

    def start_flow_url(self, *, user_id: str) -> str:
        """Registers a flow and returns the authorization URL to send the person to."""
        return self.auth_url(self.start_flow(user_id=user_id)) or ""

    def process_redirect(self, *, flow_id: str, code: str) -> str:
        """Finishes a flow whose redirect reached the bot: tokend exchanges the
        code and stores the tokens. Returns the text for the HTTP answer."""
        return self.client.process_redirect(flow_id, code).message

    def get_user_context(self, *, user_id: str) -> Optional[UserContext]:
        """The user's context or None. tokens.refresh_token is None unless
        this process is one of tokend's refresh_token_readers; writing the
        context back keeps the stored one all the same."""
        context = self.client.get_user_context(user_id)
        self._remember_tokens(context)
        return context

    def get_user_context_and_refresh(self, *, user_id: str) -> Optional[UserContext]:
        """As get_user_context, with an expired token refreshed first (tokend
        refreshes ahead of expiry on its own, so this is rarely needed)."""
        context = self.client.get_user_context(user_id, refresh=True)
        self._remember_tokens(context)
        return context

    def set_user_context(self, *, user_id: str, user_context: Any = None) -> SetResult:
        """Stores a context (a UserContext, the original's pydantic one, or a
        mapping), or clears it when user_context is None. Grant-safe: a
        context read here and written back keeps the stored refresh token,
        and a stale copy does not roll newer tokens back (docs/protocol.md)."""
        result = self.client.set_user_context(user_id, user_context)
        if isinstance(user_context, UserContext):
            self._remember_tokens(user_context)
        return result

    def token_refresh(self, *, tokens: Any) -> bool:
        """Refreshes the tokens (ones this manager handed out, or any with a
        known access token) through tokend and updates the object in place.
        True when they were refreshed; False when tokend could not (the grant
        is gone: start a new flow; or the provider failed: try later)."""
        access_token = getattr(tokens, "access_token", None)
        with self._lock:
            user_id = self._token_owner.get(access_token) if access_token else None
        if user_id is None:
            raise ValueError("token_refresh: these tokens were not read through this manager "
                             "(get_user_context); tokend refreshes by user id")
        try:
            self.client.refresh(user_id)
            fresh = self.client.get_user_context(user_id)
        except (ReauthRequiredError, ProviderError, NotFoundError, StoreUnavailableError) as error:
            log.warning("token refresh for user %s failed: %s", user_id, error.code)
            return False
        if fresh is None:
            return False
        self._remember_tokens(fresh)
        for name in ("access_token", "expires_at", "refresh_token", "refresh_token_expires_at", "token_type",
                     "scope"):
            value = getattr(fresh.tokens, name)
            if value is None and name.startswith("refresh_token"):
                continue  # withheld from this process: what the caller had stays
            try:
                setattr(tokens, name, value)
            except (AttributeError, TypeError, ValueError):
                pass
        for name in ("expires_in", "refresh_token_expires_in"):
            if hasattr(tokens, name):
                try:
                    setattr(tokens, name, None)
                except (AttributeError, TypeError, ValueError):
                    pass
        return True

    def flow_maintenance_needed(self, *, force: bool = False) -> bool:
        """tokend collects expired flows itself (every 15 minutes, and on
        start): a bot never needs to. True only when forced."""
        return force

    def flow_maintenance(self, *, force: bool = False, output: Optional[IO[str]] = None) -> FlowMaintenanceResult:
        """Asks tokend for a flow sweep (it runs at most every 15 minutes
        unless forced); each deleted flow is reported on output."""
        result = self.client.flow_maintenance(force)
        if output is not None:
            for flow in result.deleted:
                created = flow.created.isoformat() if flow.created else "unknown"
                output.write(f"deleted flow {flow.flow_id} of user {flow.user_id}, created {created}\n")
        return result

    # -- Flask ------------------------------------------------------------------
    def register_redirect(self, *, flask: Any) -> None:
        """Registers redirect() as the view for GET /redirect on a Flask app,
        for a bot that keeps its own redirect URL (tokend's configured
        redirect_url must then point at the bot)."""
        flask.add_url_rule("/redirect", "redirect", self.redirect, methods=["GET"])

    def redirect(self) -> Tuple[str, int, Dict[str, str]]:
        """Flask view for GET /redirect at the end of a flow: hands code and
        state (the flow id) to tokend's process_redirect and answers its
        text: 200 when authenticated, 400 otherwise (503 when tokend's store
        failed)."""
        try:
            from flask import request
        except ImportError:  # pragma: no cover - only without Flask
            raise RuntimeError("redirect() is a Flask view and needs Flask (python3-flask)") from None
        text = {"Content-Type": "text/plain; charset=utf-8"}
        state = request.args.get("state")
        code = request.args.get("code")
        error = request.args.get("error")
        if state and error and not code:
            return f"authorization was not granted ({error})", 400, text
        if not state or not code:
            return "missing code or state", 400, text
        result = self.client.process_redirect(state, code)
        status = 200 if result.authenticated else 503 if result.status == "store_failed" else 400
        return result.message, status, text


class YAMLTokenManager(TokenManager):
    """The original YAMLTokenManager(bot_token, integration, yml_base).
    yml_base named the original's YAML file; tokend's yaml store
    (store.options.path) holds the users now, and flows survive restarts."""

    def __init__(self, bot_token: Optional[str] = None, integration: Any = None, yml_base: Optional[str] = None,
                 **kwargs: Any) -> None:
        self.yml_base = yml_base
        super().__init__(bot_token, integration, **kwargs)


class RedisTokenManager(TokenManager):
    """The original RedisTokenManager(bot_token, integration, redis_host=None,
    redis_url=None). Both Redis arguments are kept for the operator only:
    tokend's redis store (store.options) connects to Redis, with the
    original's key layout (FLOW_SET, USER_SET, USER_KEY_PREFIX, ...)."""

    def __init__(self, bot_token: Optional[str] = None, integration: Any = None, redis_host: Optional[str] = None,
                 redis_url: Optional[str] = None, **kwargs: Any) -> None:
        self.redis_host = redis_host
        self.redis_url = redis_url
        super().__init__(bot_token, integration, **kwargs)
