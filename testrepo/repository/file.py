"""The on-disk repository (format 2), e.g. ``.testrepository/``.

Layout (see doc/repository-format.rst)::

    format          "2\\n"
    index.sqlite    run records, latest durations, failing set, schema version
    runs/<run_id>   one subunit v2 stream per run, exactly as inserted
    tmp/            streams of runs still being inserted

A run is spooled to ``tmp/`` as its events arrive (testrepo.repository.spool,
which also recovers the runs of a killed testr) and moved into ``runs/``
inside one ``BEGIN IMMEDIATE`` SQLite transaction that also allocates its
id and updates the index. That transaction is the cross-process lock: two
processes inserting at once both succeed, with distinct ids. Reads answer
from the index alone, so their cost does not grow with the number of runs.
"""

from __future__ import annotations

import os
import tempfile
from typing import List

from testrepo.errors import (
    RepositoryCorrupt,
    RepositoryError,
    RepositoryExists,
    RepositoryNotFound,
    UnknownRunError,
)
from testrepo.repository.abstract import Repository, Run
from testrepo.repository.file_index import (
    HIGHEST_REMOVED_KEY,
    NO_RUN,
    QUERY_CHUNK,
    RUN_COLUMNS,
    UPSERT_DURATION,
    Index,
    apply_failing,
    corrupt_index,
    highest_id_ever,
    record_from_row,
    row_from_record,
    write_durations,
    write_failing,
)
from testrepo.repository.records import RunRecord
from testrepo.repository.spool import SpoolingInserter, recover_spooled, storage_error

FORMAT_VERSION = "2"
FORMAT_FILE = "format"
INDEX_FILE = "index.sqlite"
RUNS_DIR = "runs"
TMP_DIR = "tmp"


def _fsync_dir(path):
    # Make the rename durable before the index says the run exists. Windows
    # cannot open a directory, and its renames need no such step.
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FileRun(Run):
    def __init__(self, record: RunRecord, path: str, index: "Index" = None):
        super().__init__(record)
        self.path = path
        self._index = index

    def failures(self) -> bytes:
        """From the index (no stream is read), for runs stored since
        schema 2."""
        if self._index is None or self.run_id < self._index.failures_since():
            return super().failures()
        with self._index.reading() as db:
            rows = db.execute("SELECT events FROM run_failures WHERE run_id = ? ORDER BY test_id",
                              (self.run_id,)).fetchall()
        return b"".join(bytes(row[0]) for row in rows)

    def stream(self):
        try:
            return open(self.path, "rb")
        except FileNotFoundError as err:
            raise RepositoryCorrupt(
                "The stream of run %d (%s) is missing although the index lists the run; "
                "restore the file, or forget the run with `testr history remove %d`."
                % (self.run_id, self.path, self.run_id)) from err
        except OSError as err:
            raise storage_error("read", self.path, err) from err


class FileRepository(Repository):
    """A format 2 repository directory. Use ``open_existing``/``initialise``."""

    def __init__(self, path: str, url: str = None):
        self.path = path
        self.url = url or path
        self.index_path = os.path.join(path, INDEX_FILE)
        self._index = Index(self.index_path)

    def run_path(self, run_id: int) -> str:
        return os.path.join(self.path, RUNS_DIR, str(run_id))

    @property
    def spool_dir(self) -> str:
        """Where runs still being inserted are spooled (see testrepo.repository.spool)."""
        return os.path.join(self.path, TMP_DIR)

    def _store(self, temp_path, pending) -> RunRecord:
        # BEGIN IMMEDIATE serialises writers across processes, so the id
        # read here is still free when the transaction commits.
        with self._index.writing() as db:
            if pending.run_id is not None:
                record = self._replace_run(db, temp_path, pending)
            else:
                highest = highest_id_ever(db)
                record = pending.record(0 if highest is None else highest + 1)
                self._move_into_place(temp_path, record.run_id)
                db.execute("INSERT INTO runs (%s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                           % RUN_COLUMNS, row_from_record(record))
            # An upsert, in id order: a third of the time of INSERT OR
            # REPLACE for the 20,000 rows of a big run.
            db.executemany(UPSERT_DURATION, [
                (test_id, seconds, record.run_id)
                for test_id, seconds in sorted(pending.durations.items())])
            apply_failing(db, pending.failing, record.run_id)
            db.executemany(
                "INSERT INTO run_failures (run_id, test_id, events) VALUES (?, ?, ?)",
                [(record.run_id, test_id, events)
                 for test_id, events in sorted(pending.failures.items())])
        return record

    def _replace_run(self, db, temp_path, pending):
        """Repository.append: the run's row and stream become the combined
        run's (the stream is moved last, so a failure leaves the old run)."""
        record = pending.record(pending.run_id)
        row = row_from_record(record)
        changed = db.execute(
            "UPDATE runs SET passed = ?, failed = ?, skipped = ?, duration = ?, started = ?, "
            "partial = ?, interrupted = ?, metadata = ? WHERE run_id = ?",
            row[1:] + (record.run_id,)).rowcount
        if not changed:
            os.unlink(temp_path)
            raise UnknownRunError(
                "Run %d was removed from the repository at %s while events were being "
                "added to it; they were not stored." % (record.run_id, self.path))
        db.execute("DELETE FROM run_failures WHERE run_id = ?", (record.run_id,))
        self._move_into_place(temp_path, record.run_id)
        return record

    def _move_into_place(self, temp_path, run_id):
        # A stale runs/<id> left by a rolled-back insert is not in the index
        # and is simply replaced.
        target = self.run_path(run_id)
        try:
            os.replace(temp_path, target)
            _fsync_dir(os.path.dirname(target))
        except OSError as err:
            raise storage_error("store run %d as" % run_id, target, err) from err

    def _make_inserter(self, partial, metadata):
        return SpoolingInserter(self, partial, metadata)

    def recover_orphans(self) -> List[RunRecord]:
        return recover_spooled(self, self.spool_dir)

    def _latest_id(self):
        with self._index.reading() as db:
            return db.execute("SELECT MAX(run_id) FROM runs").fetchone()[0]

    def _run_ids(self):
        with self._index.reading() as db:
            return [row[0] for row in db.execute("SELECT run_id FROM runs")]

    def _get_run(self, run_id):
        with self._index.reading() as db:
            row = db.execute(
                "SELECT %s FROM runs WHERE run_id = ?" % RUN_COLUMNS, (run_id,)).fetchone()
        if row is None:
            return None
        record = record_from_row(row, self.index_path)
        return FileRun(record, self.run_path(record.run_id), self._index)

    def _runs(self):
        with self._index.reading() as db:
            rows = db.execute("SELECT %s FROM runs" % RUN_COLUMNS).fetchall()
        return [record_from_row(row, self.index_path) for row in rows]

    def _failing_ids(self):
        with self._index.reading() as db:
            return [row[0] for row in db.execute("SELECT test_id FROM failing")]

    def _failing_events(self):
        with self._index.reading() as db:
            return [(test_id, bytes(events))
                    for test_id, events in db.execute("SELECT test_id, events FROM failing")]

    def _durations(self, test_ids):
        query = "SELECT test_id, seconds FROM durations"
        with self._index.reading() as db:
            if test_ids is None:
                return db.execute(query).fetchall()
            if len(test_ids) > 20 * QUERY_CHUNK:
                # One scan beats many IN (...) queries for a whole suite.
                wanted = set(test_ids)
                return [row for row in db.execute(query) if row[0] in wanted]
            found = []
            for start in range(0, len(test_ids), QUERY_CHUNK):
                chunk = test_ids[start:start + QUERY_CHUNK]
                where = " WHERE test_id IN (%s)" % ", ".join("?" * len(chunk))
                found.extend(db.execute(query + where, chunk).fetchall())
            return found

    def _run_durations(self, run_id):
        with self._index.reading() as db:
            return db.execute("SELECT test_id, seconds FROM durations WHERE run_id = ?",
                              (run_id,)).fetchall()

    def _slowest(self, run_id, limit):
        # Sorted and cut in SQL: `testr slowest` wants 10 of 20,000 rows.
        with self._index.reading() as db:
            return db.execute(
                "SELECT test_id, seconds FROM durations WHERE run_id = ? "
                "ORDER BY seconds DESC, test_id LIMIT ?",
                (run_id, -1 if limit is None else limit)).fetchall()

    def _count(self):
        with self._index.reading() as db:
            return db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]

    def _failed_tests(self, run_ids):
        # Runs stored before schema 2 have no run_failures rows: read those
        # streams (the base class's way); the rest is one range query.
        since = self._index.failures_since()
        older = [run_id for run_id in run_ids if run_id < since]
        found = list(super()._failed_tests(older))
        newer = set(run_ids).difference(older)
        if newer:
            with self._index.reading() as db:
                found.extend(row for row in db.execute(
                    "SELECT run_id, test_id FROM run_failures WHERE run_id BETWEEN ? AND ?",
                    (min(newer), max(newer))) if row[0] in newer)
        return found

    def _timed_by(self, run_ids):
        ids = sorted(run_ids)
        with self._index.reading() as db:
            found = []
            for start in range(0, len(ids), QUERY_CHUNK):
                chunk = ids[start:start + QUERY_CHUNK]
                found.extend(row[0] for row in db.execute(
                    "SELECT test_id FROM durations WHERE run_id IN (%s)"
                    % ", ".join("?" * len(chunk)), chunk))
            return found

    def _remove(self, plan):
        run_ids = sorted(plan.run_ids)
        with self._index.writing() as db:
            stored = tuple(row[0] for row in db.execute("SELECT run_id FROM runs ORDER BY run_id"))
            if stored != tuple(plan.seen_ids):
                return False
            db.executemany("DELETE FROM runs WHERE run_id = ?", [(i,) for i in run_ids])
            db.executemany("DELETE FROM run_failures WHERE run_id = ?", [(i,) for i in run_ids])
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                       (HIGHEST_REMOVED_KEY, str(max(run_ids[-1], highest_id_ever(db) or 0))))
            if plan.failing is not None:
                write_failing(db, plan.failing)
            write_durations(db, plan.durations)
        # After the commit: a stream left behind by a crash here is not in
        # the index, so no command sees it, and its id is never reused.
        for run_id in run_ids:
            _remove_stream(self.run_path(run_id), run_id)
        return True

    def _replace_failing(self, failing):
        with self._index.writing() as db:
            write_failing(db, failing)

    def _import_durations(self, durations):
        with self._index.writing() as db:
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO durations (test_id, seconds, run_id) VALUES (?, ?, ?)",
                [(test_id, seconds, NO_RUN) for test_id, seconds in sorted(durations.items())])
            return db.total_changes - before


def _remove_stream(path, run_id):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as err:
        raise RepositoryError(
            "Removed run %d from the index, but cannot delete its stream %s (%s); "
            "delete the file by hand." % (run_id, path, err.strerror or err)) from err


def open_existing(path: str, url: str = None) -> FileRepository:
    """Open the format 2 repository at ``path``, checking only the format
    file and the index's schema version (no stream is read)."""
    version = _read_format(path) if os.path.isdir(path) else None
    if version is None:
        raise RepositoryNotFound(
            "No repository at %s. Run `testr init` (`testr run` creates one too)." % path)
    _check_format(path, version)
    repository = FileRepository(path, url)
    if not os.path.isfile(repository.index_path):
        raise corrupt_index(repository.index_path, "the file is missing")
    repository._index.check_schema()
    return repository


def initialise(path: str, url: str = None) -> FileRepository:
    """Create a format 2 repository at ``path`` (and its parent directories)."""
    version = _read_format(path)
    if version == "1" and os.path.exists(os.path.join(path, "next-stream")):
        raise RepositoryExists(_format_1_message(path))
    if version is not None:
        raise RepositoryExists(
            "A repository already exists at %s; use it, or move it aside to start afresh."
            % path)
    for sub_dir in (RUNS_DIR, TMP_DIR):
        try:
            os.makedirs(os.path.join(path, sub_dir), exist_ok=True)
        except OSError as err:
            raise storage_error("create the repository directory", path, err) from err
    repository = FileRepository(path, url)
    repository._index.create()
    # Written last: until the format file exists, this is not a repository.
    _publish_format(path)
    return repository


def _read_format(path):
    """The format file's text, stripped; None if there is no format file."""
    format_path = os.path.join(path, FORMAT_FILE)
    try:
        with open(format_path, "rb") as format_file:
            raw = format_file.read(64)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None
    except OSError as err:
        raise storage_error("read", format_path, err) from err
    return raw.decode("utf-8", errors="replace").strip()


def _check_format(path, version):
    if version == FORMAT_VERSION:
        return
    format_path = os.path.join(path, FORMAT_FILE)
    if version == "1" and os.path.exists(os.path.join(path, "next-stream")):
        raise RepositoryCorrupt(_format_1_message(path))
    if version.isdigit() and int(version) > int(FORMAT_VERSION):
        raise RepositoryCorrupt(
            "%s says format %s, but this testrepo reads format %s; upgrade testrepo."
            % (format_path, version, FORMAT_VERSION))
    raise RepositoryCorrupt(
        "%s contains %r, expected %r (testrepo format %s); if this is a testrepo "
        "repository run `testr repair`, else move the directory aside and run `testr init`."
        % (format_path, version[:40], FORMAT_VERSION, FORMAT_VERSION))


def _format_1_message(path):
    """How to import a testrepository/stestr (format 1) repository found at
    ``path`` where testrepo expected its own."""
    shown = os.path.normpath(path)
    aside = shown + ".v1"
    return ("%s is a testrepository format 1 repository; testrepo uses format 2. "
            "Move it aside and import it: `mv %s %s && testr import %s`."
            % (path, shown, aside, aside))


def _publish_format(path):
    """Create the format file whole, or fail with RepositoryExists.

    Linking a finished temp file means a concurrent `testr init` or open never
    sees an empty format file, and exactly one of two racing inits wins.
    """
    format_path = os.path.join(path, FORMAT_FILE)
    try:
        fd, temp_path = tempfile.mkstemp(prefix="format-", dir=os.path.join(path, TMP_DIR))
    except OSError as err:
        raise storage_error("create", format_path, err) from err
    try:
        with os.fdopen(fd, "wb") as temp_file:
            temp_file.write(FORMAT_VERSION.encode("ascii") + b"\n")
            temp_file.flush()
            os.fsync(temp_file.fileno())
        os.link(temp_path, format_path)
    except FileExistsError as err:
        raise RepositoryExists(
            "A repository was created at %s at the same time; use it." % path) from err
    except OSError as err:
        raise storage_error("create", format_path, err) from err
    finally:
        os.unlink(temp_path)

