"""Damaged repositories: a clear error naming the file and `testr repair`,
which rebuilds what can be rebuilt from the stored run streams."""

import os

import testtools

from tests.cli.test_run import totals
from tests.fixtures import SAMPLE_FAILURES, ProjectCopy, SampleProject, once_per_process
from tests.harness import testr


@once_per_process
def two_runs():
    """The sample after `testr run` and `testr run TestBeta`, made once per
    test process; each test damages a copy."""
    project = SampleProject(config="stestr")
    project.setUp()
    testr(project.path, "run")
    testr(project.path, "run", "TestBeta")
    return project


class TestRepair(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.project = self.useFixture(ProjectCopy(two_runs().path))
        self.repo = self.project.repository_path()

    def cli(self, *args):
        return testr(self.project.path, *args)

    def damage(self, relpath, data):
        with open(os.path.join(self.repo, relpath), "wb") as handle:
            handle.write(data)

    def assert_repairs(self, expected_error):
        code, _, err = self.cli("last")
        self.assertEqual(4, code)
        self.assertEqual(1, len(err.splitlines()), err)
        self.assertIn(expected_error, err)
        self.assertIn("testr repair", err)
        code, out, _ = self.cli("repair")
        self.assertEqual(0, code, out)
        self.assertIn("from 2 stored run(s)", out)
        code, out, _ = self.cli("last")
        self.assertEqual((0, (3, 0, 0)), (code, totals(out)))
        _, failing, _ = self.cli("failing", "--list")
        self.assertEqual(SAMPLE_FAILURES, failing.split())
        code, out, _ = self.cli("run", "TestBeta")
        self.assertIn("run id 2", out)

    def test_garbage_index(self):
        self.damage("index.sqlite", b"this is not sqlite")
        self.assert_repairs("index.sqlite is not a valid index")

    def test_missing_index(self):
        os.unlink(os.path.join(self.repo, "index.sqlite"))
        self.assert_repairs("index.sqlite")

    def test_garbled_format_file(self):
        self.damage("format", b"\x00\xff")
        self.assert_repairs("format")

    def test_truncated_run_stream_is_reported_and_the_rest_rebuilt(self):
        path = os.path.join(self.repo, "runs", "1")
        with open(path, "rb") as handle:
            data = handle.read()
        self.damage("runs/1", data[:len(data) // 2])
        os.unlink(os.path.join(self.repo, "index.sqlite"))
        code, out, _ = self.cli("repair")
        self.assertEqual(0, code)
        self.assertIn("Damaged streams", out)
        self.assertIn("runs 1", out)
        code, out, _ = self.cli("history", "list", "-f", "value")
        self.assertEqual(2, len(out.splitlines()))

    def test_repair_without_repository(self):
        empty = self.useFixture(SampleProject(config="stestr"))
        code, _, err = testr(empty.path, "repair")
        self.assertEqual(4, code)
        self.assertIn("No repository to repair", err)
