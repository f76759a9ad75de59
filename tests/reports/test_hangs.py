"""HangWatcher: which heartbeats make a notice (no process, no clock: the
heartbeats carry their own time)."""

import unittest

from testrepo.reports.hangs import HangWatcher, format_seconds
from testrepo.results.running import RunningTest


class TestHangWatcher(unittest.TestCase):

    def setUp(self):
        self.lines = []
        self.watcher = HangWatcher(self.lines.append)

    def beat(self, now, *running):
        self.watcher.heartbeat(list(running), now)

    def test_without_history_a_minute_then_doubling_intervals(self):
        self.watcher.expect(["t.a"], {})
        hung = RunningTest(1, "t.a", 100.0)
        for now in (110, 159, 160, 161, 219, 220, 400, 439, 440):
            self.beat(float(now), hung)
        self.assertEqual([
            "testr: still running after 1m 0s: t.a on worker 1\n",
            "testr: still running after 2m 0s: t.a on worker 1\n",
            "testr: still running after 5m 0s: t.a on worker 1\n",
        ], self.lines)

    def test_with_history_patience_follows_the_recorded_duration(self):
        self.watcher.expect(["t.fast", "t.slow"], {"t.fast": 0.01, "t.slow": 60.0})
        fast, slow = RunningTest(0, "t.fast", 0.0), RunningTest(1, "t.slow", 0.0)
        self.beat(29.9, fast, slow)
        self.assertEqual([], self.lines)
        self.beat(30.1, fast, slow)
        self.assertEqual(["testr: still running after 30.1 s: t.fast on worker 0 "
                          "(usually 0.01 s)\n"], self.lines)
        self.beat(299.0, slow)
        self.assertEqual(1, len(self.lines))
        self.beat(300.0, slow)
        self.assertIn("t.slow on worker 1 (usually 1m 0s)", self.lines[-1])

    def test_a_test_that_finished_is_forgotten(self):
        self.watcher.expect(["t.a"], {})
        self.beat(61.0, RunningTest(0, "t.a", 0.0))
        self.beat(62.0)
        # The same id started again later gets a fresh minute.
        self.beat(100.0, RunningTest(0, "t.a", 70.0))
        self.assertEqual(1, len(self.lines))

    def test_still_running_names_the_tests_of_the_last_heartbeat(self):
        self.beat(10.0, RunningTest(1, "t.b", 7.5), RunningTest(0, "t.a", 9.0))
        self.assertEqual([
            "testr: interrupted while t.a was running on worker 0 (for 1.5 s)\n",
            "testr: interrupted while t.b was running on worker 1 (for 3.0 s)\n",
        ], self.watcher.still_running(10.5))

    def test_format_seconds(self):
        self.assertEqual(["0.012 s", "0.2 s", "3.2 s", "59.9 s", "1m 0s", "59m 59s", "2h 3m"],
                         [format_seconds(s) for s in (0.012, 0.2, 3.24, 59.94, 60, 3599, 7380)])


if __name__ == "__main__":
    unittest.main()
