"""``testr repair``: rebuild a file repository's index from its run streams.

The streams in ``runs/`` are the record; ``index.sqlite`` (summaries, the
failing set, durations) and the ``format`` file can be rebuilt from them.
What only the index held is lost: run metadata, whether a run was partial or
interrupted.  The failing set is rebuilt cumulatively (each run's failures
add, its passes remove), which never forgets a failure.
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import List, Optional

from testrepo import subunit_v2
from testrepo.errors import RepositoryNotFound
from testrepo.repository import file as file_backend
from testrepo.repository import file_index
from testrepo.repository.tally import TallyResult


@dataclasses.dataclass(frozen=True)
class RepairReport:
    path: str
    runs: int
    moved_index: Optional[str]  # where the old index went, if there was one
    rewrote_format: bool
    unreadable: List[int]       # run ids whose stream had damage


def repair(path: str) -> RepairReport:
    """Rebuild ``path``'s index (and format file) from ``path/runs``."""
    runs_dir = os.path.join(path, file_backend.RUNS_DIR)
    if not os.path.isdir(runs_dir):
        raise RepositoryNotFound(
            f"No repository to repair at {path} (no {runs_dir} directory); "
            "`testr init` creates a new one.")
    os.makedirs(os.path.join(path, file_backend.TMP_DIR), exist_ok=True)
    rewrote_format = _ensure_format(path)
    moved = _move_index_aside(path)
    index = file_index.Index(os.path.join(path, file_backend.INDEX_FILE))
    index.create()
    repository = file_backend.FileRepository(path)
    run_ids = sorted(int(name) for name in os.listdir(runs_dir) if name.isdigit())
    unreadable = [run_id for run_id in run_ids if not _restore(repository, run_id)]
    return RepairReport(path, len(run_ids), moved, rewrote_format, unreadable)


def _ensure_format(path: str) -> bool:
    if file_backend._read_format(path) == file_backend.FORMAT_VERSION:
        return False
    with open(os.path.join(path, file_backend.FORMAT_FILE), "w", encoding="ascii") as out:
        out.write(file_backend.FORMAT_VERSION + "\n")
    return True


def _move_index_aside(path: str) -> Optional[str]:
    index_path = os.path.join(path, file_backend.INDEX_FILE)
    if not os.path.exists(index_path):
        return None
    aside = f"{index_path}.broken-{time.strftime('%Y%m%dT%H%M%S')}"
    os.replace(index_path, aside)
    return aside


def _restore(repository, run_id: int) -> bool:
    """Put run ``run_id`` back into the index; False if its stream is damaged
    (what could be read is still indexed)."""
    with open(repository.run_path(run_id), "rb") as stream:
        data = stream.read()
    tally = TallyResult()
    damaged = False
    for event in subunit_v2.iter_events(data):
        damaged = damaged or event.test_id == "subunit.parser"
        tally.status(**event.as_status())
    pending = tally.tally.pending(partial=True, interrupted=False, metadata={})
    with repository._index.writing() as db:
        record = pending.record(run_id)
        db.execute("INSERT INTO runs (%s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                   % file_index.RUN_COLUMNS, file_index.row_from_record(record))
        db.executemany(
            "INSERT OR REPLACE INTO durations (test_id, seconds, run_id) VALUES (?, ?, ?)",
            [(test_id, seconds, run_id) for test_id, seconds in sorted(pending.durations.items())])
        file_index.apply_failing(db, pending.failing, run_id)
        db.executemany(
            "INSERT INTO run_failures (run_id, test_id, events) VALUES (?, ?, ?)",
            [(run_id, test_id, events) for test_id, events in sorted(pending.failing.failed.items())])
    return not damaged
