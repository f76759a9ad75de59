"""The built-in worker process: lazy loading in workers that do not list,
and the packets it writes for every test.

Workers are real processes (``python -m testrepo.execution.worker``) on
small generated suites, fed batches of ids on their control pipe (here a
file: ``--control R,W``); their frames are read back with
:func:`protocol.parse_messages`.
"""

import json
import os
import subprocess
import sys
import tempfile

import fixtures
import testtools

from testrepo import subunit_v2
from testrepo.execution import protocol, worker
from testrepo.execution.frame_result import StatusPackets
from tests.cli.test_run import stored_events, totals
from tests.fixtures import SampleProject, run_testrepo, testrepo_env

PLAIN = '''\
import unittest


class TestPlain(unittest.TestCase):

    def test_one(self):
        pass

    def test_two(self):
        self.fail("two fails")
'''

# Importing it leaves a mark: tells whether the worker imported a module it
# was sent no test of (full discovery) or not (lazy loading).
MARKED = '''\
import os
import unittest

open(os.path.join(os.path.dirname(__file__), "imported.mark"), "w").close()


class TestMarked(unittest.TestCase):

    def test_marked(self):
        pass
'''

# Scenario-style ids: not the name of a method, so they can only come from
# discovery (through load_tests).
GENERATED = '''\
import unittest


class TestGenerated(unittest.TestCase):

    def __init__(self, name, scenario=None):
        super().__init__(name)
        self.scenario = scenario

    def id(self):
        return f"{super().id()}({self.scenario})"

    def test_value(self):
        self.assertIn(self.scenario, ("red", "blue"))


def load_tests(loader, tests, pattern):
    suite = unittest.TestSuite()
    for scenario in ("red", "blue"):
        suite.addTest(TestGenerated("test_value", scenario))
    return suite
'''

# Plain ids, but load_tests changes the tests: made from their names alone
# they would fail.
REWRITTEN = '''\
import unittest


class TestRewritten(unittest.TestCase):

    configured = False

    def test_configured(self):
        self.assertTrue(self.configured, "not loaded through load_tests")


def load_tests(loader, tests, pattern):
    for test in tests:
        for case in test:
            case.configured = True
    return tests
'''

# The package's load_tests discovers its modules (the idiom of unittest's
# documentation) and changes their tests.
PACKAGE_LOAD_TESTS = '''\
import os


def _cases(suite):
    for item in suite:
        if hasattr(item, "__iter__"):
            yield from _cases(item)
        else:
            yield item


def load_tests(loader, tests, pattern):
    tests.addTests(loader.discover(os.path.dirname(__file__), pattern or "test*.py"))
    for case in _cases(tests):
        case.configured = True
    return tests
'''


def run_worker(path, batches, *args):
    """(exit code, [(test id, status)] in the order reported, stderr)."""
    lines = "".join(json.dumps(batch) + "\n" for batch in batches)
    with tempfile.TemporaryFile() as batches_in, tempfile.TemporaryFile() as frames_out:
        batches_in.write(lines.encode("utf-8"))
        batches_in.seek(0)
        # The worker's own output goes to its stderr (fd 2) here.
        control = f"{batches_in.fileno()},{frames_out.fileno()},2"
        proc = subprocess.run(
            [sys.executable, "-m", "testrepo.execution.worker", "--test-path", "sample",
             "--top-dir", ".", "--worker", "1", "--control", control, *args],
            cwd=path, stdin=subprocess.DEVNULL, capture_output=True, env=testrepo_env(),
            pass_fds=(batches_in.fileno(), frames_out.fileno()))
        frames_out.seek(0)
        frames = frames_out.read()
    messages, used = protocol.parse_messages(frames)
    assert used == len(frames), frames[used:]
    results = [(message[1], message[2]) for kind, message, _ in messages
               if kind == protocol.TEST]
    return proc.returncode, results, proc.stderr.decode("utf-8", "replace")


class TestLazyLoading(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.project = self.useFixture(SampleProject(config="stestr", tests=PLAIN))
        self.project.write("sample/test_marked.py", MARKED)
        self.mark = os.path.join(self.project.path, "sample", "imported.mark")

    def test_worker_that_does_not_list_imports_only_what_it_runs(self):
        code, results, err = run_worker(self.project.path, [
            ["sample.test_sample.TestPlain.test_one"],
            ["sample.test_sample.TestPlain.test_two"]])
        self.assertEqual(0, code, err)
        self.assertEqual([("sample.test_sample.TestPlain.test_one", "success"),
                          ("sample.test_sample.TestPlain.test_two", "fail")], results)
        self.assertFalse(os.path.exists(self.mark))

    def test_listing_worker_discovers_everything(self):
        code, results, err = run_worker(
            self.project.path, [["sample.test_sample.TestPlain.test_one"]], "--send-ids")
        self.assertEqual(0, code, err)
        self.assertEqual([("sample.test_sample.TestPlain.test_one", "success")], results)
        self.assertTrue(os.path.exists(self.mark))

    def test_generated_ids_fall_back_to_discovery(self):
        self.project.write("sample/test_generated.py", GENERATED)
        batch = ["sample.test_sample.TestPlain.test_one",
                 "sample.test_generated.TestGenerated.test_value(red)",
                 "sample.test_generated.TestGenerated.test_value(blue)",
                 "sample.test_sample.TestPlain.test_two"]
        code, results, err = run_worker(self.project.path, [batch])
        self.assertEqual(0, code, err)
        self.assertEqual(list(zip(batch, ["success", "success", "success", "fail"])), results)
        self.assertTrue(os.path.exists(self.mark))

    def test_module_with_load_tests_is_loaded_through_it(self):
        self.project.write("sample/test_rewritten.py", REWRITTEN)
        test_id = "sample.test_rewritten.TestRewritten.test_configured"
        code, results, err = run_worker(self.project.path, [[test_id]])
        self.assertEqual(0, code, err)
        self.assertEqual([(test_id, "success")], results)

    def test_package_with_load_tests_is_loaded_through_it(self):
        self.project.write("sample/__init__.py", PACKAGE_LOAD_TESTS)
        self.project.write("sample/test_other.py", REWRITTEN.replace(
            "def load_tests", "def _unused"))
        test_id = "sample.test_other.TestRewritten.test_configured"
        code, results, err = run_worker(self.project.path, [[test_id]])
        self.assertEqual(0, code, err)
        self.assertEqual([(test_id, "success")], results)

    def test_unknown_id_fails_as_not_found(self):
        test_id = "sample.test_sample.TestPlain.test_three"
        code, results, err = run_worker(self.project.path, [[test_id]])
        self.assertEqual(0, code, err)
        self.assertEqual([(test_id, "fail")], results)


class TestWarmUp(testtools.TestCase):
    """A worker that does not list imports the suite's modules, in
    discovery's order, until its first batch arrives (``--warm``)."""

    def setUp(self):
        super().setUp()
        self.project = self.useFixture(SampleProject(config="stestr", tests=PLAIN))
        self.project.write("sample/test_marked.py", MARKED)
        self.project.write("sample/sub/__init__.py", "")
        self.project.write("sample/sub/test_deep.py", PLAIN)
        self.project.write("sample/nopackage/test_skipped.py", PLAIN)
        self.project.write("sample/test-not-a-module.py", PLAIN)
        self.mark = os.path.join(self.project.path, "sample", "imported.mark")

    def test_module_names_in_discovery_order(self):
        names = worker.test_module_names(os.path.join(self.project.path, "sample"),
                                         self.project.path)
        self.assertEqual(["sample.sub.test_deep", "sample.test_marked",
                          "sample.test_sample"], names)
        self.assertEqual([], worker.test_module_names(self.project.path,
                                                      os.path.join(self.project.path, "sample")))

    def test_imports_until_a_batch_is_pending(self):
        self.useFixture(fixtures.MonkeyPatch("sys.path", [self.project.path] + sys.path))
        self.addCleanup(lambda: [sys.modules.pop(name) for name in list(sys.modules)
                                 if name == "sample" or name.startswith("sample.")])
        asked = []
        worker.warm_up(["sample.test_marked", "sample.missing", "sample.test_sample"],
                       lambda: asked.append(1) or len(asked) > 2)
        self.assertTrue(os.path.exists(self.mark))
        self.assertIn("sample.test_marked", sys.modules)
        self.assertNotIn("sample.test_sample", sys.modules)  # the batch came first

    def test_a_batch_already_sent_is_not_kept_waiting(self):
        code, results, err = run_worker(
            self.project.path, [["sample.test_sample.TestPlain.test_one"]], "--warm")
        self.assertEqual(0, code, err)
        self.assertEqual([("sample.test_sample.TestPlain.test_one", "success")], results)
        self.assertFalse(os.path.exists(self.mark))


class TestLazyWorkersInRuns(testtools.TestCase):
    """Whole runs where workers other than worker 0 load lazily."""

    def test_load_tests_suite_runs_every_test_exactly_once(self):
        project = self.useFixture(SampleProject(config="stestr", tests=PLAIN))
        project.write("sample/test_generated.py", GENERATED)
        project.write("sample/test_rewritten.py", REWRITTEN)
        project.write("sample/test_marked.py", MARKED)
        code, out, err = run_testrepo(project.path, "run", "--concurrency", "2")
        self.assertEqual(1, code, out + err)
        self.assertEqual((5, 1, 0), totals(out))
        _, events = stored_events(project.path)
        finished = sorted(event[1] for event in events
                          if event[2] in ("success", "fail", "skip"))
        self.assertEqual(sorted([
            "sample.test_generated.TestGenerated.test_value(blue)",
            "sample.test_generated.TestGenerated.test_value(red)",
            "sample.test_marked.TestMarked.test_marked",
            "sample.test_rewritten.TestRewritten.test_configured",
            "sample.test_sample.TestPlain.test_one",
            "sample.test_sample.TestPlain.test_two"]), finished)

    def test_isolated_run_loads_each_test_in_a_fresh_lazy_worker(self):
        # --isolated: after the first, every test runs in a new worker
        # process that does not list.
        project = self.useFixture(SampleProject(config="stestr", tests=PLAIN))
        project.write("sample/test_rewritten.py", REWRITTEN)
        code, out, err = run_testrepo(project.path, "run", "--isolated", "--concurrency", "1")
        self.assertEqual(1, code, out + err)
        self.assertEqual((2, 1, 0), totals(out))
        self.assertIn("two fails", out)


class TestStatusPackets(testtools.TestCase):

    def test_same_bytes_as_the_general_encoder(self):
        packets = StatusPackets(["worker-3"], "3")
        for size in (1, 40, 60, 200, 16370, 16400):
            test_id = "t" * size
            for status in subunit_v2.STATUS_CODES:
                for timestamp in (0.0, 1700000000.999999, 1700000000.1234567):
                    self.assertEqual(
                        subunit_v2.encode(test_id, status, ["worker-3"], route_code="3",
                                          timestamp=timestamp),
                        packets.encode(test_id, status, timestamp), (size, status))
