"""asyncio clients: AsyncJsonClient (dicts) and AsyncTokendClient (typed).

The same rules as the blocking clients: a pool of connections (one per
concurrent call, up to max_connections), a connection tokend closed is
replaced, retry-safe operations are sent again after a lost connection, any
other raises OutcomeUnknownError. Sockets are non-blocking and served by the
running loop (loop.sock_recv/sock_sendall); no threads.
"""

import asyncio
import socket
import sys
import time
from typing import Any, AsyncIterator, Dict, Iterator, List, Mapping, Optional, Sequence, Set

from ._wire import (RETRY_SAFE_OPS, Lost, NotSent, RetryPolicy, Unreachable, check_answers, closed_by_peer,
                    encode, parse_line, socket_path_from, unix_socket)
from .client import ContextLike, context_json
from .json_client import _user
from .errors import OutcomeUnknownError, TokendConnectionError, TokendError, TokendTimeout
from .models import UserContext
from .results import (AccessToken, AuthLink, Event, Flow, FlowMaintenanceResult, GrantStatus, Ping, RedirectResult,
                      SetResult, SignOutResult,
                      Stats, UsersPage)

JsonDict = Dict[str, Any]

if sys.version_info >= (3, 11):
    _timeout = asyncio.timeout
else:  # pragma: no cover - Python 3.9/3.10
    class _timeout:  # noqa: N801 - stands in for asyncio.timeout
        def __init__(self, delay: Optional[float]) -> None:
            self._delay = delay
            self._handle: Optional[asyncio.TimerHandle] = None
            self._expired = False

        async def __aenter__(self) -> None:
            if self._delay is not None:
                task = asyncio.current_task()
                assert task is not None

                def expire() -> None:
                    self._expired = True
                    task.cancel()
                self._handle = asyncio.get_running_loop().call_later(self._delay, expire)

        async def __aexit__(self, kind: Any, value: Any, traceback: Any) -> bool:
            if self._handle is not None:
                self._handle.cancel()
            if self._expired and kind is asyncio.CancelledError:
                raise asyncio.TimeoutError from None
            return False


class _AsyncConnection:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.next_id = 1
        self._buffer = bytearray()
        self._start = 0

    def shutdown(self) -> None:
        """Wakes a reader blocked on the socket (it sees EOF); the reader closes it."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def close(self) -> None:
        self.shutdown()
        self.sock.close()

    async def send(self, lines: List[bytes]) -> None:
        data = b"".join(lines)
        try:
            sent = self.sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError as error:
            raise NotSent(f"sending failed: {error.strerror or error}") from None
        if sent < len(data):
            try:
                await asyncio.get_running_loop().sock_sendall(self.sock, data[sent:])
            except OSError as error:
                # How much went out before the failure is unknown here: assume the worst.
                raise Lost(f"sending failed: {error.strerror or error}") from None

    async def read_line(self) -> bytes:
        loop = asyncio.get_running_loop()
        while True:
            end = self._buffer.find(b"\n", self._start)
            if end >= 0:
                line = bytes(self._buffer[self._start:end])
                self._start = end + 1
                if self._start > 65536 and self._start * 2 > len(self._buffer):
                    del self._buffer[:self._start]
                    self._start = 0
                return line
            try:
                chunk = await loop.sock_recv(self.sock, 262144)
            except OSError as error:
                raise Lost(f"reading failed: {error.strerror or error}") from None
            if not chunk:
                raise Lost("tokend closed the connection")
            self._buffer += chunk

    async def exchange(self, requests: Sequence[Mapping[str, Any]], timeout: Optional[float]) -> List[Any]:
        first_id = self.next_id
        self.next_id += len(requests)
        lines = encode(requests, first_id)
        answers: List[JsonDict] = []
        try:
            async with _timeout(timeout):
                await self.send(lines)
                while len(answers) < len(lines):
                    answers.append(parse_line(await self.read_line()))
        except asyncio.TimeoutError:
            raise TokendTimeout(f"no answer from tokend within {timeout} s") from None
        return check_answers(answers, first_id)


class AsyncJsonClient:
    """The protocol as dicts, for asyncio. Arguments as JsonClient's."""

    def __init__(self, socket_path: Optional[str] = None, timeout: Optional[float] = 30.0, *,
                 connect_timeout: float = 5.0, max_connections: int = 8,
                 retry: Optional[RetryPolicy] = None) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self.socket_path = socket_path_from(socket_path)
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_connections = max_connections
        self.retry = retry or RetryPolicy()
        self._slots: Optional[asyncio.Semaphore] = None
        self._idle: List[_AsyncConnection] = []
        self._watching: Set[_AsyncConnection] = set()
        self._closed = False
        self.connections_opened = 0
        self.connect_failures = 0

    async def _open(self) -> _AsyncConnection:
        sock = unix_socket()
        sock.setblocking(False)
        try:
            async with _timeout(self.connect_timeout):
                await asyncio.get_running_loop().sock_connect(sock, self.socket_path)
        except (OSError, asyncio.TimeoutError) as error:
            sock.close()
            self.connect_failures += 1
            detail = "timed out" if isinstance(error, asyncio.TimeoutError) else (error.strerror or str(error))
            raise Unreachable(f"cannot connect to {self.socket_path}: {detail}") from None
        self.connections_opened += 1
        return _AsyncConnection(sock)

    def _take_idle(self) -> Optional[_AsyncConnection]:
        if self._closed:
            raise TokendConnectionError("the client is closed")
        while self._idle:
            connection = self._idle.pop()
            if not closed_by_peer(connection.sock):
                return connection
            connection.close()
        return None

    def _give_back(self, connection: Optional[_AsyncConnection], healthy: bool) -> None:
        if connection is not None:
            if healthy and not self._closed:
                self._idle.append(connection)
            else:
                connection.close()

    async def close(self) -> None:
        """Closes every connection, watches included; later calls raise."""
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()
        for connection in self._watching:
            connection.shutdown()  # its watch() loop sees EOF, ends and closes it

    async def __aenter__(self) -> "AsyncJsonClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def call(self, op: str, **params: Any) -> Any:
        return (await self.pipeline([dict(params, op=op)]))[0]

    async def pipeline(self, requests: Sequence[Mapping[str, Any]]) -> List[Any]:
        if not requests:
            return []
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_connections)
        ops = [str(request.get("op")) for request in requests]
        retry_safe = all(op in RETRY_SAFE_OPS for op in ops)
        started = 0.0
        delays: Optional[Iterator[float]] = None
        while True:
            async with self._slots:
                connection = None
                healthy = False
                try:
                    connection = self._take_idle()
                    reused = connection is not None
                    if connection is None:
                        connection = await self._open()
                    try:
                        results = await connection.exchange(requests, self.timeout)
                    except TokendTimeout as timeout:
                        if retry_safe:
                            raise
                        raise TokendTimeout(f"{timeout.message}: {', '.join(sorted(set(ops)))} may or may not "
                                            f"have happened") from None
                    except TokendError:
                        healthy = True
                        raise
                    healthy = True
                    return results
                except NotSent as error:
                    failure: Exception = error
                except Lost as error:
                    if not retry_safe:
                        raise OutcomeUnknownError(next(op for op in ops if op not in RETRY_SAFE_OPS),
                                                  str(error)) from None
                    failure = error
                except Unreachable as error:
                    failure = error
                    reused = False
                finally:
                    self._give_back(connection, healthy)
            if reused:
                continue
            if delays is None:
                started, delays = time.monotonic(), self.retry.delays()
            delay = next(delays)
            if time.monotonic() + delay - started > self.retry.window:
                raise TokendConnectionError(f"{failure} (gave up after {self.retry.window} s)")
            await asyncio.sleep(delay)

    async def watch(self, user_id: Optional[str] = None, resubscribe: bool = True,
                    integration: Optional[str] = None) -> AsyncIterator[JsonDict]:
        """Event dicts; see TokendClient.watch. Resubscribes by default."""
        request: JsonDict = {"op": "watch"}
        if user_id is not None:
            request["user_id"] = user_id
        if integration is not None:
            request["integration"] = integration
        subscribed_before = False
        while True:
            connection = await self._subscribe(request)
            try:
                if subscribed_before:
                    yield {"event": "resubscribed", "user_id": user_id, "at": None}
                subscribed_before = True
                while True:
                    try:
                        line = await connection.read_line()
                    except Lost:
                        break
                    yield parse_line(line)
            finally:
                self._watching.discard(connection)
                connection.close()
            if self._closed or not resubscribe:
                return

    async def _subscribe(self, request: JsonDict) -> _AsyncConnection:
        started = time.monotonic()
        delays = self.retry.delays()
        while True:
            if self._closed:
                raise TokendConnectionError("the client is closed")
            try:
                connection = await self._open()
            except Unreachable as error:
                failure: Exception = error
            else:
                try:
                    await connection.exchange([request], self.timeout)
                    self._watching.add(connection)
                    return connection
                except (NotSent, Lost) as error:
                    connection.close()
                    failure = error
                except BaseException:
                    connection.close()
                    raise
            delay = next(delays)
            if time.monotonic() + delay - started > self.retry.window:
                raise TokendConnectionError(f"{failure} (gave up after {self.retry.window} s)")
            await asyncio.sleep(delay)


class AsyncTokendClient:
    """Every operation of TokendClient as a coroutine, with the same typed
    results and errors; ``watch()`` is an async iterator that subscribes
    again after a reconnect. Create it anywhere; use it from one event loop.

        async with AsyncTokendClient() as tokend:
            token = await tokend.get_token(user_id)
    """

    def __init__(self, socket_path: Optional[str] = None, timeout: Optional[float] = 30.0, *,
                 connect_timeout: float = 5.0, max_connections: int = 8,
                 retry: Optional[RetryPolicy] = None) -> None:
        self.json = AsyncJsonClient(socket_path, timeout, connect_timeout=connect_timeout,
                                    max_connections=max_connections, retry=retry)

    @property
    def socket_path(self) -> str:
        return self.json.socket_path

    async def close(self) -> None:
        await self.json.close()

    async def __aenter__(self) -> "AsyncTokendClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def ping(self) -> Ping:
        return Ping.from_json(await self.json.call("ping"))

    async def start_flow(self, user_id: str, pkce: bool = True, integration: Optional[str] = None) -> Flow:
        params: JsonDict = _user(user_id, integration)
        if not pkce:
            params["pkce"] = False
        return Flow.from_json(await self.json.call("start_flow", **params))

    async def process_redirect(self, flow_id: str, code: str) -> RedirectResult:
        return RedirectResult.from_json(await self.json.call("process_redirect", flow_id=flow_id, code=code))

    async def get_token(self, user_id: str, integration: Optional[str] = None) -> AccessToken:
        return AccessToken.from_json(await self.json.call("get_token", **_user(user_id, integration)))

    async def refresh(self, user_id: str, integration: Optional[str] = None) -> AccessToken:
        return AccessToken.from_json(await self.json.call("refresh", **_user(user_id, integration)))

    async def get_user_context(self, user_id: str, refresh: bool = False,
                               integration: Optional[str] = None) -> Optional[UserContext]:
        data = (await self.json.call("get_user_context", refresh=refresh,
                                     **_user(user_id, integration)))["user_context"]
        return None if data is None else UserContext.parse_obj(data)

    async def set_user_context(self, user_id: str, context: Optional[ContextLike], *,
                               clear_refresh_token: bool = False, force: bool = False,
                               integration: Optional[str] = None) -> SetResult:
        params: JsonDict = _user(user_id, integration)
        params["user_context"] = None if context is None else dict(context_json(context))
        if clear_refresh_token:
            params["clear_refresh_token"] = True
        if force:
            params["force"] = True
        return SetResult.from_json(await self.json.call("set_user_context", **params))

    async def clear_user_context(self, user_id: str, integration: Optional[str] = None) -> bool:
        return bool((await self.set_user_context(user_id, None, integration=integration)).cleared)

    async def sign_out(self, user_id: str, revoke: bool = True, integration: Optional[str] = None) -> SignOutResult:
        return SignOutResult.from_json(await self.json.call("sign_out", revoke=revoke, **_user(user_id, integration)))

    async def grant_status(self, user_id: str, integration: Optional[str] = None) -> GrantStatus:
        return GrantStatus.from_json(await self.json.call("grant_status", **_user(user_id, integration)))

    async def auth_link(self, user_id: str, integration: Optional[str] = None) -> AuthLink:
        return AuthLink.from_json(await self.json.call("auth_link", **_user(user_id, integration)))

    async def list_users(self, cursor: Optional[str] = None, limit: Optional[int] = None) -> UsersPage:
        params: JsonDict = {}
        if cursor is not None:
            params["cursor"] = cursor
        if limit is not None:
            params["limit"] = limit
        return UsersPage.from_json(await self.json.call("list_users", **params))

    async def all_users(self, page_size: int = 1000) -> AsyncIterator[str]:
        cursor: Optional[str] = None
        while True:
            page = await self.list_users(cursor=cursor, limit=page_size)
            for user in page.users:
                yield user
            cursor = page.next
            if cursor is None:
                return

    async def flow_maintenance(self, force: bool = False) -> FlowMaintenanceResult:
        return FlowMaintenanceResult.from_json(await self.json.call("flow_maintenance", force=force))

    async def stats(self) -> Stats:
        return Stats.from_json(await self.json.call("stats"))

    async def watch(self, user_id: Optional[str] = None, resubscribe: bool = True,
                    integration: Optional[str] = None) -> AsyncIterator[Event]:
        """``async for event in tokend.watch():`` events as they happen; an
        Event ``resubscribed`` after a reconnect (events in between were missed)."""
        async for raw in self.json.watch(user_id, resubscribe=resubscribe, integration=integration):
            yield Event.from_json(raw)
