"""--queue with a real PostgreSQL: node processes on this machine, each in
its own copy of the project, sharing one build key (tests/databases.py
says how a server is found)."""

import os
import signal
import subprocess
import sys
import time

import fixtures
import testtools

from testrepo import repository
from tests.databases import postgresql_url
from tests.fixtures import SampleProject, testrepo_env
from tests.harness import testr

# test_a0_block comes first in the listing, so the first node leases it
# first; with FLEET_BLOCK set it says so through started.fifo and then
# waits: for go.fifo, or for ever (the node is killed).  With FLEET_FAIL
# set, every test of that node fails.
FLEET_TESTS = '''\
import os
import time
import unittest


class TestA0(unittest.TestCase):

    def test_a0_block(self):
        if os.environ.get("FLEET_BLOCK"):
            with open(os.environ["FLEET_BLOCK"] + "/started.fifo", "w") as fifo:
                fifo.write(str(os.getpid()))
            with open(os.environ["FLEET_BLOCK"] + "/go.fifo") as fifo:
                fifo.read()
        self.assertFalse(os.environ.get("FLEET_FAIL"))

''' + "".join(
    f"\nclass TestM{m}(unittest.TestCase):\n" + "".join(
        f"    def test_{t}(self):\n        time.sleep(0.02)\n"
        "        self.assertFalse(os.environ.get('FLEET_FAIL'))\n" for t in range(6))
    for m in range(5))
ALL_IDS = sorted(["sample.test_sample.TestA0.test_a0_block"] + [
    f"sample.test_sample.TestM{m}.test_{t}" for m in range(5) for t in range(6)])
# The nodes' --lease-ttl.  Most tests wait for a lease (or the merge's) to
# lapse once, and every waiting node polls at a quarter of it: 1 s.  A
# node whose heartbeat (every third of it) stalls longer is presumed dead
# and its run joins the build late; the tests that need every live node
# counted at the merge set ``self.ttl`` to 2 s.
TTL = "1"


def release_fifos(fifos):
    """A blocking test a failed test left waiting on ``fifos`` (its
    worker is a process group of its own) goes on, and ends."""
    for name, flags in (("started.fifo", os.O_RDONLY), ("go.fifo", os.O_WRONLY)):
        try:
            os.close(os.open(os.path.join(fifos, name), flags | os.O_NONBLOCK))
        except OSError:
            pass  # nobody is waiting on it


class QueueNodes:
    """Node processes of build K1 on a fresh PostgreSQL database; a mixin
    for testtools.TestCase."""

    def setUp(self):
        super().setUp()
        self.ttl = TTL
        self.url = postgresql_url(self)
        self.project = self.useFixture(SampleProject(config="stestr", tests=FLEET_TESTS))
        self.fifos = self.useFixture(fixtures.TempDir()).path
        # The nodes' spool (one machine's): a killed node's must not reach
        # the next test that gets the same database (URL) to use.
        self.spool = {"TESTREPO_SPOOL_DIR": self.useFixture(fixtures.TempDir()).path}
        for name in ("started.fifo", "go.fifo"):
            os.mkfifo(os.path.join(self.fifos, name))
        self.addCleanup(release_fifos, self.fifos)

    def node(self, *args, block=False, stderr=subprocess.STDOUT, env=None):
        """A node: `testr run --queue KEY` in a fresh copy of the project;
        ``block``: test_a0_block waits (True: on ``self.fifos``, or on the
        fifos in the directory ``block``); ``env``: more variables."""
        copy = os.path.join(self.useFixture(fixtures.TempDir()).path, "node")
        subprocess.run(["cp", "-r", self.project.path, copy], check=True)
        fifos = self.fifos if block is True else block
        env = testrepo_env(dict(self.spool, **(env or {}),
                                **({"FLEET_BLOCK": fifos} if block else {})))
        process = subprocess.Popen(
            [sys.executable, "-m", "testrepo", "-r", self.url, "run", "--queue", "K1",
             "--lease-ttl", self.ttl, *args], cwd=copy, env=env, stdout=subprocess.PIPE,
            stderr=stderr, stdin=subprocess.DEVNULL, start_new_session=True)
        self.addCleanup(self.stop_node, process)
        return process

    @staticmethod
    def stop_node(process):
        """A node a failed test left running (blocked, stopped) is killed
        with its workers, not left behind."""
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # it ended meanwhile
        process.wait()
        process.stdout.close()

    def spool_dir(self) -> str:
        """The nodes' spool directory for the build's repository."""
        from testrepo.repository.spool import user_spool_dir

        with fixtures.EnvironmentVariable("TESTREPO_SPOOL_DIR",
                                          self.spool["TESTREPO_SPOOL_DIR"]):
            repo = repository.open_repository(self.url)
            try:
                return user_spool_dir(repo.path)
            finally:
                repo.close()

    def wait_started(self) -> int:
        """The blocking test's worker pid, once it runs."""
        with open(os.path.join(self.fifos, "started.fifo")) as fifo:
            return int(fifo.read())

    def finished(self, *nodes, codes=None):
        """The nodes' outputs, once they exited with ``codes`` (all 0 by
        default; a function of the output: the code expected)."""
        outputs = []
        for node in nodes:
            out = node.communicate(timeout=40)[0].decode()
            outputs.append(out)
            self.assertEqual(codes(node, out) if codes else 0, node.returncode, out)
        return outputs

    def assert_one_complete_run(self, outputs):
        repo = repository.open_repository(self.url)
        self.addCleanup(repo.close)
        self.assertEqual(1, len(repo.run_ids()), "the node runs are removed")
        record = repo.get_run(repo.latest_id()).record
        self.assertEqual("K1", record.metadata["queue"])
        results = repo.test_results(record.run_id)
        self.assertEqual(ALL_IDS, sorted(results))
        self.assertEqual(len(ALL_IDS), record.total, "every id has exactly one result")
        self.assertEqual(1, sum("merging" in out for out in outputs))
        with repo._db.reading() as conn:
            left = conn.exec_driver_sql("SELECT count(*) FROM testrepo_queue_items").scalar()
        self.assertEqual(0, left, "queue rows are removed when the build ends")
        return repo

    def until(self, query, what, **params):
        """Ask ``query`` until it returns a row (for a minute); the row."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            rows = self.sql(query, **params)
            if rows:
                return rows[0]
            time.sleep(0.05)
        self.fail(f"gave up waiting for {what}")

    def sql(self, statement, **params):
        """``statement``'s rows (if it returns any), in a transaction of
        its own."""
        import sqlalchemy as sa

        repo = repository.open_repository(self.url)
        try:
            with repo._db.engine.begin() as conn:
                result = conn.execute(sa.text(statement), params)
                return result.all() if result.returns_rows else []
        finally:
            repo.close()


class TestQueue(QueueNodes, testtools.TestCase):

    def test_three_nodes_one_build(self):
        nodes = [self.node("-j", "2") for _ in range(3)]
        outputs = self.finished(*nodes)
        self.assertEqual(1, sum("Planned build K1" in out for out in outputs))
        repo = self.assert_one_complete_run(outputs)
        code, out, err = testr(self.project.path, "-r", self.url, "run", "--queue", "K1",
                               env=self.spool)
        self.assertEqual((0, f"Build K1 is over (run {repo.latest_id()}); nothing left to "
                             "run.\n"), (code, out))

    def test_killed_node_its_leases_run_elsewhere(self):
        doomed = self.node("-j", "1", block=True)
        worker = self.wait_started()
        # The planning node's TTL governs: with their own, the others would
        # wait 60 s for the killed node's leases (longer than finished()).
        others = [self.node("-j", "2", "--lease-ttl", "60") for _ in range(2)]
        # Kill the doomed node once the others joined and ran what was free:
        # they then wait for its lease to lapse.
        self.assertIn(b"Joined build K1", others[0].stdout.readline())
        ttl_note = (f"Build K1: its lease TTL is {TTL} s (its planning node's --lease-ttl), "
                    f"not this node's 60 s; using {TTL} s.")
        # (communicate() below reads the pipe itself: not what readline buffered.)
        self.assertEqual(ttl_note, others[0].stdout.readline().decode().strip())
        # The node first: killed after its worker, it could see the worker
        # die and spool the blocked test as failed (seen under load).
        os.killpg(doomed.pid, signal.SIGKILL)
        os.killpg(worker, signal.SIGKILL)
        doomed.communicate()
        outputs = self.finished(*others)
        self.assertIn(ttl_note, outputs[1])
        repo = self.assert_one_complete_run(outputs)
        build_run = repo.latest_id()
        # The killed node's spool (if it got any event: the blocked test
        # reports nothing until it ends) is not left as a run of its own
        # (TestMergingNodeDies.test_recovered_node_run_joins_the_build).
        code, out, err = testr(self.project.path, "-r", self.url, "last", env=self.spool)
        self.assertEqual(0, code, out + err)
        self.assertEqual([build_run], repo.run_ids())
        self.assertEqual([], os.listdir(self.spool_dir()))

    def test_late_node_joins_and_helps(self):
        """Also each node's exit code: the late node's tests fail, the first
        node's pass, a third node runs none; a node exits with its own
        results (0 for none), the merging node with the build's."""
        # The first node's lease must not lapse while it runs (2 s).
        self.ttl = "2"
        first = self.node("-j", "1", block=True)
        self.wait_started()
        late = self.node("-j", "2", env={"FLEET_FAIL": "1"})
        line = late.stdout.readline()
        self.assertIn(b"Joined build K1", line)
        # The late node has run all but the first node's lease, and waits
        # for it; a third node joins now: nothing is left for it.
        self.until("SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM testrepo_queue_items WHERE "
                   "owner NOT LIKE :first AND state <> 'ran' OR owner IS NULL)",
                   "the late node to run the rest", first=f"%:{first.pid}:%")
        third = self.node("-j", "1", env={"FLEET_FAIL": "1"})
        self.until("SELECT 1 FROM testrepo_queue_nodes WHERE node LIKE :third",
                   "the third node to join", third=f"%:{third.pid}:%")
        with open(os.path.join(self.fifos, "go.fifo"), "w") as go:
            go.write("go")
        # Whichever stores its run last merges (usually the late node).
        outputs = self.finished(first, late, third, codes=lambda node, out: int(
            node is late or "merging" in out))
        self.assertIn("Ran: ", outputs[1])
        self.assertNotIn("ran none of build", outputs[1])
        if "merging" not in outputs[2]:
            self.assertIn("This node ran none of build K1's tests", outputs[2])
        repo = self.assert_one_complete_run(outputs)
        self.assertTrue(repo.get_run(repo.latest_id()).record.failed)


class TestQueueWithoutDatabase(testtools.TestCase):
    """The database is down at the start (nothing listens on the port)."""

    def test_falls_back_to_the_shard_or_stops(self):
        project = self.useFixture(SampleProject(config="stestr", tests=FLEET_TESTS))
        down = "postgresql://testrepo@127.0.0.1:9/none"
        code, out, err = testr(project.path, "-r", down, "run", "--queue", "K1")
        self.assertEqual(4, code)
        self.assertEqual(1, len(err.splitlines()), err)
        self.assertIn("Cannot reach the repository database", err)
        code, out, err = testr(project.path, "-r", down, "run", "--queue", "K1",
                               "--shard", "2/2")
        self.assertIn("running static shard 2/2 instead, without durations", out)
        self.assertIn("Shard 2/2 (from --shard): 15 of 31 test(s)", out)
        self.assertEqual(4, code, out + err)
        self.assertIn("The run was not stored; its stream is kept at", err)
