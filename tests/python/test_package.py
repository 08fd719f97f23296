"""sdk/python is a real package: it installs offline with Debian's
setuptools into a fresh virtualenv, carries py.typed and its version, works
from there against the real daemon, and imports without Flask or pydantic."""

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest
import zipfile

from pyharness import SDK, Tokend

sys.path.insert(0, SDK)
import tokend_client  # noqa: E402


class Install(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tokend-py-", dir="/tmp")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def run_checked(self, argv, **kwargs):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=240, **kwargs)
        self.assertEqual(done.returncode, 0, f"{argv}\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def test_pip_installs_it_offline_into_a_fresh_virtualenv(self):
        # A copy, so that the build's own files (build/, *.egg-info) stay out of the tree.
        source = os.path.join(self.dir, "src")
        shutil.copytree(SDK, source, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
        venv = os.path.join(self.dir, "venv")
        self.run_checked(["/usr/bin/python3", "-m", "venv", "--system-site-packages", venv])
        python = os.path.join(venv, "bin", "python")
        env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
        self.run_checked([python, "-m", "pip", "install", "--no-build-isolation", "--no-index", source], env=env)

        tokend = Tokend(store="memory").start()
        self.addCleanup(tokend.close)
        probe = textwrap.dedent("""
            import importlib.metadata, os, sys, tokend_client
            here = os.path.dirname(tokend_client.__file__)
            assert here.startswith(sys.prefix), here
            assert os.path.exists(os.path.join(here, "py.typed")), "no py.typed"
            print(importlib.metadata.version("tokend-client"))
            client = tokend_client.TokendClient()          # $TOKEND_SOCKET
            client.set_user_context("u1", {"user_id": "u1", "tokens": {"access_token": "A"}})
            print(client.get_token("u1").user_id, client.ping().protocol)
        """)
        out = self.run_checked([python, "-c", probe], cwd=self.dir,
                               env=dict(os.environ, TOKEND_SOCKET=tokend.socket, PYTHONPATH=""))
        self.assertEqual(out.split(), [tokend_client.__version__, "u1", "1"])

    def test_debians_python_builds_a_wheel_offline(self):
        source = os.path.join(self.dir, "src")
        shutil.copytree(SDK, source, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
        wheels = os.path.join(self.dir, "dist")
        self.run_checked(["/usr/bin/python3", "-m", "pip", "wheel", "--no-build-isolation", "--no-index",
                          "--no-deps", "-w", wheels, source],
                         env=dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1"))
        built = os.listdir(wheels)
        self.assertEqual(built, [f"tokend_client-{tokend_client.__version__}-py3-none-any.whl"])
        with zipfile.ZipFile(os.path.join(wheels, built[0])) as wheel:
            names = wheel.namelist()
        for module in ("py.typed", "aio.py", "client.py", "json_client.py", "manager.py", "models.py"):
            self.assertIn(f"tokend_client/{module}", names)


BLOCKER = textwrap.dedent("""
    import importlib.abc, sys
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("flask", "pydantic", "werkzeug"):
                raise ImportError("blocked for this test: " + name)
    sys.meta_path.insert(0, Block())
""")


class OptionalImports(unittest.TestCase):
    def test_it_imports_and_works_without_flask_or_pydantic(self):
        tokend = Tokend(store="memory").start()
        self.addCleanup(tokend.close)
        script = BLOCKER + textwrap.dedent("""
            import tokend_client
            from tokend_client import YAMLTokenManager, UserContext, Tokens
            assert "flask" not in sys.modules and "pydantic" not in sys.modules
            manager = YAMLTokenManager("bot-token", None, "users")
            manager.set_user_context(user_id="u1", user_context=UserContext(user_id="u1", tokens=Tokens(access_token="A")))
            print(manager.get_user_context(user_id="u1").tokens.access_token)
            try:
                manager.redirect()
            except RuntimeError as error:
                print(error)
        """)
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, TOKEND_SOCKET=tokend.socket, PYTHONPATH=SDK))
        self.assertEqual(done.returncode, 0, done.stderr)
        lines = done.stdout.splitlines()
        self.assertEqual(lines[0], "A")
        self.assertIn("needs Flask", lines[1])


if __name__ == "__main__":
    unittest.main()
