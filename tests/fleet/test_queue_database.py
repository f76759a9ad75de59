"""A --queue node whose PostgreSQL fails during the run: its connections
are terminated, or the database stops taking connections (and its
connections are terminated)."""

import os
import re
import subprocess

import testtools

from testrepo import repository
from tests.databases import _admin_engine, postgresql_admin_url
from tests.fleet.test_queue import ALL_IDS, QueueNodes
from tests.harness import testr


class TestDatabaseFailsMidRun(QueueNodes, testtools.TestCase):

    def database(self, allow: bool = True, terminate: bool = True):
        """End the build database's connections (``terminate``), and let it
        take new ones or not (``allow``)."""
        import sqlalchemy as sa

        name = sa.engine.make_url(self.url).database
        engine = _admin_engine(postgresql_admin_url(self))
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {allow}')
                if terminate:
                    conn.exec_driver_sql(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        f"WHERE datname = '{name}'")
        finally:
            engine.dispose()

    def run_blocked_node(self, allow: bool):
        """One node; the database fails (``allow``: it takes new
        connections) while the node runs its first test.  The node's exit
        code, stdout and stderr."""
        node = self.node("-j", "1", block=True, stderr=subprocess.PIPE)
        self.wait_started()
        self.database(allow=allow)
        self.addCleanup(self.database, terminate=False)
        with open(os.path.join(self.fifos, "go.fifo"), "w") as go:
            go.write("go")
        out, err = (data.decode() for data in node.communicate(timeout=60))
        return node.returncode, out, err

    def test_dropped_connections_cost_nothing(self):
        code, out, err = self.run_blocked_node(allow=True)
        self.assertEqual((0, ""), (code, err), out)
        self.assert_one_complete_run([out])

    def test_database_down_results_spooled_and_the_build_completes(self):
        code, out, err = self.run_blocked_node(allow=False)
        self.assertEqual(4, code, out + err)
        self.assertEqual(1, len(err.splitlines()), err)
        self.assertNotIn("Traceback", out + err)
        self.assertIn("Cannot reach the repository database", err)
        self.assertIn("Build K1: its other nodes (or `testr run --queue K1` again) run this "
                      "node's tests again once its leases lapse.", err)
        ran = re.findall(r"\{0\} (\S+) \[", out)
        self.assertIn("sample.test_sample.TestA0.test_a0_block", ran)
        # The database is back: the kept stream loads with the command given.
        self.database(terminate=False)
        load = re.search(r"`testr --repo-url \S+ (load --partial \S+)`", err).group(1).split()
        code, load_out, load_err = testr(self.project.path, "-r", self.url, *load,
                                         env=self.spool)
        self.assertEqual(0, code, load_out + load_err)
        repo = repository.open_repository(self.url)
        self.addCleanup(repo.close)
        self.assertEqual(sorted(ran), sorted(repo.test_results(repo.latest_id())))
        # Another node runs the build's tests, the failed node's too.
        outputs = self.finished(self.node("-j", "2"))
        self.assertIn("Joined build K1", outputs[0])
        merged = repo.get_run(repo.latest_id()).record
        self.assertEqual(("K1", len(ALL_IDS), 0),
                         (merged.metadata.get("queue"), merged.total, merged.failed))
        self.assertEqual([], self.sql("SELECT * FROM testrepo_queue_items"))
