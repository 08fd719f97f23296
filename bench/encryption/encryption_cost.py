#!/usr/bin/env python3
"""The cost of encryption at rest (issue 14), as ratios measured in one run:

- start-up with N users (default 100,000) in Redis: spawn to "running", plain
  text vs every record sealed;
- get_token p50 (sequential, one raw Unix-socket client, random users): plain
  vs sealed, two daemons on the memory store alive at once with their rounds
  interleaved (the cache holds records opened: no decryption per read); the
  single-run p50s of the Redis daemons are printed too;
- rotation throughput at N users: `reencrypt` plain -> k1 and k1 -> k2, in
  contexts per second (Redis, a compare-and-put per record);
- a YAML set_user_context at Y users (default 10,000): p50 of sequential
  sets into a users.yml of Y users, plain vs sealed;
- rotation throughput on the YAML store (plain -> k1) at each of
  --yaml-rotation-users (default 10,000 and 100,000): the whole run when it
  ends within --rotation-budget seconds, else the records examined per second
  until then (read from `reencrypt` status; the run is then stopped by a
  drain, which is what a restart does to it).

    bench/encryption/encryption_cost.py [--build build] [--users 100000] [--yaml-users 10000] [--reads 5000]
        [--sets 60] [--yaml-rotation-users 10000,100000] [--rotation-budget 120] [--parts redis,yaml,get_token,yaml_rotation]
"""

import argparse
import base64
import datetime
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
from redis_server import RedisServer  # noqa: E402

TOKEN = "NjE3ZGFjNzgtNDdmOC00OTBlLWFjZTgtYTBiNmE5YmM0NDk5ZGY1ZDk4MTItOTVk_PF84_1eb65fdf-9643"  # Webex-sized


def context(i, expires):
    uid = f"Y2lzY29zcGFyazovL3VzL1BFT1BMRS8{i:012d}"
    return uid, {"user_id": uid, "tokens": {"access_token": f"A{i:012d}{TOKEN}", "expires_at": expires,
                                            "refresh_token": f"R{i:012d}{TOKEN}",
                                            "refresh_token_expires_at": expires, "token_type": "Bearer",
                                            "scope": "spark:people_read spark:messages_write"}}


class Daemon:
    def __init__(self, build, work, store_lines, encryption):
        self.build, self.work = build, work
        self.config = os.path.join(work, "tokend.yml")
        with open(self.config, "w") as f:
            f.write(f"state_dir: {work}/state\nruntime_dir: {work}/run\nlog: {{level: info}}\n"
                    f"http: {{listen: 127.0.0.1:0}}\n{store_lines}{encryption}")
        self.log_path = os.path.join(work, "tokend.log")
        self.socket = os.path.join(work, "run", "tokend.sock")

    def start(self):
        open(self.log_path, "w").close()
        began = time.monotonic()
        self.process = subprocess.Popen([os.path.join(self.build, "daemon", "tokend"), "-c", self.config,
                                         "--plugin-dir", os.path.join(self.build, "plugins")],
                                        stdout=open(self.log_path, "a"), stderr=subprocess.STDOUT)
        while " running (pid" not in open(self.log_path).read():
            if self.process.poll() is not None:
                raise RuntimeError(open(self.log_path).read())
            time.sleep(0.01)
        took = time.monotonic() - began
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(self.socket)
        self.reader = self.sock.makefile("rb")
        return took

    def call(self, request):
        self.sock.sendall(json.dumps(request).encode() + b"\n")
        answer = json.loads(self.reader.readline())
        if not answer.get("ok", True) and "error" in answer:
            raise RuntimeError(answer)
        return answer

    def stop(self):
        self.sock.close()
        self.process.terminate()
        self.process.wait(60)


def key_file(work, name):
    path = os.path.join(work, name)
    with open(path, "w") as f:
        f.write(base64.b64encode(os.urandom(32)).decode())
    return path


def enc(active, keys):
    lines = "encryption:\n" + (f"  active_key: {active}\n" if active else "") + "  keys:\n"
    return lines + "".join(f"    - {{id: {k}, file: {p}}}\n" for k, p in keys)


def get_token_p50(daemon, users, reads):
    ids = [context(random.randrange(users), "")[0] for _ in range(reads)]
    samples = []
    for uid in ids:
        began = time.perf_counter()
        daemon.call({"id": 1, "op": "get_token", "user_id": uid})
        samples.append(time.perf_counter() - began)
    return statistics.median(samples) * 1e6


def rotation(daemon, users):
    began = time.monotonic()
    report = daemon.call({"id": 1, "op": "reencrypt"})["result"]
    took = time.monotonic() - began
    assert report["contexts"]["rewritten"] == users, report
    return users / took


def redis_part(build, users, reads):
    figures = {}
    expires = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=30)).isoformat()
    with RedisServer() as redis:
        for start in range(0, users, 1000):
            args, members = [], []
            for i in range(start, min(users, start + 1000)):
                uid, ctx = context(i, expires)
                args += [f"user-{uid}", json.dumps(ctx)]
                members.append(f"user-{uid}")
            redis.command("MSET", *args)
            redis.command("SADD", "users", *members)
        work = tempfile.mkdtemp(prefix="tokend-enc-bench-")
        k1, k2 = key_file(work, "k1"), key_file(work, "k2")
        store = f"store:\n  plugin: redis\n  options:\n    redis_url: \"{redis.unix_url}\"\n"
        plain = Daemon(build, work, store, "")
        figures["startup_plain_s"] = plain.start()
        figures["get_token_p50_plain_us"] = get_token_p50(plain, users, reads)
        plain.stop()
        migrate = Daemon(build, work, store, enc("k1", [("k1", k1)]))
        migrate.start()
        figures["rotation_plain_to_k1_per_s"] = rotation(migrate, users)
        migrate.stop()
        sealed = Daemon(build, work, store, enc("k1", [("k1", k1)]))
        figures["startup_sealed_s"] = sealed.start()
        figures["get_token_p50_sealed_us"] = get_token_p50(sealed, users, reads)
        sealed.stop()
        rotate = Daemon(build, work, store, enc("k2", [("k2", k2), ("k1", k1)]))
        rotate.start()
        figures["rotation_k1_to_k2_per_s"] = rotation(rotate, users)
        rotate.stop()
        shutil.rmtree(work, ignore_errors=True)
    return figures


def yaml_part(build, users, sets):
    figures = {}
    expires = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=30)).isoformat()
    for mode in ("plain", "sealed"):
        work = tempfile.mkdtemp(prefix="tokend-enc-bench-")
        os.makedirs(os.path.join(work, "state"))
        with open(os.path.join(work, "state", "users.yml"), "w") as f:
            for i in range(users):
                uid, ctx = context(i, expires)
                f.write(json.dumps(uid) + ": " + json.dumps(ctx) + "\n")
        encryption = enc("k1", [("k1", key_file(work, "k1"))]) if mode == "sealed" else ""
        daemon = Daemon(build, work, "", encryption)
        daemon.start()
        samples = []
        for n in range(sets):
            uid, ctx = context(n, expires)
            ctx["tokens"]["access_token"] = f"A-new-{n}{TOKEN}"
            began = time.perf_counter()
            daemon.call({"id": 1, "op": "set_user_context", "user_id": uid, "user_context": ctx, "force": True})
            samples.append(time.perf_counter() - began)
        figures[f"yaml_set_p50_{mode}_ms"] = statistics.median(samples) * 1e3
        daemon.stop()
        shutil.rmtree(work, ignore_errors=True)
    return figures


def write_plain_users(path, users, expires):
    with open(path, "w") as f:
        for i in range(users):
            uid, ctx = context(i, expires)
            f.write(json.dumps(uid) + ": " + json.dumps(ctx) + "\n")


def yaml_rotation_part(build, sizes, budget):
    """plain -> k1 on a users.yml of each size: contexts per second."""
    figures = {}
    expires = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=30)).isoformat()
    for users in sizes:
        work = tempfile.mkdtemp(prefix="tokend-enc-bench-")
        os.makedirs(os.path.join(work, "state"))
        write_plain_users(os.path.join(work, "state", "users.yml"), users, expires)
        daemon = Daemon(build, work, "", enc("k1", [("k1", key_file(work, "k1"))]))
        daemon.start()
        runner = socket.socket(socket.AF_UNIX)
        runner.connect(daemon.socket)
        began = time.monotonic()
        runner.sendall(json.dumps({"id": 1, "op": "reencrypt"}).encode() + b"\n")
        while True:
            time.sleep(1)
            status = daemon.call({"id": 2, "op": "reencrypt", "status": True})["result"]
            elapsed = time.monotonic() - began
            if not status["running"]:
                assert status["finished"] and status["contexts"]["rewritten"] == users, status
                figures[f"yaml_rotation_{users}_per_s"] = users / status["seconds"]
                break
            if elapsed > budget:
                figures[f"yaml_rotation_{users}_per_s"] = status["contexts"]["examined"] / elapsed
                figures[f"yaml_rotation_{users}_partial"] = f"{status['contexts']['examined']} in {elapsed:.0f} s"
                break
        runner.close()
        daemon.stop()
        shutil.rmtree(work, ignore_errors=True)
    return figures


def get_token_part(build, users, reads, rounds=7):
    """Both daemons alive at once (memory store, the same users), their rounds
    interleaved: the machine's load moves both alike. Median of the rounds' p50s."""
    expires = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=30)).isoformat()
    daemons = {}
    for mode in ("plain", "sealed"):
        work = tempfile.mkdtemp(prefix="tokend-enc-bench-")
        encryption = enc("k1", [("k1", key_file(work, "k1"))]) if mode == "sealed" else ""
        daemon = Daemon(build, work, "store:\n  plugin: memory\n", encryption)
        daemon.start()
        for i in range(users):
            uid, ctx = context(i, expires)
            daemon.call({"id": 1, "op": "set_user_context", "user_id": uid, "user_context": ctx})
        daemons[mode] = daemon
    p50s = {"plain": [], "sealed": []}
    for _ in range(rounds):
        for mode, daemon in daemons.items():
            p50s[mode].append(get_token_p50(daemon, users, reads))
    for daemon in daemons.values():
        daemon.stop()
        shutil.rmtree(daemon.work, ignore_errors=True)
    return {f"get_token_p50_{mode}_us": statistics.median(values) for mode, values in p50s.items()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--users", type=int, default=100000)
    parser.add_argument("--yaml-users", type=int, default=10000)
    parser.add_argument("--reads", type=int, default=5000)
    parser.add_argument("--sets", type=int, default=60)
    parser.add_argument("--get-token-users", type=int, default=10000)
    parser.add_argument("--yaml-rotation-users", default="10000,100000")
    parser.add_argument("--rotation-budget", type=float, default=120)
    parser.add_argument("--parts", default="redis,yaml,get_token,yaml_rotation")
    args = parser.parse_args()
    parts = args.parts.split(",")
    figures, ratios = {"load_average_before": os.getloadavg()}, {}
    if "redis" in parts:
        figures.update(redis_part(args.build, args.users, args.reads))
        # The redis part's p50s came from one daemon run each; the get_token part interleaves.
        figures["get_token_p50_plain_us_single_run"] = figures.pop("get_token_p50_plain_us")
        figures["get_token_p50_sealed_us_single_run"] = figures.pop("get_token_p50_sealed_us")
        ratios["startup sealed/plain"] = figures["startup_sealed_s"] / figures["startup_plain_s"]
        ratios["rotation k1->k2 / plain->k1 (redis)"] = (figures["rotation_k1_to_k2_per_s"]
                                                         / figures["rotation_plain_to_k1_per_s"])
    if "yaml" in parts:
        figures.update(yaml_part(args.build, args.yaml_users, args.sets))
        ratios["yaml set p50 sealed/plain"] = figures["yaml_set_p50_sealed_ms"] / figures["yaml_set_p50_plain_ms"]
    if "get_token" in parts:
        figures.update(get_token_part(args.build, args.get_token_users, args.reads // 5))
        ratios["get_token_p50 sealed/plain"] = figures["get_token_p50_sealed_us"] / figures["get_token_p50_plain_us"]
    if "yaml_rotation" in parts:
        sizes = [int(n) for n in args.yaml_rotation_users.split(",") if n]
        figures.update(yaml_rotation_part(args.build, sizes, args.rotation_budget))
        if "yaml" in parts and f"yaml_rotation_{args.yaml_users}_per_s" in figures:
            # A rotation's rewrites per second against sets per second, same file size.
            ratios["yaml rotation / sequential sets (same users)"] = (
                figures[f"yaml_rotation_{args.yaml_users}_per_s"] * figures["yaml_set_p50_sealed_ms"] / 1e3)
    figures["load_average_after"] = os.getloadavg()
    print(json.dumps({"figures": figures, "ratios": ratios}, indent=2))


if __name__ == "__main__":
    main()
