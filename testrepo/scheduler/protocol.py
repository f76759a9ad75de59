"""The interface every work queue of the built-in runner implements.

The worker pool (:mod:`testrepo.execution.pool`) is typed against
:class:`WorkSource` and imports no queue module; a new executor or queue
needs nothing else from the pool.  The implementations:

* :class:`testrepo.scheduler.queue.WorkQueue`: per-worker plans in listing
  order, with work stealing (the ordinary run);
* :class:`testrepo.scheduler.pinned.SingleTestQueue`: one test per batch
  (``--isolated``, or a worker for every test);
* :class:`testrepo.scheduler.pinned.PinnedQueue`: per-worker queues
  (``--worker-file``).

Command mode does not pull: it splits the ids up front with
:func:`testrepo.scheduler.static.partition`.
"""

from __future__ import annotations

from typing import List, Optional, Protocol, Sequence, runtime_checkable


@runtime_checkable
class WorkSource(Protocol):
    """Test ids handed out in batches to numbered workers."""

    def __len__(self) -> int:
        """How many test ids are still to hand out."""

    def next_batch(self, worker: Optional[int] = None) -> List[str]:
        """The next ids for ``worker`` (0-based); ``[]`` when it gets no
        more.  Without a worker (the pool reporting tests it gave up on),
        any ids left, in the queue's reference order."""

    def put_back(self, test_ids: Sequence[str]) -> None:
        """Ids handed out that never ran (their worker died): hand them out
        again, first."""

    def observe(self, seconds: float) -> None:
        """A test took ``seconds``: refines the estimate of untimed tests."""

    def starts_over(self, worker: int) -> bool:
        """Whether the batch just handed to ``worker`` must run in a fresh
        process (it goes back in the order the worker's process has run)."""
