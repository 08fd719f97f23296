"""Helpers of the issue-11 tests (grants, PKCE-less flows, auth links): a raw
control-protocol connection of their own, tokenctl, and small waits."""

import base64
import hashlib
import hmac
import json
import os
import socket
import subprocess
import unittest
import urllib.parse

from harness import ROOT, Tokend, start_fake, stop_and_check

TOKENCTL = os.environ.get("TOKENCTL_BIN", os.path.join(ROOT, "build", "tools", "tokenctl", "tokenctl"))


class Raw:
    """One control connection speaking the protocol by hand: (ok, result or error)."""

    def __init__(self, path, timeout=30):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buffer = b""
        self.next_id = 0

    def send(self, op, **params):
        self.next_id += 1
        self.sock.sendall((json.dumps({"id": self.next_id, "op": op, **params}) + "\n").encode())
        return self.next_id

    def receive(self):
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("tokend closed the connection")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def call(self, op, **params):
        self.send(op, **params)
        return self.receive()

    def ok(self, op, **params):
        response = self.call(op, **params)
        assert response["ok"], response
        return response["result"]

    def error(self, op, **params):
        response = self.call(op, **params)
        assert not response["ok"], response
        return response["error"]

    def close(self):
        self.sock.close()


def tokenctl(socket_path, *args, stdin=None):
    return subprocess.run([TOKENCTL, "--socket", socket_path, *args], input=stdin, capture_output=True, text=True,
                          timeout=60)


def authorize(fake, auth_url, decision):
    """The browser at the provider: queues the decision, follows the authorize
    URL up to the provider's redirect; returns (status, redirect query or body)."""
    import urllib.parse
    from harness import http_get
    fake.queue_consent([decision])
    parsed = urllib.parse.urlsplit(auth_url)
    status, headers, body = http_get(parsed.port, parsed.path + "?" + parsed.query)
    if status != 302:
        return status, body
    return status, urllib.parse.urlsplit(headers["Location"]).query


def complete_flow(tokend, raw, user_id, **start):
    """start_flow over raw, consent at the fake, the browser back at /redirect: (flow, (status, headers, body))."""
    from harness import http_get
    flow = raw.ok("start_flow", user_id=user_id, **start)
    status, query = authorize(tokend.fake, flow["auth_url"], {"user_id": user_id})
    assert status == 302, (status, query)
    return flow, http_get(tokend.port, "/redirect?" + query)


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign_link(key, user_id, expires):
    """An auth link's query, made independently of tokend as docs/protocol.md
    says (HMAC-SHA256 over the domain, the length-prefixed user id and the expiry)."""
    raw = user_id.encode()
    message = b"tokend auth_link v1\n" + str(len(raw)).encode() + b":" + raw + b"\n" + str(expires).encode()
    mac = hmac.new(key, message, hashlib.sha256).digest()
    return urllib.parse.urlencode({"u": b64(raw), "e": str(expires), "s": b64(mac)})


class RawTokendCase(unittest.TestCase):
    """One fake provider and one tokend (extra_config) per test, with a Raw connection."""
    extra_config = ""

    def setUp(self):
        self.fake = start_fake()
        self.tokend = Tokend(self.fake, extra_config=self.extra_config).start()
        self.raw = Raw(self.tokend.socket)

    def tearDown(self):
        self.raw.close()
        stop_and_check(self)
        self.assertEqual(self.fake.state()["internal_errors"], 0)
