"""Write a starting ``.testr.conf`` for a project (``testr init --write-config``).

The file configures the built-in runner (unittest discovery of
``test*.py``) with the ``test_path`` and ``top_dir`` that fit the project:

=========================================  =====================  ===========
project                                    test_path              top_dir
=========================================  =====================  ===========
``tests/`` (or ``test/``) with test files  ``./tests``            ``./``, or
                                                                  ``./tests``
                                                                  if it has no
                                                                  ``__init__.py``
one package with test files (``pkg/``)     ``./pkg``              ``./``
the same under ``src/``                    ``./src/pkg``          ``./src``
several such packages                      ``./`` (``./src``)     ``./``
                                                                  (``./src``)
=========================================  =====================  ===========
"""

from __future__ import annotations

import dataclasses
import os
from typing import Optional

from testrepo import config as config_module
from testrepo import errors

FILE_NAME = ".testr.conf"
TEST_DIRS = ("tests", "test")
# Directories never searched for test files.
_SKIPPED_DIRS = frozenset({"build", "dist", "node_modules", "site-packages", "venv"})


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where the built-in runner should discover tests."""

    test_path: str
    top_dir: str


def detect(directory: str) -> Layout:
    """The Layout for the project in ``directory`` (see the module table).

    Raises UsageError when no test file is found.
    """
    for name in TEST_DIRS:
        path = os.path.join(directory, name)
        if os.path.isdir(path) and has_test_files(path):
            is_package = os.path.isfile(os.path.join(path, "__init__.py"))
            return Layout(f"./{name}", "./" if is_package else f"./{name}")
    for root in ("src", ""):
        layout = _package_layout(directory, root)
        if layout is not None:
            return layout
    raise errors.UsageError(
        f"No test files (test*.py) found in {directory}: looked in tests/, test/ and in "
        f"packages (also under src/). Run this in the project's top directory, or write "
        f"{FILE_NAME} by hand (doc/configuration.rst).")


def _package_layout(directory: str, root: str) -> Optional[Layout]:
    base = os.path.join(directory, root) if root else directory
    if not os.path.isdir(base):
        return None
    packages = [name for name in sorted(os.listdir(base))
                if os.path.isfile(os.path.join(base, name, "__init__.py"))
                and has_test_files(os.path.join(base, name))]
    top_dir = f"./{root}" if root else "./"
    if len(packages) == 1:
        return Layout(f"{top_dir.rstrip('/')}/{packages[0]}", top_dir)
    if packages:
        return Layout(top_dir, top_dir)
    return None


def has_test_files(path: str) -> bool:
    """True if a ``test*.py`` file is somewhere under ``path`` (hidden
    directories, virtualenvs and build output are not searched)."""
    for _, dirs, files in os.walk(path):
        dirs[:] = [name for name in dirs
                   if not name.startswith((".", "__")) and name not in _SKIPPED_DIRS]
        if any(name.startswith("test") and name.endswith(".py") for name in files):
            return True
    return False


def render(layout: Layout) -> str:
    """The text of a ``.testr.conf`` for ``layout``."""
    return (
        "[DEFAULT]\n"
        "# Written by `testr init --write-config`. The built-in runner discovers\n"
        "# unittest tests in test*.py files under test_path; top_dir is the\n"
        "# directory imports start from. Every option: doc/configuration.rst.\n"
        f"test_path={layout.test_path}\n"
        f"top_dir={layout.top_dir}\n"
    )


@dataclasses.dataclass(frozen=True)
class Written:
    """The file ``write`` created and the layout it configures."""

    path: str
    layout: Layout


def write(directory: str) -> Written:
    """Write ``directory/.testr.conf`` for the detected layout.

    Refuses (ConfigError) if any configuration testr would read is there
    (``.testr.conf``, ``[tool.testr]``, ``.stestr.conf`` ...).
    """
    path = os.path.join(directory, FILE_NAME)
    existing = FILE_NAME if os.path.exists(path) else config_module.load(directory).source
    if existing is not None:
        raise errors.ConfigError(
            f"{existing} already configures testr in {directory}; edit it, or remove it "
            "and run `testr init --write-config` again.")
    layout = detect(directory)
    try:
        with open(path, "x", encoding="utf-8") as stream:
            stream.write(render(layout))
    except FileExistsError as err:
        raise errors.ConfigError(
            f"{path} was created meanwhile; edit it, or remove it and try again.") from err
    except OSError as err:
        raise errors.ConfigError(f"Cannot write {path} ({err.strerror or err}).") from err
    return Written(path, layout)
