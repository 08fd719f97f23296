#!/usr/bin/env python3
"""Drops the "PROG: description" line help2man copies from CLI11's --help into
DESCRIPTION: the page's NAME line says it already. Usage: drop_help_title.py PAGE PROG"""

import re
import sys


def main(page, prog):
    with open(page) as f:
        text = f.read()
    cleaned, count = re.subn(r"^\.PP\n" + re.escape(prog) + r": [^\n]*\n(?=\.SH )", "", text, flags=re.MULTILINE)
    if count != 1:
        sys.exit(f"drop_help_title.py: no '{prog}: ...' line before a section in {page} (help2man's layout changed?)")
    with open(page, "w") as f:
        f.write(cleaned)


if __name__ == "__main__":
    main(*sys.argv[1:])
