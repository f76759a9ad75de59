"""The one place where a run's result stages are wired together::

    external test command (command mode, ``load``):
      worker stdout ─ByteStreamToStreamResult─▶ worker tagging (route code, worker-N)
        ─▶ result = CopyStreamResult([ repository inserter, display, WorkerBalance ])

    built-in runner (frames, see execution/protocol.py):
      WorkerPool ─add_outcome / add_output─▶ the same three stages

``display`` is the live :class:`TraceReporter`, or, with ``--subunit``, a
writer of the merged v2 stream to stdout.

Beside them, *watchers* (:mod:`testrepo.results.running`) see the run's
plan (``expect``) and what every worker is running (``heartbeat``): the
notices about tests that run far longer than usual, and the progress line.
They only display; nothing they see is stored.
"""

from __future__ import annotations

import time
from typing import BinaryIO, Optional, TextIO

from testrepo.reports.hangs import HangWatcher
from testrepo.reports.progress import ProgressWatcher, StatusLineOutput
from testrepo.reports.trace import TraceReporter, WorkerBalance
from testrepo.repository.abstract import encode_event
from testrepo.results.outcome import output_event
from testrepo.results.stream import Fanout, StreamResult


class TolerantOutput:
    """Wraps the live output so that a reader going away (``testr run |
    head``) stops the display, never the run: results are still stored."""

    def __init__(self, out: TextIO):
        self._out = out
        self.broken = False

    def write(self, text: str) -> None:
        if self.broken:
            return
        try:
            self._out.write(text)
        except (BrokenPipeError, ValueError):
            self.broken = True

    def flush(self) -> None:
        if not self.broken:
            try:
                self._out.flush()
            except (BrokenPipeError, ValueError):
                self.broken = True


class SubunitWriter(StreamResult):
    """``--subunit``: the merged v2 stream on stdout."""

    def __init__(self, out: BinaryIO):
        self._out = out

    def status(self, **event):
        self._out.write(encode_event(**event))

    def flush(self):
        self._out.flush()

    def add_outcome(self, outcome):
        self._out.write(outcome.events)

    def add_raw(self, data: bytes):
        self._out.write(data)


class Pipeline:
    """The stages of one run.  ``result`` takes StreamResult events;
    ``add_outcome``/``add_output`` take the built-in runner's reports."""

    def __init__(self, inserter, out: TextIO, *, show_passes: bool = True,
                 color: bool = False, subunit_out: Optional[BinaryIO] = None,
                 abbreviate: bool = False, attachments: str = "default",
                 progress: bool = False):
        self.inserter = inserter
        self.balance = WorkerBalance()
        # progress: a status line below the trace (a terminal only; the
        # caller decides); the trace then writes through it.
        self.progress = None
        if progress and subunit_out is None:
            out = StatusLineOutput(out)
            self.progress = ProgressWatcher(out, time.monotonic, color)
        if subunit_out is not None:
            self.display = SubunitWriter(subunit_out)
        else:
            # filter_tags: the inserter does not count them; neither do we show them.
            self.display = TraceReporter(
                out, show_passes=show_passes, color=color, abbreviate=abbreviate,
                attachments=attachments, hidden_tags=getattr(inserter, "hidden_tags", ()))
        self.result = Fanout([inserter, self.display, self.balance])
        self.hangs = HangWatcher(self.note)
        self.watchers = [self.hangs]
        # Bound once: add_outcome runs once per test.
        self._add_outcome = (inserter.add_outcome, self.display.add_outcome,
                             self.balance.add_outcome)
        if self.progress is not None:
            # First, so that it erases its line before the summary is written.
            self.result.targets.insert(0, self.progress)
            self.watchers.append(self.progress)
            self._add_outcome = (self.progress.add_outcome,) + self._add_outcome

    def add_outcome(self, outcome) -> None:
        for add in self._add_outcome:
            add(outcome)

    def flush(self) -> None:
        """The run is waiting for workers: push stored and shown results out."""
        self.inserter.flush()
        flush = getattr(self.display, "flush", None)
        if flush is not None:
            flush()

    def expect(self, test_ids, durations) -> None:
        """The run's selected tests and their recorded seconds (watchers)."""
        for watcher in self.watchers:
            watcher.expect(test_ids, durations)

    def heartbeat(self, running, now: float) -> None:
        """What each busy worker runs now (``RunningTest`` items)."""
        for watcher in self.watchers:
            watcher.heartbeat(running, now)

    def interrupted(self, now: float) -> None:
        """Ctrl-C or SIGTERM: say which tests were still running."""
        for line in self.hangs.still_running(now):
            self.note(line)

    def note(self, text: str) -> None:
        """A line from testrepo itself (e.g. a retry starting), shown with
        the live output but not stored."""
        if not isinstance(self.display, SubunitWriter):
            self.display.add_output(text)

    def add_output(self, worker: int, name: str, data: bytes) -> None:
        event = output_event(worker, name, data)
        self.inserter.add_raw(event)
        if isinstance(self.display, SubunitWriter):
            self.display.add_raw(event)
        else:
            self.display.add_output(data.decode("utf-8", "replace"))
