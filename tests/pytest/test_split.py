"""The shares and the merged listing of a split pytest collection
(:mod:`testrepo.execution.pytest_split`); the split itself runs through
the CLI in tests/pytest/test_fork.py."""

import os

import testtools

from testrepo.execution import pytest_split


class TestShares(testtools.TestCase):

    def test_runs_of_consecutive_files_about_equal_in_bytes(self):
        files = [f"t/test_{n}.py" for n in range(6)]
        parts = pytest_split.shares(files, [100, 100, 400, 100, 100, 200], 2)
        self.assertEqual([files[:3], files[3:]], parts)  # 600 and 400 bytes

    def test_every_file_once_and_in_order_whatever_the_count(self):
        files = [f"t/test_{n}.py" for n in range(5)]
        for count in (1, 2, 3, 8):
            parts = pytest_split.shares(files, [10, 0, 3000, 7, 7], count)
            self.assertEqual(count, len(parts))
            self.assertEqual(files, [file for part in parts for file in part])

    def test_empty_files(self):
        self.assertEqual([["a.py"], ["b.py"]], pytest_split.shares(["a.py", "b.py"], [0, 0], 2))


class TestMerge(testtools.TestCase):

    def test_files_in_walk_order_tests_in_their_share_order(self):
        walk = ["t/a.py", "t/b.py", "t/c.py"]
        mine = ["t/b.py::test_2", "t/b.py::test_1"]
        theirs = ["t/c.py::test_1", "t/a.py::T::test_1[x]", "t/a.py::T::test_1[y]"]
        self.assertEqual(["t/a.py::T::test_1[x]", "t/a.py::T::test_1[y]",
                          "t/b.py::test_2", "t/b.py::test_1", "t/c.py::test_1"],
                         pytest_split.merge(walk, [mine, theirs]))

    def test_ids_of_files_the_walk_did_not_see_come_last(self):
        self.assertEqual(["t/a.py::x", "other.txt::y"],
                         pytest_split.merge(["t/a.py"], [["other.txt::y"], ["t/a.py::x"]]))


class TestSharePipe(testtools.TestCase):

    def test_what_a_forked_worker_sends_worker_0_reads(self):
        read, write = os.pipe()
        ids = [f"t/test_a.py::test_{n}" for n in range(20000)]  # more than a pipe holds
        if os.fork() == 0:
            os.close(read)
            pytest_split.send_share(write, ids, ["ERROR collecting t/b.py"])
            os._exit(0)
        os.close(write)
        share = pytest_split.read_share(read)
        os.wait()
        self.assertEqual({"ids": ids, "errors": ["ERROR collecting t/b.py"]}, share)

    def test_a_worker_that_ended_first_sent_nothing(self):
        read, write = os.pipe()
        os.write(write, b'{"ids": ["t/a.py::x"')  # cut short
        os.close(write)
        self.assertIsNone(pytest_split.read_share(read))
