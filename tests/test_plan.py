"""The run plan: every mode combination, decided without starting a process."""

import random

import testtools

from testrepo import errors
from testrepo.config import Config
from testrepo.options import RunOptions, Selection
from testrepo.plan import (
    CONFLICTS,
    RANDOM_IN_A_FILE,
    RunPlan,
    check_config,
    check_options,
    plan_run,
)
from testrepo.scheduler.pinned import PinnedQueue, SingleTestQueue
from testrepo.scheduler.protocol import WorkSource
from testrepo.scheduler.queue import WorkQueue
from testrepo.scheduler.worker_file import WorkerEntry

BUILTIN = Config(test_path="tests")
PYTEST = Config(runner="pytest")
COMMAND = Config(source=".testr.conf", test_command="python -m subunit.run $IDOPTION",
                 test_id_option="--load-list $IDFILE")
IDLIST = Config(source=".testr.conf", test_command="python -m subunit.run $IDLIST")
NO_IDS = Config(source=".testr.conf", test_command="python -m subunit.run discover")
IDS = ["m.A.a", "m.A.b", "m.B.a", "m.B.b"]


def entries():
    import re

    return (WorkerEntry((re.compile(r"m\.A"),), 1), WorkerEntry((re.compile(r"m\.B"),), 1))


class TestConflicts(testtools.TestCase):

    def assertRefused(self, fragment, selection=Selection(), config=None, **options):
        run_options = RunOptions(**options)
        check = (lambda: check_options(selection, run_options)) if config is None else \
            (lambda: check_config(config, selection, run_options))
        error = self.assertRaises(errors.UsageError, check)
        self.assertIn(fragment, str(error))

    def test_option_conflicts(self):
        self.assertRefused("--pdb cannot be combined with --until-failure",
                           pdb="m.A.a", until_failure=True)
        self.assertRefused("give one of them", pdb="m.A.a", no_discover="m.A.b")
        self.assertRefused("--pdb runs exactly the test it names",
                           Selection(failing=True), pdb="m.A.a")
        self.assertRefused("--no-discover runs exactly the test it names",
                           Selection(filters=("x",)), no_discover="m.A.a")
        self.assertRefused("cannot follow a --worker-file", isolated=True, worker_file="w.yaml")
        self.assertRefused("cannot --combine", until_failure=True, combine=True)
        self.assertRefused("--analyze-isolation cannot", analyze_isolation=True, combine=True)
        self.assertRefused("'seed' is recorded by testrepo", metadata=(("seed", "1"),))

    def test_config_conflicts(self):
        self.assertRefused("the built-in runner (test_path) takes none", config=BUILTIN,
                           test_args=("-v",))
        for mode in ({"isolated": True}, {"worker_file": "w.yaml"}, {"no_discover": "m.A.a"},
                     {"retry": 1}):
            self.assertRefused("cannot be told which tests to run", config=NO_IDS, **mode)

    def test_pytest_conflicts(self):
        self.assertRefused("-n is pytest-xdist's", config=PYTEST, test_args=("-k", "x", "-n", "4"))
        self.assertRefused("-n is pytest-xdist's", config=PYTEST, test_args=("-nauto",))
        self.assertRefused("--dist is pytest-xdist's", config=PYTEST, test_args=("--dist=load",))
        self.assertRefused("--pdb is not available with runner = pytest", config=PYTEST,
                           pdb="t.py::test_a")
        self.assertRefused("--no-discover is not available", config=PYTEST,
                           no_discover="t.py::test_a")

    def test_pytest_takes_arguments(self):
        check_config(PYTEST, Selection(), RunOptions(test_args=("-k", "slow", "-m", "not net")))
        plan = plan_run(PYTEST, RunOptions(test_args=("-x",)), Selection(), 2)
        self.assertEqual(("pytest", 2, False), (plan.runner, plan.workers, plan.command_mode))
        self.assertEqual("unittest", plan_run(BUILTIN, RunOptions(), Selection(), 2).runner)

    def test_what_is_allowed(self):
        check_options(Selection(filters=("x",)), RunOptions(isolated=True, random=True))
        check_options(Selection(), RunOptions(metadata=(("job", "nightly"),)))
        check_config(COMMAND, Selection(), RunOptions(test_args=("-v",), isolated=True))
        check_config(NO_IDS, Selection(), RunOptions(serial=True))
        check_config(BUILTIN, Selection(), RunOptions(worker_file="w.yaml", retry=2))

    def test_config_rows_are_not_checked_before_the_config(self):
        check_options(Selection(), RunOptions(test_args=("-v",)))

    def test_one_table(self):
        self.assertEqual(14, len(CONFLICTS))


class TestPlanBuiltin(testtools.TestCase):

    def test_ordinary(self):
        plan = plan_run(BUILTIN, RunOptions(), Selection(), 4)
        self.assertEqual(RunPlan(False, 4, list_first=True), plan)
        work = plan.schedule(IDS * 2, {}, None, None).work
        self.assertIsInstance(work, WorkQueue)
        self.assertIsInstance(work, WorkSource)

    def test_a_worker_per_test(self):
        plan = plan_run(BUILTIN, RunOptions(), Selection(), 0)
        self.assertEqual(0, plan.workers)
        self.assertEqual(4, plan.workers_for(IDS))
        self.assertIsInstance(plan.schedule(IDS, {}, None, None).work, SingleTestQueue)

    def test_isolated(self):
        plan = plan_run(BUILTIN, RunOptions(isolated=True), Selection(), 2)
        self.assertTrue(plan.isolated)
        work = plan.schedule(IDS, {}, None, random.Random(1)).work
        self.assertIsInstance(work, SingleTestQueue)
        self.assertEqual(sorted(IDS), sorted(work.next_batch(0) + work.next_batch(1)
                                             + work.next_batch(0) + work.next_batch(1)))

    def test_worker_file(self):
        plan = plan_run(BUILTIN, RunOptions(worker_file="w.yaml"), Selection(), 8, entries())
        self.assertEqual(3, plan.workers)  # one per entry, one for the tests none matches
        schedule = plan.schedule(IDS, {}, None, None)
        self.assertIsInstance(schedule.work, PinnedQueue)
        self.assertIn("entry 1 (worker 0): 2 tests", schedule.note)

    def test_no_discover(self):
        plan = plan_run(BUILTIN, RunOptions(no_discover="m/A.py"), Selection(), 8)
        self.assertEqual((1, "m/A.py"), (plan.workers, plan.load_name))

    def test_retry_work(self):
        plan = plan_run(BUILTIN, RunOptions(retry=1), Selection(), 2)
        self.assertIsInstance(plan.retry_work(["m.A.a"]), WorkQueue)


class TestPlanCommandMode(testtools.TestCase):

    def test_serial_unrestricted_runs_without_listing(self):
        plan = plan_run(COMMAND, RunOptions(), Selection(), 1)
        self.assertFalse(plan.list_first)
        self.assertEqual([None], plan.schedule(None, {}, None, None).work)

    def test_lists_when_it_must(self):
        for options, selection, workers in [
                (RunOptions(), Selection(), 2),
                (RunOptions(), Selection(filters=("m.A",)), 1),
                (RunOptions(random=True), Selection(), 1),
                (RunOptions(isolated=True), Selection(), 1),
                (RunOptions(retry=1), Selection(), 1)]:
            self.assertTrue(plan_run(COMMAND, options, selection, workers).list_first)

    def test_static_partitions(self):
        plan = plan_run(COMMAND, RunOptions(), Selection(), 2)
        durations = {"m.A.a": 3.0, "m.A.b": 1.0, "m.B.a": 1.0, "m.B.b": 1.0}
        self.assertEqual([["m.A.a"], ["m.A.b", "m.B.a", "m.B.b"]],
                         plan.schedule(IDS, durations, None, None).work)

    def test_isolated(self):
        plan = plan_run(COMMAND, RunOptions(isolated=True), Selection(), 3)
        self.assertEqual([[test_id] for test_id in IDS], plan.schedule(IDS, {}, None, None).work)
        self.assertEqual(3, plan.max_live(IDS))
        self.assertIsNone(plan_run(COMMAND, RunOptions(), Selection(), 3).max_live(IDS))

    def test_worker_file(self):
        plan = plan_run(COMMAND, RunOptions(worker_file="w.yaml"), Selection(), 8, entries())
        schedule = plan.schedule(IDS, {}, None, None)
        self.assertEqual([["m.A.a", "m.A.b"], ["m.B.a", "m.B.b"]], schedule.work)
        self.assertIn("entry 2 (worker 1): 2 tests", schedule.note)

    def test_a_command_without_ids_runs_serially(self):
        plan = plan_run(NO_IDS, RunOptions(), Selection(), 4)
        self.assertEqual((1, 4, False), (plan.workers, plan.provision, plan.list_first))

    def test_random_order_in_a_file_is_noted(self):
        self.assertEqual(RANDOM_IN_A_FILE,
                         plan_run(COMMAND, RunOptions(random=True), Selection(), 2).random_note)
        self.assertEqual("", plan_run(IDLIST, RunOptions(random=True), Selection(), 2).random_note)
        self.assertEqual("", plan_run(COMMAND, RunOptions(), Selection(), 2).random_note)

    def test_random_keeps_every_test(self):
        plan = plan_run(IDLIST, RunOptions(random=True), Selection(), 2)
        work = plan.schedule(IDS, {}, None, random.Random(3)).work
        self.assertEqual(sorted(IDS), sorted(test_id for part in work for test_id in part))

    def test_retry_work(self):
        plan = plan_run(COMMAND, RunOptions(retry=1), Selection(), 2)
        self.assertEqual([["m.A.a"]], plan.retry_work(["m.A.a"]))
