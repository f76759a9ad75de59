"""Tests for testrepo.selection: list files on disk in, test ids out."""

import os

from fixtures import TempDir
from testtools import TestCase

from testrepo.errors import UsageError
from testrepo.options import Selection
from testrepo.selection import (
    Criteria,
    read_criteria,
    read_id_file,
    read_regex_file,
    select,
    with_variant_durations,
)

TEST_IDS = [
    "pkg.test_a.TestA.test_fast",
    "pkg.test_a.TestA.test_slow",
    "pkg.test_b.TestB.test_fast",
    "pkg.test_b.TestB.test_slow[smoke]",
    "pkg.test_c.TestC.test_fast",
]


class SelectionTestCase(TestCase):

    def setUp(self):
        super().setUp()
        self.directory = self.useFixture(TempDir()).path

    def write(self, name, content):
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        with open(os.path.join(self.directory, name), "wb") as stream:
            stream.write(data)
        return name

    def selected(self, failing_ids=None, **selection):
        criteria = read_criteria(Selection(**selection), failing_ids, self.directory)
        return select(TEST_IDS, criteria)

    def assertUsageError(self, expected, **selection):
        error = self.assertRaises(UsageError, self.selected, **selection)
        self.assertEqual(expected, str(error))
        self.assertNotIn("\n", str(error))


class TestSelect(SelectionTestCase):

    def test_no_criteria_selects_everything_in_order(self):
        self.assertEqual(TEST_IDS, self.selected())
        self.assertEqual(TEST_IDS, select(TEST_IDS, Criteria()))

    def test_filters_are_a_union_of_searches(self):
        self.assertEqual(
            ["pkg.test_a.TestA.test_fast", "pkg.test_a.TestA.test_slow",
             "pkg.test_c.TestC.test_fast"],
            self.selected(filters=("test_c", "TestA")))

    def test_exclude_regex_removes_matches(self):
        self.assertEqual(
            ["pkg.test_a.TestA.test_fast", "pkg.test_b.TestB.test_fast"],
            self.selected(filters=("test_a", "test_b"), exclude_regex=("slow",)))

    def test_exclude_list_with_comments(self):
        name = self.write("exclude.txt", (
            "# slow tests, see issue 12\n"
            "\n"
            "  test_slow   # takes minutes\n"
            "^pkg\\.test_c\\.#whole module\n"))
        self.assertEqual(
            ["pkg.test_a.TestA.test_fast", "pkg.test_b.TestB.test_fast"],
            self.selected(exclude_list=name))

    def test_include_list_adds_to_filters(self):
        name = self.write("include.txt", "test_b\\.TestB\\.test_fast\n")
        self.assertEqual(
            ["pkg.test_b.TestB.test_fast", "pkg.test_c.TestC.test_fast"],
            self.selected(filters=("test_c",), include_list=name))

    def test_exclude_wins_over_include(self):
        name = self.write("include.txt", "test_b\n")
        self.assertEqual(
            ["pkg.test_b.TestB.test_fast"],
            self.selected(include_list=name, exclude_regex=(r"\[smoke\]",)))

    def test_load_list_order_is_kept(self):
        name = self.write("ids.txt", (
            "pkg.test_c.TestC.test_fast\n"
            "\n"
            "  pkg.test_a.TestA.test_fast  \n"
            "pkg.test_gone.TestGone.test_x\n"
            "pkg.test_c.TestC.test_fast\n"))
        self.assertEqual(
            ["pkg.test_c.TestC.test_fast", "pkg.test_a.TestA.test_fast"],
            self.selected(load_list=name))

    def test_load_list_is_still_filtered(self):
        name = self.write("ids.txt", "pkg.test_c.TestC.test_fast\npkg.test_a.TestA.test_slow\n")
        self.assertEqual(["pkg.test_a.TestA.test_slow"],
                         self.selected(load_list=name, filters=("test_a",)))

    def test_failing_restricts_to_failing_ids(self):
        failing = ["pkg.test_c.TestC.test_fast", "pkg.test_a.TestA.test_slow",
                   "pkg.test_removed.T.test_x"]
        self.assertEqual(
            ["pkg.test_a.TestA.test_slow", "pkg.test_c.TestC.test_fast"],
            self.selected(failing_ids=failing, failing=True))

    def test_failing_with_nothing_failing_selects_nothing(self):
        self.assertEqual([], self.selected(failing_ids=None, failing=True))

    def test_failing_ids_are_ignored_without_failing_flag(self):
        self.assertEqual(TEST_IDS, self.selected(failing_ids=["pkg.test_c.TestC.test_fast"]))

    def test_load_list_and_failing_combine(self):
        name = self.write("ids.txt", "pkg.test_c.TestC.test_fast\npkg.test_a.TestA.test_fast\n")
        self.assertEqual(
            ["pkg.test_a.TestA.test_fast"],
            self.selected(load_list=name, failing=True,
                          failing_ids=["pkg.test_a.TestA.test_fast"]))

    def test_select_keeps_duplicate_listed_ids(self):
        test_ids = ["a.T.test_1", "a.T.test_1"]
        self.assertEqual(test_ids, select(test_ids, Criteria()))


class TestSelectionErrors(SelectionTestCase):

    def test_bad_filter(self):
        self.assertUsageError(
            "invalid regular expression '(foo' in filter:"
            " missing ), unterminated subpattern at position 0",
            filters=("ok", "(foo"))

    def test_bad_exclude_regex(self):
        self.assertUsageError(
            "invalid regular expression 'a{99999999999}' in --exclude-regex:"
            " the repetition number is too large",
            exclude_regex=("a{99999999999}",))

    def test_bad_regex_in_exclude_list_names_file_and_line(self):
        name = self.write("excl.txt", "# comment\nslow\n(foo  # broken\n")
        self.assertUsageError(
            "exclude list excl.txt line 3: invalid regular expression '(foo':"
            " missing ), unterminated subpattern at position 0",
            exclude_list=name)

    def test_line_numbers_follow_windows_newlines(self):
        name = self.write("incl.txt", b"slow\r\nfast\r\n[\r\n")
        self.assertUsageError(
            "include list incl.txt line 3: invalid regular expression '[':"
            " unterminated character set at position 0",
            include_list=name)

    def test_missing_include_list(self):
        self.assertUsageError(
            "cannot read include list 'x.txt': No such file or directory",
            include_list="x.txt")

    def test_missing_load_list(self):
        self.assertUsageError(
            "cannot read load list 'ids.txt': No such file or directory",
            load_list="ids.txt")

    def test_directory_as_exclude_list(self):
        os.mkdir(os.path.join(self.directory, "sub"))
        self.assertUsageError("cannot read exclude list 'sub': Is a directory",
                              exclude_list="sub")

    def test_undecodable_list_names_the_line(self):
        name = self.write("excl.txt", b"\xef\xbb\xbfslow\nfa\xffst\n")
        self.assertUsageError("cannot read exclude list 'excl.txt': line 2 is not UTF-8",
                              exclude_list=name)

    def test_undecodable_load_list(self):
        name = self.write("ids.txt", b"\xff\xfe")
        self.assertUsageError("cannot read load list 'ids.txt': line 1 is not UTF-8",
                              load_list=name)


class TestReadFiles(SelectionTestCase):

    def test_read_regex_file(self):
        path = os.path.join(self.directory, self.write("r.txt", (
            "\ufeff# header\n"
            "\t^pkg\\.test_big\\.  # takes minutes\n"
            "   \n"
            "other\n")))
        self.assertEqual(["^pkg\\.test_big\\.", "other"], read_regex_file(path))

    def test_read_id_file(self):
        path = os.path.join(self.directory, self.write(
            "ids.txt", "a.T.test_1\n\n  a.T.test_2[smoke]\t\nb.U.test_1"))
        self.assertEqual(["a.T.test_1", "a.T.test_2[smoke]", "b.U.test_1"],
                         read_id_file(path))

    def test_read_id_file_missing(self):
        path = os.path.join(self.directory, "nope.txt")
        error = self.assertRaises(UsageError, read_id_file, path)
        self.assertIn("No such file or directory", str(error))
        self.assertIn("nope.txt", str(error))


class TestVariantDurations(TestCase):
    """A listed test that runs as scenarios is stored under the scenarios'
    ids; the scheduler must still see what handing it out costs."""

    STORED = {"p.T.test_a(one)": 2.0, "p.T.test_a(two)": 3.0, "p.T.test_b": 1.0,
              "p.T.test_b(x)": 9.0, "p.U.test_c(one)": 4.0}

    def test_a_listed_test_without_a_duration_gets_its_variants_sum(self):
        durations = with_variant_durations(
            ["p.T.test_a", "p.T.test_b", "p.T.test_d"], {"p.T.test_b": 1.0},
            lambda: self.STORED)
        # test_b keeps its own; test_d has neither; test_c was not listed.
        self.assertEqual({"p.T.test_a": 5.0, "p.T.test_b": 1.0}, durations)

    def test_stored_durations_are_not_read_when_every_listed_test_has_one(self):
        def refuse():
            raise AssertionError("read every stored duration")
        self.assertEqual({"p.T.test_b": 1.0},
                         with_variant_durations(["p.T.test_b"], {"p.T.test_b": 1.0}, refuse))

    def test_an_unlisted_run_keeps_the_durations_it_has(self):
        # Command mode without a listing passes no ids (None).
        self.assertEqual({}, with_variant_durations(None, {}, lambda: self.STORED))
