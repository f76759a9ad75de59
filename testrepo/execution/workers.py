"""Running worker processes in parallel and merging their subunit v2 output.

One reader thread per worker parses that worker's stdout
(``subunit.ByteStreamToStreamResult``; bytes that are not subunit become
``stdout`` file events, so noise never corrupts the run) and puts events
on one queue.  The calling thread is the only consumer: everything
downstream runs on it and needs no locks.

Each event gets the worker's route code (``"0"``, ``"1"`` ...) and a
``worker-N`` tag.  When a worker's stream ends, a test it had started but
not finished is reported as failed, and a non-zero exit that the stream
does not explain becomes a failing ``process-returncode`` event: a worker
that dies is never a silent success.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import queue
import signal
import subprocess
import threading
from typing import Dict, List, Optional, Sequence

import testtools

from testrepo import errors
from testrepo.execution.commands import Command
from testrepo.results.filters import worker_route, worker_tags

FINAL_STATUSES = frozenset(["success", "fail", "skip", "xfail", "uxsuccess"])
_TEXT = "text/plain;charset=utf8"
_END = object()


@dataclasses.dataclass
class WorkerOutcome:
    worker: int
    returncode: Optional[int] = None
    tests_run: int = 0
    crashed_test: Optional[str] = None


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


class _WorkerEvents(testtools.StreamResult):
    """Runs in a reader thread: tags one worker's events and queues them."""

    def __init__(self, worker: int, events: queue.Queue, outcome: WorkerOutcome):
        super().__init__()
        self._worker = worker
        self._events = events
        self._outcome = outcome
        self.in_progress: Dict[str, None] = {}
        self.failures = 0

    def status(self, test_id=None, test_status=None, test_tags=None,
               route_code=None, **kwargs):
        if test_status == "inprogress":
            self.in_progress[test_id] = None
        elif test_status in FINAL_STATUSES:
            self.in_progress.pop(test_id, None)
            self._outcome.tests_run += 1
            if test_status in ("fail", "uxsuccess"):
                self.failures += 1
        self._events.put(dict(kwargs, test_id=test_id, test_status=test_status,
                              test_tags=worker_tags(self._worker, test_tags),
                              route_code=worker_route(self._worker, route_code)))


def _describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"died with {signal.Signals(-returncode).name}"
        except ValueError:
            return f"died with signal {-returncode}"
    return f"exited with code {returncode}"


class WorkerProcess:
    """One worker: a subprocess whose stdout is a subunit v2 stream."""

    def __init__(self, worker: int, command: Command, events: queue.Queue,
                 env: Optional[Dict[str, str]] = None):
        self.worker = worker
        self.command = command
        self.outcome = WorkerOutcome(worker)
        self._events = events
        self._env = env
        self.process: Optional[subprocess.Popen] = None

    def start(self) -> None:
        try:
            self.process = subprocess.Popen(
                self.command.args, shell=self.command.shell, cwd=self.command.cwd,
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, env=self._env,
                start_new_session=True)
        except OSError as err:
            raise errors.ExecutionError(
                f"cannot start worker {self.worker}: `{self.command.describe()}`: {err}") from err
        threading.Thread(target=self._read, name=f"worker-{self.worker}", daemon=True).start()

    def _read(self) -> None:
        import subunit

        tracker = _WorkerEvents(self.worker, self._events, self.outcome)
        try:
            subunit.ByteStreamToStreamResult(
                self.process.stdout, non_subunit_name="stdout").run(tracker)
        finally:
            self.process.stdout.close()
            returncode = self.process.wait()
            self.outcome.returncode = returncode
            self._report_abnormal_end(tracker, returncode)
            self._events.put((_END, self.worker))

    def _report_abnormal_end(self, tracker: _WorkerEvents, returncode: int) -> None:
        how = _describe_exit(returncode) if returncode else "closed its output"
        # Copy: reporting the failure takes the test out of in_progress.
        for test_id in list(tracker.in_progress):
            self.outcome.crashed_test = test_id
            self._synthetic_failure(
                tracker, test_id,
                f"worker {self.worker} {how} while running {test_id}")
        crashed = self.outcome.crashed_test is not None
        if returncode and not crashed and not tracker.failures:
            self._synthetic_failure(
                tracker, "process-returncode",
                f"worker {self.worker} `{self.command.describe()}` {how}")

    def _synthetic_failure(self, tracker, test_id: str, message: str) -> None:
        now = _now()
        tracker.status(test_id=test_id, test_status="inprogress", timestamp=now)
        tracker.status(test_id=test_id, file_name="traceback", mime_type=_TEXT,
                       file_bytes=message.encode("utf-8"), eof=True, timestamp=now)
        tracker.status(test_id=test_id, test_status="fail", timestamp=now)

    def kill(self) -> None:
        """Stop the worker's whole process group (no orphans)."""
        if self.process is None or self.process.poll() is not None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.process.pid, sig)
            except (ProcessLookupError, PermissionError):
                return
            try:
                self.process.wait(timeout=2)
                return
            except subprocess.TimeoutExpired:
                continue


def run_workers(commands: Sequence[Command], result: testtools.StreamResult,
                env: Optional[Dict[str, str]] = None) -> List[WorkerOutcome]:
    """Run ``commands`` at once, feeding every event to ``result`` on the
    calling thread.  On any exception (Ctrl-C included) all workers are
    killed before it propagates."""
    events: queue.Queue = queue.Queue()
    workers = [WorkerProcess(index, command, events, env)
               for index, command in enumerate(commands)]
    try:
        for worker in workers:
            worker.start()
        running = len(workers)
        while running:
            event = events.get()
            if type(event) is tuple and event[0] is _END:
                running -= 1
            else:
                result.status(**event)
    except BaseException:
        for worker in workers:
            worker.kill()
        raise
    return [worker.outcome for worker in workers]
