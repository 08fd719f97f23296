"""The package's version: tokend's own (the top CMakeLists.txt's project
version). The ctest entry python.version fails when the two disagree."""

__version__ = "0.1.0"
