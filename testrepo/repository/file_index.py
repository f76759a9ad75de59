"""The file backend's index, ``index.sqlite``: run records, the latest
durations, the failing set and each run's failures, in a SQLite database
(see doc/repository-format.rst for the tables).

``Index`` opens it and turns every ``sqlite3.Error`` into a
RepositoryError; the functions below are the statements the backend runs
inside one of its transactions.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import urllib.parse

from testrepo.errors import RepositoryCorrupt, RepositoryError
from testrepo.repository.records import RunRecord

SCHEMA_VERSION = "2"
# How long a writer waits for another process's insert before giving up.
LOCK_TIMEOUT_SECONDS = 60.0
# Below SQLite's historical limit of 999 bound parameters per statement.
QUERY_CHUNK = 500

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

UPSERT_DURATION = (
    "INSERT INTO durations (test_id, seconds, run_id) VALUES (?, ?, ?) "
    "ON CONFLICT (test_id) DO UPDATE SET seconds = excluded.seconds, run_id = excluded.run_id")

RUN_COLUMNS = (
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


class Index:
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
        return corrupt_index(self.path, reason)

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
            raise corrupt_index(
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
            highest = highest_id_ever(db)
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


def corrupt_index(path, reason):
    return RepositoryCorrupt(
        "%s is not a valid index (%s); run `testr repair` to rebuild it from the "
        "stored runs." % (path, reason))


def record_from_row(row, index_path):
    run_id, passed, failed, skipped, duration, started, partial, interrupted, metadata = row
    try:
        metadata = json.loads(metadata)
    except ValueError as err:
        raise corrupt_index(index_path, "run %s has unreadable metadata: %s" % (run_id, err))
    return RunRecord(
        run_id=run_id, passed=passed, failed=failed, skipped=skipped,
        duration=duration, started=started, partial=bool(partial),
        interrupted=bool(interrupted), metadata=metadata)


# The durations.run_id of a duration carried over from elsewhere
# (Repository.import_durations): it was measured by no stored run.
NO_RUN = -1
# meta key holding the highest run id ever removed, so that ids are not reused.
HIGHEST_REMOVED_KEY = "highest_removed_run_id"


def highest_id_ever(db):
    """The highest run id stored or removed so far, or None."""
    (stored,) = db.execute("SELECT MAX(run_id) FROM runs").fetchone()
    row = db.execute("SELECT value FROM meta WHERE key = ?", (HIGHEST_REMOVED_KEY,)).fetchone()
    removed = int(row[0]) if row is not None and row[0].isdigit() else None
    known = [run_id for run_id in (stored, removed) if run_id is not None]
    return max(known) if known else None


def write_failing(db, failing):
    db.execute("DELETE FROM failing")
    db.executemany(
        "INSERT INTO failing (test_id, events, run_id) VALUES (?, ?, ?)",
        [(test_id, events, run_id) for test_id, (events, run_id) in sorted(failing.items())])


def write_durations(db, durations):
    """Upsert (seconds, run id) values; delete the rows whose value is None."""
    db.executemany("DELETE FROM durations WHERE test_id = ?",
                   [(test_id,) for test_id, value in sorted(durations.items()) if value is None])
    db.executemany(
        "INSERT OR REPLACE INTO durations (test_id, seconds, run_id) VALUES (?, ?, ?)",
        [(test_id,) + tuple(value) for test_id, value in sorted(durations.items())
         if value is not None])


def row_from_record(record):
    return (record.run_id, record.passed, record.failed, record.skipped, record.duration,
            record.started, int(record.partial), int(record.interrupted),
            json.dumps(dict(record.metadata), sort_keys=True))


def apply_failing(db, update, run_id):
    """The SQL form of FailingUpdate.apply."""
    if update.replace_all:
        db.execute("DELETE FROM failing")
    else:
        db.executemany("DELETE FROM failing WHERE test_id = ?",
                       [(test_id,) for test_id in sorted(update.cleared)])
    db.executemany(
        "INSERT OR REPLACE INTO failing (test_id, events, run_id) VALUES (?, ?, ?)",
        [(test_id, events, run_id) for test_id, events in sorted(update.failed.items())])
