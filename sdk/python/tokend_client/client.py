"""The plain protocol client: one connection, newline-delimited JSON."""

import itertools
import json
import os
import socket
import threading
from typing import Any, Dict, Iterator, List, Optional

DEFAULT_SOCKET = "/run/tokend/tokend.sock"


class TokendError(Exception):
    """An error answer from tokend (``code`` is the protocol's error code) or a
    connection problem (``code`` is ``"connection"``)."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class TokendClient:
    """A blocking client on one connection. Thread-safe: calls are serialized."""

    def __init__(self, socket_path: Optional[str] = None, timeout: Optional[float] = 30.0):
        self.socket_path = socket_path or os.environ.get("TOKEND_SOCKET") or DEFAULT_SOCKET
        self._timeout = timeout
        self._sock: Optional[socket.socket] = None
        self._reader = None
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    # -- connection -------------------------------------------------------
    def _connect(self):
        if self._sock is not None:
            return
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self._timeout)
        try:
            sock.connect(self.socket_path)
        except OSError as error:
            sock.close()
            raise TokendError("connection", f"cannot connect to {self.socket_path}: {error.strerror or error}") from None
        self._sock = sock
        self._reader = sock.makefile("rb")

    def close(self):
        with self._lock:
            self._drop()

    def _drop(self):
        if self._reader is not None:
            self._reader.close()
        if self._sock is not None:
            self._sock.close()
        self._sock = None
        self._reader = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- requests ---------------------------------------------------------
    def _read_response(self) -> Dict[str, Any]:
        line = self._reader.readline()
        if not line:
            self._drop()
            raise TokendError("connection", "tokend closed the connection")
        return json.loads(line)

    def call(self, op: str, **params) -> Dict[str, Any]:
        """Sends one request and returns its result; raises TokendError."""
        return self.pipeline([dict(params, op=op)])[0]

    def pipeline(self, requests: List[Dict[str, Any]]) -> List[Any]:
        """Sends several requests at once and returns their results in order;
        raises TokendError for the first failed one (after reading all)."""
        with self._lock:
            self._connect()
            ids = []
            lines = []
            for request in requests:
                request_id = next(self._ids)
                ids.append(request_id)
                lines.append(json.dumps(dict(request, id=request_id), separators=(",", ":")))
            try:
                self._sock.sendall(("\n".join(lines) + "\n").encode("utf-8"))
                responses = [self._read_response() for _ in ids]
            except (OSError, ValueError) as error:
                self._drop()
                raise TokendError("connection", f"lost the connection to tokend: {error}") from None
        results = []
        failure = None
        for request_id, response in zip(ids, responses):
            if response.get("id") != request_id:
                raise TokendError("internal", "response out of order")
            if response.get("ok"):
                results.append(response.get("result"))
            else:
                error = response.get("error") or {}
                failure = failure or TokendError(error.get("code", "internal"), error.get("message", ""))
                results.append(None)
        if failure is not None:
            raise failure
        return results

    # -- operations -------------------------------------------------------
    def ping(self) -> Dict[str, Any]:
        return self.call("ping")

    def start_flow(self, user_id: str) -> Dict[str, Any]:
        """Returns {"flow_id", "auth_url", "expires_at"}."""
        return self.call("start_flow", user_id=user_id)

    def process_redirect(self, flow_id: str, code: str) -> Dict[str, Any]:
        return self.call("process_redirect", flow_id=flow_id, code=code)

    def get_token(self, user_id: str) -> Dict[str, Any]:
        return self.call("get_token", user_id=user_id)

    def refresh(self, user_id: str) -> Dict[str, Any]:
        return self.call("refresh", user_id=user_id)

    def get_user_context(self, user_id: str, refresh: bool = False) -> Optional[Dict[str, Any]]:
        return self.call("get_user_context", user_id=user_id, refresh=refresh)["user_context"]

    def set_user_context(self, user_id: str, user_context: Optional[Dict[str, Any]]) -> Dict[str, Any]:
        return self.call("set_user_context", user_id=user_id, user_context=user_context)

    def list_users(self, cursor: Optional[str] = None, limit: Optional[int] = None) -> Dict[str, Any]:
        params: Dict[str, Any] = {}
        if cursor is not None:
            params["cursor"] = cursor
        if limit is not None:
            params["limit"] = limit
        return self.call("list_users", **params)

    def all_users(self, page_size: int = 1000) -> Iterator[str]:
        cursor = None
        while True:
            page = self.list_users(cursor=cursor, limit=page_size)
            yield from page["users"]
            cursor = page["next"]
            if cursor is None:
                return

    def flow_maintenance(self, force: bool = False) -> Dict[str, Any]:
        return self.call("flow_maintenance", force=force)

    def stats(self) -> Dict[str, Any]:
        return self.call("stats")

    def watch(self, user_id: Optional[str] = None) -> Iterator[Dict[str, Any]]:
        """Yields events until the connection closes. Uses its own connection."""
        watcher = TokendClient(self.socket_path, timeout=None)
        params = {} if user_id is None else {"user_id": user_id}
        try:
            watcher.call("watch", **params)
            while True:
                try:
                    line = watcher._reader.readline()
                except OSError:
                    return
                if not line:
                    return
                yield json.loads(line)
        finally:
            watcher.close()
