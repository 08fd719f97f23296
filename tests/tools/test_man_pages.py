"""Issue 18 item 3: the man pages the build makes (tokend(8) and tokenctl(1) by
help2man, tokend.yml(5) from docs/configuration.md) render without a warning
from groff or man, and say what they must."""

import gzip
import os
import re
import subprocess
import unittest

MAN_DIR = os.environ["TOKEND_MAN_DIR"]
TOKENCTL = os.environ["TOKENCTL_BIN"]
PAGES = {"tokend.8": ["--check-config", "--config", "SIGHUP", "EXIT STATUS", "tokend.yml(5)"],
         "tokenctl.1": ["Exit codes", "try again later", "--without-refresh-tokens", "TOKEND_SOCKET",
                        "COMMANDS", "import FILE", "vendor-completions"],
         "tokend.yml.5": ["THE EMBEDDED DEFAULT", "refresh_token_readers", "SEE ALSO", "read_margin"]}


def plain(text):
    """man's output as plain words: no overstrike, no hyphenation at line ends."""
    text = re.sub(r".\x08", "", text)
    text = re.sub(r"[\u2010-]\n\s*", "", text)
    return re.sub(r"\s+", " ", text)


def render(page, *tool):
    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8", MANPAGER="cat", PAGER="cat")
    return subprocess.run(list(tool), capture_output=True, text=True, timeout=60, env=env)


class ManPages(unittest.TestCase):
    def test_each_page_renders_without_warnings(self):
        for page, expected in PAGES.items():
            path = os.path.join(MAN_DIR, page)
            with self.subTest(page=page):
                out = render(page, "groff", "-man", "-Tutf8", "-ww", "-z", path)
                self.assertEqual((out.returncode, out.stderr), (0, ""))
                out = render(page, "man", "--warnings", "-l", path)
                self.assertEqual((out.returncode, out.stderr), (0, ""))
                text = plain(out.stdout)
                for part in expected:
                    self.assertIn(part, text)
                with gzip.open(path + ".gz", "rt") as f:  # what is installed
                    with open(path) as source:
                        self.assertEqual(f.read(), source.read())

    def test_the_help_title_is_not_repeated_in_the_description(self):
        # help2man copies CLI11's "prog: description" line; NAME says it already.
        for page, title in (("tokend.8", "tokend: holds"), ("tokenctl.1", "tokenctl: talk")):
            with self.subTest(page=page):
                with open(os.path.join(MAN_DIR, page)) as f:
                    self.assertNotIn(title, f.read())

    def test_tokenctl_1_names_every_command(self):
        out = subprocess.run([TOKENCTL, "--help"], capture_output=True, text=True, timeout=30)
        commands = re.search(r"^Subcommands:\n((?:[ \t]+.*\n?)*)", out.stdout, re.MULTILINE).group(1)
        text = plain(render("tokenctl.1", "man", "-l", os.path.join(MAN_DIR, "tokenctl.1")).stdout)
        for line in commands.splitlines():
            if line.strip():
                self.assertIn(line.split()[0], text)


if __name__ == "__main__":
    unittest.main()
