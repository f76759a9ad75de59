"""The end of a --queue build with a real PostgreSQL and real node
processes: the merging node SIGKILLed (another node, or the next `testr
last`, takes the merge over) and a test run on two nodes (tagged
duplicate)."""

import io
import os
import signal
import subprocess

import fixtures
import testtools

from testrepo import repository, subunit_v2
from testrepo.api import queue_merge
from testrepo.options import OutputOptions
from testrepo.repository.sql_queue import BuildQueue
from testrepo.scheduler.build_queue import plan_items
from tests.fleet.test_queue import ALL_IDS, QueueNodes, release_fifos
from tests.harness import testr

BLOCK_ID = "sample.test_sample.TestA0.test_a0_block"
# A trigger that makes the merging node wait, at the step under test, for
# an advisory lock the test holds: the node is then killed at that step.
_PAUSE = """CREATE FUNCTION testrepo_test_pause() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_advisory_xact_lock(4242); RETURN NULL; END $$;
CREATE TRIGGER testrepo_test_pause {when} FOR EACH ROW {condition}
EXECUTE FUNCTION testrepo_test_pause()"""
# The build's run being stored (only it has queue_nodes), or the node
# runs being removed after it was stored.
STORING = dict(when="AFTER INSERT ON run_metadata", condition="WHEN (NEW.key = 'queue_nodes')")
REMOVING = dict(when="AFTER DELETE ON runs", condition="")


def run_every_test(repo, queue) -> int:
    """Node ``queue.node`` leases all it can of build K1 and stores a
    passing result for every test of it: its node run."""
    ran = []
    while True:
        items, _ = queue.lease(ran)
        if not items:
            break
        ran = [item.position for item in items]
    inserter = repo.insert(partial=True, metadata={"queue": "K1", "queue_node": queue.node})
    inserter.startTestRun()
    for test_id in ALL_IDS:
        inserter.status(test_id=test_id, test_status="success")
    inserter.stopTestRun()
    return inserter.run_id


class TestMergingNodeDies(QueueNodes, testtools.TestCase):

    def pause_merging_at(self, step):
        """A connection holding the lock the trigger for ``step`` waits on
        (a session lock: closing the pooled connection would keep it)."""
        import sqlalchemy as sa

        repo = repository.initialise_repository(self.url)
        self.addCleanup(repo.close)
        self.sql(_PAUSE.format(**step))
        holder = repo._db.engine.connect()
        holder.execute(sa.text("SELECT pg_advisory_lock(4242)"))
        return holder

    def kill_merger_at(self, step):
        """Two nodes of build K1; the one elected to merge is SIGKILLed at
        ``step``; the other node's output."""
        import sqlalchemy as sa

        holder = self.pause_merging_at(step)
        first = self.node("-j", "1", block=True)
        self.wait_started()
        other = self.node("-j", "2")
        self.assertIn(b"Joined build K1", other.stdout.readline())
        with open(os.path.join(self.fifos, "go.fifo"), "w") as go:
            go.write("go")
        # pg_locks shows the whole server's locks: only this database's
        # (tests run in parallel share the server).
        self.until("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND "
                   "database = (SELECT oid FROM pg_database WHERE datname = "
                   "current_database())", "the merging node to reach the step")
        merger = self.until("SELECT merger FROM testrepo_queue_builds WHERE merger IS NOT NULL",
                            "a merger")[0]
        nodes = {first.pid: first, other.pid: other}
        doomed = nodes.pop(int(merger.split(":")[1]))
        os.killpg(doomed.pid, signal.SIGKILL)
        doomed.communicate()
        holder.execute(sa.text("SELECT pg_advisory_unlock(4242)"))
        holder.close()
        survivor = nodes.popitem()[1]
        return self.finished(survivor)[0]

    def test_killed_while_storing_the_build_run(self):
        out = self.kill_merger_at(STORING)
        self.assertIn("fell silent; this node takes the merge over", out)
        self.assertIn("merging 2 node run(s) into one", out)
        self.assert_one_complete_run([out])
        # The dead merger's temp file of the build's run is not recovered
        # as a run of its own.
        code, out, err = testr(self.project.path, "-r", self.url, "last", env=self.spool)
        self.assertNotIn("Recovered run", out)
        self.assertEqual([], [name for _, _, names in os.walk(self.spool["TESTREPO_SPOOL_DIR"])
                              for name in names])
        self.assertIn("(run id %d)" % (self.sql("SELECT max(run_id) FROM runs")[0][0]), out)
        self.assertEqual(1, self.sql("SELECT count(*) FROM runs")[0][0])

    def test_killed_while_removing_the_node_runs(self):
        out = self.kill_merger_at(REMOVING)
        self.assertIn("fell silent; this node takes the merge over", out)
        self.assertRegex(out, r"its run \d+ was stored already; removing the node runs")
        self.assertNotIn("merging 2 node run(s)", out)
        self.assertEqual(0, sum("merging" in line for line in out.splitlines()
                                if "takes the merge over" not in line))
        repo = repository.open_repository(self.url)
        self.addCleanup(repo.close)
        self.assertEqual(1, len(repo.run_ids()), "the node runs are removed")
        self.assertEqual(len(ALL_IDS), repo.get_run(repo.latest_id()).record.total)
        self.assertEqual([], self.sql("SELECT * FROM testrepo_queue_builds"))

    def test_last_merges_a_build_nobody_waits_for(self):
        """One node stored its run, was elected and died (its merge lease,
        TTL 0, is over at once): `testr last` makes the build's run."""
        repo = repository.initialise_repository(self.url)
        self.addCleanup(repo.close)
        queue = BuildQueue(repo._db, "K1", "gone:1:a", 60)
        queue.join(lambda: plan_items(ALL_IDS, {}), 1)
        run_id = run_every_test(repo, queue)
        dying = BuildQueue(repo._db, "K1", "gone:1:a", 0)
        self.assertEqual("merge", dying.finish(run_id).action)
        code, out, err = testr(self.project.path, "-r", self.url, "last", env=self.spool)
        self.assertEqual(0, code, out + err)
        self.assertIn("Build K1: its merging node gone:1:a fell silent", out, out + err)
        self.assertEqual(1, len(repo.run_ids()), out)
        record = repo.get_run(repo.latest_id()).record
        self.assertEqual(("K1", "1", len(ALL_IDS)), (
            record.metadata["queue"], record.metadata["queue_nodes"], record.total))
        self.assertIn(f"Ran: {len(ALL_IDS)} tests", out)
        self.assertEqual([], self.sql("SELECT * FROM testrepo_queue_builds"))


    def test_recovered_node_run_joins_the_build(self):
        """A killed node's spooled run, recovered on its machine after its
        build's run was made, joins that run (its results tagged
        duplicate), not a run of its own that `testr last` would show."""
        repo = repository.initialise_repository(self.url)
        self.addCleanup(repo.close)
        queue = BuildQueue(repo._db, "K1", "gone:1:a", 60)
        queue.join(lambda: plan_items(ALL_IDS, {}), 1)
        self.killed_node_spool(repo)
        build_run = self.merged_by_another_node(repo)
        code, out, err = testr(self.project.path, "-r", self.url, "last", env=self.spool)
        self.assertEqual(0, code, out + err)
        self.assertRegex(out, r"Recovered run \d+ \(1 results\)")
        self.assertIn(f"It was node gone:1:a's run of build K1: it joined the build's run "
                      f"{build_run} (1 result(s) tagged 'duplicate').", out)
        self.assertEqual([build_run], repo.run_ids())
        record = repo.get_run(build_run).record
        self.assertEqual(("2", len(ALL_IDS)), (record.metadata["queue_nodes"], record.total))
        self.assertEqual([], os.listdir(self.spool_dir()))

    def test_recovered_node_run_is_merged_with_the_build(self):
        """Recovered while the build still runs: it is the killed node's
        run, and the build's merge takes it in."""
        repo = repository.initialise_repository(self.url)
        self.addCleanup(repo.close)
        queue = BuildQueue(repo._db, "K1", "gone:1:a", 60)
        queue.join(lambda: plan_items(ALL_IDS, {}), 1)
        queue.lease([])
        BuildQueue(repo._db, "K1", "other:2:b", 60).join(lambda: [], 1)  # alive
        self.killed_node_spool(repo)
        code, out, err = testr(self.project.path, "-r", self.url, "last", env=self.spool)
        self.assertIn("It was node gone:1:a's run of build K1: the build's merge takes it "
                      "in.", out)
        # Its leased items went back to the queue at once.
        self.assertEqual([], self.sql("SELECT 1 FROM testrepo_queue_items WHERE owner = "
                                      "'gone:1:a' AND state <> 'todo'"))
        build_run = self.merged_by_another_node(repo)
        self.assertEqual([build_run], repo.run_ids())
        record = repo.get_run(build_run).record
        self.assertEqual(("2", len(ALL_IDS)), (record.metadata["queue_nodes"], record.total))

    def killed_node_spool(self, repo):
        """What node gone:1:a, killed, left in its spool: one result."""
        dead = subprocess.Popen(["true"])
        dead.wait()
        with fixtures.EnvironmentVariable("TESTREPO_SPOOL_DIR",
                                          self.spool["TESTREPO_SPOOL_DIR"]):
            killed = repo.insert(partial=True, metadata={"queue": "K1",
                                                         "queue_node": "gone:1:a"})
            killed.spool_metadata()
            killed.startTestRun()
        killed.status(test_id=BLOCK_ID, test_status="success")
        killed._file.close()  # what the killed node left: its pid is dead
        name = os.path.basename(killed.temp_path).replace(f"-{os.getpid()}-", f"-{dead.pid}-")
        for suffix in ("", ".json"):
            os.rename(killed.temp_path + suffix,
                      os.path.join(self.spool_dir(), name + suffix))

    def merged_by_another_node(self, repo):
        """Node other:2:b runs every test of build K1 and merges it (node
        gone:1:a's leases lapsed); the build's run."""
        queue = BuildQueue(repo._db, "K1", "other:2:b", 60)
        queue.join(lambda: [], 1)
        self.sql("UPDATE testrepo_queue_items SET expires = now() - interval '1 s', "
                 "state = 'leased', owner = 'gone:1:a', leases = 1")
        self.sql("UPDATE testrepo_queue_nodes SET seen = now() - interval '1 hour' "
                 "WHERE node = 'gone:1:a'")
        answer = queue.finish(run_every_test(repo, queue))
        self.assertEqual("merge", answer.action)
        merged = queue_merge.merge(repo, "K1", answer, frozenset(), OutputOptions(quiet=True),
                                   io.StringIO())
        queue.forget()
        return merged.run_id


class TestDuplicates(QueueNodes, testtools.TestCase):

    def blocking_fifos(self):
        """A second directory of fifos for a second blocking node."""
        fifos = self.useFixture(fixtures.TempDir()).path
        for name in ("started.fifo", "go.fifo"):
            os.mkfifo(os.path.join(fifos, name))
        self.addCleanup(release_fifos, fifos)
        return fifos

    def first_stopped_second_reruns(self):
        """Node 1 (SIGSTOPped while it runs the blocking test) and node 2,
        once it runs that test too (node 1's lease lapsed); node 2's fifos."""
        second_fifos = self.blocking_fifos()
        first = self.node("-j", "1", block=True)
        self.wait_started()
        os.kill(first.pid, signal.SIGSTOP)
        second = self.node("-j", "2", block=second_fifos)
        with open(os.path.join(second_fifos, "started.fifo")) as started:
            started.read()
        return first, second, second_fifos

    def build_results(self):
        """The only run's successes: test id -> the tags of each result."""
        repo = repository.open_repository(self.url)
        self.addCleanup(repo.close)
        self.assertEqual(1, len(repo.run_ids()), "one run: the build's")
        results = {}
        with repo.get_run(repo.latest_id()).stream() as stream:
            for event in subunit_v2.iter_events(stream.read()):
                if event.test_id and event.status == "success":
                    results.setdefault(event.test_id, []).append(set(event.tags or ()))
        return results

    def test_a_test_run_on_two_nodes_is_tagged_duplicate(self):
        """Node 1 is stopped (SIGSTOP) while it runs the blocking test, so
        its lease lapses and node 2 leases the test again; node 1 then
        goes on and both finish it: one result is tagged duplicate."""
        # Node 1, resumed, must still count as alive when node 2 merges.
        self.ttl = "2"
        first, second, second_fifos = self.first_stopped_second_reruns()
        resumed_at = self.sql("SELECT now()")[0][0]
        os.kill(first.pid, signal.SIGCONT)
        self.until(
            "SELECT 1 FROM testrepo_queue_nodes WHERE node LIKE :pid AND seen > :at",
            "node 1's heartbeat", pid=f"%:{first.pid}:%", at=resumed_at)
        for fifos in (self.fifos, second_fifos):
            with open(os.path.join(fifos, "go.fifo"), "w") as go:
                go.write("go")
        outputs = self.finished(first, second)
        merger = next(out for out in outputs if "merging" in out)
        results = self.build_results()
        repo = repository.open_repository(self.url)
        self.addCleanup(repo.close)
        twice = sorted(test_id for test_id, tags in results.items() if len(tags) > 1)
        # Node 1 also runs what it had leased with the blocking test.
        self.assertIn(BLOCK_ID, twice)
        self.assertIn(f"{len(twice)} test(s) ran on two nodes", merger)
        self.assertIn(f"tagged 'duplicate': {BLOCK_ID}", merger)
        for test_id in twice:
            tags = results[test_id]
            self.assertEqual([False, True], ["duplicate" in t for t in tags], test_id)
            self.assertEqual(2, len({tag for t in tags for tag in t if tag.startswith("node-")}))
        self.assertEqual(ALL_IDS, sorted(results))
        self.assertEqual(len(ALL_IDS), repo.get_run(repo.latest_id()).record.total)

    def test_node_back_after_the_merge_joins_the_build_run(self):
        """Node 1 is stopped while it runs the blocking test; node 2 runs
        the whole build (the test again, once node 1's lease lapsed) and
        merges it alone.  Node 1 goes on, stores its run, and that run
        joins the build's: one run, node 1's results tagged duplicate."""
        first, second, second_fifos = self.first_stopped_second_reruns()
        with open(os.path.join(second_fifos, "go.fifo"), "w") as go:
            go.write("go")
        merged = self.finished(second)[0]
        self.assertIn("merging 1 node run(s) into one", merged)
        os.kill(first.pid, signal.SIGCONT)
        with open(os.path.join(self.fifos, "go.fifo"), "w") as go:
            go.write("go")
        late = self.finished(first)[0]
        self.assertNotIn("merging", late)
        results = self.build_results()
        twice = sorted(test_id for test_id, tags in results.items() if len(tags) > 1)
        self.assertIn(BLOCK_ID, twice)
        self.assertIn(f"they join that run, {len(twice)} tagged 'duplicate'", late)
        for test_id in twice:
            self.assertEqual([{"node-0"}, {"node-1", "duplicate"}],
                             [t & {"node-0", "node-1", "duplicate"} for t in results[test_id]])
        self.assertEqual(ALL_IDS, sorted(results))
        repo = repository.open_repository(self.url)
        self.addCleanup(repo.close)
        record = repo.get_run(repo.latest_id()).record
        self.assertEqual(("K1", "2", len(ALL_IDS), 0), (
            record.metadata["queue"], record.metadata["queue_nodes"], record.total,
            record.failed))
