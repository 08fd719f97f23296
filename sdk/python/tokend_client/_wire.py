"""What the sync and asyncio transports share: socket path, request lines,
answer checking, which operations may be repeated, and the retry schedule.
No I/O here beyond a zero-timeout poll of a socket."""

import json
import os
import socket
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence

from .errors import TokendError, error_from_answer

DEFAULT_SOCKET = "/run/tokend/tokend.sock"

#: Operations repeated on a new connection when the old one closed before
#: their answer: asking twice changes nothing (set_user_context writes the
#: same context twice). Every other operation raises OutcomeUnknownError then.
RETRY_SAFE_OPS = frozenset(
    {"ping", "get_token", "get_user_context", "list_users", "stats", "set_user_context", "watch", "grant_status"})


def socket_path_from(explicit: Optional[str]) -> str:
    """The argument, else $TOKEND_SOCKET, else /run/tokend/tokend.sock."""
    return explicit or os.environ.get("TOKEND_SOCKET") or DEFAULT_SOCKET


@dataclass(frozen=True)
class RetryPolicy:
    """How long a lost or refused connection is retried: delays start at
    ``first_delay`` and double up to ``max_delay``; no new attempt starts
    later than ``window`` seconds after the first one. A pooled connection
    found closed is replaced at once, without a delay."""

    window: float = 5.0
    first_delay: float = 0.05
    max_delay: float = 1.0

    def delays(self) -> Iterator[float]:
        delay = self.first_delay
        while True:
            yield delay
            delay = min(delay * 2, self.max_delay)


class NotSent(Exception):
    """The connection failed before tokend could have read a whole request
    line: nothing happened, any operation may be sent again."""


class Lost(Exception):
    """The connection failed after at least one whole request line went out:
    the outcome of those requests is unknown."""


class Unreachable(Exception):
    """connect() failed (no socket file, refused, timed out)."""


def encode(requests: Sequence[Mapping[str, Any]], first_id: int) -> List[bytes]:
    """One newline-terminated JSON line per request, ids from first_id on."""
    return [(json.dumps(dict(request, id=first_id + i), separators=(",", ":")) + "\n").encode("utf-8")
            for i, request in enumerate(requests)]


def check_answers(answers: Sequence[Dict[str, Any]], first_id: int) -> List[Any]:
    """The results in order; raises the first failed request's error (a
    TokendError subclass by code) once all were read."""
    results: List[Any] = []
    failure: Optional[TokendError] = None
    for i, answer in enumerate(answers):
        if answer.get("id") != first_id + i:
            raise TokendError("internal", f"answer {answer.get('id')!r} out of order (expected {first_id + i})")
        if answer.get("ok"):
            results.append(answer.get("result"))
        else:
            error = answer.get("error") or {}
            failure = failure or error_from_answer(str(error.get("code", "internal")), str(error.get("message", "")))
            results.append(None)
    if failure is not None:
        raise failure
    return results


def parse_line(line: bytes) -> Dict[str, Any]:
    try:
        value = json.loads(line)
    except ValueError as error:
        raise TokendError("internal", f"tokend sent a line that is not JSON: {error}") from None
    if not isinstance(value, dict):
        raise TokendError("internal", "tokend sent a line that is not a JSON object")
    return value


def closed_by_peer(sock: socket.socket) -> bool:
    """True when an idle connection (no request in flight) has anything to
    read, which for tokend means it was closed (idle timeout, restart):
    reusing it would only fail. One non-blocking peek."""
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) is not None
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return True


def unix_socket() -> socket.socket:
    return socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
