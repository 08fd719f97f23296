"""Python client for tokend's control socket (standard library only, Python 3.9+).

Two ways in:

* ``TokendClient``: the protocol as it is (one method per operation, dicts in
  and out, ``TokendError`` with the protocol's error code on failure).
* ``TokenManager``: a drop-in for the original ``user_context.TokenManager``:
  the same method names and keyword arguments, returning ``UserContext`` and
  ``Tokens`` objects with the original's field names. A bot switches by
  changing the line that builds its token manager.

The socket path comes from the argument, else ``$TOKEND_SOCKET``, else
``/run/tokend/tokend.sock``.
"""

from .client import TokendClient, TokendError, DEFAULT_SOCKET
from .models import Tokens, UserContext
from .manager import TokenManager

__all__ = ["TokendClient", "TokendError", "TokenManager", "Tokens", "UserContext", "DEFAULT_SOCKET"]
