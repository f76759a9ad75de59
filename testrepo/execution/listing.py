"""Listing a project's test ids once, before scheduling."""

from __future__ import annotations

import subprocess
from typing import List

from testrepo.results.stream import StreamResult

from testrepo import errors
from testrepo.execution.commands import Command

_V2_SIGNATURE = 0xB3


class _EnumerationCollector(StreamResult):
    """Collects ``exists`` events (ids) and any attached text (import errors)."""

    def __init__(self):
        super().__init__()
        self.test_ids: List[str] = []
        self.text: List[str] = []

    def status(self, test_id=None, test_status=None, file_bytes=None, **kwargs):
        if test_status == "exists" and test_id is not None:
            self.test_ids.append(test_id)
        if file_bytes:
            self.text.append(bytes(file_bytes).decode("utf-8", "replace"))


def parse_listing(data: bytes) -> List[str]:
    """Test ids from a listing: a v2 stream of ``exists`` events, or text
    with one id per line (testr accepts both)."""
    if data[:1] == bytes([_V2_SIGNATURE]):
        return _parse_enumeration(data).test_ids
    text = data.decode("utf-8", "replace")
    return [line.strip() for line in text.splitlines() if line.strip()]


def _parse_enumeration(data: bytes) -> _EnumerationCollector:
    from testrepo.results.stream import show

    collector = _EnumerationCollector()
    show(data, collector)
    return collector


def read_test_ids(command: Command) -> List[str]:
    """Run the listing command and return the ids in the order listed.

    A listing that fails (an import error, a bad command) is an
    :class:`~testrepo.errors.ExecutionError` carrying the command's output.
    """
    try:
        proc = subprocess.run(command.args, shell=command.shell, cwd=command.cwd,
                              stdin=subprocess.DEVNULL, capture_output=True)
    except OSError as err:
        raise errors.ExecutionError(
            f"cannot start the listing command `{command.describe()}`: {err}") from err
    if proc.returncode != 0:
        detail = _failure_detail(proc.stdout, proc.stderr)
        raise errors.ExecutionError(
            f"listing tests failed: `{command.describe()}` exited with "
            f"{proc.returncode}; fix the error below (often an import error) "
            "and run again", detail=detail)
    return parse_listing(proc.stdout)


def _failure_detail(stdout: bytes, stderr: bytes) -> str:
    parts = [stderr.decode("utf-8", "replace").rstrip()]
    if stdout[:1] == bytes([_V2_SIGNATURE]):
        parts.extend(text.rstrip() for text in _parse_enumeration(stdout).text)
    else:
        parts.append(stdout.decode("utf-8", "replace").rstrip())
    return "\n".join(part for part in parts if part)
