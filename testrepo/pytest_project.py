"""Is this a pytest project?  Decides the built-in runner when no
configuration names one (``runner``) or a ``test_path``.

A project is a pytest project if, in its directory (the first match is
the reason given)::

    pytest.ini                                  exists
    pyproject.toml   has a [tool.pytest.ini_options] or [tool.pytest] table
    tox.ini          has a [pytest] section
    setup.cfg        has a [tool:pytest] section
    conftest.py      exists, or tests/conftest.py does
    tests/ (else .)  a test_*.py or *_test.py file, at most two directories
                     down, defines a module-level test function
                     (``def test_...``), which unittest cannot find

Reads a few small files and never imports pytest: ``testr last`` in a
unittest project pays nothing for it.
"""

from __future__ import annotations

import os
import re
from typing import Optional

# (file, the line that makes it a pytest configuration, or None: exists)
_MARKERS = (
    ("pytest.ini", None),
    ("pyproject.toml", re.compile(r"^\[tool\.pytest(\.ini_options)?\]\s*$", re.MULTILINE)),
    ("tox.ini", re.compile(r"^\[pytest\]\s*$", re.MULTILINE)),
    ("setup.cfg", re.compile(r"^\[tool:pytest\]\s*$", re.MULTILINE)),
    ("conftest.py", None),
    (os.path.join("tests", "conftest.py"), None),
)
_TEST_FUNCTION = re.compile(rb"^(async )?def test", re.MULTILINE)
_SKIPPED_DIRS = frozenset({".git", ".tox", ".nox", "node_modules", "build", "dist",
                           "site-packages", "__pycache__"})
_MAX_DEPTH = 2
_MAX_FILES = 200


def detect(directory: str) -> Optional[str]:
    """Why ``directory`` is a pytest project (a file name), or None."""
    for name, pattern in _MARKERS:
        path = os.path.join(directory, name)
        if not os.path.isfile(path):
            continue
        if pattern is None or pattern.search(_read(path)):
            return name
    return _plain_test_function(directory)


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as source:
            return source.read()
    except OSError:
        return ""


def _plain_test_function(directory: str) -> Optional[str]:
    """The first test file (of at most _MAX_FILES) with a module-level
    test function."""
    tests = os.path.join(directory, "tests")
    top = tests if os.path.isdir(tests) else directory
    seen = 0
    for root, dirs, files in os.walk(top):
        depth = os.path.relpath(root, top).count(os.sep) + (root != top)
        dirs[:] = [] if depth >= _MAX_DEPTH else sorted(
            name for name in dirs if name not in _SKIPPED_DIRS and not name.startswith("."))
        for name in sorted(files):
            if not (name.endswith(".py") and (name.startswith("test_")
                                              or name.endswith("_test.py"))):
                continue
            seen += 1
            if seen > _MAX_FILES:
                return None
            path = os.path.join(root, name)
            try:
                with open(path, "rb") as source:
                    if _TEST_FUNCTION.search(source.read()):
                        return os.path.relpath(path, directory)
            except OSError:
                continue
    return None
