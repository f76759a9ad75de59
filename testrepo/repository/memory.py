"""A repository kept in memory, for tests and programs that embed testrepo.

``MemoryRepository()`` honours the whole repository contract; nothing
outlives the object. Construct it directly: there is no URL for it, because
a URL opened twice would have to share state through a module global.
"""

from __future__ import annotations

import io
from typing import Dict, Optional, Tuple

from testrepo.errors import UnknownRunError
from testrepo.repository.abstract import Repository, Run
from testrepo.repository.inserter import Inserter
from testrepo.repository.records import PendingRun, RunRecord


class MemoryRun(Run):
    def __init__(self, record: RunRecord, data: bytes):
        super().__init__(record)
        self._data = data

    def stream(self):
        return io.BytesIO(self._data)


class MemoryInserter(Inserter):
    def __init__(self, repository: "MemoryRepository", partial: bool, metadata: Dict[str, str]):
        super().__init__(partial, metadata)
        self._repository = repository
        self._buffer = io.BytesIO()

    def _begin(self):
        pass

    def _write(self, data):
        self._buffer.write(data)

    def _commit(self, pending):
        return self._repository._store(self._buffer.getvalue(), pending)


class MemoryRepository(Repository):
    """Runs, durations and the failing set held in dicts."""

    def __init__(self):
        self.url = self.path = "memory:"
        self._stored: Dict[int, Tuple[RunRecord, bytes]] = {}
        self._failing: Dict[str, bytes] = {}
        self._times: Dict[str, float] = {}
        self._timed_by_run: Dict[str, int] = {}  # test id -> run that timed it (-1: none)
        self._highest_removed = -1

    def _store(self, data: bytes, pending: PendingRun) -> RunRecord:
        run_id = pending.run_id
        if run_id is None:
            run_id = max(max(self._stored, default=-1), self._highest_removed) + 1
        elif run_id not in self._stored:
            raise UnknownRunError("Run %d was removed from the repository at %s while events "
                                  "were being added to it; they were not stored."
                                  % (run_id, self.path))
        record = pending.record(run_id)
        self._stored[run_id] = (record, data)
        self._times.update(pending.durations)
        self._timed_by_run.update(dict.fromkeys(pending.durations, run_id))
        pending.failing.apply(self._failing)
        return record

    def _make_inserter(self, partial, metadata):
        return MemoryInserter(self, partial, metadata)

    def _latest_id(self) -> Optional[int]:
        return max(self._stored) if self._stored else None

    def _run_ids(self):
        return list(self._stored)

    def _get_run(self, run_id):
        if run_id not in self._stored:
            return None
        return MemoryRun(*self._stored[run_id])

    def _runs(self):
        return [record for record, _ in self._stored.values()]

    def _failing_ids(self):
        return list(self._failing)

    def _failing_events(self):
        return list(self._failing.items())

    def _durations(self, test_ids):
        if test_ids is None:
            return list(self._times.items())
        return [(test_id, self._times[test_id]) for test_id in test_ids if test_id in self._times]

    def _run_durations(self, run_id):
        return [(test_id, self._times[test_id])
                for test_id, timed_by in self._timed_by_run.items() if timed_by == run_id]

    def _count(self):
        return len(self._stored)

    def _timed_by(self, run_ids):
        return [test_id for test_id, run_id in self._timed_by_run.items() if run_id in run_ids]

    def _remove(self, plan):
        if tuple(sorted(self._stored)) != tuple(plan.seen_ids):
            return False
        for run_id in plan.run_ids:
            del self._stored[run_id]
        self._highest_removed = max(self._highest_removed, max(plan.run_ids))
        if plan.failing is not None:
            self._replace_failing(plan.failing)
        for test_id, value in plan.durations.items():
            if value is None:
                self._times.pop(test_id, None)
                self._timed_by_run.pop(test_id, None)
            else:
                self._times[test_id], self._timed_by_run[test_id] = value
        return True

    def _replace_failing(self, failing):
        self._failing = {test_id: events for test_id, (events, _) in failing.items()}

    def _import_durations(self, durations):
        added = {test_id: seconds for test_id, seconds in durations.items()
                 if test_id not in self._times}
        self._times.update(added)
        self._timed_by_run.update(dict.fromkeys(added, -1))
        return len(added)
