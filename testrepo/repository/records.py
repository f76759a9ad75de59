"""The plain values a repository stores and hands out: a run's
``RunRecord``, how a run changes the failing set (``FailingUpdate``) and
everything an inserter hands its backend on commit (``PendingRun``).
"""

from __future__ import annotations

import dataclasses
import types
from typing import Dict, FrozenSet, Mapping, Optional, Tuple


@dataclasses.dataclass(frozen=True)
class RunRecord:
    """One run's summary, as kept in the index.

    ``passed`` counts success and xfail, ``failed`` counts fail and
    uxsuccess, ``skipped`` counts skip; ``exists`` events and output that
    belongs to no test are not counted. ``duration`` is the seconds from the
    earliest to the latest event timestamp (0.0 if there were none) and
    ``started`` the earliest timestamp in ISO 8601, or None.
    """

    run_id: int
    passed: int
    failed: int
    skipped: int
    duration: float
    started: Optional[str]
    partial: bool
    interrupted: bool
    # Excluded from hashing (a mapping is unhashable) but compared.
    metadata: Mapping[str, str] = dataclasses.field(default_factory=dict, hash=False)

    def __post_init__(self):
        # A read-only copy, so a record handed out cannot be changed by the
        # caller, nor by whoever passed the mapping in.
        object.__setattr__(self, "metadata", types.MappingProxyType(dict(self.metadata)))

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.skipped


@dataclasses.dataclass(frozen=True)
class FailingUpdate:
    """How one run changes the failing set.

    A full run (``replace_all``) makes the failing set exactly ``failed``.
    A partial or interrupted run removes ``cleared`` (tests it passed or
    skipped) and adds or replaces ``failed``; tests it did not run keep
    their entries.
    """

    replace_all: bool
    failed: Mapping[str, bytes]
    cleared: FrozenSet[str]

    def apply(self, failing: Dict[str, bytes]) -> None:
        """Apply this update to a ``{test_id: events}`` dict in place."""
        if self.replace_all:
            failing.clear()
        for test_id in self.cleared:
            failing.pop(test_id, None)
        failing.update(self.failed)


@dataclasses.dataclass(frozen=True)
class PendingRun:
    """Everything a backend stores when an inserter commits, bar the run id."""

    summary: RunRecord  # run_id is -1 until the backend allocates one
    durations: Mapping[str, float]
    failing: FailingUpdate
    # Set when events are appended to stored run ``run_id``
    # (Repository.append): the backend replaces that run instead of
    # allocating an id, and ``run_failures`` are all of the combined run's
    # failures (``failing`` then only holds what the new events change).
    run_id: Optional[int] = None
    run_failures: Optional[Mapping[str, bytes]] = None
    # {test id: (status, start, stop)} of every test in the stored run, for
    # backends that keep per-test rows (Inserter.keep_results); else None.
    results: Optional[Mapping[str, Tuple[str, Optional[float], Optional[float]]]] = None

    def record(self, run_id: int) -> RunRecord:
        return dataclasses.replace(self.summary, run_id=run_id)

    @property
    def failures(self) -> Mapping[str, bytes]:
        """{test id: events} of every test the stored run failed."""
        return self.failing.failed if self.run_failures is None else self.run_failures
