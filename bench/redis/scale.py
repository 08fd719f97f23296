"""Scale on one Redis (issue 15 item 6): PROCESSES tokend processes share USERS
users stored together (the same expires_at: the worst case, a herd in waiting)
and a provider of the script's own that counts refreshes per grant. One
refresh cycle is run to its end and the script reports
- refreshes per grant across the processes (exactly one is right),
- how the refreshes spread over time (per-second counts: max against mean),
- the cache coherence time: set_user_context on one process, the time until
  another answers get_token with the new token (p50/p99 of SAMPLES writes).
Token lifetime LIFETIME s; refresh window 0.4 x LIFETIME (refresh.jitter 0.4).
Usage: python3 bench/redis/scale.py --build build --users 100000 --lifetime 600"""

import argparse
import json
import os
import random
import statistics
import sys
import threading
import time
import urllib.parse
from collections import Counter
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))


class CountingProvider:
    """The token endpoint only: refresh_token grants, counted per grant. The
    refresh token names its grant (RT.<user>.<n>) and rotates at each refresh;
    the new access token lives long, so each grant is due once in the run."""

    def __init__(self):
        self.lock = threading.Lock()
        self.per_grant = Counter()
        self.per_token = Counter()  # (grant, n): the same refresh token used twice
        self.times = []
        self.refused = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                form = urllib.parse.parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                token = form.get("refresh_token", [""])[0]
                parts = token.split(".")
                if form.get("grant_type") != ["refresh_token"] or len(parts) != 3 or parts[0] != "RT":
                    with provider.lock:
                        provider.refused += 1
                    self.reply(400, {"error": "invalid_grant"})
                    return
                user, n = parts[1], int(parts[2])
                with provider.lock:
                    provider.per_grant[user] += 1
                    provider.per_token[(user, n)] += 1
                    provider.times.append(time.monotonic())
                self.reply(200, {"access_token": f"AT.{user}.{n + 1}", "expires_in": 86400,
                                 "refresh_token": f"RT.{user}.{n + 1}", "refresh_token_expires_in": 7776000,
                                 "token_type": "Bearer", "scope": "spark:all"})

            def reply(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


def fill(redis, users, expires_at):
    """USERS contexts in the original's layout, all expiring at expires_at."""
    refresh_expires = (datetime.now(timezone.utc) + timedelta(days=80)).isoformat()
    with redis.client() as client:
        for start in range(0, users, 1000):
            batch = range(start, min(users, start + 1000))
            for i in batch:
                context = {"user_id": f"u{i}", "tokens": {
                    "access_token": f"AT.u{i}.0", "expires_at": expires_at, "refresh_token": f"RT.u{i}.0",
                    "refresh_token_expires_at": refresh_expires, "token_type": "Bearer", "scope": "spark:all"}}
                client.send("SET", f"user-u{i}", json.dumps(context))
                client.send("SADD", "users", f"user-u{i}")
            for _ in range(2 * len(batch)):
                client.read_reply()


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def coherence(nodes, samples):
    """set_user_context on one process; ms until another serves the new token."""
    from harness import user_context
    took = []
    clients = [node.client() for node in nodes]
    for sample in range(samples):
        writer, reader = random.sample(range(len(nodes)), 2)
        user = f"coherence-{sample}"
        clients[writer].set_user_context(user, user_context(user, f"AT-c{sample}", expires_in=86400))
        written = time.monotonic()
        deadline = written + 30
        while time.monotonic() < deadline:
            try:
                if clients[reader].get_token(user)["access_token"] == f"AT-c{sample}":
                    break
            except Exception:  # not_found until the change arrives
                pass
        else:
            raise RuntimeError(f"process {reader} never saw {user}")
        took.append((time.monotonic() - written) * 1000)
    return took


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--users", type=int, default=100000)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--lifetime", type=int, default=600, help="access token lifetime at the start, s")
    parser.add_argument("--rate", type=int, default=200, help="refresh.rate per process")
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--keep-logs", help="write each process's log to this path .0, .1, ...")
    args = parser.parse_args()
    build = os.path.abspath(args.build)
    os.environ.setdefault("TOKEND_BIN", os.path.join(build, "daemon", "tokend"))
    os.environ.setdefault("TOKEND_PLUGIN_DIR", os.path.join(build, "plugins"))
    from harness import Tokend
    from redis_server import RedisServer

    print(f"load average at start: {os.getloadavg()}", file=sys.stderr)
    provider = CountingProvider()
    redis = RedisServer().start()
    nodes = []
    try:
        lifetime = args.lifetime
        started = time.monotonic()
        expires_at = (datetime.now(timezone.utc) + timedelta(seconds=lifetime)).isoformat()
        fill(redis, args.users, expires_at)
        # Refresh 0.1 to 0.5 of the lifetime before expiry, spread by the jitter.
        refresh = (f"refresh:\n  margin: {lifetime // 10}\n  fraction: 0\n  jitter: 0.4\n"
                   f"  read_margin: 1\n  rate: {args.rate}\n  burst: {max(1, args.rate // 10)}\n"
                   f"  max_concurrent: 8\n")
        for _ in range(args.processes):
            nodes.append(Tokend(provider, store="redis", extra_config=refresh,
                                store_options={"redis_url": f'"{redis.unix_url}"'}).start(timeout=600))
        loaded = time.monotonic()
        print(f"{args.users} users filled and {args.processes} processes up in {loaded - started:.1f} s",
              file=sys.stderr)
        took = coherence(nodes, args.samples)
        # The cycle: every grant due before lifetime - margin; wait for all of them.
        deadline = started + lifetime + 120
        while time.monotonic() < deadline and len(provider.per_grant) < args.users:
            time.sleep(1)
        time.sleep(5)  # duplicates would come now: none should
        counts = Counter(provider.per_grant.values())
        per_second = Counter(int(t - started) for t in provider.times)
        window = (max(per_second) - min(per_second) + 1) if per_second else 0
        mean = len(provider.times) / window if window else 0
        print(f"load average at end: {os.getloadavg()}")
        print(f"users {args.users}, processes {args.processes}, lifetime {lifetime} s")
        print(f"grants refreshed: {len(provider.per_grant)} of {args.users}; refreshes per grant: "
              f"{dict(sorted(counts.items()))}; refused {provider.refused}")
        if per_second:
            print(f"refreshes from {min(per_second)} s to {max(per_second)} s after the start: "
                  f"mean {mean:.1f}/s, max {max(per_second.values())}/s (max/mean {max(per_second.values()) / mean:.2f})")
            buckets = Counter((s - min(per_second)) * 10 // window for s in per_second.elements())
            print("histogram (tenths of the window): " + " ".join(str(buckets[i]) for i in range(10)))
        print(f"coherence over {len(took)} writes: p50 {percentile(took, 0.5):.1f} ms, "
              f"p99 {percentile(took, 0.99):.1f} ms, max {max(took):.1f} ms")
        reused = sum(1 for count in provider.per_token.values() if count > 1)
        print(f"refresh tokens used more than once: {reused} (a rotating provider refuses the second use)")
        logs = [node.log() for node in nodes]
        print(f"refreshes per process: {[log.count('token refreshed') for log in logs]}")
        for what in ("another process refreshed", "lease lapsed", "another process is refreshing",
                     "could not be stored", "adopted"):
            print(f"log lines '{what}': {sum(log.count(what) for log in logs)}")
        if args.keep_logs:
            for i, log in enumerate(logs):
                with open(f"{args.keep_logs}.{i}", "w") as f:
                    f.write(log)
    finally:
        for node in nodes:
            node.stop()
            node.close()
        redis.stop()
        provider.stop()


if __name__ == "__main__":
    main()
