#!/usr/bin/env python3
"""Start-up of tokend with many users, against its own empty start in the same
run: from exec to the first get_token answered, medians of ROUNDS.

- redis: one redis-server of the script's own (Unix socket) holding N contexts
  of ~700 bytes in the original's layout (bench/redis's helpers fill it).
- yaml: a users.yml of N users in the original's format (PyYAML's block
  style, as YAMLTokenManager wrote it), on the yaml store.

Prints a table; with --summary FILE appends JSON lines for bench/run.sh.
Usage: bench/startup/startup.py [--build build] [--redis 10000,100000] [--yaml 100000] [--rounds 3]
"""

import argparse
import datetime
import json
import os
import shutil
import statistics
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench", "redis"))
from redis_bench import RedisServer, cold_start, fill, stop, write_config  # noqa: E402

TOKEN = "NjE3ZGFjNzgtNDdmOC00OTBlLWFjZTgtYTBiNmE5YmM0NDk5ZGY1ZDk4MTItOTVk_PF84_1eb65fdf-9643"


def yaml_users(path, users):
    """The original's users.yml: yaml.safe_dump of {user_id: context}, keys sorted, block style."""
    expires = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=10)).isoformat()
    with open(path, "w") as f:
        for i in range(users):
            uid = f"Y2lzY29zcGFyazovL3VzL1BFT1BMRS8{i:012d}"
            f.write(f"{uid}:\n  tokens:\n    access_token: A{i:012d}{TOKEN}\n    expires_at: '{expires}'\n"
                    f"    refresh_token: R{i:012d}{TOKEN}\n    refresh_token_expires_at: '{expires}'\n"
                    f"    scope: spark:people_read spark:messages_write\n    token_type: Bearer\n"
                    f"  user_id: {uid}\n")
    return os.path.getsize(path)


def timed_starts(build, config, sock, user, rounds):
    took = []
    for _ in range(rounds):
        seconds, answer, daemon = cold_start(build, config, sock, user)
        stop(daemon)
        took.append(seconds)
    return statistics.median(took)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--redis", default="10000,100000")
    parser.add_argument("--yaml", default="100000")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--summary")
    args = parser.parse_args()
    rows = []
    work = tempfile.mkdtemp(prefix="tokend-startup-")
    try:
        counts = [int(n) for n in args.redis.split(",") if n]
        if counts:
            with RedisServer() as redis:
                sock = f"{work}/run/tokend.sock"
                empty = timed_starts(args.build, write_config(work, redis, "empty:"), sock, "bench-0", args.rounds)
                filled = 0
                for users in sorted(counts):
                    if users > filled:
                        fill(redis, users)  # SETs of bench-0 .. bench-(users-1): the smaller set again, then more
                        filled = users
                    full = timed_starts(args.build, write_config(work, redis, ""), sock, "bench-0", args.rounds)
                    rows.append({"what": f"start-up, {users:,} users in Redis", "tokend": full, "floor": empty,
                                 "goal": 5.0 * users / 1e6 if users >= 100000 else None})
        for users in [int(n) for n in args.yaml.split(",") if n]:
            for n, label in ((0, "empty"), (users, "full")):
                ywork = os.path.join(work, f"yaml-{n}")
                os.makedirs(os.path.join(ywork, "state"))
                size = yaml_users(os.path.join(ywork, "state", "users.yml"), n)
                config = os.path.join(ywork, "tokend.yml")
                with open(config, "w") as f:
                    f.write(f"state_dir: {ywork}/state\nruntime_dir: {ywork}/run\nlog: {{level: warn}}\n"
                            f"http: {{listen: 127.0.0.1:0}}\n")
                user = "Y2lzY29zcGFyazovL3VzL1BFT1BMRS8000000000000"
                took = timed_starts(args.build, config, f"{ywork}/run/tokend.sock", user, args.rounds)
                if label == "empty":
                    empty = took
                else:
                    rows.append({"what": f"start-up, {users:,} users in YAML ({size / 1e6:.1f} MB)", "tokend": took,
                                 "floor": empty, "goal": 3.0 if users >= 100000 else None})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"start-up to the first get_token answered; medians of {args.rounds}; floor: the same store empty")
    for row in rows:
        goal = f"  (goal <= {row['goal']:.1f} s)" if row["goal"] else ""
        print(f"{row['what']}: {row['tokend']:.2f} s; empty {row['floor'] * 1000:.0f} ms{goal}")
    if args.summary:
        with open(args.summary, "a") as f:
            for row in rows:
                f.write(json.dumps({"part": "startup", "what": row["what"], "tokend": f"{row['tokend']:.2f} s",
                                    "floor": f"{row['floor'] * 1000:.0f} ms (empty)",
                                    "ratio": row["tokend"] / row["floor"],
                                    "goal": f"<= {row['goal']:.1f} s" if row["goal"] else ""}) + "\n")


if __name__ == "__main__":
    main()
