"""The status line: counts, ETA and workers, and how it shares the output."""

import io

import fixtures

import testtools

from testrepo.reports.progress import ERASE, ProgressWatcher, StatusLineOutput, clock
from testrepo.results.running import RunningTest


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def make(width=200, color=False):
    out = io.StringIO()
    output = StatusLineOutput(out, width=width)
    now = Clock()
    watcher = ProgressWatcher(output, now, color=color)
    watcher.startTestRun()
    return out, output, watcher, now


class TestStatusLineOutput(testtools.TestCase):

    def test_line_is_erased_before_other_output_and_drawn_after(self):
        out = io.StringIO()
        output = StatusLineOutput(out, width=80)
        output.show("[1/2]")
        output.write("{0} a ... ok\n")
        output.show("[2/2]")
        output.show(None)
        output.write("Totals\n")
        self.assertEqual("[1/2]" + ERASE + "{0} a ... ok\n[1/2]" + ERASE + "[2/2]" + ERASE
                         + "Totals\n", out.getvalue())

    def test_not_drawn_in_the_middle_of_a_line(self):
        out = io.StringIO()
        output = StatusLineOutput(out, width=80)
        output.write("partial")
        output.show("[1/2]")
        self.assertEqual("partial", out.getvalue())
        output.write(" rest\n")
        self.assertEqual("partial rest\n[1/2]", out.getvalue())


class TestProgressWatcher(testtools.TestCase):

    def test_counts_failures_and_retries_once(self):
        out, output, watcher, now = make()
        watcher.expect(["a", "b", "c"], {})
        watcher.status(test_id="a", test_status="inprogress")
        watcher.status(test_id="a", test_status="fail")
        watcher.status(test_id="b", test_status="success")
        line = watcher.render(now.now, 200)
        self.assertTrue(line.startswith("[2/3] | 1 failed"), line)
        watcher.status(test_id="a", test_status="success")  # a retry that passed
        self.assertTrue(watcher.render(now.now, 200).startswith("[2/3] | 0 failed"))

    def test_eta_from_the_runs_own_pace_without_history(self):
        _, _, watcher, now = make()
        watcher.expect([f"t{i}" for i in range(10)], {})
        self.assertIsNone(watcher.eta(now.now))
        now.now += 4.0
        for i in range(2):
            watcher.status(test_id=f"t{i}", test_status="success")
        self.assertAlmostEqual(16.0, watcher.eta(now.now))

    def test_eta_from_recorded_durations_scaled_by_the_pace(self):
        _, _, watcher, now = make()
        durations = {"long": 8.0, "short": 1.0, "other": 1.0}
        watcher.expect(["long", "short", "other"], durations)
        now.now += 2.0
        watcher.status(test_id="short", test_status="success")  # 1 recorded s in 2 wall s
        self.assertAlmostEqual(18.0, watcher.eta(now.now))

    def test_workers_and_their_elapsed_time(self):
        _, _, watcher, now = make()
        watcher.expect(["p.TestA.test_a", "p.TestB.test_b"], {})
        watcher.heartbeat([RunningTest(1, "p.TestB.test_b", now.now - 0.5),
                           RunningTest(0, "p.TestA.test_a", now.now - 2.25)], now.now)
        line = watcher.render(now.now, 200)
        self.assertIn("0: TestA.test_a 2.2s | 1: TestB.test_b 0.5s", line)

    def test_line_fits_the_terminal(self):
        _, _, watcher, now = make()
        watcher.expect(["p.TestA.test_" + "x" * 100], {})
        watcher.heartbeat([RunningTest(0, "p.TestA.test_" + "x" * 100, now.now)], now.now)
        self.assertEqual(59, len(watcher.render(now.now, 60)))

    def test_no_color_keeps_the_line_plain(self):
        self.useFixture(fixtures.EnvironmentVariable("NO_COLOR", "1"))
        _, _, watcher, now = make(color=True)
        watcher.expect(["a"], {})
        watcher.status(test_id="a", test_status="fail")
        self.assertNotIn("\x1b", watcher.render(now.now, 200))

    def test_failures_in_red_with_colour(self):
        self.useFixture(fixtures.EnvironmentVariable("NO_COLOR"))
        _, _, watcher, now = make(color=True)
        watcher.expect(["a"], {})
        watcher.status(test_id="a", test_status="fail")
        self.assertIn("\x1b[31m1 failed\x1b[0m", watcher.render(now.now, 200))

    def test_stop_removes_the_line(self):
        out, output, watcher, now = make()
        watcher.expect(["a"], {})
        watcher.stopTestRun()
        output.write("Totals\n")
        self.assertTrue(out.getvalue().endswith(ERASE + "Totals\n"), out.getvalue())

    def test_clock(self):
        self.assertEqual(["0:03", "1:15", "1:02:05"], [clock(3.2), clock(75.2), clock(3725)])
