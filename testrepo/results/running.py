"""What the workers are running right now, for stages that watch a run
while it goes (hang notices, a progress line).

The executors (the built-in worker pool, command mode's runner) call
``Pipeline.heartbeat(running, now)`` with one :class:`RunningTest` per busy
worker, at least once a second while tests run; ``Pipeline.expect(test_ids,
durations)`` tells the watchers, once, what the run will do.  Watchers are
plain objects with those two methods and write nothing to the repository.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence

# Seconds between heartbeats: executors report what each worker runs at
# least this often.
HEARTBEAT = 1.0


@dataclasses.dataclass(frozen=True)
class RunningTest:
    """``test_id`` has been running on ``worker`` since ``started``
    (``time.monotonic()``)."""

    __test__ = False  # not a unittest class

    worker: int
    test_id: str
    started: float


class Watcher:
    """The interface of a stage that watches a run (no-op defaults)."""

    def expect(self, test_ids: Sequence[str], durations: Mapping[str, float]) -> None:
        """The run's selected tests, and their recorded seconds (possibly none)."""

    def heartbeat(self, running: Sequence[RunningTest], now: float) -> None:
        """``running``: the busy workers' current tests; ``now``: monotonic."""
