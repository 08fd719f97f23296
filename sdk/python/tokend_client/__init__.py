"""Python client for tokend's control socket (standard library only, Python 3.9+).

* ``TokendClient``: every operation as a method with typed results
  (dataclasses), blocking, thread-safe over a small pool of connections that
  are reopened when tokend closes them.
* ``AsyncTokendClient``: the same for asyncio; ``watch()`` is an async iterator.
* ``JsonClient`` / ``AsyncJsonClient``: the protocol as dicts (``call(op, **params)``).
* ``TokenManager``, ``YAMLTokenManager``, ``RedisTokenManager``: a drop-in for
  the original ``user_context`` module (its models ``UserContext``, ``Tokens``,
  ``FlowState`` and constants included). A bot switches by changing its import.

The socket path comes from the argument, else ``$TOKEND_SOCKET``, else
``/run/tokend/tokend.sock``. The guide: docs/python.md.
"""

from ._version import __version__
from ._wire import DEFAULT_SOCKET, RETRY_SAFE_OPS, RetryPolicy
from .aio import AsyncJsonClient, AsyncTokendClient
from .client import TokendClient
from .errors import (BadRequestError, NotFoundError, OutcomeUnknownError, PermissionDeniedError, ProviderError,
                     ReauthRequiredError, StoreUnavailableError, TokendConnectionError, TokendError, TokendTimeout)
from .json_client import JsonClient
from .manager import (FLOW_MAINTENANCE, FLOW_SET, USER_KEY_PREFIX, USER_SET, RedisTokenManager, TokenManager,
                      YAMLTokenManager)
from .models import FlowState, Tokens, UserContext
from .results import (AccessToken, AuthLink, DeletedFlow, Event, Flow, FlowMaintenanceResult, FlowStats, GrantStatus,
                      IntegrationStats,
                      Ping, RedirectResult, RefreshStats, SetResult, SignOutResult, Stats, StoreStats, UsersPage)

__all__ = [
    "__version__", "DEFAULT_SOCKET", "RETRY_SAFE_OPS", "RetryPolicy",
    "TokendClient", "AsyncTokendClient", "JsonClient", "AsyncJsonClient",
    "TokendError", "BadRequestError", "NotFoundError", "PermissionDeniedError", "ReauthRequiredError",
    "ProviderError", "StoreUnavailableError", "TokendConnectionError", "OutcomeUnknownError", "TokendTimeout",
    "TokenManager", "YAMLTokenManager", "RedisTokenManager",
    "FLOW_SET", "USER_SET", "FLOW_MAINTENANCE", "USER_KEY_PREFIX",
    "UserContext", "Tokens", "FlowState",
    "AccessToken", "AuthLink", "DeletedFlow", "Event", "Flow", "FlowMaintenanceResult", "FlowStats", "IntegrationStats", "Ping",
    "RedirectResult", "RefreshStats", "SetResult", "Stats", "StoreStats", "UsersPage", "GrantStatus", "SignOutResult",
]
