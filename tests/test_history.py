"""testrepo.history: rows and headings from run records alone."""

import testtools

from testrepo import history
from testrepo.repository import RunRecord


def record(run_id=3, started="2024-05-01T12:00:00.250000+00:00", partial=False,
           interrupted=False, metadata=None):
    return RunRecord(run_id=run_id, passed=5, failed=1, skipped=2, duration=1.23456,
                     started=started, partial=partial, interrupted=interrupted,
                     metadata=metadata or {})


class TestRows(testtools.TestCase):
    def test_one_row_per_record(self):
        columns, rows = history.rows([record(metadata={"b": "2", "a": "1"})])
        self.assertEqual(("Run ID", "Passed", "Failed", "Skipped", "Runtime (s)",
                          "Started (UTC)"), columns)
        self.assertEqual([(3, 5, 1, 2, 1.235, "2024-05-01 12:00:00")], rows)

    def test_metadata_column(self):
        columns, rows = history.rows([record(metadata={"b": "2", "a": "1"}), record()],
                                     show_metadata=True)
        self.assertEqual("Metadata", columns[-1])
        self.assertEqual(["a=1, b=2", "-"], [row[-1] for row in rows])

    def test_start_is_shown_in_utc(self):
        self.assertEqual("2024-05-01 10:00:00",
                         history.started_text("2024-05-01T12:00:00+02:00"))
        self.assertEqual("-", history.started_text(None))


class TestHeading(testtools.TestCase):
    def test_heading_names_the_kind_of_run(self):
        self.assertEqual("Run 3 (partial, interrupted): started 2024-05-01 12:00:00 UTC, "
                         "1.235 s\n", history.heading(record(partial=True, interrupted=True)))
        self.assertEqual("Run 3: no timestamps, 1.235 s\n", history.heading(record(started=None)))
