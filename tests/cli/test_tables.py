"""Table output of the listing commands (slowest, stats, history list,
flaky): testrepo's quick path writes what cliff's prettytable formatter
writes, character for character."""

import argparse
import io
import random
import string

import testtools
from cliff.formatters.table import TableFormatter

from testrepo.cli.base import _PlainTable

NOT_FITTED = argparse.Namespace(max_width=0, fit_width=False, print_empty=False)


def both(columns, rows):
    """(cliff's output, the quick path's output)."""
    expected, actual = io.StringIO(), io.StringIO()
    TableFormatter().emit_list(columns, list(rows), expected, NOT_FITTED)
    _PlainTable(TableFormatter()).emit_list(columns, iter(rows), actual, NOT_FITTED)
    return expected.getvalue(), actual.getvalue()


class TestPlainTable(testtools.TestCase):

    def test_history_like_table(self):
        rows = [(run_id, 20000 - run_id, run_id % 3, 0, f"{run_id * 1.5:.3f}",
                 "2026-11-23 17:54:58") for run_id in range(120)]
        expected, actual = both(("Run ID", "Passed", "Failed", "Skipped", "Runtime (s)",
                                 "Started (UTC)"), rows)
        self.assertEqual(expected, actual)

    def test_mixed_types_align_by_the_first_row(self):
        rows = [("runs", 3), ("latest run", "-"), ("mean", 0.25), ("failing", 12)]
        self.assertEqual(*both(("Statistic", "Value"), rows))

    def test_cells_it_does_not_handle_go_to_cliff(self):
        for odd in ("t\u00e9st", "two\nlines", "tab\there", None, True, b"bytes"):
            self.assertEqual(*both(("Test id", "Value"), [("a.b.c", 1), (odd, 2)]))

    def test_empty_table(self):
        self.assertEqual(*both(("Test id", "Runtime (s)"), []))

    def test_random_tables(self):
        rng = random.Random(4)
        for _ in range(300):
            width = rng.randint(1, 5)
            columns = [f"col {index}" + "x" * rng.randint(0, 12) for index in range(width)]
            rows = [tuple(self.cell(rng) for _ in range(width))
                    for _ in range(rng.randint(1, 6))]
            self.assertEqual(*both(columns, rows))

    @staticmethod
    def cell(rng):
        kind = rng.randint(0, 2)
        if kind == 0:
            return rng.randint(-5, 10 ** rng.randint(0, 9))
        if kind == 1:
            return rng.random() * 10 ** rng.randint(0, 5)
        return "".join(rng.choice(string.ascii_letters + " .-_:") for _ in range(rng.randint(0, 30)))
