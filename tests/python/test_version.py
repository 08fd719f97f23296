"""One version: the package's is tokend's (the top CMakeLists.txt's project())."""

import os
import re
import subprocess
import sys
import unittest

from pyharness import ROOT, SDK, Tokend

sys.path.insert(0, SDK)
import tokend_client  # noqa: E402


def cmake_version():
    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        return re.search(r"project\(tokend VERSION ([0-9.]+)", f.read()).group(1)


class Version(unittest.TestCase):
    def test_the_package_version_is_the_project_version(self):
        self.assertEqual(tokend_client.__version__, cmake_version(),
                         "bump sdk/python/tokend_client/_version.py with the project version")
        if os.environ.get("TOKEND_VERSION"):  # what ctest was configured with
            self.assertEqual(tokend_client.__version__, os.environ["TOKEND_VERSION"])

    def test_the_daemon_reports_the_same_version(self):
        tokend = Tokend(store="memory").start()
        self.addCleanup(tokend.close)
        with tokend_client.TokendClient(tokend.socket) as client:
            self.assertEqual(client.ping().version, tokend_client.__version__)

    def test_the_build_metadata_takes_the_version_from_the_package(self):
        # setuptools reads it from the module (pyproject's dynamic version), not a copy.
        out = subprocess.run([sys.executable, "-c", "import setuptools.config.pyprojecttoml as p; "
                              "print(p.read_configuration('pyproject.toml')['tool']['setuptools']['dynamic'])"],
                             cwd=SDK, capture_output=True, text=True, check=True).stdout
        self.assertIn("tokend_client._version.__version__", out)


if __name__ == "__main__":
    unittest.main()
