"""`testr load`: streams from files or stdin are tagged, stored and shown."""

import functools
import os
import subprocess
import sys

import testtools

from tests.cli.test_run import stored_events, totals
from tests.fixtures import SampleProject, testrepo_env
from tests.harness import testr


@functools.lru_cache(maxsize=None)
def subunit_run_stream():
    """A v2 stream made by `python -m subunit.run` on the sample project,
    made once per test process (tracebacks name that first project's
    files)."""
    with SampleProject(config="testr") as project:
        proc = subprocess.run([sys.executable, "-m", "subunit.run", "discover", "-t", ".",
                               "sample"], cwd=project.path, capture_output=True,
                              env=testrepo_env(), stdin=subprocess.DEVNULL, check=True)
    return proc.stdout


def last_packet_start(stream):
    """Where the stream's last v2 packet starts.  Walked packet by packet:
    the last 0xb3 byte can sit inside that packet (a timestamp, the CRC),
    and the stream ends with the tests' own output, not a packet."""
    position, last = 0, None
    while position < len(stream):
        if stream[position] != 0xb3:  # output between packets
            position += 1
            continue
        last = position
        first = stream[position + 3]
        size = 1 + (first >> 6)  # the length's own bytes: its top 2 bits
        length = first & 0x3f
        for byte in stream[position + 4:position + 3 + size]:
            length = (length << 8) | byte
        position += length
    return last


class TestLoad(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.project = self.useFixture(SampleProject(config="testr"))
        self.stream = subunit_run_stream()

    def test_load_from_stdin_is_stored_and_shown(self):
        code, out, err = testr(self.project.path, "load", "--force-init", stdin=self.stream)
        self.assertEqual(1, code, out + err)
        self.assertEqual((4, 2, 1), totals(out))
        self.assertIn("RuntimeError: boom", out)
        run, events = stored_events(self.project.path)
        self.assertEqual(0, run.run_id)
        self.assertEqual((4, 2, 1), (run.record.passed, run.record.failed, run.record.skipped))
        self.assertTrue(all("worker-0" in (e[3] or ()) for e in events if e[1]))

    def test_each_file_is_tagged_with_its_position(self):
        path = self.project.write("stream.subunit", "")
        with open(path, "wb") as handle:
            handle.write(self.stream)
        testr(self.project.path, "init")
        code, out, _ = testr(self.project.path, "load", "stream.subunit", "stream.subunit")
        self.assertEqual(1, code)
        _, events = stored_events(self.project.path)
        workers = {tag for e in events for tag in (e[3] or ()) if tag.startswith("worker-")}
        self.assertEqual({"worker-0", "worker-1"}, workers)

    def test_load_without_repository_is_repository_error(self):
        code, _, err = testr(self.project.path, "load", stdin=self.stream)
        self.assertEqual(4, code)
        self.assertIn("testr init", err)
        self.assertFalse(os.path.exists(self.project.repository_path()))

    def test_load_updates_the_failing_set(self):
        testr(self.project.path, "load", "--force-init", stdin=self.stream)
        code, out, _ = testr(self.project.path, "failing", "--list")
        self.assertEqual(1, code)
        self.assertEqual(2, len(out.split()))

    def test_missing_stream_file_is_usage_error(self):
        testr(self.project.path, "init")
        code, _, err = testr(self.project.path, "load", "nope.subunit")
        self.assertEqual(2, code)
        self.assertIn("nope.subunit", err)


class TestLoadBadInput(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.project = self.useFixture(SampleProject(config="testr"))
        self.stream = subunit_run_stream()
        # Cut inside the last packet: a stream whose writer died mid-write.
        self.truncated = self.stream[:last_packet_start(self.stream) + 3]
        testr(self.project.path, "init")

    def runs(self):
        _, out, _ = testr(self.project.path, "history", "list", "-f", "value")
        return len(out.splitlines())

    def test_truncated_stream_is_refused_and_nothing_stored(self):
        code, _, err = testr(self.project.path, "load", stdin=self.truncated)
        self.assertEqual(2, code)
        self.assertIn("not a valid subunit v2 stream", err)
        self.assertIn("nothing was stored", err)
        self.assertEqual(0, self.runs())
        self.assertEqual([], os.listdir(os.path.join(self.project.repository_path(), "tmp")))

    def test_partial_keeps_what_parsed(self):
        code, out, _ = testr(self.project.path, "load", "--partial",
                                    stdin=self.truncated)
        self.assertEqual(1, self.runs())
        self.assertGreater(sum(totals(out)), 0)

    def test_text_is_not_a_stream(self):
        code, _, err = testr(self.project.path, "load", stdin=b"PASS: everything\n")
        self.assertEqual(2, code)
        self.assertIn("holds no test results", err)
        self.assertEqual(0, self.runs())

    def test_eight_concurrent_loads_all_land(self):
        path = self.project.write("stream.subunit", "")
        with open(path, "wb") as handle:
            handle.write(self.stream)
        env = testrepo_env()
        loads = [subprocess.Popen([sys.executable, "-m", "testrepo", "load", "stream.subunit"],
                                  cwd=self.project.path, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
                 for _ in range(8)]
        results = [(load.wait(), load.stderr.read()) for load in loads]
        for load in loads:
            load.stderr.close()
        self.assertEqual([(1, b"")] * 8, results)  # 1: the stream has failures
        _, out, _ = testr(self.project.path, "history", "list", "-f", "value",
                                 "--column", "Run ID", "--column", "Passed")
        self.assertEqual([f"{n} 4" for n in range(8)], out.splitlines())
