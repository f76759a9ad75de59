"""Compare two runs: what a change broke, fixed, added, removed or slowed.

Categories, for test ids in OLD and/or NEW (a test's status in a run is
its last attempt's; skips neither pass nor fail):

``new-failures``   fail in NEW and did not fail in OLD (including tests
                   that are new in NEW): what the change broke.
``fixed``          failed in OLD, pass in NEW.
``still-failing``  fail in both.
``added``          in NEW only.   ``removed``  in OLD only.
``slower``/``faster``  ran (passed or failed, not skipped) in both with a
                   known duration, and the change is significant by
                   :class:`Thresholds` (both the ratio and the absolute
                   difference must be exceeded, so tiny tests jittering
                   from 1 ms to 5 ms are not reported).
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Dict, List, Optional, TextIO, Tuple

from testrepo.options import COMPARE_CATEGORIES
from testrepo.reports.outcomes import RunResults

CATEGORIES = COMPARE_CATEGORIES


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """A duration change is significant when the longer time is at least
    ``ratio`` times the shorter AND they differ by ``absolute`` seconds."""

    ratio: float = 2.0
    absolute: float = 0.5

    def significant(self, old: float, new: float) -> bool:
        low, high = sorted((old, new))
        return high - low >= self.absolute and high >= self.ratio * low


@dataclasses.dataclass(frozen=True)
class TimingChange:
    test_id: str
    old: float
    new: float

    @property
    def ratio(self) -> Optional[float]:
        """new / old; None when the old time was 0."""
        return self.new / self.old if self.old > 0 else None


@dataclasses.dataclass(frozen=True)
class Side:
    """Which run one side of a comparison is, for the report header."""

    label: str
    run_id: Optional[int]
    tests: int
    failed: int
    partial: bool = False
    # Where the run ran (run metadata), so a comparison of runs from a
    # shared repository says which hosts/jobs it compares.
    host: Optional[str] = None
    job: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class Comparison:
    old: Side
    new: Side
    thresholds: Thresholds
    new_failures: Tuple[str, ...]
    fixed: Tuple[str, ...]
    still_failing: Tuple[str, ...]
    added: Tuple[str, ...]
    removed: Tuple[str, ...]
    slower: Tuple[TimingChange, ...]
    faster: Tuple[TimingChange, ...]

    def category(self, name: str) -> tuple:
        """The entries of one of :data:`CATEGORIES`, e.g. ``"new-failures"``."""
        return getattr(self, name.replace("-", "_"))


def _side(results: RunResults) -> Side:
    record = results.record
    failed = sum(1 for outcome in results.outcomes.values() if outcome.failed)
    metadata = getattr(record, "metadata", None) or {}
    return Side(results.label, results.run_id, len(results.outcomes), failed,
                bool(record is not None and getattr(record, "partial", False)),
                metadata.get("host"), metadata.get("job"))


def compare(old: RunResults, new: RunResults, thresholds: Thresholds = Thresholds()) -> Comparison:
    """Classify every test id of ``old`` and ``new`` (see the module doc)."""
    before, after = old.outcomes, new.outcomes
    common = sorted(set(before) & set(after))
    new_failures = sorted(t for t, o in after.items() if o.failed and not
                          (t in before and before[t].failed))
    fixed = [t for t in common if before[t].failed and after[t].passed]
    still_failing = [t for t in common if before[t].failed and after[t].failed]
    changes = _timing_changes(old, new, common, thresholds)
    slower = sorted((c for c in changes if c.new > c.old), key=_by_delta)
    faster = sorted((c for c in changes if c.new < c.old), key=_by_delta)
    return Comparison(
        old=_side(old), new=_side(new), thresholds=thresholds,
        new_failures=tuple(new_failures), fixed=tuple(fixed),
        still_failing=tuple(still_failing),
        added=tuple(sorted(set(after) - set(before))),
        removed=tuple(sorted(set(before) - set(after))),
        slower=tuple(slower), faster=tuple(faster))


def _by_delta(change: TimingChange):
    return (-abs(change.new - change.old), change.test_id)


def _timing_changes(old, new, common, thresholds) -> List[TimingChange]:
    changes = []
    for test_id in common:
        before, after = old.outcomes[test_id], new.outcomes[test_id]
        if before.skipped or after.skipped:
            continue
        if before.duration is None or after.duration is None:
            continue
        if thresholds.significant(before.duration, after.duration):
            changes.append(TimingChange(test_id, before.duration, after.duration))
    return changes


# --- rendering ---------------------------------------------------------------

_TITLES = {
    "new-failures": "New failures",
    "fixed": "Fixed",
    "still-failing": "Still failing",
    "added": "Added",
    "removed": "Removed",
    "slower": "Slower",
    "faster": "Faster",
}


def _describe(side: Side) -> str:
    partial = ", partial" if side.partial else ""
    origin = "".join(f", {name} {value}" for name, value in
                     (("host", side.host), ("job", side.job)) if value)
    return f"{side.label} ({side.tests} tests, {side.failed} failed{partial}{origin})"


def _format_change(change: TimingChange) -> str:
    ratio = "new" if change.ratio is None else f"{change.ratio:.1f}x"
    return f"{change.test_id}  {change.old:.3f}s -> {change.new:.3f}s ({ratio})"


def write_text(comparison: Comparison, out: TextIO) -> None:
    """The human report: a header, one block per non-empty category, and a
    closing one-line summary of all category sizes."""
    thresholds = comparison.thresholds
    out.write(f"Old: {_describe(comparison.old)}\nNew: {_describe(comparison.new)}\n")
    for name in CATEGORIES:
        entries = comparison.category(name)
        if not entries:
            continue
        note = ""
        if name in ("slower", "faster"):
            note = f" (at least {thresholds.ratio:g}x and {thresholds.absolute:g}s)"
        out.write(f"\n{_TITLES[name]}{note}: {len(entries)}\n")
        for entry in entries:
            text = entry if isinstance(entry, str) else _format_change(entry)
            out.write(f"  {text}\n")
    counts = ", ".join(f"{len(comparison.category(name))} {name}" for name in CATEGORIES)
    out.write(f"\nSummary: {counts}\n")


def to_json(comparison: Comparison) -> Dict[str, object]:
    """A JSON-ready dict: ``old``/``new`` (label, run_id, tests, failed,
    partial, host, job), ``thresholds``, and one list per category named with
    underscores (``new_failures`` …); timing entries are objects with
    ``test_id``, ``old``, ``new`` (seconds) and ``ratio`` (null if old was 0)."""
    data: Dict[str, object] = {
        "old": dataclasses.asdict(comparison.old),
        "new": dataclasses.asdict(comparison.new),
        "thresholds": dataclasses.asdict(comparison.thresholds),
    }
    for name in CATEGORIES:
        entries = comparison.category(name)
        data[name.replace("-", "_")] = [
            entry if isinstance(entry, str) else _change_json(entry) for entry in entries]
    return data


def _change_json(change: TimingChange) -> Dict[str, object]:
    ratio = change.ratio
    return {"test_id": change.test_id, "old": round(change.old, 6), "new": round(change.new, 6),
            "ratio": None if ratio is None or math.isinf(ratio) else round(ratio, 3)}


def write_json(comparison: Comparison, out: TextIO) -> None:
    json.dump(to_json(comparison), out, indent=2)
    out.write("\n")


def gate(comparison: Comparison, fail_on) -> List[str]:
    """The categories of ``fail_on`` that are not empty (gate fails if any)."""
    return [name for name in fail_on if comparison.category(name)]
