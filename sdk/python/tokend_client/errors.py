"""The errors every client in this package raises.

``TokendError`` is the base: ``code`` is the protocol's error code (``not_found``,
``reauth_required``, ...) or one of this package's own: ``connection`` (tokend
cannot be reached), ``outcome_unknown`` (the connection died between a request
and its answer), ``timeout`` (no answer in time).
"""

from typing import Dict, Type


class TokendError(Exception):
    """An error answer from tokend, or a connection problem."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class BadRequestError(TokendError):
    """``bad_request``, ``unknown_op`` or ``unknown_integration`` (no integration
    of that name): the request itself is wrong; do not retry it."""


class NotFoundError(TokendError):
    """``not_found``: no context for that user."""


class PermissionDeniedError(TokendError):
    """``permission_denied``: this process's uid/gid may not use that operation."""


class ReauthRequiredError(TokendError):
    """``reauth_required``: the grant is gone; the user must authorize again (start_flow or auth_link)."""


class ProviderError(TokendError):
    """``provider_error``: the token endpoint failed and there was no valid token to fall back on; or
    ``provider_unavailable``: the provider's settings are not known yet (the oidc preset before its
    discovery document is read), so no flow starts; try later."""


class StoreUnavailableError(TokendError):
    """``store_unavailable``: tokend's store failed; nothing was changed; try later."""


class TokendConnectionError(TokendError):
    """tokend could not be reached within the client's retry window (``code == "connection"``)."""

    def __init__(self, message: str, code: str = "connection") -> None:
        super().__init__(code, message)


class OutcomeUnknownError(TokendConnectionError):
    """The connection closed after the request was sent and before its answer
    came, for an operation that is not safe to repeat (start_flow,
    process_redirect, refresh, flow_maintenance, auth_link): tokend may or may
    not have carried it out. Check (e.g. get_user_context) before trying again.
    ``op`` names the operation."""

    def __init__(self, op: str, detail: str) -> None:
        super().__init__(
            f"the connection to tokend closed after {op} was sent and before its answer ({detail}): "
            f"{op} may or may not have happened; check before repeating it",
            code="outcome_unknown")
        self.op = op


class TokendTimeout(TokendError):
    """No answer within the client's ``timeout`` (``code == "timeout"``). For an
    operation that is not safe to repeat, it may or may not have happened."""

    def __init__(self, message: str) -> None:
        super().__init__("timeout", message)


_BY_CODE: Dict[str, Type[TokendError]] = {
    "bad_request": BadRequestError,
    "unknown_op": BadRequestError,
    "unknown_integration": BadRequestError,
    "not_found": NotFoundError,
    "permission_denied": PermissionDeniedError,
    "reauth_required": ReauthRequiredError,
    "provider_error": ProviderError,
    "provider_unavailable": ProviderError,
    "store_unavailable": StoreUnavailableError,
}


def error_from_answer(code: str, message: str) -> TokendError:
    """The exception for an error answer: a subclass by code, else TokendError."""
    return _BY_CODE.get(code, TokendError)(code, message)
