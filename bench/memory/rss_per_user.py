#!/usr/bin/env python3
"""Resident memory of the tokend daemon per stored user.

Starts tokend on the memory store (no disk in the way), reads its VmRSS, sets N
users' contexts over the control socket (pipelined, 1,000 requests a batch),
waits for the schedule to hold them all, and reads VmRSS again. Reports bytes
per user beside the size of one user's JSON. The memory store keeps its own
copy of every value, so the figure is tokend's cache and schedule plus the
store's copy: the daemon as it would run with an in-process store.

With --redis, the same N contexts (the original's json.dumps layout) are put
in a redis-server of the script's own (Unix socket) and tokend starts on the
redis store, which keeps nothing in-process: VmRSS once it answers get_token
(the cache and schedule built), against the same daemon started on an empty
key prefix; the start-up time to that first answer is reported too, with the
CPU time tokend had used by then (steadier than the wall clock under load).
With --baseline OTHER_BUILD, every measurement is also made with that build,
in the same run (e.g. a copy of main's build).

Usage: bench/memory/rss_per_user.py [--redis] [--baseline DIR] BUILD_DIR N [N...]   (e.g. build 100000 1000000)
With SUMMARY set in the environment, appends JSON lines for bench/run.sh.
"""

import datetime
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "redis"))
from redis_bench import cold_start, stop, write_config  # noqa: E402
from redis_server import RedisServer  # noqa: E402

BATCH = 1000


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def context(i, expires):
    # Webex-sized tokens (about 100 characters each) and ids.
    user_id = f"Y2lzY29zcGFyazovL3VzL1BFT1BMRS8{i:012d}"
    token = f"{i:012d}" + "NjE3ZGFjNzgtNDdmOC00OTBlLWFjZTgtYTBiNmE5YmM0NDk5ZGY1ZDk4MTItOTVk_PF84_1eb65fdf-9643"
    return user_id, {"user_id": user_id,
                     "tokens": {"access_token": "A" + token, "expires_at": expires,
                                "refresh_token": "R" + token, "refresh_token_expires_at": expires,
                                "token_type": "Bearer", "scope": "spark:people_read spark:messages_write"}}


def measure(build, users):
    work = tempfile.mkdtemp(prefix="tokend-rss-")
    with open(os.path.join(work, "tokend.yml"), "w") as f:
        f.write(f"state_dir: {work}/state\nruntime_dir: {work}/run\nlog: {{level: warn}}\n"
                f"store: {{plugin: memory}}\nhttp: {{listen: 127.0.0.1:0}}\n")
    daemon = subprocess.Popen([os.path.join(build, "daemon", "tokend"), "-c", os.path.join(work, "tokend.yml"),
                               "--plugin-dir", os.path.join(build, "plugins")],
                              stderr=open(os.path.join(work, "tokend.log"), "w"))
    path = os.path.join(work, "run", "tokend.sock")
    try:
        for _ in range(200):
            if os.path.exists(path):
                break
            time.sleep(0.05)
        sock = socket.socket(socket.AF_UNIX)
        sock.connect(path)
        reader = sock.makefile("rb")
        time.sleep(0.5)
        before = rss_bytes(daemon.pid)
        expires = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=10)).isoformat()
        json_bytes = 0
        started = time.monotonic()
        for first in range(0, users, BATCH):
            lines = []
            for i in range(first, min(first + BATCH, users)):
                user_id, value = context(i, expires)
                json_bytes += len(json.dumps(value, separators=(",", ":")))
                lines.append(json.dumps({"op": "set_user_context", "user_id": user_id, "user_context": value}))
            sock.sendall(("\n".join(lines) + "\n").encode())
            for _ in lines:
                answer = json.loads(reader.readline())
                if not answer.get("ok"):
                    raise RuntimeError(answer)
        loaded = time.monotonic() - started
        sock.sendall(b'{"op":"stats"}\n')
        stats = json.loads(reader.readline())["result"]
        assert stats["users"] == users and stats["refreshes"]["scheduled"] == users, stats
        time.sleep(0.5)
        after = rss_bytes(daemon.pid)
        return {"users": users, "rss_before": before, "rss_after": after,
                "bytes_per_user": round((after - before) / users), "json_bytes_per_user": round(json_bytes / users),
                "load_seconds": round(loaded, 1)}
    finally:
        daemon.terminate()
        daemon.wait()


def cpu_seconds(pid):
    """User + system CPU time the process has used: on a loaded machine, steadier than the wall clock."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fill_redis(redis, users, expires):
    """SETs user-{id} to the context as the original wrote it (json.dumps), and SADDs the id; JSON bytes a user."""
    json_bytes = 0
    with redis.client() as client:
        for first in range(0, users, BATCH):
            batch = range(first, min(first + BATCH, users))
            for i in batch:
                user_id, value = context(i, expires)
                text = json.dumps(value)
                json_bytes += len(text)
                client.send("SET", f"user-{user_id}", text)
                client.send("SADD", "users", f"user-{user_id}")
            for _ in range(2 * len(batch)):
                client.read_reply()
    return round(json_bytes / users)


def measure_redis(build, redis, users, json_bytes):
    work = tempfile.mkdtemp(prefix="tokend-rss-redis-")
    first_user = context(0, "")[0]
    rss = {}
    took = 0.0
    cpu = 0.0
    for prefix in ("empty:", ""):
        config = write_config(work, redis, prefix)
        seconds, _, daemon = cold_start(build, config, f"{work}/run/tokend.sock", first_user)
        try:
            time.sleep(0.5)
            rss[prefix] = rss_bytes(daemon.pid)
            took = seconds
            cpu = cpu_seconds(daemon.pid)
        finally:
            stop(daemon)
    return {"users": users, "store": "redis", "rss_empty": rss["empty:"], "rss_after": rss[""],
            "bytes_per_user": round((rss[""] - rss["empty:"]) / users), "json_bytes_per_user": json_bytes,
            "ready_seconds": round(took, 2), "cpu_seconds_at_ready": round(cpu, 2)}


def report(result, label):
    print(json.dumps(dict(result, build=label)), flush=True)
    if os.environ.get("SUMMARY"):
        store = result.get("store", "memory")
        goal = "<= 600 B" if store == "redis" else "<= 1,100 B"
        with open(os.environ["SUMMARY"], "a") as f:
            f.write(json.dumps({"part": "memory",
                                "what": f"resident memory a user, {result['users']:,} users, {store} store ({label})",
                                "tokend": f"{result['bytes_per_user']:,} B",
                                "floor": f"{result['json_bytes_per_user']} B (its JSON)",
                                "ratio": result["bytes_per_user"] / result["json_bytes_per_user"],
                                "goal": goal}) + "\n")


def main():
    args = sys.argv[1:]
    use_redis = "--redis" in args
    if use_redis:
        args.remove("--redis")
    baseline = None
    if "--baseline" in args:
        at = args.index("--baseline")
        baseline = args[at + 1]
        del args[at:at + 2]
    if len(args) < 2:
        sys.exit(__doc__)
    builds = [(args[0], "build")] + ([(baseline, "baseline")] if baseline else [])
    for users in map(int, args[1:]):
        if not use_redis:
            for build, label in builds:
                report(measure(build, users), label)
            continue
        with RedisServer() as redis:
            expires = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=10)).isoformat()
            json_bytes = fill_redis(redis, users, expires)
            for build, label in builds:
                report(measure_redis(build, redis, users, json_bytes), label)


if __name__ == "__main__":
    main()
