"""TokendClient: every operation as a method with typed results, blocking,
reconnecting, safe to share between threads (see JsonClient for how)."""

from typing import Any, Iterator, Mapping, Optional, Union

from ._wire import DEFAULT_SOCKET, RetryPolicy
from .json_client import JsonClient
from .models import UserContext, as_mapping
from .results import (AccessToken, AuthLink, Event, Flow, FlowMaintenanceResult, GrantStatus, Ping, RedirectResult,
                      SetResult, SignOutResult,
                      Stats, UsersPage)

__all__ = ["TokendClient", "DEFAULT_SOCKET", "context_json"]

ContextLike = Union[UserContext, Mapping[str, Any], Any]


def context_json(context: ContextLike) -> Mapping[str, Any]:
    """A UserContext (or a subclass), a mapping in the stored shape, or any
    pydantic model with the original's fields, as the JSON tokend stores."""
    if isinstance(context, UserContext):
        return context.to_json()
    if isinstance(context, Mapping):
        return context
    return UserContext.parse_obj(as_mapping(context)).to_json()


class TokendClient:
    """A blocking client with typed results.

    socket_path: the argument, else ``$TOKEND_SOCKET``, else /run/tokend/tokend.sock.
    timeout: seconds to wait for an answer (None: forever); connect_timeout:
    for one connect(); max_connections: connections used at once by this
    client's threads; retry: how long a lost connection is retried
    (RetryPolicy(window=5 s) by default).

    Errors are TokendError subclasses: NotFoundError, ReauthRequiredError,
    ... for tokend's answers; TokendConnectionError when tokend stays
    unreachable; OutcomeUnknownError when the connection died under an
    operation that is not safe to repeat (start_flow, process_redirect,
    refresh, flow_maintenance, auth_link).
    """

    def __init__(self, socket_path: Optional[str] = None, timeout: Optional[float] = 30.0, *,
                 connect_timeout: float = 5.0, max_connections: int = 8,
                 retry: Optional[RetryPolicy] = None) -> None:
        self.json = JsonClient(socket_path, timeout, connect_timeout=connect_timeout,
                               max_connections=max_connections, retry=retry)

    @property
    def socket_path(self) -> str:
        return self.json.socket_path

    def close(self) -> None:
        """Closes every connection (ends running watch() iterators too)."""
        self.json.close()

    def __enter__(self) -> "TokendClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ping(self) -> Ping:
        return Ping.from_json(self.json.ping())

    def start_flow(self, user_id: str, pkce: bool = True, integration: Optional[str] = None) -> Flow:
        """Starts an OAuth flow for user_id: send the person to ``auth_url``.
        pkce=False starts it without PKCE, for a bot that builds the
        authorization URL itself from the flow id (logged and counted by tokend)."""
        return Flow.from_json(self.json.start_flow(user_id, pkce=pkce, integration=integration))

    def process_redirect(self, flow_id: str, code: str) -> RedirectResult:
        """Finishes a flow whose redirect reached the bot instead of tokend."""
        return RedirectResult.from_json(self.json.process_redirect(flow_id, code))

    def get_token(self, user_id: str, integration: Optional[str] = None) -> AccessToken:
        """A valid access token (refreshed first if it was about to expire)."""
        return AccessToken.from_json(self.json.get_token(user_id, integration=integration))

    def refresh(self, user_id: str, integration: Optional[str] = None) -> AccessToken:
        """Forces a refresh now and answers the new token."""
        return AccessToken.from_json(self.json.refresh(user_id, integration=integration))

    def get_user_context(self, user_id: str, refresh: bool = False,
                         integration: Optional[str] = None) -> Optional[UserContext]:
        """The stored context or None. The refresh token reads None unless this
        process is in tokend's control.refresh_token_readers: writing the
        context back still keeps it (see set_user_context)."""
        data = self.json.get_user_context(user_id, refresh=refresh, integration=integration)
        return None if data is None else UserContext.parse_obj(data)

    def set_user_context(self, user_id: str, context: Optional[ContextLike], *,
                         clear_refresh_token: bool = False, force: bool = False,
                         integration: Optional[str] = None) -> SetResult:
        """Writes a context (None clears it). A refresh token that is None
        keeps the stored one; clear_refresh_token=True drops it. A stale copy
        (older tokens than the stored ones) keeps the stored tokens and
        answers ``tokens == "kept_newer"``; force=True writes it anyway."""
        data = None if context is None else context_json(context)
        return SetResult.from_json(self.json.set_user_context(user_id, data, clear_refresh_token=clear_refresh_token,
                                                              force=force, integration=integration))

    def clear_user_context(self, user_id: str, integration: Optional[str] = None) -> bool:
        """Removes a user's context; False when there was none."""
        return bool(self.set_user_context(user_id, None, integration=integration).cleared)

    def sign_out(self, user_id: str, revoke: bool = True, integration: Optional[str] = None) -> SignOutResult:
        """Clears the user's context and, with revoke, revokes the grant at the
        provider (RFC 7009) where its profile has an endpoint. The context is
        cleared whatever the provider answers; the result says what it did."""
        return SignOutResult.from_json(self.json.sign_out(user_id, revoke=revoke, integration=integration))

    def grant_status(self, user_id: str, integration: Optional[str] = None) -> GrantStatus:
        """Whether the user has a working grant: context, token validity,
        refreshability, expiry times, the provider; never a token."""
        return GrantStatus.from_json(self.json.grant_status(user_id, integration=integration))

    def auth_link(self, user_id: str, integration: Optional[str] = None) -> AuthLink:
        """A signed link that starts a fresh flow for user_id when opened (for
        messages people may open hours later)."""
        return AuthLink.from_json(self.json.auth_link(user_id, integration=integration))

    def list_users(self, cursor: Optional[str] = None, limit: Optional[int] = None) -> UsersPage:
        return UsersPage.from_json(self.json.list_users(cursor=cursor, limit=limit))

    def all_users(self, page_size: int = 1000) -> Iterator[str]:
        """Every user id, page by page."""
        return self.json.all_users(page_size)

    def flow_maintenance(self, force: bool = False) -> FlowMaintenanceResult:
        return FlowMaintenanceResult.from_json(self.json.flow_maintenance(force))

    def stats(self) -> Stats:
        return Stats.from_json(self.json.stats())

    def watch(self, user_id: Optional[str] = None, resubscribe: bool = True,
              integration: Optional[str] = None) -> Iterator[Event]:
        """Events (of one user, or all) on a connection of its own, as they
        happen. After tokend closed the connection (restart) it subscribes
        again and yields an Event ``resubscribed`` first; it raises
        TokendConnectionError when tokend stays away longer than the retry
        window. close() ends it."""
        for raw in self.json.watch(user_id, resubscribe=resubscribe, integration=integration):
            yield Event.from_json(raw)
