"""Command mode: running ``test_command`` partitions in parallel and merging
their subunit v2 output.

One reader thread per process parses its stdout
(``subunit.ByteStreamToStreamResult``; bytes that are not subunit become
``stdout`` file events, so noise never corrupts the run) and puts events on
one queue.  The calling thread is the only consumer: everything downstream
runs on it and needs no locks.

Each event gets the worker's route code (``"0"``, ``"1"`` ...) and a
``worker-N`` tag.  When a process's stream ends:

* a test it had started but not finished is reported as failed (with the
  exit status, or "timed out" when ``timeout`` made us kill it);
* tests of its partition it never reached are run again in a fresh process
  (up to ``max_restarts`` relaunches in all), so one crash does not lose the
  rest of the partition; past the budget they are reported as not run;
* a non-zero exit that the stream does not explain becomes a failing
  ``process-returncode`` event: a process that dies is never a silent
  success.
"""

from __future__ import annotations

import collections
import datetime
import queue
import subprocess
import threading
import time
from typing import Callable, Dict, List, Optional, Sequence

from testrepo import errors
from testrepo.execution.commands import Command
from testrepo.execution import reaper
from testrepo.execution.worker_process import describe_exit, stop_process_group
from testrepo.results.filters import worker_route, worker_tags
from testrepo.results.running import HEARTBEAT, RunningTest
from testrepo.results.stream import StreamResult

FINAL_STATUSES = frozenset(["success", "fail", "skip", "xfail", "uxsuccess"])
_TEXT = "text/plain;charset=utf8"
_END = object()

MakeCommand = Callable[[int, Optional[List[str]]], Command]


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


class _WorkerEvents(StreamResult):
    """Runs in a reader thread: tags one process's events and queues them,
    remembering which tests started and finished."""

    def __init__(self, worker: int, events: queue.Queue):
        self._worker = worker
        self._events = events
        self.in_progress: Dict[str, float] = {}  # test id -> monotonic start
        self.finished: set = set()
        self.failures = 0

    def status(self, test_id=None, test_status=None, test_tags=None,
               route_code=None, **kwargs):
        if test_status == "inprogress":
            self.in_progress[test_id] = time.monotonic()
        elif test_status in FINAL_STATUSES:
            self.in_progress.pop(test_id, None)
            self.finished.add(test_id)
            if test_status in ("fail", "uxsuccess"):
                self.failures += 1
        self._events.put(dict(kwargs, test_id=test_id, test_status=test_status,
                              test_tags=worker_tags(self._worker, test_tags),
                              route_code=worker_route(self._worker, route_code)))

    def fail(self, test_id: str, message: str) -> None:
        now = _now()
        self.status(test_id=test_id, test_status="inprogress", timestamp=now)
        self.status(test_id=test_id, file_name="traceback", mime_type=_TEXT,
                    file_bytes=message.encode("utf-8"), eof=True, timestamp=now)
        self.status(test_id=test_id, test_status="fail", timestamp=now)


class WorkerProcess:
    """One test command process whose stdout is a subunit v2 stream."""

    def __init__(self, worker: int, test_ids: Optional[List[str]], command: Command,
                 events: queue.Queue):
        self.worker = worker
        self.test_ids = test_ids
        self.command = command
        self.tracker = _WorkerEvents(worker, events)
        self.timed_out: Optional[str] = None
        self.timeout: Optional[float] = None
        self.returncode: Optional[int] = None
        self._events = events
        self.process: Optional[subprocess.Popen] = None

    def start(self) -> None:
        try:
            self.process = subprocess.Popen(
                self.command.args, shell=self.command.shell, cwd=self.command.cwd,
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, start_new_session=True)
        except OSError as err:
            raise errors.ExecutionError(
                f"cannot start worker {self.worker}: `{self.command.describe()}`: {err}") from err
        threading.Thread(target=self._read, name=f"worker-{self.worker}", daemon=True).start()

    def _read(self) -> None:
        import subunit

        try:
            subunit.ByteStreamToStreamResult(
                self.process.stdout, non_subunit_name="stdout").run(self.tracker)
        finally:
            self.process.stdout.close()
            self.returncode = self.process.wait()
            self._report_abnormal_end()
            self._report_leftovers()
            self._events.put((_END, self))

    def _report_leftovers(self) -> None:
        """Kill what the test command left running in its session; say so."""
        left = reaper.kill_session(self.process.pid)
        if left:
            message = (f"testr: worker {self.worker} `{self.command.describe()}` left "
                       f"{len(left)} process(es) running, killed: {', '.join(left)}\n")
            self.tracker.status(file_name="stderr", file_bytes=message.encode("utf-8"),
                                mime_type=_TEXT, eof=True, timestamp=_now())

    def _report_abnormal_end(self) -> None:
        returncode = self.returncode
        how = (describe_exit(returncode, self.command.shell) if returncode
               else "closed its output")
        # Copy: reporting the failure takes the test out of in_progress.
        crashed = list(self.tracker.in_progress)
        for test_id in crashed:
            if test_id == self.timed_out:
                message = (f"{test_id} timed out after {self.timeout:g} s on worker "
                           f"{self.worker}; the process was killed (a test command gives "
                           "no traceback; the built-in runner does)")
            else:
                message = f"worker {self.worker} {how} while running {test_id}"
            self.tracker.fail(test_id, message)
        if returncode and not crashed and not self.tracker.failures and not self.remaining():
            self.tracker.fail("process-returncode",
                              f"worker {self.worker} `{self.command.describe()}` {how}")

    def remaining(self) -> List[str]:
        """Planned tests this process never reported."""
        if self.test_ids is None:
            return []
        return [t for t in self.test_ids if t not in self.tracker.finished]

    def overdue(self, timeout: float, now: float) -> Optional[str]:
        for test_id, started in list(self.tracker.in_progress.items()):
            if now - started > timeout:
                return test_id
        return None

    def kill(self) -> None:
        """Stop the process's whole process group and session (no orphans)."""
        stop_process_group(self.process)
        if self.process is not None:
            reaper.kill_session(self.process.pid)


class CommandRunner:
    """Runs partitions with ``make_command(worker, test_ids)``, feeding every
    event to ``result`` on the calling thread."""

    def __init__(self, partitions: Sequence[Optional[List[str]]], make_command: MakeCommand,
                 result: StreamResult, timeout: Optional[float] = None,
                 max_restarts: Optional[int] = None, idle: Optional[Callable] = None,
                 max_live: Optional[int] = None, heartbeat: Optional[Callable] = None):
        self._partitions = partitions
        # At most max_live processes at once (--isolated); a partition
        # waits for a worker number to come free.
        self._max_live = max_live or len(partitions)
        self._waiting: collections.deque = collections.deque()
        self._make_command = make_command
        self._result = result
        self._timeout = timeout
        self._max_restarts = 4 * len(partitions) if max_restarts is None else max_restarts
        self._restarts = 0
        self._idle = idle  # called before waiting for output (e.g. flush)
        # heartbeat(running, now): what each process runs, about once a second.
        self._heartbeat = heartbeat
        self._next_beat = 0.0
        self._events: queue.Queue = queue.Queue()
        self._live: Dict[int, WorkerProcess] = {}

    def run(self) -> None:
        """On any exception (Ctrl-C included) every process is killed before
        it propagates."""
        try:
            self._waiting.extend(self._partitions[self._max_live:])
            for index, test_ids in enumerate(self._partitions[:self._max_live]):
                self._start(index, test_ids)
            # Reports of abandoned tests may still be queued after the last
            # process ended.
            while self._live or not self._events.empty():
                self._next_event()
        except BaseException:
            if self._heartbeat is not None:
                self._beat(time.monotonic())  # what was cut short
            for process in self._live.values():
                process.kill()
            raise

    def _start(self, index: int, test_ids: Optional[List[str]]) -> None:
        process = WorkerProcess(index, test_ids, self._make_command(index, test_ids),
                                self._events)
        process.timeout = self._timeout
        self._live[index] = process
        process.start()

    def _next_event(self) -> None:
        if self._idle is not None and self._events.empty():
            self._idle()
        wait = 0.5 if self._timeout else HEARTBEAT if self._heartbeat else None
        try:
            event = self._events.get(timeout=wait)
        except queue.Empty:
            event = None
        if self._heartbeat is not None:
            now = time.monotonic()
            if now >= self._next_beat:
                self._beat(now)
        if event is None:
            if self._timeout:
                self._kill_overdue()
            return
        if type(event) is tuple and event[0] is _END:
            self._ended(event[1])
            if self._waiting and event[1].worker not in self._live:
                self._start(event[1].worker, self._waiting.popleft())
        else:
            self._result.status(**event)

    def _beat(self, now: float) -> None:
        self._next_beat = now + HEARTBEAT
        self._heartbeat([RunningTest(process.worker, test_id, started)
                         for process in self._live.values()
                         for test_id, started in list(process.tracker.in_progress.items())],
                        now)

    def _kill_overdue(self) -> None:
        now = time.monotonic()
        for process in list(self._live.values()):
            test_id = process.overdue(self._timeout, now)
            if test_id is not None and process.timed_out is None:
                process.timed_out = test_id
                process.kill()

    def _ended(self, process: WorkerProcess) -> None:
        del self._live[process.worker]
        remaining = process.remaining()
        if not remaining:
            return
        if self._restarts < self._max_restarts:
            self._restarts += 1
            self._start(process.worker, remaining)
            return
        for test_id in remaining:
            process.tracker.fail(test_id, (
                f"{test_id} was not run: test processes ended early {self._restarts + 1} "
                f"times, more than the limit of {self._max_restarts} relaunches"))
