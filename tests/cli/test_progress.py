"""The live status line of `testr run`, seen through a real pseudo-terminal."""

import os
import pty
import re
import select
import subprocess
import sys
import time

import testtools

from tests.fixtures import SampleProject, testrepo_env
from tests.harness import testr

ERASE = "\r\x1b[K"
STATUS = re.compile(r"\[\s*(\d+)/(\d+)\] \| (?:\x1b\[31m)?(\d+) failed(?:\x1b\[0m)? \| "
                    r"(\d+:\d\d) elapsed \| ETA ([-:\d]+)")
# 20 quick tests, one failing, and one that blocks until the file named by
# $GATE exists: the status line can be read while it runs, without sleeps
# in the test itself.
GATED_TESTS = """\
import os
import time
import unittest


class TestGate(unittest.TestCase):

    def test_gate(self):
        while not os.path.exists(os.environ["GATE"]):
            time.sleep(0.01)


class TestQuick(unittest.TestCase):
""" + "".join(f"""
    def test_{index:02d}(self):
        self.assertNotEqual({index}, 7)
""" for index in range(20))
DEADLINE = 120.0


def visible_lines(raw):
    """Each output line as a terminal shows it: what follows its last erase."""
    return [line.rsplit(ERASE, 1)[-1] for line in raw.split("\n")]


class TestProgressLine(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.project = self.useFixture(SampleProject(config="stestr", tests=GATED_TESTS))

    def run_in_pty(self, *args, gate_when=None):
        """Run testr on a pseudo-terminal; once the output so far matches
        ``gate_when`` (a regex), create the gate file. Returns (exit code,
        output)."""
        gate = os.path.join(self.project.path, f"gate-{len(os.listdir(self.project.path))}")
        if gate_when is None:
            open(gate, "w").close()
        master, slave = pty.openpty()
        proc = subprocess.Popen([sys.executable, "-m", "testrepo", *args],
                                cwd=self.project.path, stdin=slave, stdout=slave, stderr=slave,
                                env=testrepo_env({"GATE": gate, "COLUMNS": "200"}),
                                close_fds=True)
        os.close(slave)
        chunks, text, deadline = [], "", time.monotonic() + DEADLINE
        try:
            while time.monotonic() < deadline:
                ready, _, _ = select.select([master], [], [], 1.0)
                if not ready:
                    continue
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
                text = b"".join(chunks).decode("utf-8", "replace")
                if gate_when is not None and not os.path.exists(gate) and \
                        re.search(gate_when, text):
                    open(gate, "w").close()
        finally:
            os.close(master)
            if not os.path.exists(gate):
                open(gate, "w").close()
        return proc.wait(timeout=DEADLINE), text

    def test_status_line_on_a_terminal(self):
        # Released once the line shows the gated test on its worker.
        gated = r"\| ETA [-:\d]+ \| \d: TestGate\.test_gate \d+\.\ds"
        code, raw = self.run_in_pty("run", "--concurrency", "2", gate_when=gated)
        self.assertEqual(1, code, raw)
        statuses = STATUS.findall(raw)
        self.assertTrue(statuses, raw)
        self.assertEqual({"21"}, {total for _, total, *_ in statuses})
        self.assertIn(ERASE, raw)
        lines = visible_lines(raw)
        # The line is never left among the trace: each draw is erased
        # before the next output, and it is gone at the end.
        self.assertEqual([], [line for line in lines if STATUS.search(line)])
        self.assertIn("FAILED", raw)
        self.assertTrue(any(line.endswith("TestQuick.test_07") or "test_07" in line and
                            "FAILED" in line for line in lines), raw)
        self.assertIn("Totals: 20 passed, 1 failed, 0 skipped", lines[-2] + lines[-1])

    def test_second_run_shows_an_eta_from_recorded_durations(self):
        self.run_in_pty("run", "--concurrency", "2")
        eta = r"ETA (\d+:\d\d) \| \d: TestGate\.test_gate"
        code, raw = self.run_in_pty("run", "--concurrency", "2", gate_when=eta)
        self.assertEqual(1, code, raw)
        minutes, seconds = re.search(eta, raw).group(1).split(":")
        self.assertLess(int(minutes) * 60 + int(seconds), 600)

    def test_no_progress_flag(self):
        code, raw = self.run_in_pty("run", "--no-progress")
        self.assertEqual(1, code, raw)
        self.assertNotIn(ERASE, raw)
        self.assertIsNone(STATUS.search(raw))
        self.assertIn("Totals: 20 passed, 1 failed, 0 skipped", raw)

    def test_never_with_subunit(self):
        code, raw = self.run_in_pty("run", "--subunit")
        self.assertEqual(1, code)
        self.assertNotIn(ERASE, raw)
        self.assertIsNone(STATUS.search(raw))

    def test_never_on_a_pipe(self):
        open(os.path.join(self.project.path, "gate"), "w").close()
        code, out, err = testr(self.project.path, "run",
                                      env={"GATE": os.path.join(self.project.path, "gate")})
        self.assertEqual(1, code, out + err)
        self.assertNotIn("\x1b[K", out + err)
        self.assertIsNone(STATUS.search(out + err))
        self.assertIn("Totals: 20 passed, 1 failed, 0 skipped", out)
