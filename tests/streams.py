"""Subunit v2 streams with chosen results and timestamps.

Report tests need runs that differ in known ways (a 5x slowdown, a flaky
test) without sleeping or depending on machine speed, so they build the
streams here and store them with ``testr load`` (stream N becomes worker N).
"""

from __future__ import annotations

import dataclasses
import datetime
import io
from typing import Iterable, List, Optional

import subunit.v2

from tests.harness import run_cli

EPOCH = datetime.datetime(2024, 1, 1, 12, 0, tzinfo=datetime.timezone.utc)
TEXT = "text/plain;charset=utf8"
TRACEBACK = 'text/x-traceback; charset="utf8"; language="python"'


@dataclasses.dataclass
class Result:
    """One test execution: seconds from the stream's base time to its
    start, its duration, and optional attachments."""

    test_id: str
    status: str = "success"
    duration: float = 0.01
    start: Optional[float] = None  # None: right after the previous result
    traceback: Optional[str] = None
    stdout: Optional[str] = None
    stderr: Optional[str] = None
    reason: Optional[str] = None


def failure(test_id: str, message: str = "it broke", **kwargs) -> Result:
    traceback = ("Traceback (most recent call last):\n"
                 f'  File "sample/test_x.py", line 3, in {test_id.rsplit(".", 1)[-1]}\n'
                 f"AssertionError: {message}\n")
    return Result(test_id, "fail", traceback=traceback, **kwargs)


def error(test_id: str, message: str = "boom", **kwargs) -> Result:
    traceback = ("Traceback (most recent call last):\n"
                 f'  File "sample/test_x.py", line 9, in {test_id.rsplit(".", 1)[-1]}\n'
                 f"RuntimeError: {message}\n")
    return Result(test_id, "fail", traceback=traceback, **kwargs)


def stream_bytes(results: Iterable[Result], base: datetime.datetime = EPOCH) -> bytes:
    """The v2 events of ``results``, one after another unless a result
    names its ``start``."""
    sink = io.BytesIO()
    encoder = subunit.v2.StreamResultToBytes(sink)
    clock = 0.0
    for result in results:
        start = clock if result.start is None else result.start
        clock = start + result.duration
        _emit(encoder, result, base + datetime.timedelta(seconds=start),
              base + datetime.timedelta(seconds=clock))
    return sink.getvalue()


def _emit(encoder, result: Result, started, stopped) -> None:
    encoder.status(test_id=result.test_id, test_status="inprogress", timestamp=started)
    for name, text, mime in (("traceback", result.traceback, TRACEBACK),
                             ("stdout", result.stdout, TEXT), ("stderr", result.stderr, TEXT),
                             ("reason", result.reason, TEXT)):
        if text is not None:
            encoder.status(test_id=result.test_id, file_name=name,
                           file_bytes=text.encode("utf-8"), mime_type=mime, eof=True,
                           timestamp=stopped)
    encoder.status(test_id=result.test_id, test_status=result.status, timestamp=stopped)


def load_run(project, *workers: List[Result], base: datetime.datetime = EPOCH,
             extra_args=()) -> tuple:
    """Store one run made of one stream per worker with ``testr load``;
    returns the command's (exit code, stdout, stderr)."""
    paths = []
    for index, results in enumerate(workers):
        path = project.write(f"streams/worker-{index}.subunit", "")
        with open(path, "wb") as handle:
            handle.write(stream_bytes(results, base))
        paths.append(path)
    return run_cli(project.path, "load", "--force-init", "--quiet", *extra_args, *paths)


def run_results(*results: Result, label: str = "run", run_id=None, record=None,
                base: datetime.datetime = EPOCH):
    """``results`` parsed back into a :class:`RunResults`, as a report sees them."""
    from testrepo.reports.outcomes import AttemptCollector

    collector = AttemptCollector()
    subunit.v2.ByteStreamToStreamResult(io.BytesIO(stream_bytes(results, base))).run(collector)
    return collector.results(label, run_id, record)
