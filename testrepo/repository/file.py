"""The on-disk repository (format 2), e.g. ``.testrepository/``.

Layout (see doc/repository-format.rst)::

    format          "2\\n"
    index.sqlite    run records, latest durations, failing set, schema version
    runs/<run_id>   one subunit v2 stream per run, exactly as inserted
    tmp/            streams of runs still being inserted

A run is written to ``tmp/`` as its events arrive and moved into ``runs/``
inside one ``BEGIN IMMEDIATE`` SQLite transaction that also allocates its
id and updates the index. That transaction is the cross-process lock: two
processes inserting at once both succeed, with distinct ids. Reads answer
from the index alone, so their cost does not grow with the number of runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import tempfile
import time
import urllib.parse
from typing import List

from testrepo.errors import (
    RepositoryCorrupt,
    RepositoryError,
    RepositoryExists,
    RepositoryNotFound,
    UnknownRunError,
)
from testrepo.repository.abstract import Inserter, Repository, Run, RunRecord

FORMAT_VERSION = "2"
SCHEMA_VERSION = "2"
FORMAT_FILE = "format"
INDEX_FILE = "index.sqlite"
RUNS_DIR = "runs"
TMP_DIR = "tmp"
# How long a writer waits for another process's insert before giving up.
LOCK_TIMEOUT_SECONDS = 60.0
# How stale the temp file of a run in progress may get (see _write).
FLUSH_INTERVAL = 0.25
# Below SQLite's historical limit of 999 bound parameters per statement.
_QUERY_CHUNK = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY,
    passed INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    skipped INTEGER NOT NULL,
    duration REAL NOT NULL,
    started TEXT,
    partial INTEGER NOT NULL,
    interrupted INTEGER NOT NULL,
    metadata TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS durations (
    test_id TEXT PRIMARY KEY, seconds REAL NOT NULL, run_id INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS failing (
    test_id TEXT PRIMARY KEY, events BLOB NOT NULL, run_id INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS run_failures (
    run_id INTEGER NOT NULL, test_id TEXT NOT NULL, events BLOB NOT NULL,
    PRIMARY KEY (run_id, test_id));
"""
# Schema 1 lacked run_failures: runs stored before the upgrade answer
# Run.failures() from their stream instead (see FileRun.failures).
_FAILURES_SINCE_KEY = "run_failures_since"

_UPSERT_DURATION = (
    "INSERT INTO durations (test_id, seconds, run_id) VALUES (?, ?, ?) "
    "ON CONFLICT (test_id) DO UPDATE SET seconds = excluded.seconds, run_id = excluded.run_id")

_RUN_COLUMNS = (
    "run_id, passed, failed, skipped, duration, started, partial, interrupted, metadata")

# SQLite result codes that mean "cannot use the file right now", as opposed
# to "the file is not a valid index".
_LOCKED_CODES = ("SQLITE_BUSY", "SQLITE_LOCKED")
_ACCESS_CODES = ("SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_FULL", "SQLITE_IOERR",
                 "SQLITE_PERM", "SQLITE_AUTH")
_LOCKED_WORDS = ("locked", "busy")
_ACCESS_WORDS = ("unable to open", "readonly", "disk is full", "disk i/o", "permission")


def _primary_code(err):
    # Extended names (SQLITE_IOERR_WRITE) reduce to their primary code.
    # sqlite_errorname exists from Python 3.11; older ones have only text.
    name = getattr(err, "sqlite_errorname", None) or ""
    return "_".join(name.split("_")[:2])


class _Index:
    """The SQLite index, with every sqlite3.Error turned into a RepositoryError."""

    def __init__(self, path: str):
        self.path = path

    def _connect(self, create=False):
        # mode=rw: never create an empty index by accident when it is missing.
        mode = "rwc" if create else "rw"
        uri = "file:%s?mode=%s" % (urllib.parse.quote(os.path.abspath(self.path)), mode)
        return sqlite3.connect(
            uri, uri=True, timeout=LOCK_TIMEOUT_SECONDS, isolation_level=None)

    @contextlib.contextmanager
    def reading(self):
        """A connection in autocommit mode: each statement sees committed data."""
        try:
            db = self._connect()
            try:
                yield db
            finally:
                db.close()
        except sqlite3.Error as err:
            raise self._translate(err) from err

    @contextlib.contextmanager
    def writing(self, create=False):
        """One transaction holding SQLite's write lock (``BEGIN IMMEDIATE``).

        Committed when the block ends, rolled back if it raises.
        """
        try:
            db = self._connect(create)
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    yield db
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
            finally:
                db.close()
        except sqlite3.Error as err:
            raise self._translate(err) from err

    def _translate(self, err):
        reason = str(err)
        code, lowered = _primary_code(err), reason.lower()
        if code in _LOCKED_CODES or (not code and any(w in lowered for w in _LOCKED_WORDS)):
            return RepositoryError(
                "The index %s stayed locked for %g s; another testr process is writing "
                "to it. Let it finish or stop it, then try again."
                % (self.path, LOCK_TIMEOUT_SECONDS))
        if code in _ACCESS_CODES or (not code and any(w in lowered for w in _ACCESS_WORDS)):
            return RepositoryError(
                "Cannot use the index %s (%s); check its permissions and the free disk "
                "space." % (self.path, reason))
        return _corrupt_index(self.path, reason)

    def create(self):
        with self.writing(create=True) as db:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                       (SCHEMA_VERSION,))

    def check_schema(self):
        with self.reading() as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is not None and row[0] == "1":
            self._upgrade_from_1()
            return
        if row is None or row[0] != SCHEMA_VERSION:
            found = "none" if row is None else repr(row[0])
            raise _corrupt_index(
                self.path, "schema version %s, expected %r" % (found, SCHEMA_VERSION))


    def _upgrade_from_1(self):
        """Schema 1 → 2: add run_failures."""
        with self.writing() as db:
            version = db.execute(
                "SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
            if version != "1":
                return  # another process upgraded it meanwhile
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            highest = _highest_id_ever(db)
            since = 0 if highest is None else highest + 1
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                       (_FAILURES_SINCE_KEY, str(since)))
            db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'",
                       (SCHEMA_VERSION,))

    def failures_since(self) -> int:
        """The first run id whose failures are in run_failures."""
        with self.reading() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?",
                             (_FAILURES_SINCE_KEY,)).fetchone()
        return int(row[0]) if row is not None and row[0].isdigit() else 0


def _corrupt_index(path, reason):
    return RepositoryCorrupt(
        "%s is not a valid index (%s); run `testr repair` to rebuild it from the "
        "stored runs." % (path, reason))


def _record_from_row(row, index_path):
    run_id, passed, failed, skipped, duration, started, partial, interrupted, metadata = row
    try:
        metadata = json.loads(metadata)
    except ValueError as err:
        raise _corrupt_index(index_path, "run %s has unreadable metadata: %s" % (run_id, err))
    return RunRecord(
        run_id=run_id, passed=passed, failed=failed, skipped=skipped,
        duration=duration, started=started, partial=bool(partial),
        interrupted=bool(interrupted), metadata=metadata)


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


def _storage_error(action, path, err):
    return RepositoryError(
        "Cannot %s %s (%s); check its permissions and the free disk space."
        % (action, path, err.strerror or err))


class FileRun(Run):
    def __init__(self, record: RunRecord, path: str, index: "_Index" = None):
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
            raise _storage_error("read", self.path, err) from err


class FileInserter(Inserter):
    """Writes events to a temp file in the repository's ``spool_dir``
    (``tmp/``) as they arrive, then hands it to ``repository._store``.

    If the process dies before ``stopTestRun`` the repository is unchanged
    and the temp file keeps every event received so far. The SQL backend
    spools the same way (see testrepo.repository.sql).
    """

    def __init__(self, repository: "FileRepository", partial, metadata):
        super().__init__(partial, metadata)
        self._repository = repository
        self._file = None
        self.temp_path = None

    def _begin(self):
        tmp_dir = self._repository.spool_dir
        try:
            os.makedirs(tmp_dir, exist_ok=True)
            # The pid in the name tells recover_orphans whether the writer
            # is still alive.
            fd, self.temp_path = tempfile.mkstemp(
                prefix="run-%d-" % os.getpid(), suffix=".subunit", dir=tmp_dir)
        except OSError as err:
            raise _storage_error("create a temporary run file in", tmp_dir, err) from err
        self._file = os.fdopen(fd, "wb")
        self._flushed = 0.0

    def _write(self, data):
        try:
            self._file.write(data)
            # Flush (no fsync) at most every FLUSH_INTERVAL seconds: a killed
            # process still leaves all but the last moments of its run in the
            # temp file, without a system call per test on 20,000 tests.
            now = time.monotonic()
            if now - self._flushed >= FLUSH_INTERVAL:
                self._file.flush()
                self._flushed = now
        except OSError as err:
            raise _storage_error("write", self.temp_path, err) from err

    def _flush(self):
        try:
            self._file.flush()
            self._flushed = time.monotonic()
        except OSError as err:
            raise _storage_error("write", self.temp_path, err) from err

    def _commit(self, pending):
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
        except OSError as err:
            raise _storage_error("write", self.temp_path, err) from err
        return self._repository._store(self.temp_path, pending)


class FileRepository(Repository):
    """A format 2 repository directory. Use ``open_existing``/``initialise``."""

    def __init__(self, path: str, url: str = None):
        self.path = path
        self.url = url or path
        self.index_path = os.path.join(path, INDEX_FILE)
        self._index = _Index(self.index_path)

    def run_path(self, run_id: int) -> str:
        return os.path.join(self.path, RUNS_DIR, str(run_id))

    @property
    def spool_dir(self) -> str:
        """Where FileInserter writes runs still being inserted."""
        return os.path.join(self.path, TMP_DIR)

    def _store(self, temp_path, pending) -> RunRecord:
        # BEGIN IMMEDIATE serialises writers across processes, so the id
        # read here is still free when the transaction commits.
        with self._index.writing() as db:
            if pending.run_id is not None:
                record = self._replace_run(db, temp_path, pending)
            else:
                highest = _highest_id_ever(db)
                record = pending.record(0 if highest is None else highest + 1)
                self._move_into_place(temp_path, record.run_id)
                db.execute("INSERT INTO runs (%s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                           % _RUN_COLUMNS, _row_from_record(record))
            # An upsert, in id order: a third of the time of INSERT OR
            # REPLACE for the 20,000 rows of a big run.
            db.executemany(_UPSERT_DURATION, [
                (test_id, seconds, record.run_id)
                for test_id, seconds in sorted(pending.durations.items())])
            _apply_failing(db, pending.failing, record.run_id)
            db.executemany(
                "INSERT INTO run_failures (run_id, test_id, events) VALUES (?, ?, ?)",
                [(record.run_id, test_id, events)
                 for test_id, events in sorted(pending.failures.items())])
        return record

    def _replace_run(self, db, temp_path, pending):
        """Repository.append: the run's row and stream become the combined
        run's (the stream is moved last, so a failure leaves the old run)."""
        record = pending.record(pending.run_id)
        row = _row_from_record(record)
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
            raise _storage_error("store run %d as" % run_id, target, err) from err

    def _make_inserter(self, partial, metadata):
        return FileInserter(self, partial, metadata)

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
                "SELECT %s FROM runs WHERE run_id = ?" % _RUN_COLUMNS, (run_id,)).fetchone()
        if row is None:
            return None
        record = _record_from_row(row, self.index_path)
        return FileRun(record, self.run_path(record.run_id), self._index)

    def _runs(self):
        with self._index.reading() as db:
            rows = db.execute("SELECT %s FROM runs" % _RUN_COLUMNS).fetchall()
        return [_record_from_row(row, self.index_path) for row in rows]

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
            if len(test_ids) > 20 * _QUERY_CHUNK:
                # One scan beats many IN (...) queries for a whole suite.
                wanted = set(test_ids)
                return [row for row in db.execute(query) if row[0] in wanted]
            found = []
            for start in range(0, len(test_ids), _QUERY_CHUNK):
                chunk = test_ids[start:start + _QUERY_CHUNK]
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
            for start in range(0, len(ids), _QUERY_CHUNK):
                chunk = ids[start:start + _QUERY_CHUNK]
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
                       (_HIGHEST_REMOVED_KEY, str(max(run_ids[-1], _highest_id_ever(db) or 0))))
            if plan.failing is not None:
                _write_failing(db, plan.failing)
            _write_durations(db, plan.durations)
        # After the commit: a stream left behind by a crash here is not in
        # the index, so no command sees it, and its id is never reused.
        for run_id in run_ids:
            _remove_stream(self.run_path(run_id), run_id)
        return True

    def _replace_failing(self, failing):
        with self._index.writing() as db:
            _write_failing(db, failing)

    def _import_durations(self, durations):
        with self._index.writing() as db:
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO durations (test_id, seconds, run_id) VALUES (?, ?, ?)",
                [(test_id, seconds, NO_RUN) for test_id, seconds in sorted(durations.items())])
            return db.total_changes - before


def recover_spooled(repository: Repository, spool_dir: str) -> List[RunRecord]:
    """Store in ``repository``, as interrupted partial runs, what testr
    processes that were killed (SIGKILL, a crash, a power cut) left
    half-written in ``spool_dir``; discard the ones that hold nothing.
    Returns the recovered runs."""
    recovered = []
    for name, pid in _orphans(spool_dir):
        claimed = _claim(spool_dir, name)
        if claimed is None:
            continue  # another process claimed it first
        with open(claimed, "rb") as stream:
            data = stream.read()
        if data.strip():
            recovered.append(_store_recovered(repository, data, pid))
        # Only once stored: if we die first, the claimed file (named for
        # this process) is an orphan again for the next testr.
        os.unlink(claimed)
    return recovered


def _store_recovered(repository, data: bytes, pid: int) -> RunRecord:
    from testrepo import subunit_v2

    inserter = repository.insert(partial=True, metadata={
        "recovered": "left half-written by testr process %d, which was killed" % pid})
    inserter.mark_interrupted()
    inserter.startTestRun()
    subunit_v2.replay(data, inserter)
    inserter.stopTestRun()
    return inserter.record


_ORPHAN_NAME = re.compile(r"^run-(\d+)-.*\.subunit$")


def _orphans(tmp_dir):
    """(file name, pid) of temp runs whose writer process is gone."""
    try:
        names = sorted(os.listdir(tmp_dir))
    except OSError:
        return []
    found = []
    for name in names:
        match = _ORPHAN_NAME.match(name)
        if match and not _alive(int(match.group(1))):
            found.append((name, int(match.group(1))))
    return found


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return not _zombie(pid)


def _zombie(pid):
    # A killed process nobody has reaped yet still answers kill(pid, 0).
    try:
        with open("/proc/%d/stat" % pid, "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return False


def _claim(tmp_dir, name):
    """Rename the orphan ``name`` to a name of this process (atomically: one
    claimant wins) and return its new path; None if another got it first."""
    claimed = os.path.join(tmp_dir, "run-%d-claimed-%s" % (os.getpid(), name))
    try:
        os.rename(os.path.join(tmp_dir, name), claimed)
    except FileNotFoundError:
        return None
    return claimed


# The durations.run_id of a duration carried over from elsewhere
# (Repository.import_durations): it was measured by no stored run.
NO_RUN = -1
# meta key holding the highest run id ever removed, so that ids are not reused.
_HIGHEST_REMOVED_KEY = "highest_removed_run_id"


def _highest_id_ever(db):
    """The highest run id stored or removed so far, or None."""
    (stored,) = db.execute("SELECT MAX(run_id) FROM runs").fetchone()
    row = db.execute("SELECT value FROM meta WHERE key = ?", (_HIGHEST_REMOVED_KEY,)).fetchone()
    removed = int(row[0]) if row is not None and row[0].isdigit() else None
    known = [run_id for run_id in (stored, removed) if run_id is not None]
    return max(known) if known else None


def _write_failing(db, failing):
    db.execute("DELETE FROM failing")
    db.executemany(
        "INSERT INTO failing (test_id, events, run_id) VALUES (?, ?, ?)",
        [(test_id, events, run_id) for test_id, (events, run_id) in sorted(failing.items())])


def _write_durations(db, durations):
    """Upsert (seconds, run id) values; delete the rows whose value is None."""
    db.executemany("DELETE FROM durations WHERE test_id = ?",
                   [(test_id,) for test_id, value in sorted(durations.items()) if value is None])
    db.executemany(
        "INSERT OR REPLACE INTO durations (test_id, seconds, run_id) VALUES (?, ?, ?)",
        [(test_id,) + tuple(value) for test_id, value in sorted(durations.items())
         if value is not None])


def _remove_stream(path, run_id):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as err:
        raise RepositoryError(
            "Removed run %d from the index, but cannot delete its stream %s (%s); "
            "delete the file by hand." % (run_id, path, err.strerror or err)) from err


def _row_from_record(record):
    return (record.run_id, record.passed, record.failed, record.skipped, record.duration,
            record.started, int(record.partial), int(record.interrupted),
            json.dumps(dict(record.metadata), sort_keys=True))


def _apply_failing(db, update, run_id):
    """The SQL form of FailingUpdate.apply."""
    if update.replace_all:
        db.execute("DELETE FROM failing")
    else:
        db.executemany("DELETE FROM failing WHERE test_id = ?",
                       [(test_id,) for test_id in sorted(update.cleared)])
    db.executemany(
        "INSERT OR REPLACE INTO failing (test_id, events, run_id) VALUES (?, ?, ?)",
        [(test_id, events, run_id) for test_id, events in sorted(update.failed.items())])


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
        raise _corrupt_index(repository.index_path, "the file is missing")
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
            raise _storage_error("create the repository directory", path, err) from err
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
        raise _storage_error("read", format_path, err) from err
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
        raise _storage_error("create", format_path, err) from err
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
        raise _storage_error("create", format_path, err) from err
    finally:
        os.unlink(temp_path)
