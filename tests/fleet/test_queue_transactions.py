"""The build queue's transactions against a real PostgreSQL server: a
node's heartbeat thread beside its own lease, finish and forget; a
waiting node woken by another's news; and what a transaction the server
rolls back reads as."""

import threading
import time

import testtools

from testrepo.errors import RepositoryError
from testrepo.repository import initialise_repository
from testrepo.repository.sql_queue import BuildQueue
from testrepo.scheduler.build_queue import Item
from tests.databases import PostgreSQLDatabase, postgresql_admin_url

NODES = 3
BUILDS = 10


class TestQueueTransactions(testtools.TestCase):

    def setUp(self):
        super().setUp()
        url = self.useFixture(PostgreSQLDatabase(postgresql_admin_url(self))).url
        self.repo = initialise_repository(url)
        self.addCleanup(self.repo.close)

    def run_node(self, name: str, barrier: threading.Barrier, failures: list) -> None:
        """One node's builds, one after another, each with a heartbeat
        thread that renews as fast as it can (as a node's does, slower)."""
        for build in range(BUILDS):
            queue = BuildQueue(self.repo._db, f"build-{build}", name, 5)
            barrier.wait()
            queue.join(lambda: [Item(i, (f"t{i}",), 1.0) for i in range(40)], 2)
            stop = threading.Event()
            beats = threading.Thread(target=_beat, args=(queue, stop, failures))
            beats.start()
            try:
                _lease_all_and_finish(queue)
            except RepositoryError as err:
                failures.append(str(err))
            finally:
                stop.set()
                beats.join()

    def test_heartbeat_beside_the_nodes_own_transactions(self):
        # Before a node's transactions ran one at a time, 3 runs of 4 of
        # this test with 6 builds failed: 'deadlock detected', the merging
        # node's forget against its own heartbeat.
        failures, barrier = [], threading.Barrier(NODES)
        nodes = [threading.Thread(target=self.run_node, args=(f"node-{n}", barrier, failures))
                 for n in range(NODES)]
        for node in nodes:
            node.start()
        for node in nodes:
            node.join()
        self.assertEqual([], failures)
        self.assertEqual([], self.sql("SELECT build_key FROM testrepo_queue_builds"))

    def test_a_deadlock_is_named_as_one(self):
        self.sql("CREATE TABLE scratch (n INT PRIMARY KEY); INSERT INTO scratch VALUES (1), (2)")
        barrier, errors = threading.Barrier(2), []

        def lock(first, second):
            try:
                with self.repo._db._translated(), self.repo._db.engine.begin() as conn:
                    conn.exec_driver_sql(f"UPDATE scratch SET n = n WHERE n = {first}")
                    barrier.wait()
                    conn.exec_driver_sql(f"UPDATE scratch SET n = n WHERE n = {second}")
            except RepositoryError as err:
                errors.append(str(err))

        both = [threading.Thread(target=lock, args=order) for order in ((1, 2), (2, 1))]
        for thread in both:
            thread.start()
        for thread in both:
            thread.join()
        self.assertEqual(1, len(errors))
        self.assertIn("rolled a transaction back (deadlock detected). Run again; if it "
                      "recurs, report it with the server's log.", errors[0])

    def test_a_waiting_node_wakes_at_the_builds_last_item_and_at_its_merge(self):
        waiting = BuildQueue(self.repo._db, "K1", "waiting", 60)
        running = BuildQueue(self.repo._db, "K1", "running", 60)
        waiting.join(lambda: [Item(0, ("t0",), 1.0), Item(1, ("t1",), 1.0)], 1)
        running.join(lambda: [], 1)
        self.assertEqual([0], [item.position for item in running.lease([])[0]])
        self.assertEqual([1], [item.position for item in running.lease([0])[0]])
        # The last item run is news, and so is the merge.
        self.assertTrue(self.woken(waiting, lambda: running.lease([1])))
        self.assertTrue(self.woken(waiting, running.forget))
        self.assertFalse(waiting.wait_for_news(0.1), "no news: the poll ends the wait")

    def woken(self, waiting: BuildQueue, news) -> bool:
        """Whether ``waiting``, waiting for 120 s, is woken by ``news``."""
        woken = []
        waiter = threading.Thread(target=lambda: woken.append(waiting.wait_for_news(120)))
        waiter.start()
        self.until_listening(1)
        news()
        waiter.join(60)
        self.until_listening(0)
        return woken == [True]

    def until_listening(self, sessions: int) -> None:
        """Ask until ``sessions`` sessions of this database are listening
        (a session's last statement was LISTEN), for a minute."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.sql("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                        "current_database() AND starts_with(query, 'LISTEN')")[0][0] == sessions:
                return
            time.sleep(0.02)
        self.fail(f"gave up waiting for {sessions} listening session(s)")

    def sql(self, statements: str):
        with self.repo._db.engine.begin() as conn:
            result = conn.exec_driver_sql(statements)
            return [tuple(row) for row in result] if result.returns_rows else None


def _beat(queue: BuildQueue, stop: threading.Event, failures: list) -> None:
    while not stop.is_set():
        try:
            queue.heartbeat()
        except RepositoryError as err:
            failures.append(str(err))


def _lease_all_and_finish(queue: BuildQueue) -> None:
    """Lease until the queue is empty, then finish: the node that merges
    forgets the build; the others leave it counted."""
    ran = []
    while True:
        items, outstanding = queue.lease(ran)
        ran = [item.position for item in items]
        if not items and not outstanding:
            break
    answer = queue.finish(None)
    while answer.action == "wait" and not answer.counted:
        answer = queue.finish(None)
    if answer.action == "merge":
        queue.forget()
