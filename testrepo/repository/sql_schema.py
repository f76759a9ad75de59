"""The SQL backend's schema (version 1) as SQLAlchemy Core tables, and the
bulk statements that read and write its rows (see doc/repository-format.rst
for what each table holds).
"""

from __future__ import annotations

from typing import Dict, List, Optional

import sqlalchemy as sa

from testrepo import subunit_v2
from testrepo.repository.events import TIMED_STATUSES
from testrepo.repository.records import RunRecord

# Version 1 is the first SQL schema. A later testrepo that changes it adds
# an entry to UPGRADES and bumps this; see doc/repository-format.rst.
SCHEMA_VERSION = 1
# Run ids, like the file backend's, are never reused: the counter only grows.
NEXT_RUN_ID = "next_run_id"
SCHEMA_VERSION_KEY = "schema_version"
# Rows per IN (...) query: under SQLite's historical limit of 999 parameters.
QUERY_CHUNK = 500
# Above this many wanted ids, one scan of a table beats chunked IN queries.
SCAN_ABOVE = 20 * QUERY_CHUNK

METADATA = sa.MetaData()
meta = sa.Table(
    "testrepo_meta", METADATA,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False))
runs = sa.Table(
    "runs", METADATA,
    sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("passed", sa.Integer, nullable=False),
    sa.Column("failed", sa.Integer, nullable=False),
    sa.Column("skipped", sa.Integer, nullable=False),
    sa.Column("duration", sa.Float, nullable=False),
    sa.Column("started", sa.String(40)),
    sa.Column("partial", sa.Boolean, nullable=False),
    sa.Column("interrupted", sa.Boolean, nullable=False))
run_metadata = sa.Table(
    "run_metadata", METADATA,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.run_id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("value", sa.Text, nullable=False))
run_streams = sa.Table(
    "run_streams", METADATA,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.run_id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("data", sa.LargeBinary, nullable=False))
tests = sa.Table(
    "tests", METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("test_id", sa.Text, nullable=False, unique=True))
# start_time/stop_time are epoch seconds (float), as subunit timestamps are
# handled everywhere else in testrepo; PostgreSQL's to_timestamp() shows them.
test_runs = sa.Table(
    "test_runs", METADATA,
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
    "attachments", METADATA,
    sa.Column("run_id", sa.Integer, primary_key=True),
    sa.Column("test", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("mime_type", sa.Text),
    sa.Column("content", sa.LargeBinary, nullable=False),
    sa.ForeignKeyConstraint(["run_id", "test"], ["test_runs.run_id", "test_runs.test"],
                            ondelete="CASCADE"))
durations = sa.Table(
    "durations", METADATA,
    sa.Column("test", sa.Integer, sa.ForeignKey("tests.id"), primary_key=True),
    sa.Column("seconds", sa.Float, nullable=False),
    # The run that measured it, or NO_RUN for imported timings.
    sa.Column("run_id", sa.Integer, nullable=False),
    sa.Index("durations_by_run", "run_id", "seconds"))
failing = sa.Table(
    "failing", METADATA,
    sa.Column("test", sa.Integer, sa.ForeignKey("tests.id"), primary_key=True),
    sa.Column("events", sa.LargeBinary, nullable=False),
    sa.Column("run_id", sa.Integer, nullable=False))

NO_RUN = -1
# Schema upgrades: {from version: function(connection)}, applied in order
# by testrepo.repository.sql_database.check_version inside the write lock.
UPGRADES: Dict[int, object] = {}

RUN_COLUMNS = [runs.c.run_id, runs.c.passed, runs.c.failed, runs.c.skipped, runs.c.duration,
               runs.c.started, runs.c.partial, runs.c.interrupted]


def chunks(items, size=QUERY_CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def insert_rows(conn, table, rows: List[dict]) -> None:
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


def delete_keys(conn, column, keys: List) -> None:
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


def test_key_map(conn, test_ids: List[str], create: bool = False) -> Dict[str, int]:
    """{test id: tests.id} for ``test_ids``; with ``create``, rows are made
    for ids not yet known (callers hold the write lock)."""
    keys: Dict[str, int] = {}
    if len(test_ids) > SCAN_ABOVE:
        wanted = set(test_ids)
        keys.update(row for row in conn.execute(
            sa.select(tests.c.test_id, tests.c.id)).all() if row[0] in wanted)
    else:
        for chunk in chunks(test_ids):
            keys.update(conn.execute(sa.select(tests.c.test_id, tests.c.id)
                                     .where(tests.c.test_id.in_(chunk))).all())
    missing = [test_id for test_id in test_ids if test_id not in keys]
    if create and missing:
        insert_rows(conn, tests, [{"test_id": test_id} for test_id in missing])
        for chunk in chunks(missing):
            keys.update(conn.execute(sa.select(tests.c.test_id, tests.c.id)
                                     .where(tests.c.test_id.in_(chunk))).all())
    return keys


def attachment_rows(run_id, test_key, events: bytes):
    """The files (tracebacks, captured output) in a failed test's events."""
    files: Dict[str, List] = {}
    for event in subunit_v2.iter_events(events):
        if event.file_name is None:
            continue
        entry = files.setdefault(event.file_name, [event.mime_type, []])
        entry[1].append(event.file_bytes or b"")
    return [{"run_id": run_id, "test": test_key, "name": name, "mime_type": mime,
             "content": b"".join(parts)} for name, (mime, parts) in sorted(files.items())]


def seconds_between(status, start, stop) -> Optional[float]:
    if start is None or stop is None or status not in TIMED_STATUSES:
        return None
    return max(0.0, stop - start)


def run_row(record: RunRecord) -> dict:
    return {"run_id": record.run_id, "passed": record.passed, "failed": record.failed,
            "skipped": record.skipped, "duration": record.duration, "started": record.started,
            "partial": record.partial, "interrupted": record.interrupted}


def upsert_durations(conn, values: Dict[int, tuple]):
    """Set {tests.id: (seconds, run id)}: delete then insert, which both
    dialects do the same way (callers hold the write lock)."""
    test_keys = sorted(values)
    delete_keys(conn, durations.c.test, test_keys)
    insert_rows(conn, durations, [
        {"test": key, "seconds": values[key][0], "run_id": values[key][1]}
        for key in test_keys])
