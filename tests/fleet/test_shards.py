"""--shard K/N and the CI sharding protocols: the split itself (pure),
then real runs of every shard of one project into one repository."""

import os
import shutil

import fixtures
import testtools

from testrepo import api, errors
from testrepo.options import Project
from testrepo.scheduler import shards
from tests.fixtures import SampleProject, finish_testrepo, start_testrepo
from tests.harness import run_cli, testr

IDS = [f"m.T{c}.test_{t}" for c in range(4) for t in range(5)]


def class_of(test_id):
    return test_id.rpartition(".")[0]


class TestSplit(testtools.TestCase):

    def test_every_id_in_exactly_one_shard_groups_whole(self):
        durations = {test_id: float(i % 7) for i, test_id in enumerate(IDS)}
        parts = [shards.select_shard(IDS, shards.Shard(k, 3), durations, class_of)
                 for k in (1, 2, 3)]
        self.assertEqual(sorted(IDS), sorted(sum(parts, [])))
        owner = {class_of(t): k for k, part in enumerate(parts) for t in part}
        for k, part in enumerate(parts):
            self.assertEqual(part, [t for t in IDS if owner[class_of(t)] == k])

    def test_longest_first_and_untimed_spread(self):
        durations = {"slow": 10.0, "a": 1.0, "b": 1.0}
        ids = ["a", "b", "slow", "new1", "new2", "new3", "new4"]
        parts = shards.split(ids, 2, durations)
        self.assertEqual(["slow"], parts[0])
        # Untimed tests count the median (1 s): none lands on the slow part.
        self.assertEqual(["a", "b", "new1", "new2", "new3", "new4"], parts[1])
        no_history = shards.split(ids, 3, {})
        self.assertEqual([3, 2, 2], [len(part) for part in no_history])

    def test_same_input_same_split(self):
        durations = {test_id: 1.0 for test_id in IDS}
        self.assertEqual(shards.split(IDS, 4, durations), shards.split(list(IDS), 4,
                                                                        dict(durations)))

    def test_parse(self):
        self.assertEqual((2, 4), (shards.parse_shard("2/4").index, shards.parse_shard("2/4").total))
        for bad in ("0/4", "5/4", "2", "a/b", "2/0"):
            error = self.assertRaises(errors.UsageError, shards.parse_shard, bad)
            self.assertIn(repr(bad), str(error))

    def test_ci_protocols(self):
        cases = [({"TEST_TOTAL_SHARDS": "4", "TEST_SHARD_INDEX": "0",
                   "TEST_SHARD_STATUS_FILE": "/x"}, (1, 4, "/x")),
                 ({"CI_NODE_TOTAL": "3", "CI_NODE_INDEX": "3"}, (3, 3, None)),
                 ({"CIRCLE_NODE_TOTAL": "2", "CIRCLE_NODE_INDEX": "1"}, (2, 2, None))]
        for environ, (index, total, status) in cases:
            shard = shards.from_environ(environ)
            self.assertEqual((index, total, status), (shard.index, shard.total,
                                                      shard.status_file))
        self.assertIsNone(shards.from_environ({}))
        self.assertIsNone(shards.from_environ({"CIRCLE_NODE_TOTAL": "1",
                                               "CIRCLE_NODE_INDEX": "0"}))
        error = self.assertRaises(errors.UsageError, shards.from_environ,
                                  {"CI_NODE_TOTAL": "3", "CI_NODE_INDEX": "0"})
        self.assertIn("CI_NODE_INDEX=0 is outside the 3 shard(s) (GitLab counts from 1)",
                      str(error))
        error = self.assertRaises(errors.UsageError, shards.from_environ,
                                  {"TEST_TOTAL_SHARDS": "x", "TEST_SHARD_INDEX": "0"})
        self.assertIn("TEST_TOTAL_SHARDS='x'", str(error))


SHARD_TESTS = "import unittest\n\n" + "".join(
    f"\nclass T{c}(unittest.TestCase):\n" + "".join(
        f"    def test_{t}(self):\n        pass\n" for t in range(3))
    for c in range(5))
ALL_IDS = sorted(f"sample.test_sample.T{c}.test_{t}" for c in range(5) for t in range(3))


class TestShardRuns(testtools.TestCase):
    """Every shard of one project, in both runners.  Each shard runs in a
    copy of the project and its repository, as a CI node does with the
    history it was given: nodes that see the same history split alike."""

    def project(self, config):
        project = self.useFixture(SampleProject(config=config, tests=SHARD_TESTS))
        self.assertEqual(0, testr(project.path, "run")[0])  # the history
        return project

    def shard_runs(self, project, total, env_of=lambda k, n: None, args_of=None):
        # The nodes run at once, as CI nodes do.
        nodes = []
        for k in range(1, total + 1):
            node = os.path.join(self.useFixture(fixtures.TempDir()).path, "node")
            shutil.copytree(project.path, node)
            args = args_of(k, total) if args_of else ["--shard", f"{k}/{total}"]
            nodes.append((node, start_testrepo(node, "run", *args, env=env_of(k, total))))
        seen = []
        for k, (node, process) in enumerate(nodes, 1):
            code, out, err = finish_testrepo(process)
            repo = api.open_repository(Project(directory=node))
            self.assertEqual(0, code, out + err)
            self.assertIn(f"Shard {k}/{total} (from ", out)
            run_id = repo.latest_id()
            record = repo.get_run(run_id).record
            self.assertEqual(f"{k}/{total}", record.metadata["shard"])
            self.assertTrue(record.partial)
            seen.extend(repo.test_results(run_id))
        self.assertEqual(ALL_IDS, sorted(seen))

    def test_builtin_runner_all_shards_cover_once(self):
        self.shard_runs(self.project("stestr"), 3)

    def test_command_mode_gitlab_variables(self):
        project = self.project("testr")
        self.shard_runs(project, 2, args_of=lambda k, n: [],
                        env_of=lambda k, n: {"CI_NODE_TOTAL": str(n), "CI_NODE_INDEX": str(k)})

    def test_bazel_status_file_and_empty_shard(self):
        project = self.project("stestr")
        status = os.path.join(project.path, "shard.status")
        env = {"TEST_TOTAL_SHARDS": "20", "TEST_SHARD_INDEX": "19",
               "TEST_SHARD_STATUS_FILE": status}
        code, out, err = testr(project.path, "run", env=env)
        self.assertEqual(0, code, out + err)
        self.assertTrue(os.path.exists(status))
        self.assertIn("Shard 20/20 has no tests", out)
        code, out, err = testr(project.path, "run", "--shard", "1/1", env=env)
        self.assertIn("Ran: 15", out.replace("Totals", ""))

    def test_usage_errors(self):
        project = self.useFixture(SampleProject(config="stestr", tests=SHARD_TESTS))
        code, out, err = run_cli(project.path, "run", "--shard", "3/2")
        self.assertEqual((2, "testr: --shard '3/2': expected K/N with 1 <= K <= N, e.g. "
                             "--shard 2/4 for the second of four parts\n"), (code, err))
        code, out, err = run_cli(project.path, "run", "--shard", "1/2", "--combine")
        self.assertEqual(2, code)
        self.assertIn("--shard runs one part", err)
        code, out, err = run_cli(project.path, "run", "--combine",
                                 env={"CIRCLE_NODE_TOTAL": "2", "CIRCLE_NODE_INDEX": "0"})
        self.assertIn("--shard runs one part", err)
