"""The cost of TLS to Redis (issue 15), TLS against plain TCP in one run, on one
redis-server listening on both loopback ports (certificates made here with the
openssl CLI): get_token p50 (served from memory: should not move), a
set_user_context p50 (one Redis round trip of a script, over one pooled
connection) and the start-up to the first answer with USERS stored contexts.
Medians of ROUNDS rounds, the two modes alternating within each round.
Usage: python3 bench/redis/tls_cost.py --build build --users 10000 --rounds 3"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from redis_bench import ROOT, cold_start, context_json, control_load, fill, stop  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
from redis_server import RedisServer  # noqa: E402


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_certificates(work):
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", f"{work}/ca.key", "-out", f"{work}/ca.crt", "-days", "2",
            "-subj", "/CN=bench ca")
    openssl("req", *ec, "-keyout", f"{work}/server.key", "-out", f"{work}/server.csr", "-subj", "/CN=server")
    with open(f"{work}/server.ext", "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", f"{work}/server.csr", "-CA", f"{work}/ca.crt", "-CAkey", f"{work}/ca.key",
            "-CAcreateserial", "-out", f"{work}/server.crt", "-days", "2", "-extfile", f"{work}/server.ext")


def write_config(work, mode, redis):
    path = f"{work}/tokend-{mode}.yml"
    options = (f"    redis_url: \"rediss://127.0.0.1:{redis.tls_port}\"\n    tls_ca_file: {work}/ca.crt\n"
               if mode == "tls" else f"    redis_url: \"redis://127.0.0.1:{redis.port}\"\n")
    with open(path, "w") as f:
        f.write(f"state_dir: {work}/state\nruntime_dir: {work}/run\nlog: {{level: warn}}\n"
                f"http: {{listen: 127.0.0.1:0}}\nstore:\n  plugin: redis\n  options:\n{options}")
    return path


def set_p50_us(sock_path, count):
    """Sequential set_user_context calls on one connection: the p50 in us."""
    context = json.loads(context_json("bench-set"))
    took = []
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(sock_path)
        reader = s.makefile("rb")
        for i in range(count):
            context["tokens"]["access_token"] = f"AT-{i}"
            request = json.dumps({"op": "set_user_context", "user_id": "bench-set", "user_context": context,
                                  "id": i})
            start = time.monotonic()
            s.sendall(request.encode() + b"\n")
            answer = json.loads(reader.readline())
            took.append(time.monotonic() - start)
            assert "error" not in answer, answer
    return statistics.median(took) * 1e6


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--users", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2)
    parser.add_argument("--sets", type=int, default=1000)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="tokend-bench-tls-", dir="/tmp")
    rows = {"plain": [], "tls": []}
    try:
        make_certificates(work)
        tls = {"cert": f"{work}/server.crt", "key": f"{work}/server.key", "ca": f"{work}/ca.crt"}
        with RedisServer(tls=tls) as redis:
            fill(redis, args.users)
            sock_path = f"{work}/run/tokend.sock"
            for round_no in range(args.rounds):
                for mode in ("plain", "tls") if round_no % 2 == 0 else ("tls", "plain"):
                    took, answer, daemon = cold_start(args.build, write_config(work, mode, redis), sock_path,
                                                      "bench-0")
                    assert "access_token" in json.dumps(answer), answer
                    row = {"start_s": took}
                    row["get_p50_us"] = control_load(args.build, sock_path, 1, args.seconds, "bench-0")["p50_us"]
                    row["set_p50_us"] = set_p50_us(sock_path, args.sets)
                    stop(daemon)
                    rows[mode].append(row)
                    print(f"round {round_no + 1} {mode}: {json.dumps(row)}", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def med(mode, key):
        return statistics.median(r[key] for r in rows[mode])
    print(f"TLS vs plain TCP to one redis-server on loopback, {args.users} users; medians of {args.rounds} rounds")
    for key, label, unit, scale in (("get_p50_us", "get_token p50 (from memory)", "us", 1),
                                    ("set_p50_us", "set_user_context p50", "us", 1),
                                    ("start_s", f"start-up to first answer, {args.users} users", "ms", 1000)):
        plain, secured = med("plain", key) * scale, med("tls", key) * scale
        print(f"{label}: plain {plain:.1f} {unit}, TLS {secured:.1f} {unit}, ratio {secured / plain:.2f}x")


if __name__ == "__main__":
    main()
