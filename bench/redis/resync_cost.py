"""What the periodic resync of a shared store (store.resync_interval) costs:
one redis-server filled with USERS contexts in the original's layout, tokend
on it twice in one run: with the periodic resync off (the baseline) and with it
every second. For each: get_token latency of one closed-loop client
(control_load, p50 and p99), peak resident memory, and the resync's own time
from tokend's log. Medians of ROUNDS rounds.
Usage: python3 bench/redis/resync_cost.py [--build build] [--users 100000] [--rounds 3] [--seconds 6]
"""

import argparse
import os
import re
import shutil
import statistics
import tempfile

from redis_bench import RedisServer, cold_start, control_load, fill, stop, write_config


def memory_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(field + " not found")


def one_round(build, work, redis, interval, seconds):
    config = write_config(work, redis, "", name=f"tokend-{interval}.yml", level="debug",
                          store_settings=f"  resync_interval: {interval}\n")
    log_path = os.path.join(work, f"tokend-{interval}.log")
    with open(log_path, "w") as log:
        _, _, daemon = cold_start(build, config, os.path.join(work, "run", "tokend.sock"), "bench-0", log)
    try:
        loaded_kib = memory_kib(daemon.pid, "VmRSS")
        load = control_load(build, os.path.join(work, "run", "tokend.sock"), 1, seconds, "bench-0")
        peak_kib = memory_kib(daemon.pid, "VmHWM")
    finally:
        stop(daemon)
    with open(log_path) as f:
        took = [int(m) for m in re.findall(r"store resync \(periodic\): .* \((\d+) ms\)", f.read())]
    return {"p50": load["p50_us"], "p99": load["p99_us"], "loaded_kib": loaded_kib, "peak_kib": peak_kib,
            "resync_ms": took}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--users", type=int, default=100000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=6)
    args = parser.parse_args()
    build = os.path.abspath(args.build)
    work = tempfile.mkdtemp(prefix="tokend-resync-bench-")
    redis = RedisServer().start()
    try:
        fill(redis, args.users)
        rows = {0: [], 1: []}
        for _ in range(args.rounds):
            for interval in (0, 1):
                rows[interval].append(one_round(build, work, redis, interval, args.seconds))
    finally:
        redis.stop()
        shutil.rmtree(work, ignore_errors=True)

    def med(interval, key):
        return statistics.median(r[key] for r in rows[interval])

    print(f"{args.users} users, {args.rounds} rounds of {args.seconds} s, medians")
    for interval, name in ((0, "resync off"), (1, "resync every 1 s")):
        print(f"{name:>17}: get_token p50 {med(interval, 'p50'):.1f} us, p99 {med(interval, 'p99'):.1f} us, "
              f"RSS after load {med(interval, 'loaded_kib') / 1024:.0f} MiB, peak {med(interval, 'peak_kib') / 1024:.0f} MiB")
    passes = [ms for r in rows[1] for ms in r["resync_ms"]]
    if passes:
        print(f"resync passes: {len(passes)}, median {statistics.median(passes)} ms "
              f"({statistics.median(passes) * 1000.0 / args.users:.1f} us a user)")
    print(f"p99 with resync / without: {med(1, 'p99') / med(0, 'p99'):.2f}x; "
          f"extra peak memory: {(med(1, 'peak_kib') - med(0, 'peak_kib')) * 1024 / args.users:.0f} bytes a user")


if __name__ == "__main__":
    main()
