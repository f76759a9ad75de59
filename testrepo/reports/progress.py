"""The live status line of a run on a terminal.

One line at the bottom of the output, redrawn in place::

    [  120/500] 2 failed | 0:12 elapsed | ETA 0:31 | 0: TestApi.test_post 1.2s | 1: TestUi.test_render 0.3s

* done of total, and the failures so far;
* elapsed wall time, and the time left: from the recorded durations of the
  tests still to run, scaled by how fast the run has gone through the
  recorded durations of the tests done so far (so slower machines and
  parallelism are accounted for); without history, from the run's own pace
  (tests done per second);
* what each busy worker runs, and for how long.

Two pieces: :class:`ProgressWatcher` is a pipeline stage (a
:class:`~testrepo.results.running.Watcher` that also takes the results) and
:class:`StatusLineOutput` wraps the run's text output: it erases the status
line before anything else is written and draws it again once the output is
back at the start of a line, so the line never mixes with the trace. Only
for a terminal (the CLI decides; see ``OutputOptions.progress``).
"""

from __future__ import annotations

import os
import shutil
import statistics
from typing import Dict, Mapping, Optional, Sequence, TextIO

from testrepo.repository.abstract import NON_FINAL_STATUSES, PASSING_STATUSES, SKIPPED_STATUS
from testrepo.results.running import RunningTest, Watcher

ERASE = "\r\x1b[K"
RED = "\x1b[31m"
RESET = "\x1b[0m"
# Redraw on results at most this often (a heartbeat always redraws).
MIN_REDRAW_SECONDS = 0.1


def clock(seconds: float) -> str:
    """``75.2`` -> ``1:15``; ``3725`` -> ``1:02:05``."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def short_id(test_id: str) -> str:
    """The class and method of a dotted id: ``a.b.TestX.test_y`` -> ``TestX.test_y``."""
    return ".".join(test_id.split(".")[-2:])


class StatusLineOutput:
    """A text output with a status line kept below everything written.

    ``write`` erases the status line first; once the output ends with a
    newline, the line is drawn again. ``show(text)`` replaces it (None
    removes it for good, e.g. before the summary).
    """

    def __init__(self, out: TextIO, width: Optional[int] = None):
        self._out = out
        self._width = width
        self._status: Optional[str] = None
        self._drawn = False
        self._at_line_start = True

    def width(self) -> int:
        if self._width is not None:
            return self._width
        return shutil.get_terminal_size((100, 24)).columns

    def _erase(self) -> None:
        if self._drawn:
            self._out.write(ERASE)
            self._drawn = False

    def _draw(self) -> None:
        if self._status is not None and self._at_line_start:
            self._out.write(self._status)
            self._drawn = True
            self._out.flush()

    def write(self, text: str) -> None:
        if not text:
            return
        self._erase()
        self._out.write(text)
        self._at_line_start = text.endswith("\n")
        self._draw()

    def flush(self) -> None:
        self._out.flush()

    def show(self, status: Optional[str]) -> None:
        self._erase()
        self._status = status
        if status is None:
            self._out.flush()
        self._draw()


class ProgressWatcher(Watcher):
    """Counts results and shows the status line through ``output``.

    A StreamResult for command mode's events (``status``) and the built-in
    runner's (``add_outcome``), and a watcher (``expect``, ``heartbeat``).
    ``clock`` is ``time.monotonic``; tests pass their own.
    """

    def __init__(self, output: StatusLineOutput, clock, color: bool = False):
        self._output = output
        self._clock = clock
        self._color = color and not os.environ.get("NO_COLOR")
        self._total = 0
        self._durations: Mapping[str, float] = {}
        self._default = 0.0  # recorded seconds assumed for a test without any
        self._planned = 0.0  # recorded seconds of every expected test
        self._done_work = 0.0  # recorded seconds of the tests done
        self._done = 0
        self._failed = 0
        self._seen: Dict[str, bool] = {}
        self._running: Sequence[RunningTest] = ()
        self._started: Optional[float] = None
        self._last_draw = float("-inf")
        self._stopped = False

    # --- the plan and the workers ----------------------------------------------

    def expect(self, test_ids, durations) -> None:
        test_ids = list(test_ids)
        self._total = len(test_ids)
        self._durations = dict(durations or {})
        known = [self._durations[t] for t in test_ids if t in self._durations]
        self._default = statistics.median(known) if known else 0.0
        self._planned = sum(self._durations.get(t, self._default) for t in test_ids)
        self._draw(self._clock(), force=True)

    def heartbeat(self, running: Sequence[RunningTest], now: float) -> None:
        self._running = running
        self._draw(now, force=True)

    # --- results ---------------------------------------------------------------

    def startTestRun(self):
        self._started = self._clock()

    def stopTestRun(self):
        self._stopped = True
        self._output.show(None)

    def status(self, test_id=None, test_status=None, **_event):
        if test_id is not None and test_status not in NON_FINAL_STATUSES:
            self._finished(test_id, test_status)

    def add_outcome(self, outcome):
        self._finished(outcome.test_id, outcome.status)

    def _finished(self, test_id: str, test_status: str) -> None:
        failed = test_status not in PASSING_STATUSES and test_status != SKIPPED_STATUS
        before = self._seen.get(test_id)
        if before is None:  # a retry counts once, as its latest attempt
            self._done += 1
            self._done_work += self._durations.get(test_id, self._default)
        elif before:
            self._failed -= 1
        self._seen[test_id] = failed
        self._failed += failed
        self._draw(self._clock())

    # --- the line ----------------------------------------------------------------

    def _draw(self, now: float, force: bool = False) -> None:
        if self._stopped or (not force and now - self._last_draw < MIN_REDRAW_SECONDS):
            return
        self._last_draw = now
        self._output.show(self.render(now, self._output.width()))

    def eta(self, now: float) -> Optional[float]:
        """Seconds left, or None while there is nothing to go by."""
        if self._started is None or self._total == 0:
            return None
        elapsed = now - self._started
        if self._planned > 0 and self._done_work > 0:
            # Wall seconds per recorded second so far, times what is left.
            return elapsed / self._done_work * max(0.0, self._planned - self._done_work)
        if self._done:
            return elapsed / self._done * max(0, self._total - self._done)
        return None

    def render(self, now: float, width: int) -> str:
        total = self._total or self._done
        digits = len(str(total))
        parts = [f"[{self._done:>{digits}}/{total}]"]
        failed = f"{self._failed} failed"
        if self._failed and self._color:
            failed = f"{RED}{failed}{RESET}"
        parts.append(failed)
        elapsed = 0.0 if self._started is None else now - self._started
        parts.append(f"{clock(elapsed)} elapsed")
        eta = self.eta(now)
        parts.append("ETA --" if eta is None else f"ETA {clock(eta)}")
        for test in sorted(self._running, key=lambda test: test.worker):
            parts.append(f"{test.worker}: {short_id(test.test_id)} "
                         f"{max(0.0, now - test.started):.1f}s")
        return _fit(" | ".join(parts), width - 1, self._color and bool(self._failed))


def _fit(line: str, width: int, has_colour: bool) -> str:
    """Cut ``line`` to ``width`` visible characters (a longer line would wrap
    and could not be erased in place)."""
    visible = len(line) - (len(RED) + len(RESET) if has_colour else 0)
    if visible <= width:
        return line
    if has_colour:
        line = line.replace(RED, "").replace(RESET, "")
    return line[:max(0, width - 1)] + "…"
