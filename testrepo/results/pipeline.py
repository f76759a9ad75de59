"""The one place where a run's StreamResult stages are wired together::

    worker stdout ─ByteStreamToStreamResult─▶ worker tagging (route code, worker-N)
      ─▶ CopyStreamResult([ repository inserter (v2 bytes, counts, durations, failing set),
                            TraceReporter (live lines, failure details) or v2 to stdout,
                            WorkerBalance (per-worker counts and busy time) ])
"""

from __future__ import annotations

from typing import BinaryIO, Optional, TextIO

import testtools

from testrepo.reports.trace import TraceReporter, WorkerBalance


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


class Pipeline:
    """The stages of one run; ``result`` is what events are fed to."""

    def __init__(self, inserter, out: TextIO, *, show_passes: bool = True,
                 color: bool = False, subunit_out: Optional[BinaryIO] = None):
        import subunit

        self.inserter = inserter
        self.balance = WorkerBalance()
        if subunit_out is not None:
            self.display = subunit.StreamResultToBytes(subunit_out)
        else:
            self.display = TraceReporter(out, show_passes=show_passes, color=color)
        stages = [stage for stage in (inserter, self.display, self.balance) if stage is not None]
        self.result = testtools.CopyStreamResult(stages)
