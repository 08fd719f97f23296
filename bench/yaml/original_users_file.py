#!/usr/bin/env python3
"""Writes a users file the way the original Python module did: yaml.safe_dump of
{user_id: context.model_dump(mode="json")} (datetimes as ISO strings, which PyYAML
quotes; long scopes folded over two lines; cleared tokens as null), or with
--dump, yaml.dump of contexts holding datetime objects (plain timestamps).

    original_users_file.py [--dump] USERS PATH

About 460 bytes a user (100,000 users: ~46 MB, the file of issue 16). Written
1,000 users per safe_dump call: the ids sort as generated, so the text is the
one a single call over all users would write, in a fraction of the time.
"""
import argparse
import datetime

import yaml

UTC = datetime.timezone.utc
EXPIRES = datetime.datetime(2026, 12, 12, 10, 0, 0, 123456, tzinfo=UTC)
REFRESH_EXPIRES = datetime.datetime(2027, 3, 12, 10, 0, 0, 654321, tzinfo=UTC)
TOKEN = "NjE3ZGFjNzgtNDdmOC00OTBlLWFjZTgtYTBi_PF84"
SCOPE = "spark:people_read spark:messages_write spark:rooms_read"
LONG_SCOPE = SCOPE + " spark:memberships_read spark:memberships_write spark:kms"


def context(i, dump):
    uid = f"Y2lzY29zcGFyazovL3VzL1BFT1BMRS8{i:012d}"
    if i % 50 == 49:  # a failed refresh cleared the tokens
        tokens = dict.fromkeys(("access_token", "expires_at", "refresh_token",
                                "refresh_token_expires_at", "token_type", "scope"))
    else:
        # Fresh datetime objects: yaml.dump writes an object met twice as an
        # anchor and aliases, which tokend refuses (the original's were never shared).
        tokens = {"access_token": f"{TOKEN}{i:08d}", "expires_at": EXPIRES.replace(),
                  "refresh_token": f"R{TOKEN}{i:07d}", "refresh_token_expires_at": REFRESH_EXPIRES.replace(),
                  "token_type": "Bearer", "scope": LONG_SCOPE if i % 7 == 0 else SCOPE}
        if not dump:
            tokens["expires_at"] = EXPIRES.isoformat()
            tokens["refresh_token_expires_at"] = REFRESH_EXPIRES.isoformat()
    return uid, {"user_id": uid, "tokens": tokens}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dump", action="store_true", help="yaml.dump with datetime objects")
    parser.add_argument("users", type=int)
    parser.add_argument("path")
    args = parser.parse_args()
    write = yaml.dump if args.dump else yaml.safe_dump
    with open(args.path, "w", encoding="utf-8") as out:
        for start in range(0, args.users, 1000):
            out.write(write(dict(context(i, args.dump) for i in range(start, min(args.users, start + 1000)))))


if __name__ == "__main__":
    main()
