"""Writes a users file the way the original Python bot did, and prints as JSON what
tokend's get must return for each user.

usage: python_write_store.py safe_dump|dump PATH

safe_dump: yaml.safe_dump({uid: ctx.model_dump(mode="json")}), datetimes already
           ISO strings (PyYAML quotes them, as they look like timestamps).
dump:      yaml.dump of contexts holding datetime objects, which PyYAML writes as
           plain timestamps (2026-12-12 10:00:00.123456+00:00).
"""
import datetime
import json
import sys

import yaml

UTC = datetime.timezone.utc
EXPIRES = datetime.datetime(2026, 12, 12, 10, 0, 0, 123456, tzinfo=UTC)
REFRESH_EXPIRES = datetime.datetime(2027, 3, 12, 10, 0, 0, 654321, tzinfo=UTC)
SCOPE = ("spark:kms spark:people_read spark:rooms_read spark:messages_write "
         "spark:rooms_write spark:memberships_read spark:memberships_write spark:teams_read")
WEBEX_ID = "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9mNWIzNjE4Ny1jOGRkLTQ3MjctOGIyZi1mOWM0NDdmMjkwNDY"


def contexts():
    return {
        WEBEX_ID: {
            "user_id": WEBEX_ID,
            "tokens": {
                "access_token": "NjE3ZGFjNzgtNDdmOC00OTBlLWFjZTgtYTBiNmE5YmM0NDk5ZGY1ZDk4MTItOTVk_PF84_"
                                "1eb65fdf-9643-417f-9974-ad72cae0e10f",
                "expires_at": EXPIRES,
                "refresh_token": "ZmQ4Y2JmZjMtYWE2NC00ZTk1LWI5NjItOGFhNTljZDFlNzU3",
                "refresh_token_expires_at": REFRESH_EXPIRES,
                "token_type": "Bearer",
                "scope": SCOPE,
            },
        },
        "user-2": {
            "user_id": "user-2",
            "tokens": {
                "access_token": None, "expires_at": None, "refresh_token": None,
                "refresh_token_expires_at": None, "token_type": None, "scope": None,
            },
        },
        "12345": {
            "user_id": "12345",
            "tokens": {
                "access_token": "yes", "expires_at": None, "refresh_token": "null",
                "refresh_token_expires_at": None, "token_type": "Bearer", "scope": "",
            },
        },
    }


def as_json_mode(value, datetime_text):
    if isinstance(value, dict):
        return {k: as_json_mode(v, datetime_text) for k, v in value.items()}
    if isinstance(value, datetime.datetime):
        return datetime_text(value)
    return value


def main():
    mode, path = sys.argv[1], sys.argv[2]
    if mode == "safe_dump":
        data = as_json_mode(contexts(), lambda d: d.isoformat())
        text = yaml.safe_dump(data)
        expected = data
    elif mode == "dump":
        text = yaml.dump(contexts())
        expected = as_json_mode(contexts(), lambda d: d.isoformat(" "))
    else:
        sys.exit("unknown mode " + mode)
    with open(path, "w", encoding="utf-8") as out:
        out.write(text)
    print(json.dumps(expected))


if __name__ == "__main__":
    main()
