"""The SQL backend's connection to its database: one SQLAlchemy engine
whose errors all become RepositoryErrors that name the URL (password
hidden), the write lock every writer takes, creating the schema and
checking (upgrading) its version.
"""

from __future__ import annotations

import contextlib
import re
import weakref
from typing import Optional

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from testrepo.errors import RepositoryCorrupt, RepositoryError, RepositoryExists, UsageError
from testrepo.repository.sql_schema import (
    METADATA,
    NEXT_RUN_ID,
    SCHEMA_VERSION,
    SCHEMA_VERSION_KEY,
    UPGRADES,
    meta,
)

# Arbitrary constant key for PostgreSQL's advisory lock around `init`.
_INIT_LOCK_KEY = 0x7465737472  # "testr"


class Database:
    """The engine, with every SQLAlchemy error turned into a RepositoryError.

    ``shown`` is the URL with any password hidden, for messages.
    """

    def __init__(self, url: str):
        try:
            parsed = sa.engine.make_url(url)
        except (sa_exc.ArgumentError, ValueError) as err:
            raise RepositoryError(
                "Cannot parse the repository URL %r (%s); use sqlite:///PATH or "
                "postgresql://USER@HOST/DATABASE." % (without_password(url), err)) from None
        if parsed.drivername in ("postgresql", "postgres"):
            # SQLAlchemy's default PostgreSQL driver is psycopg2; we ship psycopg 3.
            parsed = parsed.set(drivername="postgresql+psycopg")
        self.url = parsed
        self.shown = parsed.render_as_string(hide_password=True).replace(
            "postgresql+psycopg://", "postgresql://")
        self.sqlite = parsed.get_backend_name() == "sqlite"
        self.engine = self._create_engine(parsed)
        # Pooled connections are closed when the database object goes, not
        # left to the driver's finalizer (a ResourceWarning in a program
        # that embeds testrepo and never calls the repository's close).
        weakref.finalize(self, self.engine.dispose)

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
                        sa.select(meta.c.value).where(meta.c.key == NEXT_RUN_ID)
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
        if str(getattr(orig, "sqlstate", None) or "").startswith("40"):
            # Deadlock or serialization failure: the server is reachable, and
            # testrepo's own transactions conflicted (a bug to report).
            return RepositoryError(
                "The repository database %s rolled a transaction back (%s). Run again; "
                "if it recurs, report it with the server's log." % (
                    self.shown, reason))
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
                meta.c.key == SCHEMA_VERSION_KEY)).scalar()
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
                    METADATA.create_all(conn)
                    conn.execute(meta.insert(), [
                        {"key": SCHEMA_VERSION_KEY, "value": str(SCHEMA_VERSION)},
                        {"key": NEXT_RUN_ID, "value": "0"}])


def without_password(url: str) -> str:
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


@contextlib.contextmanager
def disposed_on_error(db):
    """Close the engine's connections if the repository is not handed out
    (a program that embeds testrepo would otherwise keep them open)."""
    try:
        yield
    except BaseException:
        db.engine.dispose()
        raise


def check_version(db, version):
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise RepositoryCorrupt(
            "%s holds schema %d, but this testrepo reads schema %d; upgrade testrepo."
            % (db.shown, version, SCHEMA_VERSION))
    with db.writing() as conn:
        while version < SCHEMA_VERSION:
            UPGRADES[version](conn)
            version += 1
        conn.execute(meta.update().where(meta.c.key == SCHEMA_VERSION_KEY)
                     .values(value=str(version)))


def enable_wal(db):
    # Write-ahead logging lets readers go on while a run is being stored;
    # the setting is kept in the database file.
    with db._translated():
        connection = db.engine.raw_connection()
        try:
            # Outside any transaction: SQLite refuses the change inside one.
            connection.driver_connection.execute("PRAGMA journal_mode = WAL")
        finally:
            connection.close()
