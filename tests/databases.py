"""Databases for the SQL backend's tests: SQLite files and PostgreSQL.

PostgreSQL tests need a server: ``TESTREPO_TEST_POSTGRESQL_URL`` names one
as a URL whose user may create databases (``.ci/postgresql start DIR``
starts a throwaway one and prints it). Each test gets a database of its
own, dropped afterwards. Without the variable the tests skip, except in CI
(env ``CI`` set), where they fail: `.ci/run` starts the server.
"""

from __future__ import annotations

import os
import uuid

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


class PostgreSQLDatabase(fixtures.Fixture):
    """A fresh, empty PostgreSQL database; ``url`` names it."""

    def __init__(self, admin_url: str):
        super().__init__()
        self.admin_url = admin_url

    def _setUp(self):
        import sqlalchemy as sa

        name = "testrepo_%s" % uuid.uuid4().hex[:16]
        admin = sa.engine.make_url(self.admin_url).set(drivername="postgresql+psycopg")
        engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        with engine.connect() as conn:
            conn.exec_driver_sql('CREATE DATABASE "%s"' % name)
        self.addCleanup(self._drop, engine, name)
        self.url = admin.set(database=name).set(drivername="postgresql").render_as_string(
            hide_password=False)

    @staticmethod
    def _drop(engine, name):
        with engine.connect() as conn:
            conn.exec_driver_sql('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
        engine.dispose()


def postgresql_url(test) -> str:
    """The URL of a fresh PostgreSQL database for ``test`` (a testtools
    TestCase), dropped when it ends."""
    return test.useFixture(PostgreSQLDatabase(postgresql_admin_url(test))).url


def sqlite_url(test) -> str:
    """The URL of a new SQLite database file in a temp dir of ``test``."""
    return "sqlite:///%s/repo.db" % test.useFixture(fixtures.TempDir()).path
