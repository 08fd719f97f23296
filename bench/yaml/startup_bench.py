#!/usr/bin/env python3
"""tokend's start-up on a YAML store of N users (issue 16, item 5): spawn to
READY=1 (sd_notify, through a $NOTIFY_SOCKET of the script's own) and the peak
resident memory (VmHWM) then, for the fast reader against the yaml-cpp reader in
one run.

The same users.yml is read both ways: as written, and with a "---" line in front,
which yaml-cpp reads as the same document and the fast reader declines on its
first line, so tokend falls back to yaml-cpp (the reader it had before). Two
files: the original module's format (PyYAML safe_dump, bench/yaml/
original_users_file.py) and tokend's own (the same users after one write).
Rounds alternate between the readers; medians are printed, and the ratio.

    bench/yaml/startup_bench.py [--build build] [--users 100000] [--rounds 3] [--keep DIR]
"""

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

HERE = os.path.dirname(os.path.abspath(__file__))
DEADLINE_S = 600


def cpu_seconds(pid):
    """User plus system CPU time the process has used so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Daemon:
    """tokend on a state directory holding users.yml; start() returns the seconds
    from spawn to READY=1, the CPU seconds tokend used until then and its peak
    RSS in MB at that moment."""

    def __init__(self, build, work):
        self.build, self.work = build, work
        self.state = os.path.join(work, "state")
        os.makedirs(self.state, exist_ok=True)
        self.config = os.path.join(work, "tokend.yml")
        with open(self.config, "w") as f:
            f.write(f"state_dir: {self.state}\nruntime_dir: {work}/run\nlog: {{level: warn}}\n"
                    "http: {listen: 127.0.0.1:0}\n")
        self.log_path = os.path.join(work, "tokend.log")

    def start(self):
        notify_path = os.path.join(self.work, "notify.sock")
        if os.path.exists(notify_path):
            os.unlink(notify_path)
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(notify_path)
        notify.settimeout(1.0)
        env = dict(os.environ, NOTIFY_SOCKET=notify_path)
        began = time.monotonic()
        self.process = subprocess.Popen(
            [os.path.join(self.build, "daemon", "tokend"), "-c", self.config,
             "--plugin-dir", os.path.join(self.build, "plugins")],
            env=env, stdout=open(self.log_path, "w"), stderr=subprocess.STDOUT)
        try:
            while True:
                try:
                    message = notify.recv(4096).decode()
                except socket.timeout:
                    message = ""
                if "READY=1" in message.split("\n"):
                    took = time.monotonic() - began
                    return took, cpu_seconds(self.process.pid), peak_rss_mb(self.process.pid)
                if self.process.poll() is not None:
                    raise RuntimeError("tokend exited: " + open(self.log_path).read()[-2000:])
                if time.monotonic() - began > DEADLINE_S:
                    raise RuntimeError("tokend not ready after %d s" % DEADLINE_S)
        finally:
            notify.close()

    def control(self, request):
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(os.path.join(self.work, "run", "tokend.sock"))
            sock.sendall(json.dumps(request).encode() + b"\n")
            return json.loads(sock.makefile("rb").readline())

    def stop(self):
        self.process.terminate()
        self.process.wait(120)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(os.path.dirname(os.path.dirname(HERE)), "build"))
    parser.add_argument("--users", type=int, default=100000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", help="a directory for the generated files, kept between runs")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="tokend-yaml-startup-")
    cache = args.keep or work
    os.makedirs(cache, exist_ok=True)
    original = os.path.join(cache, f"original-{args.users}.yml")
    if not os.path.exists(original):
        print(f"writing {args.users} users with PyYAML...", file=sys.stderr)
        subprocess.run([sys.executable, os.path.join(HERE, "original_users_file.py"), str(args.users),
                        original + ".tmp"], check=True)
        os.rename(original + ".tmp", original)
    daemon = Daemon(args.build, work)
    users_path = os.path.join(daemon.state, "users.yml")

    # tokend's own format: the same users after one write (the whole file is rewritten).
    own = os.path.join(cache, f"tokend-{args.users}.yml")
    if not os.path.exists(own):
        shutil.copyfile(original, users_path)
        daemon.start()
        uid = "Y2lzY29zcGFyazovL3VzL1BFT1BMRS8000000000000"
        context = daemon.control({"id": 1, "op": "get_user_context", "user_id": uid})["result"]["user_context"]
        answer = daemon.control({"id": 2, "op": "set_user_context", "user_id": uid,
                                 "user_context": context, "force": True})
        assert answer.get("ok", True) and "error" not in answer, answer
        daemon.stop()
        shutil.copyfile(users_path, own)

    files = {"original": original, "tokend": own}
    sizes = {name: os.path.getsize(path) for name, path in files.items()}
    results = {(name, reader): [] for name in files for reader in ("yaml-cpp", "fast")}
    for _ in range(args.rounds):
        for name, path in files.items():
            for reader in ("yaml-cpp", "fast"):
                with open(path) as source, open(users_path, "w") as target:
                    if reader == "yaml-cpp":
                        target.write("---\n")
                    shutil.copyfileobj(source, target)
                results[(name, reader)].append(daemon.start())
                daemon.stop()

    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"tokend start-up, {args.users:,} users: spawn to READY=1 (wall), tokend's CPU time until then, "
          f"peak RSS; medians of {args.rounds} (load average after the run: {load})")
    print("| file | size | reader | wall | CPU | peak RSS |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in files:
        medians = {}
        for reader in ("yaml-cpp", "fast"):
            runs = results[(name, reader)]
            medians[reader] = [statistics.median(run[k] for run in runs) for k in range(3)]
            wall, cpu, rss = medians[reader]
            print(f"| {name} | {sizes[name] / 1e6:.1f} MB | {reader} | {wall:.2f} s | {cpu:.2f} s | {rss:.0f} MB |")
        old, new = medians["yaml-cpp"], medians["fast"]
        print(f"| {name} | | yaml-cpp / fast | {old[0] / new[0]:.1f}x | {old[1] / new[1]:.1f}x "
              f"| {old[2] / new[2]:.1f}x |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
