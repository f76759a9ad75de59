"""``-x`` / ``--maxfail N`` after ``--`` with ``runner = pytest``: the
whole run stops after N failures, counted over every worker, not N per
worker (each worker's pytest session only sees its own).

The limit sits between the pool and the run: it counts the failures the
sink is given, and once they reach N the work source hands out nothing
more.  The worker whose pytest session reached the limit itself (its
own ``-x``) runs nothing more of what it holds; the other workers finish
the tests already handed to them (the batch each runs and at most one
waiting in its pipe).  The rest are not run, and the run says how many.
"""

from __future__ import annotations

from typing import List, Optional, Sequence

# Outcomes that count towards --maxfail, as pytest counts them (a
# non-strict xpass is a failure in testrepo, see pytest_outcome).
_FAILED = frozenset({"fail", "uxsuccess"})


def maxfail_of(test_args: Sequence[str]) -> Optional[int]:
    """The failures after which pytest's arguments ask a run to stop:
    ``-x``/``--exitfirst`` is 1, ``--maxfail N``/``--maxfail=N`` is N
    (0 turns it off); the last one given wins; None without either.

    >>> maxfail_of(["-k", "fast", "-x"]), maxfail_of(["--maxfail=3"])
    (1, 3)
    """
    limit = None
    args = list(test_args)
    for position, arg in enumerate(args):
        if arg in ("-x", "--exitfirst"):
            limit = 1
        elif arg == "--maxfail" and position + 1 < len(args):
            limit = _count(args[position + 1])
        elif arg.startswith("--maxfail="):
            limit = _count(arg.split("=", 1)[1])
    return limit or None


def _count(text: str) -> Optional[int]:
    # pytest refuses a count that is not a number itself, before any test.
    return int(text) if text.strip().isdigit() else None


class FailureLimit:
    """Counts failures through :meth:`sink` and stops :meth:`work` at
    ``maxfail`` of them."""

    def __init__(self, maxfail: int, test_ids: Sequence[str]):
        self.maxfail = maxfail
        self.failures = 0
        self._planned = set(test_ids)
        self._reported = set()

    @property
    def reached(self) -> bool:
        return self.failures >= self.maxfail

    def work(self, work) -> "_LimitedWork":
        return _LimitedWork(work, self)

    def sink(self, sink) -> "_CountingSink":
        return _CountingSink(sink, self)

    def record(self, outcome) -> None:
        """A test's outcome (a TestOutcome) reached the run."""
        if outcome.status in _FAILED:
            self.failures += 1
        self._reported.add(outcome.test_id)

    def not_run(self) -> int:
        """How many tests the limit kept from running."""
        return len(self._planned - self._reported) if self.reached else 0

    def note(self) -> Optional[str]:
        """The line that says the run stopped early, or None."""
        skipped = self.not_run()
        if not skipped:
            return None
        return (f"Stopped after {self.failures} failure(s) (-x/--maxfail {self.maxfail} "
                f"after --): {skipped} test(s) not run\n")


class _LimitedWork:
    """A WorkSource that hands out nothing once the limit is reached."""

    def __init__(self, work, limit: FailureLimit):
        self._inner = work
        self._limit = limit

    def __len__(self) -> int:
        return 0 if self._limit.reached else len(self._inner)

    def next_batch(self, worker: Optional[int] = None) -> List[str]:
        if self._limit.reached:
            return []
        return self._inner.next_batch(worker)

    def put_back(self, test_ids: Sequence[str]) -> None:
        self._inner.put_back(test_ids)

    def observe(self, seconds: float) -> None:
        self._inner.observe(seconds)

    def starts_over(self, worker: int) -> bool:
        return self._inner.starts_over(worker)


class _CountingSink:
    """The run's sink, counting the failed outcomes it is given."""

    def __init__(self, sink, limit: FailureLimit):
        self._inner = sink
        self._limit = limit

    def add_outcome(self, outcome) -> None:
        self._limit.record(outcome)
        self._inner.add_outcome(outcome)

    def __getattr__(self, name):
        return getattr(self._inner, name)
