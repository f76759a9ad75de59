"""Isolation analysis (``run --analyze-isolation``): why does a test fail
in a full run when it passes on its own?

For each failing test of a stored run (testr's and stestr's algorithm,
made explicit about what it cannot find):

1. Run it alone, in a fresh process. If it still fails it is **broken on
   its own** and there is nothing more to find.
2. Take the tests that ran before it *on the same worker* in that run
   (:func:`earlier_tests`, from the ``worker-N`` tags / route codes and the
   order of the events in the stored stream) and run all of them, then it,
   in one process and in that order. If it passes now, the failure is
   **not reproducible** that way: racy, timing-dependent, or caused by
   another worker or the environment.
3. Otherwise bisect: run the first half of the earlier tests and then it;
   if it fails keep that half, else try the second half; repeat until one
   test is left. That test **breaks it** ("X fails when run after Y").
   If neither half alone makes it fail, the failure **needs several** of
   the earlier tests together, and the search stops there.

The steps only *describe* probes: running them is the caller's job, through
a ``probe(test_ids) -> bool`` callable that runs ``test_ids`` serially, in
that order, in one fresh process, and says whether the last one failed.
Everything here is pure.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Dict, List, Sequence, Tuple

from testrepo import subunit_v2

Probe = Callable[[List[str]], bool]
Report = Callable[[str], None]

ALONE = "alone"  # fails on its own
CONFLICT = "conflict"  # fails after one earlier test
SEVERAL = "several"  # fails after several earlier tests together, not after either half
NOT_REPRODUCED = "not-reproduced"  # passes alone and after every earlier test
NOT_LISTED = "not-listed"  # not a test the runner can run (e.g. process-returncode)
# Findings that are isolation problems (``run --analyze-isolation`` exits 1).
PROBLEMS = frozenset([CONFLICT, SEVERAL, NOT_REPRODUCED])

_FAILED = frozenset(["fail", "uxsuccess"])
_FINAL = frozenset(["success", "fail", "skip", "xfail", "uxsuccess"])


@dataclasses.dataclass(frozen=True)
class RunOrder:
    """Which worker ran each test of a run, and in what order.

    ``workers``: worker label -> test ids in the order they started there.
    ``worker_of``: test id -> the worker of its latest start.
    ``failed``: ids whose latest result is a failure, in order of failing.
    """

    workers: Dict[str, List[str]]
    worker_of: Dict[str, str]
    failed: List[str]


@dataclasses.dataclass(frozen=True)
class Finding:
    """What the analysis found for one failing test."""

    test_id: str
    kind: str
    causes: Tuple[str, ...] = ()  # the breaking test, or the set still needed
    earlier: int = 0  # how many tests ran before it on its worker
    worker: str = "-"

    def describe(self) -> str:
        if self.kind == ALONE:
            return f"{self.test_id} fails on its own (run alone, in a fresh process)"
        if self.kind == CONFLICT:
            return f"{self.test_id} fails when run after {self.causes[0]}"
        if self.kind == SEVERAL:
            return (f"{self.test_id} fails after the {self.earlier} tests that ran before it on "
                    f"worker {self.worker}, but after neither half of these "
                    f"{len(self.causes)}: it needs more than one of them: "
                    + ", ".join(self.causes))
        if self.kind == NOT_LISTED:
            return (f"{self.test_id} is not in the test listing (a crashed worker's "
                    "process-returncode, or a removed test): it cannot be rerun")
        return (f"{self.test_id} passes alone and after the {self.earlier} tests that ran "
                f"before it on worker {self.worker}: not reproducible in one process (racy, "
                "timing, another worker or the environment)")


def _worker_label(tags, route_code) -> str:
    for tag in tags or ():
        if tag.startswith("worker-"):
            return tag[len("worker-"):]
    if route_code:
        return route_code.split("/", 1)[0]
    return "-"


def read_run_order(stream: bytes) -> RunOrder:
    """The :class:`RunOrder` of a stored run's v2 ``stream``. A test's
    position is where its ``inprogress`` event is (or, without one, its
    result): the order it started in on its worker."""
    workers: Dict[str, List[str]] = {}
    worker_of: Dict[str, str] = {}
    outcome: Dict[str, str] = {}
    for event in subunit_v2.iter_events(stream):
        if event.test_id is None or event.status not in _FINAL | {"inprogress"}:
            continue
        if event.status == "inprogress" or event.test_id not in worker_of:
            # A test run again (a retry) counts where it last started.
            if event.test_id in worker_of:
                workers[worker_of[event.test_id]].remove(event.test_id)
            label = _worker_label(event.tags, event.route_code)
            workers.setdefault(label, []).append(event.test_id)
            worker_of[event.test_id] = label
        if event.status in _FINAL:
            outcome.pop(event.test_id, None)  # keep failing order = order of results
            outcome[event.test_id] = event.status
    failed = [test_id for test_id, status in outcome.items() if status in _FAILED]
    return RunOrder(workers, worker_of, failed)


def earlier_tests(order: RunOrder, test_id: str) -> List[str]:
    """The tests that started before ``test_id`` on its worker, in order::

        worker 0: a, b, victim, c   ->   earlier_tests(order, 'victim') == ['a', 'b']
    """
    started = order.workers.get(order.worker_of.get(test_id, ""), [])
    if test_id not in started:
        return []
    return started[:started.index(test_id)]


def analyze(test_id: str, earlier: Sequence[str], worker: str, probe: Probe,
            report: Report) -> Finding:
    """Steps 1-3 of the module docstring for one failing test. ``report``
    gets one line per probe run."""
    earlier = list(earlier)
    found = dict(test_id=test_id, earlier=len(earlier), worker=worker)
    if _probe(probe, report, [], test_id, "alone"):
        return Finding(kind=ALONE, **found)
    if not earlier or not _probe(probe, report, earlier, test_id,
                                 f"after the {len(earlier)} tests before it on worker {worker}"):
        return Finding(kind=NOT_REPRODUCED, **found)
    causes = _bisect(test_id, earlier, probe, report)
    kind = CONFLICT if len(causes) == 1 else SEVERAL
    return Finding(kind=kind, causes=tuple(causes), **found)


def _bisect(test_id: str, candidates: List[str], probe: Probe, report: Report) -> List[str]:
    """Narrow ``candidates`` (known to make ``test_id`` fail) by halves
    until one is left, or neither half alone makes it fail."""
    while len(candidates) > 1:
        half = (len(candidates) + 1) // 2
        first, second = candidates[:half], candidates[half:]
        if _probe(probe, report, first, test_id, _after(first)):
            candidates = first
        elif _probe(probe, report, second, test_id, _after(second)):
            candidates = second
        else:
            return candidates
    return candidates


def _after(tests: Sequence[str]) -> str:
    if len(tests) == 1:
        return f"after {tests[0]}"
    return f"after {len(tests)} of them ({tests[0]} ... {tests[-1]})"


def _probe(probe: Probe, report: Report, before: List[str], test_id: str, what: str) -> bool:
    failed = probe(before + [test_id])
    report(f"  {what}: {'fails' if failed else 'passes'}\n")
    return failed


def summary(findings: Sequence[Finding], run_id: int) -> str:
    """The closing report: one line per analysed test."""
    lines = [f"\nIsolation analysis of run {run_id}:\n"]
    lines.extend(f"  {finding.describe()}\n" for finding in findings)
    return "".join(lines)
