#!/usr/bin/env python3
"""Largest classes and functions under daemon/, by lines.

A function is a definition that starts at column 0 (the code sits in
`namespace tokend {` without indentation) and ends at the next `}` in column 0.
A class's size is its declaration (header, column-0 `class X {` to `};`) plus
every out-of-line member definition (`X::name(...)`) in any file.

    scripts/code_size.py [root=daemon] [--top N]
"""
import pathlib
import re
import sys

DEF = re.compile(r"^(?!namespace|class|struct|enum|union|using|typedef|#|//|template\s*<[^>]*>\s*$)"
                 r"[^;]*?([A-Za-z_][\w:~]*)\s*\([^;]*$")
CLASS = re.compile(r"^(?:class|struct)\s+(\w+)(?:\s+final)?\s*(?::[^{]*)?\{\s*$")


def scan(path):
    lines = path.read_text().splitlines()
    functions, classes = [], []
    i = 0
    while i < len(lines):
        line = lines[i]
        m = CLASS.match(line)
        if m:
            j = i
            while j < len(lines) and not lines[j].startswith("};"):
                j += 1
            classes.append((m.group(1), j - i + 1))
            i = j + 1
            continue
        m = DEF.match(line)
        if m and not line.startswith((" ", "\t", "}")):
            # the signature may span lines: find the line that opens the body
            j = i
            while j < len(lines) and not lines[j].rstrip().endswith("{") and not lines[j].rstrip().endswith(";"):
                j += 1
            if j < len(lines) and lines[j].rstrip().endswith("{"):
                k = j + 1
                while k < len(lines) and not lines[k].startswith("}"):
                    k += 1
                functions.append((m.group(1), k - i + 1, f"{path}:{i + 1}"))
                i = k + 1
                continue
        i += 1
    return functions, classes


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    top = 15
    if "--top" in sys.argv:
        top = int(sys.argv[sys.argv.index("--top") + 1])
        args = [a for a in args if a != str(top)]
    root = pathlib.Path(args[0] if args else "daemon")
    functions, declared = [], {}
    for path in sorted(root.rglob("*")):
        if path.suffix not in (".cpp", ".h"):
            continue
        f, c = scan(path)
        functions += f
        for name, n in c:
            declared[name] = declared.get(name, 0) + n
    classes = {}
    files = {}
    for name, n, where in functions:
        if "::" in name:
            owner = name.split("::")[-2]
            classes.setdefault(owner, [0, 0])
            classes[owner][0] += n
            classes[owner][1] += 1
            files.setdefault(owner, set()).add(where.split(":")[0])
    for name, n in declared.items():
        classes.setdefault(name, [0, 0])
    rows = [(declared.get(name, 0) + body, name, count, len(files.get(name, ())))
            for name, (body, count) in classes.items()]
    rows.sort(reverse=True)
    print(f"largest classes (declaration + member definitions), lines; top {top}")
    for total, name, count, nfiles in rows[:top]:
        print(f"  {total:5d}  {name}  ({count} member definitions in {nfiles} .cpp files)")
    print(f"largest functions, lines; top {top}")
    for name, n, where in sorted(functions, key=lambda f: -f[1])[:top]:
        print(f"  {n:5d}  {name}  {where}")


if __name__ == "__main__":
    main()
