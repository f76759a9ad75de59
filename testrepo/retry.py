"""``run --retry N``: run the tests that failed again, on fresh workers.

Each retry round runs the tests whose latest result is a failure, in a new
worker pool (or new test command processes), feeding the same run: the
stored run keeps every attempt, a test counts once (its latest result), and
one that failed and then passed is recorded as flaky (see
``RunTally._uncount_earlier_attempt``).  The exit code follows the latest
results: 0 when every test finally passed.
"""

from __future__ import annotations

from typing import Callable, Iterable, List


def retry_failures(sink, inserter, planned: Iterable[str], retries: int,
                   rerun: Callable[[List[str], object], None]) -> None:
    """Up to ``retries`` rounds of ``rerun(failed_ids, sink)`` for the
    planned tests that currently fail.  Synthetic failures that are not
    tests (``process-returncode``) are not retried."""
    planned = set(planned)
    for attempt in range(1, retries + 1):
        failed = [test_id for test_id in inserter.failed_ids() if test_id in planned]
        if not failed:
            return
        sink.note(f"Retrying {len(failed)} failed test(s) on fresh workers "
                  f"(retry {attempt} of {retries})\n")
        rerun(failed, sink)
