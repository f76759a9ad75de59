"""Static shards: one of N parts of a suite, for N CI machines that each
run ``testr run --shard K/N`` (or are told K and N by their CI).

Every node computes the same split from the same selected ids and the
same recorded durations, without talking to the others: the ids are split
into N parts longest-first into the lightest part, groups kept whole
(:func:`testrepo.scheduler.static.partition`, the split command mode uses
for its workers), and the node runs part K.  Untimed tests are estimated
at the median recorded duration (or all at 1 s with no history), so they
spread evenly over the parts.

The CI protocols (:func:`from_environ`), first found wins:

* Bazel: ``TEST_TOTAL_SHARDS`` and ``TEST_SHARD_INDEX`` (0-based); the
  runner touches ``TEST_SHARD_STATUS_FILE`` to say it shards;
* GitLab ``parallel:``: ``CI_NODE_TOTAL`` and ``CI_NODE_INDEX`` (1-based);
* CircleCI ``parallelism``: ``CIRCLE_NODE_TOTAL`` and ``CIRCLE_NODE_INDEX``
  (0-based).

Pure except :func:`touch_status_file`.
"""

from __future__ import annotations

import dataclasses
from typing import List, Mapping, Optional, Sequence

from testrepo import errors
from testrepo.scheduler.static import GroupOf, partition


@dataclasses.dataclass(frozen=True)
class Shard:
    """Part ``index`` (1-based) of ``total``; ``source`` says where it was
    given (``--shard`` or the CI variables)."""

    index: int
    total: int
    source: str = "--shard"
    status_file: Optional[str] = None  # Bazel's TEST_SHARD_STATUS_FILE

    def __str__(self) -> str:
        return f"{self.index}/{self.total}"


def parse_shard(text: str) -> Shard:
    """``'2/4'`` -> ``Shard(2, 4)``; a UsageError naming the value otherwise."""
    index, slash, total = str(text).partition("/")
    if slash and index.strip().isdigit() and total.strip().isdigit():
        shard = Shard(int(index), int(total))
        if 1 <= shard.index <= shard.total:
            return shard
    raise errors.UsageError(
        f"--shard {text!r}: expected K/N with 1 <= K <= N, e.g. --shard 2/4 for the second "
        "of four parts")


# (CI, total variable, index variable, first index, status file variable)
PROTOCOLS = (
    ("Bazel", "TEST_TOTAL_SHARDS", "TEST_SHARD_INDEX", 0, "TEST_SHARD_STATUS_FILE"),
    ("GitLab", "CI_NODE_TOTAL", "CI_NODE_INDEX", 1, None),
    ("CircleCI", "CIRCLE_NODE_TOTAL", "CIRCLE_NODE_INDEX", 0, None),
)


def from_environ(environ: Mapping[str, str]) -> Optional[Shard]:
    """The shard a CI's variables give, or None (none set, or one node).
    Bad values are a UsageError naming the variables."""
    for ci, total_name, index_name, first, status_name in PROTOCOLS:
        total_text, index_text = environ.get(total_name), environ.get(index_name)
        if total_text is None and index_text is None:
            continue
        source = f"{ci} {index_name}/{total_name}"
        if not (str(total_text).isdigit() and str(index_text).isdigit()):
            raise errors.UsageError(
                f"{source}: {index_name}={index_text!r} and {total_name}={total_text!r} must "
                "both be whole numbers; unset them or pass --shard K/N")
        index, total = int(index_text) - first + 1, int(total_text)
        if not 1 <= index <= total:
            raise errors.UsageError(
                f"{source}: {index_name}={index_text} is outside the {total} shard(s) "
                f"({ci} counts from {first}); pass --shard K/N to override")
        if total == 1:
            return None
        return Shard(index, total, source, environ.get(status_name) if status_name else None)
    return None


def touch_status_file(shard: Shard) -> None:
    """Tell Bazel this runner shards (it fails the test otherwise)."""
    if shard.status_file:
        with open(shard.status_file, "a", encoding="utf-8"):
            pass


def split(test_ids: Sequence[str], total: int, durations: Mapping[str, float],
          group_of: Optional[GroupOf] = None) -> List[List[str]]:
    """All ``total`` parts, each in listing order (see the module docstring)."""
    return partition(test_ids, total, durations, group_of)


def select_shard(test_ids: Sequence[str], shard: Shard, durations: Mapping[str, float],
                 group_of: Optional[GroupOf] = None) -> List[str]:
    """The ids of part ``shard.index``::

        select_shard(['a', 'b', 'c'], Shard(1, 2), {'a': 5.0, 'b': 1.0, 'c': 1.0})
        -> ['a']
    """
    return split(test_ids, shard.total, durations, group_of)[shard.index - 1]


def estimated_seconds(test_ids: Sequence[str], durations: Mapping[str, float]) -> float:
    """The recorded work of ``test_ids`` (untimed ones count nothing)."""
    return sum(durations.get(test_id, 0.0) for test_id in test_ids)


def describe(shard: Shard, chosen: Sequence[str], selected: Sequence[str],
             durations: Mapping[str, float]) -> str:
    """The line a shard's run starts with."""
    mine = estimated_seconds(chosen, durations)
    whole = estimated_seconds(selected, durations)
    timed = f", ~{mine:.0f} s of ~{whole:.0f} s recorded" if whole else ", no durations yet"
    return (f"Shard {shard} (from {shard.source}): {len(chosen)} of {len(selected)} "
            f"test(s){timed}.\n")
