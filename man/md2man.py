#!/usr/bin/env python3
"""Turns docs/configuration.md into tokend.yml(5) at build time, so the man
page says what the docs say. Knows the Markdown those docs use: headings,
paragraphs, bullet and numbered lists, fenced code, tables, `code`, **bold**
and [links](target). Standard library only.

usage: md2man.py INPUT.md OUTPUT.5 NAME SECTION VERSION "one-line description" [SEE-ALSO...]
"""

import re
import sys


def escape(text):
    """Escapes what roff would read as requests or escapes."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return text


def inline(text):
    """Markdown inline markup to roff fonts; links keep their text."""
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)
    parts = re.split(r"(`[^`]+`|\*\*[^*]+\*\*)", text)
    out = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append("\\fB" + escape(part[1:-1]) + "\\fR")
        elif part.startswith("**") and part.endswith("**") and len(part) > 3:
            out.append("\\fB" + escape(part[2:-2]) + "\\fR")
        else:
            out.append(escape(part))
    return "".join(out)


def line_safe(text):
    """A roff text line must not start with a control character."""
    return "\\&" + text if text[:1] in (".", "'") else text


def cells(row):
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


def convert(markdown, name, section, version, description, see_also):
    out = [f'.TH {name.upper()} {section} "" "tokend {version}" "tokend"',
           ".SH NAME", f"{escape(name)} \\- {escape(description)}"]
    lines = markdown.splitlines()
    i = 0
    paragraph = []

    def flush():
        if paragraph:
            out.append(".PP")
            out.append(line_safe(inline(" ".join(paragraph))))
            paragraph.clear()

    first_heading = True
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("```"):
            flush()
            out.append(".PP")
            out.append(".nf")
            out.append(".RS 4")
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                out.append(line_safe(escape(lines[i])))
                i += 1
            out.append(".RE")
            out.append(".fi")
        elif stripped.startswith("#"):
            flush()
            level = len(stripped) - len(stripped.lstrip("#"))
            title = stripped[level:].strip()
            if first_heading and level == 1:
                out.append(".SH DESCRIPTION")
            elif level <= 2:
                out.append(".SH " + inline(title.upper()).replace('"', ""))
            else:
                out.append(".SS " + inline(title).replace('"', ""))
            first_heading = False
        elif stripped.startswith("|"):
            flush()
            header = cells(stripped)
            i += 1
            if i < len(lines) and set(lines[i].strip()) <= set("|-: "):
                i += 1
            while i < len(lines) and lines[i].strip().startswith("|"):
                row = cells(lines[i])
                out.append(".TP")
                out.append(line_safe(inline(row[0])))
                rest = "; ".join(f"{header[k]}: {row[k]}" for k in range(1, min(len(row), len(header))))
                out.append(line_safe(inline(rest)))
                i += 1
            continue
        elif re.match(r"^(- |\d+\. )", stripped):
            flush()
            item = [re.sub(r"^(- |\d+\. )", "", stripped)]
            marker = "\\(bu" if stripped.startswith("- ") else stripped.split(".")[0] + "."
            i += 1
            while i < len(lines) and lines[i].startswith("  ") and lines[i].strip() and \
                    not re.match(r"^(- |\d+\. )", lines[i].strip()):
                item.append(lines[i].strip())
                i += 1
            out.append(f'.IP "{marker}" 4')
            out.append(line_safe(inline(" ".join(item))))
            continue
        elif not stripped:
            flush()
        else:
            paragraph.append(stripped)
        i += 1
    flush()
    if see_also:
        out.append(".SH SEE ALSO")
        out.append(", ".join(f"\\fB{escape(page.split('(')[0])}\\fR({page.split('(')[1]}" for page in see_also))
    return "\n".join(out) + "\n"


def main():
    source, target, name, section, version, description, *see_also = sys.argv[1:]
    with open(source, encoding="utf-8") as f:
        markdown = f.read()
    with open(target, "w", encoding="utf-8") as f:
        f.write(convert(markdown, name, section, version, description, see_also))


if __name__ == "__main__":
    main()
