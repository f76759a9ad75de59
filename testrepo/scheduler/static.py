"""Static scheduling: split the selected test ids into one list per worker
before the run starts, using the durations recorded by earlier runs.

The algorithm starts from testrepository's/stestr's ``partition_tests`` (see
ANCHORS.md 2.6) and fixes its flaws: the result does not depend on hash order,
untimed tests are placed by an estimated duration instead of being dealt
round-robin on top of the timed load, and shuffling is a separate, seeded step.
"""

from __future__ import annotations

import heapq
import random
import re
import statistics
from typing import Callable, Dict, List, Mapping, Optional, Sequence

from testrepo.selection import listed_form

GroupOf = Callable[[str], Optional[str]]

# A trailing "[...]" carries tags or scenario parameters
# ("pkg.test_a.TestA.test_x[id-1,smoke]"); durations may be recorded without it.
_TAG_SUFFIX = re.compile(r"\[[^\]]*\]$")


def strip_tags(test_id: str) -> str:
    """``'pkg.TestA.test_x[smoke]'`` -> ``'pkg.TestA.test_x'``; other ids unchanged."""
    return _TAG_SUFFIX.sub("", test_id)


def known_durations(test_ids: Sequence[str],
                    durations: Mapping[str, float]) -> Dict[str, float]:
    """Recorded seconds of each listed test that has some (ids may carry a
    ``[...]`` tag suffix the recorded ones lack)."""
    known = {}
    if not durations:
        return known
    for test_id in test_ids:
        seconds = durations.get(test_id)
        if seconds is None:
            seconds = durations.get(strip_tags(test_id))
        if seconds is not None:
            known[test_id] = seconds
    return known


def group_function(
    group_regex: Optional[re.Pattern], parallel_class: bool = False
) -> Optional[GroupOf]:
    """Return the function that names the group a test id belongs to.

    Tests in one group always run on the same worker, in one block.

    ``parallel_class=True`` groups by class, i.e. everything before the last
    ``'.'`` once a ``[...]`` tag suffix is removed::

        'pkg.test_a.TestA.test_x[id-1.5]'  -> 'pkg.test_a.TestA'
        'pkg.test_a.TestA.test_y'          -> 'pkg.test_a.TestA'
        't/test_a.py::TestA::test_x[1.5]'  -> 't/test_a.py::TestA'  (pytest)
        't/test_a.py::test_f'              -> 't/test_a.py'

    It wins over ``group_regex``.  With only ``group_regex``, the group is the
    text the regex matches at the start of the id (``re.match``), and an id it
    does not match is in no group (``None``)::

        re.compile(r'^[^.]+\\.[^.]+')
        'pkg.test_a.TestA.test_x' -> 'pkg.test_a'
        'other'                   -> None

    Returns ``None`` when neither is given: every test is its own group.
    """
    if parallel_class:
        return _class_of
    if group_regex is not None:
        return _regex_group(group_regex)
    return None


def _class_of(test_id: str) -> Optional[str]:
    # Strip the tag first: the tag itself may contain dots ("[id-1.5]").
    # A pytest node id ("tests/test_a.py::TestA::test_x") is grouped by its
    # parent node: the class, or the module of a plain test function.
    head, dot, _ = strip_tags(test_id).rpartition("::" if "::" in test_id else ".")
    # An id without a dot has no class; leave it ungrouped.
    return head if dot else None


def module_of(test_id: str) -> str:
    """The module a unittest id belongs to, as far as the id tells: what
    comes before ``Class.test``::

        'pkg.test_a.TestA.test_x'         -> 'pkg.test_a'
        'pkg.test_a.TestA.test_x(v1.2)'   -> 'pkg.test_a'
        't/test_a.py::TestA::test_x'      -> 't/test_a.py'
        'README_rst'                      -> 'README_rst'

    A guess (a nested class or a module-level function reads one level
    off): the scheduler uses it only to keep neighbours together."""
    if test_id[-1:] in ")]":
        test_id = listed_form(strip_tags(test_id))  # "(scenario)" may hold dots
    if "::" in test_id:
        return test_id.partition("::")[0]
    parts = test_id.rsplit(".", 2)
    return parts[0]


def _regex_group(group_regex: re.Pattern) -> GroupOf:
    def group_of(test_id: str) -> Optional[str]:
        match = group_regex.match(test_id)
        return match.group(0) if match else None

    return group_of


def partition(
    test_ids: Sequence[str],
    concurrency: int,
    durations: Mapping[str, float],
    group_of: Optional[GroupOf] = None,
) -> List[List[str]]:
    """Split ``test_ids`` into exactly ``concurrency`` lists, one per worker.

    Every id lands in exactly one list (duplicates are kept), every group
    (``group_of(test_id) or test_id``) lands whole in one list, and each list
    keeps the order of ``test_ids``, so a class stays one contiguous block
    and unittest runs its ``setUpClass`` once.  Lists may be empty when there
    are fewer groups than workers.

    The result depends only on the arguments.  With durations
    ``{'a.T.test_slow': 9.0, 'a.T.test_x': 1.0, 'a.T.test_y': 1.0}`` and 2 workers::

        partition(['a.T.test_x', 'a.T.test_slow', 'a.T.test_y', 'a.T.test_new'], 2, durations)
        -> [['a.T.test_slow'], ['a.T.test_x', 'a.T.test_y', 'a.T.test_new']]

    ``a.T.test_new`` has no recorded duration, so it is estimated at the
    median of the known ones (1.0) and goes to the lighter worker.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, not {concurrency}")
    groups = group_indices(test_ids, group_of)
    estimate = _estimator(test_ids, durations)
    weighted = [
        (sum(estimate(test_ids[i]) for i in members), members)
        for members in groups.values()
    ]
    # Longest first; equal estimates in the order of their first test id.
    weighted.sort(key=lambda item: (-item[0], test_ids[item[1][0]]))
    placed = _place_longest_first(weighted, concurrency)
    # Indices, not ids, are sorted so that duplicate ids stay where they were.
    return [[test_ids[i] for i in sorted(indices)] for indices in placed]


def group_indices(
    test_ids: Sequence[str], group_of: Optional[GroupOf]
) -> Dict[str, List[int]]:
    """Group key -> positions in ``test_ids``; dicts keep first-seen order."""
    groups: Dict[str, List[int]] = {}
    for index, test_id in enumerate(test_ids):
        key = (group_of(test_id) if group_of else None) or test_id
        groups.setdefault(key, []).append(index)
    return groups


def _estimator(
    test_ids: Sequence[str], durations: Mapping[str, float]
) -> Callable[[str], float]:
    """Return test_id -> known or estimated duration in seconds.

    Unknown tests get the median of the known durations of *these* tests:
    the median is not dragged up by one slow outlier the way a mean is.
    With nothing known, every test counts 1.0, i.e. balance by count.
    """

    def known(test_id: str) -> Optional[float]:
        found = durations.get(test_id)
        return durations.get(strip_tags(test_id)) if found is None else found

    recorded = [d for d in map(known, test_ids) if d is not None]
    default = statistics.median(recorded) if recorded else 1.0

    def estimate(test_id: str) -> float:
        found = known(test_id)
        return default if found is None else found

    return estimate


def _place_longest_first(
    weighted: Sequence[tuple], concurrency: int
) -> List[List[int]]:
    """Greedy LPT: each group, longest first, goes to the least loaded worker.

    Optimal partitioning is NP-hard; LPT's makespan is within 4/3 of the
    optimum, far below the error of durations estimated from one past run,
    and the dynamic runner rebalances at run time anyway.  Ties between
    workers go to the one with fewer tests, then the lower index, so the
    result never depends on anything but the input.
    """
    placed: List[List[int]] = [[] for _ in range(concurrency)]
    heap = [(0.0, 0, worker) for worker in range(concurrency)]
    for duration, members in weighted:
        load, count, worker = heapq.heappop(heap)
        placed[worker].extend(members)
        heapq.heappush(heap, (load + duration, count + len(members), worker))
    return placed


def shuffle_within(
    partitions: Sequence[Sequence[str]],
    rng: random.Random,
    group_of: Optional[GroupOf] = None,
) -> List[List[str]]:
    """Shuffle each worker's list without moving tests between workers.

    The order of groups and the order of tests inside each group are
    shuffled, but a group stays one contiguous block (so ``setUpClass``
    still runs once per class)::

        [['a.T.test_1', 'a.T.test_2', 'b.U.test_1']]
        -> [['b.U.test_1', 'a.T.test_2', 'a.T.test_1']]   # with class groups

    The same ``rng`` state gives the same result; record the seed to repeat it.
    """
    shuffled = []
    for tests in partitions:
        blocks = list(_group_tests(tests, group_of).values())
        rng.shuffle(blocks)
        for block in blocks:
            rng.shuffle(block)
        shuffled.append([test_id for block in blocks for test_id in block])
    return shuffled


def _group_tests(
    test_ids: Sequence[str], group_of: Optional[GroupOf]
) -> Dict[str, List[str]]:
    return {
        key: [test_ids[i] for i in indices]
        for key, indices in group_indices(test_ids, group_of).items()
    }
