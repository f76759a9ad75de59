"""compare(): categories, noise-aware timing thresholds, text and JSON."""

import io
import json

import testtools

from testrepo.reports.compare import CATEGORIES, Thresholds, compare, gate, to_json, write_text
from tests.streams import Result, failure, run_results

OLD = [
    Result("t.T.test_pass"),
    Result("t.T.test_breaks"),
    failure("t.T.test_fixed"),
    failure("t.T.test_still"),
    Result("t.T.test_removed"),
    Result("t.T.test_slow", duration=0.2),
    Result("t.T.test_jitter", duration=0.001),
    Result("t.T.test_quick", duration=2.0),
    Result("t.T.test_skipped", duration=0.1),
]
NEW = [
    Result("t.T.test_pass"),
    failure("t.T.test_breaks"),
    Result("t.T.test_fixed"),
    failure("t.T.test_still"),
    Result("t.T.test_added"),
    failure("t.T.test_added_failing"),
    Result("t.T.test_slow", duration=1.0),
    Result("t.T.test_jitter", duration=0.004),
    Result("t.T.test_quick", duration=0.5),
    Result("t.T.test_skipped", "skip", duration=5.0),
]


class TestCompare(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.comparison = compare(run_results(*OLD, label="run 0", run_id=0),
                                  run_results(*NEW, label="run 1", run_id=1))

    def test_each_category_holds_exactly_the_changed_tests(self):
        c = self.comparison
        self.assertEqual(("t.T.test_added_failing", "t.T.test_breaks"), c.new_failures)
        self.assertEqual(("t.T.test_fixed",), c.fixed)
        self.assertEqual(("t.T.test_still",), c.still_failing)
        self.assertEqual(("t.T.test_added", "t.T.test_added_failing"), c.added)
        self.assertEqual(("t.T.test_removed",), c.removed)

    def test_five_fold_slowdown_is_slower_and_jitter_is_not(self):
        (slow,) = self.comparison.slower
        self.assertEqual("t.T.test_slow", slow.test_id)
        self.assertAlmostEqual(5.0, slow.ratio, places=3)
        (quick,) = self.comparison.faster
        self.assertEqual("t.T.test_quick", quick.test_id)

    def test_thresholds_need_both_ratio_and_absolute_difference(self):
        thresholds = Thresholds(ratio=2.0, absolute=0.5)
        self.assertFalse(thresholds.significant(0.001, 0.004))  # 4x, but 3 ms
        self.assertFalse(thresholds.significant(10.0, 11.0))    # 1 s, but 1.1x
        self.assertTrue(thresholds.significant(0.2, 1.0))
        self.assertTrue(thresholds.significant(0.0, 0.5))

    def test_lower_thresholds_report_more(self):
        loose = compare(run_results(*OLD), run_results(*NEW), Thresholds(1.5, 0.001))
        self.assertIn("t.T.test_jitter", [change.test_id for change in loose.slower])

    def test_json_has_every_category_and_the_thresholds(self):
        data = json.loads(json.dumps(to_json(self.comparison)))
        for name in CATEGORIES:
            self.assertIn(name.replace("-", "_"), data)
        self.assertEqual({"ratio": 2.0, "absolute": 0.5}, data["thresholds"])
        self.assertEqual(0, data["old"]["run_id"])
        self.assertEqual("t.T.test_slow", data["slower"][0]["test_id"])
        self.assertEqual(5.0, data["slower"][0]["ratio"])

    def test_text_lists_categories_and_a_summary_line(self):
        out = io.StringIO()
        write_text(self.comparison, out)
        text = out.getvalue()
        self.assertIn("New failures: 2\n  t.T.test_added_failing\n  t.T.test_breaks\n", text)
        self.assertIn("t.T.test_slow  0.200s -> 1.000s (5.0x)", text)
        self.assertEqual("Summary: 2 new-failures, 1 fixed, 1 still-failing, 2 added, "
                         "1 removed, 1 slower, 1 faster", text.rstrip().splitlines()[-1])

    def test_gate_names_the_non_empty_categories(self):
        self.assertEqual(["new-failures", "slower"],
                         gate(self.comparison, ["new-failures", "slower"]))
        same = compare(run_results(*OLD), run_results(*OLD))
        self.assertEqual(["still-failing"], gate(same, CATEGORIES))
