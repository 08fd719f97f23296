"""GET /redirect against each kind of store (issue 16): a store that can say at
once that a flow is absent (memory, yaml: store ABI 1.4's absent_now) answers an
unknown or used state on tokend's loop, without a take; redis, which cannot,
takes on a worker as before. Either way unknown, used and malformed states get
the 404 page, a real flow completes once, and of fifty concurrent redirects of
one flow exactly one wins. The store's take calls are counted at /metrics."""

import concurrent.futures
import os
import re
import sys
import unittest

from harness import ROOT, Tokend, http_get, start_fake

sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
from redis_server import RedisServer  # noqa: E402

UNKNOWN = "code=c&state=" + "A" * 32
MALFORMED = "code=c&state=not%20a%20flow%21"


class RedirectAgainstAStore:
    """The checks, for a subclass that sets `store` and `inline` and may start a backend."""

    store = None
    inline = None
    store_options = None

    def setUp(self):
        self.fake = start_fake()
        self.addCleanup(self.fake.stop)
        self.tokend = Tokend(self.fake, store=self.store, store_options=self.store_options,
                             extra_config="metrics:\n  listen: 127.0.0.1:0\n")
        self.addCleanup(self.tokend.close)
        self.tokend.start()
        self.metrics_port = int(re.search(r"metrics listening on http://127\.0\.0\.1:(\d+)/metrics",
                                          self.tokend.log()).group(1))

    def takes(self):
        """The store's take calls so far (0 before the first)."""
        status, _, text = http_get(self.metrics_port, "/metrics")
        self.assertEqual(status, 200)
        match = re.search(r'^tokend_store_operation_duration_seconds_count\{operation="take"\} (\S+)$', text, re.M)
        return int(float(match.group(1))) if match else 0

    def expect_unknown_page(self, query):
        status, headers, body = self.tokend.redirect(query)
        self.assertEqual(status, 404, body)
        self.assertIn("Unknown or used link", body)
        self.assertEqual(headers.get("Cache-Control"), "no-store")
        self.assertEqual(headers.get("Referrer-Policy"), "no-referrer")

    def test_unknown_used_and_malformed_states_and_a_real_flow(self):
        before = self.takes()
        for _ in range(3):
            self.expect_unknown_page(UNKNOWN)
        self.assertEqual(self.takes() - before, 0 if self.inline else 3, "unknown state")

        before = self.takes()
        for _ in range(3):
            self.expect_unknown_page(MALFORMED)
        self.assertEqual(self.takes() - before, 0, "a malformed state never reaches the store")

        flow, query, (status, _, body) = self.tokend.complete_flow("alice")
        self.assertEqual(status, 200, body)
        self.assertIn("Authenticated", body)
        self.assertTrue(self.tokend.client().get_token("alice")["access_token"])

        before = self.takes()
        for _ in range(3):
            self.expect_unknown_page(query)  # the same link again: used
        self.assertEqual(self.takes() - before, 0 if self.inline else 3, "used state")
        stats = self.tokend.client().stats()
        self.assertEqual(stats["redirects"]["unknown_flow"], 9)
        self.assertEqual(stats["redirects"]["authenticated"], 1)

    def test_of_fifty_concurrent_redirects_of_one_flow_one_wins(self):
        flow = self.tokend.client().start_flow("bob")
        query = self.tokend.authorize(flow["auth_url"], {"user_id": "bob"})
        with concurrent.futures.ThreadPoolExecutor(50) as pool:
            statuses = list(pool.map(lambda _: self.tokend.redirect(query)[0], range(50)))
        self.assertEqual(statuses.count(200), 1, statuses)
        self.assertEqual(statuses.count(404), 49, statuses)
        counts = self.fake.state()["token_requests"].get("authorization_code", {})
        self.assertEqual(sum(counts.values()), 1)


class Memory(RedirectAgainstAStore, unittest.TestCase):
    store = "memory"
    inline = True


class Yaml(RedirectAgainstAStore, unittest.TestCase):
    store = "yaml"
    inline = True


class Redis(RedirectAgainstAStore, unittest.TestCase):
    store = "redis"
    inline = False

    def setUp(self):
        self.redis = RedisServer().start()
        self.addCleanup(self.redis.stop)
        self.store_options = {"redis_url": f'"{self.redis.unix_url}"'}
        super().setUp()


if __name__ == "__main__":
    unittest.main()
