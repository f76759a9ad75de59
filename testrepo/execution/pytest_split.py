"""One collection, split between worker 0 and the workers it forks.

Collecting a pytest suite is mostly importing its test files.  Worker 0
(``--send-ids`` with ``--fork-slots``) first *walks* the suite: pytest
collects every directory, importing its conftest files, and builds a node
for each test file without importing any.  Then worker 0 forks the slots'
workers (:mod:`testrepo.execution.pytest_fork`) and each process imports
only its *share*: consecutive files of the walk, about equal in bytes.  A
forked worker sends worker 0 the ids it collected (:func:`send_share`);
worker 0 lists the suite in the walk's order of files (:func:`merge`) and
tells the pool which worker holds which files, and the file queue then
hands each worker its own files first.  The collection still happens once,
but its wall time is divided by the number of workers, and a worker that
is handed a file of another share collects it then, as a worker started
afresh does.

Worker 0 collects the whole suite itself and forks afterwards (each forked
worker then holds every file) when splitting could change what pytest
does (:func:`why_not_split`): a ``pytest_collection_modifyitems`` or
``pytest_collection_finish`` hook not known to treat items one by one (a
conftest's, pytest-randomly's, ``--lf``) may reorder, choose or count
across the whole suite, so it must see all of it;
arguments naming tests inside a file (``path::name``) need that file
collected to be found.
"""

from __future__ import annotations

import json
import os
from typing import Dict, Iterable, List, Optional, Sequence

# Plugins whose _WHOLE_SUITE_HOOKS look at each item alone (mark it, keep
# or deselect it) or only count them: they do the same on a share as on
# the whole suite.  pytest's FixtureManager reorders items by the parameters of
# higher-scoped fixtures: across files only for session-scoped ones, and the
# file queue keeps each file's tests together anyway (within a file the
# order is the same).
_ITEM_WISE_MODULES = frozenset({
    "_pytest.main",               # --deselect
    "_pytest.mark",               # -k, -m
    "_hypothesis_pytestplugin",   # marks hypothesis tests
    "pytest_benchmark.plugin",    # --benchmark-skip / --benchmark-only
})
_ITEM_WISE_CLASSES = frozenset({
    ("_pytest.fixtures", "FixtureManager"),
    ("_pytest.terminal", "TerminalReporter"),  # counts for its "collected N items"
})
# The hooks that see the collected suite as a whole.
_WHOLE_SUITE_HOOKS = ("pytest_collection_modifyitems", "pytest_collection_finish")
# Active only with --lf/--ff and --nf, which order and choose over the suite.
_INACTIVE_UNLESS = frozenset({
    ("_pytest.cacheprovider", "LFPlugin"),
    ("_pytest.cacheprovider", "NFPlugin"),
})


# What a file weighs besides its bytes: importing even an empty module,
# and building its node, costs something.
FILE_BYTES = 512


def why_not_split(config, ours, files: Optional[Sequence[str]] = None) -> Optional[str]:
    """Why the suite must be collected whole by one process, or None;
    asked before the walk (the hooks known so far) and after it (the
    conftest files' hooks too, and ``files``, the walk's).  ``ours``: the
    worker's own plugin."""
    if files is not None and len(files) < 2:
        return "fewer than two test files"
    if any("::" in str(arg) for arg in config.args):
        return "the arguments name tests inside files"
    for hook in _WHOLE_SUITE_HOOKS:
        for impl in getattr(config.pluginmanager.hook, hook).get_hookimpls():
            if impl.plugin is not ours and not _item_wise(impl.plugin):
                return f"{impl.plugin_name} implements {hook}"
    return None


def _item_wise(plugin) -> bool:
    if getattr(plugin, "__name__", None) in _ITEM_WISE_MODULES:
        return True
    kind = (type(plugin).__module__, type(plugin).__name__)
    if kind in _INACTIVE_UNLESS:
        return not getattr(plugin, "active", True)
    return kind in _ITEM_WISE_CLASSES


def shares(files: Sequence[str], sizes: Sequence[int], count: int) -> List[List[str]]:
    """``files`` cut into ``count`` runs of consecutive files, each about
    the same number of bytes (``sizes``, one per file: :func:`sizes_of`): a
    file's bytes stand for what importing it costs, and neighbouring files
    tend to import the same modules."""
    weights = [size + FILE_BYTES for size in sizes]
    total = sum(weights)
    parts: List[List[str]] = [[] for _ in range(count)]
    done = 0
    for file, weight in zip(files, weights):
        # The share whose slice of the bytes holds this file's middle.
        index = min(count - 1, int((done + weight / 2) * count / total))
        parts[index].append(file)
        done += weight
    return parts


def sizes_of(paths: Iterable) -> List[int]:
    """Each path's size in bytes (0 if it cannot be read)."""
    found = []
    for path in paths:
        try:
            found.append(os.stat(path).st_size)
        except OSError:
            found.append(0)
    return found


def send_share(fd: int, test_ids: List[str], errors: List[str]) -> None:
    """A forked worker's collection, to worker 0 (who reads it with
    :func:`read_share`); closes ``fd``."""
    data = json.dumps({"ids": test_ids, "errors": errors}).encode("utf-8")
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except OSError:
        pass  # worker 0 is gone: the pool ends the run
    finally:
        os.close(fd)


def read_share(fd: int) -> Optional[Dict[str, List[str]]]:
    """What a forked worker sent, or None if it ended first (or was never
    forked); closes ``fd``."""
    chunks = []
    try:
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(fd)
    try:
        share = json.loads(b"".join(chunks))
    except ValueError:
        return None
    return share if isinstance(share, dict) else None


def merge(files: Sequence[str], parts: Iterable[Sequence[str]]) -> List[str]:
    """The suite's listing: each file's ids (from whichever part holds
    them, in that part's order), files in walk order; ids of files the walk
    did not see last, in part order."""
    by_file: Dict[str, List[str]] = {}
    for part in parts:
        for test_id in part:
            by_file.setdefault(test_id.split("::", 1)[0], []).append(test_id)
    listing = [test_id for file in files for test_id in by_file.pop(file, ())]
    for rest in by_file.values():
        listing.extend(rest)
    return listing
