"""JsonClient: the protocol as it is (dicts in, dicts out), blocking, over a
small pool of connections that are reopened when tokend closed them.

Every other client in this package is built on it (TokendClient, the drop-in
TokenManager). Use it directly for operations or fields this package does not
know yet: ``client.call("some_op", param=1)``.
"""

import socket
import struct
import threading
import time
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Set

from ._wire import (RETRY_SAFE_OPS, Lost, NotSent, RetryPolicy, Unreachable, check_answers, closed_by_peer,
                    encode, parse_line, socket_path_from, unix_socket)
from .errors import OutcomeUnknownError, TokendConnectionError, TokendError, TokendTimeout

JsonDict = Dict[str, Any]


def _timeval(seconds: Optional[float]) -> bytes:
    """SO_RCVTIMEO/SO_SNDTIMEO's struct timeval; 0 waits forever."""
    micros = 0 if seconds is None else max(1, int(seconds * 1_000_000))
    return struct.pack("@ll", micros // 1_000_000, micros % 1_000_000)


class _Connection:
    """One socket to tokend with its read buffer; used by one thread at a time.

    The socket is in blocking mode with the kernel's SO_RCVTIMEO/SO_SNDTIMEO
    as the answer timeout: Python's own timeout mode would poll() before
    every send and recv, a third syscall per request."""

    def __init__(self, sock: socket.socket) -> None:
        sock.settimeout(None)
        self.sock = sock
        self.next_id = 1
        self._buffer = bytearray()
        self._start = 0
        self._timeout: Optional[float] = None

    def set_timeout(self, timeout: Optional[float]) -> None:
        if timeout != self._timeout:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval(timeout))
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, _timeval(timeout))
            self._timeout = timeout

    def shutdown(self) -> None:
        """Wakes a reader blocked on the socket (it sees EOF); the reader closes it."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def close(self) -> None:
        self.shutdown()
        self.sock.close()

    def send(self, lines: List[bytes], timeout: Optional[float]) -> None:
        """Sends whole lines. NotSent when the first line did not go out whole
        (tokend cannot have acted), Lost when it did and the rest failed."""
        data = b"".join(lines)
        view = memoryview(data)
        sent = 0
        self.set_timeout(timeout)
        try:
            while sent < len(data):
                sent += self.sock.send(view[sent:])
        except BlockingIOError:  # SO_SNDTIMEO ran out
            raise TokendTimeout(f"tokend did not take the request within {timeout} s") from None
        except OSError as error:
            if sent < len(lines[0]):
                raise NotSent(f"sending failed: {error.strerror or error}") from None
            raise Lost(f"sending failed: {error.strerror or error}") from None

    def read_line(self) -> bytes:
        """The next line without its newline; Lost at EOF or on a socket error."""
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
                chunk = self.sock.recv(262144)
            except BlockingIOError:  # SO_RCVTIMEO ran out
                raise
            except OSError as error:
                raise Lost(f"reading failed: {error.strerror or error}") from None
            if not chunk:
                raise Lost("tokend closed the connection")
            self._buffer += chunk

    def exchange(self, requests: Sequence[Mapping[str, Any]], timeout: Optional[float]) -> List[Any]:
        first_id = self.next_id
        self.next_id += len(requests)
        lines = encode(requests, first_id)
        self.send(lines, timeout)
        answers: List[JsonDict] = []
        try:
            while len(answers) < len(lines):
                answers.append(parse_line(self.read_line()))
        except BlockingIOError:
            raise TokendTimeout(f"no answer from tokend within {timeout} s") from None
        return check_answers(answers, first_id)


def _user(user_id: str, integration: Optional[str]) -> JsonDict:
    """A user's parameters: integration only when given (absent: the default)."""
    params: JsonDict = {"user_id": user_id}
    if integration is not None:
        params["integration"] = integration
    return params


class JsonClient:
    """A blocking client answering dicts (the protocol's ``result`` objects).

    Thread-safe without one global lock: each call takes an idle connection
    from a pool, or opens one, up to ``max_connections`` (further callers wait
    for one, at most ``timeout``). A pooled connection that tokend closed
    (idle timeout, restart, socket-activation hand-over) is replaced before
    use. When a connection fails under a request, the operations in
    ``RETRY_SAFE_OPS`` are sent again on a new connection (delays per
    ``retry``); any other raises ``OutcomeUnknownError``. tokend unreachable
    for longer than ``retry.window`` raises ``TokendConnectionError``.

    socket_path: the argument, else ``$TOKEND_SOCKET``, else /run/tokend/tokend.sock.
    timeout: seconds to wait for an answer (None: forever).
    connect_timeout: seconds for one connect().
    """

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
        self._lock = threading.Lock()
        self._slot_freed = threading.Condition(self._lock)
        self._in_use = 0
        self._idle: List[_Connection] = []
        self._watching: Set[_Connection] = set()
        self._closed = False
        #: connections opened so far (the first and every reconnection), for tests and monitoring
        self.connections_opened = 0
        #: connects that failed (tokend away), for tests and monitoring
        self.connect_failures = 0

    # -- connections ---------------------------------------------------------
    def _open(self) -> _Connection:
        sock = unix_socket()
        sock.settimeout(self.connect_timeout)
        try:
            sock.connect(self.socket_path)
        except OSError as error:
            sock.close()
            with self._lock:
                self.connect_failures += 1
            raise Unreachable(f"cannot connect to {self.socket_path}: {error.strerror or error}") from None
        with self._lock:
            self.connections_opened += 1
        return _Connection(sock)

    def _acquire_slot(self) -> None:
        """One of max_connections; waits at most timeout for a free one."""
        with self._lock:
            if self._in_use >= self.max_connections and not self._slot_freed.wait_for(
                    lambda: self._in_use < self.max_connections, self.timeout):
                raise TokendTimeout(f"all {self.max_connections} connections stayed busy for {self.timeout} s")
            self._in_use += 1

    def _take_idle(self) -> Optional[_Connection]:
        while True:
            with self._lock:
                if self._closed:
                    raise TokendConnectionError("the client is closed")
                if not self._idle:
                    return None
                connection = self._idle.pop()
            if not closed_by_peer(connection.sock):
                return connection
            connection.close()  # closed by tokend while idle: replace it

    def _give_back(self, connection: Optional[_Connection], healthy: bool) -> None:
        """Returns the slot, and the connection to the pool when it is fine."""
        with self._lock:
            keep = connection is not None and healthy and not self._closed
            if keep:
                self._idle.append(connection)  # type: ignore[arg-type]
            self._in_use -= 1
            self._slot_freed.notify()
        if connection is not None and not keep:
            connection.close()

    def close(self) -> None:
        """Closes every connection, watches included; later calls raise."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            watching = list(self._watching)
        for connection in idle:
            connection.close()
        for connection in watching:
            connection.shutdown()  # its watch() loop sees EOF, ends and closes it

    def __enter__(self) -> "JsonClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- requests ------------------------------------------------------------
    def call(self, op: str, **params: Any) -> Any:
        """Sends one request and returns its ``result``; raises TokendError."""
        return self.pipeline([dict(params, op=op)])[0]

    def pipeline(self, requests: Sequence[Mapping[str, Any]]) -> List[Any]:
        """Sends several requests at once on one connection and returns their
        results in order; raises the first failed one's error after reading all.
        Retried as a whole only when every op is retry-safe."""
        if not requests:
            return []
        ops = [str(request.get("op")) for request in requests]
        retry_safe = all(op in RETRY_SAFE_OPS for op in ops)
        started = 0.0
        delays: Optional[Iterator[float]] = None
        while True:
            self._acquire_slot()
            connection = None
            healthy = False
            try:
                connection = self._take_idle()
                reused = connection is not None
                if connection is None:
                    connection = self._open()
                try:
                    results = connection.exchange(requests, self.timeout)
                except TokendTimeout as timeout:
                    if retry_safe:
                        raise
                    raise TokendTimeout(f"{timeout.message}: {', '.join(sorted(set(ops)))} may or may not "
                                        f"have happened") from None
                except TokendError:
                    healthy = True  # an error answer: the connection is fine
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
                continue  # a pooled connection died: try a fresh one at once
            if delays is None:
                started, delays = time.monotonic(), self.retry.delays()
            delay = next(delays)
            if time.monotonic() + delay - started > self.retry.window:
                raise TokendConnectionError(f"{failure} (gave up after {self.retry.window} s)")
            time.sleep(delay)

    # -- operations (results as the protocol's dicts) --------------------------
    def ping(self) -> JsonDict:
        return dict(self.call("ping"))

    def start_flow(self, user_id: str, pkce: bool = True, integration: Optional[str] = None) -> JsonDict:
        """{"flow_id", "auth_url", "expires_at"}. pkce=False: a flow without
        PKCE, for a bot that builds the authorization URL itself. integration:
        the name of one of tokend's integrations (every user op takes it; None:
        the default integration)."""
        params: JsonDict = _user(user_id, integration)
        if not pkce:
            params["pkce"] = False
        return dict(self.call("start_flow", **params))

    def process_redirect(self, flow_id: str, code: str) -> JsonDict:
        return dict(self.call("process_redirect", flow_id=flow_id, code=code))

    def get_token(self, user_id: str, integration: Optional[str] = None) -> JsonDict:
        return dict(self.call("get_token", **_user(user_id, integration)))

    def refresh(self, user_id: str, integration: Optional[str] = None) -> JsonDict:
        return dict(self.call("refresh", **_user(user_id, integration)))

    def get_user_context(self, user_id: str, refresh: bool = False,
                         integration: Optional[str] = None) -> Optional[JsonDict]:
        context: Optional[JsonDict] = self.call("get_user_context", refresh=refresh,
                                                **_user(user_id, integration))["user_context"]
        return context

    def set_user_context(self, user_id: str, user_context: Optional[Mapping[str, Any]],
                         clear_refresh_token: bool = False, force: bool = False,
                         integration: Optional[str] = None) -> JsonDict:
        params: JsonDict = _user(user_id, integration)
        params["user_context"] = None if user_context is None else dict(user_context)
        if clear_refresh_token:
            params["clear_refresh_token"] = True
        if force:
            params["force"] = True
        return dict(self.call("set_user_context", **params))

    def sign_out(self, user_id: str, revoke: bool = True, integration: Optional[str] = None) -> JsonDict:
        """{"cleared", "revocation": {"outcome", ...} or None}: clears the
        context and (revoke) revokes the grant at the provider."""
        return dict(self.call("sign_out", revoke=revoke, **_user(user_id, integration)))

    def grant_status(self, user_id: str, integration: Optional[str] = None) -> JsonDict:
        """What tokend knows of the user's grant, never a token. Without
        integration, on a tokend with several: also "integrations", each one's."""
        return dict(self.call("grant_status", **_user(user_id, integration)))

    def auth_link(self, user_id: str, integration: Optional[str] = None) -> JsonDict:
        """{"url", "expires_at"}: a signed link that starts a fresh flow whenever it is opened."""
        return dict(self.call("auth_link", **_user(user_id, integration)))

    def list_users(self, cursor: Optional[str] = None, limit: Optional[int] = None) -> JsonDict:
        params: JsonDict = {}
        if cursor is not None:
            params["cursor"] = cursor
        if limit is not None:
            params["limit"] = limit
        return dict(self.call("list_users", **params))

    def all_users(self, page_size: int = 1000) -> Iterator[str]:
        cursor: Optional[str] = None
        while True:
            page = self.list_users(cursor=cursor, limit=page_size)
            yield from page["users"]
            cursor = page["next"]
            if cursor is None:
                return

    def flow_maintenance(self, force: bool = False) -> JsonDict:
        return dict(self.call("flow_maintenance", force=force))

    def stats(self) -> JsonDict:
        return dict(self.call("stats"))

    def watch(self, user_id: Optional[str] = None, resubscribe: bool = False,
              integration: Optional[str] = None) -> Iterator[JsonDict]:
        """Yields event dicts on a connection of its own. Without resubscribe
        it ends when the connection closes; with it, it opens a new one and
        subscribes again (first yielding ``{"event": "resubscribed"}``: events
        in between were missed), raising TokendConnectionError once tokend
        stayed away for ``retry.window``. close() ends it."""
        params: JsonDict = {"op": "watch"}
        if user_id is not None:
            params["user_id"] = user_id
        if integration is not None:
            params["integration"] = integration
        subscribed_before = False
        while True:
            connection = self._subscribe(params)
            try:
                if subscribed_before:
                    yield {"event": "resubscribed", "user_id": user_id, "at": None}
                subscribed_before = True
                connection.set_timeout(None)
                while True:
                    try:
                        line = connection.read_line()
                    except Lost:
                        break
                    yield parse_line(line)
            finally:
                with self._lock:
                    self._watching.discard(connection)
                connection.close()
            with self._lock:
                if self._closed:
                    return
            if not resubscribe:
                return

    def _subscribe(self, request: JsonDict) -> _Connection:
        started = time.monotonic()
        delays = self.retry.delays()
        while True:
            with self._lock:
                if self._closed:
                    raise TokendConnectionError("the client is closed")
            try:
                connection = self._open()
            except Unreachable as error:
                failure: Exception = error
            else:
                try:
                    connection.exchange([request], self.timeout)
                    with self._lock:
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
            time.sleep(delay)
