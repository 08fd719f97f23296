"""Typed results of tokend's operations (frozen dataclasses).

Each keeps the answer it was made from: ``result.raw`` is the protocol's
JSON object, and ``result["field"]`` reads it, so code written against the
dict-returning client of tokend 0.1 keeps working while it moves to the
attributes. Access tokens never show in repr().
"""

import datetime
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

from .models import FlowState, parse_time


class _Result:
    """The raw answer behind a result, readable by key."""

    _raw: Dict[str, Any]

    def _keep(self, raw: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_raw", dict(raw))

    @property
    def raw(self) -> Dict[str, Any]:
        """The protocol's JSON object this result was made from."""
        return getattr(self, "_raw", {})

    def __getitem__(self, key: str) -> Any:
        return self.raw[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.raw.get(key, default)


def _required_time(value: Any) -> datetime.datetime:
    parsed = parse_time(value)
    if parsed is None:
        raise ValueError("a required datetime is missing")
    return parsed


@dataclass(frozen=True)
class Ping(_Result):
    version: str
    protocol: int

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> "Ping":
        result = cls(version=str(raw.get("version", "")), protocol=int(raw.get("protocol", 0)))
        result._keep(raw)
        return result


@dataclass(frozen=True)
class Flow(_Result):
    """A started OAuth flow: its id (the OAuth ``state``), the authorization
    URL to send the user to, and when the flow expires."""

    flow_id: str
    auth_url: str
    expires_at: datetime.datetime

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> "Flow":
        result = cls(flow_id=raw["flow_id"], auth_url=raw["auth_url"], expires_at=_required_time(raw["expires_at"]))
        result._keep(raw)
        return result


@dataclass(frozen=True)
class RedirectResult(_Result):
    """How a flow ended. ``status`` is one of authenticated, unknown_flow,
    expired_flow, denied, provider_error, wrong_user, store_failed,
    bad_request; ``message`` is the text for the person's browser."""

    status: str
    message: str

    @property
    def authenticated(self) -> bool:
        return self.status == "authenticated"

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> "RedirectResult":
        result = cls(status=str(raw.get("status", "")), message=str(raw.get("message", "")))
        result._keep(raw)
        return result


@dataclass(frozen=True)
class AccessToken(_Result):
    """A valid access token for a user (get_token, refresh)."""

    user_id: str
    access_token: str = field(repr=False)
    expires_at: Optional[datetime.datetime]

    @property
    def remaining(self) -> int:
        """Whole seconds of life left (0 without an expiry)."""
        if self.expires_at is None:
            return 0
        return int((self.expires_at - datetime.datetime.now(datetime.timezone.utc)).total_seconds())

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> "AccessToken":
        result = cls(user_id=raw["user_id"], access_token=raw["access_token"],
                     expires_at=parse_time(raw.get("expires_at")))
        result._keep(raw)
        return result


@dataclass(frozen=True)
class SetResult(_Result):
    """What set_user_context did (docs/protocol.md, "Grant-safe writes").

    tokens: ``"written"``, or ``"kept_newer"`` when the written copy was
    stale (an older grant than the stored one) and the stored tokens stayed.
    refresh_token: ``"written"``, ``"kept"`` (the write had none: the stored
    one stays), ``"cleared"`` (clear_refresh_token) or ``"none"``.
    cleared: for a clear (context None), whether there was a context.
    Fields tokend did not answer (older daemons) are None.
    """

    tokens: Optional[str] = None
    refresh_token: Optional[str] = None
    cleared: Optional[bool] = None

    @property
    def kept_newer(self) -> bool:
        return self.tokens == "kept_newer"

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> "SetResult":
        cleared = raw.get("cleared")
        result = cls(tokens=raw.get("tokens"), refresh_token=raw.get("refresh_token"),
                     cleared=None if cleared is None else bool(cleared))
        result._keep(raw)
        return result


@dataclass(frozen=True)
class UsersPage(_Result):
    users: List[str]
    next: Optional[str]

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> "UsersPage":
        result = cls(users=list(raw.get("users") or []), next=raw.get("next"))
        result._keep(raw)
        return result


@dataclass(frozen=True)
class DeletedFlow(_Result):
    flow_id: str
    user_id: str
    created: Optional[datetime.datetime]

    def flow_state(self) -> FlowState:
        return FlowState(user_id=self.user_id, created=self.created or datetime.datetime.now(datetime.timezone.utc))

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> "DeletedFlow":
        result = cls(flow_id=str(raw.get("flow_id", "")), user_id=str(raw.get("user_id", "")),
                     created=parse_time(raw.get("created")))
        result._keep(raw)
        return result


@dataclass(frozen=True)
class FlowMaintenanceResult(_Result):
    """Whether a sweep ran (tokend runs one at most every 15 minutes unless
    forced) and the flows it deleted."""

    ran: bool
    deleted: List[DeletedFlow]

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> "FlowMaintenanceResult":
        result = cls(ran=bool(raw.get("ran")), deleted=[DeletedFlow.from_json(d) for d in raw.get("deleted") or []])
        result._keep(raw)
        return result


@dataclass(frozen=True)
class AuthLink(_Result):
    """A signed link on tokend's public listener that starts a fresh flow for
    the user whenever it is opened, until ``expires_at``."""

    url: str
    expires_at: datetime.datetime

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> "AuthLink":
        result = cls(url=raw["url"], expires_at=_required_time(raw["expires_at"]))
        result._keep(raw)
        return result


def _int(raw: Mapping[str, Any], key: str) -> int:
    value = raw.get(key)
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def _counts(raw: Any) -> Dict[str, int]:
    if not isinstance(raw, Mapping):
        return {}
    return {str(k): int(v) for k, v in raw.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


@dataclass(frozen=True)
class FlowStats(_Result):
    started: int
    completed: int
    failed: int
    swept: int
    started_without_pkce: int

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> "FlowStats":
        result = cls(started=_int(raw, "started"), completed=_int(raw, "completed"), failed=_int(raw, "failed"),
                     swept=_int(raw, "swept"), started_without_pkce=_int(raw, "started_without_pkce"))
        result._keep(raw)
        return result


@dataclass(frozen=True)
class RefreshStats(_Result):
    succeeded: int
    failed: int
    retried: int
    adopted: int
    reauth_required: int
    store_failures: int
    in_flight: int
    waiting: int
    scheduled: int
    next_deadline: Optional[datetime.datetime]

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> "RefreshStats":
        result = cls(succeeded=_int(raw, "succeeded"), failed=_int(raw, "failed"), retried=_int(raw, "retried"),
                     adopted=_int(raw, "adopted"), reauth_required=_int(raw, "reauth_required"),
                     store_failures=_int(raw, "store_failures"), in_flight=_int(raw, "in_flight"),
                     waiting=_int(raw, "waiting"), scheduled=_int(raw, "scheduled"),
                     next_deadline=parse_time(raw.get("next_deadline")))
        result._keep(raw)
        return result


@dataclass(frozen=True)
class StoreStats(_Result):
    plugin: str
    healthy: bool
    changes_applied: int
    resyncs: int

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> "StoreStats":
        result = cls(plugin=str(raw.get("plugin", "")), healthy=bool(raw.get("healthy")),
                     changes_applied=_int(raw, "changes_applied"), resyncs=_int(raw, "resyncs"))
        result._keep(raw)
        return result


@dataclass(frozen=True)
class IntegrationStats(_Result):
    """One integration's share of the stats (``stats``, ``integrations``):
    its users and what happened to them. ``refreshes`` has no in_flight,
    waiting or next_deadline (those are the process's, read 0 and None)."""

    users: int
    users_reauth_required: int
    flows: FlowStats
    redirects: Dict[str, int]
    refreshes: RefreshStats
    bot_messages: Dict[str, int]
    sign_outs: Dict[str, int]
    links: Dict[str, int]

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> "IntegrationStats":
        result = cls(users=_int(raw, "users"), users_reauth_required=_int(raw, "users_reauth_required"),
                     flows=FlowStats.from_json(raw.get("flows") or {}), redirects=_counts(raw.get("redirects")),
                     refreshes=RefreshStats.from_json(raw.get("refreshes") or {}),
                     bot_messages=_counts(raw.get("bot_messages")), sign_outs=_counts(raw.get("sign_outs")),
                     links=_counts(raw.get("links")))
        result._keep(raw)
        return result


@dataclass(frozen=True)
class Stats(_Result):
    """tokend's counters (docs/protocol.md, ``stats``). Counters a daemon
    does not report read 0; ``raw`` has everything it sent."""

    users: int
    users_reauth_required: int
    pending_flows: Optional[int]
    flows: FlowStats
    redirects: Dict[str, int]
    refreshes: RefreshStats
    bot_messages: Dict[str, int]
    store: StoreStats
    uptime_seconds: int
    requests: Dict[str, int]
    requests_denied: int
    control_clients: int
    watchers: int
    # Sign-outs by the revocation's outcome, and each integration's share by
    # its name (a tokend before these reports none: empty).
    sign_outs: Dict[str, int] = field(default_factory=dict)
    integrations: Dict[str, IntegrationStats] = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> "Stats":
        pending = raw.get("pending_flows")
        result = cls(users=_int(raw, "users"), users_reauth_required=_int(raw, "users_reauth_required"),
                     pending_flows=None if pending is None else int(pending),
                     flows=FlowStats.from_json(raw.get("flows") or {}), redirects=_counts(raw.get("redirects")),
                     refreshes=RefreshStats.from_json(raw.get("refreshes") or {}),
                     bot_messages=_counts(raw.get("bot_messages")), store=StoreStats.from_json(raw.get("store") or {}),
                     uptime_seconds=_int(raw, "uptime_seconds"), requests=_counts(raw.get("requests")),
                     requests_denied=_int(raw, "requests_denied"), control_clients=_int(raw, "control_clients"),
                     watchers=_int(raw, "watchers"), sign_outs=_counts(raw.get("sign_outs")),
                     integrations={str(name): IntegrationStats.from_json(one)
                                   for name, one in (raw.get("integrations") or {}).items()
                                   if isinstance(one, Mapping)})
        result._keep(raw)
        return result


@dataclass(frozen=True)
class SignOutResult(_Result):
    """What sign_out did. ``cleared``: there was a context here, and it is
    gone (it is gone whatever the provider answered). ``revocation``: the
    outcome at the provider, ``"revoked"``, ``"not_supported"`` (the provider
    profile has no revocation endpoint), ``"no_token"`` (nothing to revoke),
    ``"failed"`` (then ``status``, the HTTP status or None when it did not
    answer, and ``reason``), or None when revoke=False."""

    cleared: bool
    revocation: Optional[str]
    status: Optional[int] = None
    reason: Optional[str] = None

    @property
    def revoked(self) -> bool:
        return self.revocation == "revoked"

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> "SignOutResult":
        revocation = raw.get("revocation") or {}
        result = cls(cleared=bool(raw.get("cleared")), revocation=revocation.get("outcome"),
                     status=revocation.get("status"), reason=revocation.get("reason"))
        result._keep(raw)
        return result


@dataclass(frozen=True)
class GrantStatus(_Result):
    """What tokend knows of a user's grant (never a token). ``working``: a
    token can be had now or by refreshing."""

    user_id: str
    provider: str
    context: bool
    access_token_valid: bool
    access_token_fresh: bool
    expires_at: Optional[datetime.datetime]
    refreshable: bool
    refresh_token_expires_at: Optional[datetime.datetime]
    reauth_required: bool
    refresh_failures: int = 0
    integration: str = "default"  # the integration's name

    @property
    def working(self) -> bool:
        return self.context and not self.reauth_required

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> "GrantStatus":
        result = cls(user_id=str(raw.get("user_id", "")), provider=str(raw.get("provider", "")),
                     context=bool(raw.get("context")), access_token_valid=bool(raw.get("access_token_valid")),
                     access_token_fresh=bool(raw.get("access_token_fresh")),
                     expires_at=parse_time(raw.get("expires_at")), refreshable=bool(raw.get("refreshable")),
                     refresh_token_expires_at=parse_time(raw.get("refresh_token_expires_at")),
                     reauth_required=bool(raw.get("reauth_required")),
                     refresh_failures=int(raw.get("refresh_failures") or 0),
                     integration=str(raw.get("integration") or "default"))
        result._keep(raw)
        return result


@dataclass(frozen=True)
class Event(_Result):
    """An event from watch(): ``event`` is one of context_set,
    context_cleared, token_refreshed, flow_completed, flow_failed,
    reauth_required, signed_out (with ``revocation``, the outcome at the
    provider, in ``event["revocation"]``), or ``resubscribed``, which the client itself yields
    after it reconnected (events in between were missed: re-read what
    matters). Events never carry tokens."""

    event: str
    user_id: Optional[str]
    at: Optional[datetime.datetime]

    RESUBSCRIBED = "resubscribed"

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> "Event":
        result = cls(event=str(raw.get("event", "")), user_id=raw.get("user_id"), at=parse_time(raw.get("at")))
        result._keep(raw)
        return result
