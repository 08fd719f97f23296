"""Reads a users file and a flows file written by tokend with yaml.safe_load, as the
original Python bot loads its users file, checks the type of every field of each user
context and flow state, and prints both as JSON ({"users": ..., "flows": ...}; bytes
values as {"base64": ...}). Exits 1 listing every wrong type.

usage: python_read_store.py USERS_PATH FLOWS_PATH
"""
import base64
import json
import sys

import yaml

TOKEN_FIELDS = ("access_token", "expires_at", "refresh_token", "refresh_token_expires_at",
                "token_type", "scope")


def load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def check_users(users, errors):
    if not isinstance(users, dict):
        errors.append("users file: top level is %s, not dict" % type(users).__name__)
        return
    for uid, ctx in users.items():
        if not isinstance(uid, str):
            errors.append("user key %r is %s" % (uid, type(uid).__name__))
        if not isinstance(ctx, dict):
            errors.append("user %r: context is %s" % (uid, type(ctx).__name__))
            continue
        if not isinstance(ctx.get("user_id"), str):
            errors.append("user %r: user_id is %s" % (uid, type(ctx.get("user_id")).__name__))
        tokens = ctx.get("tokens")
        if not isinstance(tokens, dict):
            errors.append("user %r: tokens is %s" % (uid, type(tokens).__name__))
            continue
        for field in TOKEN_FIELDS:
            value = tokens.get(field)
            if value is not None and not isinstance(value, str):
                errors.append("user %r: tokens.%s is %s" % (uid, field, type(value).__name__))


def check_flows(flows, errors):
    if not isinstance(flows, dict):
        errors.append("flows file: top level is %s, not dict" % type(flows).__name__)
        return {}
    shown = {}
    for fid, state in flows.items():
        if isinstance(state, bytes):
            shown[fid] = {"base64": base64.b64encode(state).decode()}
            continue
        if not isinstance(state, dict):
            errors.append("flow %r: state is %s" % (fid, type(state).__name__))
            continue
        for field in ("user_id", "created"):
            if not isinstance(state.get(field), str):
                errors.append("flow %r: %s is %s" % (fid, field, type(state.get(field)).__name__))
        shown[fid] = state
    return shown


def main():
    errors = []
    users = load(sys.argv[1])
    flows = load(sys.argv[2])
    check_users(users, errors)
    shown_flows = check_flows(flows, errors)
    if errors:
        sys.stderr.write("\n".join(errors) + "\n")
        sys.exit(1)
    print(json.dumps({"users": users, "flows": shown_flows}))


if __name__ == "__main__":
    main()
