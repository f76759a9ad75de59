"""Removing runs: what the index becomes when some runs are taken out, as
if they had never been inserted (``Repository.remove_runs`` documents the
rules). The plan is worked out here from the remaining runs' streams; each
backend applies it atomically in its ``_remove``.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Dict, FrozenSet, List, Mapping, Optional, Tuple

from testrepo.repository.records import RunRecord
from testrepo.repository.tally import RunTally, TallyResult

if TYPE_CHECKING:
    from testrepo.repository.abstract import Repository


@dataclasses.dataclass(frozen=True)
class RemovalPlan:
    """What removing ``run_ids`` does to the index, worked out from the
    runs that remain (``Repository.remove_runs`` documents the rules).

    ``seen_ids``: every stored run id the plan was computed from.
    ``failing``: the new failing set, {test id: (events, run id that failed
    it)}, or None to leave it unchanged. ``durations``: for each test whose
    duration a removed run measured, the replacement (seconds, run id), or
    None to forget its duration.
    """

    run_ids: FrozenSet[int]
    seen_ids: Tuple[int, ...]
    failing: Optional[Mapping[str, Tuple[bytes, int]]]
    durations: Mapping[str, Optional[Tuple[float, int]]]


def plan_removal(repository: "Repository", removed: FrozenSet[int],
                 records: List[RunRecord]) -> RemovalPlan:
    """The plan for removing ``removed`` from ``repository``, whose stored
    runs are ``records`` (in run id order)."""
    remaining = [record for record in records if record.run_id not in removed]
    tallies = _Tallies(repository)
    return RemovalPlan(
        run_ids=removed,
        seen_ids=tuple(record.run_id for record in records),
        failing=_failing_without(removed, remaining, tallies),
        durations=_durations_without(repository, removed, remaining, tallies))


def _failing_without(removed, remaining, tallies):
    full_ids = [r.run_id for r in remaining if not (r.partial or r.interrupted)]
    if full_ids and full_ids[-1] > max(removed):
        return None  # the failing set was rebuilt after every removed run
    start = full_ids[-1] if full_ids else -1
    failing: Dict[str, Tuple[bytes, int]] = {}
    for record in remaining:
        if record.run_id < start:
            continue
        update = tallies(record.run_id).pending(record.partial, record.interrupted, {}).failing
        if update.replace_all:
            failing.clear()
        for test_id in update.cleared:
            failing.pop(test_id, None)
        failing.update((test_id, (data, record.run_id))
                       for test_id, data in update.failed.items())
    return failing


def _durations_without(repository, removed, remaining, tallies):
    # A duration row names the newest run that timed its test, so only
    # older remaining runs can supply a replacement: search newest first.
    lost = set(repository._timed_by(removed))
    found: Dict[str, Optional[Tuple[float, int]]] = {}
    for record in reversed(remaining):
        if not lost:
            break
        durations = tallies(record.run_id).durations
        for test_id in lost.intersection(durations):
            found[test_id] = (durations[test_id], record.run_id)
        lost.difference_update(durations)
    found.update((test_id, None) for test_id in lost)
    return found


class _Tallies:
    """The RunTally of each stored run, replayed from its stream once."""

    def __init__(self, repository: "Repository"):
        self._repository = repository
        self._tallies: Dict[int, RunTally] = {}

    def __call__(self, run_id: int) -> RunTally:
        if run_id not in self._tallies:
            result = TallyResult()
            self._repository.get_run(run_id).replay(result)
            self._tallies[run_id] = result.tally
        return self._tallies[run_id]
