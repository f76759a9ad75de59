"""The one place where a run's result stages are wired together::

    external test command (command mode, ``load``):
      worker stdout ─ByteStreamToStreamResult─▶ worker tagging (route code, worker-N)
        ─▶ result = CopyStreamResult([ repository inserter, display, WorkerBalance ])

    built-in runner (frames, see execution/protocol.py):
      WorkerPool ─add_outcome / add_output─▶ the same three stages

``display`` is the live :class:`TraceReporter`, or, with ``--subunit``, a
writer of the merged v2 stream to stdout.
"""

from __future__ import annotations

from typing import BinaryIO, Optional, TextIO

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
                 abbreviate: bool = False, attachments: str = "default"):
        self.inserter = inserter
        self.balance = WorkerBalance()
        if subunit_out is not None:
            self.display = SubunitWriter(subunit_out)
        else:
            # filter_tags: the inserter does not count them; neither do we show them.
            self.display = TraceReporter(
                out, show_passes=show_passes, color=color, abbreviate=abbreviate,
                attachments=attachments, hidden_tags=getattr(inserter, "hidden_tags", ()))
        self.result = Fanout([inserter, self.display, self.balance])
        # Bound once: add_outcome runs once per test.
        self._add_outcome = (inserter.add_outcome, self.display.add_outcome,
                             self.balance.add_outcome)

    def add_outcome(self, outcome) -> None:
        for add in self._add_outcome:
            add(outcome)

    def flush(self) -> None:
        """The run is waiting for workers: push stored and shown results out."""
        self.inserter.flush()
        flush = getattr(self.display, "flush", None)
        if flush is not None:
            flush()

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
