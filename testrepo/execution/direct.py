"""Running one named test without listing the suite: ``run --no-discover
TEST`` and ``run --pdb TEST``.

A test is named by its dotted id (``tests.test_x.TestX.test_a``) or, as
stestr and pytest users type it, by path (``tests/test_x.py::TestX::test_a``);
:func:`dotted_name` turns the second form into the first.

:func:`run_in_process` runs the named test(s) in *this* process, in the
foreground: stdin, stdout and stderr are the terminal's, nothing is
captured, so ``import pdb; pdb.set_trace()`` in a test (or ``breakpoint()``)
stops there and can be used. Results still go through the built-in
runner's frames, so they are stored and shown like any run's.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import unittest
from typing import List

from testrepo import errors
from testrepo.execution import protocol
from testrepo.results.outcome import TestOutcome


def dotted_name(test: str) -> str:
    """``tests/test_x.py::TestX::test_a`` -> ``tests.test_x.TestX.test_a``;
    a dotted id is returned unchanged::

        dotted_name('./tests/unit/test_x.py')   -> 'tests.unit.test_x'
        dotted_name('tests.test_x.TestX.test_a') -> 'tests.test_x.TestX.test_a'
    """
    name = test.strip()
    path, sep, rest = name.partition("::")
    if "/" in path or os.sep in path or path.endswith(".py"):
        path = os.path.normpath(path)
        if path.endswith(".py"):
            path = path[:-3]
        path = path.replace(os.sep, ".").replace("/", ".").lstrip(".")
    parts = [path] + ([part for part in rest.split("::") if part] if sep else [])
    return ".".join(parts)


class _FrameSink(io.RawIOBase):
    """A binary stream the worker's FrameResult writes to; each complete
    frame becomes a TestOutcome for ``sink`` at once."""

    def __init__(self, sink):
        super().__init__()
        self._sink = sink
        self._unread = b""

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._unread += bytes(data)
        messages, used = protocol.parse_messages(self._unread)
        self._unread = self._unread[used:]
        for kind, message, payload in messages:
            if kind == protocol.TEST:
                _, test_id, status, start, stop, _size, has_details = message
                self._sink.add_outcome(TestOutcome(test_id, status, 0, start, stop, payload,
                                                   has_details))
        return len(data)


@contextlib.contextmanager
def in_project(top_dir: str, directory: str):
    """Import from ``top_dir`` and work in ``directory`` (the project, as a
    worker would), both restored afterwards."""
    with _importable_from(top_dir), _working_directory(directory):
        yield


def load_tests(name: str, top_dir: str) -> list:
    """The test cases dotted ``name`` (a module, class or test) names; an
    import or attribute error is an ExecutionError. Call inside
    :func:`in_project`."""
    from testrepo.execution.worker import iter_tests

    loader = unittest.TestLoader()
    suite = loader.loadTestsFromName(name)
    if loader.errors:
        raise errors.ExecutionError(
            f"cannot load test '{name}' from {top_dir}; fix the error below",
            detail="\n".join(loader.errors))
    return list(iter_tests(suite))


def run_in_process(tests: list, sink) -> List[str]:
    """Run ``tests`` here, in the foreground, output not captured; each
    result goes to ``sink.add_outcome`` as it finishes. Returns their ids."""
    from testrepo.execution.frame_result import FrameResult

    result = FrameResult(_FrameSink(sink), 0, capture=None)
    unittest.TestSuite(tests).run(result)
    return [test.id() for test in tests]


@contextlib.contextmanager
def _importable_from(top_dir: str):
    sys.path.insert(0, top_dir)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(top_dir)


@contextlib.contextmanager
def _working_directory(directory: str):
    """Tests expect to run in the project directory, as in a worker."""
    previous = os.getcwd()
    os.chdir(directory)
    try:
        yield
    finally:
        os.chdir(previous)
