"""A throwaway redis-server for tests and benchmarks, and a tiny RESP client.

RedisServer starts redis-server on a Unix socket in a temp dir and on a
loopback TCP port chosen at run time (never a fixed one: a free port is picked,
and if redis-server loses the race for it, another one is tried), without
persistence (--save "" --appendonly no). It can kill (SIGKILL), restart on the
same socket and port, freeze (SIGSTOP/SIGCONT) and SHUTDOWN NOSAVE, as the fault
tests need. The client speaks RESP2 over either endpoint and handles binary
values, so tests can write keys exactly as the original Python module did.

Command line (the ctest wrapper): run a command while a server runs, with
@REDIS_SOCKET@ and @REDIS_PORT@ in its arguments replaced:
    redis_server.py -- tokend-store-conformance --config '{"redis_url":"unix://@REDIS_SOCKET@"}'
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class RedisError(Exception):
    """An error reply from Redis (-ERR ...)."""


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _encode(args):
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, str):
            arg = arg.encode()
        elif isinstance(arg, int):
            arg = str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(out)


class RedisClient:
    """One RESP2 connection. Strings come back as bytes, errors raise RedisError."""

    def __init__(self, unix_path=None, port=None, timeout=5.0):
        if unix_path:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            try:
                self.sock.connect(unix_path)
            except OSError:
                self.sock.close()
                raise
        else:
            self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _read_line(self):
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def _read_exact(self, n):
        while len(self.buffer) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n + 2:]
        return data

    def read_reply(self):
        line = self._read_line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest
        if kind == b"-":
            raise RedisError(rest.decode("utf-8", "replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._read_exact(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read_reply() for _ in range(n)]
        raise ConnectionError(f"unexpected reply {line!r}")

    def send(self, *args):
        self.sock.sendall(_encode(args))

    def command(self, *args):
        self.send(*args)
        return self.read_reply()


class RedisServer:
    """A redis-server of our own; stop() (or the with-block) removes everything."""

    def __init__(self, extra_args=(), tls=None):
        """tls: {"cert": path, "key": path, "ca": path, "auth_clients": "yes"|"no"} to listen
        for TLS too, on a loopback port picked like the plain one (tls_port)."""
        self.dir = tempfile.mkdtemp(prefix="tokend-redis-", dir="/tmp")
        self.socket = os.path.join(self.dir, "redis.sock")
        self.port = None
        self.tls = tls
        self.tls_port = None
        self.extra_args = list(extra_args)
        self.process = None
        self.log_path = os.path.join(self.dir, "redis.log")

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    @property
    def unix_url(self):
        return f"unix://{self.socket}"

    @property
    def tls_url(self):
        return f"rediss://127.0.0.1:{self.tls_port}"

    def _spawn(self, port, tls_port=None):
        args = [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--unixsocket", self.socket,
                "--unixsocketperm", "700", "--save", "", "--appendonly", "no", "--dir", self.dir,
                "--logfile", self.log_path, "--daemonize", "no"] + self.extra_args
        if tls_port:
            args += ["--tls-port", str(tls_port), "--tls-cert-file", self.tls["cert"],
                     "--tls-key-file", self.tls["key"], "--tls-ca-cert-file", self.tls["ca"],
                     "--tls-auth-clients", self.tls.get("auth_clients", "no")]
        return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)

    def _wait_ready(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                with RedisClient(unix_path=self.socket, timeout=1.0) as client:
                    if client.command("PING") == b"PONG":
                        return True
            except RedisError as error:
                if str(error).startswith("NOAUTH"):  # started with --requirepass: it answers
                    return True
            except (OSError, ConnectionError):
                pass
            time.sleep(0.02)
        raise TimeoutError(f"redis-server did not answer within {timeout} s; log: {self.log()}")

    def start(self, attempts=10):
        """Starts on a fresh free port (or the same one again after kill/shutdown)."""
        for _ in range(attempts):
            port = self.port or free_port()
            tls_port = (self.tls_port or free_port()) if self.tls else None
            self.process = self._spawn(port, tls_port)
            if self._wait_ready():
                self.port = port
                self.tls_port = tls_port
                return self
            self.kill()
            # Lost the race for the port (or it is not free yet): try another one,
            # unless we must keep ours (a restart), then wait for it.
            if self.port is None:
                continue
            time.sleep(0.1)
        raise RuntimeError(f"redis-server would not start; log: {self.log()}")

    restart = start

    def log(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def client(self, tcp=False):
        return RedisClient(port=self.port) if tcp else RedisClient(unix_path=self.socket)

    def command(self, *args):
        with self.client() as client:
            return client.command(*args)

    def kill(self):
        """SIGKILL: the data is gone (no persistence), the socket file stays."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def shutdown_nosave(self):
        with self.client() as client:
            client.send("SHUTDOWN", "NOSAVE")
            try:
                client.read_reply()
            except (ConnectionError, OSError):
                pass
        self.process.wait(10)

    def freeze(self):
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self):
        self.process.send_signal(signal.SIGCONT)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.thaw()
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


def main(argv):
    if "--" not in argv:
        print(__doc__, file=sys.stderr)
        return 2
    command = argv[argv.index("--") + 1:]
    with RedisServer() as server:
        command = [arg.replace("@REDIS_SOCKET@", server.socket).replace("@REDIS_PORT@", str(server.port))
                   for arg in command]
        return subprocess.call(command)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
