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

import io
import os
from typing import Dict, List

import sqlalchemy as sa

from testrepo.errors import RepositoryCorrupt, RepositoryError, RepositoryNotFound, UnknownRunError
from testrepo.repository.abstract import Repository, Run
from testrepo.repository.records import RunRecord
from testrepo.repository.spool import (
    SpoolingInserter,
    keep_unsent,
    recover_spooled,
    user_spool_dir,
)
from testrepo.repository.sql_database import (
    Database,
    check_version,
    disposed_on_error,
    enable_wal,
)
from testrepo.repository.sql_schema import (
    NEXT_RUN_ID,
    NO_RUN,
    RUN_COLUMNS,
    SCAN_ABOVE,
    attachment_rows,
    attachments,
    chunks,
    delete_keys,
    durations,
    failing,
    insert_rows,
    meta,
    run_metadata,
    run_row,
    run_streams,
    runs,
    seconds_between,
    test_key_map,
    test_runs,
    tests,
    upsert_durations,
)


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


class SQLInserter(SpoolingInserter):
    """Spools the run to a local file (see testrepo.repository.spool), as
    the file backend does, and stores it in one transaction when the run
    ends; keeps each test's result for the test_runs rows."""

    keep_results = True


class SQLRepository(Repository):
    """A repository in a SQL database. Use ``open_existing``/``initialise``."""

    def __init__(self, db: Database, url: str):
        self._db = db
        self.url = url
        self.path = db.shown

    @property
    def spool_dir(self) -> str:
        """A local directory per repository for streams of runs in progress
        (and of runs the database could not take)."""
        return user_spool_dir(self.path)

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
            kept = keep_unsent(temp_path)
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
                meta.c.key == NEXT_RUN_ID)).scalar_one())
            conn.execute(meta.update().where(meta.c.key == NEXT_RUN_ID)
                         .values(value=str(run_id + 1)))
            record = pending.record(run_id)
            conn.execute(runs.insert().values(run_row(record)))
        else:
            record = pending.record(pending.run_id)
            changed = conn.execute(runs.update().where(runs.c.run_id == record.run_id)
                                   .values(run_row(record))).rowcount
            if not changed:
                raise UnknownRunError(
                    "Run %d was removed from the repository at %s while events were being "
                    "added to it; they were not stored." % (record.run_id, self.path))
            for table in (attachments, test_runs, run_metadata, run_streams):
                conn.execute(table.delete().where(table.c.run_id == record.run_id))
        run_id = record.run_id
        if record.metadata:
            insert_rows(conn, run_metadata, [
                {"run_id": run_id, "key": key, "value": value}
                for key, value in sorted(record.metadata.items())])
        conn.execute(run_streams.insert().values(run_id=run_id, data=data))
        results = pending.results or {}
        failures = pending.failures
        keys = test_key_map(conn, sorted(set(results) | set(pending.durations)
                                       | set(failures) | set(pending.failing.cleared)),
                          create=True)
        self._store_results(conn, run_id, results, failures, keys)
        upsert_durations(conn, {keys[test_id]: (seconds, run_id)
                                 for test_id, seconds in pending.durations.items()})
        self._apply_failing(conn, pending.failing, run_id, keys)
        return record

    def _store_results(self, conn, run_id, results, failures, keys):
        rows = [{"run_id": run_id, "test": keys[test_id], "status": status,
                 "start_time": start, "stop_time": stop, "events": failures.get(test_id)}
                for test_id, (status, start, stop) in sorted(results.items())]
        insert_rows(conn, test_runs, rows)
        files = []
        for test_id, events in sorted(failures.items()):
            if test_id in results:
                files.extend(attachment_rows(run_id, keys[test_id], events))
        insert_rows(conn, attachments, files)

    def _apply_failing(self, conn, update, run_id, keys):
        """The SQL form of FailingUpdate.apply."""
        if update.replace_all:
            conn.execute(failing.delete())
        else:
            delete_keys(conn, failing.c.test, sorted(keys[test_id] for test_id in update.cleared))
        delete_keys(conn, failing.c.test, sorted(keys[test_id] for test_id in update.failed))
        insert_rows(conn, failing, [
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
        query = sa.select(*RUN_COLUMNS)
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
            if len(test_ids) > SCAN_ABOVE:
                wanted = set(test_ids)
                return [tuple(row) for row in conn.execute(query) if row[0] in wanted]
            found = []
            for chunk in chunks(test_ids):
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
        return {test_id: (status, seconds_between(status, start, stop))
                for test_id, status, start, stop in rows}

    def _timed_by(self, run_ids):
        found = []
        with self._db.reading() as conn:
            for chunk in chunks(sorted(run_ids)):
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
            for chunk in chunks(run_ids):
                # Children first: SQLite enforces the foreign keys only when
                # asked, so cascades are not relied on.
                for table in (attachments, test_runs, run_metadata, run_streams, runs):
                    conn.execute(table.delete().where(table.c.run_id.in_(chunk)))
            if plan.failing is not None:
                self._write_failing(conn, plan.failing)
            keys = test_key_map(conn, sorted(plan.durations), create=True)
            delete_keys(conn, durations.c.test, sorted(
                keys[test_id] for test_id, value in plan.durations.items() if value is None))
            upsert_durations(conn, {keys[test_id]: tuple(value)
                                     for test_id, value in plan.durations.items()
                                     if value is not None})
        return True

    def _replace_failing(self, failing_events):
        with self._db.writing() as conn:
            self._write_failing(conn, failing_events)

    def _write_failing(self, conn, failing_events):
        conn.execute(failing.delete())
        keys = test_key_map(conn, sorted(failing_events), create=True)
        insert_rows(conn, failing, [
            {"test": keys[test_id], "events": events, "run_id": run_id}
            for test_id, (events, run_id) in sorted(failing_events.items())])

    def _import_durations(self, new_durations):
        with self._db.writing() as conn:
            keys = test_key_map(conn, sorted(new_durations), create=True)
            timed = set()
            for chunk in chunks(sorted(keys.values())):
                timed.update(conn.execute(sa.select(durations.c.test).where(
                    durations.c.test.in_(chunk))).scalars())
            rows = [{"test": keys[test_id], "seconds": seconds, "run_id": NO_RUN}
                    for test_id, seconds in sorted(new_durations.items())
                    if keys[test_id] not in timed]
            insert_rows(conn, durations, rows)
            return len(rows)


def open_existing(url: str) -> SQLRepository:
    """Open the repository in the database at ``url``; RepositoryNotFound
    if the database (or its testrepo tables) does not exist yet."""
    db = Database(url)
    with disposed_on_error(db):
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
        check_version(db, version)
    return SQLRepository(db, url)


def initialise(url: str) -> SQLRepository:
    """Create the testrepo tables in the database at ``url`` (a SQLite file
    and its parent directories are created too)."""
    db = Database(url)
    path = db.sqlite_path
    if path is not None and os.path.dirname(path):
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
        except OSError as err:
            raise RepositoryError("Cannot create the directory of %s (%s); check its "
                                  "permissions." % (path, err.strerror or err)) from None
    with disposed_on_error(db):
        if path is not None:
            enable_wal(db)
        db.create()
    return SQLRepository(db, url)


__all__ = ["SQLRepository", "initialise", "open_existing"]

