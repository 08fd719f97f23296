"""tokend on the redis store over TLS (rediss://), against a redis-server the
test starts with --tls-port and certificates the test makes with the openssl
CLI: a verified pool and change feed, each way verification must refuse (wrong
CA, wrong name, expired, no client certificate where one is required), the
loudly logged opt-out, and Redis frozen under a TLS connection."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from harness import ROOT, Tokend, start_fake, unless_error, user_context, wait_for
from tokend_client import TokendError

sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
from redis_server import RedisServer  # noqa: E402

OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
PASSWORD = "pw-tls-" + os.urandom(6).hex()


def openssl(*args):
    subprocess.run([OPENSSL, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Certificates:
    """A CA, a second CA nobody trusts, and leaf certificates (P-256 keys: fast)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="tokend-tls-", dir="/tmp")
        self.ca = self.make_ca("ca")
        self.other_ca = self.make_ca("other-ca")
        self.server = self.make_leaf("server", "subjectAltName=DNS:redis.test,IP:127.0.0.1")
        self.elsewhere = self.make_leaf("elsewhere", "subjectAltName=DNS:elsewhere.test")
        self.expired = self.make_leaf("expired", "subjectAltName=DNS:redis.test,IP:127.0.0.1", days="-1")
        self.client = self.make_leaf("client", "extendedKeyUsage=clientAuth")

    def path(self, name):
        return os.path.join(self.dir, name)

    def make_ca(self, name):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", self.path(name + ".key"), "-out", self.path(name + ".crt"), "-days", "2",
                "-subj", f"/CN=tokend test {name}")
        return {"cert": self.path(name + ".crt"), "key": self.path(name + ".key")}

    def make_leaf(self, name, extension, days="2"):
        with open(self.path(name + ".ext"), "w") as f:
            f.write(extension + "\n")
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", self.path(name + ".key"), "-out", self.path(name + ".csr"), "-subj", f"/CN={name}")
        # -days -1: valid until yesterday, i.e. expired.
        openssl("x509", "-req", "-in", self.path(name + ".csr"), "-CA", self.ca["cert"], "-CAkey", self.ca["key"],
                "-CAcreateserial", "-out", self.path(name + ".crt"), "-days", days,
                "-extfile", self.path(name + ".ext"))
        return {"cert": self.path(name + ".crt"), "key": self.path(name + ".key")}

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def tls_server(certs, leaf, auth_clients="no"):
    return RedisServer(["--requirepass", PASSWORD],
                       tls={"cert": leaf["cert"], "key": leaf["key"], "ca": certs.ca["cert"],
                            "auth_clients": auth_clients}).start()


class RedisTlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.certs = Certificates()

    @classmethod
    def tearDownClass(cls):
        cls.certs.remove()

    def setUp(self):
        self.fake = start_fake()
        self.nodes = []
        self.servers = []

    def tearDown(self):
        logs = []
        for node in self.nodes:
            started = node.port is not None  # a refused one exited at start (code 2)
            code = node.stop()
            logs.append(node.log())
            node.close()
            if started:
                self.assertEqual(code, 0, logs[-1])
        self.fake.stop()
        for server in self.servers:
            server.stop()
        for log in logs:
            self.assertNotIn("Sanitizer", log)
            self.assertNotIn(PASSWORD, log)  # the password in the URL is never shown
            self.assertNotIn("RT-tls", log)

    def server(self, leaf=None, auth_clients="no"):
        server = tls_server(self.certs, leaf or self.certs.server, auth_clients)
        self.servers.append(server)
        return server

    def node(self, server, **options):
        settings = {"redis_url": f'"rediss://:{PASSWORD}@127.0.0.1:{server.tls_port}"',
                    "tls_ca_file": self.certs.ca["cert"], "command_timeout_ms": 500, "connect_timeout_ms": 500}
        settings.update(options)
        settings = {key: value for key, value in settings.items() if value is not None}
        node = Tokend(self.fake, store="redis", store_options=settings)
        self.nodes.append(node)
        return node

    def refused(self, node, *expected):
        """tokend must stop at start, saying why."""
        with self.assertRaises(RuntimeError) as stopped:
            node.start()
        message = str(stopped.exception)
        for text in expected:
            self.assertIn(text, message)
        self.assertNotIn(PASSWORD, message)
        return message

    def raw(self, server):
        client = server.client()  # the Unix socket: no TLS needed to look
        client.command("AUTH", PASSWORD)
        return client


class Verified(RedisTlsTest):
    def test_the_pool_and_the_change_feed_both_run_over_verified_tls(self):
        server = self.server()
        a = self.node(server).start()
        # The second checks the DNS name (and sends it as SNI) instead of the address.
        b = self.node(server, tls_server_name="redis.test").start()
        flow, _, (status, _, body) = a.complete_flow("alice")
        self.assertEqual(status, 200, body)
        token = a.client().get_token("alice")["access_token"]
        with self.raw(server) as raw:
            self.assertIn(token.encode(), raw.command("GET", "user-alice"))
        # Only the TLS port was given, so the subscribers ran over TLS too: b heard of alice over its TLS subscriber; a hears of b's write.
        served = wait_for(lambda: unless_error("not_found", lambda: b.client().get_token("alice")),
                          what="the change to reach b")
        self.assertEqual(served["access_token"], token)
        b.client().set_user_context("u1", user_context("u1", "AT-from-b", refresh="RT-tls"))
        wait_for(lambda: unless_error("not_found", lambda: a.client().get_token("u1")),
                 what="b's write to reach a")
        self.assertEqual(a.client().get_token("u1")["access_token"], "AT-from-b")
        self.assertNotIn("VERIFICATION IS OFF", a.log())

    def test_a_frozen_redis_times_out_as_over_tcp_and_the_tls_connections_come_back(self):
        server = self.server()
        node = self.node(server).start()
        client = node.client()
        client.set_user_context("u1", user_context("u1", "KEPT", refresh="RT-tls"))
        server.freeze()
        try:
            self.assertEqual(client.get_token("u1")["access_token"], "KEPT")  # from memory
            with self.assertRaises(TokendError) as raised:
                client.set_user_context("u1", user_context("u1", "NEW", refresh="RT-tls"))
            self.assertEqual(raised.exception.code, "store_unavailable")
            self.assertIn("no answer within the timeout", node.log())
            # The subscriber notices too (its PING goes unanswered) before Redis is back.
            wait_for(lambda: "redis change notifications: redis" in node.log(), what="the subscriber to notice")
        finally:
            server.thaw()

        def written():
            client.set_user_context("u1", user_context("u1", "AFTER", refresh="RT-tls"))
            return True
        wait_for(lambda: unless_error("store_unavailable", written), what="recovery", interval=0.1)
        # The subscriber reconnected over TLS too: it asks for a resync.
        wait_for(lambda: "subscribed again" in node.log(), what="the subscriber to come back")


class Refused(RedisTlsTest):
    def test_a_certificate_from_an_unknown_ca(self):
        server = self.server()
        self.refused(self.node(server, tls_ca_file=self.certs.other_ca["cert"]),
                     "certificate verification failed", "self-signed certificate in certificate chain",
                     f"127.0.0.1:{server.tls_port}")

    def test_a_certificate_for_another_name(self):
        server = self.server(self.certs.elsewhere)
        self.refused(self.node(server), "certificate verification failed", "IP address mismatch")
        good = self.server()
        self.refused(self.node(good, tls_server_name="elsewhere.test"),
                     "certificate verification failed", "hostname mismatch")

    def test_an_expired_certificate(self):
        server = self.server(self.certs.expired)
        self.refused(self.node(server), "certificate verification failed", "certificate has expired")

    def test_mutual_tls_without_a_client_certificate_and_with_one(self):
        server = self.server(auth_clients="yes")
        message = self.refused(self.node(server), f"127.0.0.1:{server.tls_port}")
        # The alert (TLS 1.3: after the handshake) may be lost to a reset; the request is not.
        self.assertIn("the server asked for a client certificate and none is configured", message)
        node = self.node(server, tls_cert_file=self.certs.client["cert"],
                         tls_key_file=self.certs.client["key"]).start()
        node.client().set_user_context("u1", user_context("u1", "AT-mtls", refresh="RT-tls"))
        with self.raw(server) as raw:
            self.assertIn(b"AT-mtls", raw.command("GET", "user-u1"))

    def test_a_plain_redis_port_is_not_taken_for_tls(self):
        server = self.server()
        node = self.node(server, redis_url=f'"rediss://:{PASSWORD}@127.0.0.1:{server.port}"')
        self.refused(node, "TLS", f"127.0.0.1:{server.port}")

    def test_bad_tls_options_are_refused_by_name(self):
        server = self.server()
        for options, expected in (
                ({"tls_ca_file": "/nonexistent/ca.pem"}, "tls_ca_file"),
                ({"tls_cert_file": self.certs.client["cert"]}, "tls_key_file"),
                ({"tls_cert_file": self.certs.client["cert"], "tls_key_file": self.certs.server["key"]},
                 "tls_key_file"),
                ({"redis_url": f'"redis://127.0.0.1:{server.port}"'}, "rediss://"),
                ({"tls_skip_verify": "true"}, "tls_skip_verify")):
            with self.subTest(expected=expected):
                self.refused(self.node(server, **options), expected)


class Unverified(RedisTlsTest):
    def test_skipping_verification_is_explicit_and_warned_at_every_start(self):
        server = self.server(self.certs.elsewhere)
        for _ in range(2):
            node = self.node(server, tls_ca_file=None, tls_skip_verify="true").start()
            node.client().set_user_context("u1", user_context("u1", "AT-insecure", refresh="RT-tls"))
            node.stop()
            self.assertIn("CERTIFICATE VERIFICATION IS OFF", node.log())


if __name__ == "__main__":
    unittest.main()
