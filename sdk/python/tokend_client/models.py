"""UserContext and Tokens with the original module's field names."""

import datetime
from dataclasses import dataclass, field
from typing import Any, Dict, Optional


def _parse_time(value: Optional[str]) -> Optional[datetime.datetime]:
    if value is None:
        return None
    text = value.replace("Z", "+00:00")
    if len(text) > 10 and text[10] == " ":
        text = text[:10] + "T" + text[11:]
    return datetime.datetime.fromisoformat(text)


def _format_time(value: Optional[datetime.datetime]) -> Optional[str]:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc).isoformat()


@dataclass
class Tokens:
    """The original's wxc_sdk Tokens fields."""

    access_token: Optional[str] = None
    expires_at: Optional[datetime.datetime] = None
    refresh_token: Optional[str] = None
    refresh_token_expires_at: Optional[datetime.datetime] = None
    token_type: Optional[str] = None
    scope: Optional[str] = None
    extra: Dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def remaining(self) -> int:
        """Seconds of access-token life left (negative once expired; 0 without a token)."""
        if self.access_token is None or self.expires_at is None:
            return 0
        now = datetime.datetime.now(tz=datetime.timezone.utc)
        return int((self.expires_at - now).total_seconds())

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "Tokens":
        known = {"access_token", "expires_at", "refresh_token", "refresh_token_expires_at", "token_type", "scope"}
        return cls(
            access_token=data.get("access_token"),
            expires_at=_parse_time(data.get("expires_at")),
            refresh_token=data.get("refresh_token"),
            refresh_token_expires_at=_parse_time(data.get("refresh_token_expires_at")),
            token_type=data.get("token_type"),
            scope=data.get("scope"),
            extra={k: v for k, v in data.items() if k not in known},
        )

    def to_json(self) -> Dict[str, Any]:
        data = {
            "access_token": self.access_token,
            "expires_at": _format_time(self.expires_at),
            "refresh_token": self.refresh_token,
            "refresh_token_expires_at": _format_time(self.refresh_token_expires_at),
            "token_type": self.token_type,
            "scope": self.scope,
        }
        data.update(self.extra)
        return data


@dataclass
class UserContext:
    """The original's UserContext: a user id and that user's tokens."""

    user_id: str
    tokens: Tokens

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "UserContext":
        return cls(user_id=data["user_id"], tokens=Tokens.from_json(data.get("tokens") or {}))

    def to_json(self) -> Dict[str, Any]:
        return {"user_id": self.user_id, "tokens": self.tokens.to_json()}
