"""Databases for the SQL backend's tests: SQLite files and PostgreSQL.

PostgreSQL tests need a server: ``TESTREPO_TEST_POSTGRESQL_URL`` names one
as a URL whose user may create databases (``.ci/postgresql start DIR``
starts a throwaway one and prints it). Each test gets an empty database
of its own (see PostgreSQLDatabase). Without the variable the tests skip,
except in CI (env ``CI`` set), where they fail: `.ci/run` starts the server.
"""

from __future__ import annotations

import atexit
import os
import uuid
from typing import Dict, List

import fixtures

POSTGRESQL_URL_VARIABLE = "TESTREPO_TEST_POSTGRESQL_URL"


def postgresql_admin_url(test) -> str:
    url = os.environ.get(POSTGRESQL_URL_VARIABLE)
    if url:
        return url
    if os.environ.get("CI"):
        test.fail("%s is not set but CI is: .ci/run starts PostgreSQL with "
                  "`.ci/postgresql start DIR` and exports it." % POSTGRESQL_URL_VARIABLE)
    test.skipTest("no PostgreSQL server: run `eval \"$(.ci/postgresql start /tmp/pg)\"` "
                  "to test the PostgreSQL backend")


# Databases this test process made and emptied again after a test, by admin
# URL: the next test gets one of these. CREATE DATABASE takes a quarter of a
# second (PostgreSQL checkpoints to copy the template); emptying one takes
# milliseconds, and the SQL tests would otherwise spend most of their time
# creating databases. Dropped when the process exits.
_EMPTIED: Dict[str, List[str]] = {}


def _admin_engine(admin_url):
    import sqlalchemy as sa

    admin = sa.engine.make_url(admin_url).set(drivername="postgresql+psycopg")
    return sa.create_engine(admin, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


def _drop_databases(admin_url, names):
    engine = _admin_engine(admin_url)
    with engine.connect() as conn:
        for name in names:
            conn.exec_driver_sql('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
    engine.dispose()


class PostgreSQLDatabase(fixtures.Fixture):
    """A fresh, empty PostgreSQL database; ``url`` names it.

    Empty as a new database is: testrepo keeps everything in the ``public``
    schema, so after the test the database is emptied (its other sessions
    ended, ``public`` dropped and made again) and kept for the next test of
    this process; one that cannot be emptied (a test renamed it and
    failed) is dropped instead.
    """

    def __init__(self, admin_url: str):
        super().__init__()
        self.admin_url = admin_url

    def _setUp(self):
        import sqlalchemy as sa

        emptied = _EMPTIED.get(self.admin_url)
        if emptied:
            name = emptied.pop()
        else:
            name = "testrepo_%s" % uuid.uuid4().hex[:16]
            engine = _admin_engine(self.admin_url)
            with engine.connect() as conn:
                conn.exec_driver_sql('CREATE DATABASE "%s"' % name)
            engine.dispose()
            if not _EMPTIED:
                atexit.register(_drop_emptied)
            _EMPTIED.setdefault(self.admin_url, [])
        self.addCleanup(self._empty, name)
        admin = sa.engine.make_url(self.admin_url).set(drivername="postgresql")
        self.url = admin.set(database=name).render_as_string(hide_password=False)

    def _empty(self, name):
        import sqlalchemy as sa

        engine = sa.create_engine(sa.engine.make_url(self.url).set(
            drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT",
            poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()")
                conn.exec_driver_sql("DROP SCHEMA public CASCADE")
                conn.exec_driver_sql("CREATE SCHEMA public")
        except sa.exc.SQLAlchemyError:
            _drop_databases(self.admin_url, [name])
        else:
            _EMPTIED[self.admin_url].append(name)
        finally:
            engine.dispose()


def _drop_emptied():
    for admin_url, names in _EMPTIED.items():
        _drop_databases(admin_url, names)


def postgresql_url(test) -> str:
    """The URL of a fresh PostgreSQL database for ``test`` (a testtools
    TestCase), emptied when it ends."""
    return test.useFixture(PostgreSQLDatabase(postgresql_admin_url(test))).url


def sqlite_url(test) -> str:
    """The URL of a new SQLite database file in a temp dir of ``test``."""
    return "sqlite:///%s/repo.db" % test.useFixture(fixtures.TempDir()).path
