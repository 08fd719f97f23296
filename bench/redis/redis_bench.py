"""The driver of bench/redis/run.sh (see there). Starts its own redis-server
through tests/support/redis_server.py, fills it in the original's layout, and
measures tokend and redis-benchmark side by side."""

import argparse
import base64
import csv
import io
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
from redis_server import RedisServer  # noqa: E402


def context_json(user_id):
    """A user context as the original stored it, about 700 bytes (Webex-sized tokens)."""
    def token(n):
        return base64.urlsafe_b64encode(os.urandom(n)).decode().rstrip("=")
    expires = (datetime.now(timezone.utc) + timedelta(days=10)).isoformat()
    refresh_expires = (datetime.now(timezone.utc) + timedelta(days=80)).isoformat()
    return json.dumps({"user_id": user_id, "tokens": {
        "access_token": token(150), "expires_at": expires, "refresh_token": token(150),
        "refresh_token_expires_at": refresh_expires, "token_type": "Bearer",
        "scope": "spark:people_read spark:messages_write spark:rooms_read spark:memberships_read"}})


def fill(server, users):
    with server.client() as client:
        for start in range(0, users, 1000):
            batch = range(start, min(users, start + 1000))
            for i in batch:
                client.send("SET", f"user-bench-{i}", context_json(f"bench-{i}"))
                client.send("SADD", "users", f"user-bench-{i}")
            for _ in range(2 * len(batch)):
                client.read_reply()
    return len(context_json("bench-0"))


def write_config(work, redis, prefix, name=None, level="warn", store_settings=""):
    """store_settings: more lines of the store section, e.g. "  resync_interval: 1\n"."""
    path = os.path.join(work, name or f"tokend{prefix or ''}.yml")
    with open(path, "w") as f:
        f.write(f"state_dir: {work}/state\nruntime_dir: {work}/run\nlog: {{level: {level}}}\n"
                f"http: {{listen: 127.0.0.1:0}}\n"
                f"store:\n  plugin: redis\n{store_settings}  options:\n    redis_url: \"{redis.unix_url}\"\n"
                f"    key_prefix: \"{prefix}\"\n")
    return path


def ask(sock_path, user):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(sock_path)
        s.sendall(json.dumps({"op": "get_token", "user_id": user}).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return json.loads(data)


def cold_start(build, config, sock_path, user, log=subprocess.DEVNULL):
    """Seconds from exec to the first answer to get_token(user); the daemon then runs on."""
    if os.path.exists(sock_path):
        os.unlink(sock_path)
    start = time.monotonic()
    daemon = subprocess.Popen([f"{build}/daemon/tokend", "-c", config, "--plugin-dir", f"{build}/plugins"],
                              stdout=log, stderr=log)
    while True:
        try:
            answer = ask(sock_path, user)
            break
        except (FileNotFoundError, ConnectionRefusedError):
            if daemon.poll() is not None:
                raise RuntimeError("tokend exited during start")
            time.sleep(0.0005)
    return time.monotonic() - start, answer, daemon


def stop(daemon):
    daemon.terminate()
    daemon.wait(30)


def control_load(build, sock_path, clients, seconds, user):
    request = json.dumps({"op": "get_token", "user_id": user})
    out = subprocess.check_output([f"{build}/bench/control/control_load", "--socket", sock_path, "--request",
                                   request, "--clients", str(clients), "--seconds", str(seconds)])
    return json.loads(out)


def redis_benchmark(redis, clients, requests):
    out = subprocess.check_output(["redis-benchmark", "-s", redis.socket, "-t", "get", "-d", "700",
                                   "-c", str(clients), "-n", str(requests), "--csv"], text=True)
    row = list(csv.DictReader(io.StringIO(out)))[0]
    return {"rps": float(row["rps"]), "p50_us": float(row["p50_latency_ms"]) * 1000.0}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--users", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="tokend-bench-redis-", dir="/tmp")
    rows = []
    try:
        with RedisServer() as redis:
            size = fill(redis, args.users)
            # redis-benchmark SETs its own key:__rand_int__ keys first; GET reads them.
            subprocess.check_call(["redis-benchmark", "-s", redis.socket, "-t", "set", "-d", "700", "-n", "1000",
                                   "-q"], stdout=subprocess.DEVNULL)
            full = write_config(work, redis, "")
            empty = write_config(work, redis, "empty:")  # the same Redis, no users under this prefix
            sock_path = f"{work}/run/tokend.sock"
            for round_no in range(args.rounds):
                row = {}
                took, answer, daemon = cold_start(args.build, empty, sock_path, "bench-0")
                assert answer.get("error", {}).get("code") == "not_found", answer
                row["start_empty_s"] = took
                stop(daemon)
                took, answer, daemon = cold_start(args.build, full, sock_path, "bench-0")
                assert answer.get("ok", True) and "access_token" in json.dumps(answer), "no token in the answer"
                row["start_full_s"] = took
                # First reads of users nobody asked for yet (loaded at start: memory too).
                firsts = []
                for i in range(1, 1001):
                    t = time.monotonic()
                    ask(sock_path, f"bench-{i}")
                    firsts.append(time.monotonic() - t)
                row["first_read_p50_us"] = statistics.median(firsts) * 1e6
                for clients in (1, 8):
                    result = control_load(args.build, sock_path, clients, args.seconds, "bench-0")
                    row[f"tokend_{clients}"] = {"rps": result["rps"], "p50_us": result["p50_us"]}
                    row[f"redis_{clients}"] = redis_benchmark(redis, clients, int(20000 * args.seconds))
                stop(daemon)
                rows.append(row)
                print(f"round {round_no + 1}: {json.dumps(row)}", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def med(getter):
        return statistics.median(getter(r) for r in rows)
    print(f"{args.users} users of {size} bytes each in Redis (unix socket); medians of {args.rounds} rounds")
    for clients in (1, 8):
        t_rps, t_p50 = med(lambda r: r[f"tokend_{clients}"]["rps"]), med(lambda r: r[f"tokend_{clients}"]["p50_us"])
        r_rps, r_p50 = med(lambda r: r[f"redis_{clients}"]["rps"]), med(lambda r: r[f"redis_{clients}"]["p50_us"])
        print(f"cached get_token, {clients} client(s): p50 {t_p50:.1f} us, {t_rps:.0f}/s;"
              f" redis GET 700 B: p50 {r_p50:.1f} us, {r_rps:.0f}/s;"
              f" latency {t_p50 / r_p50:.2f}x, throughput {t_rps / r_rps:.2f}x")
    empty_s, full_s = med(lambda r: r["start_empty_s"]), med(lambda r: r["start_full_s"])
    per_user_us = (full_s - empty_s) / args.users * 1e6
    r_p50 = med(lambda r: r["redis_1"]["p50_us"])
    r_rps = med(lambda r: r["redis_1"]["rps"])
    print(f"cold: start to first answer {empty_s * 1000:.0f} ms empty, {full_s * 1000:.0f} ms with {args.users} users;"
          f" loading costs {per_user_us:.1f} us per user ({1e6 / per_user_us:.0f} users/s)"
          f" = {per_user_us / r_p50:.2f}x a redis GET p50 (1 client), {1e6 / per_user_us / r_rps:.2f}x its throughput")
    print(f"first read of each user after start: p50 {med(lambda r: r['first_read_p50_us']):.1f} us"
          f" (from memory: the daemon loaded everything at start)")


if __name__ == "__main__":
    main()
