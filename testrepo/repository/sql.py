"""SQL repositories: SQLite (embedded) and PostgreSQL (shared by a fleet).

``--repo-url sqlite:///path.db`` or ``postgresql://user@host/db`` selects
this backend (see doc/repository-format.rst for the schema). It is built on
SQLAlchemy Core, imported only when such a URL is used, so the file backend
never pays for it.

The schema is normalised in the spirit of subunit2sql: ``runs`` (one row
per run, its key/value ``run_metadata``, the raw v2 stream in
``run_streams`` so ``last --subunit`` and ``compare`` work unchanged),
``tests`` (one row per test id), ``test_runs`` (status, start and stop of
every test of every run; the events of failed tests), ``attachments`` (the
files, e.g. tracebacks, of failed tests), plus the two indexes the
scheduler and ``failing`` read: ``durations`` (latest seconds per test) and
``failing``. ``testrepo_meta`` holds the schema version and the run id
counter.

Concurrency: every write is one transaction that first locks the counter
row (``SELECT ... FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on
SQLite), so writers on any number of hosts are serialised, get distinct run
ids, and readers never see half a run. While a run is being recorded its
stream is spooled to a local file (as the file backend does in ``tmp/``):
if the database cannot be reached when the run ends, the stream is kept
there and the error says how to load it later.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import time
from typing import Dict, Iterable, List, Optional

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from testrepo import subunit_v2
from testrepo.errors import (
    RepositoryCorrupt,
    RepositoryError,
    RepositoryExists,
    RepositoryNotFound,
    UnknownRunError,
    UsageError,
)
from testrepo.repository.abstract import TIMED_STATUSES, Repository, Run, RunRecord
from testrepo.repository.file import FileInserter, recover_spooled

# Version 1 is the first SQL schema. A later testrepo that changes it adds
# an entry to _UPGRADES and bumps this; see doc/repository-format.rst.
SCHEMA_VERSION = 1
# Run ids, like the file backend's, are never reused: the counter only grows.
_NEXT_RUN_ID = "next_run_id"
_SCHEMA_VERSION_KEY = "schema_version"
# Rows per IN (...) query: under SQLite's historical limit of 999 parameters.
_QUERY_CHUNK = 500
# Above this many wanted ids, one scan of a table beats chunked IN queries.
_SCAN_ABOVE = 20 * _QUERY_CHUNK
# Arbitrary constant key for PostgreSQL's advisory lock around `init`.
_INIT_LOCK_KEY = 0x7465737472  # "testr"

_md = sa.MetaData()
meta = sa.Table(
    "testrepo_meta", _md,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False))
runs = sa.Table(
    "runs", _md,
    sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("passed", sa.Integer, nullable=False),
    sa.Column("failed", sa.Integer, nullable=False),
    sa.Column("skipped", sa.Integer, nullable=False),
    sa.Column("duration", sa.Float, nullable=False),
    sa.Column("started", sa.String(40)),
    sa.Column("partial", sa.Boolean, nullable=False),
    sa.Column("interrupted", sa.Boolean, nullable=False))
run_metadata = sa.Table(
    "run_metadata", _md,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.run_id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("value", sa.Text, nullable=False))
run_streams = sa.Table(
    "run_streams", _md,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.run_id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("data", sa.LargeBinary, nullable=False))
tests = sa.Table(
    "tests", _md,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("test_id", sa.Text, nullable=False, unique=True))
# start_time/stop_time are epoch seconds (float), as subunit timestamps are
# handled everywhere else in testrepo; PostgreSQL's to_timestamp() shows them.
test_runs = sa.Table(
    "test_runs", _md,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.run_id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("test", sa.Integer, sa.ForeignKey("tests.id"), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("start_time", sa.Float),
    sa.Column("stop_time", sa.Float),
    # The v2 events of a failed test (what `testr last` shows); else NULL.
    sa.Column("events", sa.LargeBinary),
    sa.Index("test_runs_by_test", "test", "run_id"))
attachments = sa.Table(
    "attachments", _md,
    sa.Column("run_id", sa.Integer, primary_key=True),
    sa.Column("test", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("mime_type", sa.Text),
    sa.Column("content", sa.LargeBinary, nullable=False),
    sa.ForeignKeyConstraint(["run_id", "test"], ["test_runs.run_id", "test_runs.test"],
                            ondelete="CASCADE"))
durations = sa.Table(
    "durations", _md,
    sa.Column("test", sa.Integer, sa.ForeignKey("tests.id"), primary_key=True),
    sa.Column("seconds", sa.Float, nullable=False),
    # The run that measured it, or NO_RUN for imported timings.
    sa.Column("run_id", sa.Integer, nullable=False),
    sa.Index("durations_by_run", "run_id", "seconds"))
failing = sa.Table(
    "failing", _md,
    sa.Column("test", sa.Integer, sa.ForeignKey("tests.id"), primary_key=True),
    sa.Column("events", sa.LargeBinary, nullable=False),
    sa.Column("run_id", sa.Integer, nullable=False))

NO_RUN = -1
# Schema upgrades: {from version: function(connection)}, applied in order
# by _Database.check_schema inside the write lock.
_UPGRADES: Dict[int, object] = {}

_RUN_COLUMNS = [runs.c.run_id, runs.c.passed, runs.c.failed, runs.c.skipped, runs.c.duration,
                runs.c.started, runs.c.partial, runs.c.interrupted]


class _Database:
    """The engine, with every SQLAlchemy error turned into a RepositoryError.

    ``shown`` is the URL with any password hidden, for messages.
    """

    def __init__(self, url: str):
        try:
            parsed = sa.engine.make_url(url)
        except (sa_exc.ArgumentError, ValueError) as err:
            raise RepositoryError(
                "Cannot parse the repository URL %r (%s); use sqlite:///PATH or "
                "postgresql://USER@HOST/DATABASE." % (_without_password(url), err)) from None
        if parsed.drivername in ("postgresql", "postgres"):
            # SQLAlchemy's default PostgreSQL driver is psycopg2; we ship psycopg 3.
            parsed = parsed.set(drivername="postgresql+psycopg")
        self.url = parsed
        self.shown = parsed.render_as_string(hide_password=True).replace(
            "postgresql+psycopg://", "postgresql://")
        self.sqlite = parsed.get_backend_name() == "sqlite"
        self.engine = self._create_engine(parsed)

    def _create_engine(self, url):
        try:
            if self.sqlite:
                engine = sa.create_engine(url, connect_args={"timeout": 60.0})
                sa.event.listen(engine, "connect", _sqlite_connect)
                sa.event.listen(engine, "begin", _sqlite_begin)
                return engine
            # A run can last hours: its pooled connection may have been
            # dropped by then (server restart, idle timeout), so each
            # checkout checks it first (one round trip) and reconnects.
            return sa.create_engine(url, pool_pre_ping=True)
        except ImportError as err:
            # Like a missing SQLAlchemy (repository._sql): the URL asks for
            # an extra that is not installed.
            raise UsageError(
                "The repository URL %s needs the %s driver, which is not installed (%s); "
                "install it with `pip install 'testrepo[postgresql]'`."
                % (self.shown, url.get_backend_name(), err)) from None

    @property
    def sqlite_path(self) -> Optional[str]:
        database = self.url.database
        if not self.sqlite or not database or database == ":memory:":
            return None
        return database

    @contextlib.contextmanager
    def reading(self):
        """A connection in a read transaction (a snapshot on SQLite)."""
        with self._translated():
            with self.engine.connect() as conn:
                yield conn

    @contextlib.contextmanager
    def writing(self):
        """One transaction holding the repository's write lock, committed
        when the block ends and rolled back if it raises."""
        with self._translated():
            with self.engine.connect() as conn:
                conn = conn.execution_options(testrepo_write=True)
                with conn.begin():
                    # Every writer takes this row lock first, so writers are
                    # serialised and no two allocate the same run id.
                    found = conn.execute(
                        sa.select(meta.c.value).where(meta.c.key == _NEXT_RUN_ID)
                        .with_for_update()).first()
                    if found is None:
                        raise RepositoryCorrupt(
                            "%s holds no run id counter; it is not a testrepo repository "
                            "(run `testr init` on an empty database)." % self.shown)
                    yield conn

    @contextlib.contextmanager
    def _translated(self):
        try:
            yield
        except sa_exc.DBAPIError as err:
            raise self._translate(err, err.orig if err.orig is not None else err) from None
        except sa_exc.SQLAlchemyError as err:
            raise RepositoryError("The repository database %s failed: %s"
                                  % (self.shown, _first_line(err))) from None
        except self.engine.dialect.loaded_dbapi.Error as err:
            # Raised by the driver itself, e.g. on a raw connection.
            raise self._translate(err, err) from None

    def _translate(self, err, orig):
        reason = _first_line(orig)
        lowered = reason.lower()
        operational = isinstance(err, sa_exc.OperationalError) or \
            type(orig).__name__ == "OperationalError"
        if operational and not self.sqlite:
            return RepositoryError(
                "Cannot reach the repository database %s (%s); check that the server is "
                "running and that --repo-url / repo_url is right." % (self.shown, reason))
        if operational and ("locked" in lowered or "busy" in lowered):
            return RepositoryError(
                "The repository database %s stayed locked for 60 s; another testr process "
                "is writing to it. Let it finish or stop it, then try again." % self.shown)
        if isinstance(err, sa_exc.ProgrammingError) or "no such table" in lowered:
            return RepositoryCorrupt(
                "%s is not a testrepo repository of schema %d (%s); point --repo-url at "
                "another database, or run `testr init` on an empty one."
                % (self.shown, SCHEMA_VERSION, reason))
        if self.sqlite and "not a database" in lowered:
            return RepositoryCorrupt(
                "%s is not a SQLite database (%s); point --repo-url at another file."
                % (self.shown, reason))
        if self.sqlite:
            return RepositoryError(
                "Cannot use the SQLite database %s (%s); check the path, its permissions "
                "and the free disk space." % (self.shown, reason))
        return RepositoryError("The repository database %s failed (%s); check the server "
                               "and its free disk space." % (self.shown, reason))

    def schema_version(self) -> Optional[int]:
        """The stored schema version; None if the database has no testrepo
        tables at all."""
        with self._translated():
            if not sa.inspect(self.engine).has_table(meta.name):
                return None
        with self.reading() as conn:
            value = conn.execute(sa.select(meta.c.value).where(
                meta.c.key == _SCHEMA_VERSION_KEY)).scalar()
        if value is None or not value.isdigit():
            raise RepositoryCorrupt(
                "%s has a testrepo_meta table without a valid schema version (%r); it was "
                "not made by testrepo, or was damaged." % (self.shown, value))
        return int(value)

    def create(self):
        with self._translated():
            with self.engine.connect() as conn:
                conn = conn.execution_options(testrepo_write=True)
                with conn.begin():
                    if not self.sqlite:
                        # DDL is transactional on PostgreSQL; this lock makes
                        # two concurrent inits one after the other.
                        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"),
                                     {"key": _INIT_LOCK_KEY})
                    if sa.inspect(conn).has_table(meta.name):
                        raise RepositoryExists(
                            "A repository already exists in %s; use it, or point --repo-url "
                            "at another database." % self.shown)
                    _md.create_all(conn)
                    conn.execute(meta.insert(), [
                        {"key": _SCHEMA_VERSION_KEY, "value": str(SCHEMA_VERSION)},
                        {"key": _NEXT_RUN_ID, "value": "0"}])


def _without_password(url: str) -> str:
    """``url`` with the password of ``scheme://user:password@`` as ``***``."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)


def _first_line(err) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _sqlite_connect(dbapi_connection, _record):
    # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own
    # implicit transactions would defer the write lock; see _sqlite_begin).
    dbapi_connection.isolation_level = None
    dbapi_connection.execute("PRAGMA foreign_keys = ON")


def _sqlite_begin(conn):
    # Writers take SQLite's write lock up front, so two processes never
    # both read the counter; readers get a snapshot and never wait.
    if conn.get_execution_options().get("testrepo_write"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


def _chunks(items, size=_QUERY_CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _insert_rows(conn, table, rows: List[dict]) -> None:
    """Insert ``rows`` (dicts with the same keys) in bulk.

    PostgreSQL gets COPY: an executemany of the 20,000 test_runs and
    durations rows of a big run took 2.5 s (a round trip per row, or
    client-side parsing of huge multi-row INSERTs); COPY takes a tenth of
    that. SQLite gets the driver's executemany of plain tuples, a C loop:
    SQLAlchemy's per-row parameter processing cost more than SQLite's work.
    The driver connection is the one SQLAlchemy's transaction is on.
    """
    if not rows:
        return
    columns = list(rows[0])
    names = ", ".join('"%s"' % column for column in columns)
    driver = conn.connection.driver_connection
    if conn.dialect.name != "postgresql":
        driver.executemany(
            "INSERT INTO %s (%s) VALUES (%s)" % (table.name, names, ", ".join("?" * len(columns))),
            [tuple(row[column] for column in columns) for row in rows])
        return
    statement = "COPY %s (%s) FROM STDIN" % (table.name, names)
    with driver.cursor() as cursor:
        with cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([row[column] for column in columns])


def _delete_keys(conn, column, keys: List) -> None:
    """DELETE the rows of ``column``'s table whose ``column`` is in ``keys``."""
    if not keys:
        return
    table = column.table
    if conn.dialect.name == "postgresql":
        # One statement with an array parameter, not thousands of IN items.
        conn.exec_driver_sql('DELETE FROM %s WHERE "%s" = ANY(%%(keys)s)'
                             % (table.name, column.name), {"keys": list(keys)})
        return
    conn.connection.driver_connection.executemany(
        'DELETE FROM %s WHERE "%s" = ?' % (table.name, column.name), [(key,) for key in keys])


def _test_keys(conn, test_ids: List[str], create: bool = False) -> Dict[str, int]:
    """{test id: tests.id} for ``test_ids``; with ``create``, rows are made
    for ids not yet known (callers hold the write lock)."""
    keys: Dict[str, int] = {}
    if len(test_ids) > _SCAN_ABOVE:
        wanted = set(test_ids)
        keys.update(row for row in conn.execute(
            sa.select(tests.c.test_id, tests.c.id)).all() if row[0] in wanted)
    else:
        for chunk in _chunks(test_ids):
            keys.update(conn.execute(sa.select(tests.c.test_id, tests.c.id)
                                     .where(tests.c.test_id.in_(chunk))).all())
    missing = [test_id for test_id in test_ids if test_id not in keys]
    if create and missing:
        _insert_rows(conn, tests, [{"test_id": test_id} for test_id in missing])
        for chunk in _chunks(missing):
            keys.update(conn.execute(sa.select(tests.c.test_id, tests.c.id)
                                     .where(tests.c.test_id.in_(chunk))).all())
    return keys


def _attachment_rows(run_id, test_key, events: bytes):
    """The files (tracebacks, captured output) in a failed test's events."""
    files: Dict[str, List] = {}
    for event in subunit_v2.iter_events(events):
        if event.file_name is None:
            continue
        entry = files.setdefault(event.file_name, [event.mime_type, []])
        entry[1].append(event.file_bytes or b"")
    return [{"run_id": run_id, "test": test_key, "name": name, "mime_type": mime,
             "content": b"".join(parts)} for name, (mime, parts) in sorted(files.items())]


class SQLRun(Run):
    def __init__(self, record: RunRecord, repository: "SQLRepository"):
        super().__init__(record)
        self._repository = repository

    def stream(self):
        with self._repository._db.reading() as conn:
            data = conn.execute(sa.select(run_streams.c.data).where(
                run_streams.c.run_id == self.run_id)).scalar()
        if data is None:
            raise RepositoryCorrupt(
                "The stream of run %d is missing from %s although the run is listed; "
                "forget the run with `testr history remove %d`."
                % (self.run_id, self._repository.path, self.run_id))
        return io.BytesIO(bytes(data))

    def failures(self) -> bytes:
        with self._repository._db.reading() as conn:
            rows = conn.execute(
                sa.select(test_runs.c.events)
                .select_from(test_runs.join(tests, test_runs.c.test == tests.c.id))
                .where(test_runs.c.run_id == self.run_id, test_runs.c.events.is_not(None))
                .order_by(tests.c.test_id)).all()
        return b"".join(bytes(row[0]) for row in rows)


class SQLInserter(FileInserter):
    """Spools the run to a local file, like the file backend, and stores it
    in one transaction when the run ends."""

    keep_results = True


class SQLRepository(Repository):
    """A repository in a SQL database. Use ``open_existing``/``initialise``."""

    def __init__(self, db: _Database, url: str):
        self._db = db
        self.url = url
        self.path = db.shown

    @property
    def spool_dir(self) -> str:
        """A local directory per repository for streams of runs in progress
        (and of runs the database could not take)."""
        base = os.environ.get("TESTREPO_SPOOL_DIR") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
            "testrepo", "spool")
        digest = hashlib.sha256(self.path.encode("utf-8")).hexdigest()[:16]
        return os.path.join(base, digest)

    def _make_inserter(self, partial, metadata):
        return SQLInserter(self, partial, metadata)

    def close(self):
        self._db.engine.dispose()

    def recover_orphans(self) -> List[RunRecord]:
        return recover_spooled(self, self.spool_dir)

    # --- writing -----------------------------------------------------------

    def _store(self, temp_path: str, pending) -> RunRecord:
        with open(temp_path, "rb") as spooled:
            data = spooled.read()
        try:
            with self._db.writing() as conn:
                record = self._store_in(conn, data, pending)
        except UnknownRunError:
            os.unlink(temp_path)
            raise
        except RepositoryError as err:
            kept = _keep_unsent(temp_path)
            partial = " --partial" if pending.summary.partial or pending.summary.interrupted \
                else ""
            raise RepositoryError(
                "%s The run was not stored; its stream is kept at %s: load it later with "
                "`testr --repo-url %s load%s %s`." % (err, kept, self.path, partial, kept)
            ) from None
        os.unlink(temp_path)
        return record

    def _store_in(self, conn, data, pending) -> RunRecord:
        if pending.run_id is None:
            run_id = int(conn.execute(sa.select(meta.c.value).where(
                meta.c.key == _NEXT_RUN_ID)).scalar_one())
            conn.execute(meta.update().where(meta.c.key == _NEXT_RUN_ID)
                         .values(value=str(run_id + 1)))
            record = pending.record(run_id)
            conn.execute(runs.insert().values(_run_row(record)))
        else:
            record = pending.record(pending.run_id)
            changed = conn.execute(runs.update().where(runs.c.run_id == record.run_id)
                                   .values(_run_row(record))).rowcount
            if not changed:
                raise UnknownRunError(
                    "Run %d was removed from the repository at %s while events were being "
                    "added to it; they were not stored." % (record.run_id, self.path))
            for table in (attachments, test_runs, run_metadata, run_streams):
                conn.execute(table.delete().where(table.c.run_id == record.run_id))
        run_id = record.run_id
        if record.metadata:
            _insert_rows(conn, run_metadata, [
                {"run_id": run_id, "key": key, "value": value}
                for key, value in sorted(record.metadata.items())])
        conn.execute(run_streams.insert().values(run_id=run_id, data=data))
        results = pending.results or {}
        failures = pending.failures
        keys = _test_keys(conn, sorted(set(results) | set(pending.durations)
                                       | set(failures) | set(pending.failing.cleared)),
                          create=True)
        self._store_results(conn, run_id, results, failures, keys)
        _upsert_durations(conn, {keys[test_id]: (seconds, run_id)
                                 for test_id, seconds in pending.durations.items()})
        self._apply_failing(conn, pending.failing, run_id, keys)
        return record

    def _store_results(self, conn, run_id, results, failures, keys):
        rows = [{"run_id": run_id, "test": keys[test_id], "status": status,
                 "start_time": start, "stop_time": stop, "events": failures.get(test_id)}
                for test_id, (status, start, stop) in sorted(results.items())]
        _insert_rows(conn, test_runs, rows)
        files = []
        for test_id, events in sorted(failures.items()):
            if test_id in results:
                files.extend(_attachment_rows(run_id, keys[test_id], events))
        _insert_rows(conn, attachments, files)

    def _apply_failing(self, conn, update, run_id, keys):
        """The SQL form of FailingUpdate.apply."""
        if update.replace_all:
            conn.execute(failing.delete())
        else:
            _delete_keys(conn, failing.c.test, sorted(keys[test_id] for test_id in update.cleared))
        _delete_keys(conn, failing.c.test, sorted(keys[test_id] for test_id in update.failed))
        _insert_rows(conn, failing, [
            {"test": keys[test_id], "events": events, "run_id": run_id}
            for test_id, events in sorted(update.failed.items())])

    # --- reading -----------------------------------------------------------

    def _latest_id(self):
        with self._db.reading() as conn:
            return conn.execute(sa.select(sa.func.max(runs.c.run_id))).scalar()

    def _run_ids(self):
        with self._db.reading() as conn:
            return list(conn.execute(sa.select(runs.c.run_id)).scalars())

    def _get_run(self, run_id):
        with self._db.reading() as conn:
            records = self._records(conn, runs.c.run_id == run_id)
        return SQLRun(records[0], self) if records else None

    def _runs(self):
        with self._db.reading() as conn:
            return self._records(conn, None)

    def _records(self, conn, where) -> List[RunRecord]:
        query = sa.select(*_RUN_COLUMNS)
        meta_query = sa.select(run_metadata.c.run_id, run_metadata.c.key, run_metadata.c.value)
        if where is not None:
            query = query.where(where)
            meta_query = meta_query.where(
                run_metadata.c.run_id.in_(sa.select(runs.c.run_id).where(where)))
        rows = conn.execute(query).all()
        metadata: Dict[int, Dict[str, str]] = {}
        for run_id, key, value in conn.execute(meta_query):
            metadata.setdefault(run_id, {})[key] = value
        return [RunRecord(run_id=row[0], passed=row[1], failed=row[2], skipped=row[3],
                          duration=row[4], started=row[5], partial=bool(row[6]),
                          interrupted=bool(row[7]), metadata=metadata.get(row[0], {}))
                for row in rows]

    def _failing_ids(self):
        with self._db.reading() as conn:
            return list(conn.execute(sa.select(tests.c.test_id).select_from(
                failing.join(tests, failing.c.test == tests.c.id))).scalars())

    def _failing_events(self):
        with self._db.reading() as conn:
            return [(test_id, bytes(events)) for test_id, events in conn.execute(
                sa.select(tests.c.test_id, failing.c.events).select_from(
                    failing.join(tests, failing.c.test == tests.c.id)))]

    def _durations(self, test_ids):
        query = sa.select(tests.c.test_id, durations.c.seconds).select_from(
            durations.join(tests, durations.c.test == tests.c.id))
        with self._db.reading() as conn:
            if test_ids is None:
                return conn.execute(query).all()
            if len(test_ids) > _SCAN_ABOVE:
                wanted = set(test_ids)
                return [tuple(row) for row in conn.execute(query) if row[0] in wanted]
            found = []
            for chunk in _chunks(test_ids):
                found.extend(conn.execute(query.where(tests.c.test_id.in_(chunk))).all())
            return found

    def _durations_of_run(self, run_id):
        return (sa.select(tests.c.test_id, durations.c.seconds)
                .select_from(durations.join(tests, durations.c.test == tests.c.id))
                .where(durations.c.run_id == run_id))

    def _run_durations(self, run_id):
        with self._db.reading() as conn:
            return conn.execute(self._durations_of_run(run_id)).all()

    def _slowest(self, run_id, limit):
        query = self._durations_of_run(run_id).order_by(
            durations.c.seconds.desc(), tests.c.test_id).limit(limit)
        with self._db.reading() as conn:
            return [tuple(row) for row in conn.execute(query)]

    def _count(self):
        with self._db.reading() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(runs)).scalar()

    def _failed_tests(self, run_ids):
        # A failed test's row keeps its events; other rows have NULL there.
        if not run_ids:
            return []
        wanted = set(run_ids)
        query = (sa.select(test_runs.c.run_id, tests.c.test_id)
                 .select_from(test_runs.join(tests, test_runs.c.test == tests.c.id))
                 .where(test_runs.c.run_id.between(min(wanted), max(wanted)),
                        test_runs.c.events.is_not(None)))
        with self._db.reading() as conn:
            return [tuple(row) for row in conn.execute(query) if row[0] in wanted]

    def _test_results(self, run_id):
        query = (sa.select(tests.c.test_id, test_runs.c.status, test_runs.c.start_time,
                           test_runs.c.stop_time)
                 .select_from(test_runs.join(tests, test_runs.c.test == tests.c.id))
                 .where(test_runs.c.run_id == run_id))
        with self._db.reading() as conn:
            rows = conn.execute(query).all()
        return {test_id: (status, _seconds(status, start, stop))
                for test_id, status, start, stop in rows}

    def _timed_by(self, run_ids):
        found = []
        with self._db.reading() as conn:
            for chunk in _chunks(sorted(run_ids)):
                found.extend(conn.execute(
                    sa.select(tests.c.test_id)
                    .select_from(durations.join(tests, durations.c.test == tests.c.id))
                    .where(durations.c.run_id.in_(chunk))).scalars())
        return found

    # --- removing and importing -------------------------------------------

    def _remove(self, plan):
        run_ids = sorted(plan.run_ids)
        with self._db.writing() as conn:
            stored = tuple(conn.execute(
                sa.select(runs.c.run_id).order_by(runs.c.run_id)).scalars())
            if stored != tuple(plan.seen_ids):
                return False
            for chunk in _chunks(run_ids):
                # Children first: SQLite enforces the foreign keys only when
                # asked, so cascades are not relied on.
                for table in (attachments, test_runs, run_metadata, run_streams, runs):
                    conn.execute(table.delete().where(table.c.run_id.in_(chunk)))
            if plan.failing is not None:
                self._write_failing(conn, plan.failing)
            keys = _test_keys(conn, sorted(plan.durations), create=True)
            _delete_keys(conn, durations.c.test, sorted(
                keys[test_id] for test_id, value in plan.durations.items() if value is None))
            _upsert_durations(conn, {keys[test_id]: tuple(value)
                                     for test_id, value in plan.durations.items()
                                     if value is not None})
        return True

    def _replace_failing(self, failing_events):
        with self._db.writing() as conn:
            self._write_failing(conn, failing_events)

    def _write_failing(self, conn, failing_events):
        conn.execute(failing.delete())
        keys = _test_keys(conn, sorted(failing_events), create=True)
        _insert_rows(conn, failing, [
            {"test": keys[test_id], "events": events, "run_id": run_id}
            for test_id, (events, run_id) in sorted(failing_events.items())])

    def _import_durations(self, new_durations):
        with self._db.writing() as conn:
            keys = _test_keys(conn, sorted(new_durations), create=True)
            timed = set()
            for chunk in _chunks(sorted(keys.values())):
                timed.update(conn.execute(sa.select(durations.c.test).where(
                    durations.c.test.in_(chunk))).scalars())
            rows = [{"test": keys[test_id], "seconds": seconds, "run_id": NO_RUN}
                    for test_id, seconds in sorted(new_durations.items())
                    if keys[test_id] not in timed]
            _insert_rows(conn, durations, rows)
            return len(rows)


def _keep_unsent(temp_path: str) -> str:
    """Rename a spooled run the database did not take so that it is no
    longer an orphan ``run-<pid>-*`` file: the next testr would otherwise
    store it by itself as an interrupted run, and the ``testr load`` the
    error message suggests would find it gone."""
    name = os.path.basename(temp_path)  # run-<pid>-<unique>.subunit
    kept = os.path.join(os.path.dirname(temp_path), "unsent-%s-%s" % (
        time.strftime("%Y%m%dT%H%M%S"), name[len("run-"):]))
    try:
        os.replace(temp_path, kept)
    except OSError:
        return temp_path
    return kept


def _seconds(status, start, stop) -> Optional[float]:
    if start is None or stop is None or status not in TIMED_STATUSES:
        return None
    return max(0.0, stop - start)


def _run_row(record: RunRecord) -> dict:
    return {"run_id": record.run_id, "passed": record.passed, "failed": record.failed,
            "skipped": record.skipped, "duration": record.duration, "started": record.started,
            "partial": record.partial, "interrupted": record.interrupted}


def _upsert_durations(conn, values: Dict[int, tuple]):
    """Set {tests.id: (seconds, run id)}: delete then insert, which both
    dialects do the same way (callers hold the write lock)."""
    test_keys = sorted(values)
    _delete_keys(conn, durations.c.test, test_keys)
    _insert_rows(conn, durations, [
        {"test": key, "seconds": values[key][0], "run_id": values[key][1]}
        for key in test_keys])


def open_existing(url: str) -> SQLRepository:
    """Open the repository in the database at ``url``; RepositoryNotFound
    if the database (or its testrepo tables) does not exist yet."""
    db = _Database(url)
    with _disposed_on_error(db):
        path = db.sqlite_path
        if path is not None and not os.path.isfile(path):
            raise RepositoryNotFound(
                "No repository at %s. Run `testr --repo-url %s init` (`testr run` creates "
                "one too)." % (db.shown, db.shown))
        version = db.schema_version()
        if version is None:
            raise RepositoryNotFound(
                "No repository in %s yet. Run `testr --repo-url %s init` (`testr run` "
                "creates one too)." % (db.shown, db.shown))
        _check_version(db, version)
    return SQLRepository(db, url)


@contextlib.contextmanager
def _disposed_on_error(db):
    """Close the engine's connections if the repository is not handed out
    (a program that embeds testrepo would otherwise keep them open)."""
    try:
        yield
    except BaseException:
        db.engine.dispose()
        raise


def _check_version(db, version):
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise RepositoryCorrupt(
            "%s holds schema %d, but this testrepo reads schema %d; upgrade testrepo."
            % (db.shown, version, SCHEMA_VERSION))
    with db.writing() as conn:
        while version < SCHEMA_VERSION:
            _UPGRADES[version](conn)
            version += 1
        conn.execute(meta.update().where(meta.c.key == _SCHEMA_VERSION_KEY)
                     .values(value=str(version)))


def initialise(url: str) -> SQLRepository:
    """Create the testrepo tables in the database at ``url`` (a SQLite file
    and its parent directories are created too)."""
    db = _Database(url)
    path = db.sqlite_path
    if path is not None and os.path.dirname(path):
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
        except OSError as err:
            raise RepositoryError("Cannot create the directory of %s (%s); check its "
                                  "permissions." % (path, err.strerror or err)) from None
    with _disposed_on_error(db):
        if path is not None:
            _enable_wal(db)
        db.create()
    return SQLRepository(db, url)


def _enable_wal(db):
    # Write-ahead logging lets readers go on while a run is being stored;
    # the setting is kept in the database file.
    with db._translated():
        connection = db.engine.raw_connection()
        try:
            # Outside any transaction: SQLite refuses the change inside one.
            connection.driver_connection.execute("PRAGMA journal_mode = WAL")
        finally:
            connection.close()


__all__ = ["SQLRepository", "initialise", "open_existing"]
