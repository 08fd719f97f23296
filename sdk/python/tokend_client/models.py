"""The original module's models, as dataclasses with its pydantic-style API:
``UserContext``, ``Tokens`` (wxc_sdk's field names, ``expires_in``,
``set_expiration()``, ``remaining``) and ``FlowState``. Each has ``json()``,
``dict()``, ``copy()``, ``parse_obj()``, ``parse_raw()`` (and pydantic 2's
``model_dump()``/``model_validate()`` names), so code written against the
pydantic models keeps working without pydantic. Tokens never show in repr().
"""

import dataclasses
import datetime
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, Dict, Mapping, Optional, Type, TypeVar, Union, cast

_UTC = datetime.timezone.utc

TimeLike = Union[datetime.datetime, str, None]


def parse_time(value: Any) -> Optional[datetime.datetime]:
    """An ISO 8601 string (a ``Z`` or a space separator accepted), a datetime
    (naive ones taken as UTC) or None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=_UTC)
    if not isinstance(value, str):
        raise ValueError(f"not a datetime: {type(value).__name__}")
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    if len(text) > 10 and text[10] == " ":
        text = text[:10] + "T" + text[11:]
    parsed = datetime.datetime.fromisoformat(text)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=_UTC)


def format_time(value: Optional[datetime.datetime]) -> Optional[str]:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=_UTC)
    return value.astimezone(_UTC).isoformat()


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(tz=_UTC)


def _plain(value: Any) -> Any:
    """JSON-ready copy of a dataclass field value."""
    if isinstance(value, datetime.datetime):
        return format_time(value)
    if isinstance(value, _Model):
        return value.dict()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def as_mapping(obj: Any) -> Dict[str, Any]:
    """A model given as a mapping, one of ours, or any pydantic model (v1's
    ``dict()`` or v2's ``model_dump()``, wxc_sdk's Tokens included), as a dict.
    pydantic itself is never imported."""
    if isinstance(obj, Mapping):
        return dict(obj)
    if isinstance(obj, _Model):
        return obj.dict()
    for method in ("model_dump", "dict"):
        dump = getattr(obj, method, None)
        if callable(dump):
            value = dump()
            if isinstance(value, Mapping):
                return dict(value)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    raise TypeError(f"expected a mapping or a model, got {type(obj).__name__}")


M = TypeVar("M", bound="_Model")


class _Model:
    """pydantic-style methods shared by the models (which are dataclasses)."""

    def dict(self, *, exclude_none: bool = False, **_ignored: Any) -> Dict[str, Any]:
        """The fields as plain JSON values (datetimes as ISO strings)."""
        data = {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(cast(Any, self))
                if f.init and f.name != "extra"}
        extra = getattr(self, "extra", None) or getattr(self, "_extra", None) or {}
        for key, value in extra.items():
            data.setdefault(key, value)
        if exclude_none:
            data = {k: v for k, v in data.items() if v is not None}
        return data

    def json(self, *, exclude_none: bool = False, indent: Optional[int] = None, **_ignored: Any) -> str:
        return json.dumps(self.dict(exclude_none=exclude_none), indent=indent)

    def copy(self: M, *, update: Optional[Mapping[str, Any]] = None, deep: bool = False) -> M:
        data = self.dict() if deep else {f.name: getattr(self, f.name)
                                          for f in dataclasses.fields(cast(Any, self)) if f.init}
        data.update(update or {})
        return type(self).parse_obj(data) if deep else type(self)(**data)

    @classmethod
    def parse_obj(cls: Type[M], obj: Any) -> M:
        raise NotImplementedError

    @classmethod
    def parse_raw(cls: Type[M], text: Union[str, bytes]) -> M:
        return cls.parse_obj(json.loads(text))

    # pydantic 2's names for the same things
    def model_dump(self, **kwargs: Any) -> Dict[str, Any]:
        return self.dict(**kwargs)

    def model_dump_json(self, **kwargs: Any) -> str:
        return self.json(**kwargs)

    @classmethod
    def model_validate(cls: Type[M], obj: Any) -> M:
        return cls.parse_obj(obj)

    @classmethod
    def model_validate_json(cls: Type[M], text: Union[str, bytes]) -> M:
        return cls.parse_raw(text)


@dataclass
class Tokens(_Model):
    """wxc_sdk's Tokens: the fields of a token endpoint answer. ``expires_in``
    and ``refresh_token_expires_in`` are relative (seconds) as the endpoint
    sends them; ``set_expiration()`` turns them into the absolute
    ``*_expires_at`` that tokend stores (a write does it too when only the
    relative one is set). Datetimes may be given as ISO strings."""

    access_token: Optional[str] = field(default=None, repr=False)
    expires_in: Optional[int] = None
    expires_at: Optional[datetime.datetime] = None
    refresh_token: Optional[str] = field(default=None, repr=False)
    refresh_token_expires_in: Optional[int] = None
    refresh_token_expires_at: Optional[datetime.datetime] = None
    token_type: Optional[str] = None
    scope: Optional[str] = None
    #: fields of the stored JSON this class does not know, kept for the write-back
    extra: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    STORED: ClassVar = ("access_token", "expires_at", "refresh_token", "refresh_token_expires_at",
                        "token_type", "scope")

    def __post_init__(self) -> None:
        self.expires_at = parse_time(self.expires_at)
        self.refresh_token_expires_at = parse_time(self.refresh_token_expires_at)

    def set_expiration(self) -> None:
        """expires_at = now + expires_in, and the same for the refresh token
        (as wxc_sdk does when tokens arrive)."""
        now = utc_now()
        if self.expires_in is not None:
            self.expires_at = now + datetime.timedelta(seconds=self.expires_in)
        if self.refresh_token_expires_in is not None:
            self.refresh_token_expires_at = now + datetime.timedelta(seconds=self.refresh_token_expires_in)

    @property
    def remaining(self) -> int:
        """Whole seconds of access-token life left (negative once expired; 0
        without an access token or expiry)."""
        if self.access_token is None or self.expires_at is None:
            return 0
        return int((self.expires_at - utc_now()).total_seconds())

    @property
    def needs_refresh(self) -> bool:
        """Less than 5 minutes left (wxc_sdk's rule)."""
        return self.remaining < 300

    def update(self, new_tokens: "Tokens") -> None:
        """Takes over new tokens' values; a refresh token the new ones lack is kept."""
        self.access_token = new_tokens.access_token
        self.expires_in = new_tokens.expires_in
        self.expires_at = new_tokens.expires_at
        if new_tokens.refresh_token is not None:
            self.refresh_token = new_tokens.refresh_token
            self.refresh_token_expires_in = new_tokens.refresh_token_expires_in
            self.refresh_token_expires_at = new_tokens.refresh_token_expires_at
        self.token_type = new_tokens.token_type or self.token_type
        self.scope = new_tokens.scope or self.scope

    @classmethod
    def parse_obj(cls, obj: Any) -> "Tokens":
        data = as_mapping(obj)
        known = {f.name for f in dataclasses.fields(cls) if f.init and f.name != "extra"}
        return cls(**{k: v for k, v in data.items() if k in known},
                   extra={k: v for k, v in data.items() if k not in known and k != "extra"})

    from_json = parse_obj

    def to_json(self) -> Dict[str, Any]:
        """The stored shape (docs/protocol.md): absolute expiries only. An
        expires_in without expires_at counts from now."""
        expires_at = self.expires_at
        refresh_expires_at = self.refresh_token_expires_at
        if expires_at is None and self.expires_in is not None:
            expires_at = utc_now() + datetime.timedelta(seconds=self.expires_in)
        if refresh_expires_at is None and self.refresh_token_expires_in is not None:
            refresh_expires_at = utc_now() + datetime.timedelta(seconds=self.refresh_token_expires_in)
        data: Dict[str, Any] = dict(self.extra)
        data.update({
            "access_token": self.access_token,
            "expires_at": format_time(expires_at),
            "refresh_token": self.refresh_token,
            "refresh_token_expires_at": format_time(refresh_expires_at),
            "token_type": self.token_type,
            "scope": self.scope,
        })
        return data


@dataclass
class UserContext(_Model):
    """The original's UserContext: a user id and that user's tokens. A bot
    may subclass it (as a dataclass) to keep fields of its own beside them;
    top-level fields it does not know are kept for the write-back too."""

    user_id: str
    tokens: Tokens
    _extra: Dict[str, Any] = field(init=False, default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.tokens, Tokens):
            self.tokens = Tokens.parse_obj(self.tokens)

    @classmethod
    def parse_obj(cls, obj: Any) -> "UserContext":
        data = as_mapping(obj)
        if "user_id" not in data:
            raise ValueError("a user context needs a user_id")
        known = {f.name for f in dataclasses.fields(cls) if f.init}
        values = {k: v for k, v in data.items() if k in known}
        values.setdefault("tokens", {})
        if values["tokens"] is None:
            values["tokens"] = {}
        context = cls(**values)
        context._extra = {k: v for k, v in data.items() if k not in known and k != "_extra"}
        return context

    from_json = parse_obj

    def to_json(self) -> Dict[str, Any]:
        """The stored shape: tokens with absolute expiries, the bot's own fields beside them."""
        data = self.dict()
        data["tokens"] = self.tokens.to_json()
        return data


@dataclass
class FlowState(_Model):
    """A pending OAuth flow: whose, and since when."""

    user_id: str
    created: datetime.datetime = field(default_factory=utc_now)

    def __post_init__(self) -> None:
        created = parse_time(self.created)
        self.created = created if created is not None else utc_now()

    @classmethod
    def parse_obj(cls, obj: Any) -> "FlowState":
        data = as_mapping(obj)
        return cls(user_id=data["user_id"], created=parse_time(data.get("created")) or utc_now())
