"""AsyncTokendClient against the real daemon: every operation, concurrency
without one lock, reconnects, watch() resubscribing after a restart, and a
small aiohttp app that serves tokens through it."""

import asyncio
import shutil
import tempfile
import unittest
import urllib.parse

from pyharness import ScriptedServer, Tokend, patient_tokend, successor, context_json, start_fake, stop_and_check
from tokend_client import (AccessToken, AsyncTokendClient, Event, NotFoundError, OutcomeUnknownError, RetryPolicy,
                          Stats, Tokens, UserContext)
from tokend_client._wire import closed_by_peer


async def eventually(predicate, timeout=10.0, what="the condition"):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{what} did not happen within {timeout} s")


class AsyncCase(unittest.IsolatedAsyncioTestCase):
    extra_config = ""

    def setUp(self):
        self.fake = start_fake()
        self.tokend = Tokend(self.fake, extra_config=self.extra_config).start()

    def tearDown(self):
        stop_and_check(self)

    async def asyncSetUp(self):
        self.client = AsyncTokendClient(self.tokend.socket, timeout=20)

    async def asyncTearDown(self):
        await self.client.close()


class Operations(AsyncCase):
    async def test_every_operation(self):
        client = self.client
        self.assertEqual((await client.ping()).protocol, 1)
        flow = await client.start_flow("alice")
        query = urllib.parse.parse_qs(await asyncio.to_thread(self.tokend.authorize, flow.auth_url,
                                                              {"user_id": "alice"}))
        result = await client.process_redirect(query["state"][0], query["code"][0])
        self.assertTrue(result.authenticated, result)
        token = await client.get_token("alice")
        self.assertIsInstance(token, AccessToken)
        refreshed = await client.refresh("alice")
        self.assertNotEqual(refreshed.access_token, token.access_token)
        context = await client.get_user_context("alice", refresh=True)
        self.assertEqual(context.tokens.access_token, refreshed.access_token)

        await client.set_user_context("u1", UserContext(user_id="u1", tokens=Tokens(access_token="A1", expires_in=600)))
        self.assertEqual((await client.get_token("u1")).access_token, "A1")
        self.assertEqual(len((await client.list_users(limit=1)).users), 1)
        self.assertEqual(sorted([u async for u in client.all_users(page_size=1)]), ["alice", "u1"])
        for _ in range(1000):  # a sweep of tokend's own may be running: then ran is false
            if (await client.flow_maintenance(force=True)).ran:
                break
            await asyncio.sleep(0.01)
        else:
            self.fail("no forced sweep ran")
        stats = await client.stats()
        self.assertIsInstance(stats, Stats)
        self.assertEqual(stats.flows.completed, 1)
        status = await client.grant_status("u1")
        self.assertEqual((status.context, status.access_token_valid, status.reauth_required), (True, True, False))
        signed_out = await client.sign_out("u1")
        self.assertEqual((signed_out.cleared, signed_out.revocation), (True, "not_supported"))
        self.assertFalse((await client.grant_status("u1")).context)
        self.assertFalse(await client.clear_user_context("u1"))
        with self.assertRaises(NotFoundError):
            await client.get_token("u1")
        self.assertEqual(client.json.connections_opened, 1, "one connection for sequential calls")

    async def test_concurrent_calls_share_a_bounded_pool(self):
        await self.client.set_user_context("u1", context_json("u1", access="A1"))
        answers = await asyncio.gather(*(self.client.get_token("u1") for _ in range(64)))
        self.assertEqual({a.access_token for a in answers}, {"A1"})
        self.assertLessEqual(self.client.json.connections_opened, 8)



class SlowProvider(AsyncCase):
    def setUp(self):
        self.fake = start_fake()
        self.tokend = patient_tokend(self.fake).start()

    async def test_a_slow_call_does_not_hold_up_others(self):
        tokens = self.fake.issue_tokens("alice")
        # Inside the read margin, and the provider answers the refresh only after 6 s.
        await self.client.set_user_context("alice", context_json("alice", access=tokens["access_token"],
                                                                 expires_in=60, refresh=tokens["refresh_token"]))
        self.fake.add_faults("access_token", [{"delay": 6}])
        slow = asyncio.create_task(self.client.get_token("alice"))

        async def refreshing():
            return (await self.client.stats()).refreshes.in_flight == 1
        await eventually(refreshing, what="the slow refresh")
        self.assertEqual((await self.client.ping()).protocol, 1)
        self.assertFalse(slow.done(), "the ping did not wait for the slow call")
        self.assertNotEqual((await slow).access_token, tokens["access_token"])
        self.assertGreaterEqual(self.client.json.connections_opened, 2)


class IdleTimeout(AsyncCase):
    extra_config = "control:\n  idle_timeout_ms: 300\n"

    async def test_a_call_after_the_idle_timeout_reconnects(self):
        await self.client.set_user_context("u1", context_json("u1", access="A1"))
        sock = self.client.json._idle[0].sock

        async def closed():
            return closed_by_peer(sock)
        await eventually(closed, what="tokend's idle timeout")
        self.assertEqual((await self.client.get_token("u1")).access_token, "A1")
        self.assertTrue((await self.client.start_flow("alice")).flow_id)
        self.assertEqual((await self.client.stats()).flows.started, 1)
        self.assertEqual(self.client.json.connections_opened, 2)


class WatchAcrossRestart(unittest.IsolatedAsyncioTestCase):
    def setUp(self):
        self.fake = start_fake()
        self.addCleanup(self.fake.stop)
        self.first = Tokend(self.fake).start()
        self.addCleanup(self.first.close)

    async def test_watch_resubscribes_after_a_restart(self):
        client = AsyncTokendClient(self.first.socket, retry=RetryPolicy(window=30.0, max_delay=0.2))
        writer = AsyncTokendClient(self.first.socket, retry=RetryPolicy(window=30.0, max_delay=0.2))
        events = []

        async def watch():
            async for event in client.watch("u1"):
                self.assertIsInstance(event, Event)
                events.append(event.event)

        watching = asyncio.create_task(watch())

        async def watchers(n):
            return (await writer.stats()).watchers == n
        await eventually(lambda: watchers(1), what="the watcher")
        await writer.set_user_context("u1", context_json("u1"))
        await eventually(lambda: asyncio.sleep(0, events == ["context_set"]), what="the first event")

        self.assertEqual(await asyncio.to_thread(self.first.stop), 0)
        second = successor(self.first)
        self.addCleanup(second.close)
        await asyncio.to_thread(second.start)
        await eventually(lambda: watchers(1), what="the watcher, again")
        await writer.set_user_context("u1", None)
        await eventually(lambda: asyncio.sleep(0, events == ["context_set", "resubscribed", "context_cleared"]),
                         what="the events after the restart")
        await client.close()
        await asyncio.wait_for(watching, 10)
        await writer.close()


class UnknownOutcome(unittest.IsolatedAsyncioTestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tokend-py-", dir="/tmp")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    async def test_start_flow_raises_and_a_read_is_repeated(self):
        server = ScriptedServer(self.dir, ["drop", "drop", "answer"])
        self.addCleanup(server.close)
        client = AsyncTokendClient(server.path)
        with self.assertRaises(OutcomeUnknownError) as raised:
            await client.start_flow("alice")
        self.assertIn("start_flow may or may not have happened", str(raised.exception))
        self.assertEqual((await client.ping()).version, "scripted")
        self.assertEqual([r["op"] for r in server.requests], ["start_flow", "ping", "ping"])
        await client.close()


class Aiohttp(AsyncCase):
    """A bot's web app on aiohttp: handlers await the client; one client for the app."""

    async def test_an_aiohttp_app_serves_tokens_through_the_client(self):
        from aiohttp import ClientSession, web

        async def token(request):
            try:
                result = await request.app["tokend"].get_token(request.match_info["user"])
            except NotFoundError:
                return web.json_response({"error": "no token"}, status=404)
            return web.json_response({"user": result.user_id, "remaining": result.remaining})

        async def close_tokend(app):
            await app["tokend"].close()

        app = web.Application()
        app["tokend"] = AsyncTokendClient(self.tokend.socket)
        app.router.add_get("/token/{user}", token)
        app.on_cleanup.append(close_tokend)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        try:
            await self.client.set_user_context("alice", context_json("alice", expires_in=3600))
            async with ClientSession() as session:
                async def get(user):
                    async with session.get(f"http://127.0.0.1:{port}/token/{user}") as response:
                        return response.status, await response.json()
                answers = await asyncio.gather(*(get("alice") for _ in range(20)), get("nobody"))
        finally:
            await runner.cleanup()
        for status, body in answers[:-1]:
            self.assertEqual(status, 200)
            self.assertEqual(body["user"], "alice")
            self.assertGreater(body["remaining"], 3500)
        self.assertEqual(answers[-1][0], 404)


if __name__ == "__main__":
    unittest.main()
