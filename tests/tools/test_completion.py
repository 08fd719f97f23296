"""Issue 18 item 3: tokenctl's shell completion. The bash script is sourced
into a real bash and asked for COMPREPLY as bash-completion would; every
command and option `tokenctl --help` lists must be completed (read from the
binary, so the script cannot drift from it); the zsh script is checked by zsh
and lists the same commands."""

import os
import re
import shlex
import subprocess
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TOKENCTL = os.environ.get("TOKENCTL_BIN", os.path.join(ROOT, "build", "tools", "tokenctl", "tokenctl"))
BASH_SCRIPT = os.path.join(ROOT, "tools", "tokenctl", "completion", "tokenctl.bash")
ZSH_SCRIPT = os.path.join(ROOT, "tools", "tokenctl", "completion", "_tokenctl")


def help_of(*args):
    out = subprocess.run([TOKENCTL, *args, "--help"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout


def section(text, title):
    """The lines of a CLI11 help section ("Options:", "Subcommands:")."""
    match = re.search(rf"^{title}:\n((?:[ \t]+.*\n?)*)", text, re.MULTILINE)
    return match.group(1).splitlines() if match else []


def commands():
    return [line.split()[0] for line in section(help_of(), "Subcommands") if line.strip()]


def long_options(*args):
    found = []
    for line in section(help_of(*args), "Options"):
        # "  -s,--socket TEXT      description": the names are before the description.
        names = line.strip().split("  ")[0] if line.strip().startswith("-") else ""
        found += re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", names)
    return found


def complete(*words):
    """COMPREPLY for `tokenctl WORDS...`, the last word being completed, as
    bash-completion calls the function (COMP_WORDS, COMP_CWORD, COMP_LINE)."""
    line = " ".join(["tokenctl", *words])
    quoted = " ".join(shlex.quote(word) if word else "''" for word in ["tokenctl", *words])
    script = "\n".join([
        f'source {shlex.quote(BASH_SCRIPT)}',
        f"COMP_WORDS=({quoted})",
        f"COMP_CWORD={len(words)}",
        f"COMP_LINE={shlex.quote(line)}",
        "COMP_POINT=${#COMP_LINE}",
        '_tokenctl tokenctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"',
        'printf "%s\\n" "${COMPREPLY[@]}"',
    ]) + "\n"
    out = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True, text=True,
                         timeout=30, cwd=HERE)
    assert out.returncode == 0, out.stderr
    return sorted(word for word in out.stdout.split("\n") if word)


class BashCompletion(unittest.TestCase):
    def test_the_commands_are_read_from_help(self):
        self.assertIn("ping", commands())
        self.assertIn("export", commands())
        self.assertGreaterEqual(len(commands()), 15)

    def test_every_command_tokenctl_knows_is_completed(self):
        self.assertEqual(complete(""), sorted(commands()))

    def test_prefixes(self):
        self.assertEqual(complete("get-"), ["get-context", "get-token"])
        self.assertEqual(complete("im"), ["import"])
        self.assertEqual(complete("--json", "st"), ["start-flow", "stats"])
        self.assertEqual(complete("--socket", "/tmp/x.sock", "pi"), ["ping"])
        self.assertEqual(complete("--js"), ["--json"])
        self.assertEqual(complete("list-users", "--a"), ["--all"])
        self.assertEqual(complete("export", "--w"), ["--without-refresh-tokens"])
        self.assertEqual(complete("frobnicate-nothing"), [])

    def test_every_option_of_every_command_is_completed(self):
        globals_ = set(long_options())
        self.assertTrue({"--socket", "--json", "--timeout", "--version"} <= globals_, globals_)
        self.assertTrue(globals_ <= set(complete("--")), set(complete("--")))
        for command in commands():
            with self.subTest(command=command):
                offered = set(complete(command, "--"))
                self.assertTrue(set(long_options(command)) <= offered, (long_options(command), offered))
                self.assertTrue(globals_ - {"--version"} <= offered | {"--help"}, offered)

    def test_files_after_import(self):
        self.assertIn("test_completion.py", complete("import", "test_comp"))


class ZshCompletion(unittest.TestCase):
    def test_it_parses_and_lists_every_command(self):
        out = subprocess.run(["zsh", "-n", ZSH_SCRIPT], capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        with open(ZSH_SCRIPT) as f:
            listed = re.findall(r"^  '([a-z-]+):", f.read(), re.MULTILINE)
        self.assertEqual(sorted(listed), sorted(commands()))


if __name__ == "__main__":
    unittest.main()
