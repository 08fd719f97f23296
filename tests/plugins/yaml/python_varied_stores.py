"""Writes users files the way the original Python bot could have, with awkward
contents, for the differential test of the yaml store's two readers
(yaml_reader_fast_test.cpp): every file must read the same with the fast reader
and with yaml-cpp.

usage: python_varied_stores.py DIR COUNT SEED

DIR/typical-*.yml: Webex contexts as yaml.safe_dump and yaml.dump wrote them
                   (the fast reader must take these);
DIR/varied-*.yml:  random contexts of awkward strings, numbers, nesting and keys,
                   dumped with a random choice of PyYAML's settings.
"""
import datetime
import os
import random
import sys

import yaml

UTC = datetime.timezone.utc
LONG_SCOPE = ("spark:kms spark:people_read spark:rooms_read spark:messages_write spark:rooms_write "
              "spark:memberships_read spark:memberships_write spark:teams_read")

STRINGS = [
    "", " ", "yes", "no", "on", "null", "Null", "~", "true", "False", "123", "-7", "0x1f", "0o17",
    "1.5", "1e3", "1.0e+20", ".inf", "-.inf", ".nan", "2026-12-12", "2026-12-12T10:00:00+00:00",
    "2026-12-12 10:00:00.123456+00:00", "a: b", "a:b", "a #b", "a#b", "#x", "- x", "-x", "? x", ":x",
    "x:", " lead", "trail ", "it's", "say \"hi\"", "back\\slash", "tab\there", "new\nline",
    "two\n\nbreaks", "cr\rhere", "caf\u00e9", "emoji \U0001F600", "ls\u2028ps\u2029", "nel\x85",
    "nbsp\u00a0", "bom\ufeff", "nul\x00byte", "bell\x07", "del\x7f", "{a: 1}", "[1, 2]", "*alias",
    "&anchor", "!tag", "%dir", "@at", "`tick", "|", ">", "---", "...", "=", "<<", "http://x.y/z?a=b&c",
    LONG_SCOPE, "x" * 300, "word " * 40, "\u00fcber " * 30, "a'b" * 50,
]
KEYS = ["user_id", "tokens", "access_token", "expires_at", "scope", "12345", "null", "true", "a b",
        "caf\u00e9", "k:v", "-k", "x" * 140, "", "it's", "tab\tkey", "new\nkey", "#k", "_k", "k.v/w+x=y@z$"]


def webex_context(uid, i, datetimes):
    expires = datetime.datetime(2026, 12, 12, 10, 0, i % 60, 123456, tzinfo=UTC)
    refresh = datetime.datetime(2027, 3, 12, 10, 0, i % 60, 654321, tzinfo=UTC)
    if not datetimes:
        expires, refresh = expires.isoformat(), refresh.isoformat()
    return {"user_id": uid, "tokens": {
        "access_token": f"NjE3ZGFjNzgtNDdmOC00OTBl_PF84_{i:06d}", "expires_at": expires,
        "refresh_token": f"ZmQ4Y2JmZjMtYWE2NC00ZTk1_{i:06d}", "refresh_token_expires_at": refresh,
        "token_type": "Bearer",
        "scope": LONG_SCOPE if i % 2 else "spark:people_read spark:messages_write"}}


def scalar(rng):
    kind = rng.randrange(6)
    if kind == 0:
        return rng.choice([0, 1, -1, 42, 2**31, 2**63 - 1, -2**63, 2**64 - 1, 2**70])
    if kind == 1:
        return rng.choice([0.5, -0.0, 1e20, 1.5e-7, 3.14159, float("inf"), float("-inf")])
    if kind == 2:
        return rng.choice([True, False, None])
    return rng.choice(STRINGS)


def value(rng, depth):
    if depth < 3 and rng.random() < 0.25:
        return {rng.choice(KEYS): value(rng, depth + 1) for _ in range(rng.randrange(4))}
    if rng.random() < 0.05:
        return []
    return scalar(rng)


def varied_file(rng):
    users = {}
    for _ in range(rng.randrange(1, 5)):
        uid = rng.choice(KEYS + [f"Y2lzY29zcGFyazovL3VzL1BFT1BMRS8{rng.randrange(10**6):012d}"] * 8)
        context = {"user_id": uid, "tokens": {k: scalar(rng) for k in
                                              ("access_token", "expires_at", "refresh_token", "scope")}}
        for _ in range(rng.randrange(3)):
            context[rng.choice(KEYS)] = value(rng, 1)
        users[uid] = context
    settings = rng.choice([{}, {"allow_unicode": True}, {"width": 30}, {"sort_keys": False},
                           {"default_style": "'"}, {"default_style": '"'}, {"indent": 4}])
    return yaml.safe_dump(users, **settings)


def main():
    out, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    users = {f"Y2lzY29zcGFyazovL3VzL1BFT1BMRS8{i:012d}": None for i in range(20)}
    for datetimes in (False, True):
        contexts = {uid: webex_context(uid, i, datetimes) for i, uid in enumerate(users)}
        contexts["user-2"] = {"user_id": "user-2", "tokens": dict.fromkeys(
            ("access_token", "expires_at", "refresh_token", "refresh_token_expires_at", "token_type", "scope"))}
        contexts["12345"] = {"user_id": "12345", "tokens": {"access_token": "yes", "scope": ""}}
        dump = yaml.dump if datetimes else yaml.safe_dump
        with open(os.path.join(out, f"typical-{'dump' if datetimes else 'safe_dump'}.yml"), "w") as f:
            f.write(dump(contexts))
    rng = random.Random(seed)
    for n in range(count):
        with open(os.path.join(out, f"varied-{n:04d}.yml"), "w", encoding="utf-8") as f:
            f.write(varied_file(rng))


if __name__ == "__main__":
    main()
