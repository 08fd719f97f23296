#!/usr/bin/env python3
"""get_token p50 through the clients, beside a raw Unix-socket round trip
measured in the same run: the clients' own overhead.

Starts tokend (the build's binary, memory store) with one fresh user, then
runs ROUNDS rounds; each round measures COUNT sequential get_token calls per
way in turn: raw (a blocking socket, one request line out, one answer line
in), TokendClient (sync), AsyncTokendClient (asyncio), and the Node client
(node bench/clients/node_get_token.mjs) when node and sdk/node exist. Each
way's figure is the median over the rounds of each round's p50.

    bench/clients/get_token_p50.py [--build build] [--rounds 7] [--count 2000] [--json] [--node-script PATH]
"""

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "sdk", "python"))

USER = "bench-user"


def p50(samples):
    return statistics.median(samples)


def raw_round(path, count):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    reader = sock.makefile("rb")
    request = (json.dumps({"id": 1, "op": "get_token", "user_id": USER}) + "\n").encode()
    samples = []
    try:
        for _ in range(count):
            start = time.perf_counter_ns()
            sock.sendall(request)
            line = reader.readline()
            samples.append(time.perf_counter_ns() - start)
            if b'"ok":true' not in line:
                raise RuntimeError("raw get_token failed")
    finally:
        reader.close()
        sock.close()
    return p50(samples) / 1000


def sync_round(client, count):
    samples = []
    for _ in range(count):
        start = time.perf_counter_ns()
        client.get_token(USER)
        samples.append(time.perf_counter_ns() - start)
    return p50(samples) / 1000


async def async_round(client, count):
    samples = []
    for _ in range(count):
        start = time.perf_counter_ns()
        await client.get_token(USER)
        samples.append(time.perf_counter_ns() - start)
    return p50(samples) / 1000


def node_round(script, path, count):
    done = subprocess.run(["node", script, "--socket", path, "--user", USER,
                           "--count", str(count)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"node_get_token.mjs failed: {done.stderr.strip()}")
    return float(json.loads(done.stdout.strip().splitlines()[-1])["p50_us"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--json", action="store_true", help="one JSON line instead of the table")
    parser.add_argument("--node-script", default=os.path.join(HERE, "node_get_token.mjs"),
                        help="the Node client's benchmark (default: beside this script; it uses ../../sdk/node)")
    args = parser.parse_args()
    os.environ.setdefault("TOKEND_BIN", os.path.join(args.build, "daemon", "tokend"))
    os.environ.setdefault("TOKEND_PLUGIN_DIR", os.path.join(args.build, "plugins"))

    import harness  # after TOKEND_BIN is set
    from tokend_client import AsyncTokendClient, TokendClient

    node_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(args.node_script))))
    has_node = (shutil.which("node") is not None and os.path.isdir(os.path.join(node_root, "sdk", "node"))
                and os.path.exists(args.node_script))
    tokend = harness.Tokend(store="memory")
    with open(tokend.config_path) as f:
        config = f.read()
    with open(tokend.config_path, "w") as f:  # no debug line per request
        f.write(config.replace("level: debug", "level: info"))
    tokend.start()
    try:
        expires = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() + 7 * 86400))
        sync_client = TokendClient(tokend.socket)
        sync_client.set_user_context(USER, {"user_id": USER, "tokens": {
            "access_token": "bench-access-token-" + "x" * 100, "expires_at": expires, "token_type": "Bearer",
            "scope": "spark:all"}})
        loop = asyncio.new_event_loop()
        async_client = AsyncTokendClient(tokend.socket)
        rounds = {"raw": [], "sync": [], "async": []}
        if has_node:
            rounds["node"] = []
        raw_round(tokend.socket, 200)  # warm-up, not counted
        sync_round(sync_client, 200)
        loop.run_until_complete(async_round(async_client, 200))
        for _ in range(args.rounds):
            rounds["raw"].append(raw_round(tokend.socket, args.count))
            rounds["sync"].append(sync_round(sync_client, args.count))
            rounds["async"].append(loop.run_until_complete(async_round(async_client, args.count)))
            if has_node:
                rounds["node"].append(node_round(args.node_script, tokend.socket, args.count))
        loop.run_until_complete(async_client.close())
        loop.close()
        sync_client.close()
    finally:
        tokend.close()

    figures = {way: statistics.median(values) for way, values in rounds.items()}
    report = {way: {"p50_us": round(value, 1), "ratio": round(value / figures["raw"], 2)}
              for way, value in figures.items()}
    report["rounds"], report["count"] = args.rounds, args.count
    if not has_node:
        report["node"] = "skipped (no node, sdk/node or bench/clients/node_get_token.mjs)"
    if args.json:
        print(json.dumps(report))
        return
    print(f"get_token p50, median of {args.rounds} rounds x {args.count} calls (memory store, one user)")
    print("| way | p50 | vs raw socket |")
    print("| --- | --- | --- |")
    for way in ("raw", "sync", "async", "node"):
        if way in figures:
            print(f"| {way} | {figures[way]:.1f} us | {figures[way] / figures['raw']:.2f}x |")
    if not has_node:
        print(report["node"])


if __name__ == "__main__":
    main()
